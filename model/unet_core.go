package model

import (
	"math"
	"math/rand/v2"
)

// dropStream is the second PCG word of the dropout streams.
const dropStream = 0x64726f706f757473 // "dropouts"

// dropKey is the first PCG word of the dropout stream of one image: an
// FNV-1a hash of the seed and the bits of the row's time and pixels. The
// masks are thus a function of the seed and the row alone: they do not
// depend on the batch the row is in, and a resumed run (whose network is
// rebuilt from a checkpoint) draws the masks the uninterrupted run drew.
func dropKey(seed uint64, t float64, x []float64) uint64 {
	const prime = 0x100000001b3
	h := uint64(0xcbf29ce484222325)
	mix := func(v uint64) {
		for k := 0; k < 8; k++ {
			h ^= v & 0xff
			h *= prime
			v >>= 8
		}
	}
	mix(seed)
	mix(math.Float64bits(t))
	for _, v := range x {
		mix(math.Float64bits(v))
	}
	return h
}

// colBudget bounds the im2col scratch (elements): a 3x3 convolution runs
// over chunks of pixels whose im2col rows fit in it. Every output element
// is one gemm dot product whatever the chunk, and the chunks are fixed by
// the shapes alone, so results depend neither on it nor on the workers.
const colBudget = 1 << 18

// unetTensor is one activation of the plan for the current batch: values v
// and gradient g, n*C*H*W each in NHWC order. gset records whether the
// backward pass has written g yet (the first writer sets, the others add);
// need is false where no gradient is wanted (the time features; the input
// image outside InputVJP).
type unetTensor[T float] struct {
	tshape
	v, g []T
	gset bool
	need bool
}

func (t *unetTensor[T]) size() int { return t.c * t.h * t.w }

// unetCore runs the plan g in precision T with the kernels K (those of the
// MLP: internal/gemm products, AVX2 SiLU).
type unetCore[T float, K kernels[T]] struct {
	cfg     UNetConfig
	g       *unetGraph // shared, read-only
	params  []T
	buffers []float64
	freq    []float64
	t       []unetTensor[T]
	aux     [][2][]T    // per op: GroupNorm sigmoid (aux[1]); dropout mask; attention probabilities
	stats   [][]float64 // per GroupNorm op: mean and 1/std per (image, group)
	n, cap  int
	gcap    int // images the gradient buffers hold (reserveGrads)
	cols    []T // im2col rows of a chunk
	zs, dz  []T // element-wise scratch, the largest tensor
	pad     []T // zero-padded input of a direct convolution
	pad2    []T // zero-padded output gradient (convolution backward)
	tn      *tnJob
	wpan    []T // weights of a direct convolution in 32-column panels
	wflip   []T // flipped weights for the input gradient of a 3x3 convolution
	direct  *directJob
	gs      []gnScratch[T] // GroupNorm scratch per worker
	gsum    []float64      // GroupNorm backward: S1 and S2 per image
	img     *imgJob[T, K]
	acc     []float64
	par     workers[T, K]
	rowKey  []uint64   // per image: dropKey of this forward pass
	rowRNG  []rand.PCG // per image: its dropout stream
	keepKey bool       // tests: keep the rows' keys of the last forward
	grad    []T        // where backprop adds parameter gradients; nil: none
	train   bool       // the last forward drew dropout masks
	ready   bool       // the activations are from ForwardTrain, valid for Backward
}

func newUNetCore[T float, K kernels[T]](cfg UNetConfig, buffers []float64) unetCore[T, K] {
	g := new(unetGraph)
	g.plan(cfg)
	return newUNetCoreFrom[T, K](g, buffers)
}

// newUNetCoreFrom runs the plan g (whose cfg gives the groups, dropout and
// time embedding) with zero parameters.
func newUNetCoreFrom[T float, K kernels[T]](g *unetGraph, buffers []float64) unetCore[T, K] {
	cfg := g.cfg
	c := unetCore[T, K]{cfg: cfg, g: g, buffers: buffers}
	if g.te >= 0 {
		c.freq = frequencies(cfg.embedConfig(), buffers)
	}
	c.params = make([]T, g.nParams)
	c.t = make([]unetTensor[T], len(g.shapes))
	for i, s := range g.shapes {
		c.t[i] = unetTensor[T]{tshape: s, need: i != g.te}
	}
	c.aux = make([][2][]T, len(g.ops))
	c.stats = make([][]float64, len(g.ops))
	c.direct = new(directJob)
	c.tn = new(tnJob)
	c.img = new(imgJob[T, K])
	return c
}

