package likelihood

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"

	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/ode"
	"github.com/sdekit/sdekit/sde"
)

// VJPScore is a score that also gives the vector-Jacobian product
// v^T (d score/dx) row by row: VJPTo writes, for each of the n = len(t) rows,
// v_i^T J(x_i, t_i) into dst. It is what Hutchinson probes need, and the exact
// trace by D products with unit vectors when the score has no TraceScore.
// Implementations must be safe for concurrent calls that write disjoint dst.
type VJPScore interface {
	sde.Score
	VJPTo(dst, v, x, t []float64)
}

// TraceScore is an optional extension of a VJPScore: the exact trace of
// d score/dx for each row (the Gaussian-mixture oracle has it in closed form).
type TraceScore interface {
	TraceJacobianTo(dst, x, t []float64)
}

// FusedScore is an optional extension of a VJPScore, for speed: ScoreVJPTo
// writes the score into s and v^T (ds/dx) into vjp for every row in one pass
// (a network's forward pass, or a mixture's responsibilities, then serve
// both). With Hutchinson probes Evaluate uses it for the first probe of each
// evaluation; the answers are those of ScoreTo and VJPTo.
type FusedScore interface {
	ScoreVJPTo(s, vjp, v, x, t []float64)
}

// FusedTraceScore is an optional extension of a VJPScore, for speed with the
// exact divergence: ScoreTraceTo writes the score into s and the trace of
// ds/dx into tr (one value per row) in one pass (a network's forward pass
// and D backward ones, instead of a forward for the score and D
// forward-backward pairs). Probe "exact" uses it before TraceScore and the D
// products when FusedTrace reports that it is one pass (a score.Net whose
// network has no fused trace answers false: the field's own D products, on
// its pooled scratch, are then the same work without allocating); the
// answers are those of ScoreTo and the trace.
type FusedTraceScore interface {
	ScoreTraceTo(s, tr, x, t []float64)
	FusedTrace() bool
}

// Config configures a probability-flow likelihood run. The zero value of every
// numeric field means its default.
type Config struct {
	SDE   sde.SDE
	Score VJPScore
	// Probe is the divergence estimator: "rademacher" (default), "gaussian"
	// (Hutchinson with Rademacher or standard normal probes, drawn once per
	// point from rng.New(seed, row, rng.Probe) and fixed for the whole solve),
	// or "exact" (the trace itself: TraceScore when the score has it, otherwise
	// D vector-Jacobian products with unit vectors).
	Probe string
	// Probes is the number K of Hutchinson probes per point, default 1. The K
	// probes share one augmented solve of the state [x; delta_1 .. delta_K]
	// (dimension D+K): the x trajectory does not depend on the probe, so one
	// solve gives K estimates of delta along the same path at the cost of K
	// vector-Jacobian products per evaluation. Ignored (taken as 1) for "exact".
	// Negative values are an error.
	Probes int
	// Eps is the data end of the integration, default 1e-5: the density
	// computed is p_Eps, the marginal at time Eps. Negative values are an error.
	Eps float64
	// T is the prior end of the integration, default SDE.T(). The solve runs
	// forward from Eps to T; Eps >= T (which includes asking for the sampling
	// direction T -> Eps) is an error, and so is T > SDE.T().
	T float64
	// RTol and ATol are the solver tolerances, default 1e-5 each.
	RTol, ATol float64
	// Solver is any ode.TableauByName name, default "dopri5". A tableau with
	// no error estimate (euler, heun, midpoint, rk4) needs Steps.
	Solver string
	// Controller is the adaptive solve's step-size controller (see
	// ode.ControllerByName); the zero value is the integral controller of
	// scipy and Hairer's codes, the reference's.
	Controller ode.PID
	// Steps > 0 takes that many equal steps instead of an adaptive solve.
	Steps int
	// MaxSteps bounds the step attempts per point; 0 selects
	// DefaultMaxSteps. A point that needs more fails with a *ode.RowError
	// naming it (ErrMaxSteps) instead of running on: a diverged network
	// once took 16 s and 262,646 evaluations for one point, and a run
	// minutes, silently.
	MaxSteps int
	// Joint is the flattened solve of the reference implementation: every
	// point of the call shares one step size and one error norm, so a point's
	// answer and cost then depend on its batch. For comparison only.
	Joint bool
	// Workers is the number of goroutines (0: runtime.NumCPU()). Results do
	// not depend on it.
	Workers int
	// Block is the largest number of points per score call (0: all active
	// points of a worker).
	Block int
	// KeepLatent stores each point's end state x_T in Point.Z.
	KeepLatent bool
}

