package sample

import (
	"context"
	"fmt"
	"math"

	"github.com/sdekit/sdekit/sde"
)

// The singlestep DPM-Solvers: DPM-Solver-2 and -3 (Lu, Zhou, Bao, Chen, Li
// and Zhu 2022, "DPM-Solver: a fast ODE solver for diffusion probabilistic
// model sampling in around 10 steps", NeurIPS; Algorithms 1 and 2) and
// DPM-Solver++(2S) (Lu et al. 2022, "DPM-Solver++: fast solver for guided
// sampling of diffusion probabilistic models", section 4.1, Algorithm 1).
//
// Every SDE here has an affine drift, so x_t = alpha_t x_0 + sigma_t z and
// the probability flow is a semi-linear ODE. In lambda = log(alpha/sigma)
// (which rises as t falls) its linear part integrates exactly, and the
// solution from s to t, with h = lambda_t - lambda_s > 0, is (DPM-Solver,
// Proposition 3.1, eq. 3.4; DPM-Solver++, section 4.1)
//
//	noise form:  x_t = (alpha_t/alpha_s) x_s - alpha_t int_{lambda_s}^{lambda_t} e^{-lambda} eps(x_lambda, lambda) dlambda
//	data form:   x_t = (sigma_t/sigma_s) x_s + sigma_t int_{lambda_s}^{lambda_t} e^{+lambda} x0(x_lambda, lambda) dlambda
//
// with the model's noise prediction eps = -sigma score and data prediction
// x0 = (x + sigma^2 score)/alpha (Tweedie's formula; predictTo). The two
// forms are one formula with the roles of alpha and sigma exchanged and h
// negated: write k (the kept factor: alpha for noise, sigma for data), m
// (the other), g = +h (noise) or -h (data), and p the prediction. Then with
//
//	phi1(g) = e^g - 1,     phi2(g) = (e^g - 1)/g - 1,
//
// and D_j = p(u_j, s_j) - p(x_s, s) the change of the prediction at the
// intermediate point s_j (lambda_{s_j} = lambda_s + r_j h), the updates are
//
//	order 1 (DDIM):        x_t = (k_t/k_s) x_s - m_t phi1(g) p_s
//	order 2 (Alg. 1):      x_t = (k_t/k_s) x_s - m_t phi1(g) p_s - m_t phi1(g)/(2 r1) D_1
//	order 3 (Alg. 2):      x_t = (k_t/k_s) x_s - m_t phi1(g) p_s - m_t phi2(g)/r2 D_2
//
// with the intermediate states
//
//	u_1 = (k_{s1}/k_s) x_s - m_{s1} phi1(r1 g) p_s                             (order 1 to s1)
//	u_2 = (k_{s2}/k_s) x_s - m_{s2} phi1(r2 g) p_s - m_{s2} (r2/r1) phi2(r2 g) D_1  (to s2, order 3 only)
//
// In the data form the order-2 update is DPM-Solver++(2S)'s
// x_t = (sigma_t/sigma_s) x_s - alpha_t (e^{-h} - 1) ((1 - 1/(2r)) x0_s + 1/(2r) x0(u_1)),
// so dpm-2 with -prediction data is dpmpp-2s (r = 1/2 in both).
//
// Which polynomials each update integrates exactly. Take a prediction that
// does not depend on x and is a polynomial in lambda along the step,
// p = a + b (lambda - lambda_s) + c (lambda - lambda_s)^2. Integrating the
// terms, the exact step is, in both forms,
//
//	x_t = (k_t/k_s) x_s - m_t (phi1(g) a + h phi2(g) b + ...),
//
// and D_j = b r_j h (+ c (r_j h)^2), so:
//   - order 1 and u_1 are exact for degree 0 (a constant prediction);
//   - order 2 (the papers' form, any r1) is exact for degree 0 only: it
//     stands phi1(g) h/2 for the exact h phi2(g) of the linear term, a
//     defect of m_t b h^3/12 + O(h^4); its local error is still O(h^3), so
//     its global order is 2. (The papers' "taylor" variant,
//     m_t phi2(g)/r1 D_1, would be exact for degree 1; the papers recommend
//     the form used here.)
//   - u_2 is exact for degree 1 (its D_1 term is the linear term's exact
//     integral over [s, s2] when D_1 = r1 h b);
//   - order 3 is exact for degree 1 (its D_2 term is the exact linear term),
//     not for degree 2: the defect of c (lambda - lambda_s)^2 is
//     O(c m_t h^4) (h^4/36 at r2 = 2/3), so its global order is 3.
// dpmsolver_test.go checks each statement, defects included, against the
// closed-form integrals.
//
// The singlestep solvers take Steps steps on a Grid and evaluate the model
// `order` times a step, at s, s1 and (order 3) s2; r1 = 1/2 for order 2 (the
// midpoint in lambda), r1 = 1/3 and r2 = 2/3 for order 3 (the papers'
// choices). Their default schedule is uniform in log-SNR, which the
// DPM-Solver paper recommends for low-resolution data (section 3.3 and
// appendix; time-uniform or time-quadratic for high-resolution images):
// our data are low-dimensional.

