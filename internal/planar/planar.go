package planar

import "math"

// LogWeights sets, for every row i < len(c) (c[i] and s[i] the marginal mean
// scale and standard deviation at the row's time, x[2i], x[2i+1] its state):
//
//	inv0[i], inv1[i] = 1/v_0, 1/v_1 with v_j = c^2 var_j + s^2,
//	l[k*stride+i]    = logW[k] - (x_0 - c mu[2k])^2 / (2 v_0) - (x_1 - c mu[2k+1])^2 / (2 v_1),
//	mx[i]            = max_k l[k*stride+i]
//
// for the K = len(logW) components with means mu (K x 2, row-major) and
// data variances var_0 = v0, var_1 = v1 (variances, not standard
// deviations). stride
// must be at least len(c); s, inv0, inv1 and mx at least len(c) long, x at
// least 2 len(c).
func LogWeights(l, mx, inv0, inv1, c, s, x, mu, logW []float64, stride int, v0, v1 float64) {
	n, K := len(c), len(logW)
	if n == 0 {
		return
	}
	if K == 0 || len(mu) < 2*K || stride < n || len(l) < (K-1)*stride+n ||
		len(mx) < n || len(inv0) < n || len(inv1) < n || len(s) < n || len(x) < 2*n {
		panic("planar: LogWeights: slices too short for the rows and components")
	}
	i := 0
	if haveAVX2 && n >= 4 {
		i = n &^ 3
		logWeightsAVX2(&l[0], &mx[0], &inv0[0], &inv1[0], &c[0], &s[0], &x[0], &mu[0], &logW[0], i, stride, K, v0, v1)
	}
	for ; i < n; i++ {
		logWeightsRow(l[i:], mx, inv0, inv1, c, s, x, mu[:2*K], logW, i, stride, v0, v1)
	}
}

// logWeightsRow is LogWeights for row i; l starts at row i's first value.
func logWeightsRow(l, mx, inv0, inv1, c, s, x, mu, logW []float64, i, stride int, v0, v1 float64) {
	ci, si := c[i], s[i]
	c2, s2 := float64(ci*ci), float64(si*si)
	i0, i1 := 1/(float64(c2*v0)+s2), 1/(float64(c2*v1)+s2)
	inv0[i], inv1[i] = i0, i1
	h0, h1 := 0.5*i0, 0.5*i1
	x0, x1 := x[2*i], x[2*i+1]
	top := math.Inf(-1)
	for k, lw := range logW {
		a0, a1 := x0-float64(ci*mu[2*k]), x1-float64(ci*mu[2*k+1])
		w := lw - float64(float64(a0*a0)*h0) - float64(float64(a1*a1)*h1)
		l[k*stride] = w
		top = max(top, w)
	}
	mx[i] = top
}

// Scores sets, for every row i < len(c), dst[2i+j] to
//
//	sum_k r_k (c mu[2k+j] - x_j) inv_j / sum_k r_k,  r_k = r[k*stride+i],
//
// the sums taken in order of k and the quotient formed as a product with
// 1 / sum_k r_k: the mixture's score from the weights r_k = e^(l_k - max l).
// K = len(mu)/2 components; the slices' lengths are as for LogWeights.
func Scores(dst, r, c, inv0, inv1, x, mu []float64, stride int) {
	n, K := len(c), len(mu)/2
	if n == 0 {
		return
	}
	if K == 0 || stride < n || len(r) < (K-1)*stride+n || len(dst) < 2*n ||
		len(inv0) < n || len(inv1) < n || len(x) < 2*n {
		panic("planar: Scores: slices too short for the rows and components")
	}
	i := 0
	if haveAVX2 && n >= 4 {
		i = n &^ 3
		scoresAVX2(&dst[0], &r[0], &c[0], &inv0[0], &inv1[0], &x[0], &mu[0], i, stride, K)
	}
	for ; i < n; i++ {
		scoresRow(dst, r[i:], c, inv0, inv1, x, mu[:2*K], i, stride)
	}
}

// scoresRow is Scores for row i; r starts at row i's first weight.
func scoresRow(dst, r, c, inv0, inv1, x, mu []float64, i, stride int) {
	ci, i0, i1 := c[i], inv0[i], inv1[i]
	x0, x1 := x[2*i], x[2*i+1]
	w := r[0]
	z := w
	s0 := float64(w*(float64(ci*mu[0])-x0)) * i0
	s1 := float64(w*(float64(ci*mu[1])-x1)) * i1
	for k := 1; k < len(mu)/2; k++ {
		w = r[k*stride]
		z += w
		s0 += float64(float64(w*(float64(ci*mu[2*k])-x0)) * i0)
		s1 += float64(float64(w*(float64(ci*mu[2*k+1])-x1)) * i1)
	}
	iz := 1 / z
	dst[2*i], dst[2*i+1] = s0*iz, s1*iz
}
