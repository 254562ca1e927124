package likelihood

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// unitNormal is the exact score of 1-D data N(0, 1) under s.
func unitNormal(s sde.SDE) *score.Mixture {
	m, err := score.NewMixture(s, []float64{1}, [][]float64{{0}}, [][]float64{{1}})
	if err != nil {
		panic(err)
	}
	return m
}

// expectedBound is the expectation over x_t of the bound in nats for the 1-D
// point x0, each step's term integrated exactly by 3-point Gauss-Hermite
// quadrature (nodes 0, +-sqrt 3, weights 2/3, 1/6, 1/6: exact for polynomials
// of degree <= 5; with a linear score every term is quadratic in the noise).
func expectedBound(t *testing.T, cfg BoundConfig, x0 float64) float64 {
	k, err := newBoundKernel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	nodes := []float64{0, math.Sqrt(3), -math.Sqrt(3)}
	wts := []float64{2.0 / 3, 1.0 / 6, 1.0 / 6}
	x := []float64{x0}
	total := k.priorTerm(x)
	xt := make([]float64, 1)
	sc := make([]float64, 1)
	for i := 0; i < k.n; i++ {
		for q, z := range nodes {
			xt[0] = math.Sqrt(k.ab[i])*x0 + math.Sqrt(k.omab[i])*z
			cfg.Score.ScoreTo(sc, xt, []float64{float64(i+1) / float64(k.n)})
			total += wts[q] * k.term(i, x, xt, sc)
		}
	}
	return total
}

// TestBoundTight: for 1-D data N(0, 1), the Bayes-optimal epsilon and
// sigma_t^2 = beta_t with the Gaussian decoder, the expected bound equals the
// exact negative log-likelihood (x0^2 + log 2 pi)/2 at every x0 (derivation
// in doc.go). The expectation is exact by quadrature, so the only error is
// rounding in a sum of 1000 terms: tolerance 1e-9 nats. With the
// beta-tilde variance the kernels differ from q's and the bound must be
// strictly larger.
func TestBoundTight(t *testing.T) {
	vp := sde.NewVP()
	cfg := BoundConfig{VP: vp, Score: unitNormal(vp), N: 1000, Variance: "beta", Decoder: "gaussian"}
	for _, x0 := range []float64{0, 0.7, -2.5} {
		nll := 0.5 * (x0*x0 + math.Log(2*math.Pi))
		if got := expectedBound(t, cfg, x0); math.Abs(got-nll) > 1e-9 {
			t.Errorf("x0 = %v: expected bound %.12f nats, -log p = %.12f", x0, got, nll)
		}
		c := cfg
		c.Variance = "beta-tilde"
		got := expectedBound(t, c, x0)
		t.Logf("x0 = %v: beta-tilde bound exceeds -log p by %.4g nats", x0, got-nll)
		if !(got > nll+1e-3) {
			t.Errorf("x0 = %v: beta-tilde bound %.6f, not above -log p = %.6f", x0, got, nll)
		}
	}
}

