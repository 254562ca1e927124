package model

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

// KindClassifier is the Kind of a Classifier in checkpoints. Classifiers are
// not score networks (their output is C logits, not D values), so they are
// not in the registry of Build: Checkpoint.Classifier rebuilds them, and
// Checkpoint.Net refuses them with an error that says so.
const KindClassifier = "mlp-classifier"

// ClassifierConfig describes a noise-conditional MLP classifier: x (Dim
// values) joined with the time embedding of an MLP (Embedding, EmbedDim,
// FourierScale and TimeScale as in Config, with the same defaults), hidden
// SiLU layers of the given widths (at least one: its last layer's
// activations are the features), and Classes logits.
type ClassifierConfig struct {
	Dim     int   `json:"dim"`     // data dimension D, >= 1
	Classes int   `json:"classes"` // number of classes C, >= 2
	Hidden  []int `json:"hidden"`  // hidden widths, at least one layer

	Embedding    string  `json:"embedding"`
	EmbedDim     int     `json:"embed_dim"`
	FourierScale float64 `json:"fourier_scale"`
	TimeScale    float64 `json:"time_scale"`
	Seed         uint64  `json:"seed"`
}

// mlp returns the MLP Config whose input layer, embedding and hidden layers
// the classifier shares (float64, unconditional).
func (c ClassifierConfig) mlp() Config {
	return Config{Dim: c.Dim, Hidden: append([]int(nil), c.Hidden...), Embedding: c.Embedding,
		EmbedDim: c.EmbedDim, FourierScale: c.FourierScale, TimeScale: c.TimeScale,
		Precision: Float64, Seed: c.Seed}
}

// WithDefaults returns c with the time embedding's defaults (those of
// Config.WithDefaults) filled in.
func (c ClassifierConfig) WithDefaults() ClassifierConfig {
	m := c.mlp().WithDefaults()
	c.Hidden = m.Hidden
	c.Embedding, c.EmbedDim, c.FourierScale, c.TimeScale = m.Embedding, m.EmbedDim, m.FourierScale, m.TimeScale
	return c
}

// Validate reports whether c (after WithDefaults) describes a classifier.
func (c ClassifierConfig) Validate() error {
	c = c.WithDefaults()
	if err := c.mlp().Validate(); err != nil {
		return err
	}
	if c.Classes < 2 {
		return fmt.Errorf("model: classifier config: Classes = %d, want >= 2", c.Classes)
	}
	if len(c.Hidden) == 0 {
		return fmt.Errorf("model: classifier config: no hidden layer; give at least one (its activations are the features)")
	}
	return nil
}

// widths returns [D+E, Hidden..., C] of a defaulted config.
func (c ClassifierConfig) widths() []int {
	w := append([]int{c.Dim + c.EmbedDim}, c.Hidden...)
	return append(w, c.Classes)
}

// NumParams returns the number of trainable parameters.
func (c ClassifierConfig) NumParams() int { return layerParams(c.WithDefaults().widths()) }

// ParseClassifierConfig decodes a ClassifierConfig from its JSON (a
// checkpoint's Config when its Kind is KindClassifier), rejecting unknown
// fields, and returns it defaulted and validated.
func ParseClassifierConfig(data []byte) (ClassifierConfig, error) {
	return parseStrict[ClassifierConfig](data, "classifier")
}

// Classifier is a noise-conditional MLP classifier: logits
// l(x, t) = MLP(x, t) in R^C, p_t(c | x) = softmax(l)_c. It computes in
// float64 on the MLP's core (same layers, kernels, workers and parameter
// layout: W_l then b_l for each layer, the last of C outputs). With t = 0
// throughout training it is a clean classifier.
type Classifier struct {
	cfg   ClassifierConfig
	core  mlpCore[float64, k64]
	grads []float64
	p, v  []float64 // softmax probabilities and the backward seed, n x C
}

// NewClassifier returns a classifier with weights drawn from cfg.Seed (as
// an MLP draws them: the Fourier frequencies, then each layer).
func NewClassifier(cfg ClassifierConfig) (*Classifier, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	params, buffers := initWidths(cfg.mlp(), cfg.widths(), 0)
	return newClassifier(cfg, params, buffers), nil
}

func newClassifier(cfg ClassifierConfig, params, buffers []float64) *Classifier {
	c := &Classifier{cfg: cfg}
	c.core = newCoreWidths[float64, k64](cfg.mlp().WithDefaults(), cfg.widths(), append([]float64(nil), buffers...))
	copy(c.core.params, params)
	c.grads = make([]float64, len(c.core.params))
	return c
}