// Point is the likelihood of one data point.
type Point struct {
	// LogP is log p_Eps(x): the log-density of the marginal at time Eps (not
	// of the data distribution p_0), in nats; for K probes, the mean of the K
	// estimates.
	LogP float64
	// LogPStdErr is the standard error of LogP over the K probes: 0 for the
	// exact trace, NaN for a single Hutchinson probe (one probe shows no
	// spread; the spread across points, see Summarise, still contains it).
	LogPStdErr float64
	// PriorLogP is log pi(x_T), the prior log-density at the end state.
	PriorLogP float64
	// Delta is the integral of the divergence from Eps to T (mean over probes);
	// LogP = PriorLogP + Delta.
	Delta float64
	// NFE counts evaluations of the augmented vector field for this point
	// (each is one score evaluation plus K vector-Jacobian products, one trace,
	// or D vector-Jacobian products); Accepted and Rejected count its steps.
	NFE, Accepted, Rejected int
	// Z is x_T, only with Config.KeepLatent.
	Z []float64
}

const (
	probeRademacher = iota
	probeGaussian
	probeExact
)

// DefaultEps is the default data end of the likelihood integration.
const DefaultEps = 1e-5

// DefaultTol is the default relative and absolute tolerance, the reference
// implementation's (score_sde's likelihood uses rtol = atol = 1e-5), so that
// speed and accuracy compare like for like. Its per-point error is not small
// with a trained network: for the 3 x 128 MLP of issue 24 on 1000 gmm8
// points (exact divergence, against a float64 dop853 solve at 1e-10) the
// mean |error| is 0.005 nats, but 68 points are off by more than 0.01 and
// the worst by 0.4. Use AccurateTol when single points matter.
const DefaultTol = 1e-5

// AccurateTol is the rtol = atol that keeps every point's log-density within
// 0.01 nats of a tight solve in that measurement: mean |error| 4e-5 nats,
// worst 1.5e-3, at 843 evaluations per point against 437 at DefaultTol.
// Tightening atol matters more than rtol (rtol 1e-7 with atol 1e-5 left a
// worst error of 0.18 nats; rtol 1e-5 with atol 1e-7, 0.08); 1e-6 for both
// left 3 points above 0.01 (worst 0.023). The error is the solver's; a
// Hutchinson probe adds its own, much larger, variance on top.
const AccurateTol = 3e-7

// plan is a validated Config with its defaults filled in.
type plan struct {
	cfg    Config
	d, k   int // data dimension, number of delta components
	probe  int
	tracer TraceScore
	fused  FusedScore
	fusedT FusedTraceScore
	opt    ode.Options
}

