package sample

import (
	"context"
	"fmt"
	"math"
)

// Two Heun-type solvers of the reverse-time SDE with fixed steps:
// stochastic-heun (two score evaluations a step) and reversible-heun (one
// a step after the first). Both take the noise of a step as the Brownian
// increment over the step's interval (Noise.Increment), so on a Brownian
// tree runs with different step counts share one Brownian path.
//
// Sign conventions. The reverse-time SDE
//
//	dx = [a(t) x - g(t)^2 score(x, t)] dt + g(t) dW_bar,   t from T down to eps,
//
// is written in the forward time tau = T - t as an ordinary SDE
//
//	dx = b(x, t) dtau + g(t) dB(tau),   b(x, t) = g(t)^2 score(x, t) - a(t) x,   t = T - tau,
//
// with B a standard Brownian motion in tau. A step from t to tp < t has
// h = t - tp > 0 and Brownian increment dB = sqrt(h) xi, with xi what
// Noise.Increment(z, a, c, t, tp) writes: (W(tp) - W(t))/sqrt(h) for the
// row's path W. B(tau) = W(T - tau) - W(T) is a Brownian motion in tau (a
// Brownian path read backwards from a fixed time is one), and its increment
// over [T - t, T - tp] is W(tp) - W(t): the same value whichever steps
// cover the interval. Euler-Maruyama in these terms is x' = x + h b(x, t) +
// g(t) dB, the em sampler's step.
//
// The noise is additive (g depends on t only) for every SDE of package sde,
// so Ito and Stratonovich integrals of the noise coincide (the Ito-
// Stratonovich correction (1/2) g dg/dx vanishes): the Heun methods, which
// converge to the Stratonovich solution, solve the reverse SDE itself.

// DefaultHeunSteps and DefaultReversibleHeunSteps are the step counts of
// stochastic-heun and reversible-heun at the cost of em's default (1000
// score evaluations a row; reversible-heun's 1000 steps take 1001). There
// the exact weak error on gauss:16 under VP (study.WeakOrder) is 1.6e-5 for
// stochastic-heun and 5.9e-6 for reversible-heun, against em's 1.2e-3.
const (
	DefaultHeunSteps           = 500
	DefaultReversibleHeunSteps = 1000
)

// StochasticHeun is the stochastic Heun method (the Stratonovich Heun
// scheme, Kloeden and Platen 1992; torchsde's and diffrax's "heun") on the
// reverse-time SDE in the forward time tau (see the sign conventions above):
// from x at t, with h = t - tp and dB the step's Brownian increment,
//
//	x~ = x + h b(x, t) + g(t) dB                                    (an Euler-Maruyama predictor)
//	x' = x + (h/2) [b(x, t) + b(x~, tp)] + (g(t) + g(tp))/2 dB      (the trapezoidal corrector)
//
// Two score evaluations a step. For additive noise it converges with
// strong order 1 (as Euler-Maruyama does there) and weak order 2 (Kloeden
// and Platen, section 15.1: the scheme is their weak order 2 method for
// additive noise; with g depending on t, (g(t) + g(tp))/2 dB has the
// variance of the exact noise integral to O(h^3) per step). Measured on
// gauss:D with study.WeakOrder (the exact output law, no Monte Carlo): see
// study/weak_test.go.
type StochasticHeun struct {
	// Steps is the number N of steps; 0 selects 500.
	Steps int
	// Grid is the spacing of the steps (default uniform in t).
	Grid
}

