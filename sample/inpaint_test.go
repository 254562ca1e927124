package sample

import (
	"context"
	"math"
	"testing"

	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// Inpainting gmm8 with x fixed at 4: the known coordinate ends within
// 4 s(eps) of 4, rows are independent of the block size, and the filled-in y
// lies where p(y | x = 4) has its mass: by symmetry its mean is 0 (4 standard
// errors), and at least 95 % of it lies near the modes whose x-mean is near 4
// (y near 0 or +-2.83; modes with x-mean 0 or below have conditional mass
// below e^-30). The replacement heuristic does not get their weights right:
// the exact conditional puts 0.887 of its mass on the (4, 0) mode, and the
// test logs what the heuristic gives (about 0.43 here), which is why the
// package doc calls it a heuristic.
func TestInpaintGMM8(t *testing.T) {
	s := sde.NewVP()
	m := score.GMM8(s)
	clamp, err := Inpaint(s, []bool{true, false}, []float64{4, 0}, 3)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4000
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	run := func(block int) []float64 {
		x := make([]float64, 2*n)
		cfg := Config{SDE: s, Score: m, Sampler: &EulerMaruyama{Steps: 500, Clamp: clamp}, Block: block}
		if _, err := Generate(context.Background(), cfg, 1, rows, x, nil); err != nil {
			t.Fatal(err)
		}
		return x
	}
	x := run(0)
	y := run(7)
	for i := range x {
		if x[i] != y[i] {
			t.Fatalf("value %d depends on the block size: %v vs %v", i, x[i], y[i])
		}
	}
	_, sd := s.Marginal(1e-3)
	var mean float64
	centre, near := 0, 0
	for i := 0; i < n; i++ {
		if math.Abs(x[2*i]-4) > 4*sd {
			t.Fatalf("row %d: known coordinate %v, want 4", i, x[2*i])
		}
		mean += x[2*i+1]
		yi := x[2*i+1]
		if math.Abs(yi) < 1.5 {
			centre++
		}
		if math.Abs(yi) < 1.5 || math.Abs(math.Abs(yi)-2*math.Sqrt2) < 1.5 {
			near++
		}
	}
	mean /= n
	if math.Abs(mean) > 4*2.0/math.Sqrt(n) { // std of y is below 2
		t.Errorf("mean of the filled-in y %v, want 0", mean)
	}
	if f := float64(near) / n; f < 0.95 {
		t.Errorf("fraction of y near the modes compatible with x = 4: %v, want > 0.95", f)
	}
	t.Logf("fraction of y at the (4, 0) mode: %.3f (exact conditional 0.887)", float64(centre)/n)
	if _, err := Inpaint(s, []bool{true}, []float64{1, 2}, 1); err == nil {
		t.Error("mismatched lengths accepted")
	}
	// Clamp reaches PC too: with the em predictor and no corrector PC is
	// Euler-Maruyama, bit for bit, clamp included (rows 100..149 of the run).
	// (Clamp with the ode sampler, once a Validate error, cannot be written:
	// ProbabilityFlow has no Clamp.)
	sub := rows[100:150]
	z := make([]float64, 2*len(sub))
	pc := Config{SDE: s, Score: m, Sampler: &PC{Predictor: EMPredictor{}, Corrector: NoCorrector{}, Steps: 500, Clamp: clamp}}
	if _, err := Generate(context.Background(), pc, 1, sub, z, nil); err != nil {
		t.Fatal(err)
	}
	for k, r := range sub {
		if z[2*k] != x[2*r] || z[2*k+1] != x[2*r+1] {
			t.Fatalf("row %d: pc with the em predictor and the clamp %v, em %v", r, z[2*k:2*k+2], x[2*r:2*r+2])
		}
	}
}
