package sample

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/ode"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

func sdes() []sde.SDE { return []sde.SDE{sde.NewVP(), sde.NewSubVP(), sde.NewVE()} }

func seq(n int) []int {
	r := make([]int, n)
	for i := range r {
		r[i] = i
	}
	return r
}

// gen runs Generate on rows 0..n-1 and fails the test on error.
// gen validates c in place (filling its defaults), runs Generate on rows
// 0..n-1 and fails the test on error.
func gen(t testing.TB, c *Config, seed uint64, n int) ([]float64, Stats) {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	x := make([]float64, n*c.Dim)
	st, err := Generate(context.Background(), *c, seed, seq(n), x, nil)
	if err != nil {
		t.Fatalf("%s: %v", describe(*c), err)
	}
	return x, st
}

// view is the flat description of a built-in sampler that the tests and the
// oracle read: the options of the old flat Config, whatever the sampler's type.
type view struct {
	kind        string // em, pc, ode, ddpm, ddim
	pred, corr  string // em and pc: the predictor's and corrector's names
	variance    string // the ancestral predictor's or ddpm's; "" the default
	snr         float64
	corrSteps   int
	steps       int
	denoise     bool
	referenceDt bool
	batchNorms  bool
	joint       bool
	solver      string
	eta         float64
	ddpmSteps   int
}

func viewOf(s Sampler) view {
	switch v := s.(type) {
	case nil:
		return view{kind: "em", pred: "em", corr: "none"}
	case *EulerMaruyama:
		return view{kind: "em", pred: "em", corr: "none", steps: v.Steps, denoise: v.Denoise, referenceDt: v.ReferenceDt}
	case *PC:
		w := view{kind: "pc", pred: "reverse-diffusion", corr: "ald", snr: v.SNR, corrSteps: v.CorrectorSteps, steps: v.Steps,
			denoise: v.Denoise, referenceDt: v.ReferenceDt, batchNorms: v.BatchNorms}
		if v.Predictor != nil {
			w.pred = v.Predictor.Name()
		}
		if a, ok := v.Predictor.(*Ancestral); ok {
			w.variance = a.Variance
		}
		if v.Corrector != nil {
			w.corr = v.Corrector.Name()
		}
		return w
	case *ProbabilityFlow:
		return view{kind: "ode", solver: v.Solver, steps: v.Steps, denoise: v.Denoise, referenceDt: v.ReferenceDt, joint: v.Joint}
	case *DDPM:
		return view{kind: "ddpm", steps: v.Steps, variance: v.Variance}
	case *DDIM:
		return view{kind: "ddim", steps: v.Steps, ddpmSteps: v.DDPMSteps, eta: v.Eta}
	}
	return view{kind: s.Name()}
}

// setSteps sets the number of steps of a built-in sampler.
func setSteps(s Sampler, n int) {
	switch v := s.(type) {
	case *EulerMaruyama:
		v.Steps = n
	case *PC:
		v.Steps = n
	case *ProbabilityFlow:
		v.Steps = n
	case *DDPM:
		v.Steps = n
	case *DDIM:
		v.Steps = n
	default:
		if err := Configure(s, map[string]string{"steps": fmt.Sprint(n)}); err != nil {
			panic(fmt.Sprintf("setSteps: %T: %v", s, err))
		}
	}
}

// cloneSampler returns a copy of a built-in sampler that shares nothing
// mutable with s (Prepare fills defaults in place).
func cloneSampler(s Sampler) Sampler {
	switch v := s.(type) {
	case *EulerMaruyama:
		c := *v
		return &c
	case *PC:
		c := *v
		if a, ok := v.Predictor.(*Ancestral); ok {
			aa := *a
			c.Predictor = &aa
		}
		return &c
	case *ProbabilityFlow:
		c := *v
		return &c
	case *DDPM:
		c := *v
		return &c
	case *DDIM:
		c := *v
		return &c
	}
	panic(fmt.Sprintf("cloneSampler: %T", s))
}

func describe(c Config) string {
	v := viewOf(c.Sampler)
	s := c.SDE.Name() + " " + v.kind
	if v.kind == "pc" || v.referenceDt || v.denoise {
		s += "(" + v.pred + "+" + v.corr
		if v.referenceDt {
			s += ",ref"
		}
		if v.denoise {
			s += ",denoise"
		}
		if v.variance != "" {
			s += "," + v.variance
		}
		s += ")"
	}
	if v.kind == "ode" {
		s += "/" + v.solver
	}
	return s
}

