package score_test

import (
	"math"
	"testing"

	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// TestNetTraceFallback: a network without model.ForwardTracer (the affine
// test architecture, out = W [x, t] + b) takes the Forward + D InputVJP
// path; its Jacobian is W[:, :D], so the trace of the score is k(t) (W_00 +
// W_11) in closed form, to 1e-14 relative (a sum of two products).
func TestNetTraceFallback(t *testing.T) {
	m := newAffine(2)
	for i := range m.p {
		m.p[i] = 0.1 * float64(i+1)
	}
	vp := sde.NewVP()
	net, err := score.NewNet(vp, m, score.ParamEps)
	if err != nil {
		t.Fatal(err)
	}
	x, tt := []float64{0.3, -1, 2, 0.5}, []float64{0.2, 0.7}
	s, tr := make([]float64, 4), make([]float64, 2)
	net.ScoreTraceTo(s, tr, x, tt)
	for i, ti := range tt {
		want := net.Scale(ti) * (m.w(0, 0) + m.w(1, 1))
		if math.Abs(tr[i]-want) > 1e-14*math.Abs(want) {
			t.Errorf("row %d: trace %v, want %v", i, tr[i], want)
		}
	}
}
