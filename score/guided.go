package score

import (
	"fmt"
	"math"
	"sync"

	"github.com/sdekit/sdekit/sde"
)

// Guided is the score of a posterior p_t(x | y) proportional to p_t(x) r_t(x):
// the base score plus grad_x log r_t(x), the continuous-time form of SD15's
// "multiplying distributions" (Song et al. 2021, section 5 and appendix I, for
// r_t(x) = p_t(y | x)). LogRGrad writes grad log r_t for a batch, like ScoreTo.
type Guided struct {
	Base     sde.Score
	LogRGrad func(dst, x, t []float64)
}

// Dim returns the base score's dimension.
func (g Guided) Dim() int { return g.Base.Dim() }

// guidePool recycles the scratch batch of the guidance term, so a sampler's
// steps do not allocate.
var guidePool sync.Pool

// ScoreTo writes the base score plus grad log r_t into dst.
func (g Guided) ScoreTo(dst, x, t []float64) {
	g.Base.ScoreTo(dst, x, t)
	n := len(t) * g.Base.Dim()
	bp, _ := guidePool.Get().(*[]float64)
	if bp == nil || cap(*bp) < n {
		b := make([]float64, n)
		bp = &b
	}
	extra := (*bp)[:n]
	g.LogRGrad(extra, x, t)
	for i, e := range extra {
		dst[i] += e
	}
	guidePool.Put(bp)
}

// GaussianObservation returns grad_x log p_t(y | x_t) for data that are one
// diagonal Gaussian N(mu_0, diag s_0^2) (a one-component Mixture) observed as
// y = x_0 + N(0, tau^2 I) on the coordinates where observed is true. Per
// coordinate, with x_t = c x_0 + s z and v = c^2 s_0^2 + s^2,
//
//	x_0 | x_t ~ N(m, w),  m = mu_0 + (c s_0^2 / v)(x_t - c mu_0),  w = s_0^2 s^2 / v,
//	y | x_t   ~ N(m, w + tau^2),
//	d/dx_t log p_t(y | x_t) = (y - m)/(w + tau^2) * c s_0^2 / v.
//
// This r_t is exact, so the guided score is exactly the posterior's score.
func GaussianObservation(m *Mixture, y []float64, observed []bool, tau float64) (func(dst, x, t []float64), error) {
	if m.K() != 1 {
		return nil, fmt.Errorf("score: GaussianObservation needs one Gaussian component, the mixture has %d", m.K())
	}
	d := m.Dim()
	if len(y) != d || len(observed) != d {
		return nil, fmt.Errorf("score: observation has %d values and %d flags, want %d", len(y), len(observed), d)
	}
	if !(tau > 0) {
		return nil, fmt.Errorf("score: observation noise tau = %v must be > 0", tau)
	}
	mu, s0 := m.Means[0], m.Stds[0]
	return func(dst, x, t []float64) {
		for i, ti := range t {
			c, s := m.SDE.Marginal(ti)
			for j := 0; j < d; j++ {
				k := i*d + j
				dst[k] = 0
				if !observed[j] {
					continue
				}
				s02 := s0[j] * s0[j]
				v := c*c*s02 + s*s
				mean := mu[j] + c*s02/v*(x[k]-c*mu[j])
				w := s02 * s * s / v
				dst[k] = (y[j] - mean) / (w + tau*tau) * c * s02 / v
			}
		}
	}, nil
}

// GaussianPosterior returns the exact posterior of one diagonal Gaussian
// N(mu_0, diag s_0^2) given y = x_0 + N(0, tau^2) on the observed coordinates,
// as a one-component Mixture under the same SDE: precision 1/s_0^2 + 1/tau^2,
// mean (mu_0/s_0^2 + y/tau^2)/precision on observed coordinates, the prior
// elsewhere.
func GaussianPosterior(m *Mixture, y []float64, observed []bool, tau float64) (*Mixture, error) {
	if m.K() != 1 {
		return nil, fmt.Errorf("score: GaussianPosterior needs one Gaussian component, the mixture has %d", m.K())
	}
	d := m.Dim()
	mu := append([]float64(nil), m.Means[0]...)
	sd := append([]float64(nil), m.Stds[0]...)
	for j := 0; j < d; j++ {
		if observed[j] {
			prec := 1/(sd[j]*sd[j]) + 1/(tau*tau)
			mu[j] = (mu[j]/(sd[j]*sd[j]) + y[j]/(tau*tau)) / prec
			sd[j] = 1 / math.Sqrt(prec)
		}
	}
	return NewMixture(m.SDE, []float64{1}, [][]float64{mu}, [][]float64{sd})
}
