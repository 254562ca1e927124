package sample

import "fmt"

// EulerMaruyama is Euler-Maruyama on the reverse-time SDE
//
//	dx = [a(t) x - g(t)^2 score(x, t)] dt + g(t) dw_bar
//
// over Steps equal steps from T to eps (Song et al. 2021, section 4.1): PC
// with the EM predictor and no corrector.
type EulerMaruyama struct {
	// Steps is the number N of steps; 0 selects 1000.
	Steps int
	// Grid is the spacing of the steps (default uniform in t).
	Grid
	// Denoise ends with Tweedie's noise-free denoising step (see PC.Denoise).
	Denoise bool
	// ReferenceDt uses the reference's dt = -1/N (see PC.ReferenceDt).
	ReferenceDt bool
	// Clamp is called after every step (see PC.Clamp; Inpaint builds one).
	Clamp func(x []float64, t float64, rows []int)
}

// Name returns "em".
func (*EulerMaruyama) Name() string { return "em" }

// Options returns steps, denoise and reference-dt.
func (e *EulerMaruyama) Options() []Option {
	return append([]Option{
		IntOption(&e.Steps, "steps", 1000, "number of steps N"),
		BoolOption(&e.Denoise, "denoise", "end with a noise-free denoising step (Tweedie's formula; one more score evaluation)"),
		BoolOption(&e.ReferenceDt, "reference-dt", "reproduce the reference code's time loop (dt = -1/N)"),
	}, e.gridOptions(ScheduleT)...)
}

// Prepare fills the defaults and builds the plan.
func (e *EulerMaruyama) Prepare(c *Config) (Plan, error) {
	pc := &PC{Predictor: EMPredictor{}, Corrector: NoCorrector{}, Steps: e.Steps, Denoise: e.Denoise,
		ReferenceDt: e.ReferenceDt, Clamp: e.Clamp, Grid: e.Grid, name: "em"}
	if e.Steps < 0 {
		return nil, optionErrorf(e, "EulerMaruyama.Steps", "steps", e.Steps, "use N >= 1 (0 selects 1000)")
	}
	p, err := pc.Prepare(c)
	if err != nil {
		return nil, err
	}
	if e.Steps == 0 {
		e.Steps = pc.Steps
	}
	if e.Grid != pc.Grid {
		e.Grid = pc.Grid // defaults, written once (a shared sampler is not written again)
	}
	return p, nil
}

// Describe gives the steps.
func (e *EulerMaruyama) Describe() string { return fmt.Sprintf("%d steps", e.Steps) }