// colMoments returns the sample mean and unbiased variance of column j.
func colMoments(x []float64, d, j int) (m, v float64) {
	n := len(x) / d
	for i := 0; i < n; i++ {
		m += x[i*d+j]
	}
	m /= float64(n)
	for i := 0; i < n; i++ {
		e := x[i*d+j] - m
		v += e * e
	}
	return m, v / float64(n-1)
}

// affineConfigs are the samplers that are affine in x for Gaussian data.
func affineConfigs() []Config {
	return []Config{
		{Sampler: &EulerMaruyama{}},
		{Sampler: &EulerMaruyama{Denoise: true}},
		{Sampler: &EulerMaruyama{ReferenceDt: true}},
		{Sampler: &EulerMaruyama{ReferenceDt: true, Denoise: true}},
		{Sampler: &PC{Predictor: ReverseDiffusion{}, Corrector: NoCorrector{}}},
		{Sampler: &PC{Predictor: &Ancestral{}, Corrector: NoCorrector{}}},
		{Sampler: &PC{Predictor: &Ancestral{Variance: VarianceBetaTilde}, Corrector: NoCorrector{}}},
		{Sampler: &PC{Predictor: &Ancestral{Variance: VarianceBeta}, Corrector: NoCorrector{}}},
		{Sampler: &PC{Predictor: ReverseDiffusion{}, Corrector: ALD{}}},
		{Sampler: &PC{Predictor: &Ancestral{}, Corrector: ALD{}, CorrectorSteps: 2, Denoise: true}},
		{Sampler: &PC{Predictor: EMPredictor{}, Corrector: ALD{}, SNR: 0.1}},
		{Sampler: &PC{Predictor: NoPredictor{}, Corrector: ALD{}}},
		{Sampler: &ProbabilityFlow{Solver: "euler"}},
		{Sampler: &ProbabilityFlow{Solver: "heun"}},
		{Sampler: &ProbabilityFlow{Solver: "heun", Denoise: true}},
	}
}

// Every affine sampler's sample moments match the exact moment recursion
// within 4 standard errors, per dimension, for gauss:3 (stds 0.2, 0.5, 0.8)
// under VP, sub-VP and VE. n = 10000 rows and a coarse N = 50 steps, where
// the recursion differs from the data moments by many standard errors for
// most samplers (logged), so the test pins down each scheme rather than
// "close to the data". The output is Gaussian, so SE(mean) = sqrt(V/n) and
// SE(var) = V sqrt(2/(n-1)) with V the recursion's variance.
func TestAffineSamplersMatchRecursion(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 4000
	}
	const N = 50
	for _, s := range sdes() {
		g := score.Gauss(s, 3)
		for _, c := range affineConfigs() {
			c.SDE, c.Score = s, g
			setSteps(c.Sampler, N)
			x, _ := gen(t, &c, 1, n)
			far := 0.0
			for j := 0; j < 3; j++ {
				gd := gaussDim{s, g.Means[0][j], g.Stds[0][j] * g.Stds[0][j]}
				wm, wv := propagate(recursion(c, gd), 0, s.PriorStd()*s.PriorStd())
				sm, sv := colMoments(x, 3, j)
				seM, seV := math.Sqrt(wv/float64(n)), wv*math.Sqrt(2/float64(n-1))
				if math.Abs(sm-wm) > 4*seM || math.Abs(sv-wv) > 4*seV {
					t.Errorf("%s dim %d: sample mean %.5f var %.5f; recursion %.5f %.5f (SE %.2g %.2g)", describe(c), j, sm, sv, wm, wv, seM, seV)
				}
				far = math.Max(far, math.Max(math.Abs(wm-gd.mu)/seM, math.Abs(wv-gd.v0)/seV))
			}
			t.Logf("%-40s recursion vs data: up to %.0f SE", describe(c), far)
		}
	}
}

