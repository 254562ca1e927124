package sd15

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sdekit/sdekit/data"
)

// The schedule: alpha-bar is the running product of 1 - beta (1e-12),
// 1 - alpha-bar_t is geometric, and beta_T = 1 so x_T ~ pi exactly.
func TestGaussianSchedule(t *testing.T) {
	m, err := NewGaussianModel(2, 40, 1e-3, []int{4}, 0, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	p := 1.0
	for i, b := range m.Betas {
		p *= 1 - b
		if math.Abs(p-m.AlphaBars[i]) > 1e-12 {
			t.Fatalf("step %d: product %v alpha-bar %v", i+1, p, m.AlphaBars[i])
		}
	}
	if m.AlphaBars[39] != 0 || m.Betas[39] != 1 {
		t.Errorf("alpha-bar_T = %v, beta_T = %v", m.AlphaBars[39], m.Betas[39])
	}
}

// The quadrature density against a Monte Carlo average over the angle:
// p(x) = E_theta N(x; gamma(theta), sd^2 I) with 2e6 angles. Only angles within
// a few sd/|gamma'| ~ 0.04 rad of the nearest arm contribute, about 1 % of 3 pi,
// so the effective sample is ~2e4 and the relative error ~0.7 %: 3 % is 4 SE.
func TestSwissRollDensity(t *testing.T) {
	sr := SwissRoll(0.5)
	r := rand.New(rand.NewPCG(3, 3))
	x := make([]float64, 2)
	for k := 0; k < 5; k++ {
		sr.Draw(x, r)
		var sum float64
		const n = 2000000
		sd := sr.Scale * sr.Noise
		for i := 0; i < n; i++ {
			th := data.SwissRollThetaMin + (data.SwissRollThetaMax-data.SwissRollThetaMin)*r.Float64()
			ex, ey := x[0]-sr.Scale*th*math.Cos(th), x[1]-sr.Scale*th*math.Sin(th)
			sum += math.Exp(-(ex*ex+ey*ey)/(2*sd*sd)) / (2 * math.Pi * sd * sd)
		}
		mc := sum / n
		q := math.Exp(sr.LogDensity(x))
		if math.Abs(q-mc) > 0.03*mc {
			t.Errorf("x = %v: quadrature %v, Monte Carlo %v", x, q, mc)
		}
	}
}

// With a zero network the model is the exact reversal of the chain run on pi,
// so data drawn from pi = N(0, I) give K = log pi(x) exactly in expectation
// (the bound is tight) and the sampler draws N(0, I): both checked within 4
// standard errors. Then the two ways of computing K agree within 3 standard
// errors for a briefly trained Swiss roll model, and K stays below the true
// log-likelihood.
func TestGaussianBound(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	ctx := context.Background()
	m, _ := NewGaussianModel(2, 40, 1e-3, []int{32, 32}, 10, r)
	clear(m.Net.R)
	clear(m.Net.C)
	gauss := func(dst []float64, r *rand.Rand) { dst[0], dst[1] = r.NormFloat64(), r.NormFloat64() }
	kl, _ := m.EstimateK(ctx, gauss, 2000, false, r)
	tr, _ := m.EstimateK(ctx, gauss, 2000, true, r)
	x := make([]float64, 2)
	var nulls []float64
	for i := 0; i < 2000; i++ {
		gauss(x, r)
		nulls = append(nulls, m.NullLogLikelihood(x))
	}
	null := summarise(nulls)
	for _, e := range []Estimate{kl, tr} {
		if math.Abs(e.Mean-null.Mean) > 4*math.Hypot(e.StdErr, null.StdErr) {
			t.Errorf("exact reversal: K = %v, E log pi = %v", e, null)
		}
	}
	w := m.Net.NewWork()
	var s1, s2 float64
	const n = 4000
	for i := 0; i < n; i++ {
		m.Sample(x, r, w, nil)
		s1 += x[0]
		s2 += x[0] * x[0]
	}
	if mean, v := s1/n, s2/n-(s1/n)*(s1/n); math.Abs(mean) > 4/math.Sqrt(n) || math.Abs(v-1) > 4*math.Sqrt(2.0/n) {
		t.Errorf("exact reversal samples: mean %v variance %v, want 0 and 1", mean, v)
	}

	sr := SwissRoll(0.5)
	if err := m.Train(ctx, sr.Draw, TrainOptions{Steps: 1500, Batch: 64, LR: 3e-3}, r); err != nil {
		t.Fatal(err)
	}
	kl, _ = m.EstimateK(ctx, sr.Draw, 3000, false, r)
	tr, _ = m.EstimateK(ctx, sr.Draw, 3000, true, r)
	if math.Abs(kl.Mean-tr.Mean) > 3*math.Hypot(kl.StdErr, tr.StdErr) {
		t.Errorf("Swiss roll: KL form %v, trajectory form %v", kl, tr)
	}
	ll := sr.ExpectedLogLikelihood(3000, r)
	if kl.Mean > ll.Mean+3*math.Hypot(kl.StdErr, ll.StdErr) {
		t.Errorf("K = %v above the true log-likelihood %v", kl, ll)
	}
	t.Logf("Swiss roll after 1500 steps: K %v (KL), %v (trajectories); true %v", kl, tr, ll)
}

// Posterior sampling by multiplying distributions, discrete and exact: with
// the exact reversal of N(0, 1) data (zero network) and r_t(x) = p(y | x_t = x)
// for y = x_0 + N(0, tau^2), i.e. N(y; sqrt(alpha-bar_t) x, 1 - alpha-bar_t + tau^2),
// SampleGaussianR must hit the posterior N(y/(1 + tau^2), tau^2/(1 + tau^2))
// within 4 standard errors (n = 20000). The first-order, fixed-r Sample of SD15
// is biased here (see its doc), and the test shows it, so the exact one is the
// one to use.
func TestGaussianPosterior(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	m, _ := NewGaussianModel(1, 40, 1e-3, []int{4}, 0, r)
	clear(m.Net.R)
	clear(m.Net.C)
	w := m.Net.NewWork()
	const y, tau, n = 1.0, 0.5, 20000
	rt := func(mean, prec []float64, t int) {
		ab := 1.0
		if t >= 1 {
			ab = m.AlphaBars[t-1]
		}
		if ab == 0 {
			prec[0] = 0
			return
		}
		// N(y; sqrt(ab) x, V) as a Gaussian in x: mean y/sqrt(ab), precision ab/V.
		v := 1 - ab + tau*tau
		mean[0], prec[0] = y/math.Sqrt(ab), ab/v
	}
	moments := func(draw func(x []float64)) (float64, float64) {
		x := make([]float64, 1)
		var s1, s2 float64
		for i := 0; i < n; i++ {
			draw(x)
			s1 += x[0]
			s2 += x[0] * x[0]
		}
		return s1 / n, s2/n - (s1/n)*(s1/n)
	}
	wantM, wantV := y/(1+tau*tau), tau*tau/(1+tau*tau)
	mean, v := moments(func(x []float64) { m.SampleGaussianR(x, r, w, rt) })
	if math.Abs(mean-wantM) > 4*math.Sqrt(wantV/n) || math.Abs(v-wantV) > 4*wantV*math.Sqrt(2.0/n) {
		t.Errorf("exact product: mean %.4f variance %.4f, posterior %.4f %.4f", mean, v, wantM, wantV)
	}
	fm, fv := moments(func(x []float64) {
		m.Sample(x, r, w, func(dst, x []float64) { dst[0] = (y - x[0]) / (tau * tau) })
	})
	if math.Abs(fm-wantM) < 4*math.Sqrt(wantV/n) {
		t.Errorf("first-order fixed-r perturbation unexpectedly unbiased: mean %.4f", fm)
	}
	t.Logf("posterior %.3f %.3f; exact product %.4f %.4f; SD15 first order %.4f %.4f", wantM, wantV, mean, v, fm, fv)
}
