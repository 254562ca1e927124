package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// initStream is the second PCG word of the generator that draws the initial
// weights and Fourier frequencies from Config.Seed.
const initStream = 0x6d6f64656c696e69 // "modelini"

// initParams draws the initial parameters and buffers of a defaulted, valid
// config: the Fourier frequencies W_k ~ N(0, FourierScale^2) first, then for
// each layer l the weights and biases ~ U(-1/sqrt(in_l), 1/sqrt(in_l)) (the
// PyTorch nn.Linear default), then the label embedding of a conditional
// network, U(-1/sqrt(in_1), 1/sqrt(in_1)) like the first layer's weights
// (a label acts as one more input of the first layer). The label draws come
// last, so an unconditional network's draws do not depend on them.
func initParams(cfg Config) (params, buffers []float64) {
	return initWidths(cfg, cfg.widths(), cfg.labelParams())
}

// initWidths is initParams for layers of the given widths followed by
// extra values drawn like the first layer's weights.
func initWidths(cfg Config, w []int, extra int) (params, buffers []float64) {
	rng := rand.New(rand.NewPCG(cfg.Seed, initStream))
	if nb := cfg.NumBuffers(); nb > 0 {
		buffers = make([]float64, nb)
		for i := range buffers {
			buffers[i] = cfg.FourierScale * rng.NormFloat64()
		}
	}
	params = make([]float64, layerParams(w)+extra)
	off := 0
	for l := 0; l+1 < len(w); l++ {
		in, out := w[l], w[l+1]
		bound := 1 / math.Sqrt(float64(in))
		for i := off; i < off+in*out+out; i++ {
			params[i] = bound * (2*rng.Float64() - 1)
		}
		off += in*out + out
	}
	bound := 1 / math.Sqrt(float64(w[0]))
	for i := off; i < len(params); i++ {
		params[i] = bound * (2*rng.Float64() - 1)
	}
	return params, buffers
}

// frequencies returns the angular frequency of each sin/cos pair of the time
// embedding: 2 pi W_k (Fourier) or MaxPeriod^(-k/(E/2-1)) (sinusoidal).
func frequencies(cfg Config, buffers []float64) []float64 {
	half := cfg.EmbedDim / 2
	f := make([]float64, half)
	switch cfg.Embedding {
	case EmbeddingFourier:
		for k := range f {
			f[k] = 2 * math.Pi * buffers[k]
		}
	default:
		if half == 1 {
			f[0] = 1
			break
		}
		c := math.Log(SinusoidalMaxPeriod) / float64(half-1)
		for k := range f {
			f[k] = math.Exp(-c * float64(k))
		}
	}
	return f
}

// mlpCore is the network in one precision T. The code counts its L layers
// from 0 (doc.go from 1): parameters are laid out flat as
// [W_0, b_0, ..., W_{L-1}, b_{L-1}], W_l row-major in_l x out_l, and layer l
// computes Z_l = A_{l-1} W_l + b_l on n x in_l row-major activations, with
// A_{-1} = h0 = [x, e(t)]. A conditional network (cfg.Classes = C > 0)
// keeps after the layers the label embedding Y, (C+1) x out_0 row-major, and
// adds row y_i of it to row i of Z_0 (y_i = C for NullLabel). The classifier
// uses the same core with widths ending in its number of classes.
type mlpCore[T float, K kernels[T]] struct {
	cfg     Config
	widths  []int // [D+E, Hidden..., D] (classifier: [D+E, Hidden..., C])
	params  []T
	wOff    []int // offset of W_l in params
	bOff    []int // offset of b_l in params
	yOff    int   // offset of the label embedding Y (conditional only)
	buffers []float64
	freq    []float64
	ws      workspace[T]
	par     workers[T, K]
	// wT[l] is W_l^T (out_l x in_l, row-major) for l >= 1, so the input
	// VJP's dA_{l-1} = dZ_l W_l^T is a product of two untransposed
	// matrices: packing W_l^T for it copies rows, where packing W_l
	// transposed gathers one element at a time (11 % of a likelihood
	// evaluation in the profile docs/bench.md, "Networks", gives with its
	// command). Built on the first input VJP
	// after the weights change (wTOK false); training's backprop does not
	// use it, so a training step does not pay for it.
	wT   [][]T
	wTOK bool
}

