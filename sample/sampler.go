package sample

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Sampler is a sampling method with its options: EulerMaruyama, PC,
// ProbabilityFlow, DDPM, DDIM, or a type of the caller's. Prepare checks the
// options against a validated Config (its SDE, Score, Dim and Eps are set)
// and returns the plan every block of rows runs; it fills the options'
// defaults in the sampler itself, so that after a successful Prepare the
// sampler's fields show what runs.
//
// Prepare writes a default only into a zero field, so once a sampler has
// been prepared (Config.Validate) it may be shared by concurrent Generate
// calls; before that, concurrent first uses would write the same defaults at
// once.
//
// A new sampler is one type with these two methods (and, for the command
// line and notebooks, an Options method and a line in the table of names.go).
type Sampler interface {
	// Name is the sampler's name on the command line and in records.
	Name() string
	Prepare(cfg *Config) (Plan, error)
}

// Plan is a sampler bound to one validated run. Run is called once per block
// of rows, possibly from several goroutines at once (each with its own
// Block), so it must not write to the plan; per-worker state lives in
// Block.Local.
type Plan interface {
	// PriorStd is the standard deviation of the first state of every row:
	// the SDE's prior (1 for DDPM's x_N ~ N(0, I)).
	PriorStd() float64
	// Run takes the rows of b from their prior draw (b.X on entry) to their
	// samples (b.X on return), drawing noise from b.Noise, counting score
	// evaluations in b.NFE, checking ctx once per step, and saving the
	// states of the path with b.Save.
	Run(ctx context.Context, b *Block) error
	// Path returns the time of every state of a row's path, the prior
	// first and the sample last: state k is what Run passes to b.Save(k, x).
	Path() []float64
}

// Lockstepper is implemented by plans whose rows must advance together
// (they share a step size): the rows of one Generate call then form one
// block, whose work the plan may split over the workers with
// Block.Parallel. A sample then depends on the other rows of its call.
type Lockstepper interface {
	Lockstep() bool
}

// DenseRecorder is implemented by plans whose path is continuous (an
// adaptive ODE solve): Trajectory asks for points states at times of the
// plan's choosing and the plan saves state p (p = 0..len(times)-1) with
// Block.Save(p, x). RecordTimes is called before any Run and may change the
// plan.
type DenseRecorder interface {
	RecordTimes(points int) []float64
}

// StepCounter is implemented by plans that report step attempts per row
// (adaptive solvers): Stats.Steps, Accepted and Rejected are then allocated
// and the plan fills them through Block.
type StepCounter interface {
	CountsSteps() bool
}

// Block is one work unit of a Generate call: m rows of dimension D, run by
// one worker (or, for a lockstep plan, all rows of the call).
type Block struct {
	// X holds the m rows: the prior draw on entry to Plan.Run, the samples
	// on return.
	X []float64
	// Rows are the rows' global indices (for errors and noise).
	Rows []int
	// D is the dimension of a row.
	D int
	// Noise is the block's noise source, started on Rows.
	Noise NoiseSource
	// NFE counts the score evaluations of each row; Steps, Accepted and
	// Rejected its step attempts (nil unless the plan is a StepCounter).
	NFE, Steps, Accepted, Rejected []int

	j        *job
	ws       *workspace
	lo       int
	lockstep bool
}

// M returns the number of rows of the block.
func (b *Block) M() int { return len(b.Rows) }

// Lockstep reports whether this block is all rows of a lockstep plan.
func (b *Block) Lockstep() bool { return b.lockstep }

// ScoreAt writes the score of rows a..c-1 of x at one time t into rows
// a..c-1 of dst, in calls of at most Config.Block rows.
func (b *Block) ScoreAt(dst, x []float64, t float64, a, c int) {
	d, blk := b.D, b.j.cfg.Block
	ts := b.ws.times(b.M())
	for r := a; r < c; r++ {
		ts[r] = t
	}
	for s := a; s < c; s += blk {
		e := min(s+blk, c)
		b.j.cfg.Score.ScoreTo(dst[s*d:e*d], x[s*d:e*d], ts[s:e])
	}
}

// Scratch returns the worker's scratch slice number i with at least n
// values (its contents are whatever the last user left). The slices persist
// across the blocks of a worker, so a plan allocates nothing per block once
// they have grown. Take them before Parallel, not inside its fn.
func (b *Block) Scratch(i, n int) []float64 {
	ws := b.ws
	for len(ws.scratch) <= i {
		ws.scratch = append(ws.scratch, nil)
	}
	if len(ws.scratch[i]) < n {
		ws.scratch[i] = make([]float64, n)
	}
	return ws.scratch[i][:n]
}

// Local is per-worker state that persists across the blocks one worker runs
// (an ODE solver, say). It starts nil.
func (b *Block) Local() *any { return &b.ws.local }

// Parallel runs fn over [0, m) split into contiguous ranges over the
// workers when the block is a lockstep block, and as fn(0, m) otherwise.
// fn must only touch its range's rows.
func (b *Block) Parallel(m int, fn func(a, c int)) {
	if !b.lockstep || b.j.cfg.Workers <= 1 {
		fn(0, m)
		return
	}
	b.j.parallel(m, fn)
}

