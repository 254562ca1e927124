package model

import (
	"fmt"
	"math/rand/v2"
)

// Defaults of a convolutional autoencoder's zero fields (Arch "conv"): on
// Fashion-MNIST's 1x28x28 images, 32 channels at 28x28, 64 at 14x14 and 64
// at 7x7, one residual block per resolution in each half, and a latent of
// 4 channels at 7x7 (f = 4, 196 values): Rombach et al. 2022's
// KL-regularised f = 4 first stage, made small.
const (
	DefaultConvAELatentChannels = 4
	DefaultConvAEBase           = 32
	DefaultConvAENumRes         = 1
	DefaultConvAEGroups         = 8
)

// DefaultConvAEMult is the default channel multiplier per resolution of a
// convolutional autoencoder: three resolutions, so f = 4.
var DefaultConvAEMult = []int{1, 2, 2}

// convDefaults fills the zero conv fields of a conv config, Dim from Shape
// when it is 0, and Latent when the shape is divisible by f.
func (c AutoencoderConfig) convDefaults() AutoencoderConfig {
	if c.LatentChannels == 0 {
		c.LatentChannels = DefaultConvAELatentChannels
	}
	if c.Base == 0 {
		c.Base = DefaultConvAEBase
	}
	if len(c.Mult) == 0 {
		c.Mult = append(c.Mult, DefaultConvAEMult...)
	}
	if c.NumRes == 0 {
		c.NumRes = DefaultConvAENumRes
	}
	if c.Groups == 0 {
		c.Groups = DefaultConvAEGroups
	}
	if c.Precision == "" {
		c.Precision = Float64
	}
	if len(c.Shape) == 3 && len(c.Mult) <= 16 {
		if c.Dim == 0 {
			c.Dim = c.Shape[0] * c.Shape[1] * c.Shape[2]
		}
		if f := c.downFactor(); c.Latent == 0 && c.Shape[1]%f == 0 && c.Shape[2]%f == 0 {
			c.Latent = c.LatentChannels * (c.Shape[1] / f) * (c.Shape[2] / f)
		}
	}
	return c
}

// downFactor returns f = 2^(len(Mult)-1), the side of the pixel block one
// latent pixel stands for.
func (c AutoencoderConfig) downFactor() int { return 1 << (len(c.Mult) - 1) }

// validateConv checks the conv fields of a defaulted conv config.
func (c AutoencoderConfig) validateConv() error {
	if len(c.Shape) != 3 {
		return fmt.Errorf("model: autoencoder config: Arch %q needs the data's image shape (C, H, W) in Shape, got %v", ArchConv, c.Shape)
	}
	for _, s := range c.Shape {
		if s < 1 {
			return fmt.Errorf("model: autoencoder config: Shape %v has a size < 1", c.Shape)
		}
	}
	if len(c.Hidden) != 0 {
		return fmt.Errorf("model: autoencoder config: Hidden %v sizes the MLP autoencoder; a convolutional one is sized by Base, Mult and NumRes", c.Hidden)
	}
	if c.LatentChannels < 1 || c.Base < 1 || c.NumRes < 1 || c.Groups < 1 {
		return fmt.Errorf("model: autoencoder config: LatentChannels = %d, Base = %d, NumRes = %d, Groups = %d; want each >= 1", c.LatentChannels, c.Base, c.NumRes, c.Groups)
	}
	for i, m := range c.Mult {
		if m < 1 {
			return fmt.Errorf("model: autoencoder config: Mult[%d] = %d, want >= 1", i, m)
		}
	}
	h, w := c.Shape[1], c.Shape[2]
	if f := 1 << min(len(c.Mult)-1, 30); len(c.Mult) > 16 || h%f != 0 || w%f != 0 {
		return fmt.Errorf("model: autoencoder config: the %d resolutions of Mult %s halve the image %d times, but %dx%d is not divisible by %d; use images whose sides are divisible by %d, or fewer multipliers",
			len(c.Mult), intsString(c.Mult), len(c.Mult)-1, h, w, f, f)
	}
	if c.Precision != Float64 && c.Precision != Float32 {
		return fmt.Errorf("model: autoencoder config: Precision = %q, want %q or %q", c.Precision, Float64, Float32)
	}
	f := c.downFactor()
	if want := c.LatentChannels * (h / f) * (w / f); c.Latent != want {
		return fmt.Errorf("model: autoencoder config: Latent = %d, but %d latent channels at %dx%d make %d", c.Latent, c.LatentChannels, h/f, w/f, want)
	}
	for _, g := range []*unetGraph{convEncoderGraph(c), convDecoderGraph(c)} {
		for _, ch := range g.normChannels {
			if ch%c.Groups != 0 {
				return fmt.Errorf("model: autoencoder config: Groups = %d does not divide %d, the channels of a GroupNorm of Base %d, Mult %s; choose Groups dividing Base times each multiplier",
					c.Groups, ch, c.Base, intsString(c.Mult))
			}
		}
	}
	return nil
}

