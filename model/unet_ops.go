package model

import "math"

// The operations of the U-Net, forward and backward, on NHWC tensors (see
// unetTensor). A backward method reads the gradient of its output and
// writes (first writer) or adds the gradient of its inputs, and adds the
// gradient of its parameters to c.grad when that is not nil. Sums over many
// pixels (GroupNorm statistics, bias and gamma gradients) are accumulated in
// float64 in both precisions.

// convForward: Y = conv_k(X) + b: each output is one dot product (one gemm
// FMA chain) plus the bias.
func (c *unetCore[T, K]) convForward(o *unetOp) {
	X, Y := &c.t[o.in], &c.t[o.out]
	cin, cout := X.c, Y.c
	m := c.n * X.h * X.w
	kk := o.k * o.k * cin
	w := c.params[o.wOff : o.wOff+kk*cout]
	b := c.params[o.bOff : o.bOff+cout]
	y := Y.v[:m*cout]
	if o.k == 3 {
		c.conv3To(y, X.v, X.h, X.w, cin, cout, w, b, false)
		return
	}
	c.conv1To(y, X.v, m, cin, cout, w, b, false)
}

// convBackward: db = column sums of dY, dW per tap from the padded X and
// dY (convWeightGrad), and dX = the convolution of dY with the flipped kernel,
// W'[(8-t)*C_out + co][ci] = W[t*C_in + ci][co] for the 3x3 taps t.
func (c *unetCore[T, K]) convBackward(o *unetOp) {
	X, Y := &c.t[o.in], &c.t[o.out]
	cin, cout := X.c, Y.c
	m := c.n * X.h * X.w
	kk := o.k * o.k * cin
	w := c.params[o.wOff : o.wOff+kk*cout]
	dy := Y.g[:m*cout]
	var gw []T
	if c.grad != nil {
		c.colSumsAdd(c.grad[o.bOff:o.bOff+cout], dy, m, cout)
		gw = c.grad[o.wOff : o.wOff+kk*cout]
	}
	if o.k == 1 {
		if gw != nil {
			c.par.gemm(true, false, cin, cout, m, X.v, cin, dy, cout, 1, gw, cout)
		}
		if X.need {
			// dX = dY W^T, W^T in the flip scratch.
			wt := c.wflip[:cout*cin]
			for ci := 0; ci < cin; ci++ {
				for co, v := range w[ci*cout : (ci+1)*cout] {
					wt[co*cin+ci] = v
				}
			}
			add := X.gset
			X.gset = true
			c.conv1To(X.g[:m*cin], dy, m, cout, cin, wt, nil, add)
		}
		return
	}
	if gw == nil && !X.need {
		return
	}
	padDY := padTo(c.pad2, dy, c.n, X.h, X.w, cout)
	if gw != nil {
		padX := padTo(c.pad, X.v, c.n, X.h, X.w, cin)
		c.convWeightGrad(gw, padX, padDY, X.h, X.w, cin, cout)
	}
	if X.need {
		wf := c.wflip[:9*cout*cin]
		for t := 0; t < 9; t++ {
			for ci := 0; ci < cin; ci++ {
				src := w[((8-t)*cin+ci)*cout : ((8-t)*cin+ci+1)*cout]
				for co, v := range src {
					wf[(t*cout+co)*cin+ci] = v
				}
			}
		}
		add := X.gset
		X.gset = true
		c.conv3To(X.g[:m*cin], dy, X.h, X.w, cout, cin, wf, nil, add)
	}
}

// colSumsAdd adds the column sums of the m x w matrix a to dst.
func (c *unetCore[T, K]) colSumsAdd(dst, a []T, m, w int) {
	acc := c.acc[:w]
	clear(acc)
	colSumsTo(acc, a, m, w, c.gs[0].nm)
	for j, v := range acc {
		dst[j] += T(v)
	}
}

