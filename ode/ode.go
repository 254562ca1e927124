package ode

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Func evaluates dy/dt for a block of rows. len(t) = number of rows m in this
// call; y and dst hold m rows of dim values each, row-major; row k of y is at
// time t[k]; rows[k] is the caller-visible index of that row (0..n-1 of the
// original y0), so a vector field can keep per-row data (e.g. a fixed random
// probe per row).
//
// f must write every value of dst and must not modify t, y or rows nor keep
// them after it returns. Rows are independent problems: the result of a row
// must not depend on which other rows share the call. Calls from different
// workers (Options.Workers > 1) may run concurrently.
type Func func(dst, t, y []float64, rows []int)

// PID is Söderlind's PID step-size controller. With the error norms err_n of
// the current step and err_{n-1}, err_{n-2} of the two accepted steps before
// it, and k = EmbeddedOrder + 1, an accepted step proposes
//
//	h_{n+1} = h_n * clamp(Safety * err_n^(-b1) * err_{n-1}^(-b2) * err_{n-2}^(-b3), FacMin, FacMax)
//	b1 = (KP+KI+KD)/k, b2 = -(KP+2 KD)/k, b3 = KD/k,
//
// and a rejected step retries with h_n * max(FacMin, Safety * err_n^(-1/k)).
// After a rejection the next accepted step does not grow the step.
//
// The zero value is the integral (I) controller of Hairer's codes and of
// scipy: KI = 1 (used when KP, KI and KD are all zero), Safety 0.9, FacMin
// 0.2, FacMax 10. Hairer's DOPRI5 PI controller (beta = 0.04, exponents
// 0.17 and 0.04 with k = 5) is KP = 0.2, KI = 0.65. Error norms kept as
// memory are floored at 1e-4, as in DOPRI5.
type PID struct {
	KP, KI, KD, Safety, FacMin, FacMax float64
}

// ControllerByName returns a named step-size controller:
//
//	i       the integral controller of Hairer's codes and scipy (PID{}, the default)
//	pi3040  Söderlind's PI with KP 0.4, KI 0.3
//	pi4020  Söderlind's PI with KP 0.4, KI 0.2
//	dopri5  the PI controller of Hairer's DOPRI5 (KP 0.2, KI 0.65)
//
// On the probability-flow ODEs of sample's BenchmarkWorkPrecision
// (go test -run '^$' -bench WorkPrecision ./sample prints evaluations and
// error per tolerance; interpolated by hand), at equal error the three PI
// controllers take 8-22% fewer evaluations than i on VP and sub-VP; on VE
// dopri5 is even with i and the others take up to 9% more. A PI controller lands at a lower error than i for the same
// tolerance, so compare them at equal error, not equal tolerance.
func ControllerByName(name string) (PID, error) {
	switch strings.ToLower(name) {
	case "i", "":
		return PID{}, nil
	case "pi3040":
		return PID{KP: 0.4, KI: 0.3}, nil
	case "pi4020":
		return PID{KP: 0.4, KI: 0.2}, nil
	case "dopri5":
		return PID{KP: 0.2, KI: 0.65}, nil
	}
	return PID{}, fmt.Errorf("ode: unknown step-size controller %q (want i, pi3040, pi4020 or dopri5)", name)
}

// Validate reports whether p's coefficients are usable (finite; Safety in
// (0, 1]; FacMin in (0, 1]; FacMax >= 1), with its zero fields taken as the
// defaults. NewSolver checks the same.
func (p PID) Validate() error {
	_, err := p.withDefaults()
	return err
}

func (p PID) withDefaults() (PID, error) {
	if p.KP == 0 && p.KI == 0 && p.KD == 0 {
		p.KI = 1
	}
	if p.Safety == 0 {
		p.Safety = 0.9
	}
	if p.FacMin == 0 {
		p.FacMin = 0.2
	}
	if p.FacMax == 0 {
		p.FacMax = 10
	}
	for _, v := range []float64{p.KP, p.KI, p.KD, p.Safety, p.FacMin, p.FacMax} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return p, errors.New("ode: PID coefficients must be finite")
		}
	}
	if !(p.Safety > 0 && p.Safety <= 1) {
		return p, fmt.Errorf("ode: PID.Safety = %g, want 0 < Safety <= 1", p.Safety)
	}
	if !(p.FacMin > 0 && p.FacMin <= 1 && p.FacMax >= 1) {
		return p, fmt.Errorf("ode: PID.FacMin = %g, FacMax = %g, want 0 < FacMin <= 1 <= FacMax", p.FacMin, p.FacMax)
	}
	return p, nil
}

