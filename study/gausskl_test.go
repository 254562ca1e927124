package study

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/sdekit/sdekit/metrics"
	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// gaussCfg is gauss:d under s with the sampler name and options.
func gaussCfg(t *testing.T, s sde.SDE, d int, name string, opts map[string]string) sample.Config {
	t.Helper()
	smp, err := sample.NewFromOptions(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	return sample.Config{SDE: s, Score: score.Gauss(s, d), Sampler: smp, Workers: 2}
}

// closeRel fails unless got and want agree within tol relative to |want|
// (absolute below 1).
func closeRel(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if !(math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))) {
		t.Errorf("%s: got %.17g, want %.17g (tolerance %g)", what, got, want, tol)
	}
}

// One Euler-Maruyama step from T to eps, by hand: with v = c(T)^2 sd^2 +
// s(T)^2 and dt = eps - T the step is
//
//	x1 = x0 + (a x0 - g^2 score(x0)) dt + g sqrt(-dt) z1,  score(x) = -(x - c mu)/v,
//	   = (1 + a dt + g^2 dt / v) x0 - g^2 dt c mu / v + g sqrt(-dt) z1,
//
// with x0 = PriorStd z0: mean -g^2 dt c mu / v, variance (1 + a dt +
// g^2 dt/v)^2 PriorStd^2 - g^2 dt. Two draws. Tolerance 1e-12: a handful of
// rounded operations on values of order 1-100 (VE's prior std is 50).
func TestOutputGaussianEMOneStep(t *testing.T) {
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewVE()} {
		cfg := gaussCfg(t, s, 3, "em", map[string]string{"steps": "1"})
		law, err := OutputGaussian(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if law.Draws != 2 {
			t.Errorf("%s: %d draws, want 2 (the prior and one step's noise)", s.Name(), law.Draws)
		}
		eps, _ := sde.DefaultEps(s)
		T := s.T()
		dt := eps - T
		a, g := s.DriftCoef(T), s.Diffusion(T)
		c, sd := s.Marginal(T)
		m := score.Gauss(s, 3)
		for j := 0; j < 3; j++ {
			v := c*c*m.Stds[0][j]*m.Stds[0][j] + sd*sd
			gain := 1 + a*dt + g*g*dt/v
			mean := -g * g * dt * c * m.Means[0][j] / v
			variance := gain*gain*s.PriorStd()*s.PriorStd() - g*g*dt
			closeRel(t, s.Name()+" mean", law.Mean[j], mean, 1e-12)
			closeRel(t, s.Name()+" variance", law.Var[j], variance, 1e-12)
		}
	}
}

// The fixed-step Euler probability flow, by hand: with h = (eps - T)/N and
// t_k = T + k h, each step is affine,
//
//	x_{k+1} = x_k + h (a x_k + g^2 (x_k - c mu)/(2 v)),   v = c^2 sd^2 + s^2 at t_k,
//
// so the law is N(m_N, P^2 PriorStd^2) with m the recursion from 0 and P
// the product of the gains. One draw (the prior). Tolerance 1e-10: the
// sampler's grid times may round differently from T + k h (1 ulp of t moves
// a coefficient by about 1e-16 relative), over N = 7 steps.
func TestOutputGaussianEulerFlow(t *testing.T) {
	const n = 7
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewSubVP(), sde.NewVE()} {
		cfg := gaussCfg(t, s, 2, "ode", map[string]string{"solver": "euler", "steps": "7"})
		law, err := OutputGaussian(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if law.Draws != 1 {
			t.Errorf("%s: %d draws, want 1 (the prior)", s.Name(), law.Draws)
		}
		eps, _ := sde.DefaultEps(s)
		T := s.T()
		h := (eps - T) / n
		m := score.Gauss(s, 2)
		for j := 0; j < 2; j++ {
			mean, gain := 0.0, 1.0
			for k := 0; k < n; k++ {
				tk := T + float64(k)*h
				a, g := s.DriftCoef(tk), s.Diffusion(tk)
				c, sd := s.Marginal(tk)
				v := c*c*m.Stds[0][j]*m.Stds[0][j] + sd*sd
				f := 1 + h*(a+g*g/(2*v))
				mean = f*mean - h*g*g*c*m.Means[0][j]/(2*v)
				gain *= f
			}
			closeRel(t, s.Name()+" mean", law.Mean[j], mean, 1e-10)
			closeRel(t, s.Name()+" variance", law.Var[j], gain*gain*s.PriorStd()*s.PriorStd(), 1e-10)
		}
	}
}

