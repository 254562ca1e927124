//go:build !amd64 || purego

package planar

const haveAVX2 = false

func logWeightsAVX2(l, mx, inv0, inv1, c, s, x, mu, logW *float64, n, stride, K int, v0, v1 float64) {
	panic("planar: no AVX2 kernel in this build")
}

func scoresAVX2(dst, r, c, inv0, inv1, x, mu *float64, n, stride, K int) {
	panic("planar: no AVX2 kernel in this build")
}

// Kernel names the code path this build and CPU use (for sdesample version).
func Kernel() string { return "go" }
