package sample

import (
	"context"
	"fmt"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/sde"
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
}

// Name returns "ddpm".
func (*DDPM) Name() string { return "ddpm" }

// Options returns steps and ddpm-variance.
func (s *DDPM) Options() []Option {
	return []Option{
		IntOption(&s.Steps, "steps", 1000, "number of levels N of the DDPM chain"),
		StringOption(&s.Variance, "ddpm-variance", "", "beta or beta-tilde (default beta)"),
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
	return newChainPlan(c, sched, seq, v, 0, false), nil
}

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
}

// Name returns "ddim".
func (*DDIM) Name() string { return "ddim" }

// Options returns steps, ddpm-steps and eta.
func (s *DDIM) Options() []Option {
	return []Option{
		IntOption(&s.Steps, "steps", 1000, "number of DDIM steps S"),
		IntOption(&s.DDPMSteps, "ddpm-steps", 1000, "length N of the underlying DDPM schedule"),
		FloatOption(&s.Eta, "eta", 0, "0 deterministic, 1 DDPM-like"),
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
		return nil, optionErrorf(s, "DDIM.Steps", "steps", s.Steps, "more than the %d steps of the DDPM schedule; use Steps <= DDPMSteps", s.DDPMSteps)
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
	return newChainPlan(c, sched, seq, 0, s.Eta, true), nil
}

// betaGrid returns the SDE of c as a DDPM chain, or an error naming the sampler.
func betaGrid(s Sampler, c *Config) (sde.BetaGrid, error) {
	g, ok := c.SDE.(sde.BetaGrid)
	if !ok {
		return nil, &UnsupportedSDEError{Sampler: s.Name(), SDE: c.SDE.Name(), Need: "a VP SDE (DDPM is the discretised VP SDE: sde.BetaGrid); use em, pc or ode for sub-VP and VE"}
	}
	return g, nil
}

// chainPlan is a prepared DDPM or DDIM sampler.
type chainPlan struct {
	sched    *discretize.DDPM
	eps      *discretize.ScoreEps
	seq      []int
	variance discretize.Variance
	eta      float64
	ddim     bool
	path     []float64
}

func newChainPlan(c *Config, sched *discretize.DDPM, seq []int, v discretize.Variance, eta float64, ddim bool) *chainPlan {
	pl := &chainPlan{sched: sched, seq: seq, variance: v, eta: eta, ddim: ddim}
	pl.eps = discretize.NewScoreEps(c.Score, c.SDE, sched.N())
	for k := len(seq) - 1; k >= 0; k-- {
		pl.path = append(pl.path, sched.Time(seq[k]))
	}
	pl.path = append(pl.path, 0)
	return pl
}

// PriorStd is 1: DDPM's x_N ~ N(0, I).
func (pl *chainPlan) PriorStd() float64 { return 1 }
func (pl *chainPlan) Path() []float64   { return pl.path }

func (pl *chainPlan) Run(ctx context.Context, b *Block) error {
	m, d := b.M(), b.D
	x := b.X
	idx := b.ws.ints(m)
	eps, z := b.Scratch(0, m*d), b.Scratch(1, m*d)
	for k := len(pl.seq) - 1; k >= 0; k-- {
		if err := Stopped(ctx); err != nil {
			return err
		}
		i := pl.seq[k]
		jj := -1
		if k > 0 {
			jj = pl.seq[k-1]
		}
		for r := range idx {
			idx[r] = i
		}
		pl.eps.EpsTo(eps, x, idx)
		var sigma float64
		if pl.ddim {
			_, _, sigma = pl.sched.DDIMCoefs(i, jj, pl.eta)
		} else {
			_, _, sigma = pl.sched.AncestralCoefs(i, pl.variance)
		}
		if sigma != 0 {
			b.Noise.Increment(z, 0, m, pl.sched.Time(i), float64(jj+1)/float64(pl.sched.N()))
			b.Noise.Next()
		}
		if pl.ddim {
			pl.sched.DDIMStepTo(x, x, eps, z, i, jj, pl.eta)
		} else {
			pl.sched.AncestralStepTo(x, x, eps, z, i, pl.variance)
		}
		if err := b.NonFinite(x, float64(jj+1)/float64(pl.sched.N())); err != nil {
			return err
		}
		b.Save(len(pl.seq)-k, x)
	}
	b.AddNFE(len(pl.seq))
	return nil
}

// Describe gives the steps and the variance.
func (s *DDPM) Describe() string { return fmt.Sprintf("%d steps, variance %s", s.Steps, s.Variance) }

// Describe gives the steps of the schedule and eta.
func (s *DDIM) Describe() string {
	return fmt.Sprintf("%d of %d DDPM steps, eta %g", s.Steps, s.DDPMSteps, s.Eta)
}
