package sample

import (
	"context"
	"fmt"
	"math"

	"github.com/sdekit/sdekit/ode"
	"github.com/sdekit/sdekit/sde"
)

// Strong order 1.5 Runge-Kutta methods for additive noise on the
// reverse-time SDE: SRA1 (Rößler 2010) and ShARK (Foster, dos Reis and
// Strange 2023, eq. 6.1 as diffrax cites it), in the two-stage form
// diffrax gives them.
//
// Forward time. The reverse SDE
//
//	dx = [a(t) x - g(t)^2 score(x, t)] dt + g(t) dW_bar,   t from T down to eps,
//
// is, in tau = T - t (tau from 0 up to T - eps) and X(tau) = x(T - tau),
// the forward SDE with additive noise
//
//	dX = b(X, tau) dtau + g(T - tau) dB(tau),   b(X, tau) = -a(t) X + g(t)^2 score(X, t),  t = T - tau:
//
// a step of the reverse SDE from t0 down to t1 moves x by -(t0 - t1)
// [a x - g^2 score] in the drift, which is +h b with h = t0 - t1 > 0. B is a
// standard Brownian motion in tau, B(tau) = W(T - tau) - W(T) for the
// Brownian path W of the noise source (defined on [0, T] in t), so over the
// step the increment of B is W(t1) - W(t0): what AreaSource.IncrementArea
// (t0, t1) writes as w (divided by sqrt h). The space-time Lévy area of B
// over [tau0, tau0 + h] is that of W over [t1, t0]: the bridge
// B(u) - B(tau0) - (u - tau0)/h (B(tau0+h) - B(tau0)), read in t, is
// W(s) - W(t1) - (s - t1)/h (W(t0) - W(t1)) (expand both), so hh is used
// as it comes (see AreaSource).
//
// The step. With W = sqrt(h) w and H = sqrt(h) hh the increment and
// space-time Lévy area of B over the step (W ~ N(0, h), H ~ N(0, h/12),
// independent), g0 = g(t0), g1 = g(t1), an additive-noise stochastic
// Runge-Kutta method of two stages is (diffrax's AbstractSRK, additive
// case)
//
//	z1 = y0 + g0 aH1 H,                                  f1 = b(z1, tau0)
//	z2 = y0 + a21 h f1 + g0 (aW2 W + aH2 H),             f2 = b(z2, tau0 + c2 h)
//	y1 = y0 + h (b1 f1 + b2 f2) + g0 W + (g1 - g0) (W/2 - H)
//
// The last term is the exact int g dB for a g linear over the step:
// int (u - tau0)/h dB(u) = W - (1/h) int (B(u) - B(tau0)) du = W/2 - H, as
// H = (1/h) int (B(u) - B(tau0)) du - W/2. With a constant g this is
// Rößler's SRA form, his I_(1,0)/h = W/2 + H:
//
//	SRA1   aH1 = 0, a21 = c2 = 3/4, aW2 = 3/4, aH2 = 3/2, b = (1/3, 2/3)
//	       (Rößler 2010's SRA1; diffrax's SRA1 tableau)
//	ShARK  aH1 = 1, a21 = c2 = 5/6, aW2 = 5/6, aH2 = 1, b = (2/5, 3/5)
//	       (Foster, dos Reis and Strange 2023, eq. 6.1: the drift evaluated
//	       at y0 + g H, "shifted"; diffrax's ShARK tableau)
//
// Both make two drift evaluations (two score evaluations) a step and have
// strong order 1.5 for additive noise. Rößler evaluates the diffusion of
// SRA1's second stage at t1 where diffrax takes g0: the two differ by
// h f' (g1 - g0) O(W) = O(h^2.5) in mean square a step, with mean zero,
// which leaves the order 1.5.
//
// The error estimate (adaptive steps). The lower-order solution on the same
// W and H, y_low = y0 + h f1 + (the same noise terms), is a first-order
// (Euler-Maruyama) step; y1 - y_low = h b2 (f2 - f1) (diffrax's b_error,
// (-2/3, 2/3) and (-3/5, 3/5)). Expanding f2 - f1 = f' (z2 - z1) + O(h):
// for SRA1 h (2/3) f' g0 (3/4 W + 3/2 H) = h f' g0 (W/2 + H), which is the
// leading local error of Euler-Maruyama, int_0^h (f(X_u) - f(X_0)) du ~
// f' g0 int_0^h (B(u) - B(0)) du = h f' g0 (W/2 + H); for ShARK
// h (3/5) f' g0 (5/6) W = h f' g0 W/2, the same term less the h f' g0 H that
// its shifted first stage already takes. So the estimate has size
// O(h^(3/2)) in mean square, and it is random: it carries the step's W and
// H, and a step whose noise happens to be small passes with a small
// estimate. The controller's exponent is 1/q with q = 2 (diffrax's error
// order, strong order + 1/2), not the 1/(3/2) of the estimate's scaling: the
// exponent does not move the step sizes the controller settles at (those
// make the estimate about the tolerance), only how hard it reacts to one
// estimate. The gentler reaction to a random estimate gave an 11-27%
// smaller path error (RMS and median over 400 rows, against the same
// Brownian path at 4000 steps) for 1-2% more evaluations and a quarter fewer
// rejections, on gmm8 and a two-component scale mixture under VP (PI
// 0.1/0.3, tolerances 1e-2 to 2e-3). The row goes on with the order 1.5
// solution y1 (local extrapolation).

