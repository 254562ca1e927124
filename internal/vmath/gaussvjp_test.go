package vmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// GaussVJP gives the Go loop's bits at every length around the kernel's 4/1
// tails, with values of all magnitudes, and writes nothing beyond len(out).
func TestGaussVJPBits(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	for n := 0; n <= 21; n++ {
		for rep := 0; rep < 5; rep++ {
			v, x, sd2, mu := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
			for i := range v {
				v[i] = r.NormFloat64() * math.Pow(10, float64(r.IntN(8)-4))
				x[i] = r.NormFloat64() * 3
				sd2[i] = math.Pow(10, float64(r.IntN(8)-4))
				mu[i] = r.NormFloat64()
			}
			c := r.Float64()
			c2, s2 := c*c, 1-c*c+1e-6
			out, sc := make([]float64, n+1), make([]float64, n+1)
			out[n], sc[n] = 42, 43
			wo, ws := make([]float64, n), make([]float64, n)
			gaussVJPGo(wo, ws, v, x, sd2, mu, c, c2, s2)
			GaussVJP(out[:n], sc, v, x, sd2, mu, c, c2, s2)
			for i := 0; i < n; i++ {
				if math.Float64bits(out[i]) != math.Float64bits(wo[i]) || math.Float64bits(sc[i]) != math.Float64bits(ws[i]) {
					t.Fatalf("n = %d value %d: %v %v, the Go loop's %v %v", n, i, out[i], sc[i], wo[i], ws[i])
				}
			}
			if out[n] != 42 || sc[n] != 43 {
				t.Fatalf("n = %d: wrote beyond len(out)", n)
			}
		}
	}
}
