package sample

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/ode"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// The oracle of SRA1 and ShARK, written from the papers' forms (not
// diffrax's tableau, which sra.go follows), on the reverse SDE in forward
// time tau = T - t: dX = drift(X, t) dtau + g(t) dB with drift = -(a x -
// g^2 score) and the step from t0 down to t1, h = t0 - t1. W = sqrt(h) w is
// the increment of B, H = sqrt(h) hh its space-time Lévy area, and
// Rößler's I_(1,0)/h = (1/h) int (B(u) - B(tau0)) du = W/2 + H.
//
// SRA1 (Rößler 2010's SRA form with alpha = (1/3, 2/3), A0_21 = 3/4,
// B0_21 = 3/2 and the diffusion combined as g1 W - (g1 - g0) I_(1,0)/h,
// which is the exact int g dB for a g linear over the step; the stage's
// diffusion at t0, as diffrax takes it):
//
//	f1 = drift(y0, t0)
//	f2 = drift(y0 + 3/4 h f1 + 3/2 g0 I10/h, t0 - 3/4 h)
//	y1 = y0 + h (f1/3 + 2 f2/3) + g1 W - (g1 - g0) I10/h
//
// ShARK (Foster, dos Reis and Strange 2023, eq. 6.1, with the same
// correction for a time-dependent g):
//
//	y~ = y0 + g0 H,                  f1 = drift(y~, t0)
//	y~' = y~ + 5/6 h f1 + 5/6 g0 W,  f2 = drift(y~', t0 - 5/6 h)
//	y1 = y0 + h (2/5 f1 + 3/5 f2) + g1 W - (g1 - g0) I10/h
func srkOracleStep(method string, s sde.SDE, m *score.Mixture, y0, w, hh []float64, t0, t1 float64) []float64 {
	d := len(y0)
	h := t0 - t1
	drift := func(x []float64, t float64) []float64 {
		// the Gaussian's score, -(x - c mu)/(c^2 sd^2 + s^2), written out
		c, sd := s.Marginal(t)
		a, g := s.DriftCoef(t), s.Diffusion(t)
		f := make([]float64, d)
		for j := range x {
			v := c*c*m.Stds[0][j]*m.Stds[0][j] + sd*sd
			f[j] = -(a*x[j] - g*g*(-(x[j]-c*m.Means[0][j])/v))
		}
		return f
	}
	g0, g1 := s.Diffusion(t0), s.Diffusion(t1)
	W, I := make([]float64, d), make([]float64, d)
	for j := range W {
		W[j] = math.Sqrt(h) * w[j]
		I[j] = W[j]/2 + math.Sqrt(h)*hh[j]
	}
	y1 := make([]float64, d)
	switch method {
	case "sra1":
		f1 := drift(y0, t0)
		z := make([]float64, d)
		for j := range z {
			z[j] = y0[j] + 0.75*h*f1[j] + 1.5*g0*I[j]
		}
		f2 := drift(z, t0-0.75*h)
		for j := range y1 {
			y1[j] = y0[j] + h*(f1[j]/3+2*f2[j]/3) + g1*W[j] - (g1-g0)*I[j]
		}
	case "shark":
		yt := make([]float64, d)
		for j := range yt {
			yt[j] = y0[j] + g0*(I[j]-W[j]/2)
		}
		f1 := drift(yt, t0)
		z := make([]float64, d)
		for j := range z {
			z[j] = yt[j] + 5.0/6*h*f1[j] + 5.0/6*g0*W[j]
		}
		f2 := drift(z, t0-5.0/6*h)
		for j := range y1 {
			y1[j] = y0[j] + h*(0.4*f1[j]+0.6*f2[j]) + g1*W[j] - (g1-g0)*I[j]
		}
	default:
		panic(method)
	}
	return y1
}

