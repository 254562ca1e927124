package likelihood

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// plainDots is dotRows written as the plain loop: each row summed left to
// right, one row at a time.
func plainDots(e, v, u []float64, d int) {
	for i := range e {
		var s float64
		for j := 0; j < d; j++ {
			s += v[i*d+j] * u[i*d+j]
		}
		e[i] = s
	}
}

// TestDotRowsBits: dotRows gives every row the plain loop's bits, for row
// counts on both sides of its blocks of four (the field's output files
// depend on it: docs/bench.md, "Likelihood at high dimension").
func TestDotRowsBits(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, d := range []int{1, 3, 784} {
		for m := 1; m <= 9; m++ {
			v, u := make([]float64, m*d), make([]float64, m*d)
			for i := range v {
				v[i], u[i] = r.NormFloat64(), r.NormFloat64()
			}
			got, want := make([]float64, m), make([]float64, m)
			dotRows(got, v, u, d)
			plainDots(want, v, u, d)
			for i := range want {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
					t.Fatalf("d = %d, m = %d, row %d: dotRows %v, plain loop %v", d, m, i, got[i], want[i])
				}
			}
		}
	}
}

// BenchmarkDotRows times dotRows against the plain loop on 64 rows of D =
// 784 (gauss:784's likelihood block).
func BenchmarkDotRows(b *testing.B) {
	const m, d = 64, 784
	r := rand.New(rand.NewPCG(3, 4))
	v, u, e := make([]float64, m*d), make([]float64, m*d), make([]float64, m)
	for i := range v {
		v[i], u[i] = r.NormFloat64(), r.NormFloat64()
	}
	for _, c := range []struct {
		name string
		f    func(e, v, u []float64, d int)
	}{{"dotRows", dotRows}, {"plain", plainDots}} {
		b.Run(fmt.Sprintf("%s/m=%d/d=%d", c.name, m, d), func(b *testing.B) {
			for b.Loop() {
				c.f(e, v, u, d)
			}
		})
	}
}
