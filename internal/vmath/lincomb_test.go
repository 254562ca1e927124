package vmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// LinComb, through whichever kernel this machine uses, gives exactly the
// roundings its doc states (checked against math.FMA value by value), for
// every length 0..40 (the AVX2 kernel's 8-, 4- and 1-wide parts), and
// reports a non-finite result wherever it appears.
func TestLinComb(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	const px, ps, pz = 0.9993, -0.0123, 0.0447
	for n := 0; n <= 40; n++ {
		x, s, z := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range x {
			x[i], s[i], z[i] = r.NormFloat64(), r.NormFloat64(), r.NormFloat64()
		}
		want := make([]float64, n)
		want2 := make([]float64, n)
		for i := range x {
			want[i] = math.FMA(pz, z[i], math.FMA(ps, s[i], px*x[i]))
			want2[i] = math.FMA(ps, s[i], px*x[i])
		}
		y := append([]float64(nil), x...)
		if !LinComb(y, px, s, ps, z, pz) {
			t.Fatalf("n = %d: finite values reported non-finite", n)
		}
		y2 := append([]float64(nil), x...)
		LinComb(y2, px, s, ps, nil, 0)
		y3 := append([]float64(nil), x...)
		if !linCombGo(y3, px, s, ps, z, pz) {
			t.Fatalf("n = %d: Go loop reports non-finite", n)
		}
		for i := range x {
			if y[i] != want[i] || y2[i] != want2[i] || y3[i] != want[i] {
				t.Fatalf("n = %d, i = %d: %v %v %v, want %v %v", n, i, y[i], y3[i], y2[i], want[i], want2[i])
			}
		}
		for _, bad := range []float64{math.Inf(1), math.Inf(-1), math.NaN()} {
			for k := 0; k < n; k++ {
				y := append([]float64(nil), x...)
				y[k] = bad
				if LinComb(y, px, s, ps, z, pz) {
					t.Fatalf("n = %d: %v at %d not reported", n, bad, k)
				}
				y = append(y[:0], x...)
				y[k] = bad
				if linCombGo(y, px, s, ps, z, pz) {
					t.Fatalf("n = %d: Go loop: %v at %d not reported", n, bad, k)
				}
			}
		}
	}
}

func TestLinCombShort(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("short s accepted")
		}
	}()
	LinComb(make([]float64, 3), 1, make([]float64, 2), 1, nil, 0)
}

// go test -run '^$' -bench LinComb ./internal/vmath
func BenchmarkLinComb(b *testing.B) {
	const n = 128 * 64 // one block of gauss:64 rows
	x, s, z := make([]float64, n), make([]float64, n), make([]float64, n)
	b.Run("kernel", func(b *testing.B) {
		for b.Loop() {
			LinComb(x, 0.99, s, 0.01, z, 0.1)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/value")
	})
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			linCombGo(x, 0.99, s, 0.01, z, 0.1)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/value")
	})
}