// fixedArea is an AreaSource of known values: the prior draw of row r is
// sin(1 + r + 0.5 j), draw k of it (k = 1, 2, ...) w = cos(0.7 k + 0.3 r +
// 0.1 j) and hh = 0.3 sin(k - r + 0.2 j); it records the intervals.
type fixedArea struct{ src *fixedAreaSource }

func (n fixedArea) NewSource(d int) NoiseSource { n.src.d = d; return n.src }

type fixedAreaSource struct {
	d      int
	rows   []int
	k      int
	t0, t1 []float64
}

func (s *fixedAreaSource) Start(_ uint64, rows []int) { s.rows, s.k = rows, 0 }
func (s *fixedAreaSource) Normals(z []float64, a, c int) {
	for i := a; i < c; i++ {
		for j := 0; j < s.d; j++ {
			z[i*s.d+j] = math.Sin(1 + float64(s.rows[i]) + 0.5*float64(j))
		}
	}
}
func (s *fixedAreaSource) Increment([]float64, int, int, float64, float64) {
	panic("fixedArea: Increment called")
}
func (s *fixedAreaSource) IncrementArea(w, hh []float64, a, c int, t0, t1 float64) {
	for i := a; i < c; i++ {
		r := float64(s.rows[i])
		for j := 0; j < s.d; j++ {
			w[i*s.d+j] = fixedW(s.k, r, j)
			hh[i*s.d+j] = fixedH(s.k, r, j)
		}
	}
	s.t0, s.t1 = append(s.t0, t0), append(s.t1, t1)
}
func (s *fixedAreaSource) Next() { s.k++ }

func fixedW(k int, r float64, j int) float64 {
	return math.Cos(0.7*float64(k) + 0.3*r + 0.1*float64(j))
}
func fixedH(k int, r float64, j int) float64 {
	return 0.3 * math.Sin(float64(k)-r+0.2*float64(j))
}

// Three steps of sra1 and shark on gauss:3 under vp, ve and edm (uniform
// and karras grids) against the oracle above, fed the same noise: each
// value within 1e-12 relative (the two forms round differently; the values
// are O(1) to O(80) and a step has some twenty terms). The source is asked
// for the increments of the grid's intervals (t_k, t_k+1) in order.
func TestSRKStepsByHand(t *testing.T) {
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewVE(), sde.NewEDM()} {
		m := score.Gauss(s, 3)
		for _, method := range []string{"sra1", "shark"} {
			for _, sch := range []string{ScheduleT, ScheduleKarras} {
				src := &fixedAreaSource{}
				smp, _ := New(method)
				if err := Configure(smp, map[string]string{"steps": "3", "schedule": sch}); err != nil {
					t.Fatal(err)
				}
				c := Config{SDE: s, Score: m, Sampler: smp, Noise: fixedArea{src}, Workers: 1}
				if err := c.Validate(); err != nil {
					t.Fatal(err)
				}
				rows := []int{0, 1, 2}
				x := make([]float64, 3*3)
				if _, err := Generate(context.Background(), c, 1, rows, x, nil); err != nil {
					t.Fatal(err)
				}
				ts, _ := ScheduleTimes(s, sch, DefaultRho, c.Eps, 3)
				for k := 0; k < 3; k++ {
					if src.t0[k] != ts[k] || src.t1[k] != ts[k+1] {
						t.Errorf("%s %s %s: draw %d over (%v, %v), want (%v, %v)", s.Name(), method, sch, k, src.t0[k], src.t1[k], ts[k], ts[k+1])
					}
				}
				for ri, r := range rows {
					y := make([]float64, 3)
					for j := range y {
						y[j] = s.PriorStd() * math.Sin(1+float64(r)+0.5*float64(j))
					}
					for k := 0; k < 3; k++ {
						w, hh := make([]float64, 3), make([]float64, 3)
						for j := range w {
							w[j], hh[j] = fixedW(k+1, float64(r), j), fixedH(k+1, float64(r), j)
						}
						y = srkOracleStep(method, s, m, y, w, hh, ts[k], ts[k+1])
					}
					for j := range y {
						got := x[ri*3+j]
						if math.Abs(got-y[j]) > 1e-12*math.Max(1, math.Abs(y[j])) {
							t.Errorf("%s %s %s row %d value %d: %.17g, oracle %.17g", s.Name(), method, sch, r, j, got, y[j])
						}
					}
				}
			}
		}
	}
}