// ReversibleHeun is the reversible Heun method of Kidger, Foster, Li and
// Lyons 2021 ("Efficient and accurate gradients for neural SDEs", section
// 3, Algorithm 1) on the reverse-time SDE in the forward time tau. Besides
// the solution y it carries a second state z (z_0 = y_0) and the drift
// f = b(z, t) at it; a step from t to tp is
//
//	z' = 2 y - z + h f + g(t) dB
//	f' = b(z', tp)                                                  (the step's one evaluation)
//	y' = y + (h/2) (f + f') + (g(t) + g(tp))/2 dB
//
// One score evaluation a step and one more at the start (f_0 = b(y_0, T)):
// N + 1 for N steps. The step is algebraically reversible: from (y', z',
// f') and dB, z = 2 y' - z' - h f' - g(tp) dB, f = b(z, t) and y = y' -
// (h/2)(f + f') - (g(t) + g(tp))/2 dB recover the state before it exactly
// (up to rounding), which is what the paper wants it for (backpropagation
// through a solve without storing it). The first step is stochastic-heun's
// step (z_0 = y_0 makes z_1 the Euler-Maruyama predictor).
//
// The paper proves convergence to the Stratonovich solution with strong
// order 0.5 in general; torchsde (whose authors are the paper's) states
// strong order 1.0 for additive noise, as here, and calls its weak order
// unknown in general.
//
// It is a poor solver for the reverse diffusion SDE. On the linear test
// equation dx = l x dtau a step maps (y, z) by a matrix of determinant -1
// and trace 2 h l: its roots are r = h l +- sqrt(1 + (h l)^2), the solution's
// e^(h l) and a parasitic -e^(-h l). The reverse SDE's drift contracts (l <
// 0: l = -g^2/v - a on Gaussian data), so the parasitic mode grows by the
// same factor the solution contracts, exp(int |l| dtau) over the run, for
// any step size: about 3.8e3 on VP for data of std 0.2 (6e2 for std 0.5),
// with the factor's square on the variance. Each step's local error (and
// the noise's (g(t) - g(tp))/2 dB, which z and y take differently) feeds
// the mode, so the errors are large until the steps are small enough for
// those injections to be tiny. Measured: on gauss:16 under VP the exact
// weak error (study.WeakOrder) is 1.3e4 at 10 steps, 0.30 at 160 and 4.6e-3
// at 320 (stochastic-heun: 3.7e-2, 1.6e-4, 3.9e-5 at 20, 320, 640
// evaluations); its strong error on gmm8 under VP is 0.81 at 256 steps
// (em: 0.076; 100 rows on the Brownian tree) and falls to 0.01 only
// beyond 2000 steps. Asymptotically
// it converges with weak order 2 and strong order 1 (sample/sheun_test.go,
// study/weak_test.go). It is here for comparison and for its reversibility,
// not as a recommended sampler.
type ReversibleHeun struct {
	// Steps is the number N of steps; 0 selects 1000.
	Steps int
	// Grid is the spacing of the steps (default uniform in t).
	Grid
}

// Name returns "stochastic-heun".
func (*StochasticHeun) Name() string { return "stochastic-heun" }

// Name returns "reversible-heun".
func (*ReversibleHeun) Name() string { return "reversible-heun" }

// Options returns steps, schedule and rho.
func (s *StochasticHeun) Options() []Option {
	return append([]Option{IntOption(&s.Steps, "steps", DefaultHeunSteps, "number of steps N (2 score evaluations each)")},
		s.gridOptions(ScheduleT)...)
}

// Options returns steps, schedule and rho.
func (s *ReversibleHeun) Options() []Option {
	return append([]Option{IntOption(&s.Steps, "steps", DefaultReversibleHeunSteps, "number of steps N (N + 1 score evaluations)")},
		s.gridOptions(ScheduleT)...)
}

// Prepare fills the defaults and builds the plan.
func (s *StochasticHeun) Prepare(c *Config) (Plan, error) {
	return prepareHeun(s, "StochasticHeun", &s.Grid, &s.Steps, DefaultHeunSteps, c, false)
}

// Prepare fills the defaults and builds the plan.
func (s *ReversibleHeun) Prepare(c *Config) (Plan, error) {
	return prepareHeun(s, "ReversibleHeun", &s.Grid, &s.Steps, DefaultReversibleHeunSteps, c, true)
}

// Describe gives the steps and the schedule.
func (s *StochasticHeun) Describe() string {
	return fmt.Sprintf("%d steps, schedule %s", s.Steps, s.Schedule)
}

// Describe gives the steps and the schedule.
func (s *ReversibleHeun) Describe() string {
	return fmt.Sprintf("%d steps, schedule %s", s.Steps, s.Schedule)
}

// heunStep is one step of a Heun plan from t to tp < t: h = t - tp, sq =
// sqrt(h), and the SDE's drift factors a0, a1 and diffusions g0, g1 at t
// and tp.
type heunStep struct {
	t, tp, h, sq   float64
	a0, a1, g0, g1 float64
}

// heunPlan is a prepared StochasticHeun or ReversibleHeun.
type heunPlan struct {
	priorStd   float64
	steps      []heunStep
	path       []float64
	reversible bool
}

// needAdditive refuses an SDE that declares a diffusion depending on x: the
// Heun methods converge to the Stratonovich solution, which is the reverse
// SDE's (an Ito SDE) only for additive noise, and adaptive-sde's error
// estimate assumes it too.
func needAdditive(s Sampler, c *Config) error {
	if mn, ok := c.SDE.(MultiplicativeNoise); ok && mn.DiffusionDependsOnX() {
		return &UnsupportedSDEError{Sampler: s.Name(), SDE: c.SDE.Name(),
			Need: "additive noise (a diffusion g(t) that does not depend on x: its Stratonovich and Ito solutions then agree), and this SDE declares DiffusionDependsOnX"}
	}
	return nil
}

