//go:build amd64 && !purego

package vmath

import "golang.org/x/sys/cpu"

// haveAVX2FMA selects the package's assembly kernels (Exp, LinComb,
// SubMul, ShiftCut).
var haveAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// linCombAVX2 does LinComb's arithmetic on n values, 8 then 4 then 1 at a
// time, and returns the sum of v - v over the new values (0 when all are
// finite).
//
//go:noescape
func linCombAVX2(x, s, z *float64, n int, px, ps, pz float64) float64

// subMulAVX2 does SubMul's arithmetic on n values.
//
//go:noescape
func subMulAVX2(dst, a, x, b *float64, n int)

// addMulAVX2 does AddMul's arithmetic on n values.
//
//go:noescape
func addMulAVX2(acc, k *float64, n int, v float64)

// gaussVJPAVX2 does GaussVJP's arithmetic on n values.
//
//go:noescape
func gaussVJPAVX2(out, score, v, x, sd2, mu *float64, n int, c, c2, s2 float64)

// axpbyAVX2 does Axpby's arithmetic on n values.
//
//go:noescape
func axpbyAVX2(dst, x, y *float64, n int, a, b float64)

// shiftCutAVX2 does ShiftCut's arithmetic on n values, n a multiple of 4.
//
//go:noescape
func shiftCutAVX2(l, m *float64, n int, cut float64)

// Kernel names the code path this build and CPU use (for sdesample version).
func Kernel() string {
	if haveAVX2FMA {
		return "avx2+fma"
	}
	return "go"
}
