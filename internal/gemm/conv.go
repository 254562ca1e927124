package gemm

// Direct convolution tiles. A convolution with a k x k kernel on a
// zero-padded NHWC image is, for a run of output pixels that are
// consecutive in memory, a sum over the k*k taps of products of shifted
// rows of the image with the tap's weights. ConvTile32 computes such a sum
// for 12 rows and 32 output channels without an im2col matrix and without
// packing A, which for convolutions with few output channels costs as much
// as the products themselves.

// ConvMR and ConvNR are the tile of ConvTile32: rows of A (output pixels)
// and columns of B (output channels).
const (
	ConvMR = zMR
	ConvNR = zNR
)

// HaveConvTile32 reports whether ConvTile32 runs an assembly kernel here
// (AVX-512); elsewhere it runs the portable loops, with the same bits.
func HaveConvTile32() bool { return useAsm && use512 }

// ConvTile32 writes the 12 x 32 tile, row-major with row stride ldc >= 32,
//
//	c[r*ldc + j] = sum over t < len(offs), p < k (in that order) of
//	              a[offs[t] + r*lda + p] * b[(t*k + p)*32 + j]
//
// as one float32 FMA chain per element from +0, the chain gemm computes
// for the same products in the same order (so an im2col row with columns
// (t, p) times a packed weight matrix gives the same bits), and then, when
// bias is not nil, c[r*ldc + j] += bias[j] (one rounded add, as gemm's
// beta = 1 onto C holding the bias). It panics if a slice is too short.
// len(offs) and k may be 0 (the sums are then zero).
func ConvTile32(c []float32, ldc int, a []float32, lda int, offs []int, k int, b, bias []float32) {
	taps := len(offs)
	if ldc < zNR {
		panic("gemm: ConvTile32: ldc < 32")
	}
	_ = c[(zMR-1)*ldc+zNR-1]
	var bp *float32
	if bias != nil {
		_ = bias[zNR-1]
		bp = &bias[0]
	}
	if taps == 0 || k == 0 {
		for r := 0; r < zMR; r++ {
			clear(c[r*ldc : r*ldc+zNR])
		}
		addBias(c, ldc, bias)
		return
	}
	_ = b[taps*k*zNR-1]
	hi := 0
	for _, o := range offs {
		if o < 0 {
			panic("gemm: ConvTile32: negative offset")
		}
		hi = max(hi, o)
	}
	_ = a[hi+(zMR-1)*lda+k-1]
	if useAsm && use512 {
		var bytes [16]int
		var ob []int
		if taps <= len(bytes) {
			ob = bytes[:taps]
		} else {
			ob = make([]int, taps)
		}
		for t, o := range offs {
			ob[t] = 4 * o
		}
		sconv12x32(&a[0], lda, &ob[0], taps, k, &b[0], &c[0], bp, 4*ldc)
		return
	}
	var acc [zMR * zNR]float32
	for t, o := range offs {
		for p := 0; p < k; p++ {
			bp := b[(t*k+p)*zNR : (t*k+p+1)*zNR]
			for r := 0; r < zMR; r++ {
				ar := a[o+r*lda+p]
				row := acc[r*zNR : (r+1)*zNR]
				for j, bj := range bp {
					row[j] = fma32(ar, bj, row[j])
				}
			}
		}
	}
	for r := 0; r < zMR; r++ {
		copy(c[r*ldc:r*ldc+zNR], acc[r*zNR:(r+1)*zNR])
	}
	addBias(c, ldc, bias)
}

// addBias adds bias[j] to c[r*ldc + j] (nothing when bias is nil).
func addBias(c []float32, ldc int, bias []float32) {
	if bias == nil {
		return
	}
	for r := 0; r < zMR; r++ {
		row := c[r*ldc : r*ldc+zNR]
		for j, v := range bias[:zNR] {
			row[j] += v
		}
	}
}

// TileTN32 writes the 12 x 32 tile, row-major with row stride 32,
//
//	c[r*32 + j] = sum over p < k (in order) of a[p*lda + r] * b[p*ldb + j]
//
// as one float32 FMA chain per element from +0: the chain of Sgemm with
// transA for the same A and B, read in place (no packing). It is the
// weight gradient of a convolution over a run of pixels, A holding 12
// input channels and B 32 output-channel gradients per pixel. It panics if
// a slice is too short; k may be 0 (c is then zero).
func TileTN32(c, a []float32, lda int, b []float32, ldb, k int) {
	_ = c[zMR*zNR-1]
	if k == 0 {
		clear(c[:zMR*zNR])
		return
	}
	_ = a[(k-1)*lda+zMR-1]
	_ = b[(k-1)*ldb+zNR-1]
	if useAsm && use512 {
		stn12x32(k, &a[0], lda, &b[0], ldb, &c[0])
		return
	}
	var acc [zMR * zNR]float32
	for p := 0; p < k; p++ {
		ap := a[p*lda : p*lda+zMR]
		bp := b[p*ldb : p*ldb+zNR]
		for r, ar := range ap {
			row := acc[r*zNR : (r+1)*zNR]
			for j, bj := range bp {
				row[j] = fma32(ar, bj, row[j])
			}
		}
	}
	copy(c[:zMR*zNR], acc[:])
}
