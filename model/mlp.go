package model

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// KindMLP is the Kind of MLP and MLP32 in checkpoints and the registry.
const KindMLP = "mlp"

func init() { Register(KindMLP, buildMLP) }

// New returns the network that cfg describes: an *MLP for Precision
// "float64" (the default) or an *MLP32 for "float32". Both are Trainable.
func New(cfg Config) (Net, error) {
	t, err := NewTrainable(cfg)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// NewTrainable is New, typed for training.
func NewTrainable(cfg Config) (Trainable, error) {
	cfg = cfg.WithDefaults()
	if cfg.Precision == Float32 {
		m, err := NewMLP32(cfg)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	m, err := NewMLP(cfg)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// newWith builds a network of a valid, defaulted cfg with the given parameters
// and buffers (copied).
func newWith(cfg Config, params, buffers []float64) Trainable {
	buffers = append([]float64(nil), buffers...)
	if cfg.Precision == Float32 {
		m := newMLP32(cfg, buffers)
		copy(m.master, params)
		m.SyncParams()
		return m
	}
	m := newMLP(cfg, buffers)
	copy(m.core.params, params)
	return m
}

// ParseConfig decodes an MLP's Config from the JSON of its MarshalConfig (a
// checkpoint's Config when its Kind is "mlp"), rejecting unknown fields, and
// returns it with the defaults filled in and validated.
func ParseConfig(data []byte) (Config, error) { return parseStrict[Config](data, "mlp") }

// parseStrict decodes a network config from exactly one JSON object,
// rejecting unknown fields (a checkpoint written by a newer sdekit, or
// hand-edited), and returns it defaulted and validated. what names the
// kind in errors.
func parseStrict[C interface {
	WithDefaults() C
	Validate() error
}](data []byte, what string) (C, error) {
	var cfg C
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("model: %s config: %w", what, err)
	}
	if dec.More() {
		return cfg, fmt.Errorf("model: %s config: data after the JSON object", what)
	}
	cfg = cfg.WithDefaults()
	return cfg, cfg.Validate()
}

// buildMLP is the Builder registered for KindMLP.
func buildMLP(config []byte, params, buffers []float64) (Trainable, error) {
	cfg, err := ParseConfig(config)
	if err != nil {
		return nil, err
	}
	return mlpWith(cfg, params, buffers)
}

func mlpWith(cfg Config, params, buffers []float64) (Trainable, error) {
	if np := cfg.NumParams(); len(params) != np {
		return nil, fmt.Errorf("model: mlp: mismatched: config implies %d parameters, got %d", np, len(params))
	}
	if nb := cfg.NumBuffers(); len(buffers) != nb {
		return nil, fmt.Errorf("model: mlp: mismatched: config implies %d buffers, got %d", nb, len(buffers))
	}
	return newWith(cfg, params, buffers), nil
}

// MLPWithPrecision returns the MLP net (an *MLP or *MLP32, for instance from
// a checkpoint's InferenceNet) with the same float64 parameters and buffers
// computing in precision "float64" or "float32". Float64 weights become
// float32 by rounding; the float64 master copy of an MLP32 gives back
// exactly the float64 network it was trained as.
func MLPWithPrecision(net Net, precision string) (Trainable, error) {
	var cfg Config
	var params, buffers []float64
	switch m := net.(type) {
	case *MLP:
		cfg, params, buffers = m.Config(), m.Params(), m.Buffers()
	case *MLP32:
		cfg, params, buffers = m.Config(), m.Params(), m.Buffers()
	default:
		return nil, fmt.Errorf("model: MLPWithPrecision: a %T is not an MLP; only MLPs (model.New) have a precision to change", net)
	}
	cfg.Precision = precision
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return mlpWith(cfg, params, buffers)
}

func checkPrecision(cfg Config, want string) (Config, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	if cfg.Precision != want {
		return cfg, fmt.Errorf("model: config: Precision = %q, this constructor builds %q", cfg.Precision, want)
	}
	return cfg, nil
}

// MLP is the float64 network. Its Params hold, for layer l = 1..L in order,
// W_l (in_l x out_l, row-major) followed by b_l (out_l), with
// in_1 = Dim+EmbedDim, out_l = Hidden[l-1] and out_L = Dim; its Buffers are
// the EmbedDim/2 Fourier frequencies W (none for the sinusoidal embedding).
type MLP struct {
	core  mlpCore[float64, k64]
	grads []float64
}

// NewMLP returns a float64 network with weights drawn from cfg.Seed.
// cfg.Precision must be "float64" or empty.
func NewMLP(cfg Config) (*MLP, error) {
	cfg, err := checkPrecision(cfg, Float64)
	if err != nil {
		return nil, err
	}
	params, buffers := initParams(cfg)
	m := newMLP(cfg, buffers)
	copy(m.core.params, params)
	return m, nil
}

func newMLP(cfg Config, buffers []float64) *MLP {
	m := &MLP{core: newCore[float64, k64](cfg, buffers)}
	m.grads = make([]float64, len(m.core.params))
	return m
}

// Config returns the network's configuration, defaults filled in.
func (m *MLP) Config() Config { return m.core.cfg.WithDefaults() }

// Dim returns the data dimension D.
func (m *MLP) Dim() int { return m.core.cfg.Dim }

// NumParams returns the number of trainable parameters.
func (m *MLP) NumParams() int { return len(m.core.params) }

// Classes returns the number of class labels of a conditional network
// (Config.Classes), 0 for an unconditional one.
func (m *MLP) Classes() int { return m.core.cfg.Classes }

// Forward implements Net. A conditional network computes its unconditional
// output (every label NullLabel).
func (m *MLP) Forward(dst, x, t []float64) { m.ForwardLabels(dst, x, t, nil) }

// ForwardLabels implements Conditional.
func (m *MLP) ForwardLabels(dst, x, t []float64, labels []int) {
	n := checkBatch("Forward", m.core.cfg.Dim, t, "dx", dst, x)
	checkLabels("Forward", labels, n, m.core.cfg.Classes)
	m.core.forward(x, t, n, labels)
	m.core.ws.ready = false
	copy(dst, m.core.output())
}

// ForwardTrain implements Trainable.
func (m *MLP) ForwardTrain(dst, x, t []float64) { m.ForwardTrainLabels(dst, x, t, nil) }

// ForwardTrainLabels implements ConditionalTrainable.
func (m *MLP) ForwardTrainLabels(dst, x, t []float64, labels []int) {
	m.ForwardLabels(dst, x, t, labels)
	m.core.ws.ready = true
}

// InputVJP implements Net.
func (m *MLP) InputVJP(dst, v, x, t []float64) { m.InputVJPLabels(dst, v, x, t, nil) }

// InputVJPLabels implements Conditional.
func (m *MLP) InputVJPLabels(dst, v, x, t []float64, labels []int) {
	n := checkBatch("InputVJP", m.core.cfg.Dim, t, "dvx", dst, v, x)
	checkLabels("InputVJP", labels, n, m.core.cfg.Classes)
	m.core.forward(x, t, n, labels)
	m.core.ws.ready = false
	m.core.backprop(v, nil, 0, dst)
}

// ForwardVJP implements ForwardVJPer: Forward and InputVJP from one
// forward pass.
func (m *MLP) ForwardVJP(out, vjp, v, x, t []float64) {
	n := checkBatch("ForwardVJP", m.core.cfg.Dim, t, "ojvx", out, vjp, v, x)
	m.core.forward(x, t, n, nil)
	m.core.ws.ready = false
	copy(out, m.core.output())
	m.core.backprop(v, nil, 0, vjp)
}

// ForwardTrace implements ForwardTracer.
func (m *MLP) ForwardTrace(out, tr, x, t []float64) {
	n := checkBatch("ForwardTrace", m.core.cfg.Dim, t, "ox", out, x)
	if len(tr) != n {
		panic(fmt.Sprintf("model: ForwardTrace: len(tr) = %d, want len(t) = %d", len(tr), n))
	}
	m.core.forward(x, t, n, nil)
	m.core.ws.ready = false
	copy(out, m.core.output())
	m.core.traceInto(tr)
}

// Backward implements Trainable.
func (m *MLP) Backward(dOut []float64) {
	if !m.core.ws.ready {
		panic("model: Backward without a preceding ForwardTrain")
	}
	if len(dOut) != m.core.ws.n*m.core.cfg.Dim {
		panic(fmt.Sprintf("model: Backward: len(dOut) = %d, want %d", len(dOut), m.core.ws.n*m.core.cfg.Dim))
	}
	m.core.backprop(dOut, m.grads, 1, nil)
}

// SetWorkers implements Trainable.
func (m *MLP) SetWorkers(n int) { setWorkers(&m.core.par, n, m) }

// Workers implements Trainable.
func (m *MLP) Workers() int { return m.core.par.count() }

// Params implements Trainable; for MLP it is the weights themselves. The
// caller may write to them, so the transposed weights of the input VJP are
// rebuilt on its next call (SyncParams does the same).
func (m *MLP) Params() []float64 {
	m.core.paramsChanged()
	return m.core.params
}

// SyncParams implements Trainable: in float64 it only marks the transposed
// weights of the input VJP for rebuilding.
func (m *MLP) SyncParams() { m.core.paramsChanged() }

// Grads implements Trainable.
func (m *MLP) Grads() []float64 { return m.grads }

// ZeroGrad implements Trainable.
func (m *MLP) ZeroGrad() { clear(m.grads) }

// Buffers implements Trainable.
func (m *MLP) Buffers() []float64 { return m.core.buffers }

// Kind implements Trainable: "mlp".
func (m *MLP) Kind() string { return KindMLP }

// MarshalConfig implements Trainable: the JSON of Config().
func (m *MLP) MarshalConfig() ([]byte, error) { return json.Marshal(m.Config()) }

// Clone implements Net; the clone is an *MLP.
func (m *MLP) Clone() Net {
	return &MLP{core: m.core.clone(), grads: make([]float64, len(m.grads))}
}

// MLP32 is the float32 network: weights, activations and products are float32
// (the BLAS's Sgemm, float32 SiLU kernels); the API takes and returns float64, and
// Params is a float64 master copy that SyncParams rounds to float32. The time
// embedding is computed in float64 and rounded.
type MLP32 struct {
	core   mlpCore[float32, k32]
	master []float64
	grads  []float64
	g32    []float32 // this batch's gradient before it is added to grads
	io32   []float32 // dOut or v rounded to float32, n x D
	dx32   []float32 // input VJP, n x D
}

// NewMLP32 returns a float32 network with weights drawn from cfg.Seed (the
// same draws as NewMLP, rounded). cfg.Precision must be "float32".
func NewMLP32(cfg Config) (*MLP32, error) {
	cfg, err := checkPrecision(cfg, Float32)
	if err != nil {
		return nil, err
	}
	params, buffers := initParams(cfg)
	m := newMLP32(cfg, buffers)
	copy(m.master, params)
	m.SyncParams()
	return m, nil
}

func newMLP32(cfg Config, buffers []float64) *MLP32 {
	m := &MLP32{core: newCore[float32, k32](cfg, buffers)}
	np := len(m.core.params)
	m.master = make([]float64, np)
	m.grads = make([]float64, np)
	m.g32 = make([]float32, np)
	return m
}

// Config returns the network's configuration, defaults filled in.
func (m *MLP32) Config() Config { return m.core.cfg.WithDefaults() }

// Dim returns the data dimension D.
func (m *MLP32) Dim() int { return m.core.cfg.Dim }

// NumParams returns the number of trainable parameters.
func (m *MLP32) NumParams() int { return len(m.core.params) }

func (m *MLP32) reserveIO(n int) {
	if need := n * m.core.cfg.Dim; len(m.io32) < need {
		m.io32 = make([]float32, need)
		m.dx32 = make([]float32, need)
	}
}

// Classes returns the number of class labels of a conditional network
// (Config.Classes), 0 for an unconditional one.
func (m *MLP32) Classes() int { return m.core.cfg.Classes }

// Forward implements Net. A conditional network computes its unconditional
// output (every label NullLabel).
func (m *MLP32) Forward(dst, x, t []float64) { m.ForwardLabels(dst, x, t, nil) }

// ForwardLabels implements Conditional.
func (m *MLP32) ForwardLabels(dst, x, t []float64, labels []int) {
	n := checkBatch("Forward", m.core.cfg.Dim, t, "dx", dst, x)
	checkLabels("Forward", labels, n, m.core.cfg.Classes)
	m.core.forward(x, t, n, labels)
	m.core.ws.ready = false
	for i, v := range m.core.output() {
		dst[i] = float64(v)
	}
}

// ForwardTrain implements Trainable.
func (m *MLP32) ForwardTrain(dst, x, t []float64) { m.ForwardTrainLabels(dst, x, t, nil) }

// ForwardTrainLabels implements ConditionalTrainable.
func (m *MLP32) ForwardTrainLabels(dst, x, t []float64, labels []int) {
	m.ForwardLabels(dst, x, t, labels)
	m.core.ws.ready = true
}

// InputVJP implements Net.
func (m *MLP32) InputVJP(dst, v, x, t []float64) { m.InputVJPLabels(dst, v, x, t, nil) }

// InputVJPLabels implements Conditional.
func (m *MLP32) InputVJPLabels(dst, v, x, t []float64, labels []int) {
	n := checkBatch("InputVJP", m.core.cfg.Dim, t, "dvx", dst, v, x)
	checkLabels("InputVJP", labels, n, m.core.cfg.Classes)
	m.core.forward(x, t, n, labels)
	m.core.ws.ready = false
	m.inputVJP(dst, v, n)
}

// ForwardVJP implements ForwardVJPer: Forward and InputVJP from one
// forward pass.
func (m *MLP32) ForwardVJP(out, vjp, v, x, t []float64) {
	n := checkBatch("ForwardVJP", m.core.cfg.Dim, t, "ojvx", out, vjp, v, x)
	m.core.forward(x, t, n, nil)
	m.core.ws.ready = false
	for i, e := range m.core.output() {
		out[i] = float64(e)
	}
	m.inputVJP(vjp, v, n)
}

// ForwardTrace implements ForwardTracer.
func (m *MLP32) ForwardTrace(out, tr, x, t []float64) {
	n := checkBatch("ForwardTrace", m.core.cfg.Dim, t, "ox", out, x)
	if len(tr) != n {
		panic(fmt.Sprintf("model: ForwardTrace: len(tr) = %d, want len(t) = %d", len(tr), n))
	}
	m.core.forward(x, t, n, nil)
	m.core.ws.ready = false
	for i, e := range m.core.output() {
		out[i] = float64(e)
	}
	m.core.traceInto(tr)
}

// inputVJP back-propagates v through the last forward into dst.
func (m *MLP32) inputVJP(dst, v []float64, n int) {
	m.reserveIO(n)
	v32, dx := m.io32[:len(v)], m.dx32[:len(dst)]
	for i, e := range v {
		v32[i] = float32(e)
	}
	m.core.backprop(v32, nil, 0, dx)
	for i, e := range dx {
		dst[i] = float64(e)
	}
}

// Backward implements Trainable. The batch's gradient is computed in float32
// and added to the float64 Grads.
func (m *MLP32) Backward(dOut []float64) {
	if !m.core.ws.ready {
		panic("model: Backward without a preceding ForwardTrain")
	}
	n := m.core.ws.n
	if len(dOut) != n*m.core.cfg.Dim {
		panic(fmt.Sprintf("model: Backward: len(dOut) = %d, want %d", len(dOut), n*m.core.cfg.Dim))
	}
	m.reserveIO(n)
	d32 := m.io32[:len(dOut)]
	for i, e := range dOut {
		d32[i] = float32(e)
	}
	m.core.backprop(d32, m.g32, 0, nil)
	for i, e := range m.g32 {
		m.grads[i] += float64(e)
	}
}

// SetWorkers implements Trainable.
func (m *MLP32) SetWorkers(n int) { setWorkers(&m.core.par, n, m) }

// Workers implements Trainable.
func (m *MLP32) Workers() int { return m.core.par.count() }

// Params implements Trainable: the float64 master copy.
func (m *MLP32) Params() []float64 { return m.master }

// SyncParams rounds the master parameters to the float32 weights.
func (m *MLP32) SyncParams() { m.core.setParams(m.master) }

// Grads implements Trainable.
func (m *MLP32) Grads() []float64 { return m.grads }

// ZeroGrad implements Trainable.
func (m *MLP32) ZeroGrad() { clear(m.grads) }

// Buffers implements Trainable.
func (m *MLP32) Buffers() []float64 { return m.core.buffers }

// Kind implements Trainable: "mlp", as for MLP (Config.Precision tells them apart).
func (m *MLP32) Kind() string { return KindMLP }

// MarshalConfig implements Trainable: the JSON of Config().
func (m *MLP32) MarshalConfig() ([]byte, error) { return json.Marshal(m.Config()) }

// Clone implements Net; the clone is an *MLP32.
func (m *MLP32) Clone() Net {
	np := len(m.master)
	return &MLP32{
		core:   m.core.clone(),
		master: append([]float64(nil), m.master...),
		grads:  make([]float64, np),
		g32:    make([]float32, np),
	}
}

var (
	_ ConditionalTrainable = (*MLP)(nil)
	_ ConditionalTrainable = (*MLP32)(nil)
	_ ForwardVJPer         = (*MLP)(nil)
	_ ForwardVJPer         = (*MLP32)(nil)
	_ ForwardTracer        = (*MLP)(nil)
	_ ForwardTracer        = (*MLP32)(nil)
)