// The two forms of the exponential integrators.
const (
	PredictionNoise = "noise"
	PredictionData  = "data"
)

// dpmPhi1 is phi1(g) = e^g - 1.
func dpmPhi1(g float64) float64 { return math.Expm1(g) }

// dpmPhi2 is phi2(g) = (e^g - 1)/g - 1 = sum_{n>=1} g^n/(n+1)!. Below
// |g| = 0.1 the direct form cancels (e^g - 1 - g ~ g^2/2 against an
// expm1 rounding of order ulp(g)), so it sums ten terms of the series there:
// the first one left out is below 1e-17 of the sum.
func dpmPhi2(g float64) float64 {
	if math.Abs(g) >= 0.1 {
		return math.Expm1(g)/g - 1
	}
	// Horner on g (1/2! + g (1/3! + g (1/4! + ...))).
	s := 0.0
	for n := 11; n >= 2; n-- {
		s = g*s + 1/factorial(n)
	}
	return g * s
}

func factorial(n int) float64 {
	f := 1.0
	for k := 2; k <= n; k++ {
		f *= float64(k)
	}
	return f
}

// dpmUpdate is one linear update of the singlestep solvers,
//
//	x' = A x - B p_s - C (p_j - p_s),
//
// from the state x at s, its prediction p_s and the prediction p_j at one
// intermediate point (C = 0 for a first-order update).
type dpmUpdate struct{ A, B, C float64 }

// apply writes the update into dst[lo:hi] (dst may be x); pj is unused when
// C = 0.
func (u dpmUpdate) apply(dst, x, ps, pj []float64, lo, hi int) {
	if u.C == 0 {
		for i := lo; i < hi; i++ {
			dst[i] = u.A*x[i] - u.B*ps[i]
		}
		return
	}
	for i := lo; i < hi; i++ {
		dst[i] = u.A*x[i] - u.B*ps[i] - u.C*(pj[i]-ps[i])
	}
}

// dpmStep is one singlestep step from s to t: the times of its evaluations
// and the marginal there (index 0: s, 1: s1, 2: s2, 3: t, where no
// evaluation happens), the intermediate updates u1 and u2, and the final
// update of each order (fin[1..3]; fin[0] unused). The adaptive solver takes
// the lower-order solution from fin[order-1] with the same evaluations.
type dpmStep struct {
	t, alpha, sigma [4]float64
	u1, u2          dpmUpdate
	fin             [4]dpmUpdate
}

// dpmCoefs fills the updates of st from the marginals at its four times,
// for a step of h = lambda_t - lambda_s with intermediate fractions r1 and
// r2 of h (r2 = 0: no third-order updates) in the data or noise form (see
// the top of this file).
func (st *dpmStep) dpmCoefs(data bool, h, r1, r2 float64) {
	k, m, g := st.alpha, st.sigma, h
	if data {
		k, m, g = st.sigma, st.alpha, -h
	}
	st.u1 = dpmUpdate{A: k[1] / k[0], B: m[1] * dpmPhi1(r1*g)}
	A, B := k[3]/k[0], m[3]*dpmPhi1(g)
	st.fin[1] = dpmUpdate{A: A, B: B}
	st.fin[2] = dpmUpdate{A: A, B: B, C: B / (2 * r1)}
	if r2 > 0 {
		st.u2 = dpmUpdate{A: k[2] / k[0], B: m[2] * dpmPhi1(r2*g), C: m[2] * r2 / r1 * dpmPhi2(r2*g)}
		st.fin[3] = dpmUpdate{A: A, B: B, C: m[3] * dpmPhi2(g) / r2}
	}
}

// newDPMStep builds the step from time ts (lambda_s = lamS) over h in
// lambda to te (the caller's time for lambda_s + h: a grid time, or eps
// exactly on the last step), with its intermediate times at lambda_s + r1 h
// and lambda_s + r2 h (order 3).
func newDPMStep(s sde.SDE, data bool, order int, r1, r2, ts, lamS, h, te float64) dpmStep {
	var st dpmStep
	st.t[0], st.t[3] = ts, te
	st.t[1] = sde.TimeAtLogSNR(s, lamS+r1*h)
	if order == 3 {
		st.t[2] = sde.TimeAtLogSNR(s, lamS+r2*h)
	} else {
		st.t[2] = st.t[1]
	}
	for i, t := range st.t {
		st.alpha[i], st.sigma[i] = s.Marginal(t)
	}
	st.dpmCoefs(data, h, r1, r2)
	return st
}

