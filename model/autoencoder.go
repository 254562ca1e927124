package model

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

// KindAutoencoder is the Kind of an MLP Autoencoder in checkpoints, and
// KindConvAutoencoder that of a convolutional one (Arch "conv"). An
// autoencoder is not a score network (it maps D values to a K-dim latent
// and back, with no time), so it is not in the registry of Build:
// Checkpoint.Autoencoder rebuilds either, and Checkpoint.Net and
// Checkpoint.Classifier refuse them with an error that says so.
const (
	KindAutoencoder     = "mlp-autoencoder"
	KindConvAutoencoder = "conv-autoencoder"
)

// IsAutoencoderKind reports whether kind is one of an Autoencoder.
func IsAutoencoderKind(kind string) bool {
	return kind == KindAutoencoder || kind == KindConvAutoencoder
}

// Architectures of AutoencoderConfig.Arch.
const (
	ArchMLP  = "mlp"  // the MLP halves (the default; "" in a config)
	ArchConv = "conv" // the convolutional halves of convae.go
)

// DefaultKLWeight is AutoencoderConfig.KLWeight's default: small, so the
// latent keeps what reconstruction needs and the KL term only keeps it
// near the origin with a bounded spread (Rombach et al. 2022 use 1e-6
// beside a reconstruction loss summed over many more pixels).
const DefaultKLWeight = 1e-3

// Bounds of the encoder's log sigma^2 (Rombach et al.'s clamp), so that
// exp(log sigma^2) can neither overflow nor vanish; outside them the
// gradient is zero.
const (
	minLogVar = -30
	maxLogVar = 20
)

// AutoencoderConfig describes an autoencoder with a Gaussian encoder, an
// MLP (Arch "" or "mlp") or a convolutional one (Arch "conv").
//
// MLP: the encoder maps x (Dim values) through hidden SiLU layers of the
// given widths to (mu, log sigma^2) of a Latent-dim Gaussian q(u | x); the
// decoder maps u (Latent values) through the hidden widths in reverse
// order to Dim values. Both run on the MLP core with a two-feature
// sinusoidal time embedding evaluated at t = 0, which is a constant input
// (sin 0, cos 0) = (0, 1): one more bias, nothing time-dependent.
//
// Conv: the rows are images of Shape (C, H, W); the encoder is a stack of
// residual blocks with 2x2 average pooling between len(Mult) resolutions,
// ending in 2*LatentChannels channels (mu, log sigma^2) at H/f x W/f,
// f = 2^(len(Mult)-1); the decoder mirrors it with nearest up-sampling
// (see doc.go, "Convolutional autoencoder"). Latent is then
// LatentChannels*(H/f)*(W/f), filled in by WithDefaults, and a latent row
// is that small image, channel-major like the data's rows.
//
// The conv fields are left out of the JSON of an MLP config, so configs
// written before the convolutional autoencoder read and write unchanged.
type AutoencoderConfig struct {
	// Arch is ArchMLP or ArchConv; "" means ArchMLP (WithDefaults keeps an
	// MLP's "", which leaves it out of the JSON).
	Arch   string `json:"arch,omitempty"`
	Dim    int    `json:"dim"`    // data dimension D, >= 1 (conv: C*H*W, filled in from Shape)
	Latent int    `json:"latent"` // latent dimension K, >= 1 (conv: filled in)
	Hidden []int  `json:"hidden"` // MLP: encoder hidden widths; the decoder's are reversed
	// KLWeight is beta of the loss ||x - D(u)||^2 + beta KL(q(u|x) || N(0, I)),
	// >= 0; 0 in a config means DefaultKLWeight (use a tiny positive value
	// for practically none).
	KLWeight float64 `json:"kl_weight"`
	// ScaleFactor is s = 1 / std of the training latents u (all
	// coordinates pooled), computed after training (Rombach et al. 2022
	// sec. 4.3.2 and appendix G): the diffusion model sees z = s u, of unit
	// variance. 0 until set (SetScaleFactor).
	ScaleFactor float64 `json:"scale_factor"`
	// Shape is the data's image shape (C, H, W) when the rows are images
	// (digits: 1, 8, 8), for pictures of decoded samples; empty otherwise.
	// Required by Arch "conv", with H and W divisible by f.
	Shape []int  `json:"shape,omitempty"`
	Seed  uint64 `json:"seed"`

	// Conv only (zero for an MLP; WithDefaults fills the zero ones of a
	// conv config with DefaultConvAE*).
	LatentChannels int    `json:"latent_channels,omitempty"` // Kc, channels of the latent image
	Base           int    `json:"base,omitempty"`            // channels at the first resolution
	Mult           []int  `json:"mult,omitempty"`            // channel multiplier per resolution
	NumRes         int    `json:"num_res,omitempty"`         // residual blocks per resolution, in each half
	Groups         int    `json:"groups,omitempty"`          // GroupNorm groups, dividing every Base*Mult[l]
	Precision      string `json:"precision,omitempty"`       // "float64" (default) or "float32"
}

