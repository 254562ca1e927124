package sample

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/sde"
)

// expIntegral is the exact solution, computed here from the closed-form
// integrals, of the exponential-integrator ODE of one coordinate from s to
// j over H = lambda_j - lambda_s when the model's prediction does not depend
// on x and is p = a + b tau + c tau^2 (tau = lambda - lambda_s):
//
//	noise: x_j = (alpha_j/alpha_s) x_s - alpha_j int e^{-lambda} p
//	           = (alpha_j/alpha_s) x_s - sigma_j [(e^H - 1) a + (e^H - 1 - H) b + (2 e^H - 2 - 2H - H^2) c]
//	data:  x_j = (sigma_j/sigma_s) x_s + sigma_j int e^{lambda} p
//	           = (sigma_j/sigma_s) x_s + alpha_j [(1 - e^{-H}) a + (H - 1 + e^{-H}) b + (H^2 - 2H + 2 - 2 e^{-H}) c]
//
// (with alpha_j e^{-lambda_s} = sigma_j e^H and sigma_j e^{lambda_s} =
// alpha_j e^{-H}; the brackets are int_0^H e^{H - tau} tau^n dtau and
// int_0^H e^{tau - H} tau^n dtau, n = 0, 1, 2, by parts).
func expIntegral(data bool, as, ss, aj, sj, H, x, a, b, c float64) float64 {
	if data {
		e := math.Exp(-H)
		return sj/ss*x + aj*((1-e)*a+(H-1+e)*b+(H*H-2*H+2-2*e)*c)
	}
	e := math.Exp(H)
	return aj/as*x - sj*((e-1)*a+(e-1-H)*b+(2*e-2-2*H-H*H)*c)
}

// dpmCase is one update of a step: which update, the point it ends at (1:
// s1, 2: s2, 3: t) and which evaluation it uses besides p_s.
type dpmCase struct {
	name   string
	order  int
	r1, r2 float64
	upd    func(st *dpmStep) dpmUpdate
	end    int // index of the end point in dpmStep.t
	pj     int // evaluation the update uses (0: none)
	exact  int // the highest degree it integrates exactly
	acc    int // its order of accuracy: local error O(h^(acc+1))
}

var dpmCases = []dpmCase{
	{"order 1 (DDIM)", 2, 0.5, 0, func(st *dpmStep) dpmUpdate { return st.fin[1] }, 3, 0, 0, 1},
	{"u1 to s1", 3, 1.0 / 3, 2.0 / 3, func(st *dpmStep) dpmUpdate { return st.u1 }, 1, 0, 0, 1},
	{"order 2, r1 = 1/2", 2, 0.5, 0, func(st *dpmStep) dpmUpdate { return st.fin[2] }, 3, 1, 0, 2},
	{"order 2, r1 = 1/3", 3, 1.0 / 3, 2.0 / 3, func(st *dpmStep) dpmUpdate { return st.fin[2] }, 3, 1, 0, 2},
	{"u2 to s2", 3, 1.0 / 3, 2.0 / 3, func(st *dpmStep) dpmUpdate { return st.u2 }, 2, 1, 1, 2},
	{"order 3", 3, 1.0 / 3, 2.0 / 3, func(st *dpmStep) dpmUpdate { return st.fin[3] }, 3, 2, 1, 3},
}

// runDPMCase applies the update of cs for a step of h from time ts with the
// polynomial prediction (a, b, c) evaluated at the actual lambda of each
// evaluation time (what a model sees), and returns it with the exact value.
func runDPMCase(s sde.SDE, data bool, cs dpmCase, ts, h, x, a, b, c float64) (got, want float64) {
	lamS := sde.LogSNR(s, ts)
	te := sde.TimeAtLogSNR(s, lamS+h)
	st := newDPMStep(s, data, cs.order, cs.r1, cs.r2, ts, lamS, h, te)
	p := func(k int) float64 {
		tau := sde.LogSNR(s, st.t[k]) - lamS
		return a + b*tau + c*tau*tau
	}
	ps, pj := []float64{p(0)}, []float64{p(cs.pj)}
	out := []float64{0}
	cs.upd(&st).apply(out, []float64{x}, ps, pj, 0, 1)
	H := sde.LogSNR(s, st.t[cs.end]) - lamS
	want = expIntegral(data, st.alpha[0], st.sigma[0], st.alpha[cs.end], st.sigma[cs.end], H, x, a, b, c)
	return out[0], want
}

