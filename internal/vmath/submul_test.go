package vmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// SubMul gives (a - x) * b rounded twice, value by value, for every length
// 0..40 (the kernel's 8-, 4- and 1-wide parts), through the kernel this
// machine uses and through the Go loop; Inf and NaN pass through as IEEE
// arithmetic says.
func TestSubMul(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for n := 0; n <= 40; n++ {
		a, x, b := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range a {
			a[i], x[i], b[i] = r.NormFloat64(), r.NormFloat64(), 1/(0.01+r.Float64())
		}
		if n > 3 {
			x[1], x[2] = math.Inf(1), math.NaN()
		}
		got, gotGo := make([]float64, n), make([]float64, n)
		SubMul(got, a, x, b)
		subMulGo(gotGo, a, x, b)
		for i := range a {
			want := (a[i] - x[i]) * b[i]
			same := func(v float64) bool { return v == want || (math.IsNaN(v) && math.IsNaN(want)) }
			if !same(got[i]) || !same(gotGo[i]) {
				t.Fatalf("n = %d, i = %d: %v and %v, want %v", n, i, got[i], gotGo[i], want)
			}
		}
	}
}

// go test -run '^$' -bench SubMul ./internal/vmath
func BenchmarkSubMul(b *testing.B) {
	const d = 64
	dst, a, x, c := make([]float64, d), make([]float64, d), make([]float64, d), make([]float64, d)
	b.Run("kernel", func(b *testing.B) {
		for b.Loop() {
			SubMul(dst, a, x, c)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*d), "ns/value")
	})
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			subMulGo(dst, a, x, c)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*d), "ns/value")
	})
}
