package sample

import (
	"context"
	"fmt"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/sde"
)

// The plan DDPM and DDIM share: the discrete chain on a VP SDE's DDPM
// schedule, stepped by package discretize.

// betaGrid returns the SDE of c as a DDPM chain, or an error naming the sampler.
func betaGrid(s Sampler, c *Config) (sde.BetaGrid, error) {
	g, ok := c.SDE.(sde.BetaGrid)
	if !ok {
		return nil, &UnsupportedSDEError{Sampler: s.Name(), SDE: c.SDE.Name(), Need: "a VP SDE (DDPM is the discretised VP SDE: sde.BetaGrid); use another sampler for sub-VP, VE and EDM"}
	}
	return g, nil
}

// The marginals whose score DDPM and DDIM turn into their noise prediction
// eps(x, i) = -s_i score(x, t_i):
//
//	chain  the discrete chain's own, N(sqrt(alpha-bar_i) x0, (1 - alpha-bar_i) I)
//	       (sde.ChainVP): with an exact score the chain's exact eps, so the
//	       samplers follow the chain's moment recursion; the default for
//	       exact scores (sde.ExactScore)
//	sde    the SDE's at t_i = (i + 1)/N: what a network trained on the
//	       continuous SDE learnt; the default otherwise
const (
	MarginalChain = "chain"
	MarginalSDE   = "sde"
)

// marginalOption is the option eps-marginal of DDPM and DDIM.
func marginalOption(p *string) Option {
	return Option{Name: "eps-marginal", Default: "auto", Usage: "marginals the score is turned into noise with: chain (the DDPM chain's alpha-bar), sde (the SDE's at t = (i+1)/N) or auto (chain for an exact score, sde for a network)", Set: func(s string) error {
		switch s {
		case "auto":
			*p = ""
		case MarginalChain, MarginalSDE:
			*p = s
		default:
			return fmt.Errorf("%q is unknown; use chain, sde or auto", s)
		}
		return nil
	}}
}

// resolveMarginal returns the marginal a run uses: the field's if set, else
// chain for an exact score and sde otherwise.
func resolveMarginal(s Sampler, field string, m string, c *Config) (string, error) {
	switch m {
	case "":
		if _, ok := c.Score.(sde.ExactScore); ok {
			return MarginalChain, nil
		}
		return MarginalSDE, nil
	case MarginalChain:
		if _, ok := c.Score.(sde.ExactScore); !ok {
			return "", optionErrorf(s, field, "eps-marginal", m, "needs an exact score (a network learnt the SDE's marginals); use sde")
		}
		return m, nil
	case MarginalSDE:
		return m, nil
	}
	return "", optionErrorf(s, field, "eps-marginal", m, "unknown; use chain or sde")
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

func newChainPlan(c *Config, sched *discretize.DDPM, seq []int, v discretize.Variance, eta float64, ddim bool, marginal string) (*chainPlan, error) {
	pl := &chainPlan{sched: sched, seq: seq, variance: v, eta: eta, ddim: ddim}
	sc, sd := c.Score, c.SDE
	if marginal == MarginalChain {
		ex, ok := c.Score.(sde.ExactScore)
		if !ok {
			return nil, fmt.Errorf("sample: the chain's marginals need an exact score (sde.ExactScore, as score.Mixture); a network learnt the SDE's marginals: use %s", MarginalSDE)
		}
		ch, err := sde.NewChainVP(sched.Betas)
		if err != nil {
			return nil, fmt.Errorf("sample: %w", err)
		}
		if sc, err = ex.ForSDE(ch); err != nil {
			return nil, fmt.Errorf("sample: %w", err)
		}
		sd = ch
	}
	pl.eps = discretize.NewScoreEps(sc, sd, sched.N())
	for k := len(seq) - 1; k >= 0; k-- {
		pl.path = append(pl.path, sched.Time(seq[k]))
	}
	pl.path = append(pl.path, 0)
	return pl, nil
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

// describeMarginal says which marginals eps came from.
func describeMarginal(m string) string {
	switch m {
	case MarginalChain:
		return ", noise prediction on the chain's alpha-bar"
	case MarginalSDE:
		return ", noise prediction on the SDE's marginal at t = (i+1)/N"
	}
	return ""
}
