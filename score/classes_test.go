package score

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sdekit/sdekit/sde"
)

// threeClasses is a 2-D mixture of 5 unequal components with unequal
// variances, grouped into 3 classes, one of them a single component.
func threeClasses(t *testing.T, s sde.SDE) *MixtureClasses {
	t.Helper()
	m, err := NewMixture(s, []float64{1, 2, 3, 1.5, 0.5},
		[][]float64{{-2, 0}, {1, 1}, {0.5, -1.5}, {2, 2}, {-1, 2}},
		[][]float64{{0.4, 0.6}, {0.3, 0.3}, {0.8, 0.5}, {0.3, 0.3}, {0.5, 0.2}})
	if err != nil {
		t.Fatal(err)
	}
	mc, err := NewMixtureClasses(m, [][]int{{0, 3}, {2}, {1, 4}})
	if err != nil {
		t.Fatal(err)
	}
	return mc
}

// condScoreByHand is the oracle of s_t(x | class): the responsibilities of
// the class's components among themselves, r_k proportional to
// w_k N(x; c mu_k, v_k), and sum_k r_k (c mu_k - x)/v_k, written from the
// definition without the package's code paths.
func condScoreByHand(m *Mixture, group []int, x []float64, tt float64) []float64 {
	c, s := m.SDE.Marginal(tt)
	d := m.Dim()
	logr := make([]float64, len(group))
	mx := math.Inf(-1)
	for i, k := range group {
		l := math.Log(m.Weights[k])
		for j := 0; j < d; j++ {
			v := c*c*m.Stds[k][j]*m.Stds[k][j] + s*s
			e := x[j] - c*m.Means[k][j]
			l -= 0.5 * (e*e/v + math.Log(2*math.Pi*v))
		}
		logr[i] = l
		mx = math.Max(mx, l)
	}
	var z float64
	for i := range logr {
		logr[i] = math.Exp(logr[i] - mx)
		z += logr[i]
	}
	out := make([]float64, d)
	for i, k := range group {
		for j := 0; j < d; j++ {
			v := c*c*m.Stds[k][j]*m.Stds[k][j] + s*s
			out[j] += logr[i] / z * (c*m.Means[k][j] - x[j]) / v
		}
	}
	return out
}

// Each class's score, with per-row labels mixed in one batch (NullLabel
// among them), equals the hand-written conditional score. Both sides are
// closed forms in double precision: 1e-10 relative to the score's size
// (|score| reaches ~1e2 at t = 1e-3 far from a component).
func TestLabelScoreMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 1))
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewVE()} {
		mc := threeClasses(t, s)
		all := []int{0, 1, 2, 3, 4}
		labels := []int{0, 0, 2, NullLabel, 1, 1, 1, 0, NullLabel, 2}
		n := len(labels)
		x, ts := make([]float64, 2*n), make([]float64, n)
		for i := range ts {
			ts[i] = []float64{1e-3, 0.1, 0.5, 1}[i%4]
			x[2*i], x[2*i+1] = 2*r.NormFloat64(), 2*r.NormFloat64()
		}
		got := make([]float64, 2*n)
		mc.LabelScoreTo(got, x, ts, labels)
		for i, l := range labels {
			g := all
			if l != NullLabel {
				g = mc.Group(l)
			}
			want := condScoreByHand(mc.Mixture(), g, x[2*i:2*i+2], ts[i])
			for j := range want {
				if math.Abs(got[2*i+j]-want[j]) > 1e-10*(1+math.Abs(want[j])) {
					t.Errorf("%s row %d label %d: score %v, by hand %v", s.Name(), i, l, got[2*i:2*i+2], want)
				}
			}
		}
	}
}

