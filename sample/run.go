package sample

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// Stats counts the work of each row of a Generate call (index k is row rows[k]).
type Stats struct {
	// NFE is the number of score evaluations of the row, every one counted:
	// corrector steps, predictor steps, ODE stages (including the automatic
	// initial step's trial evaluation and rejected steps) and the denoising
	// step.
	NFE []int
	// Steps, Accepted and Rejected are the step attempts of the row, for
	// samplers that report them (a StepCounter plan: the adaptive ODE); nil
	// otherwise.
	Steps, Accepted, Rejected []int
}

// NonFiniteError reports that row Row (a global row index) became NaN or Inf
// at time T.
type NonFiniteError struct {
	Row int
	T   float64
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("sample: row %d is not finite at t = %g; check the score (a network may diverge) or use more steps", e.Row, e.T)
}

// Generate draws the rows listed in rows into dst (len(rows)*D values; row k
// of dst is global row rows[k]); nil rows means rows 0..len(dst)/D-1, as
// nil rows are all rows for likelihood.Evaluate. Row i draws its randomness from its own
// source of Config.Noise (by default its counter-based stream
// rng.NewKey(seed, i, rng.Sampling)): the prior draw first, then the noise
// of every step in order, so a row is bit for bit the same whatever the other
// rows, their order, Workers and Block (except for a lockstep plan, such as
// Langevin with batch norms or the joint ODE, where the rows of one call form
// the batch).
//
// progress, if non-nil, is called from the calling goroutine with the number
// of rows finished so far (after each block of Block rows; once at the end
// for a lockstep plan); an error from it stops the run and is returned,
// wrapped. ctx is checked once per step. On error, dst holds whatever the
// rows reached and Stats what they did.
//
// Generate panics if len(dst) != len(rows)*D or a row index is negative
// (programmer errors); a bad Config is a returned error.
func Generate(ctx context.Context, cfg Config, seed uint64, rows []int, dst []float64, progress func(done int) error) (Stats, error) {
	plan, err := cfg.prepare()
	if err != nil {
		return Stats{}, err
	}
	if rows == nil {
		rows = make([]int, len(dst)/cfg.Dim)
		for i := range rows {
			rows[i] = i
		}
	}
	j := newJob(&cfg, plan, seed, rows, dst)
	err = j.run(ctx, progress)
	return j.stats, err
}

// Trajectory runs the sampler of cfg on rows like Generate and records the
// states at `points` evenly spaced states of the sampler's path (the prior
// draw first, the final sample last; a plan with a continuous path, the
// adaptive ODE, records at evenly spaced times). states[p] holds
// len(rows)*D values at times[p]. When the path has fewer than `points`
// states, all of them are returned.
func Trajectory(ctx context.Context, cfg Config, seed uint64, rows []int, points int) (times []float64, states [][]float64, err error) {
	times, states, _, err = TrajectoryStats(ctx, cfg, seed, rows, points)
	return times, states, err
}

// TrajectoryStats is Trajectory that also returns what each row did, as
// Generate does.
func TrajectoryStats(ctx context.Context, cfg Config, seed uint64, rows []int, points int) (times []float64, states [][]float64, st Stats, err error) {
	plan, err := cfg.prepare()
	if err != nil {
		return nil, nil, st, err
	}
	if points < 2 {
		return nil, nil, st, fmt.Errorf("sample: Trajectory needs points >= 2 (the prior and the sample), got %d", points)
	}
	dst := make([]float64, len(rows)*cfg.Dim)
	j := newJob(&cfg, plan, seed, rows, dst)
	times = j.setRecorder(points)
	err = j.run(ctx, nil)
	return times, j.rec.states, j.stats, err
}

// job is one Generate or Trajectory call.
type job struct {
	cfg      *Config
	plan     Plan
	lockstep bool
	d        int
	seed     uint64
	rows     []int
	x        []float64
	stats    Stats
	rec      *recorder
}

