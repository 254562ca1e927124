package discretize

import (
	"fmt"
	"math"
)

// Binomial is the binomial diffusion of Sohl-Dickstein et al. (2015) on
// binary vectors: each bit is, at step t = 1..T, kept with probability
// 1 - beta_t and otherwise redrawn from the prior B(P):
//
//	q(x_t = 1 | x_{t-1}) = x_{t-1} (1 - beta_t) + beta_t P,   beta_t = 1/(T - t + 1).
//
// With this schedule the probability that a bit has never been redrawn by step
// t telescopes: prod_{s<=t} (1 - beta_s) = prod (T - s)/(T - s + 1) = (T - t)/T,
// so beta_T = 1 and x_T ~ B(P) exactly. B(P) is stationary for every step, which
// is what makes the first reverse step p(x_0 | x_1) = q(x_1 | x_0) pi(x_0)/pi(x_1)
// a normalised kernel (see SD15Bound).
type Binomial struct {
	T int     // number of steps, >= 2
	P float64 // prior rate pi = B(P), in (0, 1)
}

// Validate reports whether the chain is usable.
func (b Binomial) Validate() error {
	if b.T < 2 {
		return fmt.Errorf("discretize: binomial diffusion with T = %d steps; use at least 2", b.T)
	}
	if !(b.P > 0 && b.P < 1) {
		return fmt.Errorf("discretize: binomial prior rate P = %v must lie in (0, 1)", b.P)
	}
	return nil
}

// Beta returns beta_t = 1/(T - t + 1) for t = 1..T.
func (b Binomial) Beta(t int) float64 {
	if t < 1 || t > b.T {
		panic(fmt.Sprintf("discretize: binomial step t = %d outside 1..%d", t, b.T))
	}
	return 1 / float64(b.T-t+1)
}

// Keep returns prod_{s<=t} (1 - beta_s) = (T - t)/T, the probability that a bit
// has not been redrawn after t steps (1 at t = 0).
func (b Binomial) Keep(t int) float64 { return float64(b.T-t) / float64(b.T) }

// Marginal returns q(x_t = 1 | x_0) for a bit x0 in {0, 1}.
func (b Binomial) Marginal(x0 float64, t int) float64 {
	k := b.Keep(t)
	return x0*k + (1-k)*b.P
}

// Step returns q(x_t = 1 | x_{t-1}) for a bit xPrev in {0, 1}.
func (b Binomial) Step(xPrev float64, t int) float64 {
	bt := b.Beta(t)
	return xPrev*(1-bt) + bt*b.P
}

// Posterior returns q(x_{t-1} = 1 | x_t, x_0) for bits xt, x0 in {0, 1} and
// t = 2..T, by Bayes' rule on q(x_{t-1} | x_0) q(x_t | x_{t-1}).
func (b Binomial) Posterior(xt, x0 float64, t int) float64 {
	m := b.Marginal(x0, t-1)
	l1 := bernoulliP(b.Step(1, t), xt) // q(x_t | x_{t-1} = 1)
	l0 := bernoulliP(b.Step(0, t), xt) // q(x_t | x_{t-1} = 0)
	return m * l1 / (m*l1 + (1-m)*l0)
}

// bernoulliP returns the probability of bit x under B(rate).
func bernoulliP(rate, x float64) float64 {
	if x > 0.5 {
		return rate
	}
	return 1 - rate
}

// BernoulliLog2 returns log2 of the probability of bit x under B(rate).
func BernoulliLog2(rate, x float64) float64 { return math.Log2(bernoulliP(rate, x)) }

// BernoulliKL returns KL(B(a) || B(b)) in bits (0 log 0 = 0).
func BernoulliKL(a, b float64) float64 {
	var kl float64
	if a > 0 {
		kl += a * math.Log2(a/b)
	}
	if a < 1 {
		kl += (1 - a) * math.Log2((1-a)/(1-b))
	}
	return kl
}

// BernoulliEntropy returns the entropy of B(a) in bits.
func BernoulliEntropy(a float64) float64 { return -BernoulliKL(a, 0.5) + 1 }

// PerturbedRate returns the rate of the binomial reverse kernel B(c) multiplied
// by a binomial r = B(d) and renormalised: c d / (c d + (1 - c)(1 - d))
// (SD15, section 2.5 / appendix C). d = 1 clamps the bit to 1, d = 0 to 0, and
// d = 1/2 leaves the kernel unchanged.
func PerturbedRate(c, d float64) float64 {
	num := c * d
	den := num + (1-c)*(1-d)
	if den == 0 {
		return 0.5
	}
	return num / den
}