// MultiplicativeNoise is implemented by an SDE of the caller's whose
// diffusion depends on the state x (the built-in SDEs' g(t) does not). The
// SDE interface has g(t) only, so such an SDE declares it here: a sampler
// that needs additive noise (SRA1, ShARK) refuses an SDE whose
// DiffusionDependsOnX returns true with an *UnsupportedSDEError.
type MultiplicativeNoise interface {
	DiffusionDependsOnX() bool
}

// srkTableau is a two-stage stochastic Runge-Kutta method for additive
// noise in the form above.
type srkTableau struct {
	aH1         float64 // stage 1: z1 = y0 + g0 aH1 H
	a21, c2     float64 // stage 2: z2 = y0 + a21 h f1 + g0 (aW2 W + aH2 H), at tau0 + c2 h
	aW2, aH2    float64
	b1, b2      float64 // y1 = y0 + h (b1 f1 + b2 f2) + noise; error h b2 (f2 - f1)
	reuseStage1 bool    // z1 = y0: a rejected step keeps f1
}

var (
	sra1Tableau = srkTableau{a21: 0.75, c2: 0.75, aW2: 0.75, aH2: 1.5, b1: 1.0 / 3, b2: 2.0 / 3,
		reuseStage1: true}
	sharkTableau = srkTableau{aH1: 1, a21: 5.0 / 6, c2: 5.0 / 6, aW2: 5.0 / 6, aH2: 1, b1: 0.4, b2: 0.6}
)

// Defaults of SRA1 and ShARK.
const (
	srkSteps    = 100
	srkSchedule = ScheduleT // ScheduleKarras under EDM: see srkDefaultSchedule
	srkMaxSteps = 10000
	// The PI controller: Söderlind's form as ode.PID, with diffrax's
	// recommendation for SDEs (pcoeff 0.1, icoeff 0.3: "an insensitive PI
	// controller", as the error estimate is random) and the exponent order
	// q = 2 (see above).
	srkKP, srkKI = 0.1, 0.3
	srkQ         = 2
	srkSafety    = 0.9
	srkFacMin    = 0.2
	srkFacMax    = 10
	srkErrFloor  = 1e-4 // error norms kept as memory are floored here, as in DOPRI5 (ode.PID)
)