// The exact law against 200000 sampled rows of the same sampler (streams
// noise): each coordinate's sample mean within 4 standard errors
// sqrt(v/n) of the law's mean and its sample variance within 4 standard
// errors v sqrt(2/(n-1)) (Gaussian output) of the law's variance. At 4
// standard errors a correct law fails a comparison with probability 6e-5;
// the seed is fixed.
func TestOutputGaussianSampled(t *testing.T) {
	const rows = 200000
	cases := []struct {
		s    sde.SDE
		name string
		opts map[string]string
	}{
		{sde.NewVP(), "em", map[string]string{"steps": "5"}},
		{sde.NewVP(), "ddpm", map[string]string{"steps": "25"}},
		{sde.NewVP(), "ddim", map[string]string{"steps": "5", "ddpm-steps": "25", "eta": "1"}},
		{sde.NewVE(), "pc", map[string]string{"steps": "3"}}, // reverse diffusion + ALD: affine
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := gaussCfg(t, tc.s, 2, tc.name, tc.opts)
			law, err := OutputGaussian(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if law.Draws < 2 {
				t.Fatalf("%d draws: a stochastic sampler draws noise after the prior", law.Draws)
			}
			x := make([]float64, rows*2)
			if _, err := sample.Generate(context.Background(), cfg, 3, nil, x, nil); err != nil {
				t.Fatal(err)
			}
			mean, cov := metrics.Covariance(x, 2)
			for j := 0; j < 2; j++ {
				v := law.Var[j]
				if se := math.Sqrt(v / rows); math.Abs(mean[j]-law.Mean[j]) > 4*se {
					t.Errorf("coordinate %d: sample mean %.5g, exact %.5g (se %.2g)", j, mean[j], law.Mean[j], se)
				}
				if se := v * math.Sqrt(2.0/(rows-1)); math.Abs(cov[j*2+j]-v) > 4*se {
					t.Errorf("coordinate %d: sample variance %.5g, exact %.5g (se %.2g)", j, cov[j*2+j], v, se)
				}
			}
		})
	}
}

// The langevin corrector takes its step size from the norms of the noise
// and the score: not affine, so no exact law.
func TestOutputGaussianNotAffine(t *testing.T) {
	cfg := gaussCfg(t, sde.NewVP(), 2, "pc", map[string]string{"steps": "4", "corrector": "langevin"})
	_, err := OutputGaussian(context.Background(), cfg)
	if !errors.Is(err, ErrNotAffine) {
		t.Fatalf("err = %v, want ErrNotAffine", err)
	}
}

// A mixture of several components has no Gaussian output law.
func TestOutputGaussianNeedsOneComponent(t *testing.T) {
	smp, _ := sample.New("em")
	_, err := OutputGaussian(context.Background(), sample.Config{SDE: sde.NewVP(), Score: score.GMM8(sde.NewVP()), Sampler: smp})
	if err == nil {
		t.Fatal("no error for gmm8")
	}
}

