package sample

import (
	"context"
	"fmt"
	"math"
)

// The multistep exponential integrators of DPM-Solver++ (Lu et al. 2022,
// "DPM-Solver++: fast solver for guided sampling of diffusion probabilistic
// models", arXiv 2211.01095): dpmpp-2m, dpmpp-3m and dpmpp-2m-sde.
//
// With alpha = c(t), sigma = s(t) and lambda = log(alpha/sigma) the
// probability-flow ODE is solved exactly in its linear part (DPM-Solver
// eq. 3.4 for the noise prediction; DPM-Solver++ section 4 for the data
// prediction). From s to t, with h = lambda_t - lambda_s > 0,
//
//	data:  x_t = (sigma_t/sigma_s) x_s + alpha_t int_0^h e^{-(h-u)} x0(lambda_s + u) du
//	noise: x_t = (alpha_t/alpha_s) x_s - sigma_t int_0^h e^{+(h-u)} eps(lambda_s + u) du
//
// where x0 = (x + sigma^2 score)/alpha is the data prediction and eps =
// -sigma score the noise prediction. Writing the model output as a Taylor
// series in u, the integral is sum_k J_k f^(k)(lambda_s) with
//
//	J_k = int_0^h e^{-+(h-u)} u^k/k! du = h^(k+1) phi_(k+1)(-+h),
//	phi_0(z) = e^z, phi_(k+1)(z) = (phi_k(z) - 1/k!)/z
//
// (Hochbruck and Ostermann's phi functions; J_0 = 1 - e^{-h} for data,
// e^h - 1 for noise). A multistep method replaces the derivatives by
// divided differences of the model outputs at the previous grid points, so
// one step costs one evaluation. Every step is then the same linear
// combination
//
//	x_t = ratio x_s + scale sum_j w_j m_j,   m_j = model output at grid point k-1-j,
//
// with ratio, scale = sigma_t/sigma_s, alpha_t (data) or alpha_t/alpha_s,
// -sigma_t (noise), and weights w_j that depend on the grid's lambdas only:
// the plans compute them once in Prepare.
//
// Warm-up and final steps (the rule of the reference implementation
// dpm_solver_pytorch.py, multistep with lower_order_final): step k of n (k =
// 1..n) has order min(p, k), the history available; when n < 10 the order
// is further lowered to min(p, n+1-k) on the final steps, which the authors
// found to stabilise sampling with very few steps. From 10 steps on every
// step after the warm-up has the full order.

// DefaultMultisteps is the default number of steps of the multistep
// samplers: 20 steps, 20 score evaluations, the papers' budget for images.
const DefaultMultisteps = 20

// lowerOrderBelow is the number of steps under which the final steps use a
// lower order (the reference's lower_order_final rule).
const lowerOrderBelow = 10

// DPMPP2M is DPM-Solver++(2M) (Lu et al. 2022, DPM-Solver++, Algorithm 2):
// second-order multistep, one evaluation a step. With r = h_prev/h,
//
//	x_t = ratio x_s + scale J_0 ((1 + 1/(2r)) m_0 - m_1/(2r)),
//
// the exact integral of a constant model output equal to the linear
// extrapolation of m_1, m_0 to the middle of the step, lambda_s + h/2
// (Algorithm 2's D_i); the first step is first order (DDIM). In noise
// prediction it is the multistep DPM-Solver-2 of the same paper (appendix;
// the reference's multistep 'dpmsolver' type).
type DPMPP2M struct {
	// Steps is the number of steps (= score evaluations); 0 selects 20.
	Steps int
	// Prediction is "data" (DPM-Solver++, the default) or "noise"
	// (DPM-Solver).
	Prediction string
	// Grid is the spacing of the steps; default logsnr (uniform in lambda,
	// DPM-Solver's choice for low-resolution data, section 3.3).
	Grid
}