// workspace keeps the activations of the last forward pass for backward.
type workspace[T float] struct {
	n, cap int
	h0     []T   // n x (D+E): [x, embedding(t)]
	z      [][]T // pre-activations per layer (z[L-1] is the output)
	s      [][]T // sigmoid(z) per hidden layer
	a      [][]T // SiLU(z) per hidden layer
	d0, d1 []T   // ping-pong gradients, n x max hidden width
	ones   []T   // n ones, for column sums
	rows   []int // row of Y of each input row (conditional only)
	e, dx  []T   // n x D: unit vectors and their VJPs, for the trace
	ready  bool  // activations are from ForwardTrain and valid for Backward
}

func newCore[T float, K kernels[T]](cfg Config, buffers []float64) mlpCore[T, K] {
	return newCoreWidths[T, K](cfg, cfg.widths(), buffers)
}

// newCoreWidths is newCore with layers of the given widths.
func newCoreWidths[T float, K kernels[T]](cfg Config, widths []int, buffers []float64) mlpCore[T, K] {
	c := mlpCore[T, K]{cfg: cfg, widths: widths, buffers: buffers}
	c.freq = frequencies(cfg, buffers)
	L := len(c.widths) - 1
	c.wOff = make([]int, L)
	c.bOff = make([]int, L)
	off := 0
	for l := 0; l < L; l++ {
		c.wOff[l] = off
		off += c.widths[l] * c.widths[l+1]
		c.bOff[l] = off
		off += c.widths[l+1]
	}
	c.yOff = off
	if cfg.Classes > 0 {
		off += (cfg.Classes + 1) * c.widths[1]
	}
	c.params = make([]T, off)
	return c
}

// setParams rounds the float64 parameters p into the core's precision.
func (c *mlpCore[T, K]) setParams(p []float64) {
	for i, v := range p[:len(c.params)] {
		c.params[i] = T(v)
	}
	c.paramsChanged()
}

// paramsChanged marks the transposed weights stale: every owner of a core
// calls it where its parameters may have been written (Params, SyncParams).
func (c *mlpCore[T, K]) paramsChanged() { c.wTOK = false }

// transposed makes wT hold the transposes of the current weights.
func (c *mlpCore[T, K]) transposed() {
	if c.wTOK {
		return
	}
	L := len(c.widths) - 1
	if c.wT == nil {
		c.wT = make([][]T, L)
	}
	for l := 1; l < L; l++ {
		in, out := c.widths[l], c.widths[l+1]
		w := c.params[c.wOff[l] : c.wOff[l]+in*out]
		if len(c.wT[l]) != in*out {
			c.wT[l] = make([]T, in*out)
		}
		wt := c.wT[l]
		for i := 0; i < in; i++ {
			for j, v := range w[i*out : (i+1)*out] {
				wt[j*in+i] = v
			}
		}
	}
	c.wTOK = true
}

// clone returns a deep copy of c with an empty workspace.
func (c *mlpCore[T, K]) clone() mlpCore[T, K] {
	d := *c
	d.cfg.Hidden = append([]int(nil), c.cfg.Hidden...)
	d.widths = append([]int(nil), c.widths...)
	d.params = append([]T(nil), c.params...)
	d.buffers = append([]float64(nil), c.buffers...)
	d.freq = append([]float64(nil), c.freq...)
	d.ws = workspace[T]{}
	d.par = workers[T, K]{}
	d.wT, d.wTOK = nil, false
	return d
}

