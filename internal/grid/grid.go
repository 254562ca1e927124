// Package grid holds the time grid shared by the SDEs' discretisations
// (package sde) and the discrete chains (package discretize), which cannot
// import each other both ways.
package grid

// Linspace returns n points from a to b inclusive, computed as
// a + i (b - a)/(n - 1) with b exactly at the end: numpy.linspace's
// rounding, which the reference code's grids use.
func Linspace(a, b float64, n int) []float64 {
	out := make([]float64, n)
	if n == 1 {
		out[0] = a
		return out
	}
	step := (b - a) / float64(n-1)
	for i := range out {
		out[i] = a + float64(i)*step
	}
	out[n-1] = b
	return out
}