// singlestepSpec is what tells dpm-2, dpm-3 and dpmpp-2s apart.
type singlestepSpec struct {
	name, typ  string // sampler name, Go type name (for errors)
	order      int
	r1, r2     float64
	steps      int    // default steps (about 20 evaluations)
	prediction string // default form
}

var (
	specDPM2   = singlestepSpec{"dpm-2", "DPMSolver2", 2, 0.5, 0, 10, PredictionNoise}
	specDPM3   = singlestepSpec{"dpm-3", "DPMSolver3", 3, 1.0 / 3, 2.0 / 3, 7, PredictionNoise}
	specDPMPP2 = singlestepSpec{"dpmpp-2s", "DPMSolverPP2S", 2, 0.5, 0, 10, PredictionData}
)

// singlestep holds the options the three singlestep samplers share.
type singlestep struct {
	// Steps is the number of steps; 0 selects the sampler's default
	// (about 20 evaluations).
	Steps int
	// Prediction is the form: "noise" (eps_theta, DPM-Solver) or "data"
	// (x0_theta, DPM-Solver++); "" selects the sampler's default.
	Prediction string
	// Grid is the time grid (default: uniform in log-SNR).
	Grid
}

// predictionOption is the option -prediction.
func predictionOption(p *string, def string) Option {
	return Option{Name: "prediction", Default: def, Usage: "model form of an exponential integrator: noise (eps prediction, DPM-Solver) or data (x0 prediction, DPM-Solver++)", Set: func(s string) error {
		if s != PredictionNoise && s != PredictionData {
			return fmt.Errorf("%q is unknown; use noise or data", s)
		}
		*p = s
		return nil
	}}
}

// preparePrediction fills the default form and checks it.
func preparePrediction(s Sampler, field string, p *string, def string) error {
	if *p == "" {
		*p = def
	}
	if *p != PredictionNoise && *p != PredictionData {
		return optionErrorf(s, field, "prediction", *p, "unknown model form; use noise or data")
	}
	return nil
}

func (o *singlestep) options(sp singlestepSpec) []Option {
	return append([]Option{
		IntOption(&o.Steps, "steps", sp.steps, fmt.Sprintf("number of steps (%d score evaluations each)", sp.order)),
		predictionOption(&o.Prediction, sp.prediction),
	}, o.gridOptions(ScheduleLogSNR)...)
}

func (o *singlestep) prepare(s Sampler, sp singlestepSpec, c *Config) (Plan, error) {
	if o.Steps == 0 {
		o.Steps = sp.steps
	}
	if o.Steps < 1 {
		return nil, optionErrorf(s, sp.typ+".Steps", "steps", o.Steps, "use >= 1 steps (0 selects %d)", sp.steps)
	}
	if err := preparePrediction(s, sp.typ+".Prediction", &o.Prediction, sp.prediction); err != nil {
		return nil, err
	}
	if err := o.prepareGrid(s, sp.typ+".Grid", ScheduleLogSNR); err != nil {
		return nil, err
	}
	ts, err := o.Times(c.SDE, c.Eps, o.Steps)
	if err != nil {
		return nil, optionErrorf(s, sp.typ+".Steps", "steps", o.Steps, "%v", err)
	}
	g := newMarginalGrid(c.SDE, ts)
	if l := g.lambda[len(ts)-1]; math.IsInf(l, 0) || math.IsNaN(l) || math.IsInf(g.lambda[0], 0) {
		return nil, fmt.Errorf("sample: %s needs a finite lambda = log(alpha/sigma) at T and eps (sigma > 0); the %s SDE has %v at T and %v at eps = %v", sp.name, c.SDE.Name(), g.lambda[0], l, c.Eps)
	}
	pl := &singlestepPlan{prior: c.SDE.PriorStd(), order: sp.order, data: o.Prediction == PredictionData, path: ts}
	pl.steps = make([]dpmStep, o.Steps)
	for k := range pl.steps {
		h := g.lambda[k+1] - g.lambda[k]
		pl.steps[k] = newDPMStep(c.SDE, pl.data, sp.order, sp.r1, sp.r2, ts[k], g.lambda[k], h, ts[k+1])
	}
	return pl, nil
}

