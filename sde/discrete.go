package sde

import (
	"fmt"
	"math"

	"github.com/sdekit/sdekit/internal/grid"
)

// BetaGrid is implemented by SDEs whose discretisation is the DDPM chain
// (VP): DiscreteBetas(n) returns beta_i, i = 0..n-1, of the n-level chain,
// the level i standing for time t_i = (i + 1)/n on [0, 1].
type BetaGrid interface {
	SDE
	DiscreteBetas(n int) ([]float64, error)
}

// SigmaGrid is implemented by SDEs whose discretisation is the SMLD chain
// (VE): DiscreteSigmas(n) returns the increasing noise levels sigma_i,
// i = 0..n-1, the level i standing for time t_i = i/(n - 1) on [0, 1].
type SigmaGrid interface {
	SDE
	DiscreteSigmas(n int) ([]float64, error)
}

// DiscreteBetas returns the DDPM betas of an n-level chain,
// beta_i = grid.Linspace(beta_min/n, beta_max/n, n) (Song et al. 2021, appendix B;
// n = 1000 gives DDPM's 1e-4 .. 0.02).
func (s *VP) DiscreteBetas(n int) ([]float64, error) { return discreteBetas(s.BetaMin, s.BetaMax, n) }

func discreteBetas(bmin, bmax float64, n int) ([]float64, error) {
	if n < 1 {
		return nil, fmt.Errorf("sde: a DDPM chain of %d levels; use at least 1", n)
	}
	if err := validateBeta(bmin, bmax); err != nil {
		return nil, err
	}
	if bmax/float64(n) >= 1 {
		return nil, fmt.Errorf("sde: beta_max/N = %v must be below 1; use more steps", bmax/float64(n))
	}
	return grid.Linspace(bmin/float64(n), bmax/float64(n), n), nil
}