func newJob(c *Config, plan Plan, seed uint64, rows []int, dst []float64) *job {
	d := c.Dim
	if len(dst) != len(rows)*d {
		panic(fmt.Sprintf("sample: dst has %d values; %d rows of dimension %d need %d", len(dst), len(rows), d, len(rows)*d))
	}
	for _, r := range rows {
		if r < 0 {
			panic(fmt.Sprintf("sample: row index %d is negative", r))
		}
	}
	j := &job{cfg: c, plan: plan, d: d, seed: seed, rows: rows, x: dst}
	if l, ok := plan.(Lockstepper); ok {
		j.lockstep = l.Lockstep()
	}
	n := len(rows)
	j.stats.NFE = make([]int, n)
	if sc, ok := plan.(StepCounter); ok && sc.CountsSteps() {
		j.stats.Steps = make([]int, n)
		j.stats.Accepted = make([]int, n)
		j.stats.Rejected = make([]int, n)
	}
	return j
}

// parallel runs fn over [0, m) split into contiguous ranges on up to Workers
// goroutines.
func (j *job) parallel(m int, fn func(a, b int)) {
	w := min(j.cfg.Workers, (m+j.cfg.Block-1)/j.cfg.Block)
	if w <= 1 {
		fn(0, m)
		return
	}
	var wg sync.WaitGroup
	for k := 1; k < w; k++ {
		wg.Add(1)
		go func(a, b int) {
			defer wg.Done()
			fn(a, b)
		}(k*m/w, (k+1)*m/w)
	}
	fn(0, m/w)
	wg.Wait()
}

// stopError wraps the cause of a cancelled context.
type stopError struct{ err error }

func (e *stopError) Error() string { return "sample: stopped: " + e.err.Error() }
func (e *stopError) Unwrap() error { return e.err }

func stopped(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	return &stopError{context.Cause(ctx)}
}

// run processes the rows in blocks of Block rows, Workers goroutines pulling
// blocks in turn; or, for a lockstep plan, all rows as one block with the
// work of each step split over the workers.
func (j *job) run(parent context.Context, progress func(int) error) error {
	n := len(j.rows)
	if n == 0 {
		return nil
	}
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	if j.lockstep {
		ws := &workspace{}
		err := j.runBlock(ctx, ws, 0, n)
		if err == nil && progress != nil {
			if perr := progress(n); perr != nil {
				return fmt.Errorf("sample: stopped by the progress callback: %w", perr)
			}
		}
		return err
	}
	block := j.cfg.Block
	if w := j.cfg.Workers; w > 1 && n < w*block {
		// Fewer work units than workers would leave cores idle (sdesample's
		// -block equal to the sampler's block, say): split the call evenly.
		// Outside lockstep a row's sample does not depend on its block.
		block = (n + w - 1) / w
	}
	nb := (n + block - 1) / block
	type result struct {
		b, rows int
		err     error
	}
	done := make(chan result, nb)
	var next atomic.Int64
	nw := min(j.cfg.Workers, nb)
	for w := 0; w < nw; w++ {
		go func() {
			ws := &workspace{}
			for {
				b := int(next.Add(1) - 1)
				if b >= nb {
					return
				}
				lo, hi := b*block, min((b+1)*block, n)
				var err error
				if err = stopped(ctx); err == nil {
					err = j.runBlock(ctx, ws, lo, hi)
				}
				done <- result{b, hi - lo, err}
			}
		}()
	}
	finished := 0
	var progErr, rowErr, stopErr error
	rowErrBlock := nb
	for range nb {
		r := <-done
		var se *stopError
		switch {
		case r.err == nil:
			finished += r.rows
			if progress != nil && progErr == nil && rowErr == nil {
				if err := progress(finished); err != nil {
					progErr = fmt.Errorf("sample: stopped by the progress callback: %w", err)
					cancel(progErr)
				}
			}
		case errors.As(r.err, &se):
			if stopErr == nil {
				stopErr = r.err
			}
		default:
			if r.b < rowErrBlock {
				rowErr, rowErrBlock = r.err, r.b
			}
			cancel(r.err)
		}
	}
	switch {
	case progErr != nil:
		return progErr
	case rowErr != nil:
		return rowErr
	}
	return stopErr
}

// workspace is one worker's memory, grown to the largest block.
type workspace struct {
	noise   NoiseSource
	t       []float64
	idx     []int
	scratch [][]float64
	local   any
	blk     Block
}

