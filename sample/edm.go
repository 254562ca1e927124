package sample

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/sdekit/sdekit/sde"
)

// The samplers of Karras, Aittala, Aila and Laine 2022 ("Elucidating the
// design space of diffusion-based generative models", EDM): edm-euler and
// edm-heun (Algorithm 1, deterministic) and edm-sde (Algorithm 2,
// stochastic).
//
// All three work in Karras' scaled variables, for every SDE. The marginal
// x_t = alpha(t) x_0 + s(t) z of an SDE with affine drift (alpha = c(t), s
// its std) scaled by 1/alpha is
//
//	x_hat = x/alpha = x_0 + sigma z,  sigma = s(t)/alpha(t) = exp(-lambda(t)) (sde.Sigma),
//
// the data convolved with N(0, sigma^2 I): Karras' p(x; sigma). Their
// probability-flow ODE (eq. 1 with eq. 3) in these variables, with sigma as
// the time variable, is
//
//	dx_hat/dsigma = -sigma grad log p(x_hat; sigma) = (x_hat - D(x_hat; sigma))/sigma,
//
// with the ideal denoiser D = x_hat + sigma^2 grad log p(x_hat; sigma) = E[x_0 | x_hat]
// (eq. 3). With grad_x_hat = alpha grad_x, D is the data prediction of the
// exponential integrators, D = (x + s^2 score(x, t))/alpha (Tweedie's formula;
// predictTo with data): one score evaluation at the t with sigma(t) = sigma.
// This is Karras' recommended choice sigma(t) = t, s(t) = 1 (section 3,
// "Trajectory curvature and noise schedule") applied to the data of any SDE:
// for the EDM SDE itself (alpha = 1, sigma = t) it is Algorithm 1 exactly;
// for VP, sub-VP and VE the same steps in sigma give the same samplers the
// paper runs on the pretrained VP and VE models (their Table 1, "Ours" row).
//
// Euler in the scaled variables is DDIM (Song et al. 2020, eta = 0): one step
// from sigma_i to sigma_j is x_hat_j = D + sigma_j (x_hat_i - D)/sigma_i, i.e.
// x_j = alpha_j D + s_j eps_hat with eps_hat = (x_i - alpha_i D)/s_i: DDIM
// makes the same choice sigma(t) = t, s(t) = 1, as Karras et al. observe in
// section 3.
//
// The last step. Karras' grid ends at sigma_N = 0 after sigma_min, and
// Algorithm 1 skips Heun's correction on that step (the ODE's slope at
// sigma = 0 is undefined): their N steps cost 2N - 1 evaluations (the
// README of NVlabs/edm: 256 steps, NFE 511). Our grid ends at t = eps > 0
// (Config.Eps; sigma_min = 0.002 for EDM) and has no final jump to sigma = 0,
// so the correction applies on every step: edm-heun and edm-sde cost 2N
// evaluations per row for N steps, edm-euler N. Their "18 steps" (CIFAR-10)
// are 17 steps from sigma_max to sigma_min and one Euler step to 0; ours are
// 18 Heun steps from sigma(T) to sigma(eps).

// DefaultEDMSteps is the paper's CIFAR-10 setting (18 steps, 35 evaluations
// in their counting, which skips the last correction).
const DefaultEDMSteps = 18

// The defaults of edm-sde's stochasticity (Algorithm 2). Karras et al. tune
// them per data set (appendix); these are the settings the NVlabs/edm
// README gives for their ImageNet-64 model (S_churn 40, S_tmin 0.05, S_tmax
// 50, S_noise 1.003, with 256 steps). S_churn = 0 would make
// edm-sde edm-heun; 40 is a documented non-zero choice in the paper's
// spirit. With fewer than 40/(sqrt(2) - 1) ~ 97 steps, gamma = S_churn/N is
// at its cap sqrt(2) - 1 (each churn at most doubles the noise variance).
const (
	DefaultChurn      = 40
	DefaultChurnTMin  = 0.05
	DefaultChurnTMax  = 50
	DefaultNoiseScale = 1.003
)

