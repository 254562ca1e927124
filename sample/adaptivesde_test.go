package sample

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/metrics"
	"github.com/sdekit/sdekit/ode"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// bridgeNoise is a test Noise with an exact Brownian path per row and
// coordinate on [0, T], drawn lazily: W(T) first, then every new time
// queried from the Brownian bridge between its known neighbours (all
// queried points are kept). A row's path is a fixed function of its seed,
// row and query sequence, so a row does not depend on the other rows, and
// a retried step reads the bridge between points already fixed, as a
// Brownian tree answers it. The prior draw is the row's stream's.
type bridgeNoise struct{ T float64 }

func (b bridgeNoise) NewSource(d int) NoiseSource {
	return &bridgeSource{T: b.T, d: d, prior: Streams{}.NewSource(d)}
}

type bridgePath struct {
	ts    []float64
	ws    [][]float64
	draws NoiseSource // the row's own stream (seed ^ a salt)
}

type bridgeSource struct {
	T     float64
	d     int
	prior NoiseSource
	paths []bridgePath
	z     []float64
}

func (b bridgeNoise) newPath(d int, seed uint64, row int) bridgePath {
	src := Streams{}.NewSource(d)
	src.Start(seed^0x5bd1e995, []int{row})
	p := bridgePath{ts: []float64{0, b.T}, ws: [][]float64{make([]float64, d), make([]float64, d)}, draws: src}
	src.Normals(p.ws[1], 0, 1)
	src.Next()
	for j := range p.ws[1] {
		p.ws[1][j] *= math.Sqrt(b.T)
	}
	return p
}

func (s *bridgeSource) Start(seed uint64, rows []int) {
	s.prior.Start(seed, rows)
	s.paths = make([]bridgePath, len(rows))
	s.z = make([]float64, s.d)
	for r, row := range rows {
		s.paths[r] = bridgeNoise{s.T}.newPath(s.d, seed, row)
	}
}

func (s *bridgeSource) Normals(z []float64, a, c int) { s.prior.Normals(z, a, c) }

// at returns W(t) of row r, drawing it from the bridge between its known
// neighbours if new, with the row's next normals.
func (s *bridgeSource) at(r int, t float64) []float64 {
	p := &s.paths[r]
	k := sort.SearchFloat64s(p.ts, t)
	if k < len(p.ts) && p.ts[k] == t {
		return p.ws[k]
	}
	a, b := p.ts[k-1], p.ts[k]
	p.draws.Normals(s.z, 0, 1)
	p.draws.Next()
	w := make([]float64, s.d)
	sd := math.Sqrt((t - a) * (b - t) / (b - a))
	for j := range w {
		w[j] = p.ws[k-1][j] + (t-a)/(b-a)*(p.ws[k][j]-p.ws[k-1][j]) + sd*s.z[j]
	}
	p.ts = slices.Insert(p.ts, k, t)
	p.ws = slices.Insert(p.ws, k, w)
	return w
}

func (s *bridgeSource) Increment(z []float64, a, c int, t0, t1 float64) {
	h := math.Sqrt(math.Abs(t1 - t0))
	for r := a; r < c; r++ {
		w0, w1 := s.at(r, t0), s.at(r, t1)
		for j := 0; j < s.d; j++ {
			z[r*s.d+j] = (w1[j] - w0[j]) / h
		}
	}
}

func (s *bridgeSource) Next() {}

// noiseFree is Streams for the prior and zero Brownian increments: the
// reverse SDE becomes the ODE dx/dtau = b(x, t), which a test can solve.
type noiseFree struct{}

func (noiseFree) NewSource(d int) NoiseSource { return &noiseFreeSource{Streams{}.NewSource(d), d} }

type noiseFreeSource struct {
	NoiseSource
	d int
}

func (s *noiseFreeSource) Increment(z []float64, a, c int, _, _ float64) { clear(z[a*s.d : c*s.d]) }