// SRA1 is Rößler's SRA1 on the reverse-time SDE (see the equations above):
// two score evaluations a step, strong order 1.5 for additive noise (every
// built-in SDE). It draws the Brownian increment and space-time Lévy area
// of each step from an AreaSource: its default Noise is the Brownian tree,
// which gives runs with different steps one Brownian path.
//
// With RTol or ATol > 0 the steps are adaptive: per row, the error estimate
// err = h b2 (f2 - f1) of the embedded Euler-Maruyama solution (see above)
// is held to
//
//	E = RMS_i(err_i) / (atol + rtol RMS_i(y1_i)) <= 1
//
// by a PI controller, and a rejected step is retried over a shorter
// interval of the same Brownian path (the tree answers it consistently).
// The scale is the new state y1 alone, as dpm-adaptive's (under VE and EDM
// the state shrinks from the prior's scale, 50 or 80, to the data's, and a
// scale from the state before the step would accept large errors there),
// and it is the row's RMS, not each coordinate's |y1_i|: at large t a row
// is mostly noise, whose coordinates cross zero at random, and a
// coordinate near zero held the whole row to atol. On a two-component
// scale mixture the row's scale took 8% (vp), 35% (edm) and 30% (ve) fewer
// evaluations for the same path error at tolerances 3e-2 to 1e-3.
type SRA1 struct {
	// Steps is the number of fixed steps; 0 selects 100. With adaptive
	// steps the first trial step is (T - eps)/Steps.
	Steps int
	// Grid is the spacing of the fixed steps (default uniform in t, karras
	// under EDM: see srkDefaultSchedule).
	Grid
	// RTol and ATol select adaptive steps when either is > 0 (a zero one
	// then takes the other's value); both 0: fixed steps.
	RTol, ATol float64
	// MaxSteps bounds the step attempts (accepted and rejected) of each
	// row with adaptive steps; 0 selects 10000.
	MaxSteps int
}

// ShARK is the shifted additive-noise Runge-Kutta method of Foster, dos
// Reis and Strange (2023, eq. 6.1; diffrax's ShARK, "the recommended choice
// for SDEs with additive noise") on the reverse-time SDE: two score
// evaluations a step, strong order 1.5 for additive noise. Its options are
// SRA1's, with the same meaning.
type ShARK struct {
	// Steps is the number of fixed steps; 0 selects 100. With adaptive
	// steps the first trial step is (T - eps)/Steps.
	Steps int
	// Grid is the spacing of the fixed steps (default uniform in t, karras
	// under EDM: see srkDefaultSchedule).
	Grid
	// RTol and ATol select adaptive steps when either is > 0 (a zero one
	// then takes the other's value); both 0: fixed steps.
	RTol, ATol float64
	// MaxSteps bounds the step attempts (accepted and rejected) of each
	// row with adaptive steps; 0 selects 10000.
	MaxSteps int
}

// Name returns "sra1".
func (*SRA1) Name() string { return "sra1" }

// Name returns "shark".
func (*ShARK) Name() string { return "shark" }

// Options returns steps, rtol, atol, max-steps, schedule and rho.
func (s *SRA1) Options() []Option {
	return srkOptions(&s.Steps, &s.RTol, &s.ATol, &s.MaxSteps, &s.Grid)
}

// Options returns steps, rtol, atol, max-steps, schedule and rho.
func (s *ShARK) Options() []Option {
	return srkOptions(&s.Steps, &s.RTol, &s.ATol, &s.MaxSteps, &s.Grid)
}

func srkOptions(steps *int, rtol, atol *float64, maxSteps *int, g *Grid) []Option {
	return append([]Option{
		IntOption(steps, "steps", srkSteps, "number of steps N"),
		FloatOption(rtol, "rtol", 0, "relative tolerance; > 0 selects adaptive steps (0: fixed steps)"),
		FloatOption(atol, "atol", 0, "absolute tolerance; > 0 selects adaptive steps (0: fixed steps)"),
		IntOption(maxSteps, "max-steps", srkMaxSteps, "the most step attempts a row may take with adaptive steps (an error beyond)"),
	}, g.gridOptions(srkSchedule)...)
}

// DefaultNoise is the Brownian tree: one Brownian path per row, shared by
// runs with different steps, which answers the Lévy area of any interval
// and a retried (shorter) step consistently.
func (*SRA1) DefaultNoise() Noise { return BrownianTree{} }