// DPMPP3M is DPM-Solver++(3M): third-order multistep, one evaluation a
// step, with a first- and a second-order (2M) warm-up step. Through the
// outputs m_0, m_1, m_2 at lambda_0 > lambda_1 > lambda_2 (the last three
// grid points) it integrates their quadratic interpolant P exactly:
//
//	x_t = ratio x_s + scale (J_0 m_0 + J_1 P1 + J_2 P2),
//	P1 = dP/dlambda(lambda_0) = f[0,1] + f[0,1,2] (lambda_0 - lambda_1),
//	P2 = d2P/dlambda2 = 2 f[0,1,2]
//
// (Newton's divided differences). The reference implementation
// (dpm_solver_pytorch.py, multistep_dpm_solver_third_update; k-diffusion's
// sample_dpmpp_3m_sde likewise) multiplies its D2 = h^2 f[0,1,2] = h^2 P2/2
// by -phi_3 = J_2/h^2: J_2 P2/2, half the term above. That update is not
// exact for a quadratic; its error, about h^3 P2/12 a step, makes it second
// order as the steps shrink (on one Gaussian coordinate, std 0.2, under VP
// on the logsnr grid: global errors 3.7e-4, 8.2e-5, 2.0e-5, 4.9e-6 at 40,
// 80, 160, 320 steps, orders 2.2, 2.1, 2.0; with the full weight 5.7e-5,
// 3.9e-6, 2.9e-7, 2.5e-8). This one is third order
// (TestMultistepUpdatesExact tells the two apart).
type DPMPP3M struct {
	// Steps is the number of steps (= score evaluations); 0 selects 20.
	Steps int
	// Prediction is "data" (the default) or "noise".
	Prediction string
	// Grid is the spacing of the steps; default logsnr.
	Grid
}

// DPMPP2MSDE is DPM-Solver++(2M) SDE (Lu et al. 2022, DPM-Solver++
// appendix; the dpm-solver repository's SDE-DPM-Solver++ and k-diffusion's
// sample_dpmpp_2m_sde with its 'midpoint' solver): the reverse SDE
// dx = [a x - g^2 score] dt + g dw in data prediction, whose linear part and
// noise are exact,
//
//	x_t = (sigma_t/sigma_s) e^{-h} x_s + alpha_t (1 - e^{-2h}) D + sigma_t sqrt(1 - e^{-2h}) z,
//	D = (1 + 1/(2r)) m_0 - m_1/(2r)   (D = m_0 on the first step),
//
// 2 int_0^h e^{-2(h-u)} du = 1 - e^{-2h} being the weight of a constant
// data prediction. The noise is b.Noise's increment over [t, s].
type DPMPP2MSDE struct {
	// Steps is the number of steps (= score evaluations); 0 selects 20.
	Steps int
	// Grid is the spacing of the steps; default logsnr.
	Grid
}

// Name returns "dpmpp-2m".
func (*DPMPP2M) Name() string { return "dpmpp-2m" }

// Name returns "dpmpp-3m".
func (*DPMPP3M) Name() string { return "dpmpp-3m" }

// Name returns "dpmpp-2m-sde".
func (*DPMPP2MSDE) Name() string { return "dpmpp-2m-sde" }

// Options returns steps, prediction, schedule and rho.
func (s *DPMPP2M) Options() []Option {
	return append([]Option{stepsOption(&s.Steps), predictionOption(&s.Prediction, PredictionData)}, s.gridOptions(ScheduleLogSNR)...)
}

// Options returns steps, prediction, schedule and rho.
func (s *DPMPP3M) Options() []Option {
	return append([]Option{stepsOption(&s.Steps), predictionOption(&s.Prediction, PredictionData)}, s.gridOptions(ScheduleLogSNR)...)
}

// Options returns steps, schedule and rho.
func (s *DPMPP2MSDE) Options() []Option {
	return append([]Option{stepsOption(&s.Steps)}, s.gridOptions(ScheduleLogSNR)...)
}

func stepsOption(p *int) Option {
	return IntOption(p, "steps", DefaultMultisteps, "number of steps (one score evaluation each)")
}

// prepareMultistep fills the shared defaults of a multistep sampler of the
// given order (typ: its Go type for errors; pred nil: data prediction only)
// and returns its grid.
func prepareMultistep(s Sampler, typ string, c *Config, steps *int, pred *string, g *Grid, order int) (marginalGrid, error) {
	if *steps == 0 {
		*steps = DefaultMultisteps
	}
	if *steps < order {
		return marginalGrid{}, optionErrorf(s, typ+".Steps", "steps", *steps, "a multistep method of order %d needs at least %d steps (0 selects %d)", order, order, DefaultMultisteps)
	}
	if pred != nil {
		if err := preparePrediction(s, typ+".Prediction", pred, PredictionData); err != nil {
			return marginalGrid{}, err
		}
	}
	if err := g.prepareGrid(s, typ, ScheduleLogSNR); err != nil {
		return marginalGrid{}, err
	}
	ts, err := g.Times(c.SDE, c.Eps, *steps)
	if err != nil {
		return marginalGrid{}, optionErrorf(s, typ+".Schedule", "schedule", g.Schedule, "%v", err)
	}
	return newMarginalGrid(c.SDE, ts), nil
}