// srkExactLaw returns the exact law N(mean_j, var_j) of the output of
// method with the grid ts on gauss:D under s, with w ~ N(0, 1) and hh ~
// N(0, 1/12) independent each step: the oracle step is affine in (y0, w,
// hh) on Gaussian data, y1 = A y0 + B + Cw w + Ch hh coordinate by
// coordinate, which four oracle calls give.
func srkExactLaw(method string, s sde.SDE, m *score.Mixture, ts []float64) (mean, variance []float64) {
	d := m.Dim()
	mean, variance = make([]float64, d), make([]float64, d)
	for j := range variance {
		variance[j] = s.PriorStd() * s.PriorStd()
	}
	zero, one := make([]float64, d), make([]float64, d)
	for j := range one {
		one[j] = 1
	}
	for k := 0; k+1 < len(ts); k++ {
		B := srkOracleStep(method, s, m, zero, zero, zero, ts[k], ts[k+1])
		A := srkOracleStep(method, s, m, one, zero, zero, ts[k], ts[k+1])
		Cw := srkOracleStep(method, s, m, zero, one, zero, ts[k], ts[k+1])
		Ch := srkOracleStep(method, s, m, zero, zero, one, ts[k], ts[k+1])
		for j := range mean {
			a, cw, ch := A[j]-B[j], Cw[j]-B[j], Ch[j]-B[j]
			mean[j] = a*mean[j] + B[j]
			variance[j] = a*a*variance[j] + cw*cw + ch*ch/12
		}
	}
	return mean, variance
}

// The defaults, 100 steps on the grid of srkDefaultSchedule (t; karras
// under EDM), from the exact law of the scheme on gauss:4 (srkExactLaw: no
// sampling noise). The worst error over coordinates of the mean (in units
// of the target's std) and of the variance (relative) against p_eps, on vp,
// subvp, ve and edm, must lie below a third of the standard error of a
// sample of 10^4 rows (mean 1/sqrt(10^4) = 0.01 std, variance
// sqrt(2/10^4) = 0.014): at the default no moment test of the standard runs
// can see the discretisation. Measured: mean errors below 5e-4, variance
// errors 4.5e-3 (vp sra1; the bound is 4.7e-3), 3.0e-3 (vp shark), 1.7e-3
// (subvp), 1.3e-4 (ve: the floor of VE's prior N(0, 50^2), which is not
// p_T), 4.4e-3 (edm). The worst of mean and variance error, sra1 (shark
// within 30%), at 25, 50, 100, 200, 400 steps:
//
//	vp     t       7.8e-2 1.9e-2 4.5e-3 1.1e-3 2.6e-4
//	subvp  t       3.0e-2 6.4e-3 1.4e-3 3.3e-4 7.9e-5
//	ve     t       7.4e-4 2.8e-4 1.7e-4 1.6e-4 1.6e-4
//	edm    karras  8.5e-2 1.9e-2 4.4e-3 1.1e-3 2.6e-4
//	edm    t       9.5e+3 1.6e+3 1.3e+2 2.1e+0 1.9e-1
//
// 50 steps sit at the noise floor, 100 below it; the error falls 4x a
// doubling (weak order 2 on this linear problem). Uniform t under EDM is
// why EDM takes the karras grid (srkDefaultSchedule).
func TestSRKDefaultsBelowNoiseFloor(t *testing.T) {
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewSubVP(), sde.NewVE(), sde.NewEDM()} {
		m := score.Gauss(s, 4)
		eps, _ := sde.DefaultEps(s)
		c, sd := s.Marginal(eps)
		ts, err := ScheduleTimes(s, srkDefaultSchedule(s), DefaultRho, eps, srkSteps)
		if err != nil {
			t.Fatal(err)
		}
		for _, method := range []string{"sra1", "shark"} {
			mu, v := srkExactLaw(method, s, m, ts)
			for j := range mu {
				vj := c*c*m.Stds[0][j]*m.Stds[0][j] + sd*sd
				em, ev := math.Abs(mu[j]-c*m.Means[0][j])/math.Sqrt(vj), math.Abs(v[j]/vj-1)
				if em > 0.01/3 || ev > math.Sqrt(2e-4)/3 {
					t.Errorf("%s %s coordinate %d at the defaults: mean error %.2g std, variance error %.2g", s.Name(), method, j, em, ev)
				}
			}
		}
	}
}