// convHalf returns the U-Net config that carries one half's settings to
// its core: the input image, the GroupNorm groups, the precision and the
// seed (no dropout, no time input).
func (c AutoencoderConfig) convHalf(ch, h, w int, seed uint64) UNetConfig {
	return UNetConfig{Channels: ch, Height: h, Width: w, Base: c.Base, Mult: c.Mult, NumRes: c.NumRes,
		Groups: c.Groups, Attention: AttentionNone, Precision: c.Precision, Seed: seed}
}

// newAEGraph returns an empty plan without a time input.
func newAEGraph(cfg UNetConfig) *unetGraph {
	return &unetGraph{cfg: cfg, te: -1, stemb: -1}
}

// convEncoderGraph plans the encoder of a defaulted conv config: conv3 to
// ch(0); at each resolution l, NumRes residual blocks to ch(l) =
// Base*Mult[l], then 2x2 average pooling except after the last; then
// GroupNorm-SiLU-conv3 to 2*LatentChannels (mu, then log sigma^2).
func convEncoderGraph(c AutoencoderConfig) *unetGraph {
	C, H, W := c.Shape[0], c.Shape[1], c.Shape[2]
	g := newAEGraph(c.convHalf(C, H, W, c.Seed))
	ch := func(l int) int { return c.Base * c.Mult[l] }
	g.x = g.tensor(C, H, W)
	h := g.conv(g.x, ch(0), 3)
	for l := range c.Mult {
		for range c.NumRes {
			h = g.resblock(h, ch(l))
		}
		if l < len(c.Mult)-1 {
			s := g.shapes[h]
			h = g.simple(opPool, h, -1, tshape{s.c, s.h / 2, s.w / 2})
		}
	}
	g.out = g.conv(g.norm(h, true), 2*c.LatentChannels, 3)
	return g
}

// convDecoderGraph plans the decoder, the encoder mirrored: conv3 from the
// LatentChannels x H/f x W/f latent to ch(L-1); at each resolution l from
// the lowest, NumRes residual blocks to ch(l), then (except at the top)
// 2x nearest up-sampling and conv3 to ch(l-1); then GroupNorm-SiLU-conv3 to
// C channels.
func convDecoderGraph(c AutoencoderConfig) *unetGraph {
	C, H, W := c.Shape[0], c.Shape[1], c.Shape[2]
	f := c.downFactor()
	g := newAEGraph(c.convHalf(c.LatentChannels, H/f, W/f, c.Seed^decoderSeed))
	ch := func(l int) int { return c.Base * c.Mult[l] }
	L := len(c.Mult)
	g.x = g.tensor(c.LatentChannels, H/f, W/f)
	h := g.conv(g.x, ch(L-1), 3)
	for l := L - 1; l >= 0; l-- {
		for range c.NumRes {
			h = g.resblock(h, ch(l))
		}
		if l > 0 {
			s := g.shapes[h]
			h = g.simple(opUp, h, -1, tshape{s.c, 2 * s.h, 2 * s.w})
			h = g.conv(h, ch(l-1), 3)
		}
	}
	g.out = g.conv(g.norm(h, true), C, 3)
	return g
}

