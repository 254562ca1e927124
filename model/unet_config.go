package model

import (
	"fmt"
	"strconv"
	"strings"
)

// KindUNet is the Kind of UNet and UNet32 in checkpoints and the registry.
const KindUNet = "unet"

// Attention placements accepted in UNetConfig.Attention.
const (
	AttentionMid  = "mid"  // one single-head self-attention block between the middle residual blocks
	AttentionNone = "none" // no attention
)

// Defaults filled in by UNetConfig.WithDefaults for zero-valued fields: the
// proposed architecture for 28x28 grey images (Fashion-MNIST), small enough
// to train on two CPU cores in minutes (see docs/bench.md, "U-Net").
const (
	DefaultUNetBase    = 32
	DefaultUNetNumRes  = 1
	DefaultUNetGroups  = 8
	DefaultUNetEmbed   = 32  // time features E
	DefaultUNetTembDim = 128 // 4 * DefaultUNetBase, as DDPM
)

// DefaultUNetMult is the default channel multiplier per resolution:
// 28x28 (32 channels), 14x14 (64), 7x7 (64).
var DefaultUNetMult = []int{1, 2, 2}

// GroupNormEps is the epsilon of every GroupNorm (PyTorch's default).
const GroupNormEps = 1e-5

// UNetConfig describes a convolutional U-Net score network on images of
// Channels x Height x Width (Dim = C*H*W; each row of a batch is one image,
// channel-major: row[(c*H + y)*W + x]). See doc.go, "U-Net", for the
// architecture these fields parameterise.
//
// Zero-valued fields take the defaults of WithDefaults; a config returned by
// a network's Config method always has them filled in.
type UNetConfig struct {
	Channels int `json:"channels"` // C >= 1
	Height   int `json:"height"`   // H >= 1, divisible by 2^(len(Mult)-1)
	Width    int `json:"width"`    // W >= 1, divisible by 2^(len(Mult)-1)

	Base   int   `json:"base"`    // channels at the first resolution, default 32
	Mult   []int `json:"mult"`    // channel multiplier per resolution, default [1, 2, 2]
	NumRes int   `json:"num_res"` // residual blocks per resolution (down and up), default 1
	Groups int   `json:"groups"`  // GroupNorm groups, must divide every normalised channel count; default 8
	// Attention is "mid" (default: self-attention at the lowest resolution,
	// between the two middle residual blocks) or "none".
	Attention string  `json:"attention"`
	Dropout   float64 `json:"dropout"` // in [0, 1): dropout before the second convolution of each residual block, training only

	Embedding    string  `json:"embedding"`     // time features: "fourier" (default) or "sinusoidal", as Config
	EmbedDim     int     `json:"embed_dim"`     // time features E, even, default 32
	FourierScale float64 `json:"fourier_scale"` // default 16
	TimeScale    float64 `json:"time_scale"`    // default 1 (fourier) or 1000 (sinusoidal)
	TembDim      int     `json:"temb_dim"`      // width of the time-embedding MLP, default 4*Base

	Precision string `json:"precision"` // "float64" (default) or "float32"
	Seed      uint64 `json:"seed"`      // initial weights, Fourier frequencies, dropout masks
}

// Dim returns C*H*W.
func (c UNetConfig) Dim() int { return c.Channels * c.Height * c.Width }

// WithDefaults returns a copy of c with zero-valued optional fields set to
// their defaults; Mult is copied.
func (c UNetConfig) WithDefaults() UNetConfig {
	c.Mult = append([]int(nil), c.Mult...)
	if len(c.Mult) == 0 {
		c.Mult = append(c.Mult, DefaultUNetMult...)
	}
	if c.Base == 0 {
		c.Base = DefaultUNetBase
	}
	if c.NumRes == 0 {
		c.NumRes = DefaultUNetNumRes
	}
	if c.Groups == 0 {
		c.Groups = DefaultUNetGroups
	}
	if c.Attention == "" {
		c.Attention = AttentionMid
	}
	if c.TembDim == 0 {
		c.TembDim = 4 * c.Base
	}
	e := c.embedConfig()
	c.Embedding, c.EmbedDim, c.FourierScale, c.TimeScale = e.Embedding, e.EmbedDim, e.FourierScale, e.TimeScale
	if c.Precision == "" {
		c.Precision = Float64
	}
	return c
}

