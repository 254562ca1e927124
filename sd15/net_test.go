package sd15

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Backward against central differences of the loss L = sum_o u_o out_o for a
// random u: step 1e-6 gives truncation error ~1e-12 and rounding error
// ~1e-10 relative; we require 1e-6 absolute plus relative.
func TestNetGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, basis := range []int{0, 3} {
		testNetGradient(t, basis, r)
	}
}

func testNetGradient(t *testing.T, basis int, r *rand.Rand) {
	n := NewNet(5, 3, 4, []int{6, 7, 4}, basis, r)
	checkNetGradient(t, n, r)
}

// checkNetGradient compares n's Backward at step 3 with central differences.
func checkNetGradient(t *testing.T, n *Net, r *rand.Rand) {
	t.Helper()
	basis := n.Basis
	x := uniform(r, 5, 1)
	u := uniform(r, 3, 1)
	const tt = 3
	w := n.NewWork()
	g := n.NewGrad()
	n.Forward(w, x, tt)
	n.Backward(w, g, u, tt)
	loss := func() float64 {
		out := n.Forward(n.NewWork(), x, tt)
		s := 0.0
		for o := range out {
			s += u[o] * out[o]
		}
		return s
	}
	check := func(name string, p []float64, gp []float64) {
		for i := range p {
			const h = 1e-6
			orig := p[i]
			p[i] = orig + h
			lp := loss()
			p[i] = orig - h
			lm := loss()
			p[i] = orig
			fd := (lp - lm) / (2 * h)
			if math.Abs(fd-gp[i]) > 1e-6*(1+math.Abs(fd)) {
				t.Errorf("%s[%d]: backward %v, finite difference %v", name, i, gp[i], fd)
			}
		}
	}
	for l := range n.W {
		check("W", n.W[l], g.W[l])
		check("B", n.B[l], g.B[l])
	}
	H := n.H()
	for k, gr := range g.R {
		check("R", n.R[k*3*H:(k+1)*3*H], gr)
		check("C", n.C[k*3:(k+1)*3], g.C[k])
	}
	if n.Basis != 0 && n.NR > n.Basis && len(g.R) != len(n.phiK[tt-1]) {
		t.Errorf("gradient touched %d readouts, want %d", len(g.R), len(n.phiK[tt-1]))
	}
	if basis == 0 && len(g.R) != 1 {
		t.Errorf("gradient touched %d readouts, want 1", len(g.R))
	}
}

// With step readouts added, the network's output is unchanged at first (they
// start at zero) and its gradient still matches central differences.
func TestNetStepReadouts(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	n := NewNet(5, 3, 4, []int{6, 4}, 2, r)
	x := uniform(r, 5, 1)
	before := append([]float64(nil), n.Forward(n.NewWork(), x, 3)...)
	n.AddStepReadouts()
	after := n.Forward(n.NewWork(), x, 3)
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("output %d changed from %v to %v", i, before[i], after[i])
		}
	}
	for i := range n.R {
		n.R[i] += 0.1 * r.NormFloat64()
	}
	checkNetGradient(t, n, r)
}