// Each update of the singlestep solvers integrates the exponential-
// integrator ODE exactly, to rounding, for an x-independent prediction that
// is a polynomial in lambda up to the degree stated in dpmsolver.go (order
// 1, u1 and order 2 in the papers' form: degree 0; u2 and order 3: degree
// 1), on vp and edm, both forms, steps h = 0.5 and 2 in lambda. Tolerance
// 1e-12 relative to the largest term: a few dozen flops (1e-15) plus the
// intermediate times' round trip through lambda (the update uses the
// nominal r h, the marginal the time the inverse returns, 1e-15 apart),
// magnified at most e^2 by the step; the defect of one degree more is 1e-3
// or larger at these h, so the test tells exact from nearly exact.
//
// One degree more is not exact, and its defect is the update's local error:
// divided by the end point's m (sigma for noise, alpha for data) it falls
// as h^(q+1) with q the update's order of accuracy (order 1 and u1 on a
// linear prediction: h^2; order 2 on a linear one: h^3, b h^3/12; u2 on a
// quadratic one: h^3; order 3 on a quadratic one: h^4). The slope from
// h = 0.02 to 0.01 is within 0.1 of it: the next term of the expansion
// changes it by O(h) = 2%.
func TestDPMUpdatesOnPolynomials(t *testing.T) {
	xs, as, bs, cs := []float64{0.8, -1.7}, []float64{0.7, -1.3}, []float64{0.5, 1.1}, []float64{0.9, -0.4}
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewEDM()} {
		ts := 0.5 * s.T()
		for _, data := range []bool{false, true} {
			for _, cs0 := range dpmCases {
				for _, h := range []float64{0.5, 2} {
					for i := range xs {
						for deg := 0; deg <= cs0.exact; deg++ {
							b, c := bs[i], cs[i]
							if deg < 1 {
								b = 0
							}
							if deg < 2 {
								c = 0
							}
							got, want := runDPMCase(s, data, cs0, ts, h, xs[i], as[i], b, c)
							scale := math.Max(1, math.Abs(want)) * math.Exp(h)
							if math.Abs(got-want) > 1e-12*scale {
								t.Errorf("%s data=%v %s h=%g degree %d: %.17g, exact %.17g", s.Name(), data, cs0.name, h, deg, got, want)
							}
						}
					}
				}
				// The defect of degree exact+1, scaled by the end's m.
				deg := cs0.exact + 1
				defect := func(h float64) float64 {
					b, c := 0.0, 0.0
					if deg == 1 {
						b = 1
					} else {
						c = 1
					}
					got, want := runDPMCase(s, data, cs0, ts, h, 0, 0, b, c)
					lamS := sde.LogSNR(s, ts)
					var end float64
					switch cs0.end {
					case 1:
						end = lamS + cs0.r1*h
					case 2:
						end = lamS + cs0.r2*h
					default:
						end = lamS + h
					}
					al, sg := s.Marginal(sde.TimeAtLogSNR(s, end))
					m := sg
					if data {
						m = al
					}
					return (got - want) / m
				}
				d1, d2 := defect(0.02), defect(0.01)
				slope := math.Log2(math.Abs(d1 / d2))
				if math.Abs(slope-float64(cs0.acc+1)) > 0.1 || d1 == 0 {
					t.Errorf("%s data=%v %s: the defect on degree %d falls as h^%.2f (%.3g at h = 0.02, %.3g at 0.01), want h^%d", s.Name(), data, cs0.name, deg, slope, d1, d2, cs0.acc+1)
				}
			}
		}
	}
}

