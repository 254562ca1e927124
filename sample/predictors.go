package sample

import (
	"fmt"

	"github.com/sdekit/sdekit/sde"
)

// Predictor is a PC sampler's step from grid time t to tp < t, of the linear
// form x' = PX x + PS score(x, t) + PZ z. Every predictor of the package
// has this form; only the coefficients differ (see the package documentation).
type Predictor interface {
	Name() string
	// Step returns the coefficients of the step from t to tp on the true
	// grid.
	Step(s sde.SDE, t, tp float64) sde.Linear
	// Reference returns the coefficients the reference code uses at grid
	// time t of an n-step loop (PC.ReferenceDt), given the SDE's reference
	// discretisation there (ref is nil when the SDE has none), or an error
	// when the predictor has no reference form.
	Reference(s sde.SDE, ref *sde.RefStep, t float64, n int) (sde.Linear, error)
}

// Corrector is a PC sampler's Langevin-type step x <- x + e score + sqrt(2 e) z
// at a grid point; it chooses the step size e.
type Corrector interface {
	Name() string
	// NeedsNorms reports whether StepSize uses the norms of the row's noise
	// and score (computed only then).
	NeedsNorms() bool
	// StepSize returns e given the step's alpha (A^2 of the kernel to the
	// next grid point), the marginal std at t, the signal-to-noise ratio and
	// (when NeedsNorms) |z| and |score| of the row, or their batch means.
	StepSize(alpha, std, snr, zNorm, sNorm float64) float64
}

// predictorNames and PredictorByName map the command line's names to types.
const predictorNames = "em, reverse-diffusion, ancestral or none (default reverse-diffusion)"

// PredictorByName returns the predictor named em, reverse-diffusion,
// ancestral or none.
func PredictorByName(name string) (Predictor, error) {
	switch name {
	case "em":
		return EMPredictor{}, nil
	case "reverse-diffusion", "":
		return ReverseDiffusion{}, nil
	case "ancestral":
		return &Ancestral{}, nil
	case "none":
		return NoPredictor{}, nil
	}
	return nil, fmt.Errorf("unknown predictor %q; use %s", name, predictorNames)
}

// CorrectorByName returns the corrector named ald, langevin or none.
func CorrectorByName(name string) (Corrector, error) {
	switch name {
	case "ald", "":
		return ALD{}, nil
	case "langevin":
		return Langevin{}, nil
	case "none":
		return NoCorrector{}, nil
	}
	return nil, fmt.Errorf("unknown corrector %q; use ald, langevin or none", name)
}

// EMPredictor is Euler-Maruyama on the reverse SDE dx = [a x - g^2 score] dt
// + g dw_bar with dt = tp - t < 0:
//
//	x' = x + (a(t) x - g(t)^2 score) dt + g(t) sqrt(-dt) z.
type EMPredictor struct{}

func (EMPredictor) Name() string { return "em" }

func (EMPredictor) Step(s sde.SDE, t, tp float64) sde.Linear { return sde.ReverseEuler(s, t, tp-t) }

// Reference is Euler-Maruyama with the reference's dt = -1/N.
func (EMPredictor) Reference(s sde.SDE, _ *sde.RefStep, t float64, n int) (sde.Linear, error) {
	return sde.ReverseEulerN(s, t, n), nil
}

// ReverseDiffusion reverses the exact forward step x_t = A x_t' + B z
// (Song et al. 2021, appendix E): x' = (2 - A) x + B^2 score + B z.
type ReverseDiffusion struct{}

func (ReverseDiffusion) Name() string { return "reverse-diffusion" }

func (ReverseDiffusion) Step(s sde.SDE, t, tp float64) sde.Linear {
	return sde.ReverseDiffusion(s, t, tp)
}

func (ReverseDiffusion) Reference(s sde.SDE, ref *sde.RefStep, _ float64, _ int) (sde.Linear, error) {
	if ref == nil {
		return sde.Linear{}, fmt.Errorf("the %s SDE has no reference discretisation (sde.ReferenceDiscretizer)", s.Name())
	}
	return ref.Reverse, nil
}

// Ancestral samples q(x_t' | x_t, x_0) at Tweedie's x_0 (Song et al. 2021,
// appendix F): x' = (x + B^2 score)/A + sigma z with sigma^2 = B^2 ("beta")
// or the posterior variance B^2 s(t')^2/s(t)^2 ("beta-tilde").
type Ancestral struct {
	// Variance is "beta" or "beta-tilde"; "" selects the SDE's default
	// (sde.DefaultAncestralVariance: beta-tilde for VE, as in the reference).
	Variance string
}

func (*Ancestral) Name() string { return "ancestral" }

func (a *Ancestral) validate() error {
	switch a.Variance {
	case "", VarianceBeta, VarianceBetaTilde:
		return nil
	}
	return fmt.Errorf("%q is unknown; use beta or beta-tilde", a.Variance)
}

func (a *Ancestral) variance(s sde.SDE) string {
	if a.Variance != "" {
		return a.Variance
	}
	return sde.DefaultAncestralVariance(s)
}

func (a *Ancestral) Step(s sde.SDE, t, tp float64) sde.Linear {
	return sde.Ancestral(s, t, tp, a.variance(s) == VarianceBetaTilde)
}

func (a *Ancestral) Reference(s sde.SDE, ref *sde.RefStep, _ float64, _ int) (sde.Linear, error) {
	if ref == nil {
		return sde.Linear{}, fmt.Errorf("the %s SDE has no reference discretisation (sde.ReferenceDiscretizer)", s.Name())
	}
	if a.variance(s) == VarianceBetaTilde {
		return ref.AncestralTilde, nil
	}
	return ref.Ancestral, nil
}

// NoPredictor runs the corrector alone at every grid point.
type NoPredictor struct{}

func (NoPredictor) Name() string                              { return "none" }
func (NoPredictor) Step(sde.SDE, float64, float64) sde.Linear { return sde.Linear{} }
func (NoPredictor) Reference(sde.SDE, *sde.RefStep, float64, int) (sde.Linear, error) {
	return sde.Linear{}, nil
}

// Variance choices of DDPM and of the ancestral predictor.
const (
	VarianceBeta      = "beta"       // sigma^2 = beta (the forward step's variance)
	VarianceBetaTilde = "beta-tilde" // sigma^2 = beta-tilde (the posterior variance)
)

// ALD is annealed Langevin dynamics (Song and Ermon 2019, Algorithm 1; the
// reference's AnnealedLangevinDynamics): e = 2 alpha (r s(t))^2, the same
// for every row.
type ALD struct{}

func (ALD) Name() string     { return "ald" }
func (ALD) NeedsNorms() bool { return false }
func (ALD) StepSize(alpha, std, snr, _, _ float64) float64 {
	return 2 * alpha * (snr * std) * (snr * std)
}

// Langevin is the signal-to-noise rule (Song et al. 2021, Algorithm 5):
// e = 2 alpha (r |z| / |score|)^2 from the row's norms (or, with
// PC.BatchNorms, the batch's mean norms); no step where the score vanishes.
type Langevin struct{}

func (Langevin) Name() string     { return "langevin" }
func (Langevin) NeedsNorms() bool { return true }
func (Langevin) StepSize(alpha, _, snr, zNorm, sNorm float64) float64 {
	return langevinStep(alpha, snr, zNorm, sNorm)
}

// NoCorrector runs no corrector.
type NoCorrector struct{}

func (NoCorrector) Name() string                                                 { return "none" }
func (NoCorrector) NeedsNorms() bool                                             { return false }
func (NoCorrector) StepSize(float64, float64, float64, float64, float64) float64 { return 0 }
