package vmath

import "math"

// Exp1 returns e^x for one value: the same bits as Exp on a slice holding x
// (it runs the portable kernel, which the assembly matches lane by lane).
func Exp1(x float64) float64 {
	v := [1]float64{x}
	expGeneric(v[:], v[:])
	return v[0]
}

// Expm1Small returns e^x - 1 for |x| <= 0.35 (outside, the truncation error
// grows: use math.Expm1), from Exp's polynomial without its range
// reduction: e^x - 1 = x + x (x q(x)) with q Exp's degree-11 polynomial
// (the Taylor series of e^x through x^13), so the result keeps its full
// relative accuracy as x -> 0, where 1 - e^x would cancel. The truncation
// error is below 0.35^14/14! = 5e-18 relative to |x| e^-0.35 > 0.7 |x|, far
// under an ulp; the test measures it within 1 ulp of e^x - 1 computed in
// 256-bit arithmetic.
func Expm1Small(x float64) float64 {
	q := expQ(x)
	// x + x (x q) with one rounding after the product x q, which is at
	// most 0.2 of the result: about 0.6 ulp in all.
	return math.FMA(x, x*q, x)
}
