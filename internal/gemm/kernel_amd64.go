//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

// haveAsm reports whether the AVX2 + FMA3 kernels of kernel_amd64.s can run.
var haveAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// have512 reports whether the AVX-512 float32 kernel of kernel512_amd64.s
// can run.
var have512 = haveAsm && cpu.X86.HasAVX512F

// dkern6x8 is the float64 kernel (see kernel): a and b are packed panels of
// k*6 and k*8 values, c a 6 x 8 tile with row stride ldc; load != 0 reads c.
//
//go:noescape
func dkern6x8(k int, a, b, c *float64, ldc int, alpha, beta float64, load int)

// skern6x16 is dkern6x8 for float32 with 6 x 16 tiles.
//
//go:noescape
func skern6x16(k int, a, b, c *float32, ldc int, alpha, beta float32, load int)

func dkernAsm(k int, a, b, c []float64, ldc int, alpha, beta float64, loadC bool) {
	_ = a[k*dMR-1]
	_ = b[k*dNR-1]
	_ = c[(dMR-1)*ldc+dNR-1]
	l := 0
	if loadC {
		l = 1
	}
	dkern6x8(k, &a[0], &b[0], &c[0], ldc, alpha, beta, l)
}

func skernAsm(k int, a, b, c []float32, ldc int, alpha, beta float32, loadC bool) {
	_ = a[k*sMR-1]
	_ = b[k*sNR-1]
	_ = c[(sMR-1)*ldc+sNR-1]
	l := 0
	if loadC {
		l = 1
	}
	skern6x16(k, &a[0], &b[0], &c[0], ldc, alpha, beta, l)
}

// skern12x32 is skern6x16 with 12 x 32 tiles in AVX-512 registers.
//
//go:noescape
func skern12x32(k int, a, b, c *float32, ldc int, alpha, beta float32, load int)

func skernAsm512(k int, a, b, c []float32, ldc int, alpha, beta float32, loadC bool) {
	_ = a[k*zMR-1]
	_ = b[k*zNR-1]
	_ = c[(zMR-1)*ldc+zNR-1]
	l := 0
	if loadC {
		l = 1
	}
	skern12x32(k, &a[0], &b[0], &c[0], ldc, alpha, beta, l)
}

// sconv12x32 is the AVX-512 kernel of ConvTile32; offs are in bytes.
//
//go:noescape
func sconv12x32(a *float32, lda int, offs *int, taps int, k int, b *float32, c *float32, bias *float32, ldc int)

// stn12x32 is the AVX-512 kernel of TileTN32.
//
//go:noescape
func stn12x32(k int, a *float32, lda int, b *float32, ldb int, c *float32)
