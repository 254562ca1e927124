package score

import (
	"fmt"
	"math"

	"github.com/sdekit/sdekit/sde"
)

// FlowTo writes the exact probability-flow map from time t0 to time t1 of
// the rows x into dst, for a mixture of one diagonal Gaussian N(mu, diag
// sd^2): along the flow each coordinate keeps its standardised value,
//
//	(x_t1 - c1 mu)/sqrt(c1^2 sd^2 + s1^2) = (x_t0 - c0 mu)/sqrt(c0^2 sd^2 + s0^2),
//
// because the flow carries the marginal N(c mu, c^2 sd^2 + s^2) at t0 to the
// one at t1 and is linear for Gaussian data. It is the oracle of every
// deterministic sampler's true error.
func (m *Mixture) FlowTo(dst, x []float64, t0, t1 float64) error {
	if m.K() != 1 {
		return fmt.Errorf("score: the exact flow map needs one Gaussian component, the mixture has %d", m.K())
	}
	d := m.Dim()
	if len(x)%d != 0 || len(dst) != len(x) {
		return fmt.Errorf("score: FlowTo with rows of %d values: got x %d and dst %d", d, len(x), len(dst))
	}
	c0, s0 := m.SDE.Marginal(t0)
	c1, s1 := m.SDE.Marginal(t1)
	mu, sd := m.Means[0], m.Stds[0]
	for j := 0; j < d; j++ {
		v0 := c0*c0*sd[j]*sd[j] + s0*s0
		v1 := c1*c1*sd[j]*sd[j] + s1*s1
		r := math.Sqrt(v1 / v0)
		for i := j; i < len(x); i += d {
			dst[i] = c1*mu[j] + r*(x[i]-c0*mu[j])
		}
	}
	return nil
}

// ForSDE returns the exact score of the same data density under the forward
// SDE s (sde.ExactScore): the mixture with its components, weights and
// dimension unchanged.
func (m *Mixture) ForSDE(s sde.SDE) (sde.Score, error) {
	if s == nil {
		return nil, fmt.Errorf("score: ForSDE needs an SDE")
	}
	return NewMixture(s, m.Weights, m.Means, m.Stds)
}
