package sample

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/ode"
	"github.com/sdekit/sdekit/sde"
)

// ProbabilityFlow integrates the probability-flow ODE
//
//	dx/dt = a(t) x - g(t)^2 score(x, t) / 2
//
// from T to eps with package ode (Song et al. 2021, section 4.3): by default
// Dormand-Prince 5(4) with each row its own step size and error norm, so an
// easy row is not held back by a hard one.
type ProbabilityFlow struct {
	// Solver is a tableau of package ode (ode.TableauByName); "" selects
	// "dopri5". Tableaux without an error estimate ("euler", "heun",
	// "midpoint", "rk4") take Steps equal steps.
	Solver string
	// RTol and ATol are the adaptive solvers' tolerances; 0 selects 1e-5.
	RTol, ATol float64
	// Controller is the step-size controller (ode.ControllerByName); the
	// zero value is the integral controller of scipy and Hairer's codes.
	Controller ode.PID
	// Steps is the number of steps of a fixed-step tableau; 0 selects 1000.
	Steps int
	// Grid is the spacing of a fixed-step tableau's steps (default
	// uniform in t); adaptive tableaux choose their own.
	Grid
	// MaxSteps bounds each row's step attempts of an adaptive solve; 0
	// selects 2000 (about 12,000 evaluations with dopri5, 25 times what
	// gmm8 takes). A row past it fails, named, instead of running on.
	MaxSteps int
	// Joint solves all rows of a call as one flattened system with one step
	// size (the reference's scipy call). A sample then depends on the other
	// rows of its call.
	Joint bool
	// Denoise ends with Tweedie's noise-free denoising step at eps (with
	// ReferenceDt: the reference's reverse-diffusion mean instead).
	Denoise bool
	// ReferenceDt makes Denoise the reference's step: the reverse-diffusion
	// predictor's mean at eps with Steps levels.
	ReferenceDt bool
}

// defaultFlowMaxSteps is ProbabilityFlow.MaxSteps' default.
const defaultFlowMaxSteps = 2000

// Name returns "ode".
func (*ProbabilityFlow) Name() string { return "ode" }

// Options returns solver, controller, rtol, atol, steps, ode-joint, denoise
// and reference-dt.
func (p *ProbabilityFlow) Options() []Option {
	return append([]Option{
		StringOption(&p.Solver, "solver", "dopri5", "ode solver: dopri5, tsit5, bosh3, dop853 (adaptive) or heun, euler, rk4, midpoint (fixed, -steps steps)"),
		{Name: "controller", Default: "i", Usage: "ode step-size controller: i (scipy's and Hairer's integral controller), pi3040, pi4020 or dopri5 (PI controllers: at equal error 8-22% fewer evaluations on vp and subvp, even or up to 9% more on ve; see docs/cli.md)", Set: func(s string) error {
			pid, err := ode.ControllerByName(s)
			if err != nil {
				return fmt.Errorf("%q is unknown; use i, pi3040, pi4020 or dopri5", s)
			}
			p.Controller = pid
			return nil
		}},
		FloatOption(&p.RTol, "rtol", 1e-5, "ode relative tolerance"),
		FloatOption(&p.ATol, "atol", 1e-5, "ode absolute tolerance"),
		IntOption(&p.Steps, "steps", 1000, "number of steps of a fixed-step solver (and of the reference's denoising step)"),
		IntOption(&p.MaxSteps, "max-steps", defaultFlowMaxSteps, "the most step attempts a row's adaptive solve may take (a row past it stops the run, named)"),
		BoolOption(&p.Joint, "ode-joint", "one step size for all rows of a block, as the reference's flattened scipy solve (a sample then depends on -block and -shard)"),
		BoolOption(&p.Denoise, "denoise", "end with a noise-free denoising step (Tweedie's formula; one more score evaluation)"),
		BoolOption(&p.ReferenceDt, "reference-dt", "with -denoise: the reference's denoising step (reverse diffusion at eps)"),
	}, p.gridOptions(ScheduleT)...)
}

