package score_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// affine is an architecture that package score, cmd and nb know nothing of:
// out = W [x, t] + b, with W of D x (D+1) and b of D, written here with its
// own backward pass and input VJP. Params are W (row-major) then b.
type affine struct {
	d      int
	p, g   []float64
	x, t   []float64 // the batch of the last ForwardTrain
	pushed bool
}

const kindAffine = "test-affine"

type affineConfig struct {
	Dim int `json:"dim"`
}

func init() {
	model.Register(kindAffine, func(config []byte, params, buffers []float64) (model.Trainable, error) {
		var c affineConfig
		if err := json.Unmarshal(config, &c); err != nil {
			return nil, fmt.Errorf("affine config: %w", err)
		}
		if c.Dim < 1 {
			return nil, fmt.Errorf("affine config: dim %d, want >= 1", c.Dim)
		}
		m := newAffine(c.Dim)
		if len(params) != len(m.p) || len(buffers) != 0 {
			return nil, fmt.Errorf("affine: dim %d takes %d parameters and no buffers, got %d and %d", c.Dim, len(m.p), len(params), len(buffers))
		}
		copy(m.p, params)
		return m, nil
	})
}

func newAffine(d int) *affine {
	n := d*(d+1) + d
	return &affine{d: d, p: make([]float64, n), g: make([]float64, n)}
}

func (m *affine) w(i, j int) float64 { return m.p[i*(m.d+1)+j] }
func (m *affine) b(i int) float64    { return m.p[m.d*(m.d+1)+i] }

func (m *affine) Dim() int { return m.d }

func (m *affine) Forward(dst, x, t []float64) {
	d := m.d
	out := make([]float64, d)
	for r, tr := range t {
		xr := x[r*d : (r+1)*d]
		for i := range out {
			s := m.w(i, d)*tr + m.b(i)
			for j, v := range xr {
				s += m.w(i, j) * v
			}
			out[i] = s
		}
		copy(dst[r*d:], out) // dst may be x
	}
	m.pushed = false
}

func (m *affine) InputVJP(dst, v, x, t []float64) {
	d := m.d
	for r := range t {
		vr := v[r*d : (r+1)*d]
		for j := 0; j < d; j++ {
			var s float64
			for i, e := range vr {
				s += e * m.w(i, j)
			}
			dst[r*d+j] = s
		}
	}
	m.pushed = false
}

func (m *affine) Clone() model.Net {
	c := newAffine(m.d)
	copy(c.p, m.p)
	return c
}

func (m *affine) Kind() string { return kindAffine }
func (m *affine) MarshalConfig() ([]byte, error) {
	return json.Marshal(affineConfig{Dim: m.d})
}
func (m *affine) NumParams() int     { return len(m.p) }
func (m *affine) Params() []float64  { return m.p }
func (m *affine) SyncParams()        {}
func (m *affine) Grads() []float64   { return m.g }
func (m *affine) ZeroGrad()          { clear(m.g) }
func (m *affine) Buffers() []float64 { return nil }
func (m *affine) SetWorkers(int)     {}
func (m *affine) Workers() int       { return 1 }

func (m *affine) ForwardTrain(dst, x, t []float64) {
	m.x = append(m.x[:0], x...)
	m.t = append(m.t[:0], t...)
	m.Forward(dst, x, t)
	m.pushed = true
}

// Backward: dW_ij += sum_r dOut_ri [x_r, t_r]_j, db_i += sum_r dOut_ri.
func (m *affine) Backward(dOut []float64) {
	if !m.pushed {
		panic("affine: Backward without ForwardTrain")
	}
	d := m.d
	for r, tr := range m.t {
		xr := m.x[r*d : (r+1)*d]
		for i := 0; i < d; i++ {
			g := dOut[r*d+i]
			row := m.g[i*(d+1) : (i+1)*(d+1)]
			for j, v := range xr {
				row[j] += g * v
			}
			row[d] += g * tr
			m.g[d*(d+1)+i] += g
		}
	}
}

