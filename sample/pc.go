package sample

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/sdekit/sdekit/sde"
)

// PC is the predictor-corrector sampler (Song et al. 2021, Algorithms 2 to
// 5): Steps grid points from T to eps, at each CorrectorSteps corrector steps
// and then one predictor step. EulerMaruyama is PC with the EM predictor and
// no corrector.
type PC struct {
	// Predictor is the step from one grid point to the next; nil selects
	// ReverseDiffusion{}, NoPredictor{} runs the corrector alone.
	Predictor Predictor
	// Corrector is the Langevin-type step at each grid point; nil selects
	// ALD{} (annealed Langevin, not the reference's SNR rule: with per-row
	// norms the SNR rule's step is unbounded where a row's score is small,
	// and with batch norms a sample depends on its batch; see the package
	// documentation), NoCorrector{} none.
	Corrector Corrector
	// SNR is the corrector's signal-to-noise ratio r; 0 selects 0.16.
	SNR float64
	// CorrectorSteps is the number of corrector steps per grid point; 0 selects 1.
	CorrectorSteps int
	// Steps is the number N of grid points; 0 selects 1000.
	Steps int
	// Grid is the spacing of the grid points (default uniform in t).
	Grid
	// Denoise ends with a noise-free denoising step: Tweedie's formula
	// x0 = (x + s(eps)^2 score(x, eps)) / c(eps), one more score evaluation
	// (with ReferenceDt, the reference's choice instead: the last step's noise
	// is dropped).
	Denoise bool
	// ReferenceDt reproduces the time loop of the reference code: grid
	// linspace(T, eps, N), Euler-Maruyama with dt = -1/N, and the
	// reverse-diffusion, ancestral and Langevin coefficients of its
	// discretize() at index floor(t (N-1)/T) (the SDE must be an
	// sde.ReferenceDiscretizer).
	ReferenceDt bool
	// BatchNorms takes the Langevin step size from the norms averaged over
	// the rows of one Generate call, as the reference does (a corrector that
	// uses norms only). A sample then depends on the other rows of its call.
	BatchNorms bool
	// Clamp, if non-nil, is called after every step with a block's states x
	// (len(rows) rows) at the step's new time t; it may overwrite them.
	// Inpainting (Inpaint) replaces the known coordinates there with the
	// forward-noised data, as the score SDE code does. It must be safe for
	// concurrent calls on different blocks.
	Clamp func(x []float64, t float64, rows []int)

	name string // "pc", or "em" for EulerMaruyama
}

// Name returns "pc".
func (p *PC) Name() string {
	if p.name != "" {
		return p.name
	}
	return "pc"
}

// Options returns predictor, corrector, snr, corrector-steps, steps,
// ddpm-variance (the ancestral predictor's), denoise, reference-dt and
// batch-norms.
func (p *PC) Options() []Option {
	return append([]Option{
		{Name: "predictor", Default: "reverse-diffusion", Usage: "pc predictor: em, reverse-diffusion, ancestral or none", Set: func(s string) error {
			v, err := PredictorByName(s)
			p.Predictor = v
			return err
		}},
		{Name: "corrector", Default: "ald", Usage: "pc corrector: ald (annealed Langevin, the default), langevin (signal-to-noise rule; per-sample norms, or the reference's batch norms with -batch-norms) or none", Set: func(s string) error {
			v, err := CorrectorByName(s)
			p.Corrector = v
			return err
		}},
		FloatOption(&p.SNR, "snr", 0.16, "corrector signal-to-noise ratio"),
		IntOption(&p.CorrectorSteps, "corrector-steps", 1, "corrector steps per grid point"),
		IntOption(&p.Steps, "steps", 1000, "number of steps N"),
		{Name: "ddpm-variance", Default: "", Usage: "the ancestral predictor's variance: beta or beta-tilde (default: the SDE's, beta-tilde for ve, beta otherwise)", Set: func(s string) error {
			if s == "" {
				return nil
			}
			a, ok := p.Predictor.(*Ancestral)
			if !ok {
				return fmt.Errorf("applies to the ancestral predictor only; add -predictor ancestral")
			}
			a.Variance = s
			return nil
		}},
		BoolOption(&p.Denoise, "denoise", "end with a noise-free denoising step (Tweedie's formula; one more score evaluation)"),
		BoolOption(&p.ReferenceDt, "reference-dt", "reproduce the reference code's time loop (dt = -1/N, its discretize() coefficients)"),
		BoolOption(&p.BatchNorms, "batch-norms", "Langevin step from norms averaged over each block of rows, as the reference does (a sample then depends on -block and -shard)"),
	}, p.gridOptions(ScheduleT)...)
}

