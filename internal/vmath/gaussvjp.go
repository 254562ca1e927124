package vmath

// GaussVJP does the exact score of one diagonal Gaussian at time t and its
// vector-Jacobian product for one row: with iv = 1/(c2 sd2[j] + s2),
//
//	out[j]   = -v[j] iv            (v^T d score/dx: the Jacobian is -diag(iv))
//	score[j] = (c mu[j] - x[j]) iv
//
// every product and sum rounded on its own (no fused multiply-add), so that
// both kernels give the bits of that Go loop. All slices must be at least
// as long as out. The likelihood of gauss:784 spent a third of its time in
// these divisions, one value at a time.
func GaussVJP(out, score, v, x, sd2, mu []float64, c, c2, s2 float64) {
	n := len(out)
	if len(score) < n || len(v) < n || len(x) < n || len(sd2) < n || len(mu) < n {
		panic("vmath: GaussVJP: a slice is shorter than out")
	}
	if n == 0 {
		return
	}
	if haveAVX2FMA {
		gaussVJPAVX2(&out[0], &score[0], &v[0], &x[0], &sd2[0], &mu[0], n, c, c2, s2)
		return
	}
	gaussVJPGo(out, score[:n], v[:n], x[:n], sd2[:n], mu[:n], c, c2, s2)
}

// gaussVJPGo is GaussVJP's portable loop.
func gaussVJPGo(out, score, v, x, sd2, mu []float64, c, c2, s2 float64) {
	for j := range out {
		iv := 1 / (float64(c2*sd2[j]) + s2)
		out[j] = -v[j] * iv
		score[j] = (float64(c*mu[j]) - x[j]) * iv
	}
}
