package sample

import (
	"context"
	"fmt"
	"math"

	"github.com/sdekit/sdekit/ode"
	"github.com/sdekit/sdekit/sde"
)

// DPMAdaptive is the adaptive-step DPM-Solver (Lu et al. 2022, DPM-Solver,
// section 3.3 and appendix C, Algorithm 4): a pair of singlestep solvers of
// orders k-1 and k that share their evaluations, DPM-Solver-12 (k = 2:
// first order and DPM-Solver-2 with r1 = 1/2, two evaluations an attempt)
// or DPM-Solver-23 (k = 3: DPM-Solver-2 with r1 = 1/3 and DPM-Solver-3 with
// r1 = 1/3, r2 = 2/3, three evaluations an attempt). From the state x_s at
// s, a step of h in lambda gives x_low and x_high at t; the error
//
//	E = RMS_i( (x_high - x_low)_i / delta_i ),   delta_i = max(atol, rtol |x_low_i|)
//
// accepts the step when E <= 1 (the row moves on with x_high: local
// extrapolation, as in the paper) and sets the next step to
//
//	h <- min(theta h E^(-1/k), lambda_eps - lambda),   theta = 0.9,
//
// starting from h = 0.05 (the paper's h_init). The paper's delta is
// max(atol, rtol max(|x_low|, |x_prev|)), its x_prev the solution before
// the step (its code: the previous step's x_low). We drop x_prev: under VE
// and EDM the state shrinks from the prior's scale (sigma_max = 50 or 80)
// to the data's, and one long step from x_s ~ 80 was then judged against
// rtol 80 and accepted with a sample error of 0.1-0.45 at rtol = atol =
// 1e-2 and up to 0.2 at 1e-3 (gauss:4 and gmm8, measured), where the rule
// on x_low alone keeps the error near the tolerance on every SDE, for the
// same evaluations on vp and up to 30% more on ve and edm (where the
// paper's rule was accepting larger errors). The error estimated is one of
// the state at t, so its scale is |x_t|.
//
// Each row has its own step size, as the adaptive probability-flow sampler
// (ProbabilityFlow): an easy row is not held back by a hard one, and a row's
// sample does not depend on the other rows. After a rejection the state and
// time are those of the attempt before, so the prediction at s is reused:
// an attempt costs k evaluations, k-1 after a rejection (the paper's code
// evaluates it again).
//
// Defaults. The paper's atol = 0.0078 (one level of 8-bit data on [-1, 1])
// and rtol = 0.05 are for images, where an error below one quantisation
// level is invisible. Our data are continuous and low-dimensional, and the
// toolkit measures the path error itself: with rtol = atol = 1e-3 the RMS
// distance to the exact flow is 3e-4 to 3e-3 (gauss:4 and gmm8 on vp,
// subvp, ve and edm, 256 rows), ten times below the standard error of a
// sample mean over 10^4 samples of unit scale (1e-2), so no sample metric
// can see it; DPM-Solver-23 in the noise form takes 61-92 evaluations per
// sample for it (the data form 53-81). At 1e-2 the path error (up to 0.07
// on gmm8) reaches that noise floor.
type DPMAdaptive struct {
	// Order is the higher order k of the pair: 2 (DPM-Solver-12) or 3
	// (DPM-Solver-23); 0 selects 3.
	Order int
	// RTol and ATol are the tolerances; 0 selects 1e-3.
	RTol, ATol float64
	// Prediction is the model form, "noise" (the paper's) or "data" (the
	// DPM-Solver++ form of the same pair); "" selects "data": at the default
	// tolerances it took 4-19 % fewer evaluations for a path error 3-4
	// times smaller on gmm8 and gauss:64 under vp, subvp, ve and edm (500
	// rows each; the frontier command of docs/samplers.md).
	Prediction string
	// MaxSteps bounds the step attempts (accepted and rejected) of each
	// row; 0 selects 1000 (option max-steps: an adaptive solver has no
	// fixed number of steps).
	MaxSteps int
}

const (
	dpmAdaptiveTol      = 1e-3
	dpmAdaptiveMaxSteps = 1000
	dpmAdaptiveTheta    = 0.9  // safety factor (paper, following Jolicoeur-Martineau et al. 2021)
	dpmAdaptiveHInit    = 0.05 // first trial step in lambda (paper's h_init)
)

// Name returns "dpm-adaptive".
func (*DPMAdaptive) Name() string { return "dpm-adaptive" }