// DefaultNoise is the Brownian tree (see SRA1.DefaultNoise).
func (*ShARK) DefaultNoise() Noise { return BrownianTree{} }

// srkOpts is the options of SRA1 or ShARK, prepared in a copy and written
// back field by field where they changed (a prepared sampler shared by
// concurrent calls is not written again).
type srkOpts struct {
	Steps      int
	Grid       Grid
	RTol, ATol float64
	MaxSteps   int
}

// Prepare fills the defaults and builds the plan.
func (s *SRA1) Prepare(c *Config) (Plan, error) {
	o := srkOpts{s.Steps, s.Grid, s.RTol, s.ATol, s.MaxSteps}
	p, err := prepareSRK(s, "SRA1", &sra1Tableau, &o, c)
	if err == nil {
		writeBack(&s.Steps, &s.Grid, &s.RTol, &s.ATol, &s.MaxSteps, &o)
	}
	return p, err
}

// Prepare fills the defaults and builds the plan.
func (s *ShARK) Prepare(c *Config) (Plan, error) {
	o := srkOpts{s.Steps, s.Grid, s.RTol, s.ATol, s.MaxSteps}
	p, err := prepareSRK(s, "ShARK", &sharkTableau, &o, c)
	if err == nil {
		writeBack(&s.Steps, &s.Grid, &s.RTol, &s.ATol, &s.MaxSteps, &o)
	}
	return p, err
}

func writeBack(steps *int, g *Grid, rtol, atol *float64, maxSteps *int, o *srkOpts) {
	if *steps != o.Steps {
		*steps = o.Steps
	}
	if *g != o.Grid {
		*g = o.Grid
	}
	if *rtol != o.RTol {
		*rtol = o.RTol
	}
	if *atol != o.ATol {
		*atol = o.ATol
	}
	if *maxSteps != o.MaxSteps {
		*maxSteps = o.MaxSteps
	}
}

// Describe gives the steps or the tolerances.
func (s *SRA1) Describe() string { return describeSRK(s.Steps, s.Grid, s.RTol, s.ATol) }

// Describe gives the steps or the tolerances.
func (s *ShARK) Describe() string { return describeSRK(s.Steps, s.Grid, s.RTol, s.ATol) }

func describeSRK(steps int, g Grid, rtol, atol float64) string {
	if rtol > 0 || atol > 0 {
		return fmt.Sprintf("adaptive, rtol %g atol %g, PI controller", rtol, atol)
	}
	return fmt.Sprintf("%d steps, schedule %s", steps, g.Schedule)
}