// reserve makes the workspace hold n rows, reallocating only when it grows.
func (c *mlpCore[T, K]) reserve(n int) {
	ws := &c.ws
	ws.n = n
	if n <= ws.cap {
		return
	}
	L := len(c.widths) - 1
	ws.cap = n
	ws.h0 = make([]T, n*c.widths[0])
	ws.z = make([][]T, L)
	ws.s = make([][]T, L)
	ws.a = make([][]T, L)
	maxHidden := 0
	for l := 0; l < L; l++ {
		out := c.widths[l+1]
		ws.z[l] = make([]T, n*out)
		if l < L-1 {
			ws.s[l] = make([]T, n*out)
			ws.a[l] = make([]T, n*out)
			maxHidden = max(maxHidden, out)
		}
	}
	ws.d0 = make([]T, n*maxHidden)
	ws.d1 = make([]T, n*maxHidden)
	ws.ones = make([]T, n)
	for i := range ws.ones {
		ws.ones[i] = 1
	}
	ws.rows = make([]int, n)
}

// NullLabel is the label of the unconditional output of a conditional
// network (score.NullLabel): it selects the last row of the embedding.
const NullLabel = -1

// checkLabels panics unless labels has n entries in 0..classes-1 or
// NullLabel (nil labels stand for n null labels).
func checkLabels(op string, labels []int, n, classes int) {
	if labels == nil {
		return
	}
	if len(labels) != n {
		panic(fmt.Sprintf("model: %s: len(labels) = %d, want len(t) = %d", op, len(labels), n))
	}
	for i, y := range labels {
		if y != NullLabel && (y < 0 || y >= classes) {
			panic(fmt.Sprintf("model: %s: labels[%d] = %d, want 0..%d or NullLabel (-1)", op, i, y, classes-1))
		}
	}
}

// checkBatch panics unless len(t) > 0 and every slice holds len(t) rows of D.
func checkBatch(op string, d int, t []float64, names string, s ...[]float64) int {
	n := len(t)
	if n == 0 {
		panic("model: " + op + ": empty batch (len(t) = 0)")
	}
	for i, v := range s {
		if len(v) != n*d {
			panic(fmt.Sprintf("model: %s: len(%c) = %d, want len(t)*Dim = %d*%d", op, names[i], len(v), n, d))
		}
	}
	return n
}

// forward runs the network on n rows and leaves the output in c.ws.z[L-1].
// labels (checked, or nil for all NullLabel) matter only to a conditional
// network.
func (c *mlpCore[T, K]) forward(x, t []float64, n int, labels []int) {
	var k K
	c.reserve(n)
	ws := &c.ws
	d, in0 := c.cfg.Dim, c.widths[0]
	half := len(c.freq)
	ts := c.cfg.TimeScale
	for i := 0; i < n; i++ {
		row := ws.h0[i*in0 : (i+1)*in0]
		xr := x[i*d : (i+1)*d]
		for j, v := range xr {
			row[j] = T(v)
		}
		emb := row[d:]
		sinPart, cosPart := emb[:half], emb[half:2*half]
		tau := ts * t[i]
		for j, f := range c.freq {
			s, co := math.Sincos(f * tau)
			sinPart[j] = T(s)
			cosPart[j] = T(co)
		}
	}
	L := len(c.widths) - 1
	prev := ws.h0[:n*in0]
	for l := 0; l < L; l++ {
		in, out := c.widths[l], c.widths[l+1]
		w := c.params[c.wOff[l] : c.wOff[l]+in*out]
		b := c.params[c.bOff[l] : c.bOff[l]+out]
		z := ws.z[l][:n*out]
		c.par.gemm(false, false, n, out, in, prev, in, w, out, 0, z, out)
		if l == 0 && c.cfg.Classes > 0 {
			c.addLabels(z, labels, n, out)
		}
		if l == L-1 {
			for i := 0; i < n; i++ {
				zr := z[i*out : (i+1)*out]
				for j, bj := range b {
					zr[j] += bj
				}
			}
			break
		}
		a := ws.a[l][:n*out]
		k.biasSiLU(z, ws.s[l][:n*out], a, b, n, out)
		prev = a
	}
}

// addLabels adds to row i of z (n x w) the row of the label embedding that
// labels[i] selects, and remembers the rows for backprop.
func (c *mlpCore[T, K]) addLabels(z []T, labels []int, n, w int) {
	rows := c.ws.rows[:n]
	for i := range rows {
		y := c.cfg.Classes // NullLabel
		if labels != nil && labels[i] != NullLabel {
			y = labels[i]
		}
		rows[i] = y
		emb := c.params[c.yOff+y*w : c.yOff+(y+1)*w]
		zr := z[i*w : (i+1)*w]
		for j, e := range emb {
			zr[j] += e
		}
	}
}