// times returns the worker's per-row time scratch for m rows.
func (w *workspace) times(m int) []float64 {
	if len(w.t) < m {
		w.t = make([]float64, m)
	}
	return w.t[:m]
}

// runBlock samples rows lo..hi-1 of the call into j.x: the prior draw, then
// the plan.
func (j *job) runBlock(ctx context.Context, ws *workspace, lo, hi int) error {
	d := j.d
	if ws.noise == nil {
		ws.noise = j.cfg.Noise.NewSource(d)
	}
	rows := j.rows[lo:hi]
	x := j.x[lo*d : hi*d]
	// Grown here, before the plan runs: a lockstep plan calls ScoreAt from
	// several goroutines, which must then only read the slice.
	ws.times(hi - lo)
	ws.noise.Start(j.seed, rows)
	ws.noise.Normals(x, 0, hi-lo)
	ws.noise.Next()
	if sd := j.plan.PriorStd(); sd != 1 {
		for k := range x {
			x[k] *= sd
		}
	}
	b := &ws.blk
	*b = Block{X: x, Rows: rows, D: d, Noise: ws.noise, NFE: j.stats.NFE[lo:hi],
		j: j, ws: ws, lo: lo, lockstep: j.lockstep}
	if j.stats.Steps != nil {
		b.Steps, b.Accepted, b.Rejected = j.stats.Steps[lo:hi], j.stats.Accepted[lo:hi], j.stats.Rejected[lo:hi]
	}
	j.rec.save(0, lo, x)
	return j.plan.Run(ctx, b)
}

// allFinite reports whether every value of x is finite: v - v is 0 for a
// finite v and NaN otherwise, so four independent sums without a branch per
// value tell, at a fraction of firstBad's cost (the chains check every step).
func allFinite(x []float64) bool {
	var a0, a1, a2, a3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		a0 += v[0] - v[0]
		a1 += v[1] - v[1]
		a2 += v[2] - v[2]
		a3 += v[3] - v[3]
	}
	for ; i < len(x); i++ {
		a0 += x[i] - x[i]
	}
	return a0+a1+a2+a3 == 0
}

// firstBad returns the first row of x with a non-finite value, or -1.
func firstBad(x []float64, d int) int {
	for r := 0; r*d < len(x); r++ {
		for _, v := range x[r*d : (r+1)*d] {
			if v-v != 0 {
				return r
			}
		}
	}
	return -1
}

// recorder keeps the states of a Trajectory call.
type recorder struct {
	slot   []int // path state index -> slot in states, or -1
	states [][]float64
	d      int
}

// save copies the rows of block lo (x) at path state k, if k is recorded.
func (r *recorder) save(k, lo int, x []float64) {
	if r == nil || k >= len(r.slot) || r.slot[k] < 0 {
		return
	}
	copy(r.states[r.slot[k]][lo*r.d:], x)
}

// setRecorder chooses the recorded states and returns their times.
func (j *job) setRecorder(points int) []float64 {
	n := len(j.rows)
	var times []float64
	if dr, ok := j.plan.(DenseRecorder); ok {
		times = dr.RecordTimes(points)
		j.rec = &recorder{slot: make([]int, len(times)), d: j.d}
		for k := range j.rec.slot {
			j.rec.slot[k] = k
		}
	} else {
		all := j.plan.Path() // times of every state of the path
		points = min(points, len(all))
		j.rec = &recorder{slot: make([]int, len(all)), d: j.d}
		for k := range j.rec.slot {
			j.rec.slot[k] = -1
		}
		times = make([]float64, points)
		for p := range points {
			k := int(math.Round(float64(p) * float64(len(all)-1) / float64(points-1)))
			j.rec.slot[k] = p
			times[p] = all[k]
		}
	}
	j.rec.states = make([][]float64, len(times))
	for p := range j.rec.states {
		j.rec.states[p] = make([]float64, n*j.d)
	}
	return times
}

// ints returns the worker's int scratch for m rows.
func (w *workspace) ints(m int) []int {
	if len(w.idx) < m {
		w.idx = make([]int, m)
	}
	return w.idx[:m]
}
