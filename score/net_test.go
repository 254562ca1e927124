package score

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gonum.org/v1/gonum/diff/fd"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/sde"
)

var (
	_ sde.Score = (*Net)(nil)
	// the richer interface the likelihood package needs for Hutchinson probes
	_ interface {
		sde.Score
		VJPTo(dst, v, x, t []float64)
	} = (*Net)(nil)
)

func tinyNet(t testing.TB, s sde.SDE, p Param, prec string) *Net {
	t.Helper()
	m, err := model.NewTrainable(tinyConfig(prec))
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewNet(s, m, p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNetScale checks the documented conventions: score = -o/std (eps),
// o/std (sigma), o (score), with std the SDE's marginal std, bit for bit.
func TestNetScale(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 5
	for _, s := range sdes {
		for _, p := range Params {
			net := tinyNet(t, s, p, model.Float64)
			d := net.Dim()
			x, tt := make([]float64, n*d), make([]float64, n)
			for i := range x {
				x[i] = r.NormFloat64()
			}
			for i := range tt {
				tt[i] = 1e-5 + r.Float64()*(1-1e-5)
			}
			out, sc := make([]float64, n*d), make([]float64, n*d)
			net.OutputTo(out, x, tt)
			net.ScoreTo(sc, x, tt)
			for i, ti := range tt {
				_, std := s.Marginal(ti)
				k := map[Param]float64{ParamEps: -1 / std, ParamSigma: 1 / std, ParamScore: 1}[p]
				if got := net.Scale(ti); got != k {
					t.Errorf("%s/%s: Scale(%v) = %v, want %v", s.Name(), p, ti, got, k)
				}
				for j := i * d; j < (i+1)*d; j++ {
					if sc[j] != k*out[j] {
						t.Errorf("%s/%s: score %v, want %v * %v", s.Name(), p, sc[j], k, out[j])
					}
				}
			}
		}
	}
	if DefaultParam(sde.NewVP()) != ParamEps || DefaultParam(sde.NewSubVP()) != ParamEps || DefaultParam(sde.NewVE()) != ParamSigma {
		t.Error("DefaultParam: want eps for vp and subvp, sigma for ve")
	}
	if _, err := ParseParam("noise"); err == nil {
		t.Error("ParseParam(noise): no error")
	}
}

// TestNetVJPFD checks VJPTo, v^T d score/dx, against central differences of
// v . score in x for every SDE and parameterisation. h = 1e-6, tolerance
// 1e-6 of the largest component plus 1e-6 relative (truncation h^2 ~ 1e-12,
// rounding eps |v.score| / h ~ 1e-10 |v.score|; the 1/std factor at small t
// scales both sides alike).
func TestNetVJPFD(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range sdes {
		for _, p := range Params {
			net := tinyNet(t, s, p, model.Float64)
			d := net.Dim()
			for _, ti := range []float64{1e-3, 0.2, 0.9} {
				x, v := make([]float64, d), make([]float64, d)
				for j := range x {
					x[j] = r.NormFloat64()
					v[j] = r.NormFloat64()
				}
				tt := []float64{ti}
				got := make([]float64, d)
				net.VJPTo(got, v, x, tt)
				sc := make([]float64, d)
				want := fd.Gradient(nil, func(y []float64) float64 {
					net.ScoreTo(sc, y, tt)
					var dot float64
					for j := range sc {
						dot += v[j] * sc[j]
					}
					return dot
				}, x, &fd.Settings{Formula: fd.Central, Step: 1e-6})
				scale := 0.0
				for _, w := range want {
					scale = max(scale, math.Abs(w))
				}
				for j := range got {
					if e := math.Abs(got[j] - want[j]); e > 1e-6*scale+1e-6*math.Abs(want[j]) {
						t.Errorf("%s/%s t=%v: VJP[%d] = %.10g, finite difference %.10g", s.Name(), p, ti, j, got[j], want[j])
					}
				}
			}
		}
	}
}

// TestNetConcurrent calls ScoreTo and VJPTo from many goroutines on disjoint
// rows and compares with serial calls on the same one-row batches, bit for
// bit (run with -race). (One row alone and the same row inside a batch may
// differ in the last bit: the network's kernels round differently by shape.)
func TestNetConcurrent(t *testing.T) {
	for _, prec := range []string{model.Float64, model.Float32} {
		net := tinyNet(t, sde.NewVP(), ParamEps, prec)
		d := net.Dim()
		const n, workers = 64, 8
		r := rand.New(rand.NewPCG(5, 6))
		x, v, tt := make([]float64, n*d), make([]float64, n*d), make([]float64, n)
		for i := range x {
			x[i] = r.NormFloat64()
			v[i] = r.NormFloat64()
		}
		for i := range tt {
			tt[i] = 0.01 + 0.99*r.Float64()
		}
		wantS, wantV := make([]float64, n*d), make([]float64, n*d)
		for i := 0; i < n; i++ {
			row := i * d
			net.ScoreTo(wantS[row:row+d], x[row:row+d], tt[i:i+1])
			net.VJPTo(wantV[row:row+d], v[row:row+d], x[row:row+d], tt[i:i+1])
		}
		gotS, gotV := make([]float64, n*d), make([]float64, n*d)
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for rep := 0; rep < 20; rep++ {
					for i := w; i < n; i += workers {
						row := i * d
						net.ScoreTo(gotS[row:row+d], x[row:row+d], tt[i:i+1])
						net.VJPTo(gotV[row:row+d], v[row:row+d], x[row:row+d], tt[i:i+1])
					}
				}
			}(w)
		}
		wg.Wait()
		for i := range wantS {
			if gotS[i] != wantS[i] || gotV[i] != wantV[i] {
				t.Fatalf("%s: row %d: concurrent (%v, %v), serial (%v, %v)", prec, i/d, gotS[i], gotV[i], wantS[i], wantV[i])
			}
		}
	}
}

