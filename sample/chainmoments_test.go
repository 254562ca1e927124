package sample

import (
	"context"
	"math"
	"testing"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// chainMoments is the discrete DDPM chain on Gaussian data written out
// here, coordinate by coordinate, from Ho et al. 2020 and Song et al.'s DDIM
// (not from package discretize; discretize's TestChainMomentsMatchRecursion
// checks DDPM's and DDIM's moments with noise): alpha-bar_i = prod (1 - beta_j), the exact noise of level i
// eps(x) = (x - sqrt(ab) E[x0|x])/sqrt(1 - ab) with
// E[x0|x] = mu + sqrt(ab) s0^2/(ab s0^2 + 1 - ab) (x - sqrt(ab) mu). A step
// is affine, x' = A x + B + sig z, so it returns (A, B, sig) of step i to
// level j (j = -1: the data).
type chainMoments struct {
	betas, ab []float64
	mu, s0    float64
}

func newChainMoments(betas []float64, mu, s0 float64) *chainMoments {
	c := &chainMoments{betas: betas, mu: mu, s0: s0, ab: make([]float64, len(betas))}
	p := 1.0
	for i, b := range betas {
		p *= 1 - b
		c.ab[i] = p
	}
	return c
}

// eps returns eps(x) = E x + F at level i.
func (c *chainMoments) eps(i int) (E, F float64) {
	ab := c.ab[i]
	k := math.Sqrt(ab) * c.s0 * c.s0 / (ab*c.s0*c.s0 + 1 - ab)
	// E[x0|x] = P x + Q
	P, Q := k, c.mu-k*math.Sqrt(ab)*c.mu
	r := math.Sqrt(1 - ab)
	return (1 - math.Sqrt(ab)*P) / r, -math.Sqrt(ab) * Q / r
}

// ddim is DDIM's eta = 0 step from level i to j: x_j = sqrt(ab_j) x0hat +
// sqrt(1 - ab_j) eps, x0hat = (x - sqrt(1 - ab_i) eps)/sqrt(ab_i).
func (c *chainMoments) ddim(i, j int) (A, B float64) {
	E, F := c.eps(i)
	abj := 1.0
	if j >= 0 {
		abj = c.ab[j]
	}
	abi := c.ab[i]
	// x0hat = G x + H
	G := (1 - math.Sqrt(1-abi)*E) / math.Sqrt(abi)
	H := -math.Sqrt(1-abi) * F / math.Sqrt(abi)
	return math.Sqrt(abj)*G + math.Sqrt(1-abj)*E, math.Sqrt(abj)*H + math.Sqrt(1-abj)*F
}

// DDIM (eta = 0) with the exact score of gauss:D follows the discrete
// chain's own recursion row by row: each sample equals the recursion above
// applied to its own prior draw. Tolerance 1e-11: twenty affine steps of
// values of order 1, each a few roundings. With the SDE's marginals (the
// old default) the same rows miss the recursion by far more (checked, so
// the test can tell the two apart).
func TestDDIMFollowsChainRecursion(t *testing.T) {
	vp := sde.NewVP()
	g := score.Gauss(vp, 4)
	const N, S = 100, 20
	betas, _ := vp.DiscreteBetas(N)
	seq, _ := discretize.DDIMSequence(N, S)
	rows := make([]int, 50)
	for i := range rows {
		rows[i] = i
	}
	worst := map[string]float64{}
	for _, m := range []string{"", MarginalSDE} {
		cfg := Config{SDE: vp, Score: g, Sampler: &DDIM{Steps: S, DDPMSteps: N, Marginal: m}}
		_, states, err := Trajectory(context.Background(), cfg, 3, rows, 2)
		if err != nil {
			t.Fatal(err)
		}
		prior, x := states[0], states[1]
		for j := 0; j < 4; j++ {
			cm := newChainMoments(betas, g.Means[0][j], g.Stds[0][j])
			for r := range rows {
				y := prior[r*4+j]
				for k := len(seq) - 1; k >= 0; k-- {
					jj := -1
					if k > 0 {
						jj = seq[k-1]
					}
					A, B := cm.ddim(seq[k], jj)
					y = A*y + B
				}
				worst[m] = math.Max(worst[m], math.Abs(x[r*4+j]-y))
			}
		}
	}
	if worst[""] > 1e-11 {
		t.Errorf("DDIM on the chain's marginals: max distance %.3g to the chain's recursion", worst[""])
	}
	if worst[MarginalSDE] < 1e-4 {
		t.Errorf("DDIM on the SDE's marginals: max distance %.3g to the chain's recursion; expected a visible gap", worst[MarginalSDE])
	}
	t.Logf("max distance to the chain's recursion: chain marginals %.2g, SDE marginals %.2g", worst[""], worst[MarginalSDE])
}