// Weak check through the driver: sra1 and shark at their defaults on
// gauss:4 with the exact score, 20000 rows of Streams noise (the right law
// of w and hh), on vp, subvp, ve and edm: each coordinate's sample mean
// within 4 standard errors sqrt(v/n) of the exact mean of p_eps and its
// sample variance within 4 standard errors v sqrt(2/(n-1)). The exact law
// of the scheme is within a third of one standard error of p_eps
// (TestSRKDefaultsBelowNoiseFloor), so a correct sampler fails one of the
// 64 comparisons with probability about 4e-3; the seed is fixed.
func TestSRKMomentsGauss(t *testing.T) {
	n := 20000
	list := []sde.SDE{sde.NewVP(), sde.NewSubVP(), sde.NewVE(), sde.NewEDM()}
	if testing.Short() {
		list, n = list[:1], 5000
	}
	for _, s := range list {
		m := score.Gauss(s, 4)
		for _, method := range []string{"sra1", "shark"} {
			smp, _ := New(method)
			c := Config{SDE: s, Score: m, Sampler: smp, Noise: Streams{}}
			x, st := gen(t, &c, 7, n)
			if st.NFE[0] != 2*srkSteps {
				t.Errorf("%s %s: %d evaluations, want %d", s.Name(), method, st.NFE[0], 2*srkSteps)
			}
			cc, sd := s.Marginal(c.Eps)
			for j := 0; j < 4; j++ {
				var s1, s2 float64
				for i := 0; i < n; i++ {
					s1 += x[i*4+j]
				}
				mean := s1 / float64(n)
				for i := 0; i < n; i++ {
					e := x[i*4+j] - mean
					s2 += e * e
				}
				vs := s2 / float64(n-1)
				wm := cc * m.Means[0][j]
				wv := cc*cc*m.Stds[0][j]*m.Stds[0][j] + sd*sd
				if se := math.Sqrt(wv / float64(n)); math.Abs(mean-wm) > 4*se {
					t.Errorf("%s %s coordinate %d: mean %.5g, exact %.5g (se %.2g)", s.Name(), method, j, mean, wm, se)
				}
				if se := wv * math.Sqrt(2/float64(n-1)); math.Abs(vs-wv) > 4*se {
					t.Errorf("%s %s coordinate %d: variance %.5g, exact %.5g (se %.2g)", s.Name(), method, j, vs, wv, se)
				}
			}
		}
	}
}

// userMultSDE is a VP SDE whose owner declares a diffusion that depends on x.
type userMultSDE struct{ *sde.VP }

func (userMultSDE) DiffusionDependsOnX() bool { return true }

// plainNoise is a Noise whose sources answer Increment only (no Lévy area).
type plainNoise struct{}

func (plainNoise) NewSource(d int) NoiseSource { return plainSource{Streams{}.NewSource(d)} }

type plainSource struct{ NoiseSource }