// TestNetAllocs: after warm-up ScoreTo and VJPTo reuse a pooled network and
// do not allocate.
func TestNetAllocs(t *testing.T) {
	net := tinyNet(t, sde.NewVE(), ParamSigma, model.Float64)
	const n = 32
	x, v, tt, dst := make([]float64, n*2), make([]float64, n*2), make([]float64, n), make([]float64, n*2)
	for i := range tt {
		tt[i] = 0.5
	}
	net.ScoreTo(dst, x, tt)
	net.VJPTo(dst, v, x, tt)
	if a := testing.AllocsPerRun(100, func() { net.ScoreTo(dst, x, tt); net.VJPTo(dst, v, x, tt) }); a > 0 {
		t.Errorf("ScoreTo + VJPTo allocate %v times per call", a)
	}
}

// trainedCheckpoint trains a tiny run for a few steps and saves it.
func trainedCheckpoint(t *testing.T, dir string, s sde.SDE) (string, *Trainer) {
	t.Helper()
	tr, err := NewTrainer(TrainConfig{SDE: s, Data: data.GMM8{}, Model: tinyMLP(model.Float64), Steps: 5, Batch: 8, EMA: 0.9, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "m.ckpt")
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	return path, tr
}

func TestLoadNet(t *testing.T) {
	dir := t.TempDir()
	path, tr := trainedCheckpoint(t, dir, sde.NewVE())

	// The loaded score is the trainer's EMA score, bit for bit, with the SDE
	// from the file (nil) or given.
	want, err := tr.Score()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []sde.SDE{nil, sde.NewVE()} {
		got, err := LoadNet(path, s)
		if err != nil {
			t.Fatal(err)
		}
		if got.Param() != ParamSigma || got.SDE().Name() != "ve" {
			t.Errorf("loaded param %s, SDE %s; want sigma, ve", got.Param(), got.SDE().Name())
		}
		x, tt := []float64{0.3, -1, 2, 0.5}, []float64{0.1, 0.7}
		a, b := make([]float64, 4), make([]float64, 4)
		got.ScoreTo(a, x, tt)
		want.ScoreTo(b, x, tt)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("loaded score %v, trainer's %v", a, b)
			}
		}
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	corrupt := append([]byte(nil), raw...)
	corrupt[len(corrupt)-40] ^= 1
	bare, err := tr.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	bare.Meta = nil
	barePath := filepath.Join(dir, "bare.ckpt")
	if err := model.SaveCheckpoint(barePath, bare); err != nil {
		t.Fatal(err)
	}
	badMeta, _ := tr.Checkpoint()
	badMeta.Meta[MetaKey] = `{"format":1,"sde":{"name":"ve","sigma_min":0.01,"sigma_max":50},"param":"noise"}`
	badMetaPath := filepath.Join(dir, "badmeta.ckpt")
	if err := model.SaveCheckpoint(badMetaPath, badMeta); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		s    sde.SDE
		want string
	}{
		{filepath.Join(dir, "missing.ckpt"), nil, "no such file"},
		{write("corrupt.ckpt", corrupt), nil, "checksum"},
		{write("short.ckpt", raw[:100]), nil, "truncated"},
		{write("text.ckpt", []byte("x0,x1\n1,2\n")), nil, "not an sdekit model checkpoint"},
		{barePath, nil, "no score metadata"},
		{badMetaPath, nil, "unknown parameterisation"},
		{path, sde.NewVP(), "trained with the ve (sigma_max 50, sigma_min 0.01) SDE; it cannot be used with vp"},
		{path, &sde.VE{SigmaMin: 0.01, SigmaMax: 348}, "cannot be used with ve (sigma_max 348, sigma_min 0.01)"},
	}
	for _, c := range cases {
		_, err := LoadNet(c.path, c.s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("LoadNet(%s): %v; want an error containing %q", filepath.Base(c.path), err, c.want)
		} else {
			t.Logf("%s: %v", filepath.Base(c.path), err)
		}
	}
}
