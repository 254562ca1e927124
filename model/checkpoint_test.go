package model

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// bitsEqual compares float64s by their bits, so NaN payloads and -0 count.
var bitsEqual = cmp.Comparer(func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) })

// trainer is a minimal training loop with its own generator, as the score
// package's trainer would have: each step draws a batch of (x, t) from rng and
// fits f(x, t) = -x.
type trainer struct {
	net  Trainable
	opt  *Adam
	ema  *EMA
	src  *rand.PCG
	rng  *rand.Rand
	step int
	x, t []float64
	out  []float64
	dOut []float64
}

func newTrainer(t *testing.T, cfg Config, n int) *trainer {
	net := mustNet(t, cfg)
	src := rand.NewPCG(1, 2)
	tr := &trainer{net: net, opt: NewAdam(1e-2), ema: NewEMA(net, 0.99), src: src, rng: rand.New(src),
		x: make([]float64, n*cfg.Dim), t: make([]float64, n), out: make([]float64, n*cfg.Dim), dOut: make([]float64, n*cfg.Dim)}
	tr.opt.Warmup, tr.opt.ClipNorm = 3, 1
	return tr
}

func (tr *trainer) run(t *testing.T, steps int) {
	for ; steps > 0; steps-- {
		for i := range tr.x {
			tr.x[i] = tr.rng.NormFloat64()
		}
		for i := range tr.t {
			tr.t[i] = tr.rng.Float64()
		}
		tr.net.ZeroGrad()
		tr.net.ForwardTrain(tr.out, tr.x, tr.t)
		for i, o := range tr.out {
			tr.dOut[i] = 2 * (o + tr.x[i]) / float64(len(tr.t))
		}
		tr.net.Backward(tr.dOut)
		if _, err := tr.opt.Step(tr.net); err != nil {
			t.Fatal(err)
		}
		tr.ema.Update(tr.net)
		tr.step++
	}
}

func (tr *trainer) checkpoint(t *testing.T) *Checkpoint {
	ck := mustCheckpoint(t, tr.net, tr.step, tr.opt, tr.ema)
	var err error
	if ck.RNG, err = tr.src.MarshalBinary(); err != nil {
		t.Fatal(err)
	}
	ck.Meta = map[string]string{"sde": "vp", "beta_max": "20"}
	return ck
}