// EDMEuler is Euler's method on the scaled probability-flow ODE in sigma
// (Algorithm 1 without the correction): N score evaluations per row for N
// steps, order 1.
type EDMEuler struct {
	Grid
	// Steps is the number N of steps; 0 selects 18.
	Steps int
}

// EDMHeun is Heun's method (explicit trapezoidal rule) on the scaled
// probability-flow ODE in sigma (Algorithm 1): 2N score evaluations per row
// for N steps, order 2.
type EDMHeun struct {
	Grid
	// Steps is the number N of steps; 0 selects 18.
	Steps int
}

// EDMStochastic is Karras et al.'s stochastic sampler (Algorithm 2): before
// each Heun step from sigma_i, when S_tmin <= sigma_i <= S_tmax, the noise
// level is raised to sigma_hat = sigma_i (1 + gamma), gamma = min(S_churn/N,
// sqrt(2) - 1), by adding fresh noise of std sqrt(sigma_hat^2 - sigma_i^2)
// S_noise to x_hat; the Heun step then goes from sigma_hat to sigma_{i+1}.
// 2N score evaluations per row for N steps.
//
// With an exact score the churn does not pay at few steps: each churned
// Heun step is longer (from sigma_hat, not sigma_i) and its error is not
// undone. On Gaussian data at the default 18 steps (gamma at its cap) the
// output variance is 17-44% above the data's, against 6-21% for edm-heun;
// at 256 steps (gamma 0.16) it is within 0.5% (S_noise 1; the default
// 1.003 adds 0.6%). See TestEDMSDEMoments. Karras et al. use churn to
// correct a trained denoiser's errors, with many steps.
//
// sigma_hat is clamped to sigma(T): the score is not defined beyond T (for
// VE, sigma(T) = sigma_max = 50 lies inside the default churn window, so
// its first step is not churned). The noise levels S_tmin and S_tmax are in
// Karras' sigma = s/alpha, for every SDE.
type EDMStochastic struct {
	Grid
	// Steps is the number N of steps; 0 selects 18.
	Steps int
	// Churn is S_churn >= 0; nil selects 40. A pointer, because 0 is a
	// value of its own: no churn, edm-heun bit for bit.
	Churn *float64
	// TMin is S_tmin >= 0, the lowest sigma that is churned; nil selects
	// 0.05 (0 churns down to the last step).
	TMin *float64
	// TMax is S_tmax >= TMin, the highest sigma that is churned (+Inf: no
	// bound); 0 selects 50.
	TMax float64
	// NoiseScale is S_noise > 0, the factor on the churn's noise (slightly
	// above 1 offsets the detail a trained denoiser removes, section 4); 0
	// selects 1.003.
	NoiseScale float64
}

// Name returns "edm-euler".
func (*EDMEuler) Name() string { return "edm-euler" }

// Name returns "edm-heun".
func (*EDMHeun) Name() string { return "edm-heun" }

// Name returns "edm-sde".
func (*EDMStochastic) Name() string { return "edm-sde" }

func edmStepsOption(p *int) Option {
	return IntOption(p, "steps", DefaultEDMSteps, "number of steps N (grid intervals from T to eps)")
}

// Options returns steps, schedule and rho.
func (s *EDMEuler) Options() []Option {
	return append([]Option{edmStepsOption(&s.Steps)}, s.gridOptions(ScheduleKarras)...)
}

// Options returns steps, schedule and rho.
func (s *EDMHeun) Options() []Option {
	return append([]Option{edmStepsOption(&s.Steps)}, s.gridOptions(ScheduleKarras)...)
}

// floatPtrOption binds a *float64 field whose zero is a value of its own
// (nil selects def): "0" sets 0.
func floatPtrOption(p **float64, name string, def float64, usage string) Option {
	return Option{Name: name, Usage: usage, Default: strconv.FormatFloat(def, 'g', -1, 64), Set: func(s string) error {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		*p = new(v)
		return nil
	}}
}

