package model

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ckHeaderV1 is the JSON header of format version 1, as the code before
// network kinds wrote it: the MLP's Config and no kind.
type ckHeaderV1 struct {
	Config  Config            `json:"config"`
	Params  int               `json:"params"`
	Buffers int               `json:"buffers"`
	Step    int               `json:"step"`
	Adam    *ckAdam           `json:"adam,omitempty"`
	EMA     *ckEMA            `json:"ema,omitempty"`
	RNG     int               `json:"rng_bytes"`
	Meta    map[string]string `json:"meta,omitempty"`
}

// affine is a Trainable of a kind that is not registered: f(x, t) = a x,
// with the one parameter a.
type affine struct {
	dim  int
	a, g []float64
	x    []float64
}

func (m *affine) Dim() int { return m.dim }
func (m *affine) Forward(dst, x, t []float64) {
	for i, v := range x {
		dst[i] = m.a[0] * v
	}
}
func (m *affine) InputVJP(dst, v, x, t []float64) {
	for i, e := range v {
		dst[i] = m.a[0] * e
	}
}
func (m *affine) Clone() Net {
	return &affine{dim: m.dim, a: slices.Clone(m.a), g: make([]float64, 1)}
}
func (m *affine) Kind() string                   { return "test-affine" }
func (m *affine) MarshalConfig() ([]byte, error) { return json.Marshal(map[string]int{"dim": m.dim}) }
func (m *affine) NumParams() int                 { return 1 }
func (m *affine) Params() []float64              { return m.a }
func (m *affine) SyncParams()                    {}
func (m *affine) Grads() []float64               { return m.g }
func (m *affine) ZeroGrad()                      { m.g[0] = 0 }
func (m *affine) ForwardTrain(dst, x, t []float64) {
	m.x = append(m.x[:0], x...)
	m.Forward(dst, x, t)
}
func (m *affine) Backward(dOut []float64) {
	for i, d := range dOut {
		m.g[0] += d * m.x[i]
	}
}
func (m *affine) Buffers() []float64 { return nil }
func (m *affine) SetWorkers(int)     {}
func (m *affine) Workers() int       { return 1 }

// TestCheckpointVersion1 decodes a checkpoint in the format written before
// network kinds (version 1, the MLP's Config in the header, no kind): it
// loads as an "mlp" with every field as written, rebuilds the same network,
// and saves again as the current version.
func TestCheckpointVersion1(t *testing.T) {
	for _, prec := range []string{Float64, Float32} {
		t.Run(prec, func(t *testing.T) {
			tr := newTrainer(t, Config{Dim: 2, Hidden: []int{4, 3}, EmbedDim: 4, Precision: prec, Seed: 3}, 8)
			tr.run(t, 3)
			want := tr.checkpoint(t)
			cfg := configOf(tr.net)
			a, e := want.Adam, want.EMA
			h := ckHeaderV1{Config: cfg, Params: len(want.Params), Buffers: len(want.Buffers), Step: want.Step,
				Adam: &ckAdam{LR: a.LR, Beta1: a.Beta1, Beta2: a.Beta2, Eps: a.Eps, Warmup: a.Warmup, ClipNorm: a.ClipNorm, T: a.T, Moments: len(a.M)},
				EMA:  &ckEMA{Decay: e.Decay, UseNumUpdates: e.UseNumUpdates, NumUpdates: e.NumUpdates, Shadow: len(e.Shadow)},
				RNG:  len(want.RNG), Meta: want.Meta}
			file := raw(t, 1, h, want.Params, want.Buffers, a.M, a.V, e.Shadow)
			// raw puts the checksum right after the arrays; the RNG bytes go
			// before it, so rebuild the tail.
			body := append(file[:len(file)-ckSumLen:len(file)-ckSumLen], want.RNG...)
			file = appendSum(body)
			if v := binary.LittleEndian.Uint32(file[8:]); v != 1 {
				t.Fatalf("version %d", v)
			}
			var got Checkpoint
			if err := got.UnmarshalBinary(file); err != nil {
				t.Fatal(err)
			}
			if got.Kind != KindMLP {
				t.Errorf("kind %q, want %q", got.Kind, KindMLP)
			}
			if c, err := ParseConfig(got.Config); err != nil || !c.equal(cfg) {
				t.Errorf("config %s (%v), want %+v", got.Config, err, cfg)
			}
			if d := cmp.Diff(want, &got, bitsEqual); d != "" {
				t.Errorf("version 1 decoded (-current +v1):\n%s", d)
			}
			n, err := got.InferenceNet()
			if err != nil {
				t.Fatal(err)
			}
			x, tt, _ := batch(4, 5, 2)
			y, w := make([]float64, 10), make([]float64, 10)
			n.Forward(y, x, tt)
			tr.ema.Net(tr.net).Forward(w, x, tt)
			if d := cmp.Diff(w, y, bitsEqual); d != "" {
				t.Errorf("network from version 1 differs:\n%s", d)
			}
			// Saved again, it is a current checkpoint with the same content.
			path := filepath.Join(t.TempDir(), "v2.ckpt")
			if err := SaveCheckpoint(path, &got); err != nil {
				t.Fatal(err)
			}
			again, err := LoadCheckpoint(path)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, again, bitsEqual); d != "" {
				t.Errorf("re-saved (-current +re-saved):\n%s", d)
			}
		})
	}
}

