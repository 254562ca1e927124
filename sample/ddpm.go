package sample

import (
	"fmt"

	"github.com/sdekit/sdekit/discretize"
)

// DDPM is ancestral sampling of the discrete DDPM chain (Ho et al. 2020,
// Algorithm 2) on the N-level schedule of an SDE whose discretisation is the
// DDPM chain (sde.BetaGrid: VP), with the score turned into a noise
// prediction eps(x, i) = -s(t_i) score(x, t_i), t_i = (i + 1)/N:
//
//	x_{i-1} = (x_i - beta_i / sqrt(1 - alpha-bar_i) eps) / sqrt(alpha_i) + sigma_i z,
//
// sigma_i^2 = beta_i or beta-tilde_i, no noise at i = 0.
type DDPM struct {
	// Steps is the number N of levels; 0 selects 1000.
	Steps int
	// Variance is "beta" or "beta-tilde"; "" selects "beta".
	Variance string
	// Marginal is MarginalChain or MarginalSDE: whose marginals the score
	// is turned into noise with; "" selects chain for an exact score.
	Marginal string

	used string // the marginal the last Prepare resolved, for Describe
}

// Name returns "ddpm".
func (*DDPM) Name() string { return "ddpm" }

// Options returns steps and ddpm-variance.
func (s *DDPM) Options() []Option {
	return []Option{
		IntOption(&s.Steps, "steps", 1000, "number of levels N of the DDPM chain"),
		StringOption(&s.Variance, "ddpm-variance", "", "beta or beta-tilde (default beta)"),
		marginalOption(&s.Marginal),
	}
}

// Prepare fills the defaults and builds the plan.
func (s *DDPM) Prepare(c *Config) (Plan, error) {
	if s.Steps == 0 {
		s.Steps = 1000
	}
	if s.Steps < 1 {
		return nil, optionErrorf(s, "DDPM.Steps", "steps", s.Steps, "use N >= 1 (0 selects 1000)")
	}
	if s.Variance == "" {
		s.Variance = VarianceBeta
	}
	v, err := discretize.ParseVariance(s.Variance)
	if err != nil {
		return nil, optionErrorf(s, "DDPM.Variance", "ddpm-variance", fmt.Sprintf("%q", s.Variance), "unknown; use beta or beta-tilde")
	}
	g, err := betaGrid(s, c)
	if err != nil {
		return nil, err
	}
	sched, err := discretize.FromVP(g, s.Steps)
	if err != nil {
		return nil, optionErrorf(s, "DDPM.Steps", "steps", nil, "%v", err)
	}
	seq := make([]int, s.Steps)
	for k := range seq {
		seq[k] = k
	}
	m, err := resolveMarginal(s, "DDPM.Marginal", s.Marginal, c)
	if err != nil {
		return nil, err
	}
	if s.used != m {
		s.used = m // written once: a prepared sampler may be shared
	}
	return newChainPlan(c, sched, seq, v, 0, false, m)
}

// Describe gives the steps, the variance and the marginals of eps.
func (s *DDPM) Describe() string {
	return fmt.Sprintf("%d steps, variance %s%s", s.Steps, s.Variance, describeMarginal(s.used))
}