// The error control works: with zero Brownian increments adaptive-sde is an
// adaptive Euler/Heun pair on dx/dtau = b(x, t) = g^2 score - a x, whose
// solution on gauss:3 from each row's prior draw a 20000-step RK4 gives to
// 1e-10. Tightening rtol = atol from 1e-1 to 1e-4 shrinks the RMS error to
// it and raises the evaluations at every step of the sweep, and at 1e-4
// the error is below 1e-3 (a local-error controller keeps the global error
// within a small multiple of the tolerance), under VP, sub-VP, VE and EDM.
func TestAdaptiveSDEToleranceNoiseFree(t *testing.T) {
	const rows, d = 20, 3
	for _, s := range heunSDEs() {
		m := score.Gauss(s, d)
		h := byHand{s, m}
		var prevErr, prevNFE float64
		for i, tol := range []float64{1e-1, 1e-2, 1e-3, 1e-4} {
			c := Config{SDE: s, Score: m, Sampler: &AdaptiveSDE{RTol: tol, ATol: tol}, Noise: noiseFree{}}
			x, st := gen(t, &c, 9, rows)
			var ss, nfe float64
			for r := 0; r < rows; r++ {
				y := priorDraw(d, 9, r)
				for j := range y {
					y[j] *= s.PriorStd()
				}
				want := rk4(h, y, s.T(), c.Eps, 20000)
				for j := range want {
					ss += (x[r*d+j] - want[j]) * (x[r*d+j] - want[j])
				}
				nfe += float64(st.NFE[r])
			}
			e, n := math.Sqrt(ss/(rows*d)), nfe/rows
			t.Logf("%s tol %g: RMS error %.3g, %.1f evaluations", s.Name(), tol, e, n)
			if i > 0 && !(e < prevErr && n > prevNFE) {
				t.Errorf("%s tol %g: error %.3g and %.1f evaluations; at the looser tolerance %.3g and %.1f", s.Name(), tol, e, n, prevErr, prevNFE)
			}
			prevErr, prevNFE = e, n
		}
		if prevErr > 1e-3 {
			t.Errorf("%s: error %.3g at tolerance 1e-4", s.Name(), prevErr)
		}
	}
}

// priorDraw is the standard normal prior draw of row of seed (d values),
// as the driver takes it from Streams.
func priorDraw(d int, seed uint64, row int) []float64 {
	src := Streams{}.NewSource(d)
	src.Start(seed, []int{row})
	z := make([]float64, d)
	src.Normals(z, 0, 1)
	return z
}

// rk4 solves dx/dtau = b(x, t), t = T - tau, from t0 down to t1 in n
// classical Runge-Kutta steps.
func rk4(h byHand, x []float64, t0, t1 float64, n int) []float64 {
	y := slices.Clone(x)
	dt := (t0 - t1) / float64(n)
	tmp := make([]float64, len(y))
	add := func(a []float64, k []float64, c float64) []float64 {
		for i := range tmp {
			tmp[i] = a[i] + c*k[i]
		}
		return tmp
	}
	for k := 0; k < n; k++ {
		t := t0 - float64(k)*dt
		k1 := h.drift(y, t)
		k2 := h.drift(add(y, k1, dt/2), t-dt/2)
		k3 := h.drift(add(y, k2, dt/2), t-dt/2)
		k4 := h.drift(add(y, k3, dt), math.Max(t-dt, t1))
		for i := range y {
			y[i] += dt / 6 * (k1[i] + 2*k2[i] + 2*k3[i] + k4[i])
		}
	}
	return y
}

// Every attempt reads the Brownian increment over its own interval, from
// the row's current time: the accepted attempts tile [eps, T] from T down
// (a rejected one is retried from the same time with a shorter step), the
// last ends at eps exactly, each draw is closed by Next, and there are as
// many Increment calls as Stats.Steps. Statistics: Steps = Accepted +
// Rejected, and NFE = Steps + Accepted (two evaluations an attempt, one
// after a rejection, whose b(x, t) is reused); the sum of NFE is the
// number of rows the score saw.
func TestAdaptiveSDEIntervalsAndStats(t *testing.T) {
	for _, s := range heunSDEs() {
		g := newGauss(s, 2)
		rejected := 0
		for row := 0; row < 6; row++ {
			src := &recordSource{}
			c := Config{SDE: s, Score: g, Sampler: &AdaptiveSDE{}, Noise: recordNoise{src}, Workers: 1}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			x := make([]float64, 2)
			st, err := Generate(context.Background(), c, 3, []int{row}, x, nil)
			if err != nil {
				t.Fatal(err)
			}
			steps, acc, rej, nfe := st.Steps[0], st.Accepted[0], st.Rejected[0], st.NFE[0]
			rejected += rej
			if steps != acc+rej || nfe != steps+acc || len(src.t0) != steps || src.bad {
				t.Errorf("%s row %d: steps %d, accepted %d, rejected %d, NFE %d, %d increments (unclosed draw: %v)", s.Name(), row, steps, acc, rej, nfe, len(src.t0), src.bad)
				continue
			}
			now, accepted := s.T(), 0
			for k := range src.t0 {
				if src.t0[k] != now || !(src.t1[k] < now) {
					t.Fatalf("%s row %d attempt %d: interval %v -> %v from time %v", s.Name(), row, k, src.t0[k], src.t1[k], now)
				}
				// The next attempt starts at this one's end when it was accepted.
				if k+1 < len(src.t0) && src.t0[k+1] != now {
					now = src.t1[k]
					accepted++
				}
			}
			if accepted+1 != acc || src.t1[len(src.t1)-1] != c.Eps {
				t.Errorf("%s row %d: %d accepted attempts by the intervals, %d by Stats; last end %v, eps %v", s.Name(), row, accepted+1, acc, src.t1[len(src.t1)-1], c.Eps)
			}
		}
		if rejected == 0 {
			t.Errorf("%s: no rejected step in 6 rows (the test wants some)", s.Name())
		}
	}
	vp := sde.NewVP()
	g := newGauss(vp, 2)
	c := Config{SDE: vp, Score: g, Sampler: &AdaptiveSDE{}, Workers: 2, Block: 3}
	_, st := gen(t, &c, 4, 17)
	total := 0
	for _, v := range st.NFE {
		total += v
	}
	if int64(total) != g.rows.Load() {
		t.Errorf("NFE sums to %d, the score saw %d rows", total, g.rows.Load())
	}
}