// Bad settings of sra1 and shark: one error naming the option (or the
// need) and what to do.
func TestSRKErrors(t *testing.T) {
	vp := sde.NewVP()
	g := score.GMM8(vp)
	for _, tc := range []struct {
		smp   Sampler
		sd    sde.SDE
		noise Noise
		want  string
	}{
		{&SRA1{Steps: -1}, vp, nil, "SRA1.Steps = -1: use N >= 1"},
		{&ShARK{RTol: -1e-3}, vp, nil, "ShARK.RTol = -0.001: must be finite and > 0"},
		{&SRA1{ATol: math.Inf(1)}, vp, nil, "SRA1.ATol = +Inf"},
		{&SRA1{RTol: math.NaN()}, vp, nil, "SRA1.RTol = NaN"},
		{&ShARK{MaxSteps: -2}, vp, nil, "ShARK.MaxSteps = -2"},
		{&SRA1{Grid: Grid{Schedule: "cosine"}}, vp, nil, "unknown schedule"},
		{&SRA1{RTol: 1e-3, Grid: Grid{Schedule: ScheduleKarras}}, vp, areaOnly{}, "a schedule spaces fixed steps"},
		{&SRA1{}, vp, plainNoise{}, "use -noise tree"},
		{&ShARK{RTol: 1e-2}, vp, Streams{}, "use -noise tree"},
		{&ShARK{}, userMultSDE{vp}, nil, "needs additive noise"},
	} {
		c := Config{SDE: tc.sd, Score: g, Sampler: tc.smp, Noise: tc.noise}
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %+v: error %v, want it to contain %q", tc.smp.Name(), tc.smp, err, tc.want)
			continue
		}
		var ue *UnsupportedSDEError
		if strings.Contains(tc.want, "additive") && !errors.As(err, &ue) {
			t.Errorf("%s: error %T, want *UnsupportedSDEError", tc.smp.Name(), err)
		}
		var oe *OptionError
		if strings.Contains(tc.want, ".") && !errors.As(err, &oe) {
			t.Errorf("%s: error %T, want *OptionError", tc.smp.Name(), err)
		}
	}
	// A zero tolerance takes the other's value.
	s := &ShARK{ATol: 1e-2}
	c := Config{SDE: vp, Score: g, Sampler: s, Noise: areaOnly{}}
	if err := c.Validate(); err != nil || s.RTol != 1e-2 || s.ATol != 1e-2 {
		t.Errorf("ShARK{ATol: 1e-2}: %v, RTol %g ATol %g", err, s.RTol, s.ATol)
	}
}

// areaOnly is Streams under another type: an AreaSource whose retried steps
// draw fresh noise. It is not a Brownian path (a rejection biases the
// accepted noise), so it serves the tests of the adaptive mechanics only;
// it records each row's intervals.
type areaOnly struct{ rec *areaRecord }

type areaRecord struct {
	t0, t1 map[int][]float64 // by global row
}

func (n areaOnly) NewSource(d int) NoiseSource {
	return &areaOnlySource{AreaSource: Streams{}.NewSource(d).(AreaSource), rec: n.rec}
}

type areaOnlySource struct {
	AreaSource
	rec  *areaRecord
	rows []int
}

func (s *areaOnlySource) Start(seed uint64, rows []int) {
	s.rows = rows
	s.AreaSource.Start(seed, rows)
}
func (s *areaOnlySource) IncrementArea(w, hh []float64, a, c int, t0, t1 float64) {
	if s.rec != nil {
		for r := a; r < c; r++ {
			g := s.rows[r]
			s.rec.t0[g] = append(s.rec.t0[g], t0)
			s.rec.t1[g] = append(s.rec.t1[g], t1)
		}
	}
	s.AreaSource.IncrementArea(w, hh, a, c, t0, t1)
}