// Options configures a solve. The zero value (with RTol and ATol set) is an
// adaptive Dormand-Prince 5(4) solve with per-row step-size control.
type Options struct {
	Tableau    *Tableau // nil => DormandPrince
	RTol, ATol float64  // for adaptive tableaux; must be > 0 (error otherwise)
	Controller PID
	// Dt0 is the first step (0: Hairer's automatic initial step). DtMin is
	// the smallest step allowed: a step rejected at or below it is an error
	// (ErrStepUnderflow). DtMax caps the step (0: |t1-t0|).
	//
	// For a tableau with no embedded pair and Steps == 0, Dt0 > 0 selects
	// the constant-step controller with ceil(|t1-t0|/Dt0) equal steps.
	Dt0, DtMin, DtMax float64
	// Steps > 0 (or a tableau with no embedded pair) takes Steps equal steps
	// with no error control.
	Steps int
	// Grid, when set, is the times of fixed steps from t0 (Grid[0]) to t1
	// (the last), strictly monotone: a fixed-step solve on a grid of the
	// caller's (a sampler's time schedule). It takes the place of Steps.
	Grid []float64
	// MaxSteps bounds the step attempts (accepted and rejected) of each row
	// (of the joint solve in Joint mode); 0 => 100000. Not used with fixed
	// steps.
	MaxSteps int
	// Times are optional dense-output times, monotone in the direction
	// t0->t1, inside [t0,t1].
	Times []float64
	// Joint is the flattened solve: one step size for all rows, one RMS
	// error norm over all components of all rows (scipy's RK45 applied to
	// the flattened batch).
	Joint bool
	// Workers <= 1 => serial. Results are bit-identical for any value.
	Workers int
	// Block is the largest number of rows per Func call, 0 => all active
	// rows of a worker's chunk.
	Block int
}

// Stats counts the work of one row.
type Stats struct {
	Steps    int // step attempts: Accepted + Rejected
	Accepted int
	Rejected int
	NFE      int // row-evaluations of the vector field for this row (stages)
}

func (s *Stats) add(o Stats) {
	s.Steps += o.Steps
	s.Accepted += o.Accepted
	s.Rejected += o.Rejected
	s.NFE += o.NFE
}

// Result is the outcome of a solve. The slices of a Result returned by
// (*Solver).Solve belong to the Solver and are overwritten by its next
// Solve; the package-level Solve returns fresh slices.
type Result struct {
	Y []float64 // n*dim end states (where each row stopped, on error)
	// Dense holds the states at Options.Times: len(Times)*n*dim, time-major:
	// Dense[(j*n+i)*dim : (j*n+i+1)*dim] is row i at Times[j]. Times a row
	// did not reach (failure, cancellation) hold NaN.
	Dense []float64
	T     []float64 // time each row reached: t1, or where it stopped
	Stats []Stats   // per row (in Joint mode every row gets the joint stats)
	Total Stats     // sum over rows
	// Errs is nil when every row succeeded; otherwise Errs[i] is row i's
	// error (nil for rows that finished).
	Errs []error
}

// Sentinel errors; test with errors.Is.
var (
	// ErrMaxSteps: a row used Options.MaxSteps step attempts.
	ErrMaxSteps = errors.New("ode: maximum number of steps reached")
	// ErrStepUnderflow: a rejected step fell below max(DtMin, 10 ulp(t)).
	ErrStepUnderflow = errors.New("ode: step size underflow")
	// ErrNonFinite: a NaN or Inf state or derivative. The error value is a
	// *NonFiniteError.
	ErrNonFinite = errors.New("ode: non-finite state")
)