func prepareSRK(s Sampler, field string, tab *srkTableau, o *srkOpts, c *Config) (Plan, error) {
	if mn, ok := c.SDE.(MultiplicativeNoise); ok && mn.DiffusionDependsOnX() {
		return nil, &UnsupportedSDEError{Sampler: s.Name(), SDE: c.SDE.Name(),
			Need: "additive noise (a diffusion g(t) that does not depend on x), and this SDE declares DiffusionDependsOnX"}
	}
	if o.Steps == 0 {
		o.Steps = srkSteps
	}
	if o.Steps < 1 {
		return nil, optionErrorf(s, field+".Steps", "steps", o.Steps, "use N >= 1 (0 selects %d)", srkSteps)
	}
	for _, tol := range []struct {
		v         float64
		name, fld string
	}{{o.RTol, "rtol", ".RTol"}, {o.ATol, "atol", ".ATol"}} {
		if !(tol.v >= 0) || math.IsInf(tol.v, 0) {
			return nil, optionErrorf(s, field+tol.fld, tol.name, tol.v, "must be finite and > 0 (adaptive steps), or 0 (fixed steps)")
		}
	}
	adaptive := o.RTol > 0 || o.ATol > 0
	if adaptive {
		if o.RTol == 0 {
			o.RTol = o.ATol
		}
		if o.ATol == 0 {
			o.ATol = o.RTol
		}
	}
	if o.MaxSteps == 0 {
		o.MaxSteps = srkMaxSteps
	}
	if o.MaxSteps < 1 {
		return nil, optionErrorf(s, field+".MaxSteps", "max-steps", o.MaxSteps, "use >= 1 step attempts (0 selects %d)", srkMaxSteps)
	}
	def := srkDefaultSchedule(c.SDE)
	if err := o.Grid.prepareGrid(s, field+".Grid", def); err != nil {
		return nil, err
	}
	if adaptive && o.Grid.Schedule != def {
		return nil, optionErrorf(s, field+".Schedule", "schedule", o.Grid.Schedule, "a schedule spaces fixed steps; with rtol or atol > 0 the steps are adaptive (drop the schedule, or the tolerances)")
	}
	src := c.Noise.NewSource(c.Dim)
	if _, ok := src.(AreaSource); !ok {
		return nil, fmt.Errorf("sample: %s needs the space-time Lévy area of each step, which the noise %T does not give (it is no AreaSource); use -noise tree (Config.Noise = sample.BrownianTree{})", s.Name(), c.Noise)
	}
	if _, ok := c.Noise.(Streams); ok && adaptive {
		return nil, fmt.Errorf("sample: adaptive %s retries a rejected step on the same Brownian path, and Streams draws fresh noise for it (which biases the accepted noise); use -noise tree (Config.Noise = sample.BrownianTree{}) or fixed steps (rtol = atol = 0)", s.Name())
	}
	T := c.SDE.T()
	pl := &srkPlan{tab: tab, name: s.Name(), sde: c.SDE, T: T, eps: c.Eps}
	if adaptive {
		pl.adaptive, pl.rtol, pl.atol, pl.maxSteps = true, o.RTol, o.ATol, o.MaxSteps
		pl.h0 = (T - c.Eps) / float64(o.Steps)
		pl.path = []float64{T, c.Eps}
		return pl, nil
	}
	ts, err := o.Grid.Times(c.SDE, c.Eps, o.Steps)
	if err != nil {
		return nil, optionErrorf(s, field+".Schedule", "schedule", o.Grid.Schedule, "%v", err)
	}
	pl.path = ts
	pl.steps = make([]srkStep, o.Steps)
	for k := range pl.steps {
		pl.steps[k] = newSRKStep(c.SDE, tab, ts[k], ts[k+1])
	}
	return pl, nil
}

// srkDefaultSchedule is the grid of fixed steps when none is chosen:
// uniform in t, except under EDM, where the karras grid. Measured on gmm8
// (400 rows; RMS distance to the same sampler at 4000 steps on the same
// Brownian path) at 100 steps, sra1 and shark:
//
//	         t             logsnr        karras
//	vp       7.6e-3 4.1e-3 6.1e-2 2.2e-2 2.4e-2 4.0e-2
//	subvp    1.8e-2 1.2e-2 5.3e-2 4.2e-2 8.1e-2 3.9e-2
//	ve       4.5e-2 3.7e-2 (logsnr is t under VE) 4.3e-2 3.7e-2
//	edm      6.3e-1 4.7e-1 6.6e-2 5.3e-2 4.6e-2 4.9e-2
//
// and the weak error of the exact law on gauss:4 (see the tests) agrees:
// t is as good as or better than the noise-level grids where the SDE's time
// is already a good clock (VP, sub-VP; VE, whose log sigma is linear in t),
// and fails under EDM, whose t = sigma spans 0.002..80: a uniform step of
// 0.8 crosses all of sigma < 1, where the drift's rate 2t/(sd^2 + t^2) is
// large (at 100 steps the moments are off by 100x their size). EDM's own
// grid (Karras et al. 2022) fixes it.
func srkDefaultSchedule(s sde.SDE) string {
	if d, ok := s.(sde.ScheduleDefaulter); ok && validSchedule(d.DefaultSchedule()) {
		return d.DefaultSchedule() // EDM: karras, through the SDE, not its type
	}
	return srkSchedule
}

