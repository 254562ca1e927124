//go:build amd64 && !purego

package planar

import "golang.org/x/sys/cpu"

// haveAVX2 selects the kernels of planar_amd64.s.
var haveAVX2 = cpu.X86.HasAVX2

// logWeightsAVX2 is LogWeights on rows [0, n), n a multiple of 4.
//
//go:noescape
func logWeightsAVX2(l, mx, inv0, inv1, c, s, x, mu, logW *float64, n, stride, K int, v0, v1 float64)

// scoresAVX2 is Scores on rows [0, n), n a multiple of 4.
//
//go:noescape
func scoresAVX2(dst, r, c, inv0, inv1, x, mu *float64, n, stride, K int)

// Kernel names the code path this build and CPU use (for sdesample version).
func Kernel() string {
	if haveAVX2 {
		return "avx2"
	}
	return "go"
}