// DiscreteSigmas returns the n noise levels of SMLD/NCSN, geometric from
// sigma_min to sigma_max (exactly at the end): sigma_i = sigma(i/(n - 1)).
func (s *VE) DiscreteSigmas(n int) ([]float64, error) {
	if n < 2 {
		return nil, fmt.Errorf("sde: steps = %d; the SMLD grid needs at least 2", n)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	out := make([]float64, n)
	lr := math.Log(s.SigmaMax / s.SigmaMin)
	for i := range out {
		out[i] = s.SigmaMin * math.Exp(lr*float64(i)/float64(n-1))
	}
	out[n-1] = s.SigmaMax
	return out, nil
}

// Linear is one linear update x' = PX x + PS score + PZ z, z ~ N(0, I).
type Linear struct{ PX, PS, PZ float64 }

// RefStep is one grid point of the reference's N-step loop at time t, whose
// discrete index is i = floor(t (N-1)/T) clamped to [0, N-1].
type RefStep struct {
	// Alpha is the Langevin corrector's alpha: VP 1 - beta_i, VE 1, sub-VP
	// the VP alphas of the same beta schedule.
	Alpha float64
	// Reverse is the reverse-diffusion predictor.
	Reverse Linear
	// Ancestral and AncestralTilde are the ancestral predictor with the
	// variance beta and with the posterior variance beta-tilde.
	Ancestral, AncestralTilde Linear
}

// ReferenceDiscretizer is implemented by SDEs that have the reference code's
// N-step discretisation (score_sde_pytorch's SDE.discretize() and its
// predictors): ReferenceSteps returns one RefStep per time of ts (each in
// [0, T]) for the N = n step loop.
type ReferenceDiscretizer interface {
	ReferenceSteps(ts []float64, n int) ([]RefStep, error)
}

// refIndex is the reference's discrete index of t: floor(t (n-1)/T) clamped
// to [0, n-1].
func refIndex(t, T float64, n int) int {
	return min(max(int(t*float64(n-1)/T), 0), n-1)
}

// ddpmChain holds the betas, alphas and alpha-bars of a DDPM chain, computed
// as discretize.NewDDPM computes them (the same bits).
type ddpmChain struct {
	betas, alphas, alphaBars []float64
}

func newDDPMChain(bmin, bmax float64, n int) (*ddpmChain, error) {
	betas, err := discreteBetas(bmin, bmax, n)
	if err != nil {
		return nil, err
	}
	alphas, alphaBars, bad := grid.DDPMChain(betas)
	if bad >= 0 {
		return nil, fmt.Errorf("sde: beta_%d = %v must lie in (0, 1)", bad, betas[bad])
	}
	return &ddpmChain{betas: betas, alphas: alphas, alphaBars: alphaBars}, nil
}

// betaTilde is beta_i (1 - alpha-bar_{i-1})/(1 - alpha-bar_i), 0 at i = 0.
func (d *ddpmChain) betaTilde(i int) float64 { return grid.BetaTilde(d.betas, d.alphaBars, i) }

// refChain is the n-level DDPM chain of the beta schedule behind VP's and
// sub-VP's reference discretisations.
func refChain(bmin, bmax float64, n int) (*ddpmChain, error) {
	if err := checkRefSteps(n); err != nil {
		return nil, err
	}
	return newDDPMChain(bmin, bmax, n)
}

func checkRefSteps(n int) error {
	if n < 1 {
		return fmt.Errorf("sde: the reference discretisation with %d steps; use at least 1", n)
	}
	return nil
}

// ReferenceSteps returns the reference's VP discretisation with beta_i of the
// n-level DDPM chain: reverse diffusion x' = (2 - sqrt(1 - beta_i)) x +
// beta_i score + sqrt(beta_i) z, ancestral x' = (x + beta_i score)/sqrt(1 -
// beta_i) + sigma_i z with sigma_i^2 = beta_i or beta-tilde_i, alpha = 1 - beta_i.
func (s *VP) ReferenceSteps(ts []float64, n int) ([]RefStep, error) {
	d, err := refChain(s.BetaMin, s.BetaMax, n)
	if err != nil {
		return nil, err
	}
	out := make([]RefStep, len(ts))
	T := s.T()
	for k, t := range ts {
		i := refIndex(t, T, n)
		b := d.betas[i]
		sa := math.Sqrt(1 - b)
		anc := Linear{PX: 1 / sa, PS: b / sa, PZ: math.Sqrt(b)}
		tilde := anc
		tilde.PZ = math.Sqrt(d.betaTilde(i))
		out[k] = RefStep{
			Alpha:          d.alphas[i],
			Reverse:        Linear{PX: 2 - math.Sqrt(1-b), PS: b, PZ: math.Sqrt(b)},
			Ancestral:      anc,
			AncestralTilde: tilde,
		}
	}
	return out, nil
}

// ReferenceSteps returns sub-VP's discretisation where the reference has none
// of its own: reverse diffusion from the generic SDE.discretize (f dt and
// g sqrt(dt) with dt = 1/n), the ancestral step from the exact kernel over
// [t - 1/n, t], and the Langevin alphas of the VP chain with the same betas.
func (s *SubVP) ReferenceSteps(ts []float64, n int) ([]RefStep, error) {
	d, err := refChain(s.BetaMin, s.BetaMax, n)
	if err != nil {
		return nil, err
	}
	out := make([]RefStep, len(ts))
	T := s.T()
	fn := float64(n)
	for k, t := range ts {
		i := refIndex(t, T, n)
		tp := math.Max(t-1/fn, 0)
		A, B2 := Kernel(s, t, tp)
		out[k] = RefStep{
			Alpha:          d.alphas[i],
			Reverse:        ReverseEulerN(s, t, n),
			Ancestral:      ancestralStep(s, t, tp, A, B2, false),
			AncestralTilde: ancestralStep(s, t, tp, A, B2, true),
		}
	}
	return out, nil
}

// ReferenceSteps returns the reference's VE (SMLD) discretisation with the
// geometric sigma_i of max(n, 2) levels: reverse diffusion with
// G^2 = sigma(t)^2 - sigma_{i-1}^2, ancestral with G^2 = sigma_i^2 -
// sigma_{i-1}^2 and the variance G^2 or sigma_{i-1}^2 G^2 / sigma_i^2
// (sigma_{-1} = 0), alpha = 1.
func (s *VE) ReferenceSteps(ts []float64, n int) ([]RefStep, error) {
	if err := checkRefSteps(n); err != nil {
		return nil, err
	}
	smld, err := s.DiscreteSigmas(max(n, 2))
	if err != nil {
		return nil, err
	}
	out := make([]RefStep, len(ts))
	T := s.T()
	for k, t := range ts {
		i := refIndex(t, T, n)
		adj := 0.0
		if i > 0 {
			adj = smld[i-1]
		}
		sig := s.Sigma(t)
		g2 := sig*sig - adj*adj
		st := RefStep{Alpha: 1, Reverse: Linear{PX: 1, PS: g2, PZ: math.Sqrt(g2)}}
		sig = smld[i]
		g2 = sig*sig - adj*adj
		st.Ancestral = Linear{PX: 1, PS: g2, PZ: math.Sqrt(g2)}
		st.AncestralTilde = Linear{PX: 1, PS: g2, PZ: math.Sqrt(adj * adj * g2 / (sig * sig))}
		out[k] = st
	}
	return out, nil
}

var (
	_ BetaGrid             = (*VP)(nil)
	_ SigmaGrid            = (*VE)(nil)
	_ ReferenceDiscretizer = (*VP)(nil)
	_ ReferenceDiscretizer = (*SubVP)(nil)
	_ ReferenceDiscretizer = (*VE)(nil)
	_ Defaults             = (*VP)(nil)
	_ Defaults             = (*SubVP)(nil)
	_ Defaults             = (*VE)(nil)
	_ Parameterized        = (*VP)(nil)
	_ Parameterized        = (*SubVP)(nil)
	_ Parameterized        = (*VE)(nil)
)