// srkStep holds the coefficients of one step from t0 down to t1.
type srkStep struct {
	t0, t1, t2 float64 // t2 = t0 - c2 h: the second stage's time
	h, sh      float64 // h = t0 - t1, sqrt(h)
	a0, gg0    float64 // b(x, tau0) = -a0 x + gg0 score(x, t0)
	a2, gg2    float64 // the same at t2
	g0, g1     float64
}

func newSRKStep(s sde.SDE, tab *srkTableau, t0, t1 float64) srkStep {
	h := t0 - t1
	t2 := t0 - tab.c2*h
	g0, g2 := s.Diffusion(t0), s.Diffusion(t2)
	return srkStep{t0: t0, t1: t1, t2: t2, h: h, sh: math.Sqrt(h),
		a0: s.DriftCoef(t0), gg0: g0 * g0, a2: s.DriftCoef(t2), gg2: g2 * g2,
		g0: g0, g1: s.Diffusion(t1)}
}

// srkPlan is a prepared SRA1 or ShARK.
type srkPlan struct {
	tab      *srkTableau
	name     string
	sde      sde.SDE
	T, eps   float64
	path     []float64
	steps    []srkStep // fixed steps
	adaptive bool
	rtol     float64
	atol     float64
	maxSteps int
	h0       float64
}

func (pl *srkPlan) PriorStd() float64 { return pl.sde.PriorStd() }

// Path is the grid of fixed steps, or the prior and the sample with
// adaptive steps (which differ from row to row).
func (pl *srkPlan) Path() []float64 { return pl.path }

// CountsSteps reports step attempts with adaptive steps.
func (pl *srkPlan) CountsSteps() bool { return pl.adaptive }

func (pl *srkPlan) Run(ctx context.Context, b *Block) error {
	src, ok := b.Noise.(AreaSource)
	if !ok {
		return fmt.Errorf("sample: %s needs an AreaSource; the block's noise source is %T", pl.name, b.Noise)
	}
	if pl.adaptive {
		return pl.runAdaptive(ctx, b, src)
	}
	m, d := b.M(), b.D
	n := m * d
	x := b.X
	w, hh, z, f1, f2 := b.Scratch(0, n), b.Scratch(1, n), b.Scratch(2, n), b.Scratch(3, n), b.Scratch(4, n)
	for k := range pl.steps {
		if err := Stopped(ctx); err != nil {
			return err
		}
		st := &pl.steps[k]
		src.IncrementArea(w, hh, 0, m, st.t0, st.t1)
		b.Noise.Next()
		z1 := pl.stage1(z, x, hh, st, 0, n)
		b.ScoreAt(f1, z1, st.t0, 0, m)
		pl.stage2(z, f1, f1, z1, x, w, hh, st, 0, n)
		b.ScoreAt(f2, z, st.t2, 0, m)
		pl.finish(x, x, f1, f2, z, w, hh, st, 0, n)
		if err := b.NonFinite(x, st.t1); err != nil {
			return err
		}
		b.Save(k+1, x)
	}
	b.AddNFE(2 * len(pl.steps))
	return nil
}

// stage1 returns the first stage z1 = y0 + g0 aH1 H of values lo..hi-1
// (written into z, or y0 itself when aH1 = 0).
func (pl *srkPlan) stage1(z, y0, hh []float64, st *srkStep, lo, hi int) []float64 {
	if pl.tab.aH1 == 0 {
		return y0
	}
	c := st.g0 * pl.tab.aH1 * st.sh
	for i := lo; i < hi; i++ {
		z[i] = y0[i] + c*hh[i]
	}
	return z
}

// stage2 writes the first stage's drift f1 = b(z1, tau0) = -a0 z1 + gg0 s1
// (s1 the score at z1; f1 may be s1) and the second stage z2 = y0 + a21 h
// f1 + g0 (aW2 W + aH2 H) into z, for values lo..hi-1. z may be z1.
func (pl *srkPlan) stage2(z, f1, s1, z1, y0, w, hh []float64, st *srkStep, lo, hi int) {
	tab := pl.tab
	ah := tab.a21 * st.h
	cw, ch := st.g0*tab.aW2*st.sh, st.g0*tab.aH2*st.sh
	for i := lo; i < hi; i++ {
		f := st.gg0*s1[i] - st.a0*z1[i]
		f1[i] = f
		z[i] = y0[i] + ah*f + cw*w[i] + ch*hh[i]
	}
}