// BuildClassifier rebuilds a classifier from the JSON of its MarshalConfig,
// its parameters and buffers (copied).
func BuildClassifier(config []byte, params, buffers []float64) (*Classifier, error) {
	cfg, err := ParseClassifierConfig(config)
	if err != nil {
		return nil, err
	}
	if np := cfg.NumParams(); len(params) != np {
		return nil, fmt.Errorf("model: classifier: mismatched: config implies %d parameters, got %d", np, len(params))
	}
	if nb := cfg.mlp().NumBuffers(); len(buffers) != nb {
		return nil, fmt.Errorf("model: classifier: mismatched: config implies %d buffers, got %d", nb, len(buffers))
	}
	return newClassifier(cfg, params, buffers), nil
}

// Config returns the classifier's configuration, defaults filled in.
func (c *Classifier) Config() ClassifierConfig {
	cfg := c.cfg
	cfg.Hidden = slices.Clone(cfg.Hidden)
	return cfg
}

// Dim returns the data dimension D.
func (c *Classifier) Dim() int { return c.cfg.Dim }

// Classes returns the number of classes C.
func (c *Classifier) Classes() int { return c.cfg.Classes }

// FeatureDim returns the number of features (the last hidden width).
func (c *Classifier) FeatureDim() int { return c.cfg.Hidden[len(c.cfg.Hidden)-1] }

// Kind returns KindClassifier.
func (c *Classifier) Kind() string { return KindClassifier }

// MarshalConfig returns the JSON of Config().
func (c *Classifier) MarshalConfig() ([]byte, error) { return json.Marshal(c.Config()) }

// NumParams returns the number of trainable parameters.
func (c *Classifier) NumParams() int { return len(c.core.params) }

// Params returns the parameters (a view).
// The caller may write to them, so the transposed weights of the input
// gradient are rebuilt on its next call (SyncParams does the same).
func (c *Classifier) Params() []float64 {
	c.core.paramsChanged()
	return c.core.params
}

// SyncParams marks the transposed weights of the input gradient for
// rebuilding (float64 only: there is nothing to round); call it after
// writing Params.
func (c *Classifier) SyncParams() { c.core.paramsChanged() }

// Grads returns the parameter gradient (a view).
func (c *Classifier) Grads() []float64 { return c.grads }

// ZeroGrad sets Grads to zero.
func (c *Classifier) ZeroGrad() { clear(c.grads) }

// Buffers returns the Fourier frequencies (nil for the sinusoidal embedding).
func (c *Classifier) Buffers() []float64 { return c.core.buffers }

// SetWorkers makes the products use n goroutines; results do not depend on n.
func (c *Classifier) SetWorkers(n int) { setWorkers(&c.core.par, n, c) }

// Workers returns the number set by SetWorkers.
func (c *Classifier) Workers() int { return c.core.par.count() }

// Clone returns a deep copy with its own workspace and zero gradients.
func (c *Classifier) Clone() *Classifier {
	d := &Classifier{cfg: c.Config(), core: c.core.clone()}
	d.grads = make([]float64, len(c.grads))
	return d
}

// batch checks a batch of x and t and that dst holds n x width values.
func (c *Classifier) batch(op string, x, t []float64, dst []float64, width int) int {
	n := checkBatch(op, c.cfg.Dim, t, "x", x)
	if len(dst) != n*width {
		panic(fmt.Sprintf("model: Classifier.%s: len(dst) = %d, want %d x %d", op, len(dst), n, width))
	}
	return n
}

// LogitsTo writes the n x C logits l(x_i, t_i).
func (c *Classifier) LogitsTo(dst, x, t []float64) {
	n := c.batch("LogitsTo", x, t, dst, c.cfg.Classes)
	c.core.forward(x, t, n, nil)
	c.core.ws.ready = false
	copy(dst, c.core.output())
}

// ForwardTrain is LogitsTo that keeps the activations for Backward.
func (c *Classifier) ForwardTrain(dst, x, t []float64) {
	c.LogitsTo(dst, x, t)
	c.core.ws.ready = true
}

// Backward adds to Grads the gradient of a loss given dLogits = dLoss/dl
// (n x C) for the batch of the last ForwardTrain.
func (c *Classifier) Backward(dLogits []float64) {
	if !c.core.ws.ready {
		panic("model: Classifier.Backward without a preceding ForwardTrain")
	}
	if len(dLogits) != c.core.ws.n*c.cfg.Classes {
		panic(fmt.Sprintf("model: Classifier.Backward: len(dLogits) = %d, want %d", len(dLogits), c.core.ws.n*c.cfg.Classes))
	}
	c.core.backprop(dLogits, c.grads, 1, nil)
}

