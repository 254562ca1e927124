package vmath

// SubMul sets dst[i] = (a[i] - x[i]) * b[i] for i < len(dst), the score
// (c mu - x) / v of a Gaussian with 1/v in b. a, x and b must be at least as
// long as dst. Both kernels round the difference and the product, so they
// give the same bits.
func SubMul(dst, a, x, b []float64) {
	n := len(dst)
	if len(a) < n || len(x) < n || len(b) < n {
		panic("vmath: SubMul: a, x or b is shorter than dst")
	}
	if n == 0 {
		return
	}
	if haveAVX2FMA {
		subMulAVX2(&dst[0], &a[0], &x[0], &b[0], n)
		return
	}
	subMulGo(dst, a[:n], x[:n], b[:n])
}

// subMulGo is SubMul's portable loop, unrolled by 4.
func subMulGo(dst, a, x, b []float64) {
	a, x, b = a[:len(dst)], x[:len(dst)], b[:len(dst)]
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		aa, xx, bb, q := a[i:i+4:i+4], x[i:i+4:i+4], b[i:i+4:i+4], dst[i:i+4:i+4]
		q[0] = (aa[0] - xx[0]) * bb[0]
		q[1] = (aa[1] - xx[1]) * bb[1]
		q[2] = (aa[2] - xx[2]) * bb[2]
		q[3] = (aa[3] - xx[3]) * bb[3]
	}
	for ; i < len(dst); i++ {
		dst[i] = (a[i] - x[i]) * b[i]
	}
}
