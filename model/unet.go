package model

import (
	"encoding/json"
	"fmt"
)

func init() { Register(KindUNet, buildUNet) }

// NewUNet returns the U-Net that cfg describes, with weights drawn from
// cfg.Seed: a *UNet for Precision "float64" (the default) or a *UNet32 for
// "float32".
func NewUNet(cfg UNetConfig) (Trainable, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	params, buffers := initUNet(cfg)
	return unetWith(cfg, params, buffers), nil
}

// unetWith builds the network of a valid, defaulted cfg with the given
// parameters and buffers (copied).
func unetWith(cfg UNetConfig, params, buffers []float64) Trainable {
	buffers = append([]float64(nil), buffers...)
	if cfg.Precision == Float32 {
		u := &UNet32{core: newUNetCore[float32, k32](cfg, buffers)}
		np := len(u.core.params)
		u.master = append(make([]float64, 0, np), params...)
		u.grads = make([]float64, np)
		u.g32 = make([]float32, np)
		u.SyncParams()
		return u
	}
	u := &UNet{core: newUNetCore[float64, k64](cfg, buffers)}
	copy(u.core.params, params)
	u.grads = make([]float64, len(params))
	return u
}

// buildUNet is the Builder registered for KindUNet.
func buildUNet(config []byte, params, buffers []float64) (Trainable, error) {
	cfg, err := ParseUNetConfig(config)
	if err != nil {
		return nil, err
	}
	if np := cfg.NumParams(); len(params) != np {
		return nil, fmt.Errorf("model: unet: mismatched: config implies %d parameters, got %d", np, len(params))
	}
	if nb := cfg.NumBuffers(); len(buffers) != nb {
		return nil, fmt.Errorf("model: unet: mismatched: config implies %d buffers, got %d", nb, len(buffers))
	}
	return unetWith(cfg, params, buffers), nil
}

// UNet is the float64 U-Net (see doc.go, "U-Net"). Its Params are laid out
// in the order the plan creates them: for each convolution its weight
// ((k*k*C_in) x C_out, row-major, row (ky*k + kx)*C_in + c_in) then its
// bias, for each GroupNorm gamma then beta.
type UNet struct {
	core  unetCore[float64, k64]
	grads []float64
}

// Config returns the network's configuration, defaults filled in.
func (u *UNet) Config() UNetConfig { return u.core.cfg.WithDefaults() }

// Dim implements Net: C*H*W.
func (u *UNet) Dim() int { return u.core.cfg.Dim() }

// NumParams implements Trainable.
func (u *UNet) NumParams() int { return len(u.core.params) }

// Forward implements Net (dropout off), unetChunk images at a time.
func (u *UNet) Forward(dst, x, t []float64) {
	n := checkBatch("Forward", u.Dim(), t, "dx", dst, x)
	u.core.forwardChunks(dst, x, t, n)
}

// ForwardTrain implements Trainable (dropout on).
func (u *UNet) ForwardTrain(dst, x, t []float64) {
	n := checkBatch("ForwardTrain", u.Dim(), t, "dx", dst, x)
	u.core.forward(x, t, n, true)
	u.core.ready = true
	u.core.outputTo(dst)
}

// InputVJP implements Net (dropout off), unetChunk images at a time.
func (u *UNet) InputVJP(dst, v, x, t []float64) {
	n := checkBatch("InputVJP", u.Dim(), t, "dvx", dst, v, x)
	u.core.inputVJPChunks(dst, v, x, t, n)
}

// ForwardVJP implements ForwardVJPer: Forward and InputVJP from one
// forward pass, unetChunk images at a time.
func (u *UNet) ForwardVJP(out, vjp, v, x, t []float64) {
	n := checkBatch("ForwardVJP", u.Dim(), t, "ojvx", out, vjp, v, x)
	u.core.forwardVJPChunks(out, vjp, v, x, t, n)
}

// Backward implements Trainable.
func (u *UNet) Backward(dOut []float64) {
	if !u.core.ready {
		panic("model: Backward without a preceding ForwardTrain")
	}
	if len(dOut) != u.core.n*u.Dim() {
		panic(fmt.Sprintf("model: Backward: len(dOut) = %d, want %d", len(dOut), u.core.n*u.Dim()))
	}
	u.core.backprop(dOut, u.grads, nil)
}

// SetWorkers implements Trainable: the matrix products run in tiles over n
// goroutines; every output element is computed the same way whatever n.
func (u *UNet) SetWorkers(n int) { setWorkers(&u.core.par, n, u) }

// Workers implements Trainable.
func (u *UNet) Workers() int { return u.core.par.count() }

// Params implements Trainable.
func (u *UNet) Params() []float64 { return u.core.params }

// SyncParams implements Trainable (nothing to do in float64).
func (u *UNet) SyncParams() {}

// Grads implements Trainable.
func (u *UNet) Grads() []float64 { return u.grads }