func newPlan(cfg Config) (*plan, error) {
	if cfg.SDE == nil {
		panic("likelihood: Config.SDE is nil")
	}
	if cfg.Score == nil {
		panic("likelihood: Config.Score is nil")
	}
	if err := cfg.SDE.Validate(); err != nil {
		return nil, fmt.Errorf("likelihood: %w", err)
	}
	p := &plan{cfg: cfg, d: cfg.Score.Dim()}
	if p.d < 1 {
		panic(fmt.Sprintf("likelihood: score dimension %d", p.d))
	}
	c := &p.cfg
	switch c.Probe {
	case "", "rademacher":
		c.Probe, p.probe = "rademacher", probeRademacher
	case "gaussian":
		p.probe = probeGaussian
	case "exact":
		p.probe = probeExact
	default:
		return nil, fmt.Errorf("likelihood: unknown probe %q; use rademacher, gaussian or exact", c.Probe)
	}
	switch {
	case c.Probes < 0:
		return nil, fmt.Errorf("likelihood: probes = %d; use at least 1 Hutchinson probe per point", c.Probes)
	case c.Probes == 0:
		c.Probes = 1
	}
	p.k = c.Probes
	if fs, ok := cfg.Score.(FusedScore); ok {
		p.fused = fs
	}
	if p.probe == probeExact {
		p.k = 1
		if ts, ok := cfg.Score.(TraceScore); ok {
			p.tracer = ts
		}
		if fs, ok := cfg.Score.(FusedTraceScore); ok && fs.FusedTrace() {
			p.fusedT = fs
		}
	}
	T := c.SDE.T()
	if c.Eps == 0 {
		c.Eps = DefaultEps
	}
	if c.T == 0 {
		c.T = T
	}
	switch {
	case math.IsNaN(c.Eps) || c.Eps < 0 || math.IsInf(c.Eps, 0):
		return nil, fmt.Errorf("likelihood: eps = %v; use a small positive time such as 1e-5", c.Eps)
	case math.IsNaN(c.T) || c.T > T || c.T < 0:
		return nil, fmt.Errorf("likelihood: T = %v; the %s SDE ends at %v, use a time in (eps, %v]", c.T, c.SDE.Name(), T, T)
	case c.Eps > c.T:
		return nil, fmt.Errorf("likelihood: eps = %v is after T = %v: the likelihood integrates the probability flow forward from the data at eps to the prior at T (T -> eps is the sampling direction and gives meaningless densities); swap them", c.Eps, c.T)
	case c.Eps == c.T:
		return nil, fmt.Errorf("likelihood: eps = T = %v leaves nothing to integrate; use eps well below T (default 1e-5)", c.Eps)
	}
	if c.RTol == 0 {
		c.RTol = DefaultTol
	}
	if c.ATol == 0 {
		c.ATol = DefaultTol
	}
	if !(c.RTol > 0) || !(c.ATol > 0) || math.IsInf(c.RTol, 0) || math.IsInf(c.ATol, 0) {
		return nil, fmt.Errorf("likelihood: rtol = %v, atol = %v; both must be finite and > 0", c.RTol, c.ATol)
	}
	if c.Solver == "" {
		c.Solver = "dopri5"
	}
	tab, err := ode.TableauByName(c.Solver)
	if err != nil {
		return nil, fmt.Errorf("likelihood: %w", err)
	}
	if c.Steps < 0 || c.MaxSteps < 0 || c.Block < 0 {
		return nil, fmt.Errorf("likelihood: steps = %d, max steps = %d, block = %d; none may be negative", c.Steps, c.MaxSteps, c.Block)
	}
	if c.Steps == 0 && !tab.Adaptive() {
		return nil, fmt.Errorf("likelihood: solver %q has no error estimate; give a number of steps or use dopri5, tsit5 or bosh3", c.Solver)
	}
	if c.Workers < 0 {
		return nil, fmt.Errorf("likelihood: workers = %d; use 0 for one per CPU", c.Workers)
	}
	if c.Workers == 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.MaxSteps == 0 {
		c.MaxSteps = DefaultMaxSteps
	}
	p.opt = ode.Options{Tableau: tab, RTol: c.RTol, ATol: c.ATol, Steps: c.Steps, MaxSteps: c.MaxSteps,
		Joint: c.Joint, Workers: c.Workers, Block: c.Block, Controller: c.Controller}
	if err := c.Controller.Validate(); err != nil {
		return nil, fmt.Errorf("likelihood: controller: %w", err)
	}
	return p, nil
}

// checkData validates the shape and the values of x and returns the rows
// (0..n-1 when rows is nil).
func checkData(x []float64, rows []int, d int) ([]int, error) {
	if rows == nil {
		if len(x)%d != 0 {
			return nil, fmt.Errorf("likelihood: the data has %d values, not a whole number of rows of dimension %d (the score's); check that the data matches the model", len(x), d)
		}
		rows = make([]int, len(x)/d)
		for i := range rows {
			rows[i] = i
		}
	} else if len(x) != len(rows)*d {
		return nil, fmt.Errorf("likelihood: the data has %d values for %d rows, but rows of the score's dimension %d need %d; check that the data matches the model", len(x), len(rows), d, len(rows)*d)
	}
	for p, r := range rows {
		if r < 0 {
			return nil, fmt.Errorf("likelihood: row index %d at position %d is negative; rows are global row numbers from 0", r, p)
		}
		for j, v := range x[p*d : (p+1)*d] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("likelihood: data row %d column %d is %v; remove or repair non-finite values", r, j, v)
			}
		}
	}
	return rows, nil
}