// im2col writes rows r0..r1 of the im2col matrix of the 3x3, padding-1
// convolution of x (NHWC, h x w pixels, cin channels): row r is pixel r,
// column (ky*3 + kx)*cin + ci holds x at (y+ky-1, x+kx-1, ci), 0 outside.
func im2col[T float](cols, x []T, h, w, cin, r0, r1 int) {
	hw, kk := h*w, 9*cin
	for r := r0; r < r1; r++ {
		img, p := r/hw, r%hw
		py, px := p/w, p%w
		dst := cols[(r-r0)*kk : (r-r0+1)*kk]
		base := img * hw
		for ky := 0; ky < 3; ky++ {
			yy := py + ky - 1
			for kx := 0; kx < 3; kx++ {
				xx := px + kx - 1
				d := dst[(ky*3+kx)*cin : (ky*3+kx+1)*cin]
				if yy < 0 || yy >= h || xx < 0 || xx >= w {
					clear(d)
					continue
				}
				s := (base + yy*w + xx) * cin
				copy(d, x[s:s+cin])
			}
		}
	}
}

// siluForward: out = x sigmoid(x), keeping the sigmoid (the small time MLP).
func (c *unetCore[T, K]) siluForward(o *unetOp, oi int) {
	X, Y := &c.t[o.in], &c.t[o.out]
	m := c.n * X.size()
	s := c.aux[oi][0]
	for j, v := range X.v[:m] {
		e := T(1 / (1 + math.Exp(-float64(v))))
		s[j] = e
		Y.v[j] = v * e
	}
}

func (c *unetCore[T, K]) siluBackward(o *unetOp, oi int) {
	X, Y := &c.t[o.in], &c.t[o.out]
	if !X.need {
		return
	}
	m := c.n * X.size()
	s := c.aux[oi][0]
	add := X.gset
	X.gset = true
	for j, v := range X.v[:m] {
		e := s[j]
		d := Y.g[j] * e * (1 + v*(1-e))
		if add {
			X.g[j] += d
		} else {
			X.g[j] = d
		}
	}
}

// addChanForward adds the time-embedding projection e (n x C) to every
// pixel of h.
func (c *unetCore[T, K]) addChanForward(o *unetOp) {
	H, E := &c.t[o.in], &c.t[o.in2]
	C, hw := H.c, H.h*H.w
	for i := 0; i < c.n; i++ {
		e := E.v[i*C : (i+1)*C]
		for p := 0; p < hw; p++ {
			r := H.v[(i*hw+p)*C : (i*hw+p+1)*C]
			for j, v := range e {
				r[j] += v
			}
		}
	}
}

// addChanBackward: de = dh summed over the pixels of each image.
func (c *unetCore[T, K]) addChanBackward(o *unetOp) {
	H, E := &c.t[o.in], &c.t[o.in2]
	C, hw := H.c, H.h*H.w
	add := E.gset
	E.gset = true
	acc := c.acc[:C]
	for i := 0; i < c.n; i++ {
		clear(acc)
		colSumsTo(acc, H.g[i*hw*C:(i+1)*hw*C], hw, C, c.gs[0].nm)
		e := E.g[i*C : (i+1)*C]
		for j, v := range acc {
			if add {
				e[j] += T(v)
			} else {
				e[j] = T(v)
			}
		}
	}
}

// dropoutForward zeroes each activation with probability p and scales the
// others by 1/(1-p) (inverted dropout), in training only. Image i's masks
// come from its own stream (dropKey), one uniform per activation in layer
// order.
func (c *unetCore[T, K]) dropoutForward(o *unetOp, oi int) {
	if !c.train {
		return
	}
	A := &c.t[o.in]
	p := c.cfg.Dropout
	scale := T(1 / (1 - p))
	size := A.size()
	for i := 0; i < c.n; i++ {
		rng := &c.rowRNG[i]
		mask := c.aux[oi][0][i*size : (i+1)*size]
		a := A.v[i*size : (i+1)*size]
		for j := range mask {
			m := scale
			if float64(rng.Uint64()>>11)*0x1p-53 < p {
				m = 0
			}
			mask[j] = m
			a[j] *= m
		}
	}
}

