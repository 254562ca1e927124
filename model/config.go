package model

import (
	"fmt"
	"math"
)

// Names accepted in Config.Embedding and Config.Precision.
const (
	EmbeddingFourier    = "fourier"    // Gaussian Fourier features (Tancik et al. 2020; score SDE).
	EmbeddingSinusoidal = "sinusoidal" // transformer / DDPM positional embedding.

	Float64 = "float64"
	Float32 = "float32"
)

// Defaults filled in by Config.WithDefaults for zero-valued fields.
const (
	DefaultEmbedDim     = 32
	DefaultFourierScale = 16 // score_sde's fourier_scale
	// DefaultSinusoidalTimeScale maps t in [0, 1] onto DDPM-like indices 0..1000.
	// score_sde uses 999 for its continuous VP models; set TimeScale to copy it.
	DefaultSinusoidalTimeScale = 1000
	// SinusoidalMaxPeriod is the longest period of the sinusoidal embedding.
	SinusoidalMaxPeriod = 10000
)

// Config describes an MLP score network: the input x (Dim values) is joined
// with an embedding of the time (EmbedDim features), passed through hidden
// layers of the given widths with SiLU, and mapped linearly to Dim outputs.
//
// Zero-valued fields take the defaults of WithDefaults; a Config returned by a
// network's Config method always has them filled in.
type Config struct {
	Dim    int   `json:"dim"`    // data dimension D (input and output), >= 1
	Hidden []int `json:"hidden"` // hidden-layer widths; empty gives a single linear layer

	Embedding    string  `json:"embedding"`     // "fourier" (default) or "sinusoidal"
	EmbedDim     int     `json:"embed_dim"`     // number of time features E, even, default 32
	FourierScale float64 `json:"fourier_scale"` // std of the Fourier frequencies W, default 16
	// TimeScale multiplies t before the embedding: tau = TimeScale * t.
	// Default 1 for "fourier" and 1000 for "sinusoidal".
	TimeScale float64 `json:"time_scale"`

	Precision string `json:"precision"` // "float64" (default) or "float32"
	Seed      uint64 `json:"seed"`      // initial weights and Fourier frequencies

	// Classes > 0 makes a conditional network: a learned embedding of the
	// class label (Classes+1 rows, the last one the null label NullLabel)
	// is added to the first layer's pre-activation. 0 (the default, left
	// out of the JSON) is the unconditional network, so older configs and
	// checkpoints load unchanged.
	Classes int `json:"classes,omitempty"`
}

// WithDefaults returns a copy of c with zero-valued optional fields set to their
// defaults. Hidden is copied, so the result does not alias c.
func (c Config) WithDefaults() Config {
	c.Hidden = append([]int(nil), c.Hidden...)
	if c.Embedding == "" {
		c.Embedding = EmbeddingFourier
	}
	if c.EmbedDim == 0 {
		c.EmbedDim = DefaultEmbedDim
	}
	if c.Embedding == EmbeddingFourier && c.FourierScale == 0 {
		c.FourierScale = DefaultFourierScale
	}
	if c.TimeScale == 0 {
		if c.Embedding == EmbeddingSinusoidal {
			c.TimeScale = DefaultSinusoidalTimeScale
		} else {
			c.TimeScale = 1
		}
	}
	if c.Precision == "" {
		c.Precision = Float64
	}
	return c
}

// Validate reports whether c (after WithDefaults) describes a network.
func (c Config) Validate() error {
	c = c.WithDefaults()
	if c.Dim < 1 {
		return fmt.Errorf("model: config: Dim = %d, want >= 1", c.Dim)
	}
	for i, w := range c.Hidden {
		if w < 1 {
			return fmt.Errorf("model: config: Hidden[%d] = %d, want >= 1", i, w)
		}
	}
	switch c.Embedding {
	case EmbeddingFourier:
		if !(c.FourierScale > 0) || math.IsInf(c.FourierScale, 0) {
			return fmt.Errorf("model: config: FourierScale = %v, want finite > 0", c.FourierScale)
		}
	case EmbeddingSinusoidal:
	default:
		return fmt.Errorf("model: config: Embedding = %q, want %q or %q", c.Embedding, EmbeddingFourier, EmbeddingSinusoidal)
	}
	if c.EmbedDim < 2 || c.EmbedDim%2 != 0 {
		return fmt.Errorf("model: config: EmbedDim = %d, want an even number >= 2", c.EmbedDim)
	}
	if !(c.TimeScale > 0) || math.IsInf(c.TimeScale, 0) {
		return fmt.Errorf("model: config: TimeScale = %v, want finite > 0", c.TimeScale)
	}
	switch c.Precision {
	case Float64, Float32:
	default:
		return fmt.Errorf("model: config: Precision = %q, want %q or %q", c.Precision, Float64, Float32)
	}
	if c.Classes < 0 {
		return fmt.Errorf("model: config: Classes = %d, want >= 0 (0: unconditional)", c.Classes)
	}
	return nil
}

// NumParams returns the number of trainable parameters of the network c describes.
func (c Config) NumParams() int {
	c = c.WithDefaults()
	w := c.widths()
	return layerParams(w) + c.labelParams()
}

// layerParams returns the number of weights and biases of affine layers of
// the given widths.
func layerParams(w []int) int {
	total := 0
	for l := 0; l+1 < len(w); l++ {
		total += w[l]*w[l+1] + w[l+1]
	}
	return total
}

// labelParams returns the size of the label embedding of a defaulted
// config: (Classes+1) rows of the first layer's output width, or 0.
func (c Config) labelParams() int {
	if c.Classes == 0 {
		return 0
	}
	return (c.Classes + 1) * c.widths()[1]
}

// NumBuffers returns the number of fixed (untrained) values the network keeps:
// the EmbedDim/2 Fourier frequencies W, or 0 for the sinusoidal embedding.
func (c Config) NumBuffers() int {
	c = c.WithDefaults()
	if c.Embedding == EmbeddingFourier {
		return c.EmbedDim / 2
	}
	return 0
}

// widths returns the layer widths [D+E, h_1, ..., h_L, D] of a defaulted config.
func (c Config) widths() []int {
	w := make([]int, 0, len(c.Hidden)+2)
	w = append(w, c.Dim+c.EmbedDim)
	w = append(w, c.Hidden...)
	return append(w, c.Dim)
}

func (c Config) equal(d Config) bool {
	if len(c.Hidden) != len(d.Hidden) {
		return false
	}
	for i := range c.Hidden {
		if c.Hidden[i] != d.Hidden[i] {
			return false
		}
	}
	return c.Dim == d.Dim && c.Embedding == d.Embedding && c.EmbedDim == d.EmbedDim &&
		c.FourierScale == d.FourierScale && c.TimeScale == d.TimeScale &&
		c.Precision == d.Precision && c.Seed == d.Seed && c.Classes == d.Classes
}
