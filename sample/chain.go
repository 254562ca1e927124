package sample

import (
	"context"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/sde"
)

// The plan DDPM and DDIM share: the discrete chain on a VP SDE's DDPM
// schedule, stepped by package discretize.

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