// Options returns order, rtol, atol, prediction and max-steps.
func (s *DPMAdaptive) Options() []Option {
	return []Option{
		IntOption(&s.Order, "order", 3, "higher order of the adaptive solver pair: 2 (DPM-Solver-12) or 3 (DPM-Solver-23)"),
		FloatOption(&s.RTol, "rtol", dpmAdaptiveTol, "relative tolerance"),
		FloatOption(&s.ATol, "atol", dpmAdaptiveTol, "absolute tolerance"),
		predictionOption(&s.Prediction, PredictionData),
		IntOption(&s.MaxSteps, "max-steps", dpmAdaptiveMaxSteps, "the most step attempts a row may take (an error beyond)"),
	}
}

// Prepare fills the defaults and builds the plan.
func (s *DPMAdaptive) Prepare(c *Config) (Plan, error) {
	if s.Order == 0 {
		s.Order = 3
	}
	if s.Order != 2 && s.Order != 3 {
		return nil, optionErrorf(s, "DPMAdaptive.Order", "order", s.Order, "use 2 (DPM-Solver-12) or 3 (DPM-Solver-23)")
	}
	if s.RTol == 0 {
		s.RTol = dpmAdaptiveTol
	}
	if !(s.RTol > 0) || math.IsInf(s.RTol, 0) {
		return nil, optionErrorf(s, "DPMAdaptive.RTol", "rtol", s.RTol, "must be finite and > 0 (0 selects %g)", dpmAdaptiveTol)
	}
	if s.ATol == 0 {
		s.ATol = dpmAdaptiveTol
	}
	if !(s.ATol > 0) || math.IsInf(s.ATol, 0) {
		return nil, optionErrorf(s, "DPMAdaptive.ATol", "atol", s.ATol, "must be finite and > 0 (0 selects %g)", dpmAdaptiveTol)
	}
	if err := preparePrediction(s, "DPMAdaptive.Prediction", &s.Prediction, PredictionData); err != nil {
		return nil, err
	}
	if s.MaxSteps == 0 {
		s.MaxSteps = dpmAdaptiveMaxSteps
	}
	if s.MaxSteps < 1 {
		return nil, optionErrorf(s, "DPMAdaptive.MaxSteps", "max-steps", s.MaxSteps, "use >= 1 step attempts (0 selects %d)", dpmAdaptiveMaxSteps)
	}
	T := c.SDE.T()
	pl := &adaptivePlan{sde: c.SDE, T: T, eps: c.Eps,
		lamT: sde.LogSNR(c.SDE, T), lamEps: sde.LogSNR(c.SDE, c.Eps),
		order: s.Order, data: s.Prediction == PredictionData, rtol: s.RTol, atol: s.ATol, maxSteps: s.MaxSteps}
	pl.r1 = 0.5
	if s.Order == 3 {
		pl.r1, pl.r2 = 1.0/3, 2.0/3
	}
	if !(pl.lamEps > pl.lamT) || math.IsInf(pl.lamEps, 0) || math.IsInf(pl.lamT, 0) {
		return nil, fmt.Errorf("sample: dpm-adaptive needs a finite lambda = log(alpha/sigma) (sigma > 0) that rises from T to eps; the %s SDE has %v at T and %v at eps", c.SDE.Name(), pl.lamT, pl.lamEps)
	}
	return pl, nil
}

// Describe gives the pair, the tolerances and the form.
func (s *DPMAdaptive) Describe() string {
	return fmt.Sprintf("DPM-Solver-%d%d, rtol %g atol %g, %s prediction", s.Order-1, s.Order, s.RTol, s.ATol, s.Prediction)
}

// adaptivePlan is a prepared DPMAdaptive.
type adaptivePlan struct {
	sde          sde.SDE
	T, eps       float64
	lamT, lamEps float64
	order        int
	r1, r2       float64
	data         bool
	rtol, atol   float64
	maxSteps     int
}

func (pl *adaptivePlan) PriorStd() float64 { return pl.sde.PriorStd() }
func (pl *adaptivePlan) CountsSteps() bool { return true }

// Path is the prior and the sample: the steps differ from row to row, so
// there are no intermediate states common to all rows.
func (pl *adaptivePlan) Path() []float64 { return []float64{pl.T, pl.eps} }

// adaptiveRows is one worker's per-row state (Block.Local), grown to the
// largest block.
type adaptiveRows struct {
	rowSteps
	st  []dpmStep
	lam []float64 // lambda of each row's state
}

func (w *adaptiveRows) grow(m int) {
	if w.rowSteps.grow(m) {
		w.st, w.lam = make([]dpmStep, m), make([]float64, m)
	}
}

