package discretize

import (
	"math"
	"testing"

	"github.com/sdekit/sdekit/sde"
)

// N = 1000 from the default VP gives exactly DDPM's linspace(1e-4, 0.02, 1000):
// within 1e-15 (a few ulps of 0.02) at every step.
func TestDDPMGrid(t *testing.T) {
	d, err := FromVP(sde.NewVP(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range d.Betas {
		want := 1e-4 + float64(i)*(0.02-1e-4)/999
		if math.Abs(b-want) > 1e-15 {
			t.Fatalf("beta_%d = %.17g, DDPM %.17g", i, b, want)
		}
	}
	if d.Betas[0] != 1e-4 || d.Betas[999] != 0.02 {
		t.Errorf("end points %v %v", d.Betas[0], d.Betas[999])
	}
}

// The discrete chain's mean scale sqrt(alpha-bar_i) and variance 1 - alpha-bar_i
// agree with the continuous c(t_i), s(t_i)^2 at t_i = (i+1)/N within 1.1e-3 at
// every step (the bound; the gap is O(beta) from log(1 - beta) = -beta -
// beta^2/2 and from the left-point rule, largest near the end). Also the sum of
// log alpha must be the exact running product (1e-12 relative).
func TestDiscreteMatchesContinuous(t *testing.T) {
	vp := sde.NewVP()
	d, _ := FromVP(vp, 1000)
	worst := 0.0
	prod := 1.0
	for i := range d.Betas {
		prod *= d.Alphas[i]
		if math.Abs(prod-d.AlphaBars[i]) > 1e-12*prod {
			t.Fatalf("alpha-bar_%d %v, running product %v", i, d.AlphaBars[i], prod)
		}
		c, s := vp.Marginal(d.Time(i))
		gm := math.Abs(math.Sqrt(d.AlphaBars[i]) - c)
		gv := math.Abs(1 - d.AlphaBars[i] - s*s)
		worst = math.Max(worst, math.Max(gm, gv))
	}
	if worst > 1.1e-3 {
		t.Errorf("largest gap %v", worst)
	}
	t.Logf("largest gap between the DDPM chain and the VP marginals: %.3g", worst)
}

// L_T for DDPM on data in [-1, 1] is about 1e-5 bits/dim (DDPM section 4.2).
// Closed form check: at x_0 = 0 it is 0.5 (-ab - log1p(-ab))/ln2 ~ ab^2/(4 ln 2).
func TestPriorTerm(t *testing.T) {
	d, _ := FromVP(sde.NewVP(), 1000)
	ab := d.AlphaBars[999]
	worst := d.PriorTermBits([]float64{1, -1})
	if worst < 1e-6 || worst > 1e-4 {
		t.Errorf("L_T at |x|=1: %v bits/dim, expected about 1e-5", worst)
	}
	want0 := 0.5 * (-ab - math.Log1p(-ab)) / math.Ln2
	if got := d.PriorTermBits([]float64{0}); math.Abs(got-want0) > 1e-20 {
		t.Errorf("L_T(0) = %v want %v", got, want0)
	}
	t.Logf("alpha-bar_T = %.4g; L_T = %.3g bits/dim at |x_0| = 1", ab, worst)
}

func TestSMLD(t *testing.T) {
	s, err := SMLDSigmas(sde.NewVE(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if s[0] != 0.01 || s[999] != 50 {
		t.Errorf("ends %v %v", s[0], s[999])
	}
	// Geometric: constant ratio to 1e-12 relative.
	r := s[1] / s[0]
	for i := 1; i < len(s); i++ {
		if math.Abs(s[i]/s[i-1]-r) > 1e-12*r {
			t.Fatalf("ratio at %d: %v vs %v", i, s[i]/s[i-1], r)
		}
	}
	if _, err := SMLDSigmas(sde.NewVE(), 1); err == nil {
		t.Error("N = 1 accepted")
	}
	if _, err := FromVP(sde.NewVP(), 0); err == nil {
		t.Error("N = 0 accepted")
	}
	if _, err := FromVP(sde.NewVP(), 10); err == nil {
		t.Error("beta_max/N = 2 accepted")
	}
}

// constBetas is a BetaGrid that is not *sde.VP: FromVP takes its grid from
// DiscreteBetas, whatever the SDE.
type constBetas struct {
	sde.SDE
	b float64
}

func (c constBetas) DiscreteBetas(n int) ([]float64, error) {
	out := make([]float64, n)
	for i := range out {
		out[i] = c.b
	}
	return out, nil
}

func TestFromVPUsesTheGrid(t *testing.T) {
	d, err := FromVP(constBetas{sde.NewVP(), 0.25}, 3)
	if err != nil {
		t.Fatal(err)
	}
	// alpha-bar_2 = 0.75^3 = 0.421875 exactly in binary, but it is formed as
	// exp(3 log1p(-0.25)): a few ulp, so 1e-15.
	if d.N() != 3 || d.Betas[2] != 0.25 || math.Abs(d.AlphaBars[2]-0.421875) > 1e-15 {
		t.Errorf("FromVP(constant 0.25, 3) = %+v", d)
	}
}