// TestBoundMonteCarlo runs EvaluateBound itself on the tight problem: many
// rows of the same x0, each with its own noise streams; the mean total over
// rows agrees with -log p(x0) within 3 standard errors. The terms are also
// checked against each other: L_T against discretize.PriorTermBits
// (1e-12 relative, the same closed form), and Total = LT + Lt + L0.
func TestBoundMonteCarlo(t *testing.T) {
	vp := sde.NewVP()
	cfg := BoundConfig{VP: vp, Score: unitNormal(vp), N: 1000, Variance: "beta", Decoder: "gaussian"}
	n := 1000
	if testing.Short() {
		n = 300
	}
	x0 := 0.7
	x := make([]float64, n)
	for i := range x {
		x[i] = x0
	}
	terms, err := EvaluateBound(context.Background(), cfg, 1, x, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sched, _ := discretize.FromVP(vp, 1000)
	tot := make([]float64, n)
	for i, b := range terms {
		tot[i] = b.Total * math.Ln2 // nats (D = 1)
		if math.Abs(b.Total-(b.LT+b.Lt+b.L0)) > 1e-12*math.Abs(b.Total) {
			t.Fatalf("row %d: total %v != %v + %v + %v", i, b.Total, b.LT, b.Lt, b.L0)
		}
	}
	if lt, want := terms[0].LT, sched.PriorTermBits([]float64{x0}); math.Abs(lt-want) > 1e-12*math.Abs(want) {
		t.Errorf("L_T = %v bits/dim, discretize says %v", lt, want)
	}
	sm := Summarise(tot)
	nll := 0.5 * (x0*x0 + math.Log(2*math.Pi))
	t.Logf("mean bound %.4f +- %.4f nats, -log p = %.4f", sm.Mean, sm.StdErr, nll)
	if math.Abs(sm.Mean-nll) > 3*sm.StdErr {
		t.Errorf("mean bound %.4f +- %.4f nats, -log p = %.4f", sm.Mean, sm.StdErr, nll)
	}
	// Rows are independent of the batch and of the workers.
	one, err := EvaluateBound(context.Background(), BoundConfig{VP: vp, Score: cfg.Score, N: 1000, Variance: "beta", Decoder: "gaussian", Workers: 1}, 1, x[:1], []int{n - 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if one[0] != terms[n-1] {
		t.Errorf("row %d alone %+v, in the batch %+v", n-1, one[0], terms[n-1])
	}
}

// TestDiscreteDecoder: the bin masses of the 256 levels sum to 1 (edge bins
// open), to 1e-12, for narrow and wide decoders, means inside and outside
// [-1, 1]; and the tail formula for log Phi agrees with erfc where both work.
func TestDiscreteDecoder(t *testing.T) {
	for _, c := range [][2]float64{{0, 0.01}, {0.3, 0.2}, {-0.999, 0.001}, {5, 0.5}, {-1, 3}} {
		var sum float64
		for k := 0; k < 256; k++ {
			sum += math.Exp(discreteLogProb(-1+float64(k)/127.5, c[0], c[1]))
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Errorf("mu = %v, sd = %v: masses sum to %.15f", c[0], c[1], sum)
		}
	}
	for _, z := range []float64{-20, -25, -31, -37} {
		want := math.Log(0.5 * math.Erfc(-z/math.Sqrt2))
		if got := logPhiTail(z); math.Abs(got-want) > 1e-12*math.Abs(want) {
			t.Errorf("log Phi(%v): tail formula %.15g, erfc %.15g", z, got, want)
		}
	}
	// far tail: mass of the bin at 1 for a decoder at 0 with sd 0.01 is
	// Phi(-(1 - 1/255)/0.01), about exp(-4960): finite, not -Inf.
	if v := discreteLogProb(1, 0, 0.01); math.IsInf(v, 0) || v > -4900 || v < -5000 {
		t.Errorf("far-tail log mass %v", v)
	}
}

// TestDiscreteBound: on 8-bit data the discrete-decoder bound is a code
// length. For the 1-D N(0, 1) model with a discrete decoder, the model's
// probability of a bin is exactly the N(0, 1) mass of the bin (averaging
// q(x_0 | x_1) over q(x_1) gives q(x_0)), and the bound exceeds -log2 of it
// only by the gap between conditioning on the point and on its bin: x_1 given
// x_0 has sd 0.01, given the bin sqrt(1e-4 + w^2/12), w = 2/255, a KL of order
// (w^2/12/1e-4)^2/4 ~ 6e-4 nats. Tolerance 3 standard errors of the Monte
// Carlo mean plus 0.01 bits.
func TestDiscreteBound(t *testing.T) {
	vp := sde.NewVP()
	x0 := -1 + 100/127.5
	n := 400
	x := make([]float64, n)
	for i := range x {
		x[i] = x0
	}
	terms, err := DDPMBound(context.Background(), vp, unitNormal(vp), 1000, "beta", x, 1, "discrete")
	if err != nil {
		t.Fatal(err)
	}
	tot := make([]float64, n)
	for i, b := range terms {
		tot[i] = b.Total
	}
	sm := Summarise(tot)
	cdf := func(v float64) float64 { return 0.5 * math.Erfc(-v/math.Sqrt2) }
	code := -math.Log2(cdf(x0+1/255.0) - cdf(x0-1/255.0))
	t.Logf("discrete bound %.4f +- %.4f bits, exact code length %.4f", sm.Mean, sm.StdErr, code)
	if math.Abs(sm.Mean-code) > 3*sm.StdErr+0.01 {
		t.Errorf("discrete bound %.4f +- %.4f bits, exact code length %.4f", sm.Mean, sm.StdErr, code)
	}
}

func TestBoundBadInput(t *testing.T) {
	vp := sde.NewVP()
	m := unitNormal(vp)
	cases := []struct {
		name     string
		n        int
		variance string
		x        []float64
		d        int
		decoder  string
		want     string
	}{
		{"dimension", 1000, "beta", []float64{0, 0}, 2, "gaussian", "dimension 2 but the score has 1"},
		{"steps", 0, "beta", []float64{0}, 1, "gaussian", "steps = 0"},
		{"variance", 1000, "fixedlarge", []float64{0}, 1, "gaussian", "beta or beta-tilde"},
		{"decoder", 1000, "beta", []float64{0}, 1, "logistic", "discrete"},
		{"off grid", 1000, "beta", []float64{0.5}, 1, "discrete", "not an 8-bit value"},
		{"outside", 1000, "beta", []float64{1.5}, 1, "discrete", "not an 8-bit value"},
		{"NaN", 1000, "beta", []float64{math.NaN()}, 1, "gaussian", "is NaN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DDPMBound(context.Background(), vp, m, c.n, c.variance, c.x, c.d, c.decoder)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}
