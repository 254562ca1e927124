package sde

import (
	"fmt"
	"math"
)

// ChainVP is the VP SDE whose marginals at the times t_i = (i + 1)/N are
// those of the discrete DDPM chain with betas beta_0..beta_{N-1}:
//
//	x_{t_i} ~ N(sqrt(alpha-bar_i) x_0, (1 - alpha-bar_i) I),  alpha-bar_i = prod_{j<=i} (1 - beta_j),
//
// exactly. Its beta(t) is piecewise constant, beta(t) = -N log(1 - beta_i)
// on (i/N, (i+1)/N], so that log c(t) = (1/2) sum log(1 - beta_j) at the
// grid times (the linear-beta VP SDE has log c(t_i) = -(1/2) integral beta,
// which the chain only approximates: log(1 - beta) < -beta). An exact score
// built on ChainVP (score.Mixture.ForSDE) is the exact score of the chain's
// own marginals, which DDPM and DDIM need to reproduce the chain's moment
// recursion (Ho et al. 2020 train eps on those marginals, not on the SDE's).
type ChainVP struct {
	n      int
	logA   []float64 // log(1 - beta_i)
	cumLog []float64 // cumLog[i] = sum_{j<i} log(1 - beta_j); cumLog[0] = 0
}

// NewChainVP returns the ChainVP of the betas, each in (0, 1).
func NewChainVP(betas []float64) (*ChainVP, error) {
	if len(betas) == 0 {
		return nil, fmt.Errorf("sde: the DDPM chain needs at least one beta")
	}
	c := &ChainVP{n: len(betas), logA: make([]float64, len(betas)), cumLog: make([]float64, len(betas)+1)}
	for i, b := range betas {
		if !(b > 0 && b < 1) {
			return nil, fmt.Errorf("sde: beta_%d = %v must lie in (0, 1)", i, b)
		}
		c.logA[i] = math.Log1p(-b)
		c.cumLog[i+1] = c.cumLog[i] + c.logA[i]
	}
	return c, nil
}

// Name is "vp-chain" (not a registered kind: it is built from a schedule).
func (c *ChainVP) Name() string { return "vp-chain" }
func (c *ChainVP) T() float64   { return 1 }

// interval returns the step i with t in (i/N, (i+1)/N] (0 for t = 0) and
// the fraction of it t has covered.
func (c *ChainVP) interval(t float64) (int, float64) {
	u := t * float64(c.n)
	i := int(math.Ceil(u)) - 1
	i = min(max(i, 0), c.n-1)
	return i, u - float64(i)
}

// Beta returns beta(t) = -N log(1 - beta_i) on step i's interval.
func (c *ChainVP) Beta(t float64) float64 {
	i, _ := c.interval(t)
	return -float64(c.n) * c.logA[i]
}

func (c *ChainVP) DriftCoef(t float64) float64 { return -0.5 * c.Beta(t) }
func (c *ChainVP) Diffusion(t float64) float64 { return math.Sqrt(c.Beta(t)) }

// Marginal returns c(t) and sqrt(1 - c(t)^2); at t = (i + 1)/N,
// c^2 = alpha-bar_i to rounding.
func (c *ChainVP) Marginal(t float64) (float64, float64) {
	checkTime(t, 1)
	i, f := c.interval(t)
	lc := 0.5 * (c.cumLog[i] + f*c.logA[i])
	return math.Exp(lc), math.Sqrt(-math.Expm1(2 * lc))
}

func (c *ChainVP) PriorStd() float64 { return 1 }
func (c *ChainVP) Validate() error   { return nil }