func mustCheckpoint(t testing.TB, net Trainable, step int, opt *Adam, ema *EMA) *Checkpoint {
	t.Helper()
	ck, err := NewCheckpoint(net, step, opt, ema)
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

func resume(t *testing.T, ck *Checkpoint, n int) *trainer {
	net, err := ck.Net()
	if err != nil {
		t.Fatal(err)
	}
	src := &rand.PCG{}
	if err := src.UnmarshalBinary(ck.RNG); err != nil {
		t.Fatal(err)
	}
	d := net.Dim()
	return &trainer{net: net, opt: ck.Adam, ema: ck.EMA, src: src, rng: rand.New(src), step: ck.Step,
		x: make([]float64, n*d), t: make([]float64, n), out: make([]float64, n*d), dOut: make([]float64, n*d)}
}

func TestCheckpointRoundTrip(t *testing.T) {
	for _, prec := range []string{Float64, Float32} {
		t.Run(prec, func(t *testing.T) {
			tr := newTrainer(t, anchorConfig(16, prec), 32)
			tr.run(t, 5)
			ck := tr.checkpoint(t)
			// Values that only a bit-exact format keeps.
			ck.Adam.V[0] = math.Copysign(0, -1)
			ck.Adam.V[1] = math.Float64frombits(0x7ff8000000000abc) // NaN with a payload
			ck.Adam.V[2] = 5e-324
			ck.Adam.M[3] = math.Inf(-1)
			path := filepath.Join(t.TempDir(), "model.ckpt")
			if err := SaveCheckpoint(path, ck); err != nil {
				t.Fatal(err)
			}
			got, err := LoadCheckpoint(path)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(ck, got, bitsEqual); d != "" {
				t.Errorf("round trip (-saved +loaded):\n%s", d)
			}
			// Saving the loaded checkpoint gives the same bytes.
			a, _ := ck.MarshalBinary()
			b, _ := got.MarshalBinary()
			if string(a) != string(b) {
				t.Error("re-encoding changed the bytes")
			}
			// The rebuilt networks compute what the originals did.
			x, tt, _ := batch(3, 4, 2)
			want, have := make([]float64, 8), make([]float64, 8)
			for _, c := range []struct {
				name string
				net  Trainable
				get  func() (Trainable, error)
			}{{"Net", tr.net, got.Net}, {"EMANet", tr.ema.Net(tr.net), got.EMANet}, {"InferenceNet", tr.ema.Net(tr.net), got.InferenceNet}} {
				n, err := c.get()
				if err != nil {
					t.Fatal(err)
				}
				c.net.Forward(want, x, tt)
				n.Forward(have, x, tt)
				if d := cmp.Diff(want, have, bitsEqual); d != "" {
					t.Errorf("%s forward differs:\n%s", c.name, d)
				}
			}
		})
	}
}

// TestCheckpointResume checks that training 5 steps, saving, and training 4
// more gives the same bits as loading the checkpoint and training 4 steps.
func TestCheckpointResume(t *testing.T) {
	for _, prec := range []string{Float64, Float32} {
		t.Run(prec, func(t *testing.T) {
			tr := newTrainer(t, anchorConfig(16, prec), 32)
			tr.run(t, 5)
			path := filepath.Join(t.TempDir(), "model.ckpt")
			if err := SaveCheckpoint(path, tr.checkpoint(t)); err != nil {
				t.Fatal(err)
			}
			tr.run(t, 4)
			ck, err := LoadCheckpoint(path)
			if err != nil {
				t.Fatal(err)
			}
			re := resume(t, ck, 32)
			re.run(t, 4)
			if d := cmp.Diff(tr.net.Params(), re.net.Params(), bitsEqual); d != "" {
				t.Errorf("params differ after resuming:\n%s", d)
			}
			if d := cmp.Diff(tr.ema, re.ema, bitsEqual); d != "" {
				t.Errorf("EMA differs after resuming:\n%s", d)
			}
			if d := cmp.Diff(tr.opt, re.opt, bitsEqual); d != "" {
				t.Errorf("Adam differs after resuming:\n%s", d)
			}
			if tr.step != re.step || tr.step != 9 {
				t.Errorf("steps %d and %d", tr.step, re.step)
			}
		})
	}
}

// TestCheckpointOtherPrecision loads float64 weights into a float32 network
// with MLPWithPrecision: the result is bit for bit the float32 network of
// the same seed (both round the same float64 draws), and converting back
// gives the float64 weights exactly.
func TestCheckpointOtherPrecision(t *testing.T) {
	cfg := anchorConfig(16, Float64)
	net := mustNet(t, cfg)
	ck := mustCheckpoint(t, net, 0, nil, nil)
	n64, err := ck.Net()
	if err != nil {
		t.Fatal(err)
	}
	n32, err := MLPWithPrecision(n64, Float32)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := n32.(*MLP32); !ok {
		t.Fatalf("got %T", n32)
	}
	cfg.Precision = Float32
	want := mustNet(t, cfg)
	x, tt, _ := batch(3, 4, 2)
	y, w := make([]float64, 8), make([]float64, 8)
	n32.Forward(y, x, tt)
	want.Forward(w, x, tt)
	if d := cmp.Diff(w, y, bitsEqual); d != "" {
		t.Errorf("float32 from the checkpoint differs from NewMLP32:\n%s", d)
	}
	back, err := MLPWithPrecision(n32, Float64)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(net.Params(), back.Params(), bitsEqual); d != "" {
		t.Errorf("float64 -> float32 -> float64 changed the parameters:\n%s", d)
	}
	if _, err := MLPWithPrecision(n64, "float16"); err == nil || !strings.Contains(err.Error(), "Precision") {
		t.Errorf("float16: %v", err)
	}
	if _, err := MLPWithPrecision(&affine{dim: 2}, Float32); err == nil || !strings.Contains(err.Error(), "not an MLP") {
		t.Errorf("non-MLP: %v", err)
	}
	if _, err := ck.EMANet(); err == nil || !strings.Contains(err.Error(), "no EMA") {
		t.Errorf("EMANet without EMA: %v", err)
	}
	if n, err := ck.InferenceNet(); err != nil || n == nil {
		t.Errorf("InferenceNet without EMA: %v", err)
	}
}

// raw writes a checkpoint file from a header and arrays, with a correct
// checksum unless told otherwise, to build files SaveCheckpoint refuses to.
func raw(t *testing.T, version uint32, h any, arrays ...[]float64) []byte {
	hdr, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte(checkpointMagic)
	b = binary.LittleEndian.AppendUint32(b, version)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(hdr)))
	b = append(b, hdr...)
	for _, a := range arrays {
		for _, v := range a {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

func TestCheckpointErrors(t *testing.T) {
	tr := newTrainer(t, Config{Dim: 2, Hidden: []int{4}, EmbedDim: 4, Seed: 1}, 8)
	tr.run(t, 2)
	good, err := tr.checkpoint(t).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	cfg := configOf(tr.net)
	np, nb := cfg.NumParams(), cfg.NumBuffers()
	js := func(c Config) json.RawMessage {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	hdr := ckHeader{Kind: KindMLP, Config: js(cfg), Params: np, Buffers: nb}
	params, buffers := make([]float64, np), make([]float64, nb)

	flip := func(i int) []byte {
		b := append([]byte(nil), good...)
		b[i] ^= 0x10
		return b
	}
	wrongCfg := cfg
	wrongCfg.Hidden = []int{5}
	badCfg := cfg
	badCfg.EmbedDim = 3
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"magic only", []byte("SDEK"), "truncated"},
		{"not a checkpoint", []byte("PK\x03\x04 this is a zip file, not a model checkpoint at all"), "bad magic"},
		{"truncated after prefix", good[:20], "truncated"},
		{"truncated in the header", good[:60], "truncated"},
		{"truncated in the arrays", good[:len(good)-100], "truncated"},
		{"last byte missing", good[:len(good)-1], "truncated"},
		{"trailing data", append(append([]byte(nil), good...), 0), "trailing"},
		{"flipped byte in the arrays", flip(len(good) - 60), "checksum mismatch"},
		{"flipped byte in the header", flip(30), "checksum mismatch"},
		{"flipped byte in the checksum", flip(len(good) - 1), "checksum mismatch"},
		{"version 3", raw(t, 3, hdr, params, buffers), "format version 3 not supported"},
		{"version 0", raw(t, 0, hdr, params, buffers), "format version 0 not supported"},
		{"config and params mismatched", raw(t, 2, ckHeader{Kind: KindMLP, Config: js(wrongCfg), Params: np, Buffers: nb}, params, buffers), "mismatched: config implies"},
		{"invalid config", raw(t, 2, ckHeader{Kind: KindMLP, Config: js(badCfg), Params: np, Buffers: nb}, params, buffers), "EmbedDim"},
		{"unknown config field", raw(t, 2, ckHeader{Kind: KindMLP, Config: json.RawMessage(`{"dim":2,"width":3}`), Params: np, Buffers: nb}, params, buffers), `unknown field "width"`},
		{"null config", raw(t, 2, ckHeader{Kind: KindMLP, Params: np, Buffers: nb}, params, buffers), "Dim = 0"},
		{"no kind", raw(t, 2, ckHeader{Config: js(cfg), Params: np, Buffers: nb}, params, buffers), "no network kind"},
		{"kind in version 1", raw(t, 1, hdr, params, buffers), "network kind"},
		{"EMA length mismatched", raw(t, 2, ckHeader{Kind: KindMLP, Config: js(cfg), Params: np, Buffers: nb, EMA: &ckEMA{Shadow: 3}}, params, buffers, make([]float64, 3)), "mismatched: EMA"},
		{"negative length", raw(t, 2, ckHeader{Kind: KindMLP, Config: js(cfg), Params: -8, Buffers: nb}), "array length"},
		{"huge length", raw(t, 2, ckHeader{Kind: KindMLP, Config: js(cfg), Params: math.MaxInt, Buffers: nb}), "array length"},
		{"version 1 mismatched", raw(t, 1, ckHeaderV1{Config: wrongCfg, Params: np, Buffers: nb}, params, buffers), "mismatched: config implies"},
		{"version 1 invalid config", raw(t, 1, ckHeaderV1{Config: badCfg, Params: np, Buffers: nb}, params, buffers), "EmbedDim"},
		{"version 1 negative length", raw(t, 1, ckHeaderV1{Config: cfg, Params: -8, Buffers: nb}), "array length"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadCheckpoint(path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "model: checkpoint "+path+": ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want the prefix %q and %q", err, "model: checkpoint "+path+": ", c.want)
			}
		})
	}
	if _, err := LoadCheckpoint(filepath.Join(dir, "missing")); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// TestCheckpointNoPanic loads every truncation and every single-byte