func (o *singlestep) describe(sp singlestepSpec) string {
	sched := o.Schedule
	if sched == ScheduleKarras {
		sched = fmt.Sprintf("karras rho %g", o.Rho)
	}
	return fmt.Sprintf("%d steps (%d evaluations), %s schedule, %s prediction", o.Steps, sp.order*o.Steps, sched, o.Prediction)
}

// DPMSolver2 is DPM-Solver-2 (Lu et al. 2022, Algorithm 1 with r1 = 1/2,
// the midpoint in lambda): two evaluations a step, global order 2. With
// Prediction "data" it is DPM-Solver++(2S) (DPMSolverPP2S).
type DPMSolver2 struct{ singlestep }

// Name returns "dpm-2".
func (*DPMSolver2) Name() string { return specDPM2.name }

// Options returns steps, prediction, schedule and rho.
func (s *DPMSolver2) Options() []Option { return s.options(specDPM2) }

// Prepare fills the defaults (10 steps, noise prediction, logsnr) and
// builds the plan.
func (s *DPMSolver2) Prepare(c *Config) (Plan, error) { return s.prepare(s, specDPM2, c) }

// Describe gives the steps, schedule and form.
func (s *DPMSolver2) Describe() string { return s.describe(specDPM2) }

// DPMSolver3 is DPM-Solver-3 (Lu et al. 2022, Algorithm 2 with r1 = 1/3,
// r2 = 2/3): three evaluations a step, global order 3.
type DPMSolver3 struct{ singlestep }

// Name returns "dpm-3".
func (*DPMSolver3) Name() string { return specDPM3.name }

// Options returns steps, prediction, schedule and rho.
func (s *DPMSolver3) Options() []Option { return s.options(specDPM3) }

// Prepare fills the defaults (7 steps, noise prediction, logsnr) and builds
// the plan.
func (s *DPMSolver3) Prepare(c *Config) (Plan, error) { return s.prepare(s, specDPM3, c) }

// Describe gives the steps, schedule and form.
func (s *DPMSolver3) Describe() string { return s.describe(specDPM3) }

// DPMSolverPP2S is DPM-Solver++(2S) (Lu et al. 2022, DPM-Solver++,
// Algorithm 1 with r = 1/2): the data-prediction form of DPM-Solver-2, two
// evaluations a step, global order 2. With Prediction "noise" it is
// DPMSolver2.
type DPMSolverPP2S struct{ singlestep }

// Name returns "dpmpp-2s".
func (*DPMSolverPP2S) Name() string { return specDPMPP2.name }

// Options returns steps, prediction, schedule and rho.
func (s *DPMSolverPP2S) Options() []Option { return s.options(specDPMPP2) }

// Prepare fills the defaults (10 steps, data prediction, logsnr) and
// builds the plan.
func (s *DPMSolverPP2S) Prepare(c *Config) (Plan, error) { return s.prepare(s, specDPMPP2, c) }

// Describe gives the steps, schedule and form.
func (s *DPMSolverPP2S) Describe() string { return s.describe(specDPMPP2) }

// singlestepPlan is a prepared dpm-2, dpm-3 or dpmpp-2s.
type singlestepPlan struct {
	prior float64
	order int
	data  bool
	path  []float64
	steps []dpmStep
}

func (pl *singlestepPlan) PriorStd() float64 { return pl.prior }
func (pl *singlestepPlan) Path() []float64   { return pl.path }

func (pl *singlestepPlan) Run(ctx context.Context, b *Block) error {
	m, d := b.M(), b.D
	n := m * d
	x := b.X
	p0, p1, p2, u, sc := b.Scratch(0, n), b.Scratch(1, n), b.Scratch(2, n), b.Scratch(3, n), b.Scratch(4, n)
	for k := range pl.steps {
		if err := Stopped(ctx); err != nil {
			return err
		}
		st := &pl.steps[k]
		predictTo(b, p0, sc, x, st.t[0], st.alpha[0], st.sigma[0], pl.data, 0, m)
		st.u1.apply(u, x, p0, nil, 0, n)
		predictTo(b, p1, sc, u, st.t[1], st.alpha[1], st.sigma[1], pl.data, 0, m)
		if pl.order == 3 {
			st.u2.apply(u, x, p0, p1, 0, n)
			predictTo(b, p2, sc, u, st.t[2], st.alpha[2], st.sigma[2], pl.data, 0, m)
			st.fin[3].apply(x, x, p0, p2, 0, n)
		} else {
			st.fin[2].apply(x, x, p0, p1, 0, n)
		}
		b.AddNFE(pl.order)
		if err := b.NonFinite(x, st.t[3]); err != nil {
			return err
		}
		b.Save(k+1, x)
	}
	return nil
}
