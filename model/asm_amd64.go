//go:build amd64 && !purego

package model

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly SiLU kernels of silu_amd64.s. They compute
// exp by range reduction and a Taylor polynomial (within about 2 ulp of the
// correctly rounded sigmoid) and process 8 float32 or 4 float64 lanes at a
// time; the remainder of each row goes through math.Exp. Build with
// -tags purego to use the pure-Go kernels everywhere.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func siluRow32AVX2(z, s, a, b *float32, n int)

//go:noescape
func siluRow64AVX2(z, s, a, b *float64, n int)

//go:noescape
func siluGrad32AVX2(d, z, s *float32, n int)

//go:noescape
func siluGrad64AVX2(d, z, s *float64, n int)

//go:noescape
func adamAVX2(p, grad, m, v *float64, n int, c *[8]float64)

// Kernel names the code path this build and CPU use (for sdesample version).
func Kernel() string {
	if useAVX2 {
		return "avx2+fma"
	}
	return "go"
}