// RowError is a run-time failure of one row (Row >= 0) or of the joint
// solve (Row = -1) at time T. It wraps ErrMaxSteps or ErrStepUnderflow.
type RowError struct {
	Row int
	T   float64
	Err error
}

func (e *RowError) Error() string {
	if e.Row < 0 {
		return fmt.Sprintf("%v in the joint solve at t=%g", e.Err, e.T)
	}
	return fmt.Sprintf("%v in row %d at t=%g", e.Err, e.Row, e.T)
}

func (e *RowError) Unwrap() error { return e.Err }

// NonFiniteError reports a NaN or Inf in row Row at time T: in the initial
// state, in the derivative at an accepted state, in the state after a fixed
// step, or in every trial step until the step size underflowed.
type NonFiniteError struct {
	Row int
	T   float64
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("ode: non-finite state or derivative in row %d at t=%g", e.Row, e.T)
}

// Is makes errors.Is(err, ErrNonFinite) true.
func (e *NonFiniteError) Is(target error) bool { return target == ErrNonFinite }

// Solve integrates every row of y0 (n = len(y0)/dim rows) from t0 to t1
// (t1 < t0 allowed). On error it still returns the partial Result (rows'
// states where they stopped) alongside the error.
//
// It panics if dim <= 0 or len(y0) is not a multiple of dim.
func Solve(ctx context.Context, f Func, dim int, t0, t1 float64, y0 []float64, opt Options) (Result, error) {
	s, err := NewSolver(dim, opt)
	if err != nil {
		return Result{}, err
	}
	return s.Solve(ctx, f, t0, t1, y0)
}

// Solver keeps its buffers so that repeated solves with no more rows than
// before do not allocate. A Solver is not safe for concurrent use.
type Solver struct {
	dim   int
	opt   Options
	ct    *compiled
	pid   PID
	b1    float64 // PID exponents
	b2    float64
	b3    float64
	fixed bool
	times []float64

	// per solve
	f              Func
	n              int
	t0, t1, dir    float64
	span, dtMax    float64
	nfix           int
	hfix           float64
	maxSteps       int
	y, ynew, ytmp  []float64
	k              [][]float64
	rs             []rowState
	dense          []float64
	tout           []float64
	stats          []Stats
	ws             []*worker
	done           chan struct{}
	jc             ctrl // joint controller
	jsteps, jacc   int
	jlastBad       int
	cancelled      bool
	jointFail      error
	denseCap, nCap int
}

// NewSolver validates the options and returns a Solver for states of dim
// values per row. It panics if dim <= 0.
func NewSolver(dim int, opt Options) (*Solver, error) {
	if dim <= 0 {
		panic(fmt.Sprintf("ode: dim = %d, want > 0", dim))
	}
	if opt.Tableau == nil {
		opt.Tableau = DormandPrince
	}
	ct, err := compile(opt.Tableau)
	if err != nil {
		return nil, err
	}
	s := &Solver{dim: dim, ct: ct}
	if opt.Steps < 0 || opt.MaxSteps < 0 || opt.Block < 0 {
		return nil, fmt.Errorf("ode: Steps = %d, MaxSteps = %d, Block = %d: want >= 0", opt.Steps, opt.MaxSteps, opt.Block)
	}
	for _, v := range []float64{opt.Dt0, opt.DtMin, opt.DtMax} {
		if !(v >= 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("ode: Dt0 = %g, DtMin = %g, DtMax = %g: want finite and >= 0", opt.Dt0, opt.DtMin, opt.DtMax)
		}
	}
	s.fixed = opt.Steps > 0 || len(opt.Grid) > 0 || !opt.Tableau.Adaptive()
	if s.fixed {
		if len(opt.Grid) == 1 {
			return nil, fmt.Errorf("ode: Grid has one time; give t0, ..., t1")
		}
		if opt.Steps == 0 && opt.Dt0 == 0 && len(opt.Grid) == 0 {
			return nil, fmt.Errorf("ode: tableau %q has no error estimate: set Options.Steps or Options.Dt0", opt.Tableau.Name)
		}
	} else {
		if !(opt.RTol > 0) || !(opt.ATol > 0) || math.IsInf(opt.RTol, 0) || math.IsInf(opt.ATol, 0) {
			return nil, fmt.Errorf("ode: RTol = %g, ATol = %g: both must be > 0 for an adaptive solve", opt.RTol, opt.ATol)
		}
		if opt.DtMax > 0 && opt.DtMin > opt.DtMax {
			return nil, fmt.Errorf("ode: DtMin = %g > DtMax = %g", opt.DtMin, opt.DtMax)
		}
	}
	if len(opt.Times) > 0 && ct.interp == nil {
		return nil, fmt.Errorf("ode: tableau %q has no dense output (Interp) for Options.Times", opt.Tableau.Name)
	}
	if s.pid, err = opt.Controller.withDefaults(); err != nil {
		return nil, err
	}
	if !s.fixed {
		k := ct.errK
		s.b1 = (s.pid.KP + s.pid.KI + s.pid.KD) / k
		s.b2 = -(s.pid.KP + 2*s.pid.KD) / k
		s.b3 = s.pid.KD / k
	}
	if opt.MaxSteps == 0 {
		opt.MaxSteps = 100000
	}
	if opt.Workers < 1 {
		opt.Workers = 1
	}
	s.times = slices.Clone(opt.Times)
	opt.Times = s.times
	opt.Grid = slices.Clone(opt.Grid)
	s.opt = opt
	return s, nil
}