// TestOtherArchitecture trains a network defined outside sdekit (affine,
// registered above) with score's trainer, saves it, loads it with LoadNet
// and resumes it: nothing in score, cmd or nb knows the architecture. The
// loaded score must equal the trainer's bit for bit (same weights, same
// code), and so must a resumed run equal the uninterrupted one.
func TestOtherArchitecture(t *testing.T) {
	net0 := newAffine(2)
	for i := range net0.p {
		net0.p[i] = 0.1 * float64(i%5-2)
	}
	cfg := score.TrainConfig{SDE: sde.NewVP(), Data: data.GMM8{}, Model: net0,
		Steps: 40, Batch: 16, LR: 1e-2, EMA: 0.9, Seed: 3}
	tr, err := score.NewTrainer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var losses []float64
	if err := tr.Run(context.Background(), func(p score.TrainProgress) error {
		losses = append(losses, p.Loss)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if net0.p[0] != -0.2 {
		t.Error("the trainer changed the network it was given, not a clone")
	}
	if tr.Model().Kind() != kindAffine {
		t.Errorf("trained a %s", tr.Model().Kind())
	}
	path := filepath.Join(t.TempDir(), "affine.ckpt")
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Kind != kindAffine || string(ck.Config) != `{"dim":2}` {
		t.Errorf("checkpoint records kind %q, config %s", ck.Kind, ck.Config)
	}
	loaded, err := score.LoadNet(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := tr.Score()
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{1, -2, 0.5, 3, -4, 0.25}
	ts := []float64{0.01, 0.5, 1}
	v := []float64{0.3, -1, 2, 0.5, 1, 1}
	for _, c := range []struct {
		name string
		f    func(s *score.Net, dst []float64)
	}{
		{"ScoreTo", func(s *score.Net, dst []float64) { s.ScoreTo(dst, x, ts) }},
		{"VJPTo", func(s *score.Net, dst []float64) { s.VJPTo(dst, v, x, ts) }},
	} {
		a, b := make([]float64, len(x)), make([]float64, len(x))
		c.f(mem, a)
		c.f(loaded, b)
		for i := range a {
			if math.Float64bits(a[i]) != math.Float64bits(b[i]) || math.IsNaN(a[i]) {
				t.Errorf("%s: loaded %v, in memory %v", c.name, b, a)
				break
			}
		}
	}
	// The score is -out/std(t) (eps parameterisation, the VP default):
	// check one row by hand from the EMA weights.
	w := ck.EMA.Shadow
	_, std := sde.NewVP().Marginal(ts[1])
	got := make([]float64, len(x))
	loaded.ScoreTo(got, x, ts)
	for i := 0; i < 2; i++ {
		o := w[i*3]*x[2] + w[i*3+1]*x[3] + w[i*3+2]*ts[1] + w[6+i]
		if want := -o / std; math.Abs(got[2+i]-want) > 1e-12*math.Abs(want) {
			// Same operations in another order: a few ulp.
			t.Errorf("score[1][%d] = %v, by hand %v", i, got[2+i], want)
		}
	}

	// Resuming at step 20 of 40 gives the uninterrupted run's bits.
	half := cfg
	half.Steps = 20
	tr2, err := score.NewTrainer(half)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr2.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	mid, err := tr2.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	re, err := score.ResumeTrainer(cfg, mid)
	if err != nil {
		t.Fatal(err)
	}
	if err := re.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(re.Model().Params(), tr.Model().Params()) {
		t.Error("resumed run differs from the uninterrupted one")
	}
	wrong := cfg
	wrong.Model = mustMLP(t, model.Config{Dim: 2, Seed: 3})
	if _, err := score.ResumeTrainer(wrong, mid); err == nil {
		t.Error("resumed an affine checkpoint with an MLP")
	}
	t.Logf("affine: loss %.3g (first 5 steps) -> %.3g (last 5)", mean(losses[:5]), mean(losses[35:]))
}

func mean(v []float64) float64 {
	var s float64
	for _, e := range v {
		s += e
	}
	return s / float64(len(v))
}

func mustMLP(t *testing.T, cfg model.Config) model.Trainable {
	t.Helper()
	net, err := model.NewTrainable(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// TestLoadVersion1 loads testdata/mlp-v1.ckpt, which the code before network
// kinds wrote (format version 1: the MLP's Config in the header, no kind)
// with
//
//	sdesample train -sde vp -data gmm8 -hidden 4 -embed-dim 4 -steps 3 -batch 8 -seed 5 -o score/testdata/mlp-v1.ckpt
//
// at commit 33a619b. It loads as an "mlp" and gives a score; and the same
// run trained by this code has the same bits (parameters, Adam, EMA), the
// promise that the move to network kinds changed no MLP arithmetic. (The
// file cannot be rewritten by later code, which writes version 2.)
func TestLoadVersion1(t *testing.T) {
	const path = "testdata/mlp-v1.ckpt"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if v := binary.LittleEndian.Uint32(raw[8:]); v != 1 || bytes.Contains(raw, []byte(`"kind"`)) {
		t.Fatalf("%s is not a version 1 checkpoint (version %d)", path, v)
	}
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Kind != model.KindMLP {
		t.Errorf("kind %q, want mlp", ck.Kind)
	}
	mc, err := model.ParseConfig(ck.Config)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mc.Hidden, []int{4}) || mc.EmbedDim != 4 || mc.Seed != 5 || mc.Precision != model.Float64 {
		t.Errorf("config %+v", mc)
	}
	s, err := score.LoadNet(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, 2)
	s.ScoreTo(out, []float64{1, 2}, []float64{0.5})
	if math.IsNaN(out[0]) || math.IsNaN(out[1]) {
		t.Errorf("score %v", out)
	}

	tr, err := score.NewTrainer(score.TrainConfig{SDE: sde.NewVP(), Data: data.GMM8{}, DataSpec: "gmm8",
		Model: mustMLP(t, mc), Steps: 3, Batch: 8, EMA: 0.999, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	now, err := tr.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	// The file was written with sdekit's AVX2 matrix products; gonum's (the
	// purego build, a machine without AVX2) sum in another order, so the
	// retrained bits are compared only where the writer's kernels run.
	same := func(a, b []float64) bool {
		return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
	}
	for _, c := range []struct {
		what string
		a, b []float64
	}{{"params", now.Params, ck.Params}, {"buffers", now.Buffers, ck.Buffers}, {"Adam M", now.Adam.M, ck.Adam.M},
		{"Adam V", now.Adam.V, ck.Adam.V}, {"EMA", now.EMA.Shadow, ck.EMA.Shadow}} {
		if !same(c.a, c.b) && model.BLAS() == "internal/gemm (avx2)" {
			t.Errorf("%s trained now differ from the version 1 file's", c.what)
		}
	}
	// The metadata mean the same (the SDE's keys are now written sorted).
	mNow, err1 := score.ReadMeta(now)
	mFile, err2 := score.ReadMeta(ck)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(mNow, mFile) {
		t.Errorf("metadata %s, file %s (%v, %v)", now.Meta[score.MetaKey], ck.Meta[score.MetaKey], err1, err2)
	}
	// It resumes with the network rebuilt from the recorded config.
	if _, err := score.ResumeTrainer(score.TrainConfig{SDE: sde.NewVP(), Data: data.GMM8{}, Model: mustMLP(t, mc),
		Steps: 5, Batch: 8, EMA: 0.999, Seed: 5}, ck); err != nil {
		t.Errorf("resume: %v", err)
	}
}