// poolForward: 2x2 average pooling.
func (c *unetCore[T, K]) poolForward(o *unetOp) {
	X, Y := &c.t[o.in], &c.t[o.out]
	C := X.c
	for i := 0; i < c.n; i++ {
		for py := 0; py < Y.h; py++ {
			for px := 0; px < Y.w; px++ {
				dst := Y.v[((i*Y.h+py)*Y.w+px)*C:][:C]
				a := X.v[((i*X.h+2*py)*X.w+2*px)*C:][:2*C]
				b := X.v[((i*X.h+2*py+1)*X.w+2*px)*C:][:2*C]
				for j := range dst {
					dst[j] = (a[j] + a[C+j] + b[j] + b[C+j]) * 0.25
				}
			}
		}
	}
}

func (c *unetCore[T, K]) poolBackward(o *unetOp) {
	X, Y := &c.t[o.in], &c.t[o.out]
	C := X.c
	add := X.gset
	X.gset = true
	for i := 0; i < c.n; i++ {
		for py := 0; py < Y.h; py++ {
			for px := 0; px < Y.w; px++ {
				g := Y.g[((i*Y.h+py)*Y.w+px)*C:][:C]
				a := X.g[((i*X.h+2*py)*X.w+2*px)*C:][:2*C]
				b := X.g[((i*X.h+2*py+1)*X.w+2*px)*C:][:2*C]
				for j, v := range g {
					d := v * 0.25
					if add {
						a[j] += d
						a[C+j] += d
						b[j] += d
						b[C+j] += d
					} else {
						a[j], a[C+j], b[j], b[C+j] = d, d, d, d
					}
				}
			}
		}
	}
}

// upForward: 2x nearest-neighbour up-sampling.
func (c *unetCore[T, K]) upForward(o *unetOp) {
	X, Y := &c.t[o.in], &c.t[o.out]
	C := X.c
	for i := 0; i < c.n; i++ {
		for py := 0; py < Y.h; py++ {
			for px := 0; px < Y.w; px++ {
				copy(Y.v[((i*Y.h+py)*Y.w+px)*C:][:C], X.v[((i*X.h+py/2)*X.w+px/2)*C:][:C])
			}
		}
	}
}

func (c *unetCore[T, K]) upBackward(o *unetOp) {
	X, Y := &c.t[o.in], &c.t[o.out]
	C := X.c
	add := X.gset
	X.gset = true
	for i := 0; i < c.n; i++ {
		for py := 0; py < X.h; py++ {
			for px := 0; px < X.w; px++ {
				dst := X.g[((i*X.h+py)*X.w+px)*C:][:C]
				a := Y.g[((i*Y.h+2*py)*Y.w+2*px)*C:][:2*C]
				b := Y.g[((i*Y.h+2*py+1)*Y.w+2*px)*C:][:2*C]
				for j := range dst {
					d := (a[j] + a[C+j]) + (b[j] + b[C+j])
					if add {
						dst[j] += d
					} else {
						dst[j] = d
					}
				}
			}
		}
	}
}

// concatForward: out = [a, b] along channels.
func (c *unetCore[T, K]) concatForward(o *unetOp) {
	A, B, Y := &c.t[o.in], &c.t[o.in2], &c.t[o.out]
	ca, cb := A.c, B.c
	rows := c.n * A.h * A.w
	for r := 0; r < rows; r++ {
		y := Y.v[r*(ca+cb) : (r+1)*(ca+cb)]
		copy(y[:ca], A.v[r*ca:(r+1)*ca])
		copy(y[ca:], B.v[r*cb:(r+1)*cb])
	}
}

