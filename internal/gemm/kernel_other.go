//go:build !amd64 || purego

package gemm

const (
	haveAsm = false
	have512 = false
)

func dkernAsm(k int, a, b, c []float64, ldc int, alpha, beta float64, loadC bool) {
	panic("gemm: no assembly kernel in this build")
}

func skernAsm(k int, a, b, c []float32, ldc int, alpha, beta float32, loadC bool) {
	panic("gemm: no assembly kernel in this build")
}

func skernAsm512(k int, a, b, c []float32, ldc int, alpha, beta float32, loadC bool) {
	panic("gemm: no assembly kernel in this build")
}

func sconv12x32(a *float32, lda int, offs *int, taps int, k int, b *float32, c *float32, bias *float32, ldc int) {
	panic("gemm: no assembly kernel in this build")
}

func stn12x32(k int, a *float32, lda int, b *float32, ldb int, c *float32) {
	panic("gemm: no assembly kernel in this build")
}
