package vmath

// Axpby sets dst[i] = a*x[i] + b*y[i] for i < len(dst), each product and the
// sum rounded (no fused multiply-add), the probability-flow drift
// f(t) x - g(t)^2/2 s with b = -g^2/2. x and y must be at least as long as
// dst; dst may be x or y. Both kernels round the same three times, so they
// give the same bits as the plain Go expression on amd64.
func Axpby(dst []float64, a float64, x []float64, b float64, y []float64) {
	n := len(dst)
	if len(x) < n || len(y) < n {
		panic("vmath: Axpby: x or y is shorter than dst")
	}
	if n == 0 {
		return
	}
	if haveAVX2FMA {
		axpbyAVX2(&dst[0], &x[0], &y[0], n, a, b)
		return
	}
	axpbyGo(dst, a, x[:n], b, y[:n])
}

// axpbyGo is Axpby's portable loop. The products are forced to round
// (float64 conversions) so compilers that fuse a*x + b*y on other
// architectures give the same bits.
func axpbyGo(dst []float64, a float64, x []float64, b float64, y []float64) {
	x, y = x[:len(dst)], y[:len(dst)]
	for i := range dst {
		dst[i] = float64(a*x[i]) + float64(b*y[i])
	}
}
