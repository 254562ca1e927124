package model

import (
	"math"
	"math/rand/v2"
)

// unetOpKind names the operations a U-Net is built from. Tensors are
// batches of images in NHWC order (row r = pixel (i, y, x) of image i, C
// channels per row), so a 1x1 convolution is one matrix product and a 3x3
// one is a product with the im2col matrix.
type unetOpKind int

const (
	opConv    unetOpKind = iota // out = conv_k(in) + b, k = 1 or 3, stride 1, zero padding k/2
	opNorm                      // out = GroupNorm(in) (gamma, beta), then SiLU when silu
	opSiLU                      // out = SiLU(in)
	opAddChan                   // in += in2 broadcast over pixels (in2 is n x C): the time embedding
	opDropout                   // in *= mask/(1-p), training only
	opAddTo                     // in += in2 (the residual connection)
	opPool                      // out = 2x2 average pooling of in
	opUp                        // out = 2x nearest-neighbour up-sampling of in
	opConcat                    // out = [in, in2] along channels
	opAttn                      // out = softmax(Q K^T / sqrt(C)) V per image, in = [Q K V] (3C channels)
)

// unetOp is one operation of the plan: tensor ids, and the offsets of its
// parameters (convolution weight and bias, GroupNorm gamma and beta).
type unetOp struct {
	kind         unetOpKind
	in, in2, out int // in-place operations have out == in
	k            int // convolution size
	silu         bool
	wOff, bOff   int
}

// tshape is the per-image shape of a tensor: C channels on H x W pixels.
type tshape struct{ c, h, w int }

// paramInit is how a block of parameters starts: U(-bound, bound) or the
// constant value (GroupNorm: gamma 1, beta 0).
type paramInit struct {
	off, n  int
	uniform bool
	value   float64 // bound, or the constant
}

// unetGraph is the architecture as a list of operations on numbered
// tensors, the same for both precisions. plan builds it from a defaulted
// config; the cores run it forward and in reverse.
type unetGraph struct {
	cfg          UNetConfig
	shapes       []tshape
	ops          []unetOp
	inits        []paramInit
	nParams      int
	normChannels []int
	x, te, out   int // input image, time features, output image
	stemb        int // SiLU of the time-embedding MLP, n x TembDim
	// A plan without a time input (an autoencoder's half, convae.go) has
	// te = stemb = -1: its residual blocks have no time term, and the cores
	// compute no time features.
}

func (g *unetGraph) tensor(c, h, w int) int {
	g.shapes = append(g.shapes, tshape{c, h, w})
	return len(g.shapes) - 1
}

func (g *unetGraph) param(n int, uniform bool, value float64) int {
	off := g.nParams
	g.inits = append(g.inits, paramInit{off: off, n: n, uniform: uniform, value: value})
	g.nParams += n
	return off
}

