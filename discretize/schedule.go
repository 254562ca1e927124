package discretize

import (
	"fmt"
	"math"
	"strings"

	"github.com/sdekit/sdekit/internal/grid"
	"github.com/sdekit/sdekit/sde"
)

// DDPM is the discrete DDPM noise schedule with N steps, indexed i = 0..N-1
// (DDPM's t = i + 1).
type DDPM struct {
	Betas     []float64 // beta_i
	Alphas    []float64 // 1 - beta_i
	AlphaBars []float64 // prod_{j<=i} alpha_j
}

// N returns the number of steps.
func (d *DDPM) N() int { return len(d.Betas) }

// NewDDPM returns the schedule of the given betas, which must lie in (0, 1).
func NewDDPM(betas []float64) (*DDPM, error) {
	if len(betas) == 0 {
		return nil, fmt.Errorf("discretize: the DDPM schedule needs at least one step")
	}
	alphas, alphaBars, bad := grid.DDPMChain(betas)
	if bad >= 0 {
		return nil, fmt.Errorf("discretize: beta_%d = %v must lie in (0, 1)", bad, betas[bad])
	}
	return &DDPM{Betas: append([]float64(nil), betas...), Alphas: alphas, AlphaBars: alphaBars}, nil
}

// FromVP returns the DDPM schedule with N steps of an SDE whose
// discretisation is the DDPM chain (sde.VP): the betas of its DiscreteBetas,
// beta_i = linspace(beta_min/N, beta_max/N, N) for VP. (A sub-VP's chain is
// that of the VP with the same betas: pass &sde.VP{BetaMin, BetaMax}.)
func FromVP(vp sde.BetaGrid, n int) (*DDPM, error) {
	if n < 1 {
		return nil, fmt.Errorf("discretize: steps = %d; use at least 1", n)
	}
	if err := vp.Validate(); err != nil {
		return nil, err
	}
	betas, err := vp.DiscreteBetas(n)
	if err != nil {
		// The grid's own complaint (for VP: beta_max/N >= 1), reported as
		// this package's, as it was before the grid moved into sde.
		return nil, fmt.Errorf("discretize: %s", strings.TrimPrefix(err.Error(), "sde: "))
	}
	return NewDDPM(betas)
}

// Linspace returns n points from a to b inclusive, computed as a + i (b - a)/(n - 1)
// (b exactly at the end), the same rounding as numpy.linspace.
func Linspace(a, b float64, n int) []float64 { return grid.Linspace(a, b, n) }

// Time returns the continuous time t_i = (i + 1)/N of step i on [0, 1].
func (d *DDPM) Time(i int) float64 { return float64(i+1) / float64(len(d.Betas)) }

// BetaTilde returns the posterior variance beta-tilde_i =
// beta_i (1 - alpha-bar_{i-1}) / (1 - alpha-bar_i). At i = 0 (DDPM's t = 1)
// alpha-bar_{-1} = 1, so beta-tilde_0 = 0: the last sampling step adds no noise.
func (d *DDPM) BetaTilde(i int) float64 {
	return grid.BetaTilde(d.Betas, d.AlphaBars, i)
}

// PriorTermBits returns L_T = KL(q(x_T | x_0) || N(0, I)) for the data row x0,
// in bits per dimension.
func (d *DDPM) PriorTermBits(x0 []float64) float64 {
	ab := d.AlphaBars[len(d.AlphaBars)-1]
	var kl float64
	for _, x := range x0 {
		kl += 0.5 * (ab*(x*x-1) - math.Log1p(-ab))
	}
	return kl / float64(len(x0)) / math.Ln2
}

// SMLDSigmas returns the N noise levels of SMLD/NCSN of an SDE whose
// discretisation is the SMLD chain (sde.VE: geometric from sigma_min to
// sigma_max, in increasing order), from its DiscreteSigmas.
func SMLDSigmas(ve sde.SigmaGrid, n int) ([]float64, error) {
	if n < 2 {
		return nil, fmt.Errorf("discretize: steps = %d; the SMLD grid needs at least 2", n)
	}
	return ve.DiscreteSigmas(n)
}
