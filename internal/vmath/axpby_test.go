package vmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Axpby gives a*x + b*y with both products and the sum rounded, value by
// value, for every length 0..40 (the kernel's 8-, 4- and 1-wide parts),
// through the kernel this machine uses and through the Go loop, in place
// too; Inf and NaN pass through as IEEE arithmetic says. The expected value
// forces the roundings with float64 conversions, so the comparison is exact.
func TestAxpby(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for n := 0; n <= 40; n++ {
		x, y := make([]float64, n), make([]float64, n)
		for i := range x {
			x[i], y[i] = r.NormFloat64(), r.NormFloat64()*1e3
		}
		if n > 3 {
			x[1], y[2] = math.Inf(-1), math.NaN()
		}
		a, b := 0.3+r.Float64(), -(1 + r.Float64())
		got, gotGo := make([]float64, n), make([]float64, n)
		Axpby(got, a, x, b, y)
		axpbyGo(gotGo, a, x, b, y)
		inPlace := append([]float64(nil), x...)
		Axpby(inPlace, a, inPlace, b, y)
		for i := range x {
			want := float64(a*x[i]) + float64(b*y[i])
			same := func(v float64) bool { return v == want || (math.IsNaN(v) && math.IsNaN(want)) }
			if !same(got[i]) || !same(gotGo[i]) || !same(inPlace[i]) {
				t.Fatalf("n = %d, i = %d: %v, %v and %v in place, want %v", n, i, got[i], gotGo[i], inPlace[i], want)
			}
		}
	}
}
