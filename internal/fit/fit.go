// Package fit holds the least-squares fit of a convergence order: with
// errors e(N) ~ C N^-p, the slope p of -log e against log N.
package fit

import "math"

// Order returns the least-squares slope of -log e[i] against log n[i].
func Order(n []int, e []float64) float64 {
	var sx, sy, sxx, sxy float64
	k := float64(len(n))
	for i := range n {
		x, y := math.Log(float64(n[i])), -math.Log(e[i])
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	return (k*sxy - sx*sy) / (k*sxx - sx*sx)
}