// The order-2 update's defect on a linear prediction is the papers' known
// approximation: it stands m_t phi1(g) D_1/(2 r1) = m_t (e^g - 1) h/2 b for
// the exact m_t g phi2(g) b, that is (noise, m = sigma) sigma_t b [(e^h -
// 1) h/2 - (e^h - 1 - h)] = sigma_t b (h^3/12 + O(h^4)), the same for any
// r1. Written here from DPM-Solver's Algorithm 1 in its own terms; 1e-12
// relative as above.
func TestDPMSolver2DefectIsThePapers(t *testing.T) {
	s := sde.NewVP()
	for _, r1 := range []float64{0.5, 1.0 / 3} {
		cs0 := dpmCase{"order 2", 2, r1, 0, func(st *dpmStep) dpmUpdate { return st.fin[2] }, 3, 1, 0, 2}
		if r1 != 0.5 {
			cs0.order, cs0.r2 = 3, 2.0/3
		}
		for _, h := range []float64{0.3, 1, 3} {
			got, want := runDPMCase(s, false, cs0, 0.4, h, 0, 0, 1, 0)
			lamS := sde.LogSNR(s, 0.4)
			_, sg := s.Marginal(sde.TimeAtLogSNR(s, lamS+h))
			lam1 := sde.LogSNR(s, sde.TimeAtLogSNR(s, lamS+r1*h))
			// Algorithm 1: x_t = ... - sigma_t/(2 r1) (e^h - 1) (eps(u, s1) - eps_s), eps = tau.
			alg := -sg / (2 * r1) * math.Expm1(h) * (lam1 - lamS)
			exact := -sg * (math.Expm1(h) - h)
			if d := (got - want) - (alg - exact); math.Abs(d) > 1e-12*sg*math.Exp(h) {
				t.Errorf("r1 %g h %g: defect %.17g, Algorithm 1's %.17g", r1, h, got-want, alg-exact)
			}
		}
	}
}

// dpmPhi2 against the direct formula where it does not cancel (|g| >= 0.1:
// 1e-14 relative) and against a 20-term series in extended precision where
// it does (the series itself summed from its smallest term: 1e-15
// relative; the direct formula loses up to 1e-11 there).
func TestDPMPhi2(t *testing.T) {
	for _, g := range []float64{-3, -0.5, -0.1, 0.1, 0.7, 4} {
		if w := math.Expm1(g)/g - 1; math.Abs(dpmPhi2(g)-w) > 1e-14*math.Abs(w) {
			t.Errorf("phi2(%g) = %.17g, want %.17g", g, dpmPhi2(g), w)
		}
	}
	for _, g := range []float64{-0.0999, -0.02, -1e-5, 1e-9, 3e-4, 0.05, 0.0999} {
		var w float64
		for n := 20; n >= 1; n-- {
			w += math.Pow(g, float64(n)) / factorial(n+1)
		}
		if math.Abs(dpmPhi2(g)-w) > 1e-15*math.Abs(w) {
			t.Errorf("phi2(%g) = %.17g, series %.17g", g, dpmPhi2(g), w)
		}
	}
	if dpmPhi2(0) != 0 {
		t.Errorf("phi2(0) = %v", dpmPhi2(0))
	}
}

// linScore is a fake score whose prediction does not depend on x: p = a +
// b (lambda - lambda_T) per coordinate, as noise (score = -p/sigma) or data
// (score = (alpha p - x)/sigma^2) prediction.
type linScore struct {
	s    sde.SDE
	data bool
	a, b []float64
}

func (p linScore) Dim() int { return len(p.a) }
func (p linScore) ScoreTo(dst, x, t []float64) {
	d := len(p.a)
	lamT := sde.LogSNR(p.s, p.s.T())
	for r, tr := range t {
		al, sg := p.s.Marginal(tr)
		tau := sde.LogSNR(p.s, tr) - lamT
		for j := 0; j < d; j++ {
			v := p.a[j] + p.b[j]*tau
			if p.data {
				dst[r*d+j] = (al*v - x[r*d+j]) / (sg * sg)
			} else {
				dst[r*d+j] = -v / sg
			}
		}
	}
}

