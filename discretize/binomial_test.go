package discretize

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The telescoping product: prod (1 - beta_s) equals (T - t)/T to rounding
// (1e-12 absolute over 2000 factors), and beta_T = 1.
func TestBinomialKeep(t *testing.T) {
	b := Binomial{T: 2000, P: 0.2}
	p := 1.0
	for s := 1; s <= b.T; s++ {
		p *= 1 - b.Beta(s)
		if math.Abs(p-b.Keep(s)) > 1e-12 {
			t.Fatalf("step %d: product %v, Keep %v", s, p, b.Keep(s))
		}
	}
	if b.Beta(b.T) != 1 || b.Marginal(1, b.T) != 0.2 || b.Marginal(0, b.T) != 0.2 {
		t.Error("x_T is not exactly B(P)")
	}
}

// The posterior against brute-force enumeration of the two-step joint
// q(x_{t-1} | x_0) q(x_t | x_{t-1}) (exact up to rounding, 1e-14), and the
// marginal against a simulation of the chain (4 standard errors).
func TestBinomialPosteriorAndMarginal(t *testing.T) {
	b := Binomial{T: 50, P: 0.3}
	for _, x0 := range []float64{0, 1} {
		for tt := 2; tt <= b.T; tt++ {
			for _, xt := range []float64{0, 1} {
				var joint [2]float64
				for _, xp := range []float64{0, 1} {
					joint[int(xp)] = bernoulliP(b.Marginal(x0, tt-1), xp) * bernoulliP(b.Step(xp, tt), xt)
				}
				want := joint[1] / (joint[0] + joint[1])
				if got := b.Posterior(xt, x0, tt); math.Abs(got-want) > 1e-14 {
					t.Fatalf("x0=%v t=%d xt=%v: %v want %v", x0, tt, xt, got, want)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 1))
	const n = 20000
	ones := make([]int, b.T+1)
	for i := 0; i < n; i++ {
		x := 1.0
		for s := 1; s <= b.T; s++ {
			if r.Float64() < b.Step(x, s) {
				x = 1
			} else {
				x = 0
			}
			if x == 1 {
				ones[s]++
			}
		}
	}
	for _, s := range []int{1, 10, 25, 49, 50} {
		p := b.Marginal(1, s)
		if math.Abs(float64(ones[s])/n-p) > 4*math.Sqrt(p*(1-p)/n) {
			t.Errorf("t=%d: frequency %v, marginal %v", s, float64(ones[s])/n, p)
		}
	}
}

func TestBernoulliHelpers(t *testing.T) {
	if math.Abs(BernoulliEntropy(0.5)-1) > 1e-15 || BernoulliEntropy(1) != 0 {
		t.Error("entropy")
	}
	if BernoulliKL(0.3, 0.3) != 0 {
		t.Error("KL of equal distributions")
	}
	// The perturbed rate is Bayes' rule for two independent bit opinions.
	for _, c := range []float64{0.1, 0.5, 0.9} {
		if PerturbedRate(c, 0.5) != c && math.Abs(PerturbedRate(c, 0.5)-c) > 1e-15 {
			t.Errorf("d = 1/2 must leave %v unchanged", c)
		}
		if PerturbedRate(c, 1) != 1 || PerturbedRate(c, 0) != 0 {
			t.Errorf("d in {0,1} must clamp")
		}
	}
}