// Evaluate computes log p_Eps(x) by the probability-flow ODE for the points
// of x (len(rows) rows of Score.Dim() values; rows == nil means 0..n-1).
// rows are global row indices: the probes of a point come from
// rng.New(seed, rows[k], rng.Probe), and (unless Config.Joint) a point's
// answer and cost depend only on the point, its row index and the seed, not
// on its batch, Workers or Block.
//
// progress, if not nil, is called with the number of points finished after
// each group of points; an error from it stops the run. On a run-time failure
// (a point whose solve fails, cancellation) Evaluate returns the points
// computed so far, with NaN LogP for the others, and the error.
func Evaluate(ctx context.Context, cfg Config, seed uint64, x []float64, rows []int, progress func(done int) error) ([]Point, error) {
	p, err := newPlan(cfg)
	if err != nil {
		return nil, err
	}
	rows, err = checkData(x, rows, p.d)
	if err != nil {
		return nil, err
	}
	out := make([]Point, len(rows))
	err = p.run(ctx, seed, x, rows, nil, out, progress)
	return out, err
}

// chunkRows is the number of points per solve between progress reports.
// Results do not depend on it (except in Joint mode, which solves all points
// at once). 64 rather than 512: the solver's stage vectors of a chunk stay in
// the caches at high dimension (gauss:784, 1000 points: 100 ms against
// 123-146 ms with 512; gmm8 unchanged; go test -run '^$' -bench
// 'Reference/(gauss784|gmm8)/rademacher$' -benchtime 5x ./likelihood, the
// sizes 16-512 interleaved), and a slow point holds the progress bar back for
// 64 points, not 512.
const chunkRows = 64

// run evaluates the jobs (x row p, global row rows[p], repeat rep[p], rep nil
// meaning 0) into out.
func (p *plan) run(ctx context.Context, seed uint64, x []float64, rows, rep []int, out []Point, progress func(int) error) error {
	n := len(rows)
	for i := range out {
		out[i] = Point{LogP: math.NaN(), LogPStdErr: math.NaN(), PriorLogP: math.NaN(), Delta: math.NaN()}
	}
	if n == 0 {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	d, k := p.d, p.k
	w := d + k
	solver, err := ode.NewSolver(w, p.opt)
	if err != nil {
		return fmt.Errorf("likelihood: %w", err)
	}
	chunk := max(chunkRows, 64*p.cfg.Workers)
	if p.cfg.Joint {
		chunk = n
	}
	chunk = min(chunk, n)
	f := newField(p, chunk)
	y0 := make([]float64, chunk*w)
	var st *rng.Stream
	var pbuf []float64
	for lo := 0; lo < n; lo += chunk {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("likelihood: stopped after %d of %d points: %w", lo, n, context.Cause(ctx))
		}
		hi := min(lo+chunk, n)
		m := hi - lo
		for i := 0; i < m; i++ {
			row := y0[i*w : (i+1)*w]
			copy(row, x[(lo+i)*d:(lo+i+1)*d])
			clear(row[d:])
		}
		if p.probe != probeExact {
			// Probes of job i: block r of the row's probe stream, where block r
			// is values [r K D, (r+1) K D) of one long fill, so repeat 0 is what
			// Evaluate draws for the row.
			kd := k * d
			for i := 0; i < m; i++ {
				r := 0
				if rep != nil {
					r = rep[lo+i]
				}
				if st == nil {
					st = rng.NewStream(seed, rows[lo+i], rng.Probe)
				} else {
					st.Reset(seed, rows[lo+i], rng.Probe)
				}
				if cap(pbuf) < (r+1)*kd {
					pbuf = make([]float64, (r+1)*kd)
				}
				buf := pbuf[:(r+1)*kd]
				if p.probe == probeRademacher {
					rng.FillRademacher(st.R, buf)
				} else {
					rng.FillNormal(st.R, buf)
				}
				for q := 0; q < k; q++ {
					copy(f.probes[q][i*d:(i+1)*d], buf[r*kd+q*d:])
				}
			}
		}
		res, serr := solver.Solve(ctx, f.F, p.cfg.Eps, p.cfg.T, y0[:m*w])
		p.collect(res, out[lo:hi])
		if serr != nil {
			return p.wrapErr(serr, res, rows[lo:hi], lo, n)
		}
		if progress != nil {
			if err := progress(hi); err != nil {
				return fmt.Errorf("likelihood: stopped after %d of %d points: %w", hi, n, err)
			}
		}
	}
	return nil
}

