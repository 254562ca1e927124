package fit

import (
	"math"
	"testing"
)

// Errors exactly C N^-p give p back to rounding (1e-12).
func TestOrder(t *testing.T) {
	n := []int{10, 20, 40, 80}
	for _, p := range []float64{1, 2, 3.5} {
		e := make([]float64, len(n))
		for i, v := range n {
			e[i] = 7 * math.Pow(float64(v), -p)
		}
		if got := Order(n, e); math.Abs(got-p) > 1e-12 {
			t.Errorf("order %v: fitted %v", p, got)
		}
	}
}
