package sample

import (
	"fmt"

	"github.com/sdekit/sdekit/discretize"
)

// DDIM is the DDIM sampler (Song, Meng and Ermon 2020, eq. 12) on a
// subsequence of Steps levels of an N-level DDPM schedule, from i to j:
//
//	x_j = sqrt(alpha-bar_j) x0hat + sqrt(1 - alpha-bar_j - sigma^2) eps + sigma z,
//	sigma = eta sqrt((1 - alpha-bar_j)/(1 - alpha-bar_i)) sqrt(1 - alpha-bar_i/alpha-bar_j).
type DDIM struct {
	// Steps is the number S of steps; 0 selects 1000.
	Steps int
	// DDPMSteps is the length N of the underlying DDPM schedule; 0 selects 1000.
	DDPMSteps int
	// Eta is 0 for deterministic DDIM, 1 for DDPM-like noise.
	Eta float64
	// Marginal is MarginalChain or MarginalSDE (see DDPM.Marginal).
	Marginal string

	used string
}

// Name returns "ddim".
func (*DDIM) Name() string { return "ddim" }

// Options returns steps, ddpm-steps and eta.
func (s *DDIM) Options() []Option {
	return []Option{
		IntOption(&s.Steps, "steps", 1000, "number of DDIM steps S"),
		IntOption(&s.DDPMSteps, "ddpm-steps", 1000, "length N of the underlying DDPM schedule"),
		FloatOption(&s.Eta, "eta", 0, "0 deterministic, 1 DDPM-like"),
		marginalOption(&s.Marginal),
	}
}

// Prepare fills the defaults and builds the plan.
func (s *DDIM) Prepare(c *Config) (Plan, error) {
	if s.Steps == 0 {
		s.Steps = 1000
	}
	if s.Steps < 1 {
		return nil, optionErrorf(s, "DDIM.Steps", "steps", s.Steps, "use S >= 1 (0 selects 1000)")
	}
	if s.DDPMSteps == 0 {
		s.DDPMSteps = 1000
	}
	if s.DDPMSteps < 1 {
		return nil, optionErrorf(s, "DDIM.DDPMSteps", "ddpm-steps", s.DDPMSteps, "use the length of the DDPM schedule (0 selects 1000)")
	}
	if s.Steps > s.DDPMSteps {
		return nil, optionErrorf(s, "DDIM.Steps", "steps", s.Steps, "more than the %d levels of the DDPM schedule; use steps <= ddpm-steps", s.DDPMSteps)
	}
	if !(s.Eta >= 0 && s.Eta <= 1) {
		return nil, optionErrorf(s, "DDIM.Eta", "eta", s.Eta, "must lie in [0, 1] (0 deterministic DDIM, 1 DDPM-like)")
	}
	g, err := betaGrid(s, c)
	if err != nil {
		return nil, err
	}
	sched, err := discretize.FromVP(g, s.DDPMSteps)
	if err != nil {
		return nil, optionErrorf(s, "DDIM.DDPMSteps", "ddpm-steps", nil, "%v", err)
	}
	seq, err := discretize.DDIMSequence(s.DDPMSteps, s.Steps)
	if err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	m, err := resolveMarginal(s, "DDIM.Marginal", s.Marginal, c)
	if err != nil {
		return nil, err
	}
	if s.used != m {
		s.used = m // written once: a prepared sampler may be shared
	}
	return newChainPlan(c, sched, seq, 0, s.Eta, true, m)
}

// Describe gives the steps of the schedule, eta and the marginals of eps.
func (s *DDIM) Describe() string {
	return fmt.Sprintf("%d of %d DDPM steps, eta %g%s", s.Steps, s.DDPMSteps, s.Eta, describeMarginal(s.used))
}