// ZeroGrad implements Trainable.
func (u *UNet) ZeroGrad() { clear(u.grads) }

// Buffers implements Trainable: the Fourier frequencies, or nil.
func (u *UNet) Buffers() []float64 { return u.core.buffers }

// Kind implements Trainable: "unet".
func (u *UNet) Kind() string { return KindUNet }

// MarshalConfig implements Trainable: the JSON of Config().
func (u *UNet) MarshalConfig() ([]byte, error) { return json.Marshal(u.Config()) }

// Clone implements Net; the clone is a *UNet whose dropout generator
// restarts from the seed.
func (u *UNet) Clone() Net {
	return &UNet{core: u.core.clone(), grads: make([]float64, len(u.grads))}
}

// UNet32 is the float32 U-Net: weights, activations and products in
// float32, a float64 master copy of the parameters (Params) that
// SyncParams rounds, as MLP32.
type UNet32 struct {
	core   unetCore[float32, k32]
	master []float64
	grads  []float64
	g32    []float32
}

// Config returns the network's configuration, defaults filled in.
func (u *UNet32) Config() UNetConfig { return u.core.cfg.WithDefaults() }

// Dim implements Net: C*H*W.
func (u *UNet32) Dim() int { return u.core.cfg.Dim() }

// NumParams implements Trainable.
func (u *UNet32) NumParams() int { return len(u.core.params) }

// Forward implements Net (dropout off), unetChunk images at a time.
func (u *UNet32) Forward(dst, x, t []float64) {
	n := checkBatch("Forward", u.Dim(), t, "dx", dst, x)
	u.core.forwardChunks(dst, x, t, n)
}

// ForwardTrain implements Trainable (dropout on).
func (u *UNet32) ForwardTrain(dst, x, t []float64) {
	n := checkBatch("ForwardTrain", u.Dim(), t, "dx", dst, x)
	u.core.forward(x, t, n, true)
	u.core.ready = true
	u.core.outputTo(dst)
}

// InputVJP implements Net (dropout off), unetChunk images at a time.
func (u *UNet32) InputVJP(dst, v, x, t []float64) {
	n := checkBatch("InputVJP", u.Dim(), t, "dvx", dst, v, x)
	u.core.inputVJPChunks(dst, v, x, t, n)
}

// ForwardVJP implements ForwardVJPer: Forward and InputVJP from one
// forward pass, unetChunk images at a time.
func (u *UNet32) ForwardVJP(out, vjp, v, x, t []float64) {
	n := checkBatch("ForwardVJP", u.Dim(), t, "ojvx", out, vjp, v, x)
	u.core.forwardVJPChunks(out, vjp, v, x, t, n)
}

// Backward implements Trainable: the batch's gradient is computed in
// float32 and added to the float64 Grads.
func (u *UNet32) Backward(dOut []float64) {
	if !u.core.ready {
		panic("model: Backward without a preceding ForwardTrain")
	}
	if len(dOut) != u.core.n*u.Dim() {
		panic(fmt.Sprintf("model: Backward: len(dOut) = %d, want %d", len(dOut), u.core.n*u.Dim()))
	}
	clear(u.g32)
	u.core.backprop(dOut, u.g32, nil)
	for i, e := range u.g32 {
		u.grads[i] += float64(e)
	}
}

// SetWorkers implements Trainable.
func (u *UNet32) SetWorkers(n int) { setWorkers(&u.core.par, n, u) }

// Workers implements Trainable.
func (u *UNet32) Workers() int { return u.core.par.count() }

// Params implements Trainable: the float64 master copy.
func (u *UNet32) Params() []float64 { return u.master }

// SyncParams rounds the master parameters to the float32 weights.
func (u *UNet32) SyncParams() { u.core.setParams(u.master) }

// Grads implements Trainable.
func (u *UNet32) Grads() []float64 { return u.grads }

// ZeroGrad implements Trainable.
func (u *UNet32) ZeroGrad() { clear(u.grads) }

// Buffers implements Trainable.
func (u *UNet32) Buffers() []float64 { return u.core.buffers }

// Kind implements Trainable: "unet" (Config.Precision tells the precisions apart).
func (u *UNet32) Kind() string { return KindUNet }

// MarshalConfig implements Trainable: the JSON of Config().
func (u *UNet32) MarshalConfig() ([]byte, error) { return json.Marshal(u.Config()) }

// Clone implements Net; the clone is a *UNet32.
func (u *UNet32) Clone() Net {
	np := len(u.master)
	return &UNet32{core: u.core.clone(), master: append([]float64(nil), u.master...),
		grads: make([]float64, np), g32: make([]float32, np)}
}

var (
	_ Trainable    = (*UNet)(nil)
	_ Trainable    = (*UNet32)(nil)
	_ ForwardVJPer = (*UNet)(nil)
	_ ForwardVJPer = (*UNet32)(nil)
)