// Samples on gauss:3 (stds 0.2, 0.5, 0.8) at the default tolerances on one
// Brownian path per row (bridgeNoise, as a Brownian tree answers) have the
// moments of the reverse SDE's law at eps (limitMoments) within 4 standard
// errors, n = 10000 rows, under VP, sub-VP, VE and EDM: the step error is
// below what 10^4 samples resolve. Output Gaussian: SE(mean) = sqrt(V/n),
// SE(var) = V sqrt(2/(n-1)).
func TestAdaptiveSDEMoments(t *testing.T) {
	if testing.Short() {
		t.Skip("10000 rows x 4 SDEs")
	}
	const n, d = 10000, 3
	for _, s := range heunSDEs() {
		m := score.Gauss(s, d)
		c := Config{SDE: s, Score: m, Sampler: &AdaptiveSDE{}, Noise: bridgeNoise{s.T()}}
		x, st := gen(t, &c, 7, n)
		lm, lv := limitMoments(s, m, c.Eps)
		var nfe float64
		for _, v := range st.NFE {
			nfe += float64(v)
		}
		for j := 0; j < d; j++ {
			sm, sv := colMoments(x, d, j)
			zm, zv := (sm-lm[j])/math.Sqrt(lv[j]/n), (sv-lv[j])/(lv[j]*math.Sqrt(2.0/(n-1)))
			t.Logf("%s coordinate %d: mean %.5f (limit %.5f, %.1f SE), variance %.5f (limit %.5f, %.1f SE), %.1f evaluations", s.Name(), j, sm, lm[j], zm, sv, lv[j], zv, nfe/n)
			if math.Abs(zm) > 4 || math.Abs(zv) > 4 {
				t.Errorf("%s coordinate %d: mean %.1f SE, variance %.1f SE from the limit", s.Name(), j, zm, zv)
			}
		}
	}
}

// A row is bit for bit the same whatever the other rows, Workers and
// Block, with Streams and with a per-row Brownian path.
func TestAdaptiveSDERowsIndependentOfBatch(t *testing.T) {
	vp := sde.NewVP()
	for _, noise := range []Noise{Streams{}, bridgeNoise{vp.T()}} {
		full := Config{SDE: vp, Score: newGauss(vp, 2), Sampler: &AdaptiveSDE{}, Noise: noise, Workers: 1, Block: 4}
		x, _ := gen(t, &full, 21, 30)
		for _, part := range []struct {
			rows           []int
			workers, block int
		}{
			{[]int{29, 3, 17, 8, 12}, 2, 1},
			{[]int{1, 4, 7, 10, 13, 16, 19, 22, 25, 28}, 2, 3},
			{[]int{2, 5, 11, 20, 27}, 1, 64},
		} {
			p := Config{SDE: vp, Score: newGauss(vp, 2), Sampler: &AdaptiveSDE{}, Noise: noise, Workers: part.workers, Block: part.block}
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			y := make([]float64, len(part.rows)*2)
			if _, err := Generate(context.Background(), p, 21, part.rows, y, nil); err != nil {
				t.Fatal(err)
			}
			for k, r := range part.rows {
				if y[2*k] != x[2*r] || y[2*k+1] != x[2*r+1] {
					t.Errorf("%T: row %d differs between the full run %v and a shard %v", noise, r, x[2*r:2*r+2], y[2*k:2*k+2])
				}
			}
		}
	}
}