// Through the driver: with an x-independent prediction every step of an
// update that is exact for its degree is exact, so the whole run from T to
// eps is the closed-form integral over lambda_eps - lambda_T (about 9.7 on
// vp, 10.6 on edm, 8.5 on ve): dpm-3 with a linear prediction, dpm-2 and
// dpmpp-2s with a constant one, in both forms, on every schedule (not
// uniform in lambda but t, karras), and dpm-adaptive with a constant one
// (then x_high = x_low, E = 0, and it takes two steps: h_init, then the
// rest). This checks the plumbing: predictTo's conversions, the grid's
// lambdas, the intermediate times. Tolerance 1e-10 relative to the largest
// term: the run multiplies the prior by up to 1/alpha_T = 150 (vp) and the
// data conversion divides by alpha_T, so rounding of 1e-16 grows to 1e-13;
// 1e-10 leaves room and is far below any defect (1e-2 of the terms).
func TestDPMSamplersExactThroughDriver(t *testing.T) {
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewEDM(), sde.NewVE()} {
		for _, data := range []bool{false, true} {
			pred := PredictionNoise
			if data {
				pred = PredictionData
			}
			for _, tc := range []struct {
				name   string
				opts   map[string]string
				linear bool
			}{
				{"dpm-3", map[string]string{"steps": "4"}, true},
				{"dpm-3", map[string]string{"steps": "5", "schedule": "t"}, true},
				{"dpm-3", map[string]string{"steps": "3", "schedule": "karras"}, true},
				{"dpm-2", map[string]string{"steps": "4", "schedule": "quadratic"}, false},
				{"dpmpp-2s", map[string]string{"steps": "3"}, false},
				{"dpm-adaptive", map[string]string{"order": "2"}, false},
				{"dpm-adaptive", map[string]string{"order": "3"}, false},
			} {
				opts := map[string]string{"prediction": pred}
				for k, v := range tc.opts {
					opts[k] = v
				}
				smp, err := NewFromOptions(tc.name, opts)
				if err != nil {
					t.Fatal(err)
				}
				ps := linScore{s: s, data: data, a: []float64{0.7, -1.3}, b: []float64{0, 0}}
				if tc.linear {
					ps.b = []float64{0.5, 1.1}
				}
				c := Config{SDE: s, Score: ps, Sampler: smp, Workers: 1}
				rows := []int{0, 1, 2}
				times, states, err := Trajectory(context.Background(), c, 3, rows, 2)
				if err != nil {
					t.Fatal(err)
				}
				x := make([]float64, 6)
				st, err := Generate(context.Background(), c, 3, rows, x, nil)
				if err != nil {
					t.Fatal(err)
				}
				T, eps := times[0], times[len(times)-1]
				aT, sT := s.Marginal(T)
				aE, sE := s.Marginal(eps)
				H := sde.LogSNR(s, eps) - sde.LogSNR(s, T)
				for i := range x {
					j := i % 2
					want := expIntegral(data, aT, sT, aE, sE, H, states[0][i], ps.a[j], ps.b[j], 0)
					scale := math.Max(1, math.Abs(states[0][i])/aT) * math.Exp(H)
					if !data {
						scale = math.Max(1, math.Abs(states[0][i])/aT) + sE*math.Exp(H)
					}
					if math.Abs(x[i]-want) > 1e-10*scale {
						t.Errorf("%s %s %v: value %d is %.15g, exact %.15g", s.Name(), tc.name, opts, i, x[i], want)
					}
				}
				if tc.name == "dpm-adaptive" {
					k := 2
					if tc.opts["order"] == "3" {
						k = 3
					}
					if st.Accepted[0] != 2 || st.Rejected[0] != 0 || st.NFE[0] != 2*k {
						t.Errorf("%s %s %v: accepted %d, rejected %d, NFE %d; want 2 steps, %d evaluations", s.Name(), tc.name, opts, st.Accepted[0], st.Rejected[0], st.NFE[0], 2*k)
					}
				}
			}
		}
	}
}

// dpm-2 with the data prediction is dpmpp-2s, and dpmpp-2s with the noise
// prediction is dpm-2: the same update (r = 1/2), bit for bit.
func TestDPMSolver2IsDPMSolverPP2S(t *testing.T) {
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewVE()} {
		for _, pred := range []string{PredictionNoise, PredictionData} {
			run := func(name string) []float64 {
				smp, err := NewFromOptions(name, map[string]string{"prediction": pred, "steps": "6"})
				if err != nil {
					t.Fatal(err)
				}
				c := Config{SDE: s, Score: newGauss(s, 3), Sampler: smp, Workers: 1}
				x, _ := gen(t, &c, 7, 5)
				return x
			}
			a, b := run("dpm-2"), run("dpmpp-2s")
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("%s %s: dpm-2 %v, dpmpp-2s %v", s.Name(), pred, a, b)
				}
			}
		}
	}
}