// predictRows writes into dst the prediction at evaluation point `stage` of
// each row of the block listed in rows, from the rows of x, each at its own
// time; gx and gs are scratch of the block's size. It counts one evaluation
// for each listed row.
func (pl *adaptivePlan) predictRows(b *Block, w *adaptiveRows, dst, x, gx, gs []float64, rows []int, stage int) {
	d := b.D
	b.gatherScore(gx, gs, w.gt, x, rows, func(r int) float64 { return w.st[r].t[stage] })
	for k, r := range rows {
		al, sg := w.st[r].alpha[stage], w.st[r].sigma[stage]
		out, xs, sc := dst[r*d:(r+1)*d], gx[k*d:(k+1)*d], gs[k*d:(k+1)*d]
		if pl.data {
			s2, ia := sg*sg, 1/al
			for i := range out {
				out[i] = (xs[i] + s2*sc[i]) * ia
			}
		} else {
			for i := range out {
				out[i] = -sg * sc[i]
			}
		}
	}
}

func (pl *adaptivePlan) Run(ctx context.Context, b *Block) error {
	m, d := b.M(), b.D
	n := m * d
	x := b.X
	p0, p1, p2, u := b.Scratch(0, n), b.Scratch(1, n), b.Scratch(2, n), b.Scratch(3, n)
	lo, hi, gx, gs := b.Scratch(4, n), b.Scratch(5, n), b.Scratch(6, n), b.Scratch(7, n)
	loc := b.Local()
	w, _ := (*loc).(*adaptiveRows)
	if w == nil {
		w = &adaptiveRows{}
		*loc = w
	}
	w.grow(m)
	for r := 0; r < m; r++ {
		w.lam[r], w.t[r], w.h[r] = pl.lamT, pl.T, math.Min(dpmAdaptiveHInit, pl.lamEps-pl.lamT)
		w.done[r], w.fresh[r] = false, true
	}
	k := pl.order
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
			if w.fresh[r] {
				need = append(need, r)
			}
			// The step ends at eps exactly once it reaches lambda_eps.
			rem := pl.lamEps - w.lam[r]
			te := pl.eps
			w.last[r] = w.h[r] >= rem
			if w.last[r] {
				w.h[r] = rem
			} else {
				te = sde.TimeAtLogSNR(pl.sde, w.lam[r]+w.h[r])
			}
			w.st[r] = newDPMStep(pl.sde, pl.data, k, pl.r1, pl.r2, w.t[r], w.lam[r], w.h[r], te)
		}
		if len(act) == 0 {
			break
		}
		pl.predictRows(b, w, p0, x, gx, gs, need, 0)
		for _, r := range act {
			w.st[r].u1.apply(u, x, p0, nil, r*d, (r+1)*d)
		}
		pl.predictRows(b, w, p1, u, gx, gs, act, 1)
		if k == 3 {
			for _, r := range act {
				w.st[r].u2.apply(u, x, p0, p1, r*d, (r+1)*d)
			}
			pl.predictRows(b, w, p2, u, gx, gs, act, 2)
		}
		pj := p1
		if k == 3 {
			pj = p2
		}
		for _, r := range act {
			a, c := r*d, (r+1)*d
			st := &w.st[r]
			st.fin[k-1].apply(lo, x, p0, p1, a, c)
			st.fin[k].apply(hi, x, p0, pj, a, c)
			var ss float64
			for i := a; i < c; i++ {
				del := math.Max(pl.atol, pl.rtol*math.Abs(lo[i]))
				e := (hi[i] - lo[i]) / del
				ss += e * e
			}
			E := math.Sqrt(ss / float64(d))
			b.Steps[r]++
			if math.IsNaN(E) || math.IsInf(E, 0) {
				// x at s is finite (it passed this test), so the step made
				// x_low or x_high NaN or Inf.
				return &NonFiniteError{Row: b.Rows[r], T: st.t[3]}
			}
			if E <= 1 {
				b.Accepted[r]++
				copy(x[a:c], hi[a:c])
				w.t[r], w.fresh[r] = st.t[3], true
				if w.last[r] {
					w.lam[r], w.done[r] = pl.lamEps, true
					continue
				}
				w.lam[r] += w.h[r]
			} else {
				b.Rejected[r]++
				w.fresh[r] = false
			}
			// E = 0 gives +Inf, which the remaining interval caps.
			w.h[r] = math.Min(dpmAdaptiveTheta*w.h[r]*math.Pow(E, -1/float64(k)), pl.lamEps-w.lam[r])
			switch {
			case !(w.lam[r]+w.h[r] > w.lam[r]):
				return fmt.Errorf("sample: dpm-adaptive, row %d at t = %g: %w (h = %g in lambda); loosen -rtol and -atol", b.Rows[r], w.t[r], ode.ErrStepUnderflow, w.h[r])
			case b.Steps[r] >= pl.maxSteps:
				return fmt.Errorf("sample: dpm-adaptive, row %d at t = %g: %w (%d attempts); raise max-steps or loosen -rtol and -atol", b.Rows[r], w.t[r], ode.ErrMaxSteps, pl.maxSteps)
			}
		}
	}
	b.Save(1, x)
	return nil
}
