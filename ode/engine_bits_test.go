package ode

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The planar (d = 2) fast paths of the stepper must give the same bits as
// the per-row code they replace: combineRows against combine, errors2
// against errorRow, pack/unpack against copyRow.
func TestPlanarPathsSameBits(t *testing.T) {
	const n = 41
	rng := rand.New(rand.NewPCG(1, 2))
	y0 := make([]float64, 2*n)
	for i := range y0 {
		y0[i] = rng.NormFloat64() * 3
	}
	// Rows in ascending order with gaps, odd and even lengths.
	lists := [][]int{{0}, {3, 4}, {1, 2, 5, 9, 10, 17, 30, 40}, {0, 2, 4, 6, 8, 11, 13}}
	for _, tab := range []*Tableau{DormandPrince, BogackiShampine, Tsitouras, DOP853} {
		s, err := NewSolver(2, Options{Tableau: tab, RTol: 1e-6, ATol: 1e-7, Times: []float64{0.5}})
		if err != nil {
			t.Fatal(err)
		}
		s.setup(decay, 0, 1, y0)
		for _, k := range s.k {
			for i := range k {
				k[i] = rng.NormFloat64() * 10
			}
		}
		for i := range s.ynew {
			s.ynew[i] = s.y[i] + rng.NormFloat64()*1e-3
		}
		w := s.ws[0]
		for _, list := range lists {
			for p := range list {
				w.hb[p] = 0.01 + rng.Float64()
			}
			ct := s.ct
			terms := append(append([][]term{ct.b}, ct.a[1:]...), ct.ax...)
			for _, tm := range terms {
				got := make([]float64, 2*n)
				want := make([]float64, 2*n)
				w.combineRows(got, list, w.hb, tm)
				for p, r := range list {
					w.combine(want, r, w.hb[p], tm)
				}
				sameBits(t, tab.Name+" combineRows", got, want)
			}
			w.errors2(list)
			got := make([]float64, 0, 2*len(list))
			for _, r := range list {
				got = append(got, s.rs[r].ssq5, s.rs[r].ssq3)
			}
			want := got[:0:0]
			for _, r := range list {
				w.errorRow(r)
				want = append(want, s.rs[r].ssq5, s.rs[r].ssq3)
			}
			sameBits(t, tab.Name+" errors2", got, want)
		}
	}
	for _, list := range lists {
		packed := make([]float64, 2*len(list))
		pack(packed, y0, list, 2)
		want := make([]float64, 2*len(list))
		for p, r := range list {
			copyRow(want[2*p:2*p+2], y0[2*r:2*r+2])
		}
		sameBits(t, "pack", packed, want)
		back := make([]float64, 2*n)
		unpack(back, packed, list, 2)
		for _, r := range list {
			sameBits(t, "unpack", back[2*r:2*r+2], y0[2*r:2*r+2])
		}
	}
}

func sameBits(t *testing.T, what string, got, want []float64) {
	t.Helper()
	for i := range want {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
			t.Fatalf("%s: [%d] = %v, want %v (same bits)", what, i, got[i], want[i])
		}
	}
}
