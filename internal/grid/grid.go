// Package grid holds what the SDEs' discretisations (package sde) and the
// discrete chains (package discretize) share and cannot import from each
// other: the time grid and the DDPM chain's products.
package grid

import "math"

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

// DDPMChain returns alpha_i = 1 - beta_i and alpha-bar_i = prod_{j <= i}
// alpha_j, the product summed as logs (log1p(-beta_j)) and exponentiated,
// and -1; or nil, nil and the index of the first beta outside (0, 1).
func DDPMChain(betas []float64) (alphas, alphaBars []float64, bad int) {
	alphas, alphaBars = make([]float64, len(betas)), make([]float64, len(betas))
	var logAB float64
	for i, b := range betas {
		if !(b > 0 && b < 1) {
			return nil, nil, i
		}
		alphas[i] = 1 - b
		logAB += math.Log1p(-b)
		alphaBars[i] = math.Exp(logAB)
	}
	return alphas, alphaBars, -1
}

// BetaTilde is the DDPM posterior variance beta_i (1 - alpha-bar_{i-1})/(1 -
// alpha-bar_i), 0 at i = 0.
func BetaTilde(betas, alphaBars []float64, i int) float64 {
	if i == 0 {
		return 0
	}
	return betas[i] * (1 - alphaBars[i-1]) / (1 - alphaBars[i])
}