// finish turns the score at z2 (in f2) into the drift f2 = b(z2, tau0 + c2
// h) and writes y1 = y0 + h (b1 f1 + b2 f2) + g0 W + (g1 - g0)(W/2 - H)
// into y1 (which may be y0), for values lo..hi-1. With f1 the first stage's
// drift, f2 - f1 is left in f2 (the error estimate's h b2 (f2 - f1)).
func (pl *srkPlan) finish(y1, y0, f1, f2, z2, w, hh []float64, st *srkStep, lo, hi int) {
	hb1, hb2 := st.h*pl.tab.b1, st.h*pl.tab.b2
	// sqrt(h) [g0 w + (g1 - g0)(w/2 - hh)] = sqrt(h) [(g0 + g1)/2 w - (g1 - g0) hh]
	cw, ch := st.sh*0.5*(st.g0+st.g1), st.sh*(st.g1-st.g0)
	for i := lo; i < hi; i++ {
		f := st.gg2*f2[i] - st.a2*z2[i]
		y1[i] = y0[i] + hb1*f1[i] + hb2*f + cw*w[i] - ch*hh[i]
		f2[i] = f - f1[i]
	}
}

// srkRows is one worker's per-row state of the adaptive solver
// (Block.Local), grown to the largest block.
type srkRows struct {
	rowSteps
	st       []srkStep
	prevErr  []float64 // the error norm of the row's last accepted step (PI memory)
	rejected []bool    // the row's last attempt was rejected (the next accepted step does not grow)
}

func (w *srkRows) grow(m int) {
	if w.rowSteps.grow(m) {
		w.st, w.prevErr, w.rejected = make([]srkStep, m), make([]float64, m), make([]bool, m)
	}
}

// scoreRows writes the score of the listed rows of x into the same rows of
// dst, each at its own time (time(r)), through gathered scratch gx and gs,
// and counts one evaluation for each.
func (pl *srkPlan) scoreRows(b *Block, w *srkRows, dst, x, gx, gs []float64, rows []int, time func(r int) float64) {
	d := b.D
	b.gatherScore(gx, gs, w.gt, x, rows, time)
	for k, r := range rows {
		copy(dst[r*d:(r+1)*d], gs[k*d:(k+1)*d])
	}
}