// conv adds a k x k convolution to cout channels; weights and bias start
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = k*k*C_in (PyTorch's default).
// The weight is stored (k*k*C_in) x C_out row-major, row (ky*k + kx)*C_in + ci.
func (g *unetGraph) conv(x, cout, k int) int {
	s := g.shapes[x]
	y := g.tensor(cout, s.h, s.w)
	fan := k * k * s.c
	bound := 1 / math.Sqrt(float64(fan))
	w := g.param(fan*cout, true, bound)
	b := g.param(cout, true, bound)
	g.ops = append(g.ops, unetOp{kind: opConv, in: x, out: y, k: k, wOff: w, bOff: b})
	return y
}

func (g *unetGraph) norm(x int, silu bool) int {
	s := g.shapes[x]
	g.normChannels = append(g.normChannels, s.c)
	y := g.tensor(s.c, s.h, s.w)
	gm := g.param(s.c, false, 1)
	bt := g.param(s.c, false, 0)
	g.ops = append(g.ops, unetOp{kind: opNorm, in: x, out: y, silu: silu, wOff: gm, bOff: bt})
	return y
}

func (g *unetGraph) simple(kind unetOpKind, in, in2 int, out tshape) int {
	y := in
	if out.c > 0 {
		y = g.tensor(out.c, out.h, out.w)
	}
	g.ops = append(g.ops, unetOp{kind: kind, in: in, in2: in2, out: y})
	return y
}

// resblock is GN-SiLU-conv3, + Dense(SiLU(temb)), GN-SiLU-dropout-conv3,
// plus the input (through a 1x1 convolution when the channels change). In a
// plan without a time input (stemb < 0) the Dense(SiLU(temb)) term and its
// parameters are left out: GN-SiLU-conv3, GN-SiLU-dropout-conv3, plus the
// input, the block of Rombach et al.'s autoencoder.
func (g *unetGraph) resblock(x, cout int) int {
	a1 := g.norm(x, true)
	h := g.conv(a1, cout, 3)
	if g.stemb >= 0 {
		e := g.conv(g.stemb, cout, 1)
		g.simple(opAddChan, h, e, tshape{})
	}
	a2 := g.norm(h, true)
	if g.cfg.Dropout > 0 {
		g.simple(opDropout, a2, -1, tshape{})
	}
	h2 := g.conv(a2, cout, 3)
	skip := x
	if g.shapes[x].c != cout {
		skip = g.conv(x, cout, 1)
	}
	g.simple(opAddTo, h2, skip, tshape{})
	return h2
}

// attention is x + proj(softmax(Q K^T/sqrt(C)) V) with [Q K V] a 1x1
// convolution of GroupNorm(x): single-head self-attention over the pixels.
func (g *unetGraph) attention(x int) int {
	s := g.shapes[x]
	qkv := g.conv(g.norm(x, false), 3*s.c, 1)
	o := g.simple(opAttn, qkv, -1, s)
	y := g.conv(o, s.c, 1)
	g.simple(opAddTo, y, x, tshape{})
	return y
}

// plan lays out the network of a defaulted config (see doc.go, "U-Net").
// It only computes shapes and offsets, so it also serves to validate and
// to count parameters.
func (g *unetGraph) plan(cfg UNetConfig) {
	*g = unetGraph{cfg: cfg}
	L := len(cfg.Mult)
	ch := func(l int) int { return cfg.Base * cfg.Mult[l] }
	g.x = g.tensor(cfg.Channels, cfg.Height, cfg.Width)
	g.te = g.tensor(cfg.EmbedDim, 1, 1)
	t1 := g.simple(opSiLU, g.conv(g.te, cfg.TembDim, 1), -1, tshape{cfg.TembDim, 1, 1})
	g.stemb = g.simple(opSiLU, g.conv(t1, cfg.TembDim, 1), -1, tshape{cfg.TembDim, 1, 1})

	h := g.conv(g.x, cfg.Base, 3)
	skips := make([]int, L)
	for l := 0; l < L; l++ {
		for r := 0; r < cfg.NumRes; r++ {
			h = g.resblock(h, ch(l))
		}
		skips[l] = h
		if l < L-1 {
			s := g.shapes[h]
			h = g.simple(opPool, h, -1, tshape{s.c, s.h / 2, s.w / 2})
		}
	}
	h = g.resblock(h, ch(L-1))
	if cfg.Attention == AttentionMid {
		h = g.attention(h)
	}
	h = g.resblock(h, ch(L-1))
	for l := L - 1; l >= 0; l-- {
		s, k := g.shapes[h], g.shapes[skips[l]]
		h = g.simple(opConcat, h, skips[l], tshape{s.c + k.c, s.h, s.w})
		for r := 0; r < cfg.NumRes; r++ {
			h = g.resblock(h, ch(l))
		}
		if l > 0 {
			s := g.shapes[h]
			h = g.simple(opUp, h, -1, tshape{s.c, 2 * s.h, 2 * s.w})
			h = g.conv(h, ch(l-1), 3)
		}
	}
	g.out = g.conv(g.norm(h, true), cfg.Channels, 3)
}

// drawParams returns the initial parameters of the plan, drawn from rng in
// layout order: convolutions U(-1/sqrt(fan_in), 1/sqrt(fan_in)), GroupNorm
// gamma = 1, beta = 0.
func (g *unetGraph) drawParams(rng *rand.Rand) []float64 {
	params := make([]float64, g.nParams)
	for _, b := range g.inits {
		p := params[b.off : b.off+b.n]
		for i := range p {
			if b.uniform {
				p[i] = b.value * (2*rng.Float64() - 1)
			} else {
				p[i] = b.value
			}
		}
	}
	return params
}
