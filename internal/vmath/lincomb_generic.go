//go:build !amd64 || purego

package vmath

const haveAVX2FMA = false

func linCombAVX2(x, s, z *float64, n int, px, ps, pz float64) float64 {
	panic("vmath: no AVX2 kernel in this build")
}