func (c *unetCore[T, K]) concatBackward(o *unetOp) {
	A, B, Y := &c.t[o.in], &c.t[o.in2], &c.t[o.out]
	ca, cb := A.c, B.c
	rows := c.n * A.h * A.w
	for k, t := range [2]*unetTensor[T]{A, B} {
		w, off := ca, 0
		if k == 1 {
			w, off = cb, ca
		}
		add := t.gset
		t.gset = true
		for r := 0; r < rows; r++ {
			y := Y.g[r*(ca+cb)+off : r*(ca+cb)+off+w]
			d := t.g[r*w : (r+1)*w]
			if add {
				for j, v := range y {
					d[j] += v
				}
			} else {
				copy(d, y)
			}
		}
	}
}

// attnForward: per image, with Q, K, V the three C-channel blocks of the
// input rows (N = H W pixels), P = softmax(Q K^T / sqrt(C)) by rows (kept
// for backward) and out = P V.
func (c *unetCore[T, K]) attnForward(o *unetOp, oi int) {
	Q, O := &c.t[o.in], &c.t[o.out]
	C, N := O.c, O.h*O.w
	scale := 1 / math.Sqrt(float64(C))
	P := c.aux[oi][0]
	for i := 0; i < c.n; i++ {
		q := Q.v[i*N*3*C : (i+1)*N*3*C]
		pi := P[i*N*N : (i+1)*N*N]
		c.par.gemm(false, true, N, N, C, q, 3*C, q[C:], 3*C, 0, pi, N)
		for r := 0; r < N; r++ {
			row := pi[r*N : (r+1)*N]
			mx := row[0]
			for _, v := range row {
				mx = max(mx, v)
			}
			var sum float64
			for j, v := range row {
				e := math.Exp(scale * float64(v-mx))
				sum += e
				row[j] = T(e)
			}
			inv := 1 / sum
			for j, v := range row {
				row[j] = T(float64(v) * inv)
			}
		}
		c.par.gemm(false, false, N, C, N, pi, N, q[2*C:], 3*C, 0, O.v[i*N*C:], C)
	}
}

// attnBackward: dP = dO V^T, dV = P^T dO, dS = P (dP - rowsum(dP P)) /
// sqrt(C), dQ = dS K, dK = dS^T Q.
func (c *unetCore[T, K]) attnBackward(o *unetOp, oi int) {
	Q, O := &c.t[o.in], &c.t[o.out]
	if !Q.need {
		return
	}
	if Q.gset {
		panic("model: unet: attention input with two consumers")
	}
	Q.gset = true
	C, N := O.c, O.h*O.w
	scale := 1 / math.Sqrt(float64(C))
	P := c.aux[oi][0]
	dp := c.dz[:N*N]
	for i := 0; i < c.n; i++ {
		q := Q.v[i*N*3*C : (i+1)*N*3*C]
		dq := Q.g[i*N*3*C : (i+1)*N*3*C]
		pi := P[i*N*N : (i+1)*N*N]
		do := O.g[i*N*C : (i+1)*N*C]
		c.par.gemm(false, true, N, N, C, do, C, q[2*C:], 3*C, 0, dp, N)
		c.par.gemm(true, false, N, C, N, pi, N, do, C, 0, dq[2*C:], 3*C)
		for r := 0; r < N; r++ {
			pr, dr := pi[r*N:(r+1)*N], dp[r*N:(r+1)*N]
			var s float64
			for j, v := range pr {
				s += float64(v) * float64(dr[j])
			}
			for j, v := range pr {
				dr[j] = T(scale * float64(v) * (float64(dr[j]) - s))
			}
		}
		c.par.gemm(false, false, N, C, N, dp, N, q[C:], 3*C, 0, dq, 3*C)
		c.par.gemm(true, false, N, C, N, dp, N, q, 3*C, 0, dq[C:], 3*C)
	}
}