// WithDefaults returns c with KLWeight defaulted and its slices copied; for
// Arch "conv" also the conv fields, Dim and Latent (when the shape allows).
func (c AutoencoderConfig) WithDefaults() AutoencoderConfig {
	c.Hidden = slices.Clone(c.Hidden)
	c.Shape = slices.Clone(c.Shape)
	c.Mult = slices.Clone(c.Mult)
	if c.KLWeight == 0 {
		c.KLWeight = DefaultKLWeight
	}
	switch c.Arch {
	case ArchMLP:
		c.Arch = ""
		fallthrough
	case "":
		if c.Precision == Float64 {
			c.Precision = ""
		}
	case ArchConv:
		c = c.convDefaults()
	}
	return c
}

// IsConv reports whether c describes a convolutional autoencoder.
func (c AutoencoderConfig) IsConv() bool { return c.Arch == ArchConv }

// Validate reports whether c (after WithDefaults) describes an autoencoder.
func (c AutoencoderConfig) Validate() error {
	c = c.WithDefaults()
	switch c.Arch {
	case "":
		if c.LatentChannels != 0 || c.Base != 0 || len(c.Mult) != 0 || c.NumRes != 0 || c.Groups != 0 || c.Precision != "" {
			return fmt.Errorf("model: autoencoder config: LatentChannels, Base, Mult, NumRes, Groups or Precision %q set for an MLP autoencoder (float64 only); they size the convolutional one (Arch %q)", c.Precision, ArchConv)
		}
	case ArchConv:
		if err := c.validateConv(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("model: autoencoder config: Arch = %q, want %q or %q", c.Arch, ArchMLP, ArchConv)
	}
	switch {
	case c.Dim < 1:
		return fmt.Errorf("model: autoencoder config: Dim = %d, want >= 1", c.Dim)
	case c.Latent < 1:
		return fmt.Errorf("model: autoencoder config: Latent = %d, want >= 1", c.Latent)
	case !(c.KLWeight >= 0) || math.IsInf(c.KLWeight, 0):
		return fmt.Errorf("model: autoencoder config: KLWeight = %v, want finite >= 0", c.KLWeight)
	case !(c.ScaleFactor >= 0) || math.IsInf(c.ScaleFactor, 0):
		return fmt.Errorf("model: autoencoder config: ScaleFactor = %v, want finite >= 0 (0: not computed yet)", c.ScaleFactor)
	}
	for i, w := range c.Hidden {
		if w < 1 {
			return fmt.Errorf("model: autoencoder config: Hidden[%d] = %d, want >= 1", i, w)
		}
	}
	if len(c.Shape) > 0 {
		p := 1
		for _, s := range c.Shape {
			if s < 1 {
				return fmt.Errorf("model: autoencoder config: Shape %v has a size < 1", c.Shape)
			}
			p *= s
		}
		if p != c.Dim {
			return fmt.Errorf("model: autoencoder config: Shape %v holds %d values, but Dim = %d", c.Shape, p, c.Dim)
		}
	}
	return nil
}

// half returns the config of one half (encoder or decoder) on the MLP core:
// input dimension in, sinusoidal embedding of 2 features (constant at t = 0).
func (c AutoencoderConfig) half(in int, seed uint64) Config {
	return Config{Dim: in, Embedding: EmbeddingSinusoidal, EmbedDim: 2, Precision: Float64, Seed: seed}.WithDefaults()
}

// encWidths returns [D+2, Hidden..., 2K]; decWidths [K+2, reversed Hidden..., D].
func (c AutoencoderConfig) encWidths() []int {
	w := append([]int{c.Dim + 2}, c.Hidden...)
	return append(w, 2*c.Latent)
}

func (c AutoencoderConfig) decWidths() []int {
	w := []int{c.Latent + 2}
	for i := len(c.Hidden) - 1; i >= 0; i-- {
		w = append(w, c.Hidden[i])
	}
	return append(w, c.Dim)
}

// decoderSeed separates the decoder's initial draws from the encoder's.
const decoderSeed = 0x6465636f646572 // "decoder"

// NumParams returns the number of trainable parameters (encoder, then
// decoder) of a valid config.
func (c AutoencoderConfig) NumParams() int {
	c = c.WithDefaults()
	if c.IsConv() {
		return convEncoderGraph(c).nParams + convDecoderGraph(c).nParams
	}
	return layerParams(c.encWidths()) + layerParams(c.decWidths())
}

// ParseAutoencoderConfig decodes an AutoencoderConfig from its JSON (a
// checkpoint's Config when its Kind is KindAutoencoder), rejecting unknown
// fields, and returns it defaulted and validated.
func ParseAutoencoderConfig(data []byte) (AutoencoderConfig, error) {
	return parseStrict[AutoencoderConfig](data, "autoencoder")
}

// Autoencoder is a KL-regularised autoencoder (Rombach et al. 2022's
// "KL-reg." first stage, Kingma & Welling 2014's Gaussian encoder), with MLP
// or convolutional halves (AutoencoderConfig.Arch):
//
//	(mu, log sigma^2) = E(x),  u = mu + sigma * xi,  xi ~ N(0, I_K),  x^ = D(u)
//	L = (1/n) sum_i [ ||x^_i - x_i||^2 + beta * KL_i ],
//	KL_i = 1/2 sum_k (mu_ik^2 + sigma_ik^2 - 1 - log sigma_ik^2)
//
// Params are the encoder's then the decoder's (MLP: each W_l then b_l as
// in the MLP; conv: each half's plan in layout order, as the U-Net's);
// there are no buffers. In float32 (conv only) Params is a float64 master
// copy that SyncParams rounds, as UNet32's. It is not safe for concurrent
// use.
type Autoencoder struct {
	cfg    AutoencoderConfig
	net    aeHalves
	params []float64 // the halves read it (MLP, conv float64) or round it (conv float32)
	grads  []float64

	// training workspace, n x K and n x D
	mu, lv, sd, u, du, dEnc, dx []float64
	raw                         []float64 // EncodeTo: the encoder's output, n x 2K
}

// aeHalves is an autoencoder's encoder and decoder on one of the cores.
// Rows are channel-major images for the conv halves; the encoder's output
// row is [mu (K values), log sigma^2 (K values, unclamped)] for both.
type aeHalves interface {
	// encodeTrain and decodeTrain run one half on the n rows of in,
	// keeping its activations for back*, and return its output (n x 2K,
	// n x D), valid until that half's next call.
	encodeTrain(x []float64, n int) []float64
	decodeTrain(u []float64, n int) []float64
	// backDecoder adds the decoder's parameter gradients of dL/dx^ = dx to
	// the autoencoder's Grads and writes dL/du to du; backEncoder adds the
	// encoder's of dL/d(output) = d.
	backDecoder(dx, du []float64)
	backEncoder(d []float64)
	// encodeTo and decodeTo are the inference passes, rows in chunks where
	// the workspace grows with them.
	encodeTo(raw, x []float64, n int)
	decodeTo(dst, u []float64, n int)
	sync()
	setWorkers(n int, owner *Autoencoder)
}

// NewAutoencoder returns an autoencoder with weights drawn from cfg.Seed
// (encoder) and a stream derived from it (decoder): MLP layers
// U(-1/sqrt(in), 1/sqrt(in)) as the MLP's, convolutions U(-1/sqrt(fan_in),
// 1/sqrt(fan_in)) and GroupNorm (1, 0) as the U-Net's.
func NewAutoencoder(cfg AutoencoderConfig) (*Autoencoder, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.IsConv() {
		return newAutoencoder(cfg, initConvAE(cfg)), nil
	}
	pe, _ := initWidths(cfg.half(cfg.Dim, cfg.Seed), cfg.encWidths(), 0)
	pd, _ := initWidths(cfg.half(cfg.Latent, cfg.Seed^decoderSeed), cfg.decWidths(), 0)
	return newAutoencoder(cfg, append(pe, pd...)), nil
}

func newAutoencoder(cfg AutoencoderConfig, params []float64) *Autoencoder {
	a := &Autoencoder{cfg: cfg}
	a.params = append([]float64(nil), params...)
	a.grads = make([]float64, len(a.params))
	if cfg.IsConv() {
		if cfg.Precision == Float32 {
			a.net = newConvHalves[float32, k32](cfg, a.params, a.grads)
		} else {
			a.net = newConvHalves[float64, k64](cfg, a.params, a.grads)
		}
		return a
	}
	a.net = newMLPHalves(cfg, a.params, a.grads)
	return a
}

// mlpHalves are the MLP encoder and decoder; their parameters are views
// into the autoencoder's.
type mlpHalves struct {
	enc, dec mlpCore[float64, k64]
	ne       int
	grads    []float64
	tz       []float64 // only zeros: the halves' constant time input
}

func newMLPHalves(cfg AutoencoderConfig, params, grads []float64) *mlpHalves {
	h := &mlpHalves{grads: grads}
	h.enc = newCoreWidths[float64, k64](cfg.half(cfg.Dim, cfg.Seed), cfg.encWidths(), nil)
	h.dec = newCoreWidths[float64, k64](cfg.half(cfg.Latent, cfg.Seed^decoderSeed), cfg.decWidths(), nil)
	h.ne = len(h.enc.params)
	h.enc.params = params[:h.ne:h.ne]
	h.dec.params = params[h.ne:]
	return h
}

// zeros returns n zero times (the halves' constant embedding input).
func (h *mlpHalves) zeros(n int) []float64 {
	if len(h.tz) < n {
		h.tz = make([]float64, n)
	}
	return h.tz[:n]
}

func (h *mlpHalves) encodeTrain(x []float64, n int) []float64 {
	h.enc.forward(x, h.zeros(n), n, nil)
	return h.enc.output()
}

func (h *mlpHalves) decodeTrain(u []float64, n int) []float64 {
	h.dec.forward(u, h.zeros(n), n, nil)
	return h.dec.output()
}

func (h *mlpHalves) backDecoder(dx, du []float64) { h.dec.backprop(dx, h.grads[h.ne:], 1, du) }
func (h *mlpHalves) backEncoder(d []float64)      { h.enc.backprop(d, h.grads[:h.ne], 1, nil) }

func (h *mlpHalves) encodeTo(raw, x []float64, n int) {
	h.enc.forward(x, h.zeros(n), n, nil)
	h.enc.ws.ready = false
	copy(raw, h.enc.output())
}

func (h *mlpHalves) decodeTo(dst, u []float64, n int) {
	h.dec.forward(u, h.zeros(n), n, nil)
	h.dec.ws.ready = false
	copy(dst, h.dec.output())
}

func (h *mlpHalves) sync() {}

func (h *mlpHalves) setWorkers(n int, owner *Autoencoder) {
	setWorkers(&h.enc.par, n, owner)
	setWorkers(&h.dec.par, n, owner)
}

// BuildAutoencoder rebuilds an autoencoder from the JSON of its
// MarshalConfig and its parameters (copied); buffers must be empty.
func BuildAutoencoder(config []byte, params, buffers []float64) (*Autoencoder, error) {
	cfg, err := ParseAutoencoderConfig(config)
	if err != nil {
		return nil, err
	}
	if np := cfg.NumParams(); len(params) != np {
		return nil, fmt.Errorf("model: autoencoder: mismatched: config implies %d parameters, got %d", np, len(params))
	}
	if len(buffers) != 0 {
		return nil, fmt.Errorf("model: autoencoder: mismatched: an autoencoder has no buffers, got %d", len(buffers))
	}
	return newAutoencoder(cfg, params), nil
}

// buildAutoencoderKind is BuildAutoencoder for a checkpoint of the given
// kind, which must be the one its config describes.
func buildAutoencoderKind(kind string, config []byte, params, buffers []float64) (*Autoencoder, error) {
	a, err := BuildAutoencoder(config, params, buffers)
	if err != nil {
		return nil, err
	}
	if a.Kind() != kind {
		return nil, fmt.Errorf("model: autoencoder: mismatched: kind %s, but the config describes a %s", kind, a.Kind())
	}
	return a, nil
}

// Config returns the configuration, defaults filled in.
func (a *Autoencoder) Config() AutoencoderConfig { return a.cfg.WithDefaults() }

// Dim returns the data dimension D.
func (a *Autoencoder) Dim() int { return a.cfg.Dim }

// Latent returns the latent dimension K (conv: LatentChannels*(H/f)*(W/f)).
func (a *Autoencoder) Latent() int { return a.cfg.Latent }

// LatentShape returns the image shape (LatentChannels, H/f, W/f) of a
// convolutional autoencoder's latent rows, nil for an MLP's.
func (a *Autoencoder) LatentShape() []int {
	if !a.cfg.IsConv() {
		return nil
	}
	f := a.cfg.downFactor()
	return []int{a.cfg.LatentChannels, a.cfg.Shape[1] / f, a.cfg.Shape[2] / f}
}

// ScaleFactor returns s (0 until SetScaleFactor).
func (a *Autoencoder) ScaleFactor() float64 { return a.cfg.ScaleFactor }

// SetScaleFactor stores s = 1/std of the training latents; it panics
// unless s is finite and > 0.
func (a *Autoencoder) SetScaleFactor(s float64) {
	if !(s > 0) || math.IsInf(s, 0) {
		panic(fmt.Sprintf("model: Autoencoder.SetScaleFactor(%v): want finite > 0", s))
	}
	a.cfg.ScaleFactor = s
}

// Kind returns KindAutoencoder, or KindConvAutoencoder for Arch "conv".
func (a *Autoencoder) Kind() string {
	if a.cfg.IsConv() {
		return KindConvAutoencoder
	}
	return KindAutoencoder
}

// MarshalConfig returns the JSON of Config().
func (a *Autoencoder) MarshalConfig() ([]byte, error) { return json.Marshal(a.Config()) }

// NumParams returns the number of trainable parameters.
func (a *Autoencoder) NumParams() int { return len(a.params) }

// Params returns the parameters (a view): encoder, then decoder.
func (a *Autoencoder) Params() []float64 { return a.params }

// SyncParams rounds Params to the float32 weights of a float32
// autoencoder; the float64 halves read Params directly (nothing to do).
// Call it after writing Params.
func (a *Autoencoder) SyncParams() { a.net.sync() }

// Grads returns the parameter gradient (a view).
func (a *Autoencoder) Grads() []float64 { return a.grads }

// ZeroGrad sets Grads to zero.
func (a *Autoencoder) ZeroGrad() { clear(a.grads) }

// Buffers returns nil: an autoencoder keeps no fixed values.
func (a *Autoencoder) Buffers() []float64 { return nil }

// SetWorkers makes the products of both halves use n goroutines; results
// do not depend on n.
func (a *Autoencoder) SetWorkers(n int) { a.net.setWorkers(n, a) }

// Clone returns a deep copy with its own workspace and zero gradients.
func (a *Autoencoder) Clone() *Autoencoder { return newAutoencoder(a.Config(), a.params) }

// grow returns (*b)[:m], reallocated when it is shorter.
func grow(b *[]float64, m int) []float64 {
	if len(*b) < m {
		*b = make([]float64, m)
	}
	return (*b)[:m]
}

// EncodeTo writes the mean mu (n x K) and log sigma^2 (n x K, clamped to
// [-30, 20]) of q(u | x) for the n rows of x (n x D). logVar may be nil.
func (a *Autoencoder) EncodeTo(mu, logVar, x []float64) {
	d, k := a.cfg.Dim, a.cfg.Latent
	if len(x)%d != 0 || len(x) == 0 {
		panic(fmt.Sprintf("model: Autoencoder.EncodeTo: len(x) = %d, want a positive multiple of Dim = %d", len(x), d))
	}
	n := len(x) / d
	if len(mu) != n*k || (logVar != nil && len(logVar) != n*k) {
		panic(fmt.Sprintf("model: Autoencoder.EncodeTo: len(mu) = %d, len(logVar) = %d, want %d x %d", len(mu), len(logVar), n, k))
	}
	out := grow(&a.raw, n*2*k)
	a.net.encodeTo(out, x, n)
	for i := 0; i < n; i++ {
		row := out[i*2*k : (i+1)*2*k]
		copy(mu[i*k:(i+1)*k], row[:k])
		if logVar != nil {
			for j, v := range row[k:] {
				logVar[i*k+j] = clampLogVar(v)
			}
		}
	}
}

// DecodeTo writes D(u) (n x D) for the n rows of u (n x K).
func (a *Autoencoder) DecodeTo(dst, u []float64) {
	d, k := a.cfg.Dim, a.cfg.Latent
	if len(u)%k != 0 || len(u) == 0 || len(dst) != len(u)/k*d {
		panic(fmt.Sprintf("model: Autoencoder.DecodeTo: len(u) = %d, len(dst) = %d, want n x %d and n x %d", len(u), len(dst), k, d))
	}
	a.net.decodeTo(dst, u, len(u)/k)
}

func clampLogVar(v float64) float64 { return min(max(v, minLogVar), maxLogVar) }

// TrainLoss computes the loss L of the n rows of x (n x D) with the
// reparameterisation noise xi (n x K, standard normal draws; zeros give the
// deterministic autoencoder of the means), adds dL/dtheta to Grads, and
// returns L and its two parts: rec = (1/n) sum ||x^ - x||^2 and
// kl = (1/n) sum KL_i, so L = rec + KLWeight * kl.
func (a *Autoencoder) TrainLoss(x, xi []float64) (loss, rec, kl float64) {
	d, k := a.cfg.Dim, a.cfg.Latent
	if len(x)%d != 0 || len(x) == 0 || len(xi) != len(x)/d*k {
		panic(fmt.Sprintf("model: Autoencoder.TrainLoss: len(x) = %d, len(xi) = %d, want n x %d and n x %d", len(x), len(xi), d, k))
	}
	n := len(x) / d
	mu, lv, u := grow(&a.mu, n*k), grow(&a.lv, n*k), grow(&a.u, n*k)
	sd, du := grow(&a.sd, n*k), grow(&a.du, n*k)
	dEnc, dx := grow(&a.dEnc, 2*n*k), grow(&a.dx, n*d)

	out := a.net.encodeTrain(x, n)
	beta := a.cfg.KLWeight
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			m, l := out[i*2*k+j], clampLogVar(out[i*2*k+k+j])
			v := math.Exp(l)
			mu[i*k+j], lv[i*k+j], sd[i*k+j] = m, l, math.Sqrt(v)
			u[i*k+j] = m + sd[i*k+j]*xi[i*k+j]
			kl += 0.5 * (m*m + v - 1 - l)
		}
	}
	xh := a.net.decodeTrain(u, n)
	inv := 1 / float64(n)
	for i, v := range xh {
		e := v - x[i]
		rec += e * e
		dx[i] = 2 * e * inv
	}
	rec *= inv
	kl *= inv
	// Decoder: parameter gradients and dL/du through its input VJP.
	a.net.backDecoder(dx, du)
	// Encoder seed: dL/dmu = dL/du + beta mu/n; dL/dlogvar = dL/du xi sigma/2
	// + beta (sigma^2 - 1)/(2n), zero where the clamp is active.
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			p := i*k + j
			dEnc[i*2*k+j] = du[p] + beta*mu[p]*inv
			raw := out[i*2*k+k+j]
			if raw < minLogVar || raw > maxLogVar {
				dEnc[i*2*k+k+j] = 0
				continue
			}
			dEnc[i*2*k+k+j] = 0.5*du[p]*xi[p]*sd[p] + 0.5*beta*(sd[p]*sd[p]-1)*inv
		}
	}
	a.net.backEncoder(dEnc)
	return rec + beta*kl, rec, kl
}