// Features writes the activations of the last hidden layer, n x
// FeatureDim(): the representation a Frechet distance compares.
func (c *Classifier) Features(dst, x, t []float64) {
	n := c.batch("Features", x, t, dst, c.FeatureDim())
	c.core.forward(x, t, n, nil)
	c.core.ws.ready = false
	L := len(c.core.widths) - 1
	copy(dst, c.core.ws.a[L-2][:len(dst)])
}

// LogProbGradTo writes grad_x log p_t(c_i | x_i) = grad_x log softmax(l)_c
// for each row: the backward pass of the seed e_c - softmax(l) (the
// gradient of log softmax_c with respect to the logits). labels[i] must be
// in 0..C-1.
func (c *Classifier) LogProbGradTo(dst, x, t []float64, labels []int) {
	n := c.batch("LogProbGradTo", x, t, dst, c.cfg.Dim)
	nc := c.cfg.Classes
	checkClassLabels("Classifier.LogProbGradTo", labels, n, nc)
	c.core.forward(x, t, n, nil)
	c.core.ws.ready = false
	if len(c.v) < n*nc {
		c.v = make([]float64, n*nc)
	}
	v := c.v[:n*nc]
	softmaxRows(v, c.core.output(), nc)
	for i, y := range labels {
		row := v[i*nc : (i+1)*nc]
		for j := range row {
			row[j] = -row[j]
		}
		row[y]++
	}
	c.core.backprop(v, nil, 0, dst)
}

// LogProbTo writes log p_t(c | x_i) for every class, n x C (log softmax).
func (c *Classifier) LogProbTo(dst, x, t []float64) {
	c.LogitsTo(dst, x, t)
	logSoftmaxRows(dst, c.cfg.Classes)
}

// Predict writes the most probable class of each row (the first of equal
// logits) into dst (len(t) values).
func (c *Classifier) Predict(dst []int, x, t []float64) {
	n := checkBatch("Predict", c.cfg.Dim, t, "x", x)
	if len(dst) != n {
		panic(fmt.Sprintf("model: Classifier.Predict: len(dst) = %d, want %d", len(dst), n))
	}
	c.core.forward(x, t, n, nil)
	c.core.ws.ready = false
	nc := c.cfg.Classes
	out := c.core.output()
	for i := range dst {
		row := out[i*nc : (i+1)*nc]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		dst[i] = best
	}
}

// CrossEntropy returns the mean cross-entropy -(1/n) sum_i log
// softmax(l_i)_{y_i} of the n x C logits and writes its gradient with
// respect to the logits, (softmax(l_i) - e_{y_i})/n, into dLogits (n x C).
func CrossEntropy(dLogits, logits []float64, labels []int, classes int) float64 {
	n := len(labels)
	if len(logits) != n*classes || len(dLogits) != n*classes {
		panic(fmt.Sprintf("model: CrossEntropy: %d labels, %d logits, %d gradients for %d classes", n, len(logits), len(dLogits), classes))
	}
	checkClassLabels("CrossEntropy", labels, n, classes)
	copy(dLogits, logits)
	logSoftmaxRows(dLogits, classes)
	var loss float64
	inv := 1 / float64(n)
	for i, y := range labels {
		row := dLogits[i*classes : (i+1)*classes]
		loss -= row[y]
		for j, v := range row {
			row[j] = math.Exp(v) * inv
		}
		row[y] -= inv
	}
	return loss * inv
}

// checkClassLabels panics unless labels has n entries in 0..classes-1.
func checkClassLabels(op string, labels []int, n, classes int) {
	if len(labels) != n {
		panic(fmt.Sprintf("model: %s: len(labels) = %d, want %d", op, len(labels), n))
	}
	for i, y := range labels {
		if y < 0 || y >= classes {
			panic(fmt.Sprintf("model: %s: labels[%d] = %d, want 0..%d", op, i, y, classes-1))
		}
	}
}

// logSoftmaxRows replaces each row of the n x w a by its log softmax,
// l_j - max - log sum exp(l - max) (shifted by the maximum so exp cannot
// overflow).
func logSoftmaxRows(a []float64, w int) {
	for i := 0; i+w <= len(a); i += w {
		row := a[i : i+w]
		m := slices.Max(row)
		var s float64
		for _, v := range row {
			s += math.Exp(v - m)
		}
		lse := m + math.Log(s)
		for j := range row {
			row[j] -= lse
		}
	}
}

// softmaxRows writes the softmax of each row of the n x w src into dst.
func softmaxRows(dst, src []float64, w int) {
	copy(dst, src)
	logSoftmaxRows(dst, w)
	for j, v := range dst {
		dst[j] = math.Exp(v)
	}
}
