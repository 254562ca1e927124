package sample

import (
	"fmt"
	"math"
	"runtime"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/ode"
	"github.com/sdekit/sdekit/sde"
)

// Sampler names.
const (
	EM   = "em"   // reverse-SDE Euler-Maruyama
	PC   = "pc"   // predictor-corrector
	ODE  = "ode"  // probability-flow ODE
	DDPM = "ddpm" // DDPM ancestral sampling (Ho et al. 2020, Algorithm 2)
	DDIM = "ddim" // DDIM (Song, Meng, Ermon 2020)
)

// Predictor and corrector names.
const (
	PredictorEM               = "em"
	PredictorReverseDiffusion = "reverse-diffusion"
	PredictorAncestral        = "ancestral"
	None                      = "none"
	CorrectorLangevin         = "langevin"
	CorrectorALD              = "ald"
)

// Variance choices of DDPM and of the ancestral predictor.
const (
	VarianceBeta      = "beta"       // sigma^2 = beta (the forward step's variance)
	VarianceBetaTilde = "beta-tilde" // sigma^2 = beta-tilde (the posterior variance)
)

// Config describes one sampling run. The zero values of the optional fields
// select the defaults written next to them; Validate fills them in.
type Config struct {
	SDE   sde.SDE
	Score sde.Score
	// Dim, when > 0, is the data dimension the caller expects; a Score whose
	// Dim() differs is an error. 0 accepts Score.Dim().
	Dim int

	Sampler   string // "em" | "pc" | "ode" | "ddpm" | "ddim"; "" => "em"
	Predictor string // pc: "em" | "reverse-diffusion" | "ancestral" | "none"; "" => "reverse-diffusion"
	// Corrector for pc: "langevin" | "ald" | "none"; "" => "ald". The default
	// is annealed Langevin, not the reference's SNR-rule Langevin: with per-row
	// norms the SNR rule's step is unbounded where a row's score is small
	// (a fifth of gmm8 samples leave the modes), and with batch norms a sample
	// depends on its batch. ALD is per-row and stable (see the package doc).
	Corrector      string
	SNR            float64 // corrector signal-to-noise ratio r; 0 => 0.16
	CorrectorSteps int     // corrector steps per grid point; 0 => 1
	Steps          int     // N (em, pc, ddpm, fixed-step ode) or S (ddim); 0 => 1000
	Eps            float64 // last time of the grid; 0 => 1e-3 (VP, sub-VP) or 1e-5 (VE)
	// Denoise ends with a noise-free denoising step: Tweedie's formula
	// x0 = (x + s(eps)^2 score(x, eps)) / c(eps), one more score evaluation
	// (em, pc, ode). With ReferenceDt it is the reference's choice instead
	// (see the package documentation). ddpm and ddim end noise-free anyway.
	Denoise bool
	// ReferenceDt reproduces the time loop of the reference code for em and
	// pc: grid linspace(T, eps, N), Euler-Maruyama with dt = -1/N, and the
	// reverse-diffusion, ancestral and Langevin coefficients of its
	// discretize() at index floor(t (N-1)/T).
	ReferenceDt bool
	// BatchNorms takes the Langevin step size from the norms averaged over
	// the rows of one Generate call, as the reference does. A sample then
	// depends on the other rows of its call.
	BatchNorms bool

	Solver     string  // ode: a tableau of package ode; "" => "dopri5". Tableaux without an error estimate ("euler", "heun", "midpoint", "rk4") take Steps equal steps.
	RTol, ATol float64 // ode: 0 => 1e-5
	// Controller is the ode sampler's step-size controller (see
	// ode.ControllerByName); the zero value is the integral controller of
	// scipy and Hairer's codes.
	Controller ode.PID
	// ODEJoint solves the probability flow of all rows of a call as one
	// flattened system with one step size (the reference's scipy call). A
	// sample then depends on the other rows of its call.
	ODEJoint bool

	Eta          float64 // ddim: 0 deterministic, 1 DDPM-like
	DDPMVariance string  // ddpm and the ancestral predictor: "beta" | "beta-tilde"; "" => "beta" (VE ancestral: "beta-tilde", as in the reference)
	DDPMSteps    int     // ddim: length N of the underlying DDPM schedule; 0 => 1000

	// Clamp, if non-nil, is called by the em and pc samplers after every
	// step with a block's states x (len(rows) rows) at the step's new time t;
	// it may overwrite them. Inpainting (Inpaint) replaces the known
	// coordinates there with the forward-noised data, as the score SDE code
	// does. It must be safe for concurrent calls on different blocks.
	Clamp func(x []float64, t float64, rows []int)

	Workers int // goroutines; 0 => runtime.NumCPU(). Results are identical for any value.
	Block   int // rows per score call and work unit; 0 => min(256, max(8, 8192/D))
}

