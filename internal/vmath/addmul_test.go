package vmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// AddMul gives the Go loop's bits (product rounded, then the sum) for every
// length around the kernel's 8/4/1 tails, values of all magnitudes, and
// leaves acc beyond len(acc) alone.
func TestAddMulBits(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for n := 0; n <= 37; n++ {
		for rep := 0; rep < 5; rep++ {
			acc, k := make([]float64, n+1), make([]float64, n)
			for i := range k {
				k[i] = r.NormFloat64() * math.Pow(10, float64(r.IntN(20)-10))
				acc[i] = r.NormFloat64() * math.Pow(10, float64(r.IntN(20)-10))
			}
			acc[n] = 42
			v := r.NormFloat64() * 1e3
			want := append([]float64(nil), acc...)
			for i := 0; i < n; i++ {
				want[i] += float64(v * k[i])
			}
			AddMul(acc[:n], k, v)
			for i := range want {
				if math.Float64bits(acc[i]) != math.Float64bits(want[i]) {
					t.Fatalf("n = %d: value %d is %v, the Go loop's %v", n, i, acc[i], want[i])
				}
			}
		}
	}
}