// Prepare fills the defaults and builds the plan.
func (p *ProbabilityFlow) Prepare(c *Config) (Plan, error) {
	if p.Solver == "" {
		p.Solver = "dopri5"
	}
	tb, err := ode.TableauByName(p.Solver)
	if err != nil {
		return nil, optionErrorf(p, "ProbabilityFlow.Solver", "solver", nil, "%v", err)
	}
	if p.Steps == 0 {
		p.Steps = 1000
	}
	if p.Steps < 1 {
		return nil, optionErrorf(p, "ProbabilityFlow.Steps", "steps", p.Steps, "use N >= 1 (0 selects 1000)")
	}
	if p.RTol == 0 {
		p.RTol = 1e-5
	}
	if p.ATol == 0 {
		p.ATol = 1e-5
	}
	if tb.Adaptive() {
		if !(p.RTol > 0) || math.IsInf(p.RTol, 0) {
			return nil, optionErrorf(p, "ProbabilityFlow.RTol", "rtol", p.RTol, "must be finite and > 0 (0 selects 1e-5)")
		}
		if !(p.ATol > 0) || math.IsInf(p.ATol, 0) {
			return nil, optionErrorf(p, "ProbabilityFlow.ATol", "atol", p.ATol, "must be finite and > 0 (0 selects 1e-5)")
		}
		if err := p.Controller.Validate(); err != nil {
			return nil, optionErrorf(p, "ProbabilityFlow.Controller", "controller", nil, "%v", err)
		}
	}
	if p.MaxSteps == 0 {
		p.MaxSteps = defaultFlowMaxSteps
	}
	if p.MaxSteps < 1 {
		return nil, optionErrorf(p, "ProbabilityFlow.MaxSteps", "max-steps", p.MaxSteps, "use >= 1 step attempts (0 selects %d)", defaultFlowMaxSteps)
	}
	pl := &flowPlan{cfg: c, pf: p, opt: ode.Options{Tableau: tb, RTol: p.RTol, ATol: p.ATol, Controller: p.Controller, Workers: 1, MaxSteps: p.MaxSteps}}
	if err := p.prepareGrid(p, "ProbabilityFlow", ScheduleT); err != nil {
		return nil, err
	}
	if !tb.Adaptive() {
		pl.opt.Steps = p.Steps
		if p.Schedule != ScheduleT {
			// (t keeps the solver's own uniform steps, bit for bit.)
			g, err := p.Times(c.SDE, c.Eps, p.Steps)
			if err != nil {
				return nil, optionErrorf(p, "ProbabilityFlow.Schedule", "schedule", p.Schedule, "%v", err)
			}
			pl.opt.Steps, pl.opt.Grid = 0, g
		}
	} else if p.Schedule != ScheduleT {
		return nil, optionErrorf(p, "ProbabilityFlow.Schedule", "schedule", p.Schedule, "the adaptive solver %s chooses its own steps; a schedule applies to the fixed-step solvers (heun, euler, rk4, midpoint)", p.Solver)
	}
	if p.Joint {
		pl.opt.Joint = true
		pl.opt.Workers = c.Workers
		pl.opt.Block = c.Block
	}
	if p.Denoise {
		st := tweedie(c.SDE, c.Eps)
		if p.ReferenceDt {
			if st, err = referenceDenoise(c.SDE, p.Steps, c.Eps); err != nil {
				return nil, err
			}
		}
		pl.final = &st
	}
	return pl, nil
}

// flowPlan is a prepared ProbabilityFlow sampler.
type flowPlan struct {
	cfg   *Config
	pf    *ProbabilityFlow
	opt   ode.Options
	times []float64 // dense output times (Trajectory)
	final *step     // denoising step after the solve
}