// Options returns steps, schedule, rho, churn, tmin, tmax and noise-scale.
func (s *EDMStochastic) Options() []Option {
	o := append([]Option{edmStepsOption(&s.Steps)}, s.gridOptions(ScheduleKarras)...)
	return append(o,
		floatPtrOption(&s.Churn, "churn", DefaultChurn, "S_churn >= 0: noise added per step, gamma = min(churn/steps, sqrt(2) - 1); 0 is edm-heun"),
		floatPtrOption(&s.TMin, "tmin", DefaultChurnTMin, "S_tmin: the lowest noise level sigma = s(t)/c(t) that is churned"),
		FloatOption(&s.TMax, "tmax", DefaultChurnTMax, "S_tmax: the highest noise level sigma = s(t)/c(t) that is churned (inf: no bound)"),
		FloatOption(&s.NoiseScale, "noise-scale", DefaultNoiseScale, "S_noise > 0: the factor on the churn's noise"),
	)
}

// prepareEDM fills and checks the steps and the grid of one of the three
// samplers (field: its Go type name) and builds the deterministic part of
// the plan.
func prepareEDM(s Sampler, field string, g *Grid, steps *int, c *Config, heun bool) (*edmPlan, error) {
	if *steps == 0 {
		*steps = DefaultEDMSteps
	}
	if *steps < 1 {
		return nil, optionErrorf(s, field+".Steps", "steps", *steps, "use N >= 1 (0 selects %d)", DefaultEDMSteps)
	}
	if err := g.prepareGrid(s, field, ScheduleKarras); err != nil {
		return nil, err
	}
	ts, err := g.Times(c.SDE, c.Eps, *steps)
	if err != nil {
		return nil, optionErrorf(s, field+".Schedule", "schedule", g.Schedule, "%v", err)
	}
	pl := &edmPlan{sde: c.SDE, heun: heun, g: newMarginalGrid(c.SDE, ts), ks: make([]float64, len(ts))}
	for k := range ts {
		pl.ks[k] = pl.g.sigma[k] / pl.g.alpha[k]
		if !(pl.ks[k] > 0) || math.IsInf(pl.ks[k], 0) || !(pl.g.alpha[k] > 0) {
			return nil, fmt.Errorf("sample: %s needs the noise level sigma = s(t)/c(t) finite and > 0 on its grid; the %s SDE gives %v at t = %v", s.Name(), c.SDE.Name(), pl.ks[k], ts[k])
		}
	}
	pl.sigmaT = pl.ks[0]
	pl.nfe = *steps
	if heun {
		pl.nfe = 2 * *steps
	}
	return pl, nil
}

// Prepare fills the defaults and builds the plan.
func (s *EDMEuler) Prepare(c *Config) (Plan, error) {
	return prepareEDM(s, "EDMEuler", &s.Grid, &s.Steps, c, false)
}

// Prepare fills the defaults and builds the plan.
func (s *EDMHeun) Prepare(c *Config) (Plan, error) {
	return prepareEDM(s, "EDMHeun", &s.Grid, &s.Steps, c, true)
}