// The defaults: about 20 evaluations per sample (dpm-2 and dpmpp-2s 10
// steps of 2, dpm-3 7 of 3), the logsnr schedule, noise prediction for
// DPM-Solver and data for DPM-Solver++; every evaluation counted (the score
// sees as many rows as Stats.NFE sums to), and the path is the grid.
func TestDPMSolverDefaults(t *testing.T) {
	vp := sde.NewVP()
	for _, tc := range []struct {
		s          Sampler
		nfe, steps int
		pred, desc string
	}{
		{&DPMSolver2{}, 20, 10, PredictionNoise, "10 steps (20 evaluations), logsnr schedule, noise prediction"},
		{&DPMSolver3{}, 21, 7, PredictionNoise, "7 steps (21 evaluations), logsnr schedule, noise prediction"},
		{&DPMSolverPP2S{}, 20, 10, PredictionData, "10 steps (20 evaluations), logsnr schedule, data prediction"},
	} {
		g := newGauss(vp, 2)
		c := Config{SDE: vp, Score: g, Sampler: tc.s, Workers: 1, Block: 4}
		_, st := gen(t, &c, 1, 9)
		total := 0
		for _, v := range st.NFE {
			total += v
			if v != tc.nfe {
				t.Errorf("%s: %d evaluations, want %d", tc.s.Name(), v, tc.nfe)
			}
		}
		if int64(total) != g.rows.Load() {
			t.Errorf("%s: Stats.NFE sums to %d, the score saw %d rows", tc.s.Name(), total, g.rows.Load())
		}
		if d := tc.s.(Describer).Describe(); d != tc.desc {
			t.Errorf("%s: Describe %q, want %q", tc.s.Name(), d, tc.desc)
		}
		times, states, err := Trajectory(context.Background(), c, 1, []int{0, 1}, 100)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ScheduleTimes(vp, ScheduleLogSNR, 7, c.Eps, tc.steps)
		if len(times) != tc.steps+1 || len(states) != tc.steps+1 {
			t.Fatalf("%s: %d recorded states, want the %d of the grid", tc.s.Name(), len(times), tc.steps+1)
		}
		for k := range times {
			if times[k] != want[k] {
				t.Errorf("%s: path time %d is %v, grid %v", tc.s.Name(), k, times[k], want[k])
			}
		}
	}
}

