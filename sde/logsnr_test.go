package sde_test

import (
	"math"
	"testing"

	"github.com/sdekit/sdekit/sde"
)

// bareSDE hides an SDE's closed-form inverse, so TimeAtLogSNR bisects.
type bareSDE struct{ sde.SDE }

// The closed-form inverses of lambda(t) against the definition
// lambda = log c - log s, and against bisection on the same SDE. Tolerance:
// the round trip t -> lambda -> t loses the conditioning of lambda near
// t = 0 (dt/dlambda ~ t), so a relative 1e-9 on t, plus 1e-12 absolute;
// bisection ends at the float64 resolution of t.
func TestTimeAtLogSNR(t *testing.T) {
	sdes := []sde.SDE{sde.NewVP(), sde.NewSubVP(), sde.NewVE(), sde.NewEDM(),
		&sde.VP{BetaMin: 1, BetaMax: 1}, &sde.VE{SigmaMin: 0.002, SigmaMax: 80}}
	for _, s := range sdes {
		T := s.T()
		for _, f := range []float64{1e-4, 1e-3, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.999, 1} {
			tt := f * T
			l := sde.LogSNR(s, tt)
			got := sde.TimeAtLogSNR(s, l)
			if math.Abs(got-tt) > 1e-9*tt+1e-12 {
				t.Errorf("%s: t = %v -> lambda %v -> t = %v", s.Name(), tt, l, got)
			}
			bis := sde.TimeAtLogSNR(bareSDE{s}, l)
			if math.Abs(bis-tt) > 1e-9*tt+1e-12 {
				t.Errorf("%s by bisection: t = %v -> lambda %v -> t = %v", s.Name(), tt, l, bis)
			}
			if sg := sde.Sigma(s, tt); math.Abs(sg-math.Exp(-l)) > 1e-12*sg {
				t.Errorf("%s: Sigma(%v) = %v, exp(-lambda) = %v", s.Name(), tt, sg, math.Exp(-l))
			}
		}
		// Out of range: clamped to [0, T].
		if got := sde.TimeAtLogSNR(s, sde.LogSNR(s, T)-5); got != T {
			t.Errorf("%s: lambda below lambda(T) gave t = %v, want T = %v", s.Name(), got, T)
		}
	}
}

// EDM's marginal is x_0 + t z: c = 1, s = t, g^2 = d s^2/dt = 2t.
func TestEDM(t *testing.T) {
	s := sde.NewEDM()
	if s.T() != 80 || s.PriorStd() != 80 {
		t.Fatalf("T = %v, prior std %v; want 80", s.T(), s.PriorStd())
	}
	for _, tt := range []float64{0.002, 1, 80} {
		c, sd := s.Marginal(tt)
		if c != 1 || sd != tt {
			t.Errorf("Marginal(%v) = %v, %v", tt, c, sd)
		}
		g := s.Diffusion(tt)
		if math.Abs(g*g-2*tt) > 1e-12*tt {
			t.Errorf("g(%v)^2 = %v, want %v", tt, g*g, 2*tt)
		}
	}
	b, err := sde.New("edm", map[string]float64{"sigma_max": 40})
	if err != nil || b.T() != 40 {
		t.Fatalf("New(edm, sigma_max 40) = %v, %v", b, err)
	}
	if _, err := sde.New("edm", map[string]float64{"sigma_min": 90}); err == nil {
		t.Error("sigma_min above sigma_max accepted")
	}
	if e, _ := sde.DefaultEps(s); e != 0.002 {
		t.Errorf("default eps %v, want sigma_min 0.002", e)
	}
}

// ChainVP's marginal at t_i = (i+1)/N is the DDPM chain's alpha-bar_i,
// computed here as the product itself; 1e-13 relative is a few roundings of
// the sum of N = 1000 logarithms. Its marginal agrees with the moment ODE of
// its own piecewise-constant beta (checked at the grid times by the
// integral, which is exact there).
func TestChainVP(t *testing.T) {
	const n = 1000
	betas := make([]float64, n)
	for i := range betas {
		betas[i] = (0.1 + 19.9*float64(i)/(n-1)) / n
	}
	c, err := sde.NewChainVP(betas)
	if err != nil {
		t.Fatal(err)
	}
	ab := 1.0
	for i, b := range betas {
		ab *= 1 - b
		cc, sd := c.Marginal(float64(i+1) / n)
		if math.Abs(cc*cc-ab) > 1e-13*ab || math.Abs(sd*sd-(1-ab)) > 1e-13 {
			t.Fatalf("step %d: c^2 = %v, s^2 = %v; alpha-bar %v", i, cc*cc, sd*sd, ab)
		}
	}
	// The continuous VP misses the chain by much more than rounding at the
	// end: the reason ChainVP exists.
	vc, _ := sde.NewVP().Marginal(1)
	if r := vc * vc / ab; r < 1.01 {
		t.Errorf("VP c(1)^2 / alpha-bar_N = %v: expected the continuous VP to differ from the chain", r)
	}
	if _, err := sde.NewChainVP([]float64{0.1, 1}); err == nil {
		t.Error("beta = 1 accepted")
	}
}