// Save records the rows of the block at state k of the path (see Plan.Path
// and DenseRecorder); it does nothing outside Trajectory.
func (b *Block) Save(k int, x []float64) { b.j.rec.save(k, b.lo, x) }

// NonFinite returns a *NonFiniteError for the first row of x (the block's
// rows) that is NaN or Inf, naming its global index and time t, or nil.
func (b *Block) NonFinite(x []float64, t float64) error {
	if allFinite(x) {
		return nil
	}
	if r := firstBad(x, b.D); r >= 0 {
		return &NonFiniteError{Row: b.Rows[r], T: t}
	}
	return nil
}

// AddNFE adds k score evaluations to every row of the block.
func (b *Block) AddNFE(k int) {
	for r := range b.NFE {
		b.NFE[r] += k
	}
}

// Stopped returns a stop error wrapping ctx's cause once ctx is done, nil
// before. Plans call it once per step.
func Stopped(ctx context.Context) error { return stopped(ctx) }

// The table of named samplers: names.go fills it; Register adds to it.
var (
	regMu    sync.RWMutex
	regNames []string
	regNew   = map[string]func() Sampler{}
)

// Register makes a sampler available by name to New, and so to the command
// line, the benchmark and the notebooks. newSampler returns a sampler with
// default options. It panics on an empty or duplicate name (a programmer
// error).
func Register(name string, newSampler func() Sampler) {
	regMu.Lock()
	defer regMu.Unlock()
	if name == "" || newSampler == nil {
		panic("sample: Register needs a name and a constructor")
	}
	if _, dup := regNew[name]; dup {
		panic(fmt.Sprintf("sample: sampler %q registered twice", name))
	}
	regNames = append(regNames, name)
	regNew[name] = newSampler
}

// Names returns the registered samplers' names in registration order.
func Names() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	return append([]string(nil), regNames...)
}

// New returns the sampler registered under name, with default options.
func New(name string) (Sampler, error) {
	regMu.RLock()
	f, ok := regNew[name]
	regMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("sample: unknown sampler %q; use %s", name, strings.Join(Names(), ", "))
	}
	return f(), nil
}

// NewFromOptions returns the sampler registered under name with the options
// in values applied (see Configure).
func NewFromOptions(name string, values map[string]string) (Sampler, error) {
	s, err := New(name)
	if err != nil {
		return nil, err
	}
	if err := Configure(s, values); err != nil {
		return nil, err
	}
	return s, nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]string) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

// Describer is implemented by samplers that describe their settings in a
// few words for a run's summary line (after Prepare, defaults filled in).
type Describer interface {
	Describe() string
}

// UnsupportedSDEError is the error of a sampler that cannot run on the SDE
// of its Config (DDPM and DDIM need the DDPM chain of a VP SDE).
type UnsupportedSDEError struct {
	Sampler, SDE string
	Need         string // what the sampler needs, in words
}

func (e *UnsupportedSDEError) Error() string {
	return fmt.Sprintf("sample: the %s sampler cannot run on the %s SDE; it needs %s", e.Sampler, e.SDE, e.Need)
}

// gatherScore evaluates the score of the listed rows of x, row rows[k] at
// its own time at(rows[k]), as adaptive samplers need (each row its own
// step): the rows are gathered into gx (list order) so that one ScoreTo call
// of at most Config.Block rows serves many of them, their times into gt
// (len(rows) values of scratch), and the scores land in gs, row k for
// rows[k]. Each listed row's evaluation is counted.
func (b *Block) gatherScore(gx, gs, gt, x []float64, rows []int, at func(r int) float64) {
	d, blk := b.D, b.j.cfg.Block
	for k, r := range rows {
		copy(gx[k*d:(k+1)*d], x[r*d:(r+1)*d])
		gt[k] = at(r)
	}
	n := len(rows)
	for a := 0; a < n; a += blk {
		e := min(a+blk, n)
		b.j.cfg.Score.ScoreTo(gs[a*d:e*d], gx[a*d:e*d], gt[a:e])
	}
	for _, r := range rows {
		b.NFE[r]++
	}
}

// rowSteps is the per-row state every adaptive sampler keeps (each row its
// own step): its time t and trial step h, whether it is done, whether its
// evaluation at t is still to be made (fresh), whether the current attempt
// ends at eps (last), the lists of rows still running and of rows that need
// an evaluation, and gt, gatherScore's times. Samplers embed it with their
// own fields; it lives in Block.Local, so it is allocated once per worker.
type rowSteps struct {
	t, h              []float64
	done, fresh, last []bool
	act, need         []int
	gt                []float64
}

// grow makes room for m rows; it reports whether it allocated (the
// embedding sampler then sizes its own fields).
func (w *rowSteps) grow(m int) bool {
	if cap(w.t) >= m {
		return false
	}
	*w = rowSteps{t: make([]float64, m), h: make([]float64, m),
		done: make([]bool, m), fresh: make([]bool, m), last: make([]bool, m),
		act: make([]int, 0, m), need: make([]int, 0, m), gt: make([]float64, m)}
	return true
}