// Dim is the number of values per row.
func (s *Solver) Dim() int { return s.dim }

// Solve integrates every row of y0 from t0 to t1 (see the package-level
// Solve). The returned Result's slices are owned by s and valid until the
// next call.
func (s *Solver) Solve(ctx context.Context, f Func, t0, t1 float64, y0 []float64) (Result, error) {
	if f == nil {
		panic("ode: nil Func")
	}
	if len(y0)%s.dim != 0 {
		panic(fmt.Sprintf("ode: len(y0) = %d is not a multiple of dim = %d", len(y0), s.dim))
	}
	if math.IsNaN(t0) || math.IsNaN(t1) || math.IsInf(t0, 0) || math.IsInf(t1, 0) {
		return Result{}, fmt.Errorf("ode: t0 = %g, t1 = %g: want finite times", t0, t1)
	}
	if err := s.checkTimes(t0, t1); err != nil {
		return Result{}, err
	}
	if err := s.checkGrid(t0, t1); err != nil {
		return Result{}, err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	s.setup(f, t0, t1, y0)
	if s.n > 0 && t0 != t1 {
		if s.fixed || !s.opt.Joint {
			s.runRows(ctx)
		} else {
			s.runJoint(ctx)
		}
	}
	return s.result(ctx)
}

// checkGrid checks Options.Grid against the interval of a solve.
func (s *Solver) checkGrid(t0, t1 float64) error {
	g := s.opt.Grid
	if len(g) == 0 {
		return nil
	}
	if g[0] != t0 || g[len(g)-1] != t1 {
		return fmt.Errorf("ode: Grid runs from %g to %g, the solve from t0 = %g to t1 = %g", g[0], g[len(g)-1], t0, t1)
	}
	for j := 1; j < len(g); j++ {
		if !((t1 > t0 && g[j] > g[j-1]) || (t1 < t0 && g[j] < g[j-1])) {
			return fmt.Errorf("ode: Grid must be strictly monotone from t0 = %g to t1 = %g (Grid[%d] = %g after %g)", t0, t1, j, g[j], g[j-1])
		}
	}
	return nil
}

func (s *Solver) checkTimes(t0, t1 float64) error {
	lo, hi := min(t0, t1), max(t0, t1)
	dir := 1.0
	if t1 < t0 {
		dir = -1
	}
	for j, v := range s.times {
		if !(v >= lo && v <= hi) {
			return fmt.Errorf("ode: Times[%d] = %g is outside [%g, %g]", j, v, lo, hi)
		}
		if j > 0 && dir*(v-s.times[j-1]) < 0 {
			return fmt.Errorf("ode: Times must be monotone from t0 = %g to t1 = %g (Times[%d] = %g after %g)", t0, t1, j, v, s.times[j-1])
		}
	}
	return nil
}

func grow(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}

func (s *Solver) setup(f Func, t0, t1 float64, y0 []float64) {
	d := s.dim
	n := len(y0) / d
	s.f, s.n, s.t0, s.t1 = f, n, t0, t1
	s.dir = 1
	if t1 < t0 {
		s.dir = -1
	}
	s.span = math.Abs(t1 - t0)
	s.dtMax = s.span
	if s.opt.DtMax > 0 && s.opt.DtMax < s.span {
		s.dtMax = s.opt.DtMax
	}
	s.maxSteps = s.opt.MaxSteps
	if s.fixed {
		s.nfix = s.opt.Steps
		if len(s.opt.Grid) > 0 {
			s.nfix = len(s.opt.Grid) - 1
		}
		if s.nfix == 0 {
			s.nfix = max(1, int(math.Ceil(s.span/s.opt.Dt0*(1-1e-12))))
		}
		s.hfix = (t1 - t0) / float64(s.nfix)
	}
	nd := n * d
	s.y = grow(s.y, nd)
	copy(s.y, y0)
	s.ynew = grow(s.ynew, nd)
	s.ytmp = grow(s.ytmp, nd)
	nk := s.ct.s
	if len(s.times) > 0 {
		nk += s.ct.nx
	}
	for len(s.k) < nk {
		s.k = append(s.k, nil)
	}
	for i := 0; i < nk; i++ {
		s.k[i] = grow(s.k[i], nd)
	}
	if cap(s.rs) < n {
		s.rs = make([]rowState, n)
		s.tout = make([]float64, n)
		s.stats = make([]Stats, n)
	}
	s.rs, s.tout, s.stats = s.rs[:n], s.tout[:n], s.stats[:n]
	s.dense = grow(s.dense, len(s.times)*nd)
	for i := range s.dense {
		s.dense[i] = math.NaN()
	}
	s.cancelled = false
	s.jointFail = nil
	s.jlastBad = -1
	hAbs := s.opt.Dt0
	for r := range s.rs {
		s.rs[r] = rowState{ctrl: ctrl{t: t0, hAbs: hAbs, e1: 1, e2: 1}}
		rs := &s.rs[r]
		row := s.y[r*d : (r+1)*d]
		for rs.next < len(s.times) && s.times[rs.next] == t0 {
			copy(s.dense[(rs.next*n+r)*d:], row)
			rs.next++
		}
		if !finite(row) {
			rs.fail(&NonFiniteError{Row: r, T: t0})
		} else if t0 == t1 {
			rs.done = true
		}
	}
	// Workers: contiguous chunks. Per-row results do not depend on the
	// partition; joint sums are reduced in row order by the caller.
	nw := max(1, min(s.opt.Workers, n))
	for len(s.ws) < nw {
		s.ws = append(s.ws, &worker{s: s})
	}
	s.ws = s.ws[:nw]
	for i, w := range s.ws {
		w.lo, w.hi = i*n/nw, (i+1)*n/nw
		w.prepare()
	}
}

func (s *Solver) result(ctx context.Context) (Result, error) {
	d := s.dim
	res := Result{Y: s.y[:s.n*d], Dense: s.dense, T: s.tout, Stats: s.stats}
	var first error
	for r := range s.rs {
		rs := &s.rs[r]
		s.tout[r] = rs.t
		s.stats[r] = rs.st
		res.Total.add(rs.st)
		if rs.err != nil {
			if res.Errs == nil {
				res.Errs = make([]error, s.n)
			}
			res.Errs[r] = rs.err
			if first == nil {
				first = rs.err
			}
		}
	}
	if s.jointFail != nil {
		first = s.jointFail
	}
	if s.cancelled {
		return res, fmt.Errorf("ode: solve stopped before t1: %w", context.Cause(ctx))
	}
	return res, first
}

func finite(v []float64) bool {
	z := 0.0
	for _, x := range v {
		z += x - x
	}
	return z == 0
}