func (pl *flowPlan) PriorStd() float64 { return pl.cfg.SDE.PriorStd() }
func (pl *flowPlan) Lockstep() bool    { return pl.pf.Joint }
func (pl *flowPlan) CountsSteps() bool { return true }

// Path is the two ends (and the denoised sample); Trajectory uses
// RecordTimes.
func (pl *flowPlan) Path() []float64 {
	p := []float64{pl.cfg.SDE.T(), pl.cfg.Eps}
	if pl.final != nil {
		p = append(p, 0)
	}
	return p
}

// RecordTimes records points states: evenly spaced times from T to eps by
// the solver's dense output, then the denoised sample at 0 with Denoise.
func (pl *flowPlan) RecordTimes(points int) []float64 {
	p := points
	if pl.final != nil {
		p--
	}
	p = max(p, 2)
	pl.times = discretize.Linspace(pl.cfg.SDE.T(), pl.cfg.Eps, p)
	pl.opt.Times = pl.times
	times := append([]float64(nil), pl.times...)
	if pl.final != nil {
		times = append(times, 0)
	}
	return times
}

func (pl *flowPlan) Run(ctx context.Context, b *Block) error {
	m, d := b.M(), b.D
	x := b.X
	loc := b.Local()
	solver, _ := (*loc).(*ode.Solver)
	if solver == nil {
		var err error
		if solver, err = ode.NewSolver(d, pl.opt); err != nil {
			return fmt.Errorf("sample: ode sampler: %w", err)
		}
		*loc = solver
	}
	pf := sde.ProbabilityFlow{SDE: pl.cfg.SDE, Score: pl.cfg.Score}
	res, err := solver.Solve(ctx, pf.F, pl.cfg.SDE.T(), pl.cfg.Eps, x)
	copy(x, res.Y)
	for r := 0; r < m && r < len(res.Stats); r++ {
		s := res.Stats[r]
		b.NFE[r] = s.NFE
		b.Steps[r] = s.Steps
		b.Accepted[r] = s.Accepted
		b.Rejected[r] = s.Rejected
	}
	if len(res.Dense) > 0 {
		for p := range pl.times {
			b.Save(p, res.Dense[p*m*d:(p+1)*m*d])
		}
		// the last time is eps itself: record the solution, not its interpolant
		b.Save(len(pl.times)-1, x)
	}
	if err != nil {
		if ctx.Err() != nil {
			return &stopError{context.Cause(ctx)}
		}
		for r, e := range res.Errs {
			if e != nil {
				var nf *ode.NonFiniteError
				if errors.As(e, &nf) {
					return &NonFiniteError{Row: b.Rows[r], T: nf.T}
				}
				return fmt.Errorf("sample: ode sampler, row %d: %w", b.Rows[r], e)
			}
		}
		return fmt.Errorf("sample: ode sampler: %w", err)
	}
	if st := pl.final; st != nil {
		sc, z := b.Scratch(0, m*d), b.Scratch(1, m*d)
		var bad float64
		if !b.Lockstep() || pl.cfg.Workers == 1 {
			bad = linearStep(b, x, sc, z, st, 0, m)
		} else {
			bads := make([]float64, m)
			b.Parallel(m, func(a, c int) { bads[a] = linearStep(b, x, sc, z, st, a, c) })
			for _, v := range bads {
				bad += v
			}
		}
		b.AddNFE(1)
		if bad != 0 {
			return b.NonFinite(x, 0)
		}
		if pl.times != nil {
			b.Save(len(pl.times), x)
		} else {
			b.Save(2, x)
		}
	}
	return nil
}

// Describe gives the solver, its tolerances (or steps) and its controller.
func (p *ProbabilityFlow) Describe() string {
	ctl := ""
	if p.Controller != (ode.PID{}) {
		ctl = fmt.Sprintf(" (PI control KP %g KI %g)", p.Controller.KP, p.Controller.KI)
	}
	return fmt.Sprintf("solver %s rtol %g atol %g%s", p.Solver, p.RTol, p.ATol, ctl)
}
