package ode

import (
	"context"
	"math"
	"testing"
)

// Fixed steps on a caller's grid: Euler on y' = t from 1 down to 0 is the
// sum of h_i t_i over the grid's own steps, computed here by hand (exact to
// a few roundings: 1e-14); a grid that does not match the interval or is
// not monotone is an error.
func TestGrid(t *testing.T) {
	g := []float64{1, 0.7, 0.3, 0.25, 0.01, 0}
	f := func(dst, tt, y []float64, rows []int) {
		for i := range rows {
			dst[i] = tt[i]
		}
	}
	res, err := Solve(context.Background(), f, 1, 1, 0, []float64{2}, Options{Tableau: Euler, Grid: g})
	if err != nil {
		t.Fatal(err)
	}
	want := 2.0
	for i := 1; i < len(g); i++ {
		want += (g[i] - g[i-1]) * g[i-1]
	}
	if math.Abs(res.Y[0]-want) > 1e-14 || res.Stats[0].NFE != len(g)-1 {
		t.Errorf("Euler on the grid: %v after %d evaluations, want %v after %d", res.Y[0], res.Stats[0].NFE, want, len(g)-1)
	}
	for _, bad := range [][]float64{{1, 0.5}, {0.9, 0.5, 0}, {1, 0.5, 0.6, 0}, {1}} {
		if _, err := Solve(context.Background(), f, 1, 1, 0, []float64{2}, Options{Tableau: Euler, Grid: bad}); err == nil {
			t.Errorf("grid %v accepted", bad)
		}
	}
}