// output returns the n x out result of the last forward (out = D, or C for
// a classifier).
func (c *mlpCore[T, K]) output() []T {
	L := len(c.widths) - 1
	return c.ws.z[L-1][:c.ws.n*c.widths[L]]
}

// backprop propagates dOut (n x D, the gradient of a loss with respect to the
// output of the last forward) back through the network. If g is not nil the
// parameter gradients are written to it (beta = 0) or added to it (beta = 1).
// If dx is not nil it receives dOut^T d out/d x, n x D. Without g (an
// input VJP) the products use the transposed weights wT.
func (c *mlpCore[T, K]) backprop(dOut []T, g []T, beta T, dx []T) {
	var k K
	if g == nil {
		c.transposed()
	}
	ws := &c.ws
	n := ws.n
	L := len(c.widths) - 1
	dz := dOut
	for l := L - 1; l >= 0; l-- {
		in, out := c.widths[l], c.widths[l+1]
		var prev []T
		if l == 0 {
			prev = ws.h0[:n*in]
		} else {
			prev = ws.a[l-1][:n*in]
		}
		if g != nil {
			// dW_l = A_{l-1}^T dZ_l, db_l = column sums of dZ_l.
			c.par.gemm(true, false, in, out, n, prev, in, dz, out, beta, g[c.wOff[l]:c.wOff[l]+in*out], out)
			k.gemv(true, n, out, dz, out, ws.ones[:n], beta, g[c.bOff[l]:c.bOff[l]+out])
			if l == 0 && c.cfg.Classes > 0 {
				// dY_y = sum of the rows of dZ_0 whose label selected row y.
				gy := g[c.yOff:]
				if beta == 0 {
					clear(gy)
				}
				for i, y := range ws.rows[:n] {
					dst := gy[y*out : (y+1)*out]
					for j, v := range dz[i*out : (i+1)*out] {
						dst[j] += v
					}
				}
			}
		}
		w := c.params[c.wOff[l] : c.wOff[l]+in*out]
		if l > 0 {
			// dA_{l-1} = dZ_l W_l^T; dZ_{l-1} = dA_{l-1} * SiLU'(Z_{l-1}).
			da := ws.d0[:n*in]
			if l%2 == 1 {
				da = ws.d1[:n*in]
			}
			if g == nil {
				c.par.gemm(false, false, n, in, out, dz, out, c.wT[l], in, 0, da, in)
			} else {
				c.par.gemm(false, true, n, in, out, dz, out, w, out, 0, da, in)
			}
			k.siluGrad(da, ws.z[l-1][:n*in], ws.s[l-1][:n*in])
			dz = da
		} else if dx != nil {
			// Only the first D rows of W_0 multiply x; the rest multiply the embedding.
			d := c.cfg.Dim
			c.par.gemm(false, true, n, d, out, dz, out, w, out, 0, dx, d)
		}
	}
}

// traceInto writes into tr the trace of d out/d x of each row of the last
// forward: the sum over j of element j of e_j^T d out/d x, one input backprop
// per unit vector e_j, accumulated in float64 in the order j = 0..D-1.
func (c *mlpCore[T, K]) traceInto(tr []float64) {
	ws := &c.ws
	n, d := ws.n, c.cfg.Dim
	if len(ws.e) < n*d { // only the exact trace needs them: allocated on its first call
		ws.e, ws.dx = make([]T, n*d), make([]T, n*d)
	}
	e, dx := ws.e[:n*d], ws.dx[:n*d]
	clear(e)
	clear(tr[:n])
	for j := 0; j < d; j++ {
		for i := 0; i < n; i++ {
			e[i*d+j] = 1
		}
		c.backprop(e, nil, 0, dx)
		for i := 0; i < n; i++ {
			tr[i] += float64(dx[i*d+j])
			e[i*d+j] = 0
		}
	}
}
