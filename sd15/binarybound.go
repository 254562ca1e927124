package sd15

import (
	"context"
	"math"
	"math/rand/v2"

	"github.com/sdekit/sdekit/discretize"
)

// binaryRates writes the reverse rates p(x_{t-1} = 1 | x_t) of a factorised
// binomial kernel for t = 2..T into dst: a trained BinaryModel's or the
// HeartbeatOracle's. The bound estimators below take one, so that both are
// measured by the same code.
type binaryRates func(dst, xt []float64, t int)

// rates returns m.Rates as a binaryRates using the workspace w.
func (m *BinaryModel) rates(w *Work) binaryRates {
	in := make([]float64, m.D)
	return func(dst, xt []float64, t int) { m.Rates(w, dst, xt, t, in) }
}

// firstStepRate returns p(x_0 = 1 | x_1) for one bit of x_1 under the fixed
// first step q(x_1 | x_0) pi(x_0)/pi(x_1) of the chain c.
func firstStepRate(c discretize.Binomial, x1 float64) float64 {
	p := c.P
	l1 := bernoulli(c.Step(1, 1), x1) * p
	l0 := bernoulli(c.Step(0, 1), x1) * (1 - p)
	return l1 / (l1 + l0)
}

// firstStepTerm returns E_{x_1 ~ q(x_1|x_0)} log2 p(x_0 | x_1) in closed form.
func firstStepTerm(c discretize.Binomial, x0 []float64) float64 {
	var s float64
	for _, v := range x0 {
		m1 := c.Marginal(v, 1)
		for _, x1 := range []float64{0, 1} {
			s += bernoulli(m1, x1) * math.Log2(clampRate(bernoulli(firstStepRate(c, x1), v)))
		}
	}
	return s
}

// BoundKL estimates K for the data point x0 by the KL form of the bound:
//
//	K(x_0) = -sum_{t=2}^T E_{x_t ~ q(x_t|x_0)} KL(q(x_{t-1}|x_t,x_0) || p(x_{t-1}|x_t))
//	         + E log p(x_0|x_1) - KL(q(x_T|x_0) || pi),
//
// with the last two terms in closed form (the KL is 0: beta_T = 1) and one
// draw of x_t per t. Each call returns one unbiased sample of K(x_0) in bits.
func (m *BinaryModel) BoundKL(x0 []float64, r *rand.Rand, w *Work) float64 {
	return boundKL(m.Chain, m.rates(w), x0, r)
}

func boundKL(c discretize.Binomial, rates binaryRates, x0 []float64, r *rand.Rand) float64 {
	d := len(x0)
	xt, p := make([]float64, d), make([]float64, d)
	k := firstStepTerm(c, x0)
	for t := 2; t <= c.T; t++ {
		for i := range xt {
			xt[i] = draw(r, c.Marginal(x0[i], t))
		}
		rates(p, xt, t)
		for i := range xt {
			k -= discretize.BernoulliKL(c.Posterior(xt[i], x0[i], t), clampRate(p[i]))
		}
	}
	return k
}

// BoundTrajectory estimates K for x0 from one forward trajectory
// x_1, ..., x_T ~ q, as log2 of p(x_{0:T}) / q(x_{1:T} | x_0): the definition of
// the bound, with none of the closed forms BoundKL uses. Each call returns one
// unbiased sample of K(x_0) in bits.
func (m *BinaryModel) BoundTrajectory(x0 []float64, r *rand.Rand, w *Work) float64 {
	return boundTrajectory(m.Chain, m.rates(w), x0, r)
}

func boundTrajectory(c discretize.Binomial, rates binaryRates, x0 []float64, r *rand.Rand) float64 {
	d := len(x0)
	prev, cur, p := append([]float64(nil), x0...), make([]float64, d), make([]float64, d)
	var lr float64
	for t := 1; t <= c.T; t++ {
		for i := range cur {
			rate := c.Step(prev[i], t)
			cur[i] = draw(r, rate)
			lr -= math.Log2(bernoulli(rate, cur[i])) // - log q(x_t | x_{t-1})
		}
		if t == 1 {
			for i := range cur {
				lr += math.Log2(clampRate(bernoulli(firstStepRate(c, cur[i]), prev[i])))
			}
		} else {
			rates(p, cur, t)
			for i := range cur {
				lr += math.Log2(clampRate(bernoulli(p[i], prev[i])))
			}
		}
		prev, cur = cur, prev
	}
	for _, v := range prev { // log pi(x_T)
		lr += math.Log2(bernoulli(c.P, v))
	}
	return lr
}

// NullLogLikelihood returns L_null = log2 pi(x_0), the log-likelihood of x0
// under the prior B(P) alone.
func (m *BinaryModel) NullLogLikelihood(x0 []float64) float64 {
	var s float64
	for _, v := range x0 {
		s += math.Log2(bernoulli(m.Chain.P, v))
	}
	return s
}

// EstimateK averages n samples of the bound, each for a fresh x_0 from data,
// by the KL form (trajectory false) or the trajectory form (true).
func (m *BinaryModel) EstimateK(ctx context.Context, data func(dst []float64, r *rand.Rand), n int, trajectory bool, r *rand.Rand) (Estimate, error) {
	return estimateK(ctx, m.Net, m.D, m.BoundKL, m.BoundTrajectory, data, n, trajectory, r)
}

// estimateK averages n one-sample estimates of the bound, each for a fresh x_0
// from data, by kl or by traj; net supplies their workspace (nil: they need
// none, as the HeartbeatOracle's).
func estimateK(ctx context.Context, net *Net, d int, kl, traj func([]float64, *rand.Rand, *Work) float64, data func([]float64, *rand.Rand), n int, trajectory bool, r *rand.Rand) (Estimate, error) {
	var w *Work
	if net != nil {
		w = net.NewWork()
	}
	x0 := make([]float64, d)
	v := make([]float64, n)
	one := kl
	if trajectory {
		one = traj
	}
	for i := range v {
		if err := ctx.Err(); err != nil {
			return Estimate{}, err
		}
		data(x0, r)
		v[i] = one(x0, r, w)
	}
	return summarise(v), nil
}
