package ode_test

import (
	"context"
	"fmt"
	"math"

	"github.com/sdekit/sdekit/ode"
)

// Three independent rows dy/dt = -k_i y, each with its own rate k_i (the
// vector field reads the caller-visible row index) and its own step sizes,
// with dense output at t = 1.
func ExampleSolve() {
	rate := []float64{0.5, 1, 2}
	f := func(dst, t, y []float64, rows []int) {
		for j, r := range rows {
			dst[j] = -rate[r] * y[j]
		}
	}
	opt := ode.Options{RTol: 1e-10, ATol: 1e-12, Times: []float64{1}}
	res, err := ode.Solve(context.Background(), f, 1, 0, 2, []float64{1, 1, 1}, opt)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, y := range res.Y {
		fmt.Printf("row %d: y(1) = %.8f, y(2) = %.8f (exact %.8f)\n", i, res.Dense[i], y, math.Exp(-2*rate[i]))
	}
	fmt.Println("rows took different numbers of steps:", res.Stats[0].Steps < res.Stats[2].Steps)
	// Output:
	// row 0: y(1) = 0.60653066, y(2) = 0.36787944 (exact 0.36787944)
	// row 1: y(1) = 0.36787944, y(2) = 0.13533528 (exact 0.13533528)
	// row 2: y(1) = 0.13533528, y(2) = 0.01831564 (exact 0.01831564)
	// rows took different numbers of steps: true
}