// Bad options are *OptionError values naming the option; the defaults are
// filled in; a row that needs more attempts than max-steps is an error
// wrapping ode.ErrMaxSteps that names the row.
func TestAdaptiveSDEOptionErrors(t *testing.T) {
	vp := sde.NewVP()
	for _, tc := range []struct {
		smp    *AdaptiveSDE
		option string
	}{
		{&AdaptiveSDE{RTol: -1}, "rtol"},
		{&AdaptiveSDE{RTol: math.Inf(1)}, "rtol"},
		{&AdaptiveSDE{ATol: math.NaN()}, "atol"},
		{&AdaptiveSDE{ATol: -1e-3}, "atol"},
		{&AdaptiveSDE{MaxSteps: -5}, "max-steps"},
	} {
		c := Config{SDE: vp, Score: score.Gauss(vp, 2), Sampler: tc.smp}
		err := c.Validate()
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Option != tc.option {
			t.Errorf("%+v: error %v, want an *OptionError for %s", tc.smp, err, tc.option)
		}
	}
	for _, o := range []string{"rtol", "atol", "max-steps"} {
		if _, err := NewFromOptions("adaptive-sde", map[string]string{o: "0"}); err == nil {
			t.Errorf("%s=0 accepted", o)
		}
	}
	a := &AdaptiveSDE{}
	c := Config{SDE: vp, Score: score.Gauss(vp, 2), Sampler: a}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if a.RTol != AdaptiveSDERTol || a.ATol != AdaptiveSDEATol || a.MaxSteps != adaptiveSDEMaxSteps {
		t.Errorf("defaults: %+v", a)
	}
	c = Config{SDE: vp, Score: score.Gauss(vp, 2), Sampler: &AdaptiveSDE{MaxSteps: 5}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	x := make([]float64, 2*3)
	_, err := Generate(context.Background(), c, 1, []int{4, 5, 6}, x, nil)
	if !errors.Is(err, ode.ErrMaxSteps) || !strings.Contains(err.Error(), "row 4") || !strings.Contains(err.Error(), "max-steps") {
		t.Errorf("max-steps 5: error %v, want ode.ErrMaxSteps naming row 4 and max-steps", err)
	}
}

// Why adaptive-sde wants a Brownian tree: with Streams a retried attempt
// draws fresh noise (as the paper's code does), so the accepted steps are
// those whose noise gave a small error estimate, and with D = 2 (where the
// estimate fluctuates most; 4 in 10 attempts are rejected on gmm8) that
// selection shows: on gmm8 under VP at the default tolerances the mean of
// log p_0 over 10^4 samples is more than 5 standard errors below its
// expectation (measured: -0.14, SE 0.013), while on one Brownian path per
// row (bridgeNoise, a retry reads the bridge between the points fixed) it
// is within 3 (measured: +0.003).
func TestAdaptiveSDERetryNoise(t *testing.T) {
	if testing.Short() {
		t.Skip("2 x 10000 rows")
	}
	vp := sde.NewVP()
	m := score.GMM8(vp)
	const n = 10000
	for _, tc := range []struct {
		noise  Noise
		biased bool
	}{{Streams{}, true}, {bridgeNoise{vp.T()}, false}} {
		c := Config{SDE: vp, Score: m, Sampler: &AdaptiveSDE{}, Noise: tc.noise}
		x, st := gen(t, &c, 1, n)
		gap, se := metrics.LogProbGap(m, x, 20000, rand.New(rand.NewPCG(3, 4)))
		var rej, steps float64
		for r := range st.Steps {
			rej += float64(st.Rejected[r])
			steps += float64(st.Steps[r])
		}
		t.Logf("%T: log-density gap %.4f (SE %.4f), %.0f%% of attempts rejected", tc.noise, gap, se, 100*rej/steps)
		if tc.biased && !(gap < -5*se) {
			t.Errorf("%T: gap %.4f (SE %.4f): the retry bias the documentation describes is gone; update AdaptiveSDE's documentation", tc.noise, gap, se)
		}
		if !tc.biased && math.Abs(gap) > 3*se {
			t.Errorf("%T: gap %.4f (SE %.4f)", tc.noise, gap, se)
		}
	}
}

// No allocation per step: ten times the steps (or a tolerance that takes
// many more attempts) allocate no more than a few more objects per run.
func TestHeunAndAdaptiveSDENoAllocationPerStep(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so allocations are not counted")
	}
	s := sde.NewVP()
	for _, name := range []string{"stochastic-heun", "reversible-heun", "adaptive-sde"} {
		allocs := func(steps int, tol string) float64 {
			opts := map[string]string{"steps": fmt.Sprint(steps)}
			if name == "adaptive-sde" {
				opts = map[string]string{"rtol": tol, "atol": tol}
			}
			smp, err := NewFromOptions(name, opts)
			if err != nil {
				t.Fatal(err)
			}
			c := Config{SDE: s, Score: gaussScore{s: s, d: 4, mu: 0.1, v0: 0.5, nanRow: -1}, Sampler: smp, Workers: 1, Block: 16}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			x := make([]float64, 40*4)
			rows := seq(40)
			return testing.AllocsPerRun(3, func() {
				if _, err := Generate(context.Background(), c, 1, rows, x, nil); err != nil {
					t.Fatal(err)
				}
			})
		}
		a, b := allocs(40, "1e-1"), allocs(400, "1e-3")
		if b > a+8 {
			t.Errorf("%s: %v allocations for the short run, %v for the long one", name, a, b)
		}
	}
}