// Prepare fills the defaults and builds the plan.
func (s *DPMPP2M) Prepare(c *Config) (Plan, error) {
	g, err := prepareMultistep(s, "DPMPP2M", c, &s.Steps, &s.Prediction, &s.Grid, 2)
	if err != nil {
		return nil, err
	}
	return newDPMMultiPlan(c, g, 2, s.Prediction == PredictionData), nil
}

// Prepare fills the defaults and builds the plan.
func (s *DPMPP3M) Prepare(c *Config) (Plan, error) {
	g, err := prepareMultistep(s, "DPMPP3M", c, &s.Steps, &s.Prediction, &s.Grid, 3)
	if err != nil {
		return nil, err
	}
	return newDPMMultiPlan(c, g, 3, s.Prediction == PredictionData), nil
}

// Prepare fills the defaults and builds the plan.
func (s *DPMPP2MSDE) Prepare(c *Config) (Plan, error) {
	g, err := prepareMultistep(s, "DPMPP2MSDE", c, &s.Steps, nil, &s.Grid, 2)
	if err != nil {
		return nil, err
	}
	return newDPMSDEPlan(c, g), nil
}

// Describe gives the steps, schedule and prediction.
func (s *DPMPP2M) Describe() string {
	return describeMultistep(s.Steps, 2, s.Prediction, s.Grid) + ", first step first order"
}

// Describe gives the steps, schedule and prediction.
func (s *DPMPP3M) Describe() string {
	return describeMultistep(s.Steps, 3, s.Prediction, s.Grid) + ", warm-up steps of order 1 and 2"
}

// Describe gives the steps and schedule.
func (s *DPMPP2MSDE) Describe() string {
	return describeMultistep(s.Steps, 2, PredictionData, s.Grid) + ", first step first order, noise of the reverse SDE"
}

func describeMultistep(steps, order int, pred string, g Grid) string {
	sched := g.Schedule
	if sched == ScheduleKarras {
		sched = fmt.Sprintf("karras rho %g", g.Rho)
	}
	d := fmt.Sprintf("%d steps (%d evaluations), %s schedule, %s prediction", steps, steps, sched, pred)
	if steps < lowerOrderBelow && steps > 1 {
		d += fmt.Sprintf(", lower order on the final %d step(s)", min(order, steps)-1)
	}
	return d
}

// stepOrder is the order of step k (1..n) of a multistep method of order p:
// the warm-up uses the history there is, and runs of fewer than
// lowerOrderBelow steps lower the order of their final steps (see the top
// of this file).
func stepOrder(p, k, n int) int {
	q := min(p, k)
	if n < lowerOrderBelow {
		q = min(q, n+1-k)
	}
	return max(q, 1)
}

// msPhis returns phi_0(z) .. phi_4(z) (phi_0 = e^z). For |z| < 1 it sums
// the series phi_k(z) = sum_j z^j/(j+k)! (30 terms: the remainder is below
// 1/31! ~ 1e-34); beyond, the recursion phi_(k+1) = (phi_k - 1/k!)/z, which
// then loses at most a few ulps a level to cancellation.
func msPhis(z float64) [5]float64 {
	var p [5]float64
	p[0] = math.Exp(z)
	if math.Abs(z) < 1 {
		fact := 1.0 // k!
		for k := 1; k <= 4; k++ {
			fact *= float64(k)
			term, sum := 1/fact, 0.0
			for j := 0; j < 30; j++ {
				sum += term
				term *= z / float64(j+k+1)
			}
			p[k] = sum
		}
		return p
	}
	p[1] = math.Expm1(z) / z
	fact := 1.0
	for k := 1; k < 4; k++ {
		p[k+1] = (p[k] - 1/fact) / z
		fact *= float64(k + 1)
	}
	return p
}

// expInts returns J_0 .. J_3 of a step of size h (see the top of this
// file): J_k = h^(k+1) phi_(k+1)(-h) in data prediction, phi_(k+1)(h) in
// noise prediction.
func expInts(h float64, data bool) [4]float64 {
	z := h
	if data {
		z = -h
	}
	p := msPhis(z)
	var j [4]float64
	hk := h
	for k := range j {
		j[k] = hk * p[k+1]
		hk *= h
	}
	return j
}