// corruption of a small checkpoint: each must be an error, never a panic and
// never a silently different checkpoint.
func TestCheckpointNoPanic(t *testing.T) {
	tr := newTrainer(t, Config{Dim: 1, Hidden: []int{2}, EmbedDim: 2, Seed: 1}, 4)
	tr.run(t, 1)
	good, err := tr.checkpoint(t).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var ck Checkpoint
	for n := 0; n < len(good); n++ {
		if err := ck.UnmarshalBinary(good[:n]); err == nil {
			t.Fatalf("truncation to %d bytes accepted", n)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range good {
		b := append([]byte(nil), good...)
		b[i] ^= byte(1 + rng.IntN(255))
		if err := ck.UnmarshalBinary(b); err == nil {
			t.Fatalf("corruption of byte %d accepted", i)
		} else if !strings.HasPrefix(err.Error(), "model: checkpoint: ") {
			t.Fatalf("error %q", err)
		}
	}
	if err := ck.UnmarshalBinary(good); err != nil {
		t.Fatal(err)
	}
}

func TestSaveCheckpointAtomic(t *testing.T) {
	net := mustNet(t, Config{Dim: 2, Hidden: []int{3}, Seed: 1})
	dir := t.TempDir()
	path := filepath.Join(dir, "m.ckpt")
	for step := 0; step < 2; step++ { // the second save replaces the first
		if err := SaveCheckpoint(path, mustCheckpoint(t, net, step, nil, nil)); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "m.ckpt" {
		t.Errorf("directory holds %v, want only m.ckpt", entries)
	}
	if ck, err := LoadCheckpoint(path); err != nil || ck.Step != 1 {
		t.Errorf("reloaded step %v, err %v", ck, err)
	}
	// Errors: a missing directory, and an inconsistent checkpoint, which
	// leave nothing behind.
	bad := filepath.Join(dir, "no", "such", "dir", "m.ckpt")
	if err := SaveCheckpoint(bad, mustCheckpoint(t, net, 0, nil, nil)); err == nil || !strings.HasPrefix(err.Error(), "model: checkpoint "+bad+": ") {
		t.Errorf("missing directory: %v", err)
	}
	ck := mustCheckpoint(t, net, 0, nil, nil)
	ck.Params = ck.Params[:3]
	if err := SaveCheckpoint(filepath.Join(dir, "x.ckpt"), ck); err == nil || !strings.Contains(err.Error(), "mismatched") {
		t.Errorf("inconsistent checkpoint: %v", err)
	}
	ck = mustCheckpoint(t, net, 0, NewAdam(math.NaN()), nil)
	if err := SaveCheckpoint(filepath.Join(dir, "y.ckpt"), ck); err == nil {
		t.Error("NaN learning rate saved")
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("failed saves left %v", entries)
	}
}
