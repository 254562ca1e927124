package vmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ShiftCut agrees value by value with its definition (difference, then -Inf
// unless strictly above the cut; NaN goes to -Inf) for lengths 0..40, with
// differences exactly at, just above and just below the cut, infinities
// and NaN mixed in.
func TestShiftCut(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	const cut = -40
	specials := []float64{-40, math.Nextafter(-40, 0), math.Nextafter(-40, -100), 0, math.Inf(1), math.Inf(-1), math.NaN()}
	for n := 0; n <= 40; n++ {
		l, m := make([]float64, n), make([]float64, n)
		for i := range l {
			m[i] = 10 * r.NormFloat64()
			l[i] = m[i] - 80*r.Float64()
			if r.IntN(3) == 0 {
				l[i], m[i] = specials[r.IntN(len(specials))], 0
			}
		}
		want := make([]float64, n)
		for i := range l {
			want[i] = l[i] - m[i]
			if !(want[i] > cut) {
				want[i] = math.Inf(-1)
			}
		}
		got, gotGo := append([]float64(nil), l...), append([]float64(nil), l...)
		ShiftCut(got, m, cut)
		shiftCutGo(gotGo, m, cut)
		for i := range l {
			if got[i] != want[i] || gotGo[i] != want[i] {
				t.Fatalf("n = %d, i = %d (l %v, m %v): %v and %v, want %v", n, i, l[i], m[i], got[i], gotGo[i], want[i])
			}
		}
	}
}