// msStep is one step from grid point k-1 to k of a multistep plan:
// x_k = ratio x_{k-1} + sum_j w[j] m_{k-1-j} (scale folded into w).
type msStep struct {
	ratio float64
	w     []float64
	// noise is the standard deviation of the step's noise (SDE plans).
	noise float64
}

// linearPart returns ratio and scale of the step from grid point k-1 to k.
func (g *marginalGrid) linearPart(k int, data bool) (ratio, scale float64) {
	if data {
		return g.sigma[k] / g.sigma[k-1], g.alpha[k]
	}
	return g.alpha[k] / g.alpha[k-1], -g.sigma[k]
}

// dpmWeights returns the weights (without scale) of the model outputs m_0,
// m_1, ... (at grid points k-1, k-2, ...) of the order-q DPM-Solver step
// from grid point k-1 to k: q = 1 the first-order step, q = 2 Algorithm 2,
// q = 3 the quadratic interpolant integrated exactly.
func dpmWeights(g *marginalGrid, k, q int, data bool) []float64 {
	l := g.lambda
	h := l[k] - l[k-1]
	J := expInts(h, data)
	switch q {
	case 1:
		return []float64{J[0]}
	case 2:
		r := (l[k-1] - l[k-2]) / h
		return []float64{J[0] * (1 + 0.5/r), -J[0] * 0.5 / r}
	}
	// The quadratic through (l0, m0), (l1, m1), (l2, m2) in Newton form:
	// J0 m0 + J1 (f01 + f012 d1) + J2 2 f012 = J0 m0 + A f01 + B f012,
	// f01 = (m0 - m1)/d1, f012 = ((m0 - m1)/d1 - (m1 - m2)/d2)/(d1 + d2).
	d1, d2 := l[k-1]-l[k-2], l[k-2]-l[k-3]
	A, B := J[1], J[1]*d1+2*J[2]
	e0 := B / (d1 * (d1 + d2))
	e2 := B / (d2 * (d1 + d2))
	return []float64{J[0] + A/d1 + e0, -A/d1 - e0 - e2, e2}
}

// dpmMultiPlan is a prepared dpmpp-2m or dpmpp-3m.
type dpmMultiPlan struct {
	g        marginalGrid
	order    int
	data     bool
	steps    []msStep
	priorStd float64
}

func newDPMMultiPlan(c *Config, g marginalGrid, order int, data bool) *dpmMultiPlan {
	n := len(g.t) - 1
	pl := &dpmMultiPlan{g: g, order: order, data: data, priorStd: c.SDE.PriorStd()}
	for k := 1; k <= n; k++ {
		ratio, scale := g.linearPart(k, data)
		w := dpmWeights(&g, k, stepOrder(order, k, n), data)
		for j := range w {
			w[j] *= scale
		}
		pl.steps = append(pl.steps, msStep{ratio: ratio, w: w})
	}
	return pl
}

func (pl *dpmMultiPlan) PriorStd() float64 { return pl.priorStd }
func (pl *dpmMultiPlan) Path() []float64   { return pl.g.t }

// Run keeps the model outputs of the last `order` grid points in a ring of
// scratch slices: the output at grid point i lives in slot i mod order.
func (pl *dpmMultiPlan) Run(ctx context.Context, b *Block) error {
	m, n := b.M(), b.M()*b.D
	x := b.X
	score := b.Scratch(0, n)
	var ring [3][]float64
	for i := 0; i < pl.order; i++ {
		ring[i] = b.Scratch(1+i, n)
	}
	g := &pl.g
	var hist [3][]float64
	for k := 1; k <= len(pl.steps); k++ {
		if err := Stopped(ctx); err != nil {
			return err
		}
		cur := ring[(k-1)%pl.order]
		predictTo(b, cur, score, x, g.t[k-1], g.alpha[k-1], g.sigma[k-1], pl.data, 0, m)
		st := &pl.steps[k-1]
		for j := range st.w {
			hist[j] = ring[(k-1-j)%pl.order]
		}
		msCombine(x, x, st.ratio, st.w, hist[:len(st.w)])
		if err := b.NonFinite(x, g.t[k]); err != nil {
			return err
		}
		b.Save(k, x)
	}
	b.AddNFE(len(pl.steps))
	return nil
}