// runAdaptive: each row steps with its own step size, PI-controlled.
//
// A round makes one attempt for every unfinished row: the Brownian
// increment and Lévy area of its interval (one IncrementArea call a row, as
// the intervals differ; one Next a round), the two stages, the error norm,
// then accept (the row moves to t1) or reject (the row stays and retries a
// shorter interval of the same path). SRA1's first stage is y0 itself, so a
// retried SRA1 step reuses f1 (one evaluation); ShARK's moves with H and is
// evaluated again.
func (pl *srkPlan) runAdaptive(ctx context.Context, b *Block, src AreaSource) error {
	m, d := b.M(), b.D
	n := m * d
	x := b.X
	wv, hh, z, f1 := b.Scratch(0, n), b.Scratch(1, n), b.Scratch(2, n), b.Scratch(3, n)
	f2, y1, gx, gs, s1 := b.Scratch(4, n), b.Scratch(5, n), b.Scratch(6, n), b.Scratch(7, n), b.Scratch(8, n)
	loc := b.Local()
	w, _ := (*loc).(*srkRows)
	if w == nil {
		w = &srkRows{}
		*loc = w
	}
	w.grow(m)
	for r := 0; r < m; r++ {
		w.t[r], w.h[r], w.prevErr[r] = pl.T, pl.h0, 1
		w.done[r], w.fresh[r], w.rejected[r] = false, true, false
	}
	tab := pl.tab
	// z1 = y0 (SRA1) is evaluated at x itself; ShARK's z1 is written into z.
	z1 := z
	if tab.aH1 == 0 {
		z1 = x
	}
	b1, b2 := (srkKP+srkKI)/srkQ, -srkKP/srkQ
	for {
		if err := Stopped(ctx); err != nil {
			return err
		}
		act, need := w.act[:0], w.need[:0]
		for r := 0; r < m; r++ {
			if w.done[r] {
				continue
			}
			act = append(act, r)
			if w.fresh[r] || !tab.reuseStage1 {
				need = append(need, r)
			}
			// The step ends at eps exactly once it reaches it.
			t1 := w.t[r] - w.h[r]
			w.last[r] = !(t1 > pl.eps)
			if w.last[r] {
				t1 = pl.eps
			}
			w.st[r] = newSRKStep(pl.sde, tab, w.t[r], t1)
			src.IncrementArea(wv, hh, r, r+1, w.t[r], t1)
		}
		if len(act) == 0 {
			break
		}
		b.Noise.Next()
		if tab.aH1 != 0 {
			for _, r := range act {
				pl.stage1(z, x, hh, &w.st[r], r*d, (r+1)*d)
			}
		}
		// s1 keeps the score at y0 of a rejected SRA1 row (its retry has
		// the same y0 and t0): only rows in need are evaluated.
		pl.scoreRows(b, w, s1, z1, gx, gs, need, func(r int) float64 { return w.t[r] })
		for _, r := range act {
			pl.stage2(z, f1, s1, z1, x, wv, hh, &w.st[r], r*d, (r+1)*d)
		}
		pl.scoreRows(b, w, f2, z, gx, gs, act, func(r int) float64 { return w.st[r].t2 })
		for _, r := range act {
			lo, hi := r*d, (r+1)*d
			st := &w.st[r]
			pl.finish(y1, x, f1, f2, z, wv, hh, st, lo, hi)
			// E = RMS(h b2 (f2 - f1)) / (atol + rtol RMS(y1)).
			var ss, yy float64
			for i := lo; i < hi; i++ {
				ss += f2[i] * f2[i]
				yy += y1[i] * y1[i]
			}
			nd := float64(d)
			E := st.h * tab.b2 * math.Sqrt(ss/nd) / (pl.atol + pl.rtol*math.Sqrt(yy/nd))
			b.Steps[r]++
			if math.IsNaN(E) || math.IsInf(E, 0) {
				return &NonFiniteError{Row: b.Rows[r], T: st.t1}
			}
			if E <= 1 {
				b.Accepted[r]++
				copy(x[lo:hi], y1[lo:hi])
				w.t[r], w.fresh[r] = st.t1, true
				if w.last[r] {
					w.done[r] = true
					continue
				}
				fac := srkSafety * math.Pow(max(E, srkErrFloor), -b1) * math.Pow(w.prevErr[r], -b2)
				if w.rejected[r] {
					fac = min(fac, 1)
				}
				w.h[r] = st.h * min(srkFacMax, max(srkFacMin, fac))
				w.prevErr[r], w.rejected[r] = max(E, srkErrFloor), false
			} else {
				b.Rejected[r]++
				w.h[r] = st.h * max(srkFacMin, srkSafety*math.Pow(E, -1/srkQ))
				w.rejected[r] = true
				w.fresh[r] = false
			}
			switch {
			case !(w.t[r]-w.h[r] < w.t[r]):
				return fmt.Errorf("sample: %s, row %d at t = %g: %w (h = %g); loosen -rtol and -atol", pl.name, b.Rows[r], w.t[r], ode.ErrStepUnderflow, w.h[r])
			case b.Steps[r] >= pl.maxSteps:
				return fmt.Errorf("sample: %s, row %d at t = %g: %w (%d attempts); raise max-steps or loosen -rtol and -atol", pl.name, b.Rows[r], w.t[r], ode.ErrMaxSteps, pl.maxSteps)
			}
		}
	}
	b.Save(1, x)
	return nil
}
