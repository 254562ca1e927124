//go:build !amd64 || purego

package vmath

const haveAVX2FMA = false

func linCombAVX2(x, s, z *float64, n int, px, ps, pz float64) float64 {
	panic("vmath: no AVX2 kernel in this build")
}

func subMulAVX2(dst, a, x, b *float64, n int) {
	panic("vmath: no AVX2 kernel in this build")
}

func addMulAVX2(acc, k *float64, n int, v float64) {
	panic("vmath: no AVX2 kernel in this build")
}

func gaussVJPAVX2(out, score, v, x, sd2, mu *float64, n int, c, c2, s2 float64) {
	panic("vmath: no AVX2 kernel in this build")
}

func axpbyAVX2(dst, x, y *float64, n int, a, b float64) {
	panic("vmath: no AVX2 kernel in this build")
}

func shiftCutAVX2(l, m *float64, n int, cut float64) {
	panic("vmath: no AVX2 kernel in this build")
}

// Kernel names the code path this build and CPU use (for sdesample version).
func Kernel() string { return "go" }
