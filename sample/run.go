package sample

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/internal/vmath"
	"github.com/sdekit/sdekit/ode"
	"github.com/sdekit/sdekit/sde"
)

// Stats counts the work of each row of a Generate call (index k is row rows[k]).
type Stats struct {
	// NFE is the number of score evaluations of the row, every one counted:
	// corrector steps, predictor steps, ODE stages (including the automatic
	// initial step's trial evaluation and rejected steps) and the denoising
	// step.
	NFE []int
	// Steps, Accepted and Rejected are the ODE solver's step attempts of the
	// row (ode sampler only; nil otherwise).
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
// of dst is global row rows[k]). Row i always draws its randomness from the
// normal stream rng.NewKey(seed, i, rng.Sampling) (rng.NewNormalStream reads
// it one value at a time): the prior draw first, then the noise
// of every step in order, so a row is bit for bit the same whatever the other
// rows, their order, Workers and Block (except with BatchNorms or ODEJoint,
// where the rows of one call form the batch).
//
// progress, if non-nil, is called from the calling goroutine with the number
// of rows finished so far (after each block of Block rows; once at the end
// with BatchNorms or ODEJoint); an error from it stops the run and is
// returned, wrapped.
// ctx is checked once per step. On error, dst holds whatever the rows reached
// and Stats what they did.
//
// Generate panics if len(dst) != len(rows)*D or a row index is negative
// (programmer errors); a bad Config is a returned error.
func Generate(ctx context.Context, cfg Config, seed uint64, rows []int, dst []float64, progress func(done int) error) (Stats, error) {
	if err := cfg.Validate(); err != nil {
		return Stats{}, err
	}
	j, err := newJob(&cfg, seed, rows, dst)
	if err != nil {
		return Stats{}, err
	}
	err = j.run(ctx, progress)
	return j.stats, err
}

// Trajectory runs the sampler of cfg on rows like Generate and records the
// states at `points` evenly spaced states of the sampler's path (the prior
// draw first, the final sample last; the ode sampler records at evenly spaced
// times). states[p] holds len(rows)*D values at times[p]. When the path has
// fewer than `points` states, all of them are returned.
func Trajectory(ctx context.Context, cfg Config, seed uint64, rows []int, points int) (times []float64, states [][]float64, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if points < 2 {
		return nil, nil, fmt.Errorf("sample: Trajectory needs points >= 2 (the prior and the sample), got %d", points)
	}
	dst := make([]float64, len(rows)*cfg.Dim)
	j, err := newJob(&cfg, seed, rows, dst)
	if err != nil {
		return nil, nil, err
	}
	times = j.setRecorder(points)
	err = j.run(ctx, nil)
	return times, j.rec.states, err
}

// job is one Generate or Trajectory call.
type job struct {
	cfg   *Config
	d     int
	seed  uint64
	rows  []int
	x     []float64
	stats Stats

	// em, pc
	steps   []step
	nfe     int
	corrPer int
	// ode
	odeOpt   ode.Options
	odeTimes []float64
	odeFinal *step // denoising step after the solve
	// ddpm, ddim
	sched    *discretize.DDPM
	eps      *discretize.ScoreEps
	seq      []int
	variance discretize.Variance

	rec *recorder
}

func newJob(c *Config, seed uint64, rows []int, dst []float64) (*job, error) {
	d := c.Dim
	if len(dst) != len(rows)*d {
		panic(fmt.Sprintf("sample: dst has %d values; %d rows of dimension %d need %d", len(dst), len(rows), d, len(rows)*d))
	}
	for _, r := range rows {
		if r < 0 {
			panic(fmt.Sprintf("sample: row index %d is negative", r))
		}
	}
	j := &job{cfg: c, d: d, seed: seed, rows: rows, x: dst}
	n := len(rows)
	j.stats.NFE = make([]int, n)
	switch c.Sampler {
	case EM, PC:
		var err error
		j.steps, j.nfe, err = buildSteps(c)
		if err != nil {
			return nil, err
		}
		if c.Corrector != None {
			j.corrPer = c.CorrectorSteps
		}
	case ODE:
		tb, _ := ode.TableauByName(c.Solver)
		j.odeOpt = ode.Options{Tableau: tb, RTol: c.RTol, ATol: c.ATol, Controller: c.Controller, Workers: 1}
		if !tb.Adaptive() {
			j.odeOpt.Steps = c.Steps
		}
		if c.ODEJoint {
			j.odeOpt.Joint = true
			j.odeOpt.Workers = c.Workers
			j.odeOpt.Block = c.Block
		}
		if c.Denoise {
			st := tweedie(c.SDE, c.Eps)
			if c.ReferenceDt {
				var err error
				if st, err = referenceDenoise(c); err != nil {
					return nil, err
				}
			}
			j.odeFinal = &st
		}
		j.stats.Steps = make([]int, n)
		j.stats.Accepted = make([]int, n)
		j.stats.Rejected = make([]int, n)
	case DDPM, DDIM:
		vp := c.SDE.(*sde.VP)
		var err error
		if c.Sampler == DDPM {
			j.sched, err = discretize.FromVP(vp, c.Steps)
			if err == nil {
				j.variance, err = discretize.ParseVariance(c.DDPMVariance)
			}
			j.seq = make([]int, c.Steps)
			for k := range j.seq {
				j.seq[k] = k
			}
		} else {
			j.sched, err = discretize.FromVP(vp, c.DDPMSteps)
			if err == nil {
				j.seq, err = discretize.DDIMSequence(c.DDPMSteps, c.Steps)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("sample: %w", err)
		}
		j.eps = discretize.NewScoreEps(c.Score, vp, j.sched.N())
	}
	return j, nil
}

// batchMode reports whether the rows of the call must advance in lock step
// (they share a step size).
func (j *job) batchMode() bool {
	return (j.cfg.BatchNorms && (j.cfg.Sampler == PC) && j.cfg.Corrector == CorrectorLangevin) ||
		(j.cfg.Sampler == ODE && j.cfg.ODEJoint)
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
// blocks in turn; or, in batch mode, all rows as one lock-step block with the
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
	if j.batchMode() {
		ws := &workspace{}
		err := j.runBlock(ctx, ws, 0, n, true)
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
		// Outside batch mode a row's sample does not depend on its block.
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
					err = j.runBlock(ctx, ws, lo, hi, false)
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

// workspace is one worker's scratch memory, grown to the largest block.
type workspace struct {
	keys   []rng.Key // the rows' normal streams
	drawn  uint64    // normals drawn so far by every row of the block (they advance in lock step)
	t      []float64
	s, z   []float64
	zn, sn []float64
	idx    []int
	solver *ode.Solver
}

func (w *workspace) ensure(m, d int) {
	if len(w.keys) < m {
		w.keys = make([]rng.Key, m)
		w.t = make([]float64, m)
		w.zn = make([]float64, m)
		w.sn = make([]float64, m)
		w.idx = make([]int, m)
	}
	if len(w.s) < m*d {
		w.s = make([]float64, m*d)
		w.z = make([]float64, m*d)
	}
}

// runBlock samples rows lo..hi-1 of the call into j.x.
func (j *job) runBlock(ctx context.Context, ws *workspace, lo, hi int, batch bool) error {
	m, d := hi-lo, j.d
	ws.ensure(m, d)
	x := j.x[lo*d : hi*d]
	sd := j.cfg.SDE.PriorStd()
	if j.cfg.Sampler == DDPM || j.cfg.Sampler == DDIM {
		sd = 1 // DDPM's x_T ~ N(0, I)
	}
	for r := 0; r < m; r++ {
		ws.keys[r] = rng.NewKey(j.seed, j.rows[lo+r], rng.Sampling)
	}
	ws.drawn = 0
	ws.noise(x, 0, m, d)
	ws.advance(d)
	if sd != 1 {
		for k := range x {
			x[k] *= sd
		}
	}
	j.rec.save(0, lo, x)
	switch j.cfg.Sampler {
	case EM, PC:
		return j.runSDE(ctx, ws, lo, hi, batch)
	case ODE:
		return j.runODE(ctx, ws, lo, hi, batch)
	default:
		return j.runChain(ctx, ws, lo, hi)
	}
}

// noise writes the next d normals of rows a..b-1 of the block into z (rows
// a..b-1 of it). It does not advance ws.drawn: a phase may fill its rows in
// parts from several goroutines, and calls advance once when it is done.
func (ws *workspace) noise(z []float64, a, b, d int) {
	rng.NormalsRows(z[a*d:b*d], d, ws.keys[a:b], ws.drawn)
}

// advance records that every row of the block drew d more normals.
func (ws *workspace) advance(d int) { ws.drawn += uint64(d) }

// scoreAt evaluates the score of rows a..b-1 of x at time t into ws.s, in
// calls of at most Block rows.
func (j *job) scoreAt(ws *workspace, x []float64, t float64, a, b int) {
	d, blk := j.d, j.cfg.Block
	for r := a; r < b; r++ {
		ws.t[r] = t
	}
	for c := a; c < b; c += blk {
		e := min(c+blk, b)
		j.cfg.Score.ScoreTo(ws.s[c*d:e*d], x[c*d:e*d], ws.t[c:e])
	}
}

// firstBad returns the first row of x (m rows) with a non-finite value.
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

// Phases of one em/pc step, run over a range of rows of a block.
const (
	phaseCorrect      = iota // score, noise, norms; and the update unless the norms are batch-averaged
	phaseCorrectApply        // the update with a batch-averaged Langevin step size
	phasePredict             // score, noise, predictor update
)

// task is one phase of one step on one block. Its run method is called
// directly (serial) or on sub-ranges from several goroutines (batch mode), so
// the serial path allocates nothing per step.
type task struct {
	j     *job
	ws    *workspace
	x     []float64
	st    *step
	phase int
	e     float64 // ALD or batch-averaged Langevin step size
}

// run does the phase for rows a..b-1 and returns a sum that is non-zero
// exactly when a new value is not finite.
func (t *task) run(a, b int) float64 {
	j, ws, x, st, d := t.j, t.ws, t.x, t.st, t.j.d
	langevin := j.cfg.Corrector == CorrectorLangevin
	var acc float64
	switch t.phase {
	case phaseCorrect:
		j.scoreAt(ws, x, st.T, a, b)
		ws.noise(ws.z, a, b, d)
		if langevin {
			for r := a; r < b; r++ {
				zr, sr := ws.z[r*d:(r+1)*d], ws.s[r*d:(r+1)*d]
				var zz, ss float64
				for i, v := range zr {
					zz += v * v
					ss += sr[i] * sr[i]
				}
				ws.zn[r], ws.sn[r] = math.Sqrt(zz), math.Sqrt(ss)
			}
		}
		if langevin && j.cfg.BatchNorms {
			return 0
		}
		if !langevin {
			// one step size for every row: one call over the whole range
			return update(x[a*d:b*d], 1, t.e, math.Sqrt(2*t.e), ws.s[a*d:b*d], ws.z[a*d:b*d])
		}
		for r := a; r < b; r++ {
			e := langevinStep(st.Alpha, j.cfg.SNR, ws.zn[r], ws.sn[r])
			acc += update(x[r*d:(r+1)*d], 1, e, math.Sqrt(2*e), ws.s[r*d:(r+1)*d], ws.z[r*d:(r+1)*d])
		}
	case phaseCorrectApply:
		e := t.e
		return update(x[a*d:b*d], 1, e, math.Sqrt(2*e), ws.s[a*d:b*d], ws.z[a*d:b*d])
	case phasePredict:
		j.scoreAt(ws, x, st.T, a, b)
		var z []float64
		if st.PZ != 0 {
			ws.noise(ws.z, a, b, d)
			z = ws.z[a*d : b*d]
		}
		return update(x[a*d:b*d], st.PX, st.PS, st.PZ, ws.s[a*d:b*d], z)
	}
	return acc
}

// do runs the task over m rows: directly, or split over the workers in batch mode.
func (t *task) do(m int, batch bool) float64 {
	if !batch || t.j.cfg.Workers == 1 {
		return t.run(0, m)
	}
	var mu sync.Mutex
	var acc float64
	t.j.parallel(m, func(a, b int) {
		v := t.run(a, b)
		mu.Lock()
		acc += v
		mu.Unlock()
	})
	return acc
}

func (j *job) runSDE(ctx context.Context, ws *workspace, lo, hi int, batch bool) error {
	m, d := hi-lo, j.d
	x := j.x[lo*d : hi*d]
	snr := j.cfg.SNR
	langevin := j.cfg.Corrector == CorrectorLangevin
	t := task{j: j, ws: ws, x: x}
	for k := range j.steps {
		if err := stopped(ctx); err != nil {
			return err
		}
		st := &j.steps[k]
		t.st = st
		var bad float64
		if k < j.cfg.Steps {
			for range j.corrPer {
				// x <- x + e score + sqrt(2 e) z
				t.phase, t.e = phaseCorrect, 2*st.Alpha*(snr*st.Std)*(snr*st.Std)
				bad += t.do(m, batch)
				ws.advance(d)
				if langevin && j.cfg.BatchNorms {
					var zsum, ssum float64
					for r := 0; r < m; r++ {
						zsum += ws.zn[r]
						ssum += ws.sn[r]
					}
					t.phase, t.e = phaseCorrectApply, langevinStep(st.Alpha, snr, zsum/float64(m), ssum/float64(m))
					bad += t.do(m, batch)
				}
			}
		}
		if st.Predict {
			t.phase = phasePredict
			bad += t.do(m, batch)
			if st.PZ != 0 {
				ws.advance(d)
			}
		}
		if bad != 0 {
			return &NonFiniteError{Row: j.rows[lo+firstBad(x, d)], T: st.Next}
		}
		if j.cfg.Clamp != nil {
			j.cfg.Clamp(x, st.Next, j.rows[lo:hi])
		}
		j.rec.save(k+1, lo, x)
	}
	for r := lo; r < hi; r++ {
		j.stats.NFE[r] = j.nfe
	}
	return nil
}

// langevinStep is the Langevin corrector's step size 2 alpha (snr |z| / |score|)^2
// (Song et al. 2021, Algorithm 5); no step when the score vanishes.
func langevinStep(alpha, snr, zNorm, sNorm float64) float64 {
	if sNorm == 0 {
		return 0
	}
	r := snr * zNorm / sNorm
	return 2 * alpha * r * r
}

// update writes x <- pz z + (ps s + px x) (z unused when nil; vmath.LinComb
// rounds it as two fused multiply-adds after px x) and returns a sum that is
// non-zero exactly when a new value is not finite.
func update(x []float64, px, ps, pz float64, s, z []float64) float64 {
	if vmath.LinComb(x, px, s, ps, z, pz) {
		return 0
	}
	return 1
}

func (j *job) runODE(ctx context.Context, ws *workspace, lo, hi int, batch bool) error {
	m, d := hi-lo, j.d
	x := j.x[lo*d : hi*d]
	if ws.solver == nil {
		var err error
		opt := j.odeOpt
		opt.Times = j.odeTimes
		if ws.solver, err = ode.NewSolver(d, opt); err != nil {
			return fmt.Errorf("sample: ode sampler: %w", err)
		}
	}
	pf := sde.ProbabilityFlow{SDE: j.cfg.SDE, Score: j.cfg.Score}
	res, err := ws.solver.Solve(ctx, pf.F, j.cfg.SDE.T(), j.cfg.Eps, x)
	copy(x, res.Y)
	for r := 0; r < m && r < len(res.Stats); r++ {
		s := res.Stats[r]
		j.stats.NFE[lo+r] = s.NFE
		j.stats.Steps[lo+r] = s.Steps
		j.stats.Accepted[lo+r] = s.Accepted
		j.stats.Rejected[lo+r] = s.Rejected
	}
	if j.rec != nil && len(res.Dense) > 0 {
		for p := range j.odeTimes {
			j.rec.saveAt(p, lo, res.Dense[p*m*d:(p+1)*m*d])
		}
		// the last time is eps itself: record the solution, not its interpolant
		j.rec.saveAt(len(j.odeTimes)-1, lo, x)
	}
	if err != nil {
		if ctx.Err() != nil {
			return &stopError{context.Cause(ctx)}
		}
		for r, e := range res.Errs {
			if e != nil {
				var nf *ode.NonFiniteError
				if errors.As(e, &nf) {
					return &NonFiniteError{Row: j.rows[lo+r], T: nf.T}
				}
				return fmt.Errorf("sample: ode sampler, row %d: %w", j.rows[lo+r], e)
			}
		}
		return fmt.Errorf("sample: ode sampler: %w", err)
	}
	if st := j.odeFinal; st != nil {
		t := task{j: j, ws: ws, x: x, st: st, phase: phasePredict}
		bad := t.do(m, batch)
		for r := lo; r < hi; r++ {
			j.stats.NFE[r]++
		}
		if bad != 0 {
			return &NonFiniteError{Row: j.rows[lo+firstBad(x, d)], T: 0}
		}
		j.rec.save(len(j.odeTimes), lo, x)
	}
	return nil
}

func (j *job) runChain(ctx context.Context, ws *workspace, lo, hi int) error {
	m, d := hi-lo, j.d
	x := j.x[lo*d : hi*d]
	ddim := j.cfg.Sampler == DDIM
	for k := len(j.seq) - 1; k >= 0; k-- {
		if err := stopped(ctx); err != nil {
			return err
		}
		i := j.seq[k]
		jj := -1
		if k > 0 {
			jj = j.seq[k-1]
		}
		idx := ws.idx[:m]
		for r := range idx {
			idx[r] = i
		}
		eps := ws.s[:m*d]
		j.eps.EpsTo(eps, x, idx)
		var sigma float64
		if ddim {
			_, _, sigma = j.sched.DDIMCoefs(i, jj, j.cfg.Eta)
		} else {
			_, _, sigma = j.sched.AncestralCoefs(i, j.variance)
		}
		z := ws.z[:m*d]
		if sigma != 0 {
			ws.noise(z, 0, m, d)
			ws.advance(d)
		}
		if ddim {
			j.sched.DDIMStepTo(x, x, eps, z, i, jj, j.cfg.Eta)
		} else {
			j.sched.AncestralStepTo(x, x, eps, z, i, j.variance)
		}
		if r := firstBad(x, d); r >= 0 {
			return &NonFiniteError{Row: j.rows[lo+r], T: float64(jj+1) / float64(j.sched.N())}
		}
		j.rec.save(len(j.seq)-k, lo, x)
	}
	for r := lo; r < hi; r++ {
		j.stats.NFE[r] = len(j.seq)
	}
	return nil
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

// saveAt copies the rows of block lo into slot p directly.
func (r *recorder) saveAt(p, lo int, x []float64) {
	copy(r.states[p][lo*r.d:], x)
}

// setRecorder chooses the recorded states and returns their times.
func (j *job) setRecorder(points int) []float64 {
	c := j.cfg
	n := len(j.rows)
	var all []float64 // times of every state of the path
	switch c.Sampler {
	case EM, PC:
		all = append(all, c.SDE.T())
		for _, st := range j.steps {
			all = append(all, st.Next)
		}
	case DDPM, DDIM:
		for k := len(j.seq) - 1; k >= 0; k-- {
			all = append(all, j.sched.Time(j.seq[k]))
		}
		all = append(all, 0)
	case ODE:
		p := points
		if c.Denoise {
			p--
		}
		p = max(p, 2)
		j.odeTimes = discretize.Linspace(c.SDE.T(), c.Eps, p)
		times := append([]float64(nil), j.odeTimes...)
		slots := len(times)
		// state 0 is the prior (= odeTimes[0], filled by the dense output);
		// state len(odeTimes) is the denoised sample.
		j.rec = &recorder{slot: make([]int, slots+1), d: j.d}
		for k := range j.rec.slot {
			j.rec.slot[k] = -1
		}
		if c.Denoise {
			times = append(times, 0)
			j.rec.slot[slots] = slots
		}
		j.rec.states = make([][]float64, len(times))
		for p := range j.rec.states {
			j.rec.states[p] = make([]float64, n*j.d)
		}
		return times
	}
	points = min(points, len(all))
	j.rec = &recorder{slot: make([]int, len(all)), d: j.d}
	for k := range j.rec.slot {
		j.rec.slot[k] = -1
	}
	times := make([]float64, points)
	for p := range points {
		k := int(math.Round(float64(p) * float64(len(all)-1) / float64(points-1)))
		j.rec.slot[k] = p
		times[p] = all[k]
	}
	j.rec.states = make([][]float64, points)
	for p := range j.rec.states {
		j.rec.states[p] = make([]float64, n*j.d)
	}
	return times
}