// The adaptive mechanics, on gmm8 under vp and edm: each row's attempts
// run from T down to eps, an attempt after an acceptance starting where the
// accepted one ended and a retry after a rejection over a shorter interval
// from the same time; Steps = Accepted + Rejected with every row finished;
// the evaluations are 2 an attempt for shark and for sra1 2 an attempt
// less one a retry (its first stage is the state itself); a tighter
// tolerance takes more steps; and max-steps stops a row with
// ode.ErrMaxSteps.
func TestSRKAdaptiveMechanics(t *testing.T) {
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewEDM()} {
		g := score.GMM8(s)
		for _, method := range []string{"sra1", "shark"} {
			var mean [2]float64
			for k, tol := range []float64{1e-2, 1e-3} {
				rec := &areaRecord{t0: map[int][]float64{}, t1: map[int][]float64{}}
				smp, _ := New(method)
				if err := Configure(smp, map[string]string{"rtol": fmt.Sprint(tol), "atol": fmt.Sprint(tol)}); err != nil {
					t.Fatal(err)
				}
				c := Config{SDE: s, Score: g, Sampler: smp, Noise: areaOnly{rec}, Workers: 1, Block: 7}
				const n = 20
				_, st := gen(t, &c, 3, n)
				for r := 0; r < n; r++ {
					what := fmt.Sprintf("%s %s tol %g row %d", s.Name(), method, tol, r)
					t0, t1 := rec.t0[r], rec.t1[r]
					if len(t0) != st.Steps[r] || st.Steps[r] != st.Accepted[r]+st.Rejected[r] || st.Accepted[r] < 1 {
						t.Errorf("%s: %d intervals, steps %d, accepted %d, rejected %d", what, len(t0), st.Steps[r], st.Accepted[r], st.Rejected[r])
						continue
					}
					if t0[0] != s.T() || t1[len(t1)-1] != c.Eps {
						t.Errorf("%s: from %v to %v, want %v to %v", what, t0[0], t1[len(t1)-1], s.T(), c.Eps)
					}
					retries := 0
					for i := 1; i < len(t0); i++ {
						switch {
						case t0[i] == t1[i-1]: // after an acceptance
						case t0[i] == t0[i-1] && t1[i] > t1[i-1]: // a retry
							retries++
						default:
							t.Errorf("%s: attempt %d over (%v, %v) after (%v, %v)", what, i, t0[i], t1[i], t0[i-1], t1[i-1])
						}
					}
					if retries != st.Rejected[r] {
						t.Errorf("%s: %d retries, %d rejections", what, retries, st.Rejected[r])
					}
					want := 2 * st.Steps[r]
					if method == "sra1" {
						want -= st.Rejected[r]
					}
					if st.NFE[r] != want {
						t.Errorf("%s: %d evaluations, want %d (steps %d, rejected %d)", what, st.NFE[r], want, st.Steps[r], st.Rejected[r])
					}
					mean[k] += float64(st.Steps[r]) / n
				}
			}
			if !(mean[1] > 1.5*mean[0]) {
				t.Errorf("%s %s: %.1f attempts a row at tolerance 1e-2, %.1f at 1e-3", s.Name(), method, mean[0], mean[1])
			}
			t.Logf("%s %s: %.1f attempts a row at tolerance 1e-2, %.1f at 1e-3", s.Name(), method, mean[0], mean[1])
		}
	}
	smp := &SRA1{RTol: 1e-4, MaxSteps: 5}
	c := Config{SDE: sde.NewVP(), Score: score.GMM8(sde.NewVP()), Sampler: smp, Noise: areaOnly{}}
	x := make([]float64, 2*3)
	if _, err := Generate(context.Background(), c, 1, nil, x, nil); !errors.Is(err, ode.ErrMaxSteps) || !strings.Contains(err.Error(), "raise max-steps") {
		t.Errorf("max-steps 5: error %v", err)
	}
}

// srkScaleMix is a two-component mixture with one mode (weights 1/2, means
// (0, 0) and (0.25, -0.25), stds 0.25 and 1): a nonlinear score without
// the mode switches that make gmm8's pathwise errors heavy-tailed.
func srkScaleMix(s sde.SDE) *score.Mixture {
	m, err := score.NewMixture(s, []float64{0.5, 0.5}, [][]float64{{0, 0}, {0.25, -0.25}}, [][]float64{{0.25, 0.25}, {1, 1}})
	if err != nil {
		panic(err)
	}
	return m
}