// initUNet draws the initial parameters and buffers of a valid, defaulted
// config: the Fourier frequencies W_k ~ N(0, FourierScale^2) first, then the
// parameter blocks in layout order (convolutions U(-1/sqrt(fan_in),
// 1/sqrt(fan_in)), GroupNorm gamma = 1, beta = 0).
func initUNet(cfg UNetConfig) (params, buffers []float64) {
	rng := rand.New(rand.NewPCG(cfg.Seed, initStream))
	if nb := cfg.NumBuffers(); nb > 0 {
		buffers = make([]float64, nb)
		for i := range buffers {
			buffers[i] = cfg.FourierScale * rng.NormFloat64()
		}
	}
	var g unetGraph
	g.plan(cfg)
	return g.drawParams(rng), buffers
}

func (c *unetCore[T, K]) setParams(p []float64) {
	for i, v := range p[:len(c.params)] {
		c.params[i] = T(v)
	}
}

// clone returns a deep copy with an empty workspace.
func (c *unetCore[T, K]) clone() unetCore[T, K] {
	d := newUNetCoreFrom[T, K](c.g, append([]float64(nil), c.buffers...))
	copy(d.params, c.params)
	return d
}

// reserve makes the workspace hold n images, reallocating only when it grows.
func (c *unetCore[T, K]) reserve(n int) {
	c.n = n
	if n <= c.cap {
		return
	}
	c.cap = n
	maxSize, maxC := 0, 0
	for i := range c.t {
		t := &c.t[i]
		t.v = make([]T, n*t.size())
		t.g = nil // reserveGrads
		maxSize, maxC = max(maxSize, t.size()), max(maxC, t.c)
	}
	c.acc = make([]float64, 2*maxC)
	c.gs = c.gs[:0]
	for range max(1, c.par.count()) {
		c.gs = append(c.gs, newGNScratch[T](maxC))
	}
	c.gsum = make([]float64, 2*n*maxC)
	c.zs = make([]T, n*maxSize)
	c.dz = make([]T, n*maxSize)
	c.cols = nil
	for i, o := range c.g.ops {
		in := &c.t[o.in]
		switch o.kind {
		case opNorm:
			if o.silu {
				c.aux[i][1] = make([]T, n*in.size())
			}
			c.stats[i] = make([]float64, 2*n*c.cfg.Groups)
		case opSiLU:
			c.aux[i][0] = make([]T, n*in.size())
		case opDropout:
			c.aux[i][0] = make([]T, n*in.size())
		case opAttn:
			np := in.h * in.w
			c.aux[i][0] = make([]T, n*np*np)
			c.zs = make([]T, max(len(c.zs), np*np))
			c.dz = make([]T, max(len(c.dz), np*np))
		case opConv:
			out := &c.t[o.out]
			if wide := max(in.c, out.c); o.k == 1 {
				if np := (wide + 31) / 32 * 32 * wide; len(c.wpan) < np {
					c.wpan = make([]T, np)
				}
				if len(c.wflip) < wide*wide {
					c.wflip = make([]T, wide*wide)
				}
			}
			if o.k == 3 {
				wide := max(in.c, out.c)
				kk := 9 * wide
				for _, k := range []int{9 * in.c, 9 * out.c} {
					rows := min(n*in.h*in.w, max(1, colBudget/k))
					if len(c.cols) < rows*k {
						c.cols = make([]T, rows*k)
					}
				}
				if np := padLen(n, in.h, in.w, wide); len(c.pad) < np {
					c.pad = make([]T, np)
					c.pad2 = make([]T, np)
				}
				if np := (wide + 31) / 32 * 32 * kk; len(c.wpan) < np {
					c.wpan = make([]T, np)
				}
				if len(c.wflip) < kk*wide {
					c.wflip = make([]T, kk*wide)
				}
			}
		}
	}
}

