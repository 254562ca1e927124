package score

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/sde"
)

// TestNetFused checks ScoreVJPTo and ScoreTraceTo against ScoreTo and VJPTo
// (whose input VJP TestNetVJPFD checks by finite differences): the score and
// the product bit for bit (the same passes, scaled by the same k(t)); the
// trace to 1e-13 relative, because the fused trace scales the sum of the D
// products by k(t) where the reference sums the scaled products, which
// differ by a rounding or two.
func TestNetFused(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	const n = 9
	x, v, tt := make([]float64, n*2), make([]float64, n*2), make([]float64, n)
	for i := range x {
		x[i], v[i] = r.NormFloat64(), r.NormFloat64()
	}
	for i := range tt {
		tt[i] = 0.01 + 0.99*r.Float64()
	}
	for _, prec := range []string{model.Float64, model.Float32} {
		for _, p := range Params {
			net := tinyNet(t, sde.NewVP(), p, prec)
			wantS, wantJ := make([]float64, n*2), make([]float64, n*2)
			net.ScoreTo(wantS, x, tt)
			net.VJPTo(wantJ, v, x, tt)
			s, j := make([]float64, n*2), make([]float64, n*2)
			net.ScoreVJPTo(s, j, v, x, tt)
			for i := range s {
				if s[i] != wantS[i] || j[i] != wantJ[i] {
					t.Fatalf("%s %s row %d: ScoreVJPTo (%v, %v), ScoreTo and VJPTo (%v, %v)", prec, p, i/2, s[i], j[i], wantS[i], wantJ[i])
				}
			}
			wantT := traceByVJP(net, x, tt)
			tr := make([]float64, n)
			clear(s)
			net.ScoreTraceTo(s, tr, x, tt)
			for i := range tr {
				if s[2*i] != wantS[2*i] || s[2*i+1] != wantS[2*i+1] {
					t.Fatalf("%s %s row %d: ScoreTraceTo's score differs from ScoreTo's", prec, p, i)
				}
				if math.Abs(tr[i]-wantT[i]) > 1e-13*math.Abs(wantT[i]) {
					t.Errorf("%s %s row %d: trace %v, by VJPs %v", prec, p, i, tr[i], wantT[i])
				}
			}
		}
	}
	net := tinyNet(t, sde.NewVP(), ParamEps, model.Float32)
	s, j, tr := make([]float64, n*2), make([]float64, n*2), make([]float64, n)
	net.ScoreVJPTo(s, j, v, x, tt)
	net.ScoreTraceTo(s, tr, x, tt)
	if a := testing.AllocsPerRun(20, func() { net.ScoreVJPTo(s, j, v, x, tt); net.ScoreTraceTo(s, tr, x, tt) }); a > 0 {
		t.Errorf("ScoreVJPTo + ScoreTraceTo allocate %v times per call", a)
	}
}

// traceByVJP sums element j of VJPTo(e_j) over j.
func traceByVJP(net *Net, x, tt []float64) []float64 {
	n, d := len(tt), net.Dim()
	tr := make([]float64, n)
	e, col := make([]float64, n*d), make([]float64, n*d)
	for j := 0; j < d; j++ {
		clear(e)
		for i := 0; i < n; i++ {
			e[i*d+j] = 1
		}
		net.VJPTo(col, e, x, tt)
		for i := 0; i < n; i++ {
			tr[i] += col[i*d+j]
		}
	}
	return tr
}