// Prepare fills the defaults, checks the churn's options and builds the
// plan.
func (s *EDMStochastic) Prepare(c *Config) (Plan, error) {
	if s.Churn == nil {
		s.Churn = new(float64(DefaultChurn))
	}
	if s.TMin == nil {
		s.TMin = new(DefaultChurnTMin)
	}
	if s.TMax == 0 {
		s.TMax = DefaultChurnTMax
	}
	if s.NoiseScale == 0 {
		s.NoiseScale = DefaultNoiseScale
	}
	churn, tmin := *s.Churn, *s.TMin
	switch {
	case !(churn >= 0) || math.IsInf(churn, 0):
		return nil, optionErrorf(s, "EDMStochastic.Churn", "churn", churn, "must be finite and >= 0 (0: no churn, as edm-heun; the default is %d)", DefaultChurn)
	case !(tmin >= 0) || math.IsInf(tmin, 0):
		return nil, optionErrorf(s, "EDMStochastic.TMin", "tmin", tmin, "must be finite and >= 0 (the default is %g)", DefaultChurnTMin)
	case math.IsNaN(s.TMax) || s.TMax < tmin:
		return nil, optionErrorf(s, "EDMStochastic.TMax", "tmax", s.TMax, "must be >= tmin = %g (inf: no upper bound; 0 selects %d)", tmin, DefaultChurnTMax)
	case !(s.NoiseScale > 0) || math.IsInf(s.NoiseScale, 0):
		return nil, optionErrorf(s, "EDMStochastic.NoiseScale", "noise-scale", s.NoiseScale, "must be finite and > 0 (0 selects %g)", DefaultNoiseScale)
	}
	pl, err := prepareEDM(s, "EDMStochastic", &s.Grid, &s.Steps, c, true)
	if err != nil {
		return nil, err
	}
	pl.gamma = math.Min(churn/float64(s.Steps), math.Sqrt2-1)
	pl.tmin, pl.tmax, pl.noise = tmin, s.TMax, s.NoiseScale
	return pl, nil
}

func describeGrid(steps int, g Grid) string {
	if g.Schedule == ScheduleKarras {
		return fmt.Sprintf("%d steps, karras rho %g", steps, g.Rho)
	}
	return fmt.Sprintf("%d steps, schedule %s", steps, g.Schedule)
}

// Describe gives the steps and the schedule.
func (s *EDMEuler) Describe() string { return describeGrid(s.Steps, s.Grid) }

// Describe gives the steps and the schedule.
func (s *EDMHeun) Describe() string { return describeGrid(s.Steps, s.Grid) }

// Describe gives the steps, the schedule and the churn.
func (s *EDMStochastic) Describe() string {
	var churn, tmin float64
	if s.Churn != nil {
		churn = *s.Churn
	}
	if s.TMin != nil {
		tmin = *s.TMin
	}
	gamma := 0.0
	if s.Steps > 0 {
		gamma = math.Min(churn/float64(s.Steps), math.Sqrt2-1)
	}
	return fmt.Sprintf("%s, churn %g (gamma %.3g) for sigma in [%g, %g], noise scale %g",
		describeGrid(s.Steps, s.Grid), churn, gamma, tmin, s.TMax, s.NoiseScale)
}

// edmPlan is a prepared EDM sampler. ks[k] is Karras' sigma = s/alpha at
// grid time k.
type edmPlan struct {
	sde    sde.SDE
	g      marginalGrid
	ks     []float64
	sigmaT float64 // ks[0] = sigma(T): no churn above it
	heun   bool
	nfe    int
	// Algorithm 2's churn: gamma = 0 for the deterministic samplers.
	gamma, tmin, tmax, noise float64
}

// PriorStd is the SDE's prior std.
func (pl *edmPlan) PriorStd() float64 { return pl.sde.PriorStd() }

// Path is the grid, T first.
func (pl *edmPlan) Path() []float64 { return pl.g.t }

// edmNode is one noise level of a step: its time t, the marginal's mean
// factor alpha and std s, and Karras' sigma = s/alpha.
type edmNode struct{ t, alpha, s, sigma float64 }

func (pl *edmPlan) node(k int) edmNode {
	return edmNode{pl.g.t[k], pl.g.alpha[k], pl.g.sigma[k], pl.ks[k]}
}

// edmScratch is the per-block scratch of one step.
type edmScratch struct{ score, den, xh, d0, y []float64 }