// KL of Gaussians against its closed form: KL(N(1, 2) || N(0, 1)) =
// (2 - 1 - log 2 + 1)/2; zero for equal laws; additive over coordinates.
// Tolerance 1e-15: a few rounded operations.
func TestGaussianKL(t *testing.T) {
	closeRel(t, "KL(N(1,2)||N(0,1))", GaussianKL([]float64{1}, []float64{2}, []float64{0}, []float64{1}), (2-math.Log(2))/2, 1e-15)
	closeRel(t, "KL of equal laws", GaussianKL([]float64{0.3, 1}, []float64{0.5, 2}, []float64{0.3, 1}, []float64{0.5, 2}), 0, 1e-15)
	two := GaussianKL([]float64{1, 0}, []float64{2, 0.5}, []float64{0, 0}, []float64{1, 1})
	closeRel(t, "two coordinates", two, (2-math.Log(2))/2+(0.5-1-math.Log(0.5))/2, 1e-15)
	// Near r = 1 the log1p form keeps relative accuracy: KL ~ u^2/4 for a
	// variance ratio 1 + u; to 1e-6 relative for u = 1e-6 (the next term
	// of the series is u^3/6, relative 2u/3).
	u := 1e-6
	closeRel(t, "small u", GaussianKL([]float64{0}, []float64{1 + u}, []float64{0}, []float64{1})/(u*u/4), 1, 1e-6)
}

// DataGaussian is the diagonal of metrics.MixtureMoments at t = 0, and
// FlowGaussian from t to t is the identity on the law. Tolerance 1e-15:
// the same arithmetic in another order.
func TestDataAndFlowGaussian(t *testing.T) {
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewVE()} {
		m := score.Gauss(s, 4)
		mean, variance := DataGaussian(m)
		wm, wc := metrics.MixtureMoments(m, 0)
		for j := range mean {
			closeRel(t, "mean", mean[j], wm[j], 1e-15)
			closeRel(t, "variance", variance[j], wc[j*4+j], 1e-15)
		}
		fm, fv, err := FlowGaussian(m, 2, 0.5, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		for j := range fm {
			closeRel(t, "identity flow mean", fm[j], 0, 1e-15)
			closeRel(t, "identity flow variance", fv[j], 4, 1e-15)
		}
	}
}

// Every registered sampler (the new ones included, whatever files add
// them) at 30 steps on gauss:2 under VP: where OutputGaussian gives an exact
// law, 20000 sampled rows agree with it: each coordinate's mean within 4.5
// standard errors sqrt(v/n) and its variance within 4.5 standard errors
// v sqrt(2/(n-1)). At 4.5 standard errors a correct law fails one of the
// ~50 comparisons with probability about 4e-4; the seed is fixed. A sampler
// that is not affine, or refuses this configuration, is logged and skipped.
func TestOutputGaussianEverySampler(t *testing.T) {
	const rows = 20000
	s := sde.NewVP()
	for _, name := range sample.Names() {
		smp, err := sample.New(name)
		if err != nil {
			t.Fatal(err)
		}
		opts := map[string]string{}
		for _, o := range sample.Options(smp) {
			if o.Name == "steps" {
				opts["steps"] = "30"
			}
		}
		if err := sample.Configure(smp, opts); err != nil {
			t.Fatal(err)
		}
		cfg := sample.Config{SDE: s, Score: score.Gauss(s, 2), Sampler: smp, Workers: 2}
		if err := cfg.Validate(); err != nil {
			t.Logf("%s: skipped: %v", name, err)
			continue
		}
		law, err := OutputGaussian(context.Background(), cfg)
		if err != nil {
			t.Logf("%s: no exact law: %v", name, err)
			continue
		}
		x := make([]float64, rows*2)
		if _, err := sample.Generate(context.Background(), cfg, 5, nil, x, nil); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		mean, cov := metrics.Covariance(x, 2)
		for j := 0; j < 2; j++ {
			v := law.Var[j]
			if se := math.Sqrt(v / rows); math.Abs(mean[j]-law.Mean[j]) > 4.5*se {
				t.Errorf("%s coordinate %d: sample mean %.5g, exact %.5g (se %.2g)", name, j, mean[j], law.Mean[j], se)
			}
			if se := v * math.Sqrt(2.0/(rows-1)); math.Abs(cov[j*2+j]-v) > 4.5*se {
				t.Errorf("%s coordinate %d: sample variance %.5g, exact %.5g (se %.2g)", name, j, cov[j*2+j], v, se)
			}
		}
		t.Logf("%s: %d draws, exact law matches %d rows", name, law.Draws, rows)
	}
}