// msCombine writes dst = ratio x + sum_j w[j] v[j] elementwise (dst may be x).
// Up to five terms are summed in one pass, each value read once and dst
// written once: with a cheap score the combination is most of a multistep
// sampler's time (term by term it was 60 % of UniPC-3's on gauss:64,
// BenchmarkGauss64UniPC), and a pass per term read and wrote dst each time.
func msCombine(dst, x []float64, ratio float64, w []float64, v [][]float64) {
	n := len(dst)
	x = x[:n]
	switch len(w) {
	case 1:
		a := v[0][:n]
		for i := range dst {
			dst[i] = ratio*x[i] + w[0]*a[i]
		}
	case 2:
		a, b := v[0][:n], v[1][:n]
		for i := range dst {
			dst[i] = ratio*x[i] + w[0]*a[i] + w[1]*b[i]
		}
	case 3:
		a, b, c := v[0][:n], v[1][:n], v[2][:n]
		for i := range dst {
			dst[i] = ratio*x[i] + w[0]*a[i] + w[1]*b[i] + w[2]*c[i]
		}
	case 4:
		a, b, c, d := v[0][:n], v[1][:n], v[2][:n], v[3][:n]
		for i := range dst {
			dst[i] = ratio*x[i] + w[0]*a[i] + w[1]*b[i] + w[2]*c[i] + w[3]*d[i]
		}
	default:
		a, b, c, d, e := v[0][:n], v[1][:n], v[2][:n], v[3][:n], v[4][:n]
		for i := range dst {
			dst[i] = ratio*x[i] + w[0]*a[i] + w[1]*b[i] + w[2]*c[i] + w[3]*d[i] + w[4]*e[i]
		}
		for j := 5; j < len(w); j++ {
			vj, wj := v[j][:n], w[j]
			for i := range dst {
				dst[i] += wj * vj[i]
			}
		}
	}
}

// dpmSDEPlan is a prepared dpmpp-2m-sde.
type dpmSDEPlan struct {
	g        marginalGrid
	steps    []msStep
	priorStd float64
}

// sdeStep returns the step from grid point k-1 to k of dpmpp-2m-sde of
// order q (1: D = m_0; 2: the midpoint D of Algorithm 2), scale folded in.
func sdeStep(g *marginalGrid, k, q int) msStep {
	h := g.lambda[k] - g.lambda[k-1]
	e := -math.Expm1(-2 * h) // 1 - e^{-2h}
	st := msStep{ratio: g.sigma[k] / g.sigma[k-1] * math.Exp(-h), noise: g.sigma[k] * math.Sqrt(e)}
	a := g.alpha[k] * e
	if q == 1 {
		st.w = []float64{a}
		return st
	}
	r := (g.lambda[k-1] - g.lambda[k-2]) / h
	st.w = []float64{a * (1 + 0.5/r), -a * 0.5 / r}
	return st
}

func newDPMSDEPlan(c *Config, g marginalGrid) *dpmSDEPlan {
	n := len(g.t) - 1
	pl := &dpmSDEPlan{g: g, priorStd: c.SDE.PriorStd()}
	for k := 1; k <= n; k++ {
		pl.steps = append(pl.steps, sdeStep(&g, k, stepOrder(2, k, n)))
	}
	return pl
}

func (pl *dpmSDEPlan) PriorStd() float64 { return pl.priorStd }
func (pl *dpmSDEPlan) Path() []float64   { return pl.g.t }

func (pl *dpmSDEPlan) Run(ctx context.Context, b *Block) error {
	m, n := b.M(), b.M()*b.D
	x := b.X
	score, z := b.Scratch(0, n), b.Scratch(1, n)
	ring := [2][]float64{b.Scratch(2, n), b.Scratch(3, n)}
	g := &pl.g
	var hist [2][]float64
	for k := 1; k <= len(pl.steps); k++ {
		if err := Stopped(ctx); err != nil {
			return err
		}
		predictTo(b, ring[(k-1)%2], score, x, g.t[k-1], g.alpha[k-1], g.sigma[k-1], true, 0, m)
		b.Noise.Increment(z, 0, m, g.t[k-1], g.t[k])
		b.Noise.Next()
		st := &pl.steps[k-1]
		for j := range st.w {
			hist[j] = ring[(k-1-j)%2]
		}
		msCombine(x, x, st.ratio, st.w, hist[:len(st.w)])
		for i := range x {
			x[i] += st.noise * z[i]
		}
		if err := b.NonFinite(x, g.t[k]); err != nil {
			return err
		}
		b.Save(k, x)
	}
	b.AddNFE(len(pl.steps))
	return nil
}