// embedConfig is the MLP Config that carries the time-embedding fields, so
// the U-Net shares the MLP's embedding code and defaults.
func (c UNetConfig) embedConfig() Config {
	e := Config{Dim: 1, Embedding: c.Embedding, EmbedDim: c.EmbedDim, FourierScale: c.FourierScale, TimeScale: c.TimeScale}
	if e.EmbedDim == 0 {
		e.EmbedDim = DefaultUNetEmbed
	}
	return e.WithDefaults()
}

// Validate reports whether c (after WithDefaults) describes a network: the
// first error in the order of the fields, naming the field.
func (c UNetConfig) Validate() error {
	c = c.WithDefaults()
	if c.Channels < 1 || c.Height < 1 || c.Width < 1 {
		return fmt.Errorf("model: unet config: image shape C x H x W = %d x %d x %d, want each >= 1", c.Channels, c.Height, c.Width)
	}
	if c.Base < 1 {
		return fmt.Errorf("model: unet config: Base = %d, want >= 1", c.Base)
	}
	for i, m := range c.Mult {
		if m < 1 {
			return fmt.Errorf("model: unet config: Mult[%d] = %d, want >= 1", i, m)
		}
	}
	if f := 1 << (len(c.Mult) - 1); len(c.Mult) > 16 || c.Height%f != 0 || c.Width%f != 0 {
		return fmt.Errorf("model: unet config: the %d resolutions of Mult %s halve the image %d times, but %dx%d is not divisible by %d; use fewer multipliers or an image size divisible by %d",
			len(c.Mult), intsString(c.Mult), len(c.Mult)-1, c.Height, c.Width, f, f)
	}
	if c.NumRes < 1 {
		return fmt.Errorf("model: unet config: NumRes = %d, want >= 1", c.NumRes)
	}
	if c.Groups < 1 {
		return fmt.Errorf("model: unet config: Groups = %d, want >= 1", c.Groups)
	}
	switch c.Attention {
	case AttentionMid, AttentionNone:
	default:
		return fmt.Errorf("model: unet config: Attention = %q, want %q or %q", c.Attention, AttentionMid, AttentionNone)
	}
	if !(c.Dropout >= 0 && c.Dropout < 1) {
		return fmt.Errorf("model: unet config: Dropout = %v, want 0 <= Dropout < 1", c.Dropout)
	}
	if err := c.embedConfig().Validate(); err != nil {
		return fmt.Errorf("model: unet %s", strings.TrimPrefix(err.Error(), "model: "))
	}
	if c.TembDim < 1 {
		return fmt.Errorf("model: unet config: TembDim = %d, want >= 1", c.TembDim)
	}
	switch c.Precision {
	case Float64, Float32:
	default:
		return fmt.Errorf("model: unet config: Precision = %q, want %q or %q", c.Precision, Float64, Float32)
	}
	// Every GroupNorm's channel count (Base*Mult[l] and the concatenations
	// of the up path) must be a multiple of Groups.
	var g unetGraph
	g.plan(c)
	for _, ch := range g.normChannels {
		if ch%c.Groups != 0 {
			return fmt.Errorf("model: unet config: Groups = %d does not divide %d, the channels of a GroupNorm of Base %d, Mult %s (they are %s); choose Groups dividing all of them",
				c.Groups, ch, c.Base, intsString(c.Mult), intsString(g.normChannels))
		}
	}
	return nil
}

func intsString(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// NumParams returns the number of trainable parameters of the network c
// describes (c must be valid).
func (c UNetConfig) NumParams() int {
	var g unetGraph
	g.plan(c.WithDefaults())
	return g.nParams
}

// NumBuffers returns EmbedDim/2 (the Fourier frequencies) or 0 (sinusoidal).
func (c UNetConfig) NumBuffers() int { return c.embedConfig().NumBuffers() }

// ParseUNetConfig decodes a UNetConfig from the JSON of MarshalConfig (a
// checkpoint's Config when its Kind is "unet"), rejecting unknown fields,
// and returns it defaulted and validated.
func ParseUNetConfig(data []byte) (UNetConfig, error) { return parseStrict[UNetConfig](data, "unet") }