// The recursion converges to the moments of the continuous process it
// discretises (limit: the exact reverse SDE or probability flow from the prior,
// at eps) as N grows, at the scheme's weak order. With error = |mean error| +
// relative variance error (the std-0.2 dimension of gauss data) over
// N = 200..3200, the fitted slope of log(error) against log(N) must be at most
// -p + 0.15 for a scheme of order p (first order: Euler-Maruyama, reverse
// diffusion, ancestral, ODE Euler; second: ODE Heun). For Euler-Maruyama the
// weak order is also checked to be 1 and not more: the slope of the mean
// error alone is -1 within 0.15 under every SDE. (Under VE the variance error
// of Euler-Maruyama has a small first-order coefficient, so its second-order
// term dominates below N ~ 1000 and the total falls faster than 1/N there.)
// The recursion is exact (no sampling noise), so slopes are sharp.
func TestRecursionConvergesAtWeakOrder(t *testing.T) {
	cases := []struct {
		c     Config
		order float64
	}{
		{Config{Sampler: &EulerMaruyama{}}, 1},
		{Config{Sampler: &EulerMaruyama{Denoise: true}}, 1},
		{Config{Sampler: &PC{Predictor: ReverseDiffusion{}, Corrector: NoCorrector{}}}, 1},
		{Config{Sampler: &PC{Predictor: &Ancestral{}, Corrector: NoCorrector{}}}, 1},
		{Config{Sampler: &ProbabilityFlow{Solver: "euler"}}, 1},
		{Config{Sampler: &ProbabilityFlow{Solver: "heun"}}, 2},
	}
	for _, s := range sdes() {
		gd := gaussDim{s, 0.5, 0.04}
		for _, tc := range cases {
			c := tc.c
			c.SDE, c.Score, c.Sampler = s, score.Gauss(s, 1), cloneSampler(tc.c.Sampler)
			var lx, ly, lm []float64
			for N := 200; N <= 3200; N *= 2 {
				setSteps(c.Sampler, N)
				if err := c.Validate(); err != nil {
					t.Fatal(err)
				}
				m, v := propagate(recursion(c, gd), 0, s.PriorStd()*s.PriorStd())
				limM, limV := limit(c, gd)
				lx = append(lx, math.Log(float64(N)))
				ly = append(ly, math.Log(math.Abs(m-limM)+math.Abs(v-limV)/limV))
				lm = append(lm, math.Log(math.Abs(m-limM)))
			}
			slope := fitSlope(lx, ly)
			if slope > -tc.order+0.15 {
				t.Errorf("%s: slope %.3f, want at most %v", describe(c), slope, -tc.order+0.15)
			}
			msg := ""
			if _, em := c.Sampler.(*EulerMaruyama); em {
				ms := fitSlope(lx, lm)
				if math.Abs(ms+1) > 0.15 {
					t.Errorf("%s: mean-error slope %.3f, want -1", describe(c), ms)
				}
				msg = fmt.Sprintf(", mean-error slope %.3f", ms)
			}
			t.Logf("%-32s weak-error slope %.3f (error %.2e at N = 3200)%s", describe(c), slope, math.Exp(ly[len(ly)-1]), msg)
		}
	}
}

func fitSlope(x, y []float64) float64 {
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(len(x))
	my /= float64(len(y))
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	return sxy / sxx
}

// The limits themselves are near the data: within 5e-3 in |mean error| +
// relative variance error for the std-0.2, mean-0.5 dimension. The budget is
// the eps smoothing s(eps)^2/v0 (2.5e-3 for VP at eps = 1e-3; 1e-10 for VE)
// plus the prior mismatch that a deterministic flow keeps,
// sqrt(v_eps/v_T) c_T mu (1.4e-3 VP, 2e-3 VE); the reverse SDE forgets it.
// A check that the oracle's limit is what we think it is.
func TestLimitIsNearData(t *testing.T) {
	for _, s := range sdes() {
		gd := gaussDim{s, 0.5, 0.04}
		for _, c := range []Config{{Sampler: &EulerMaruyama{}}, {Sampler: &EulerMaruyama{Denoise: true}}, {Sampler: &ProbabilityFlow{Solver: "euler"}}} {
			c.SDE, c.Score = s, score.Gauss(s, 1)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			m, v := limit(c, gd)
			if e := math.Abs(m-gd.mu) + math.Abs(v-gd.v0)/gd.v0; e > 5e-3 {
				t.Errorf("%s: limit %v %v far from data %v %v", describe(c), m, v, gd.mu, gd.v0)
			}
		}
	}
}