// rmsDiff is the RMS over values of a - b.
func rmsDiff(a, b []float64) float64 {
	var ss float64
	for i := range a {
		ss += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(ss / float64(len(a)))
}

// Adaptive steps on the Brownian tree follow the path: on srkScaleMix under
// vp and edm (100 rows), sra1 and shark at rtol = atol = 3e-2 and 3e-3
// against shark with 4000 fixed steps on the same tree (its own error,
// about 1e-5, is far below these). A rejected step retried on the same path
// converges to the path's solution: the RMS error must fall at least 3x
// from 3e-2 to 3e-3 (measured 5-6x: the steps shrink as tol^(2/3)) and be
// below 2 tol at 3e-3 (measured 1.6e-3 vp, 2.9e-3 edm). With fresh noise
// for a retry (areaOnly) the rows would follow other paths and stay O(1)
// away.
func TestSRKAdaptiveFollowsPath(t *testing.T) {
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewEDM()} {
		m := srkScaleMix(s)
		const n = 100
		ref, _ := gen(t, &Config{SDE: s, Score: m, Sampler: &ShARK{Steps: 4000}}, 5, n)
		for _, method := range []string{"sra1", "shark"} {
			var errs [2]float64
			for k, tol := range []float64{3e-2, 3e-3} {
				smp, _ := New(method)
				if err := Configure(smp, map[string]string{"rtol": fmt.Sprint(tol), "atol": fmt.Sprint(tol)}); err != nil {
					t.Fatal(err)
				}
				x, st := gen(t, &Config{SDE: s, Score: m, Sampler: smp}, 5, n)
				var nfe, rej float64
				for r := range st.NFE {
					nfe += float64(st.NFE[r]) / n
					rej += float64(st.Rejected[r]) / n
				}
				errs[k] = rmsDiff(x, ref)
				t.Logf("%s %s tol %g: %.1f evaluations, %.1f rejections a row, path error %.3g", s.Name(), method, tol, nfe, rej, errs[k])
			}
			if !(errs[1] < errs[0]/3 && errs[1] < 2*3e-3) {
				t.Errorf("%s %s: path error %.3g at tol 3e-2, %.3g at 3e-3", s.Name(), method, errs[0], errs[1])
			}
		}
	}
}

// The adaptive solvers on the tree sample the right law: on gauss:4 with
// rtol = atol = 1e-2, 4000 rows (sra1 and shark under vp, shark under edm),
// each coordinate's sample mean within 4 standard errors sqrt(v/n) of
// p_eps's and its variance within 4 standard errors v sqrt(2/(n-1)). A
// rejection that redrew the noise would favour small increments and shrink
// the variance; the tree's retried step is the same path's. (A mean's
// discretisation bias is at most the path error, E|x_N - x| <= RMS: 4e-3
// (vp) and 7e-3 (edm) on srkScaleMix at this tolerance, against standard
// errors of 3e-3 to 1.3e-2 here.) The tree's
// normals take 90% of the time here (a query on a non-dyadic interval
// splits some 25 levels), hence the few rows.
func TestSRKAdaptiveMomentsGauss(t *testing.T) {
	n := 4000
	type run struct {
		s   sde.SDE
		smp Sampler
	}
	list := []run{
		{sde.NewVP(), &SRA1{RTol: 1e-2, ATol: 1e-2}},
		{sde.NewVP(), &ShARK{RTol: 1e-2, ATol: 1e-2}},
		{sde.NewEDM(), &ShARK{RTol: 1e-2, ATol: 1e-2}},
	}
	if testing.Short() {
		list, n = list[:1], 1000
	}
	for _, rn := range list {
		s, smp := rn.s, rn.smp
		m := score.Gauss(s, 4)
		{
			c := Config{SDE: s, Score: m, Sampler: smp}
			x, _ := gen(t, &c, 9, n)
			cc, sd := s.Marginal(c.Eps)
			for j := 0; j < 4; j++ {
				var s1, s2 float64
				for i := 0; i < n; i++ {
					s1 += x[i*4+j]
				}
				mean := s1 / float64(n)
				for i := 0; i < n; i++ {
					e := x[i*4+j] - mean
					s2 += e * e
				}
				vs := s2 / float64(n-1)
				wm := cc * m.Means[0][j]
				wv := cc*cc*m.Stds[0][j]*m.Stds[0][j] + sd*sd
				if se := math.Sqrt(wv / float64(n)); math.Abs(mean-wm) > 4*se {
					t.Errorf("%s %s coordinate %d: mean %.5g, exact %.5g (se %.2g)", s.Name(), smp.Name(), j, mean, wm, se)
				}
				if se := wv * math.Sqrt(2/float64(n-1)); math.Abs(vs-wv) > 4*se {
					t.Errorf("%s %s coordinate %d: variance %.5g, exact %.5g (se %.2g)", s.Name(), smp.Name(), j, vs, wv, se)
				}
			}
		}
	}
}