func (pl *edmPlan) Run(ctx context.Context, b *Block) error {
	m, n := b.M(), b.M()*b.D
	x := b.X
	w := edmScratch{b.Scratch(0, n), b.Scratch(1, n), b.Scratch(2, n), b.Scratch(3, n), b.Scratch(4, n)}
	var z []float64
	if pl.gamma > 0 {
		z = b.Scratch(5, n)
	}
	for k := 0; k+1 < len(pl.g.t); k++ {
		if err := Stopped(ctx); err != nil {
			return err
		}
		from := pl.node(k)
		if si := from.sigma; pl.gamma > 0 && si >= pl.tmin && si <= pl.tmax {
			from = pl.churn(b, x, z, from, m)
		}
		pl.step(b, x, from, pl.node(k+1), &w, m)
		if err := b.NonFinite(x, pl.g.t[k+1]); err != nil {
			return err
		}
		b.Save(k+1, x)
	}
	b.AddNFE(pl.nfe)
	return nil
}

// churn is Algorithm 2's lines 5-6: it raises the noise level of the rows x
// (at node f) to sigma_hat = min(sigma_i (1 + gamma), sigma(T)) and returns
// the node of sigma_hat, whose time comes from lambda = -log sigma_hat
// (sde.TimeAtLogSNR). x_hat gains noise of std S_noise sqrt(sigma_hat^2 -
// sigma_i^2), with sigma_hat the level of that time as the SDE computes it
// (so the noise brings x_hat exactly to the marginal the score is evaluated
// at, up to the inversion's rounding).
func (pl *edmPlan) churn(b *Block, x, z []float64, f edmNode, m int) edmNode {
	sh := f.sigma * (1 + pl.gamma)
	var th float64
	if sh >= pl.sigmaT {
		th = pl.g.t[0]
	} else {
		th = sde.TimeAtLogSNR(pl.sde, -math.Log(sh))
	}
	if !(th > f.t) {
		return f // clamped at T (or rounding): no churn
	}
	ah, sdh := pl.sde.Marginal(th)
	h := edmNode{th, ah, sdh, sdh / ah}
	amp := pl.noise * math.Sqrt(math.Max(h.sigma*h.sigma-f.sigma*f.sigma, 0))
	// Fresh noise, not an increment of the reverse path: on a Brownian
	// tree an Increment over [f.t, th] would reuse the path the steps walk.
	// (With Streams, Normals and Increment take the same draws.)
	b.Noise.Normals(z, 0, m)
	b.Noise.Next()
	for i := range x {
		x[i] = h.alpha * (x[i]/f.alpha + amp*z[i])
	}
	return h
}

// step takes the rows x from node f to node to in the scaled variables:
// d = (x_hat - D(x_hat; sigma_f))/sigma_f, Euler x_hat' = x_hat + h d with
// h = sigma_to - sigma_f, and with Heun the trapezoidal correction
// x_hat + h (d + d')/2, d' the slope at (x_hat', sigma_to) (Algorithm 1,
// lines 4-8). x holds x = alpha x_hat at f on entry and at to on return.
func (pl *edmPlan) step(b *Block, x []float64, f, to edmNode, w *edmScratch, m int) {
	predictTo(b, w.den, w.score, x, f.t, f.alpha, f.s, true, 0, m)
	h := to.sigma - f.sigma
	// Reciprocals once a step: a division per value cost as much as the
	// rest of the step together (BenchmarkGauss64EDMHeun).
	ia, isf, hs := 1/f.alpha, 1/f.sigma, h/f.sigma
	if !pl.heun {
		for i := range x {
			xh := x[i] * ia
			x[i] = to.alpha * (xh + hs*(xh-w.den[i]))
		}
		return
	}
	for i := range x {
		xh := x[i] * ia
		w.xh[i] = xh
		w.d0[i] = (xh - w.den[i]) * isf
		w.y[i] = to.alpha * (xh + h*w.d0[i])
	}
	predictTo(b, w.den, w.score, w.y, to.t, to.alpha, to.s, true, 0, m)
	hh := 0.5 * h
	is := 1 / to.sigma
	for i := range x {
		yh := w.xh[i] + h*w.d0[i] // x_hat', as w.y/alpha without its rounding
		d1 := (yh - w.den[i]) * is
		x[i] = to.alpha * (w.xh[i] + hh*(w.d0[i]+d1))
	}
}