// Bad options: an OptionError naming the option (through Configure, from
// text, or through Prepare, from the fields); cancellation and NaN are
// reported as the other samplers report them.
func TestDPMSolverErrors(t *testing.T) {
	for _, tc := range []struct {
		sampler string
		values  map[string]string
		option  string
		want    string
	}{
		{"dpm-2", map[string]string{"steps": "0"}, "steps", "0: give a value >= 1"},
		{"dpm-3", map[string]string{"prediction": "x0"}, "prediction", `"x0" is unknown; use noise or data`},
		{"dpmpp-2s", map[string]string{"schedule": "cosine"}, "schedule", `"cosine" is unknown`},
		{"dpm-2", map[string]string{"rho": "0"}, "rho", "0: give a value > 0"},
		{"dpm-adaptive", map[string]string{"rtol": "0"}, "rtol", "0: give a value > 0"},
		{"dpm-adaptive", map[string]string{"atol": "0"}, "atol", "0: give a value > 0"},
		{"dpm-adaptive", map[string]string{"order": "two"}, "order", "not an integer"},
		{"dpm-adaptive", map[string]string{"schedule": "t"}, "schedule", "does not apply to sampler dpm-adaptive"},
	} {
		_, err := NewFromOptions(tc.sampler, tc.values)
		var oe *OptionError
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &oe) || oe.Option != tc.option {
			t.Errorf("%s %v: error %v, want an OptionError for %s with %q", tc.sampler, tc.values, err, tc.option, tc.want)
		}
	}
	vp := sde.NewVP()
	for _, tc := range []struct {
		s             Sampler
		option, field string
	}{
		{&DPMSolver2{singlestep{Steps: -1}}, "steps", "DPMSolver2.Steps"},
		{&DPMSolver3{singlestep{Prediction: "eps"}}, "prediction", "DPMSolver3.Prediction"},
		{&DPMSolverPP2S{singlestep{Grid: Grid{Schedule: "cosine"}}}, "schedule", "DPMSolverPP2S.Grid.Schedule"},
		{&DPMSolver3{singlestep{Grid: Grid{Schedule: ScheduleKarras, Rho: -2}}}, "rho", "DPMSolver3.Grid.Rho"},
		{&DPMAdaptive{RTol: -1e-3}, "rtol", "DPMAdaptive.RTol"},
		{&DPMAdaptive{ATol: math.Inf(1)}, "atol", "DPMAdaptive.ATol"},
		{&DPMAdaptive{RTol: math.NaN()}, "rtol", "DPMAdaptive.RTol"},
		{&DPMAdaptive{Order: 1}, "order", "DPMAdaptive.Order"},
		{&DPMAdaptive{Order: 4}, "order", "DPMAdaptive.Order"},
		{&DPMAdaptive{Prediction: "v"}, "prediction", "DPMAdaptive.Prediction"},
		{&DPMAdaptive{MaxSteps: -5}, "max-steps", "DPMAdaptive.MaxSteps"},
	} {
		c := Config{SDE: vp, Score: newGauss(vp, 2), Sampler: tc.s}
		err := c.Validate()
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Option != tc.option || oe.Field != tc.field {
			t.Errorf("%T %+v: error %v, want an OptionError for %s (%s)", tc.s, tc.s, err, tc.option, tc.field)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, name := range []string{"dpm-2", "dpm-3", "dpmpp-2s", "dpm-adaptive"} {
		smp, _ := New(name)
		c := Config{SDE: vp, Score: newGauss(vp, 2), Sampler: smp, Workers: 1}
		if _, err := Generate(ctx, c, 1, seq(4), make([]float64, 8), nil); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: a cancelled run returned %v", name, err)
		}
		// A score that turns NaN below t = 0.5 in the third row of each call
		// (one block of 4 rows): the error names global row 12 and a time
		// below 0.5 (the end of the step that reached it). dpm-adaptive
		// calls the score on the rows that need it, which change with the
		// rows' steps: one row there, as for the ode sampler.
		smp, _ = New(name)
		g := newGauss(vp, 2)
		g.nanRow = 2
		rows := []int{10, 11, 12, 13}
		if name == "dpm-adaptive" {
			g.nanRow, rows = 0, []int{12}
		}
		c = Config{SDE: vp, Score: g, Sampler: smp, Workers: 1, Block: 4}
		_, err := Generate(context.Background(), c, 1, rows, make([]float64, 2*len(rows)), nil)
		var nf *NonFiniteError
		if !errors.As(err, &nf) || nf.Row != 12 || !(nf.T < 0.5) {
			t.Errorf("%s: error %v, want row 12 non-finite below t = 0.5", name, err)
		}
	}
}

// A row is bit for bit the same whatever the other rows of the call, their
// order, Workers and Block (dpm-adaptive gathers its running rows into each
// score call, so its calls change with the other rows).
func TestDPMRowsIndependentOfBatch(t *testing.T) {
	vp := sde.NewVP()
	for _, name := range []string{"dpm-3", "dpmpp-2s", "dpm-adaptive"} {
		mk := func() Sampler {
			s, err := NewFromOptions(name, map[string]string{"prediction": "data"})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		checkRowsIndependent(t, Config{SDE: vp, Score: newGauss(vp, 2)}, mk)
	}
}

func ExampleDPMSolver3() {
	s, _ := NewFromOptions("dpm-3", map[string]string{"steps": "5", "schedule": "karras"})
	vp := sde.NewVP()
	c := Config{SDE: vp, Score: newGauss(vp, 2), Sampler: s}
	if err := c.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Name()+":", s.(Describer).Describe())
	// Output: dpm-3: 5 steps (15 evaluations), karras rho 7 schedule, noise prediction
}

// No allocation per step: a run of 400 steps (or a tolerance 1000 times
// tighter, about 5 times the steps, for dpm-adaptive) allocates no more than
// one of 40 steps, but for the per-call plan (a dpmStep per grid step, in a
// few slices) and the 8 of slack TestNoAllocationPerStep explains.
func TestDPMNoAllocationPerStep(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so allocations are not counted")
	}
	s := sde.NewVP()
	for _, name := range []string{"dpm-2", "dpm-3", "dpmpp-2s", "dpm-adaptive"} {
		allocs := func(steps int, tol string) float64 {
			opts := map[string]string{"steps": fmt.Sprint(steps)}
			if name == "dpm-adaptive" {
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
		a, b := allocs(40, "1e-3"), allocs(400, "1e-6")
		if b > a+8 {
			t.Errorf("%s: %v allocations for the short run, %v for the long one", name, a, b)
		}
	}
}