// initConvAE draws the parameters of a valid, defaulted conv config: the
// encoder's from stream (Seed, initStream), the decoder's from (Seed ^
// decoderSeed, initStream), each in its plan's layout order.
func initConvAE(c AutoencoderConfig) []float64 {
	pe := convEncoderGraph(c).drawParams(rand.New(rand.NewPCG(c.Seed, initStream)))
	pd := convDecoderGraph(c).drawParams(rand.New(rand.NewPCG(c.Seed^decoderSeed, initStream)))
	return append(pe, pd...)
}

// convHalves are the convolutional encoder and decoder, each a plan run by
// a unetCore in precision T. In float64 the cores' parameters are views
// into the autoencoder's and their gradients are added to its Grads
// directly; in float32 sync rounds the parameters and a float32 scratch
// carries each half's gradient.
type convHalves[T float, K kernels[T]] struct {
	enc, dec   unetCore[T, K]
	ne         int
	params     []float64 // the autoencoder's
	grads      []float64 // the autoencoder's
	g32        []T       // float32: one half's gradient
	eout, dout []float64 // the training passes' outputs, float64
}

func newConvHalves[T float, K kernels[T]](cfg AutoencoderConfig, params, grads []float64) *convHalves[T, K] {
	h := &convHalves[T, K]{params: params, grads: grads}
	h.enc = newUNetCoreFrom[T, K](convEncoderGraph(cfg), nil)
	h.dec = newUNetCoreFrom[T, K](convDecoderGraph(cfg), nil)
	h.ne = len(h.enc.params)
	if p, ok := any(params).([]T); ok {
		h.enc.params, h.dec.params = p[:h.ne:h.ne], p[h.ne:]
	} else {
		h.g32 = make([]T, max(h.ne, len(params)-h.ne))
		h.sync()
	}
	return h
}

func (h *convHalves[T, K]) sync() {
	if h.g32 != nil {
		h.enc.setParams(h.params[:h.ne])
		h.dec.setParams(h.params[h.ne:])
	}
}

func (h *convHalves[T, K]) setWorkers(n int, owner *Autoencoder) {
	setWorkers(&h.enc.par, n, owner)
	setWorkers(&h.dec.par, n, owner)
}

// rowSizes returns the values per image of a core's input and output.
func rowSizes[T float, K kernels[T]](c *unetCore[T, K]) (in, out int) {
	return c.t[c.g.x].size(), c.t[c.g.out].size()
}

func (h *convHalves[T, K]) encodeTrain(x []float64, n int) []float64 {
	_, out := rowSizes(&h.enc)
	h.enc.forward(x, nil, n, false)
	o := grow(&h.eout, n*out)
	h.enc.outputTo(o)
	return o
}

func (h *convHalves[T, K]) decodeTrain(u []float64, n int) []float64 {
	_, out := rowSizes(&h.dec)
	h.dec.forward(u, nil, n, false)
	o := grow(&h.dout, n*out)
	h.dec.outputTo(o)
	return o
}

// back propagates d through core c's last forward, adding its parameter
// gradients to grads and writing the input gradient to dx unless nil.
func (h *convHalves[T, K]) back(c *unetCore[T, K], d, grads, dx []float64) {
	if g, ok := any(grads).([]T); ok {
		c.backprop(d, g, dx)
		return
	}
	g := h.g32[:len(grads)]
	clear(g)
	c.backprop(d, g, dx)
	for i, v := range g {
		grads[i] += float64(v)
	}
}

func (h *convHalves[T, K]) backDecoder(dx, du []float64) { h.back(&h.dec, dx, h.grads[h.ne:], du) }
func (h *convHalves[T, K]) backEncoder(d []float64)      { h.back(&h.enc, d, h.grads[:h.ne], nil) }

func (h *convHalves[T, K]) encodeTo(raw, x []float64, n int) { h.enc.forwardChunks(raw, x, nil, n) }
func (h *convHalves[T, K]) decodeTo(dst, u []float64, n int) { h.dec.forwardChunks(dst, u, nil, n) }