// reserveGrads makes the tensors' gradient buffers hold the current n
// images; a network that only runs Forward never allocates them.
func (c *unetCore[T, K]) reserveGrads() {
	if c.gcap >= c.n && c.gcap == c.cap {
		return
	}
	for i := range c.t {
		t := &c.t[i]
		t.g = make([]T, c.cap*t.size())
	}
	c.gcap = c.cap
}

// forward runs the network on the n images of x (CHW rows) and times t (nil
// for a plan without a time input and without dropout).
func (c *unetCore[T, K]) forward(x, t []float64, n int, train bool) {
	c.reserve(n)
	c.train = train && c.cfg.Dropout > 0
	g := c.g
	if c.train {
		d := c.cfg.Dim()
		if len(c.rowRNG) < n {
			c.rowRNG = make([]rand.PCG, n)
			c.rowKey = make([]uint64, n)
		}
		for i := 0; i < n; i++ {
			if !c.keepKey {
				c.rowKey[i] = dropKey(c.cfg.Seed, t[i], x[i*d:(i+1)*d])
			}
			c.rowRNG[i].Seed(c.rowKey[i], dropStream)
		}
	}
	X := &c.t[g.x]
	hw, ch := X.h*X.w, X.c
	d := hw * ch
	for i := 0; i < n; i++ {
		xi, vi := x[i*d:(i+1)*d], X.v[i*d:(i+1)*d]
		for k := 0; k < ch; k++ {
			for p, v := range xi[k*hw : (k+1)*hw] {
				vi[p*ch+k] = T(v)
			}
		}
	}
	if g.te >= 0 {
		te := &c.t[g.te]
		half := len(c.freq)
		for i := 0; i < n; i++ {
			row := te.v[i*te.c : (i+1)*te.c]
			tau := c.cfg.TimeScale * t[i]
			for j, f := range c.freq {
				s, co := math.Sincos(f * tau)
				row[j], row[half+j] = T(s), T(co)
			}
		}
	}
	for i := range g.ops {
		o := &g.ops[i]
		switch o.kind {
		case opConv:
			c.convForward(o)
		case opNorm:
			c.normForward(o, i)
		case opSiLU:
			c.siluForward(o, i)
		case opAddChan:
			c.addChanForward(o)
		case opDropout:
			c.dropoutForward(o, i)
		case opAddTo:
			a, b := c.t[o.in].v[:n*c.t[o.in].size()], c.t[o.in2].v
			for j := range a {
				a[j] += b[j]
			}
		case opPool:
			c.poolForward(o)
		case opUp:
			c.upForward(o)
		case opConcat:
			c.concatForward(o)
		case opAttn:
			c.attnForward(o, i)
		}
	}
}

// unetChunk is the most images Forward and InputVJP run at once, which
// bounds the workspace (about 3 MB per image of 28x28 in float32 for the
// default architecture's activations, as much again for their gradients).
// Rows are independent there, so the results do not depend on it.
const unetChunk = 32

// forwardChunks is Forward: the n rows in chunks of unetChunk (rows are
// independent, so the results do not depend on the chunks). The rows of x
// and dst have the sizes of the plan's input and output (equal for a
// U-Net, when dst may be x; an autoencoder half's differ); t is nil for a
// plan without a time input.
func (c *unetCore[T, K]) forwardChunks(dst, x, t []float64, n int) {
	di, do := c.t[c.g.x].size(), c.t[c.g.out].size()
	for i0 := 0; i0 < n; i0 += unetChunk {
		i1 := min(n, i0+unetChunk)
		var ti []float64
		if t != nil {
			ti = t[i0:i1]
		}
		c.forward(x[i0*di:i1*di], ti, i1-i0, false)
		c.outputTo(dst[i0*do : i1*do])
	}
	c.ready = false
}

// inputVJPChunks is InputVJP: the n rows in chunks of unetChunk.
func (c *unetCore[T, K]) inputVJPChunks(dst, v, x, t []float64, n int) {
	d := c.cfg.Dim()
	for i0 := 0; i0 < n; i0 += unetChunk {
		i1 := min(n, i0+unetChunk)
		c.forward(x[i0*d:i1*d], t[i0:i1], i1-i0, false)
		c.backprop(v[i0*d:i1*d], nil, dst[i0*d:i1*d])
	}
	c.ready = false
}

