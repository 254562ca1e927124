package vmath

import "math"

// LinComb sets x[i] = fma(pz, z[i], fma(ps, s[i], px*x[i])) for every i, the
// update of one Euler-Maruyama, reverse-diffusion or Langevin step, and
// reports whether every new x[i] is finite. With z == nil it sets
// x[i] = fma(ps, s[i], px*x[i]). s (and z) must be at least as long as x.
//
// The roundings are fixed (one product, then one or two fused
// multiply-adds), so the AVX2 kernel and the pure-Go loop give the same bits.
func LinComb(x []float64, px float64, s []float64, ps float64, z []float64, pz float64) bool {
	if len(s) < len(x) || (z != nil && len(z) < len(x)) {
		panic("vmath: LinComb: s or z is shorter than x")
	}
	if len(x) == 0 {
		return true
	}
	if z == nil {
		return linComb2(x, px, s[:len(x)], ps)
	}
	if haveAVX2FMA {
		return linCombAVX2(&x[0], &s[0], &z[0], len(x), px, ps, pz) == 0
	}
	return linCombGo(x, px, s[:len(x)], ps, z[:len(x)], pz)
}

// linCombGo is LinComb's portable loop. The four sums of v - v (zero for a
// finite v, NaN otherwise) keep the finiteness check off the critical path.
func linCombGo(x []float64, px float64, s []float64, ps float64, z []float64, pz float64) bool {
	s, z = s[:len(x)], z[:len(x)]
	var a0, a1, a2, a3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xx, ss, zz := x[i:i+4:i+4], s[i:i+4:i+4], z[i:i+4:i+4]
		v0 := math.FMA(pz, zz[0], math.FMA(ps, ss[0], px*xx[0]))
		v1 := math.FMA(pz, zz[1], math.FMA(ps, ss[1], px*xx[1]))
		v2 := math.FMA(pz, zz[2], math.FMA(ps, ss[2], px*xx[2]))
		v3 := math.FMA(pz, zz[3], math.FMA(ps, ss[3], px*xx[3]))
		xx[0], xx[1], xx[2], xx[3] = v0, v1, v2, v3
		a0 += v0 - v0
		a1 += v1 - v1
		a2 += v2 - v2
		a3 += v3 - v3
	}
	for ; i < len(x); i++ {
		v := math.FMA(pz, z[i], math.FMA(ps, s[i], px*x[i]))
		x[i] = v
		a0 += v - v
	}
	return a0+a1+a2+a3 == 0
}

// linComb2 is LinComb without noise (a rare, deterministic step).
func linComb2(x []float64, px float64, s []float64, ps float64) bool {
	var a float64
	for i, v := range x {
		v = math.FMA(ps, s[i], px*v)
		x[i] = v
		a += v - v
	}
	return a == 0
}
