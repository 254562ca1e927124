package model

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gonum.org/v1/gonum/diff/fd"
)

// smallClassifiers cover both embeddings, odd widths (AVX2 bodies and
// scalar tails) and one and two hidden layers.
func smallClassifiers() []ClassifierConfig {
	return []ClassifierConfig{
		{Dim: 3, Classes: 4, Hidden: []int{6, 5}, EmbedDim: 4, FourierScale: 2, Seed: 1},
		{Dim: 2, Classes: 3, Hidden: []int{11}, Embedding: EmbeddingSinusoidal, EmbedDim: 6, Seed: 2},
	}
}

func mustClassifier(t testing.TB, cfg ClassifierConfig) *Classifier {
	t.Helper()
	c, err := NewClassifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func randLabels(seed uint64, n, classes int) []int {
	r := rand.New(rand.NewPCG(seed, 7))
	y := make([]int, n)
	for i := range y {
		y[i] = r.IntN(classes)
	}
	return y
}

// TestClassifierParamGradFD checks Backward of the cross-entropy against
// central differences of CrossEntropy over every parameter.
func TestClassifierParamGradFD(t *testing.T) {
	for _, cfg := range smallClassifiers() {
		c := mustClassifier(t, cfg)
		const n = 5
		x, tt, _ := batch(21, n, cfg.Dim)
		y := randLabels(1, n, cfg.Classes)
		logits, dl := make([]float64, n*cfg.Classes), make([]float64, n*cfg.Classes)
		c.ZeroGrad()
		c.ForwardTrain(logits, x, tt)
		CrossEntropy(dl, logits, y, cfg.Classes)
		c.Backward(dl)
		got := append([]float64(nil), c.Grads()...)
		p0 := append([]float64(nil), c.Params()...)
		loss := func(p []float64) float64 {
			copy(c.Params(), p)
			c.LogitsTo(logits, x, tt)
			return CrossEntropy(dl, logits, y, cfg.Classes)
		}
		want := fd.Gradient(nil, loss, p0, &fd.Settings{Formula: fd.Central, Step: 1e-5})
		copy(c.Params(), p0)
		// Step and tolerance as TestParamGradFD's float64 case: truncation
		// and rounding errors ~2e-11 for an O(1) loss.
		checkGrad(t, Config{}, "theta", got, want, 1e-8, 1e-8)
	}
}

// TestClassifierInputGradFD checks LogProbGradTo = grad_x log softmax_c
// against central differences of LogProbTo, row by row (rows are
// independent, so the FD gradient of the sum over rows of log p(c_i | x_i)
// with respect to row i is row i of the result).
func TestClassifierInputGradFD(t *testing.T) {
	for _, cfg := range smallClassifiers() {
		c := mustClassifier(t, cfg)
		const n = 6
		x, tt, _ := batch(22, n, cfg.Dim)
		y := randLabels(2, n, cfg.Classes)
		got := make([]float64, n*cfg.Dim)
		c.LogProbGradTo(got, x, tt, y)
		lp := make([]float64, n*cfg.Classes)
		f := func(x []float64) float64 {
			c.LogProbTo(lp, x, tt)
			var s float64
			for i, yi := range y {
				s += lp[i*cfg.Classes+yi]
			}
			return s
		}
		want := fd.Gradient(nil, f, x, &fd.Settings{Formula: fd.Central, Step: 1e-5})
		// As TestInputVJPFD's float64 case.
		checkGrad(t, Config{}, "dx", got, want, 1e-8, 1e-8)
	}
}

// TestCrossEntropy checks the loss against its definition on logits with a
// closed form: equal logits give log C, and a shift of all logits of a row
// changes nothing (the max-shift must not either).
func TestCrossEntropy(t *testing.T) {
	const c = 4
	logits := []float64{0, 0, 0, 0, 1000, 1000, 1000, 1000}
	dl := make([]float64, len(logits))
	got := CrossEntropy(dl, logits, []int{1, 3}, c)
	// The second row's log-sum-exp 1000 + log 4 is rounded to the spacing of
	// floats near 1000, 1.1e-13, so its log softmax and exp of it carry
	// that error: tolerance 2e-13.
	if math.Abs(got-math.Log(c)) > 2e-13 {
		t.Errorf("loss %v, want log 4 = %v", got, math.Log(c))
	}
	for i, v := range dl {
		want := 0.25 / 2
		if i == 1 || i == 4+3 {
			want -= 0.5
		}
		if math.Abs(v-want) > 2e-13 {
			t.Errorf("dl[%d] = %v, want %v", i, v, want)
		}
	}
}

// TestClassifierFeatures checks that the logits are the last layer applied
// to Features: l = F W_L + b_L, computed here by hand from Params.
func TestClassifierFeatures(t *testing.T) {
	cfg := smallClassifiers()[0]
	c := mustClassifier(t, cfg)
	const n = 3
	x, tt, _ := batch(23, n, cfg.Dim)
	h := c.FeatureDim()
	feat, logits := make([]float64, n*h), make([]float64, n*cfg.Classes)
	c.Features(feat, x, tt)
	c.LogitsTo(logits, x, tt)
	p := c.Params()
	w := p[len(p)-h*cfg.Classes-cfg.Classes:]
	for i := 0; i < n; i++ {
		for k := 0; k < cfg.Classes; k++ {
			s := w[h*cfg.Classes+k]
			for j := 0; j < h; j++ {
				s += feat[i*h+j] * w[j*cfg.Classes+k]
			}
			// A sum of 6 products of O(1) values in another order: 1e-14.
			if math.Abs(s-logits[i*cfg.Classes+k]) > 1e-14 {
				t.Errorf("row %d class %d: F W + b = %v, logit %v", i, k, s, logits[i*cfg.Classes+k])
			}
		}
	}
	pred := make([]int, n)
	c.Predict(pred, x, tt)
	for i, k := range pred {
		row := logits[i*cfg.Classes : (i+1)*cfg.Classes]
		for _, v := range row {
			if v > row[k] {
				t.Errorf("row %d: Predict %d is not the largest logit of %v", i, k, row)
			}
		}
	}
}

// TestClassifierCheckpoint saves and rebuilds a classifier bit for bit, and
// checks that a classifier checkpoint given as a score network and the
// reverse are each one error that names what the file holds.
func TestClassifierCheckpoint(t *testing.T) {
	c := mustClassifier(t, smallClassifiers()[0])
	ema := &EMA{Decay: 0.9, Shadow: append([]float64(nil), c.Params()...)}
	ema.Shadow[0] += 0.5
	ck, err := NewCheckpoint(c, 3, nil, ema)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "c.ckpt")
	if err := SaveCheckpoint(path, ck); err != nil {
		t.Fatal(err)
	}
	got, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != KindClassifier {
		t.Errorf("kind %q", got.Kind)
	}
	rc, err := got.Classifier()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(ema.Shadow, rc.Params()); d != "" {
		t.Errorf("Classifier() does not carry the EMA weights:\n%s", d)
	}
	if d := cmp.Diff(c.Config(), rc.Config()); d != "" {
		t.Errorf("config:\n%s", d)
	}
	if _, err := got.InferenceNet(); err == nil || !strings.Contains(err.Error(), "holds a classifier") {
		t.Errorf("a classifier as a score network: %v", err)
	}
	net := mustNet(t, Config{Dim: 3, Hidden: []int{4}, EmbedDim: 4, Seed: 1})
	sk, err := NewCheckpoint(net, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sk.Classifier(); err == nil || !strings.Contains(err.Error(), "holds a score network") {
		t.Errorf("a score network as a classifier: %v", err)
	}
	// A corrupted parameter count is caught on save, as for an MLP.
	ck.Params = ck.Params[1:]
	ck.EMA = nil
	if err := SaveCheckpoint(path, ck); err == nil || !strings.Contains(err.Error(), "mismatched") {
		t.Errorf("short parameters: %v", err)
	}
}

func TestClassifierConfigErrors(t *testing.T) {
	for _, cfg := range []ClassifierConfig{
		{Dim: 2, Classes: 1, Hidden: []int{4}},
		{Dim: 2, Classes: 3},
		{Dim: 0, Classes: 3, Hidden: []int{4}},
	} {
		if _, err := NewClassifier(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

// TestClassifierGradFollowsParams: LogProbGradTo after new parameters
// (written through Params taken before the first call, then SyncParams)
// equals, bit for bit, that of a classifier built afresh from them; its
// cached transposed weights must not outlive the weights.
func TestClassifierGradFollowsParams(t *testing.T) {
	for _, cfg := range smallClassifiers() {
		c := mustClassifier(t, cfg)
		const n = 4
		x, tt, _ := batch(41, n, cfg.Dim)
		y := randLabels(42, n, cfg.Classes)
		p := c.Params()
		got := make([]float64, n*cfg.Dim)
		c.LogProbGradTo(got, x, tt, y) // builds the transposed weights
		for i := range p {
			p[i] *= 1.25
		}
		c.SyncParams()
		c.LogProbGradTo(got, x, tt, y)
		want := make([]float64, n*cfg.Dim)
		newClassifier(cfg.WithDefaults(), p, c.Buffers()).LogProbGradTo(want, x, tt, y)
		for i := range want {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("%+v: gradient[%d] = %v after new parameters, a fresh classifier gives %v", cfg, i, got[i], want[i])
			}
		}
	}
}