func prepareHeun(s Sampler, field string, g *Grid, steps *int, def int, c *Config, reversible bool) (Plan, error) {
	if err := needAdditive(s, c); err != nil {
		return nil, err
	}
	if *steps == 0 {
		*steps = def
	}
	if *steps < 1 {
		return nil, optionErrorf(s, field+".Steps", "steps", *steps, "use N >= 1 (0 selects %d)", def)
	}
	if err := g.prepareGrid(s, field, ScheduleT); err != nil {
		return nil, err
	}
	ts, err := g.Times(c.SDE, c.Eps, *steps)
	if err != nil {
		return nil, optionErrorf(s, field+".Schedule", "schedule", g.Schedule, "%v", err)
	}
	pl := &heunPlan{priorStd: c.SDE.PriorStd(), path: ts, reversible: reversible, steps: make([]heunStep, *steps)}
	for k := range pl.steps {
		t, tp := ts[k], ts[k+1]
		h := t - tp
		pl.steps[k] = heunStep{t: t, tp: tp, h: h, sq: math.Sqrt(h),
			a0: c.SDE.DriftCoef(t), a1: c.SDE.DriftCoef(tp), g0: c.SDE.Diffusion(t), g1: c.SDE.Diffusion(tp)}
	}
	return pl, nil
}

func (pl *heunPlan) PriorStd() float64 { return pl.priorStd }
func (pl *heunPlan) Path() []float64   { return pl.path }

// driftTo writes b(x, t) = g^2 score - a x into dst, where dst holds the
// score of x on entry.
func driftTo(dst, x []float64, a, g float64) {
	g2 := g * g
	for i, s := range dst {
		dst[i] = g2*s - a*x[i]
	}
}

func (pl *heunPlan) Run(ctx context.Context, b *Block) error {
	if pl.reversible {
		return pl.runReversible(ctx, b)
	}
	m, d := b.M(), b.D
	n := m * d
	x := b.X
	f1, f2, xt, z := b.Scratch(0, n), b.Scratch(1, n), b.Scratch(2, n), b.Scratch(3, n)
	for k := range pl.steps {
		if err := Stopped(ctx); err != nil {
			return err
		}
		st := &pl.steps[k]
		b.ScoreAt(f1, x, st.t, 0, m)
		driftTo(f1, x, st.a0, st.g0)
		b.Noise.Increment(z, 0, m, st.t, st.tp)
		b.Noise.Next()
		// x~ = x + h b(x, t) + g(t) dB
		h, gs := st.h, st.g0*st.sq
		for i, xi := range x {
			xt[i] = xi + h*f1[i] + gs*z[i]
		}
		b.ScoreAt(f2, xt, st.tp, 0, m)
		driftTo(f2, xt, st.a1, st.g1)
		// x' = x + (h/2)(b(x, t) + b(x~, tp)) + (g(t) + g(tp))/2 dB
		hh, gm := h/2, (st.g0+st.g1)/2*st.sq
		for i := range x {
			x[i] += hh*(f1[i]+f2[i]) + gm*z[i]
		}
		if err := b.NonFinite(x, st.tp); err != nil {
			return err
		}
		b.Save(k+1, x)
	}
	b.AddNFE(2 * len(pl.steps))
	return nil
}

// reversibleHeunStep takes the reversible Heun state (y, z, f) from t to tp
// with the standard normals xi of the step's Brownian increment; score
// writes the score of its second argument at time t into its first.
func reversibleHeunStep(st *heunStep, y, z, f, xi []float64, score func(dst, x []float64, t float64)) {
	// z' = 2 y - z + h f + g(t) dB
	h, gs := st.h, st.g0*st.sq
	for i, yi := range y {
		z[i] = 2*yi - z[i] + h*f[i] + gs*xi[i]
	}
	// y' = y + (h/2)(f + f') + (g(t) + g(tp))/2 dB with f' = b(z', tp): y
	// takes h/2 f first, so that f can be overwritten by f'.
	hh, gm := h/2, (st.g0+st.g1)/2*st.sq
	for i := range y {
		y[i] += hh*f[i] + gm*xi[i]
	}
	score(f, z, st.tp)
	driftTo(f, z, st.a1, st.g1)
	for i := range y {
		y[i] += hh * f[i]
	}
}

func (pl *heunPlan) runReversible(ctx context.Context, b *Block) error {
	m, d := b.M(), b.D
	n := m * d
	y := b.X
	z, f, xi := b.Scratch(0, n), b.Scratch(1, n), b.Scratch(2, n)
	score := func(dst, x []float64, t float64) { b.ScoreAt(dst, x, t, 0, m) }
	// z_0 = y_0, f_0 = b(z_0, T).
	copy(z, y)
	st0 := &pl.steps[0]
	b.ScoreAt(f, z, st0.t, 0, m)
	driftTo(f, z, st0.a0, st0.g0)
	for k := range pl.steps {
		if err := Stopped(ctx); err != nil {
			return err
		}
		st := &pl.steps[k]
		b.Noise.Increment(xi, 0, m, st.t, st.tp)
		b.Noise.Next()
		reversibleHeunStep(st, y, z, f, xi, score)
		if err := b.NonFinite(y, st.tp); err != nil {
			return err
		}
		b.Save(k+1, y)
	}
	b.AddNFE(len(pl.steps) + 1)
	return nil
}