// Prepare fills the defaults and builds the plan.
func (p *PC) Prepare(c *Config) (Plan, error) {
	if p.Predictor == nil {
		p.Predictor = ReverseDiffusion{}
	}
	if p.Corrector == nil {
		p.Corrector = ALD{}
	}
	_, noPred := p.Predictor.(NoPredictor)
	_, noCorr := p.Corrector.(NoCorrector)
	if noPred && noCorr {
		return nil, optionErrorf(p, "PC.Predictor", "predictor", nil, "the predictor and the corrector are both none, which would return the prior; choose at least one")
	}
	if p.Steps == 0 {
		p.Steps = 1000
	}
	if p.Steps < 1 {
		return nil, optionErrorf(p, "PC.Steps", "steps", p.Steps, "use N >= 1 (0 selects 1000)")
	}
	pl := &pcPlan{cfg: c, pc: p}
	if !noCorr {
		if p.SNR == 0 {
			p.SNR = 0.16
		}
		if !(p.SNR > 0) || math.IsInf(p.SNR, 0) {
			return nil, optionErrorf(p, "PC.SNR", "snr", p.SNR, "must be finite and > 0 (0 selects 0.16)")
		}
		if p.CorrectorSteps == 0 {
			p.CorrectorSteps = 1
		}
		if p.CorrectorSteps < 0 {
			return nil, optionErrorf(p, "PC.CorrectorSteps", "corrector-steps", p.CorrectorSteps, "use >= 1 (0 selects 1), or the corrector none")
		}
		pl.corr = p.Corrector
		pl.corrPer = p.CorrectorSteps
		pl.norms = p.Corrector.NeedsNorms()
	}
	if p.BatchNorms && !pl.norms {
		return nil, optionErrorf(p, "PC.BatchNorms", "batch-norms", nil, "BatchNorms averages the norms of the langevin corrector; the corrector %s uses none", p.Corrector.Name())
	}
	if a, ok := p.Predictor.(*Ancestral); ok {
		if err := a.validate(); err != nil {
			return nil, optionErrorf(p, "Ancestral.Variance", "ddpm-variance", nil, "%v", err)
		}
	}
	if err := p.prepareGrid(p, "PC", ScheduleT); err != nil {
		return nil, err
	}
	var err error
	if p.ReferenceDt {
		if p.Schedule != ScheduleT {
			return nil, optionErrorf(p, "PC.Schedule", "schedule", p.Schedule, "the reference's time loop (reference-dt) is uniform in t; use schedule t or drop reference-dt")
		}
		pl.steps, err = referenceSteps(c.SDE, p.Predictor, p.Steps, c.Eps, p.Denoise)
	} else {
		var g []float64
		if g, err = p.Times(c.SDE, c.Eps, p.Steps); err != nil {
			return nil, optionErrorf(p, "PC.Schedule", "schedule", p.Schedule, "%v", err)
		}
		pl.steps, err = gridSteps(c.SDE, p.Predictor, g, p.Denoise)
	}
	if err != nil {
		return nil, err
	}
	for k := range pl.steps {
		if k < p.Steps {
			pl.nfe += pl.corrPer
		}
		if pl.steps[k].Predict {
			pl.nfe++
		}
	}
	pl.path = append(pl.path, c.SDE.T())
	for _, st := range pl.steps {
		pl.path = append(pl.path, st.Next)
	}
	return pl, nil
}

// gridSteps: N steps on the true grid from T to eps, then the optional
// Tweedie step.
func gridSteps(s sde.SDE, pred Predictor, g []float64, denoise bool) ([]step, error) {
	n, eps := len(g)-1, g[len(g)-1]
	steps := make([]step, n, n+1)
	_, none := pred.(NoPredictor)
	for k := range steps {
		t, tp := g[k], g[k+1]
		A, _ := sde.Kernel(s, t, tp)
		_, sd := s.Marginal(t)
		st := step{T: t, Next: tp, Alpha: A * A, Std: sd, Predict: !none}
		if !none {
			st.Linear = pred.Step(s, t, tp)
		}
		steps[k] = st
	}
	if denoise {
		steps = append(steps, tweedie(s, eps))
	}
	return steps, nil
}

// pcPlan is a prepared PC sampler.
type pcPlan struct {
	cfg     *Config
	pc      *PC
	steps   []step
	nfe     int
	corr    Corrector // nil: none
	corrPer int
	norms   bool // the corrector's step needs |z| and |score|
	path    []float64
}

func (pl *pcPlan) PriorStd() float64 { return pl.cfg.SDE.PriorStd() }
func (pl *pcPlan) Path() []float64   { return pl.path }
func (pl *pcPlan) Lockstep() bool    { return pl.pc.BatchNorms }

// Phases of one pc step, run over a range of rows of a block.
const (
	phaseCorrect      = iota // score, noise, norms; and the update unless the norms are batch-averaged
	phaseCorrectApply        // the update with a batch-averaged step size
	phasePredict             // score, noise, predictor update
)

