package vmath

// AddMul sets acc[i] += v * k[i] for i < len(acc), the product rounded
// before the sum (no fused multiply-add), so that both kernels give the
// bits of the Go loop acc[i] += float64(v * k[i]): the stage combinations of
// package ode's Runge-Kutta steps. k must be at least as long as acc.
func AddMul(acc, k []float64, v float64) {
	n := len(acc)
	if len(k) < n {
		panic("vmath: AddMul: k is shorter than acc")
	}
	if n == 0 {
		return
	}
	if haveAVX2FMA {
		addMulAVX2(&acc[0], &k[0], n, v)
		return
	}
	addMulGo(acc, k[:n], v)
}

// addMulGo is AddMul's portable loop.
func addMulGo(acc, k []float64, v float64) {
	k = k[:len(acc)]
	for i := range acc {
		acc[i] += float64(v * k[i])
	}
}