func appendSum(b []byte) []byte {
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

func TestRegistry(t *testing.T) {
	if !slices.Contains(Kinds(), KindMLP) {
		t.Errorf("Kinds() = %v, want mlp among them", Kinds())
	}
	build := func([]byte, []float64, []float64) (Trainable, error) { return nil, nil }
	for _, c := range []struct {
		name, kind string
		build      Builder
		want       string
	}{
		{"empty kind", "", build, "non-empty"},
		{"space", "my net", build, "white space"},
		{"nil", "x-nil", nil, "nil builder"},
		{"duplicate", KindMLP, build, "already registered"},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.Contains(msg, c.want) {
					t.Errorf("panic %v, want %q", r, c.want)
				}
			}()
			Register(c.kind, c.build)
		})
	}
	if _, err := Build("no-such-kind", []byte("{}"), nil, nil); err == nil || !strings.Contains(err.Error(), `network kind "no-such-kind" is not registered`) ||
		!strings.Contains(err.Error(), "model.Register") {
		t.Errorf("unknown kind: %v", err)
	}
	// A builder that breaks its contract is caught.
	Register("test-wrong-kind", func(cfg []byte, p, b []float64) (Trainable, error) { return NewTrainable(Config{Dim: 1}) })
	if _, err := Build("test-wrong-kind", nil, nil, nil); err == nil || !strings.Contains(err.Error(), `returned a network of kind "mlp"`) {
		t.Errorf("wrong kind: %v", err)
	}
	// Build of an MLP's own description gives the same network.
	net := mustNet(t, anchorConfig(8, Float32))
	cfg, err := net.MarshalConfig()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(net.Kind(), cfg, net.Params(), net.Buffers())
	if err != nil {
		t.Fatal(err)
	}
	x, tt, _ := batch(2, 3, 2)
	y, w := make([]float64, 6), make([]float64, 6)
	net.Forward(w, x, tt)
	b.Forward(y, x, tt)
	if d := cmp.Diff(w, y, bitsEqual); d != "" {
		t.Errorf("Build differs:\n%s", d)
	}
}

// TestCheckpointUnknownKind saves and loads a checkpoint of a kind that is
// not registered; only rebuilding the network fails, saying what to do.
func TestCheckpointUnknownKind(t *testing.T) {
	net := &affine{dim: 2, a: []float64{1.5}, g: make([]float64, 1)}
	ck := mustCheckpoint(t, net, 4, NewAdam(1e-3), NewEMA(net, 0.9))
	if ck.Kind != "test-affine" || string(ck.Config) != `{"dim":2}` {
		t.Errorf("kind %q, config %s", ck.Kind, ck.Config)
	}
	path := filepath.Join(t.TempDir(), "affine.ckpt")
	if err := SaveCheckpoint(path, ck); err != nil {
		t.Fatal(err)
	}
	got, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(ck, got, bitsEqual); d != "" {
		t.Errorf("round trip:\n%s", d)
	}
	if _, err := got.InferenceNet(); err == nil || !strings.HasPrefix(err.Error(), "model: checkpoint: network kind \"test-affine\" is not registered") {
		t.Errorf("InferenceNet: %v", err)
	}
	bad := *ck
	bad.Config = json.RawMessage(`{"dim":`)
	if err := SaveCheckpoint(path, &bad); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("bad config JSON: %v", err)
	}
}