// Weak order of Euler-Maruyama measured on samples. A gentle VP (beta from 1
// to 3, so that the scheme is in its asymptotic range from N = 50), gauss:1
// (std 0.2), n = 50000 rows at N = 50, 100, 200, 400. The relative weak error
// of the variance against the continuous limit is 28 % to 3 % there (the
// recursion says), 44 to 5 standard errors (SE = sqrt(2/n) = 0.63 %), and
// must fall like 1/N: the fitted slope is -1 within 0.25 (the exact
// recursion's slope over this range is -1.06; sampling error moves the
// estimate by about 0.1). Each sample variance must also match the
// recursion within 4 SE.
func TestWeakOrderEMMonteCarlo(t *testing.T) {
	if testing.Short() {
		t.Skip("50000 rows x 750 steps")
	}
	s := &sde.VP{BetaMin: 1, BetaMax: 3}
	g := score.Gauss(s, 1)
	gd := gaussDim{s, g.Means[0][0], g.Stds[0][0] * g.Stds[0][0]}
	const n = 50000
	var lx, ly []float64
	for _, N := range []int{50, 100, 200, 400} {
		c := Config{SDE: s, Score: g, Sampler: &EulerMaruyama{Steps: N}}
		x, _ := gen(t, &c, 3, n)
		_, sv := colMoments(x, 1, 0)
		_, lv := limit(c, gd)
		_, rv := propagate(recursion(c, gd), 0, 1)
		e := math.Abs(sv-lv) / lv
		if math.Abs(sv-rv) > 4*rv*math.Sqrt(2.0/n) {
			t.Errorf("N=%d: sample variance %v, recursion %v", N, sv, rv)
		}
		t.Logf("N=%d: variance %.5f, recursion %.5f, limit %.5f, weak error %.4f", N, sv, rv, lv, e)
		lx = append(lx, math.Log(float64(N)))
		ly = append(ly, math.Log(e))
	}
	if slope := fitSlope(lx, ly); math.Abs(slope+1) > 0.25 {
		t.Errorf("Monte Carlo weak order: slope %.3f, want -1", slope)
	} else {
		t.Logf("Monte Carlo weak-order slope %.3f", slope)
	}
}

// ProbabilityFlow.Controller reaches the ODE solver: the ode sampler's samples with a
// PI controller are, bit for bit, package ode's solve of the same prior
// draws with that controller (the prior read back from Trajectory), and
// differ from the default controller's. An invalid controller is refused by
// Validate with the field's name.
func TestODEController(t *testing.T) {
	s := sde.NewVP()
	m := score.GMM8(s)
	rows := []int{0, 1, 2, 3, 4, 5, 6, 7, 8}
	pid, err := ode.ControllerByName("pi3040")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{SDE: s, Score: m, Sampler: &ProbabilityFlow{Controller: pid}, Workers: 1}
	got := make([]float64, 2*len(rows))
	st, err := Generate(context.Background(), cfg, 3, rows, got, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, states, err := Trajectory(context.Background(), cfg, 3, rows, 2)
	if err != nil {
		t.Fatal(err)
	}
	pf := sde.ProbabilityFlow{SDE: s, Score: m}
	res, err := ode.Solve(context.Background(), pf.F, 2, s.T(), 1e-3, states[0],
		ode.Options{RTol: 1e-5, ATol: 1e-5, Controller: pid})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != res.Y[i] {
			t.Fatalf("value %d: sampler %v, ode with the same controller %v", i, v, res.Y[i])
		}
	}
	def := make([]float64, len(got))
	stI, err := Generate(context.Background(), Config{SDE: s, Score: m, Sampler: &ProbabilityFlow{}, Workers: 1}, 3, rows, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(def, got) || slices.Equal(stI.NFE, st.NFE) {
		t.Errorf("pi3040 gave the default controller's samples and evaluations")
	}
	bad := Config{SDE: s, Score: m, Sampler: &ProbabilityFlow{Controller: ode.PID{KI: 1, Safety: 2}}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "ProbabilityFlow.Controller") {
		t.Errorf("Safety 2: Validate gave %v, want an error naming ProbabilityFlow.Controller", err)
	}
}