// pcTask is one phase of one step on one block. Its run method is called
// directly (serial) or on sub-ranges from several goroutines (lockstep), so
// the serial path allocates nothing per step.
type pcTask struct {
	pl       *pcPlan
	b        *Block
	x, s, z  []float64
	zn, sn   []float64
	st       *step
	phase    int
	e        float64 // the corrector's step size when it is the same for every row
	runRange func(a, c int)
	mu       sync.Mutex
	acc      float64
}

// run does the phase for rows a..c-1 and returns a sum that is non-zero
// exactly when a new value is not finite.
func (t *pcTask) run(a, c int) float64 {
	pl, b, x, st, d := t.pl, t.b, t.x, t.st, t.b.D
	switch t.phase {
	case phaseCorrect:
		b.ScoreAt(t.s, x, st.T, a, c)
		b.Noise.Normals(t.z, a, c)
		if !pl.norms {
			// one step size for every row: one call over the whole range
			return update(x[a*d:c*d], 1, t.e, math.Sqrt(2*t.e), t.s[a*d:c*d], t.z[a*d:c*d])
		}
		for r := a; r < c; r++ {
			zr, sr := t.z[r*d:(r+1)*d], t.s[r*d:(r+1)*d]
			var zz, ss float64
			for i, v := range zr {
				zz += v * v
				ss += sr[i] * sr[i]
			}
			t.zn[r], t.sn[r] = math.Sqrt(zz), math.Sqrt(ss)
		}
		if pl.pc.BatchNorms {
			return 0
		}
		var acc float64
		for r := a; r < c; r++ {
			e := pl.corr.StepSize(st.Alpha, st.Std, pl.pc.SNR, t.zn[r], t.sn[r])
			acc += update(x[r*d:(r+1)*d], 1, e, math.Sqrt(2*e), t.s[r*d:(r+1)*d], t.z[r*d:(r+1)*d])
		}
		return acc
	case phaseCorrectApply:
		e := t.e
		return update(x[a*d:c*d], 1, e, math.Sqrt(2*e), t.s[a*d:c*d], t.z[a*d:c*d])
	case phasePredict:
		return linearStep(b, x, t.s, t.z, st, a, c)
	}
	return 0
}

// do runs the task over m rows: directly, or split over the workers for a
// lockstep block.
func (t *pcTask) do(m int) float64 {
	if !t.b.Lockstep() || t.pl.cfg.Workers == 1 {
		return t.run(0, m)
	}
	t.acc = 0
	t.b.Parallel(m, t.runRange)
	return t.acc
}

func (pl *pcPlan) Run(ctx context.Context, b *Block) error {
	m, d := b.M(), b.D
	x := b.X
	snr := pl.pc.SNR
	t := &pcTask{pl: pl, b: b, x: x, s: b.Scratch(0, m*d), z: b.Scratch(1, m*d)}
	if pl.norms {
		t.zn, t.sn = b.Scratch(2, m), b.Scratch(3, m)
	}
	t.runRange = func(a, c int) {
		v := t.run(a, c)
		t.mu.Lock()
		t.acc += v
		t.mu.Unlock()
	}
	for k := range pl.steps {
		if err := Stopped(ctx); err != nil {
			return err
		}
		st := &pl.steps[k]
		t.st = st
		var bad float64
		if k < pl.pc.Steps {
			for range pl.corrPer {
				// x <- x + e score + sqrt(2 e) z
				t.phase, t.e = phaseCorrect, 0
				if !pl.norms {
					t.e = pl.corr.StepSize(st.Alpha, st.Std, snr, 0, 0)
				}
				bad += t.do(m)
				b.Noise.Next()
				if pl.pc.BatchNorms {
					var zsum, ssum float64
					for r := 0; r < m; r++ {
						zsum += t.zn[r]
						ssum += t.sn[r]
					}
					t.phase, t.e = phaseCorrectApply, pl.corr.StepSize(st.Alpha, st.Std, snr, zsum/float64(m), ssum/float64(m))
					bad += t.do(m)
				}
			}
		}
		if st.Predict {
			t.phase = phasePredict
			bad += t.do(m)
			if st.PZ != 0 {
				b.Noise.Next()
			}
		}
		if bad != 0 {
			return b.NonFinite(x, st.Next)
		}
		if pl.pc.Clamp != nil {
			pl.pc.Clamp(x, st.Next, b.Rows)
		}
		b.Save(k+1, x)
	}
	b.AddNFE(pl.nfe)
	return nil
}

// Describe gives the predictor, the corrector and the steps.
func (p *PC) Describe() string {
	return fmt.Sprintf("predictor %s, corrector %s snr %g x%d, %d steps", p.Predictor.Name(), p.Corrector.Name(), p.SNR, p.CorrectorSteps, p.Steps)
}