// Validate fills the defaults of Config and reports the first problem, with a
// message that names the field and what to do.
func (c *Config) Validate() error {
	if c.SDE == nil {
		return fmt.Errorf("sample: Config.SDE is nil; set it to sde.NewVP(), sde.NewSubVP() or sde.NewVE()")
	}
	if err := c.SDE.Validate(); err != nil {
		return fmt.Errorf("sample: Config.SDE: %w", err)
	}
	if c.Score == nil {
		return fmt.Errorf("sample: Config.Score is nil; set it to an exact score (package score) or a network score")
	}
	d := c.Score.Dim()
	if d < 1 {
		return fmt.Errorf("sample: Config.Score.Dim() = %d; a score needs a dimension >= 1", d)
	}
	if c.Dim < 0 {
		return fmt.Errorf("sample: Config.Dim = %d; use the data dimension, or 0 to take Score.Dim()", c.Dim)
	}
	if c.Dim > 0 && c.Dim != d {
		return fmt.Errorf("sample: Config.Score has dimension %d but Config.Dim is %d; use a score trained on data of dimension %d", d, c.Dim, c.Dim)
	}
	c.Dim = d
	T := c.SDE.T()

	if c.Sampler == "" {
		c.Sampler = EM
	}
	switch c.Sampler {
	case EM, PC, ODE, DDPM, DDIM:
	default:
		return fmt.Errorf("sample: Config.Sampler = %q is unknown; use em, pc, ode, ddpm or ddim", c.Sampler)
	}
	if c.Clamp != nil && c.Sampler != EM && c.Sampler != PC {
		return fmt.Errorf("sample: Config.Clamp is set with Sampler %s; clamping (inpainting) works with em and pc", c.Sampler)
	}
	if c.Steps == 0 {
		c.Steps = 1000
	}
	if c.Steps < 1 {
		return fmt.Errorf("sample: Config.Steps = %d; use N >= 1 (0 selects 1000)", c.Steps)
	}
	if c.Eps == 0 {
		c.Eps = 1e-3
		if c.SDE.Name() == "ve" {
			c.Eps = 1e-5
		}
	}
	if !(c.Eps > 0 && c.Eps < T) {
		return fmt.Errorf("sample: Config.Eps = %v must lie in (0, T) = (0, %v); the default is 1e-3 (1e-5 for VE)", c.Eps, T)
	}
	if c.Workers == 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.Workers < 0 {
		return fmt.Errorf("sample: Config.Workers = %d; use >= 1, or 0 for one per CPU", c.Workers)
	}
	if c.Block == 0 {
		c.Block = min(256, max(8, 8192/d))
	}
	if c.Block < 0 {
		return fmt.Errorf("sample: Config.Block = %d; use >= 1 rows, or 0 for the default", c.Block)
	}

	switch c.Sampler {
	case PC:
		if c.Predictor == "" {
			c.Predictor = PredictorReverseDiffusion
		}
		if c.Corrector == "" {
			c.Corrector = CorrectorALD
		}
	case EM:
		if c.Predictor != "" && c.Predictor != PredictorEM {
			return fmt.Errorf("sample: Config.Predictor = %q with Sampler em; use Sampler pc to choose a predictor", c.Predictor)
		}
		if c.Corrector != "" && c.Corrector != None {
			return fmt.Errorf("sample: Config.Corrector = %q with Sampler em; use Sampler pc to add a corrector", c.Corrector)
		}
		c.Predictor, c.Corrector = PredictorEM, None
	}
	if c.Sampler == PC || c.Sampler == EM {
		switch c.Predictor {
		case PredictorEM, PredictorReverseDiffusion, PredictorAncestral, None:
		default:
			return fmt.Errorf("sample: Config.Predictor = %q is unknown; use em, reverse-diffusion, ancestral or none", c.Predictor)
		}
		switch c.Corrector {
		case CorrectorLangevin, CorrectorALD, None:
		default:
			return fmt.Errorf("sample: Config.Corrector = %q is unknown; use langevin, ald or none", c.Corrector)
		}
		if c.Predictor == None && c.Corrector == None {
			return fmt.Errorf("sample: Config.Predictor and Config.Corrector are both none, which would return the prior; choose at least one")
		}
		if c.Corrector != None {
			if c.SNR == 0 {
				c.SNR = 0.16
			}
			if !(c.SNR > 0) || math.IsInf(c.SNR, 0) {
				return fmt.Errorf("sample: Config.SNR = %v must be finite and > 0 (0 selects 0.16)", c.SNR)
			}
			if c.CorrectorSteps == 0 {
				c.CorrectorSteps = 1
			}
			if c.CorrectorSteps < 0 {
				return fmt.Errorf("sample: Config.CorrectorSteps = %d; use >= 1 (0 selects 1), or Corrector none", c.CorrectorSteps)
			}
		}
	}
	if c.Sampler == PC || c.Sampler == EM || c.Sampler == DDPM {
		switch c.DDPMVariance {
		case "", VarianceBeta, VarianceBetaTilde:
		default:
			return fmt.Errorf("sample: Config.DDPMVariance = %q is unknown; use beta or beta-tilde", c.DDPMVariance)
		}
	}
	switch c.Sampler {
	case ODE:
		if c.Solver == "" {
			c.Solver = "dopri5"
		}
		tb, err := ode.TableauByName(c.Solver)
		if err != nil {
			return fmt.Errorf("sample: Config.Solver: %w", err)
		}
		if c.RTol == 0 {
			c.RTol = 1e-5
		}
		if c.ATol == 0 {
			c.ATol = 1e-5
		}
		if tb.Adaptive() && (!(c.RTol > 0) || !(c.ATol > 0) || math.IsInf(c.RTol, 0) || math.IsInf(c.ATol, 0)) {
			return fmt.Errorf("sample: Config.RTol = %v, Config.ATol = %v; both must be finite and > 0 (0 selects 1e-5)", c.RTol, c.ATol)
		}
		if err := c.Controller.Validate(); tb.Adaptive() && err != nil {
			return fmt.Errorf("sample: Config.Controller: %w", err)
		}
	case DDPM, DDIM:
		if _, ok := c.SDE.(*sde.VP); !ok {
			return fmt.Errorf("sample: Config.Sampler = %s needs a VP SDE (DDPM is the discretised VP SDE), not %s; use em, pc or ode for sub-VP and VE", c.Sampler, c.SDE.Name())
		}
		if c.Sampler == DDPM {
			if c.DDPMVariance == "" {
				c.DDPMVariance = VarianceBeta
			}
			if _, err := discretize.FromVP(c.SDE.(*sde.VP), c.Steps); err != nil {
				return fmt.Errorf("sample: Config.Steps: %w", err)
			}
		} else {
			if c.DDPMSteps == 0 {
				c.DDPMSteps = 1000
			}
			if c.DDPMSteps < 1 {
				return fmt.Errorf("sample: Config.DDPMSteps = %d; use the length of the DDPM schedule (0 selects 1000)", c.DDPMSteps)
			}
			if c.Steps > c.DDPMSteps {
				return fmt.Errorf("sample: Config.Steps = %d is more than the %d steps of the DDPM schedule; use Steps <= DDPMSteps", c.Steps, c.DDPMSteps)
			}
			if !(c.Eta >= 0 && c.Eta <= 1) {
				return fmt.Errorf("sample: Config.Eta = %v must lie in [0, 1] (0 deterministic DDIM, 1 DDPM-like)", c.Eta)
			}
			if _, err := discretize.FromVP(c.SDE.(*sde.VP), c.DDPMSteps); err != nil {
				return fmt.Errorf("sample: Config.DDPMSteps: %w", err)
			}
		}
	}
	return nil
}