// forwardVJPChunks is ForwardVJP: the n rows in chunks of unetChunk.
func (c *unetCore[T, K]) forwardVJPChunks(out, vjp, v, x, t []float64, n int) {
	d := c.cfg.Dim()
	for i0 := 0; i0 < n; i0 += unetChunk {
		i1 := min(n, i0+unetChunk)
		c.forward(x[i0*d:i1*d], t[i0:i1], i1-i0, false)
		c.outputTo(out[i0*d : i1*d])
		c.backprop(v[i0*d:i1*d], nil, vjp[i0*d:i1*d])
	}
	c.ready = false
}

// outputTo writes the output image of the last forward to dst (CHW rows).
func (c *unetCore[T, K]) outputTo(dst []float64) {
	Y := &c.t[c.g.out]
	hw, ch := Y.h*Y.w, Y.c
	d := hw * ch
	for i := 0; i < c.n; i++ {
		di, yi := dst[i*d:(i+1)*d], Y.v[i*d:(i+1)*d]
		for k := 0; k < ch; k++ {
			o := di[k*hw : (k+1)*hw]
			for p := range o {
				o[p] = float64(yi[p*ch+k])
			}
		}
	}
}

// backprop propagates dOut (n x Dim, CHW rows, float64) back through the
// last forward. Parameter gradients are added to grad unless it is nil; the
// input gradient v^T df/dx is written to dx (CHW rows) unless it is nil.
func (c *unetCore[T, K]) backprop(dOut []float64, grad []T, dx []float64) {
	g := c.g
	n := c.n
	c.reserveGrads()
	for i := range c.t {
		c.t[i].gset = false
	}
	X := &c.t[g.x]
	X.need = dx != nil
	c.grad = grad
	Y := &c.t[g.out]
	hw, ch := Y.h*Y.w, Y.c
	d := hw * ch
	for i := 0; i < n; i++ {
		di, yi := dOut[i*d:(i+1)*d], Y.g[i*d:(i+1)*d]
		for k := 0; k < ch; k++ {
			for p, v := range di[k*hw : (k+1)*hw] {
				yi[p*ch+k] = T(v)
			}
		}
	}
	Y.gset = true
	for i := len(g.ops) - 1; i >= 0; i-- {
		o := &g.ops[i]
		switch o.kind {
		case opConv:
			c.convBackward(o)
		case opNorm:
			c.normBackward(o, i)
		case opSiLU:
			c.siluBackward(o, i)
		case opAddChan:
			c.addChanBackward(o)
		case opDropout:
			if c.train {
				a, m := c.t[o.in].g, c.aux[i][0]
				for j := range m[:n*c.t[o.in].size()] {
					a[j] *= m[j]
				}
			}
		case opAddTo:
			dst, src := &c.t[o.in], &c.t[o.in2]
			if src.need {
				c.setOrAdd(src, dst.g[:n*dst.size()])
			}
		case opPool:
			c.poolBackward(o)
		case opUp:
			c.upBackward(o)
		case opConcat:
			c.concatBackward(o)
		case opAttn:
			c.attnBackward(o, i)
		}
	}
	c.grad = nil
	if dx != nil {
		hw, ch := X.h*X.w, X.c
		d := hw * ch
		for i := 0; i < n; i++ {
			di, gi := dx[i*d:(i+1)*d], X.g[i*d:(i+1)*d]
			for k := 0; k < ch; k++ {
				o := di[k*hw : (k+1)*hw]
				for p := range o {
					o[p] = float64(gi[p*ch+k])
				}
			}
		}
		X.need = false
	}
}

// beta returns the gemm beta that writes (0) or adds (1) a gradient into
// t.g, and marks it written.
func (c *unetCore[T, K]) beta(t *unetTensor[T]) T {
	if t.gset {
		return 1
	}
	t.gset = true
	return 0
}

// setOrAdd writes src into t.g, or adds it when t.g is already written.
func (c *unetCore[T, K]) setOrAdd(t *unetTensor[T], src []T) {
	dst := t.g[:len(src)]
	if !t.gset {
		copy(dst, src)
		t.gset = true
		return
	}
	for j, v := range src {
		dst[j] += v
	}
}
