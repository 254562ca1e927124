package score

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sdekit/sdekit/sde"
)

// The guided score (prior score + exact grad log p_t(y | x)) equals the score of
// the exact posterior's marginal at every t, by Bayes' rule. Both sides are
// closed forms, so the tolerance is rounding: 1e-9 relative to the score's size
// (scores reach ~1e3 at t = 1e-4 for std 0.2 data).
func TestGuidedEqualsPosterior(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewSubVP(), sde.NewVE()} {
		prior := Gauss(s, 4)
		y := []float64{0.9, -0.3, 0.2, 1.5}
		obs := []bool{true, false, true, true}
		grad, err := GaussianObservation(prior, y, obs, 0.3)
		if err != nil {
			t.Fatal(err)
		}
		post, err := GaussianPosterior(prior, y, obs, 0.3)
		if err != nil {
			t.Fatal(err)
		}
		g := Guided{Base: prior, LogRGrad: grad}
		for _, tt := range []float64{1e-4, 0.01, 0.3, 1} {
			x := make([]float64, 8)
			for i := range x {
				x[i] = r.NormFloat64()
			}
			ts := []float64{tt, tt}
			got := make([]float64, 8)
			want := make([]float64, 8)
			g.ScoreTo(got, x, ts)
			post.ScoreTo(want, x, ts)
			for i := range got {
				if math.Abs(got[i]-want[i]) > 1e-9*(1+math.Abs(want[i])) {
					t.Errorf("%s t=%g [%d]: guided %v, posterior %v", s.Name(), tt, i, got[i], want[i])
				}
			}
		}
	}
	if _, err := GaussianObservation(GMM8(sde.NewVP()), []float64{0, 0}, []bool{true, true}, 1); err == nil {
		t.Error("a mixture of 8 accepted")
	}
}

// A guided score in a sampler's loop does not allocate after warm-up.
func TestGuidedNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so allocations are not counted")
	}
	s := sde.NewVP()
	prior := Gauss(s, 4)
	grad, _ := GaussianObservation(prior, []float64{1, 0, 0, 0}, []bool{true, false, false, false}, 0.3)
	g := Guided{Base: prior, LogRGrad: grad}
	x, dst, ts := make([]float64, 4*64), make([]float64, 4*64), make([]float64, 64)
	for i := range ts {
		ts[i] = 0.5
	}
	g.ScoreTo(dst, x, ts)
	if a := testing.AllocsPerRun(50, func() { g.ScoreTo(dst, x, ts) }); a != 0 {
		t.Errorf("Guided.ScoreTo allocates %v times per call", a)
	}
}