// A row of sra1 and shark (fixed and adaptive steps, on the tree) is bit
// for bit the same whatever the other rows, their order, Workers and
// Block: rows 0..23 with one worker and blocks of 4 against a shuffled
// shard with 2 workers and blocks of 1 and 3.
func TestSRKRowsIndependentOfBatch(t *testing.T) {
	s := sde.NewVP()
	for _, smp := range []Sampler{&SRA1{Steps: 30}, &ShARK{Steps: 30}, &SRA1{RTol: 3e-2}, &ShARK{ATol: 3e-2}} {
		full := Config{SDE: s, Score: score.GMM8(s), Sampler: smp, Workers: 1, Block: 4}
		x, st := gen(t, &full, 21, 24)
		for _, blk := range []int{1, 3} {
			rows := []int{23, 3, 17, 8, 12, 0}
			p := full
			p.Workers, p.Block = 2, blk
			y := make([]float64, len(rows)*2)
			sp, err := Generate(context.Background(), p, 21, rows, y, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, r := range rows {
				if y[2*k] != x[2*r] || y[2*k+1] != x[2*r+1] || sp.NFE[k] != st.NFE[r] {
					t.Errorf("%s %s: row %d differs between the full run %v (%d evaluations) and a shard %v (%d)", smp.Name(), smp.(Describer).Describe(), r, x[2*r:2*r+2], st.NFE[r], y[2*k:2*k+2], sp.NFE[k])
				}
			}
		}
	}
}

// After warm-up the fixed steps of sra1 and shark do not allocate (on the
// tree and on Streams): Generate with 400 steps allocates no more than with
// 40 (the per-call setup only; the allowance of 8 as TestNoAllocationPerStep's).
func TestSRKNoAllocationPerStep(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so allocations are not counted")
	}
	s := sde.NewVP()
	for _, noise := range []Noise{nil, Streams{}} {
		for _, method := range []string{"sra1", "shark"} {
			allocs := func(n int) float64 {
				smp, _ := New(method)
				setStepsSRK(smp, n)
				c := Config{SDE: s, Score: gaussScore{s: s, d: 4, mu: 0.1, v0: 0.5, nanRow: -1}, Sampler: smp, Noise: noise, Workers: 1, Block: 16}
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
			if a40, a400 := allocs(40), allocs(400); a400 > a40+8 {
				t.Errorf("%s (noise %T): %v allocations with 40 steps, %v with 400", method, noise, a40, a400)
			}
		}
	}
}

func setStepsSRK(s Sampler, n int) {
	switch v := s.(type) {
	case *SRA1:
		v.Steps = n
	case *ShARK:
		v.Steps = n
	}
}