// One component's class score is the Gaussian score (c mu_k - x)/v_k: the
// exact conditional of gmm8's component k. Tolerance as above.
func TestComponentScoreIsGaussian(t *testing.T) {
	s := sde.NewVP()
	mc, err := NewMixtureClasses(GMM8(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	if mc.Classes() != 8 {
		t.Fatalf("gmm8 has %d classes, want 8", mc.Classes())
	}
	x := []float64{0.3, -3, 4, 0.1}
	ts := []float64{0.05, 0.7}
	got := make([]float64, 4)
	mc.LabelScoreTo(got, x, ts, []int{5, 5})
	mu := 4 * math.Cos(2*math.Pi*5/8)
	for i, tt := range ts {
		c, sd := s.Marginal(tt)
		v := c*c*0.25 + sd*sd
		for j := 0; j < 2; j++ {
			want := (c*mu - x[2*i+j]) / v // cos = sin for k = 5
			if math.Abs(got[2*i+j]-want) > 1e-10*(1+math.Abs(want)) {
				t.Errorf("t=%g [%d]: %v, Gaussian %v", tt, j, got[2*i+j], want)
			}
		}
	}
}

// The exact classifier gradient grad log p_t(c | x) against central
// differences of log p_t(c | x) = log W_c + log p_t(x | c) - log p_t(x),
// computed from LogProb (W_c the class's total weight). Step h = 1e-5:
// truncation ~h^2 |d3f| ~ 1e-8 and rounding ~1e-16/h ~ 1e-11 for these
// O(1) log-probabilities, so 1e-6 absolute plus 1e-6 relative holds with
// margin.
func TestClassGradientFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 2))
	mc := threeClasses(t, sde.NewSubVP())
	m := mc.Mixture()
	logPost := func(c int, x []float64, tt float64) float64 {
		var wc float64
		for _, k := range mc.Group(c) {
			wc += m.Weights[k]
		}
		return math.Log(wc) + mc.Class(c).LogProb(x, tt) - m.LogProb(x, tt)
	}
	const h = 1e-5
	for trial := 0; trial < 6; trial++ {
		c := trial % 3
		tt := []float64{0.02, 0.3, 0.9}[trial%3]
		x := []float64{1.5 * r.NormFloat64(), 1.5 * r.NormFloat64()}
		got := make([]float64, 2)
		mc.LogProbGradTo(got, x, []float64{tt}, []int{c})
		for j := 0; j < 2; j++ {
			xp := append([]float64(nil), x...)
			xm := append([]float64(nil), x...)
			xp[j] += h
			xm[j] -= h
			want := (logPost(c, xp, tt) - logPost(c, xm, tt)) / (2 * h)
			if math.Abs(got[j]-want) > 1e-6*(1+math.Abs(want)) {
				t.Errorf("class %d t=%g x=%v [%d]: %v, finite differences %v", c, tt, x, j, got[j], want)
			}
		}
	}
}

// Bad groupings and subsets are errors that name the component.
func TestMixtureClassesBadInput(t *testing.T) {
	m := GMM8(sde.NewVP())
	for _, g := range [][][]int{
		{{0, 1, 2, 3}, {4, 5, 6}},             // 7 left out
		{{0, 1, 2, 3}, {3, 4, 5, 6, 7}},       // 3 twice
		{{0, 1, 2, 3}, {4, 5, 6, 7, 8}},       // 8 does not exist
		{{0, 1, 2, 3, 4, 5, 6, 7}, {}},        // an empty class
		{{0, 0, 1, 2, 3, 4, 5, 6, 7}},         // 0 twice in one class
		{{-1}, {0, 1, 2, 3, 4, 5, 6, 7}},      // -1
		{{0, 1, 2, 3}, {4, 5, 6, 7}, {7}, {}}, // 7 twice
	} {
		if _, err := NewMixtureClasses(m, g); err == nil {
			t.Errorf("grouping %v accepted", g)
		}
	}
	if _, err := m.Subset([]int{2, 9}); err == nil {
		t.Error("subset with component 9 of 8 accepted")
	}
}