// collect turns the end states of a solve into Points (rows that failed keep
// NaN).
func (p *plan) collect(res ode.Result, out []Point) {
	d, k := p.d, p.k
	w := d + k
	if len(res.Y) < len(out)*w || len(res.Stats) < len(out) {
		return
	}
	for i := range out {
		st := res.Stats[i]
		pt := &out[i]
		pt.NFE, pt.Accepted, pt.Rejected = st.NFE, st.Accepted, st.Rejected
		if res.Errs != nil && res.Errs[i] != nil {
			continue
		}
		row := res.Y[i*w : (i+1)*w]
		z := row[:d]
		pt.PriorLogP = sde.PriorLogProb(p.cfg.SDE, z)
		var mean float64
		for _, v := range row[d:] {
			mean += v
		}
		mean /= float64(k)
		pt.Delta = mean
		pt.LogP = pt.PriorLogP + mean
		switch {
		case p.probe == probeExact:
			pt.LogPStdErr = 0
		case k == 1:
			pt.LogPStdErr = math.NaN()
		default:
			var ss float64
			for _, v := range row[d:] {
				ss += (v - mean) * (v - mean)
			}
			pt.LogPStdErr = math.Sqrt(ss / float64(k-1) / float64(k))
		}
		if p.cfg.KeepLatent {
			pt.Z = append([]float64(nil), z...)
		}
	}
}

// DefaultMaxSteps is the step attempts a point may take by default: 2000
// dopri5 steps are 12,000 evaluations, 30 times what a trained network's
// point takes at rtol = atol = 1e-5 (about 400) and 200 times the exact
// scores' (about 60).
const DefaultMaxSteps = 2000

// wrapErr rewrites a solve error in terms of global data rows.
func (p *plan) wrapErr(err error, res ode.Result, rows []int, done, n int) error {
	var nf *ode.NonFiniteError
	var re *ode.RowError
	switch {
	case errors.As(err, &nf) && nf.Row >= 0 && nf.Row < len(rows):
		e := *nf
		e.Row = rows[nf.Row]
		return fmt.Errorf("likelihood: data row %d: the augmented probability flow is not finite at t = %g (check the score network at this point, or raise eps): %w", e.Row, e.T, &e)
	case errors.As(err, &re) && re.Row >= 0 && re.Row < len(rows):
		e := *re
		e.Row = rows[re.Row]
		hint := "loosen rtol/atol or raise eps"
		if errors.Is(err, ode.ErrMaxSteps) {
			hint = "the model may have diverged; otherwise raise the step limit (-max-steps), loosen rtol/atol or raise eps"
			// The other rows of the solve ran on; name every one that
			// hit the budget too, not only the first.
			var more []string
			for i, ei := range res.Errs {
				if i != re.Row && i < len(rows) && errors.Is(ei, ode.ErrMaxSteps) {
					more = append(more, strconv.Itoa(rows[i]))
				}
			}
			switch len(more) {
			case 0:
			case 1:
				hint = fmt.Sprintf("data row %s of the same %d points hit it too; %s", more[0], len(rows), hint)
			default:
				hint = fmt.Sprintf("data rows %s of the same %d points hit it too; %s", strings.Join(more, ", "), len(rows), hint)
			}
		}
		return fmt.Errorf("likelihood: data row %d: %w; %s", e.Row, &e, hint)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("likelihood: stopped within points %d..%d of %d: %w", done, done+len(rows)-1, n, err)
	}
	return fmt.Errorf("likelihood: points %d..%d: %w", done, done+len(rows)-1, err)
}
