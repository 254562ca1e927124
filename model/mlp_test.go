package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gonum.org/v1/gonum/diff/fd"
)

// smallConfigs are the networks of the gradient tests: both embeddings, two
// hidden layers of odd widths (so the AVX2 kernels and their scalar tails both
// run), one hidden layer wider than 8, and no hidden layer at all.
func smallConfigs(precision string) []Config {
	return []Config{
		{Dim: 3, Hidden: []int{6, 5}, Embedding: EmbeddingFourier, EmbedDim: 4, FourierScale: 2, Precision: precision, Seed: 1},
		{Dim: 2, Hidden: []int{11, 9}, Embedding: EmbeddingSinusoidal, EmbedDim: 6, Precision: precision, Seed: 2},
		{Dim: 2, Hidden: []int{13}, EmbedDim: 8, Precision: precision, Seed: 3},
		{Dim: 4, Embedding: EmbeddingSinusoidal, EmbedDim: 2, TimeScale: 3, Precision: precision, Seed: 4},
	}
}

func cfgName(c Config) string {
	return fmt.Sprintf("D=%d/H=%v/%s%d/%s", c.Dim, c.Hidden, c.Embedding, c.EmbedDim, c.Precision)
}

// batch returns n rows of x ~ N(0, 1), t ~ U(0, 1) and weights r ~ N(0, 1).
func batch(seed uint64, n, d int) (x, t, r []float64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	x, t, r = make([]float64, n*d), make([]float64, n), make([]float64, n*d)
	for i := range x {
		x[i] = rng.NormFloat64()
		r[i] = rng.NormFloat64()
	}
	for i := range t {
		t[i] = rng.Float64()
	}
	return x, t, r
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// configOf returns the Config of an *MLP or *MLP32.
func configOf(net Net) Config {
	switch m := net.(type) {
	case *MLP:
		return m.Config()
	case *MLP32:
		return m.Config()
	}
	panic(fmt.Sprintf("configOf(%T)", net))
}

func mustNet(t testing.TB, cfg Config) Trainable {
	t.Helper()
	net, err := NewTrainable(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// layerOf names the parameter at flat index i ("W0", "b0", ...; 0-based,
// where doc.go counts layers from 1).
func layerOf(cfg Config, i int) string {
	w := cfg.WithDefaults().widths()
	off := 0
	for l := 0; l+1 < len(w); l++ {
		if i < off+w[l]*w[l+1] {
			return fmt.Sprintf("W%d", l)
		}
		off += w[l] * w[l+1]
		if i < off+w[l+1] {
			return fmt.Sprintf("b%d", l)
		}
		off += w[l+1]
	}
	return "?"
}

// checkGrad compares an analytic gradient with a finite-difference one,
// component by component: |got - want| <= atol + rtol |want|. It reports the
// worst component per layer.
func checkGrad(t *testing.T, cfg Config, what string, got, want []float64, atol, rtol float64) {
	t.Helper()
	worst := map[string]float64{}
	for i := range got {
		name := what
		if what == "" {
			name = layerOf(cfg, i)
		}
		e := math.Abs(got[i]-want[i]) / (atol + rtol*math.Abs(want[i]))
		if !(e <= 1) {
			t.Errorf("%s[%d]: analytic %.10g, finite difference %.10g (error %.2g of the tolerance)", name, i, got[i], want[i], e)
		}
		worst[name] = max(worst[name], e)
	}
	t.Logf("worst error as a fraction of the tolerance: %v", worst)
}

// TestParamGradFD checks Backward's gradient of L = sum(r * f(x, t)) with
// respect to every parameter of every layer against central differences.
func TestParamGradFD(t *testing.T) {
	for _, prec := range []string{Float64, Float32} {
		for _, cfg := range smallConfigs(prec) {
			t.Run(cfgName(cfg), func(t *testing.T) {
				net := mustNet(t, cfg)
				const n = 5
				x, tt, r := batch(11, n, cfg.Dim)
				out := make([]float64, n*cfg.Dim)
				net.ZeroGrad()
				net.ForwardTrain(out, x, tt)
				net.Backward(r)
				got := append([]float64(nil), net.Grads()...)

				p0 := append([]float64(nil), net.Params()...)
				loss := func(p []float64) float64 {
					copy(net.Params(), p)
					net.SyncParams()
					net.Forward(out, x, tt)
					return dot(r, out)
				}
				// float64: step h = 1e-5 balances the truncation error
				// h^2 |f'''|/6 ~ 2e-11 against the rounding eps |L|/h ~ 2e-11
				// per unit of |L| (|L| is O(1) here); 1e-8 absolute plus
				// relative leaves a margin of about 50 (observed: ~3e-11).
				// float32: the loss carries float32 rounding of about
				// 6e-8 sum|r f| ~ 1e-6, so h = 1e-2 (rounding error ~5e-5,
				// truncation ~2e-5 |f'''|); rounding p +- h to float32 moves
				// the step by <= 3e-8, 3e-6 of it. Tolerance 2e-4 absolute
				// plus relative (observed: ~5e-6).
				step, atol, rtol := 1e-5, 1e-8, 1e-8
				if prec == Float32 {
					step, atol, rtol = 1e-2, 2e-4, 2e-4
				}
				want := fd.Gradient(nil, loss, p0, &fd.Settings{Formula: fd.Central, Step: step})
				copy(net.Params(), p0)
				net.SyncParams()
				checkGrad(t, cfg, "", got, want, atol, rtol)
			})
		}
	}
}

// TestInputVJPFD checks InputVJP against central differences of
// L(x) = sum(v * f(x, t)) with respect to x; rows are independent, so the
// gradient with respect to row i of x is row i of the VJP.
func TestInputVJPFD(t *testing.T) {
	for _, prec := range []string{Float64, Float32} {
		for _, cfg := range smallConfigs(prec) {
			t.Run(cfgName(cfg), func(t *testing.T) {
				net := mustNet(t, cfg)
				const n = 6
				x, tt, v := batch(12, n, cfg.Dim)
				got := make([]float64, n*cfg.Dim)
				net.InputVJP(got, v, x, tt)
				out := make([]float64, n*cfg.Dim)
				loss := func(x []float64) float64 {
					net.Forward(out, x, tt)
					return dot(v, out)
				}
				// Steps and tolerances as in TestParamGradFD, for the same reasons.
				step, atol, rtol := 1e-5, 1e-8, 1e-8
				if prec == Float32 {
					step, atol, rtol = 1e-2, 2e-4, 2e-4
				}
				want := fd.Gradient(nil, loss, x, &fd.Settings{Formula: fd.Central, Step: step})
				checkGrad(t, cfg, "dx", got, want, atol, rtol)
			})
		}
	}
}

// TestFloat32MatchesFloat64 compares the float32 network with the float64 one
// built from the same Config (the same float64 draws, rounded): forward,
// input VJP and parameter gradients on the anchor network of the benchmarks.
func TestFloat32MatchesFloat64(t *testing.T) {
	for _, w := range []int{16, 128} {
		t.Run(fmt.Sprintf("W=%d", w), func(t *testing.T) {
			c64, c32 := anchorConfig(w, Float64), anchorConfig(w, Float32)
			n64, n32 := mustNet(t, c64), mustNet(t, c32)
			const n = 64
			x, tt, r := batch(13, n, 2)
			y64, y32 := make([]float64, n*2), make([]float64, n*2)
			n64.ZeroGrad()
			n32.ZeroGrad()
			n64.ForwardTrain(y64, x, tt)
			n32.ForwardTrain(y32, x, tt)
			n64.Backward(r)
			n32.Backward(r)
			// Each output is a chain of 4 layers of sums of <= 128 products in
			// float32: weights, inputs and every operation are rounded with
			// relative error 6e-8, which random-walks to about
			// 6e-8 sqrt(128) ~ 7e-7 of the scale of the terms per layer, and
			// the scale of the terms is O(1) here. The difference is
			// measured against 1 + max|value|: 1e-6 for the forward pass and
			// the input VJP (observed: ~2e-8), and 1e-6 for the gradients,
			// which also sum n = 64 rows (observed: ~5e-8).
			within := func(name string, a, b []float64, tol float64) {
				var scale, worst float64
				for i := range a {
					scale = max(scale, math.Abs(a[i]))
				}
				for i := range a {
					worst = max(worst, math.Abs(a[i]-b[i]))
				}
				if worst > tol*(1+scale) {
					t.Errorf("%s: max |float64 - float32| = %.3g, scale %.3g, tolerance %.3g", name, worst, scale, tol*(1+scale))
				}
				t.Logf("%s: max difference %.3g at scale %.3g", name, worst, scale)
			}
			within("forward", y64, y32, 1e-6)
			within("grads", n64.Grads(), n32.Grads(), 1e-6)
			v64, v32 := make([]float64, n*2), make([]float64, n*2)
			n64.InputVJP(v64, r, x, tt)
			n32.InputVJP(v32, r, x, tt)
			within("input VJP", v64, v32, 1e-6)
		})
	}
}

// TestEmbedding reads the time embedding through a network whose only layer
// copies it to the output, and compares it with the formulas of doc.go.
func TestEmbedding(t *testing.T) {
	for _, emb := range []string{EmbeddingFourier, EmbeddingSinusoidal} {
		for _, prec := range []string{Float64, Float32} {
			t.Run(emb+"/"+prec, func(t *testing.T) {
				const e = 6
				cfg := Config{Dim: e, Embedding: emb, EmbedDim: e, Precision: prec, Seed: 5}
				net := mustNet(t, cfg)
				p := net.Params()
				clear(p)
				for j := 0; j < e; j++ { // W_0 is (D+E) x D; row D+j picks feature j
					p[(e+j)*e+j] = 1
				}
				net.SyncParams()
				ts := []float64{0, 0.25, 0.5, 1}
				x := make([]float64, len(ts)*e)
				got := make([]float64, len(ts)*e)
				net.Forward(got, x, ts)
				c := configOf(net)
				for i, ti := range ts {
					for k := 0; k < e/2; k++ {
						var angle float64
						if emb == EmbeddingFourier {
							angle = 2 * math.Pi * net.Buffers()[k] * ti // TimeScale 1
						} else {
							freq := math.Exp(-math.Log(10000) * float64(k) / float64(e/2-1))
							angle = 1000 * ti * freq
						}
						want := []float64{math.Sin(angle), math.Cos(angle)}
						for h, w := range want {
							g := got[i*e+h*e/2+k]
							// float64: the same operations up to reassociation
							// of 2 pi W t, so 1e-12 (|angle| < 1e3, so the
							// angle's rounding is ~1e-13); float32: the
							// features are rounded to float32, 6e-8.
							tol := 1e-12
							if prec == Float32 {
								tol = 1.2e-7
							}
							if math.Abs(g-w) > tol {
								t.Errorf("t=%v feature %d: got %.17g, want %.17g", ti, h*e/2+k, g, w)
							}
						}
					}
				}
				if emb == EmbeddingFourier && c.FourierScale != DefaultFourierScale {
					t.Errorf("FourierScale default = %v", c.FourierScale)
				}
				if emb == EmbeddingSinusoidal && c.TimeScale != DefaultSinusoidalTimeScale {
					t.Errorf("TimeScale default = %v", c.TimeScale)
				}
			})
		}
	}
}

// TestFourierFrequencies checks that W ~ N(0, scale^2): with 4096 draws the
// sample std has relative standard error 1/sqrt(2*4096) = 1.1%; 5% is 4.5 of them.
func TestFourierFrequencies(t *testing.T) {
	net := mustNet(t, Config{Dim: 1, EmbedDim: 8192, FourierScale: 16, Seed: 6})
	w := net.Buffers()
	var ss float64
	for _, v := range w {
		ss += v * v
	}
	std := math.Sqrt(ss / float64(len(w)))
	if math.Abs(std/16-1) > 0.05 {
		t.Errorf("std of W = %v, want 16 within 5%%", std)
	}
}

// TestSiLUKernels compares the kernels in use (AVX2 where available) with
// the formulas evaluated by math and math32, including large arguments.
func TestSiLUKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, w = 3, 37 // 37 = 4*9+1 = 8*4+5: vector body and scalar tail
	z := make([]float64, n*w)
	bias := make([]float64, w)
	for i := range z {
		z[i] = 6 * rng.NormFloat64()
	}
	for i := range bias {
		bias[i] = rng.NormFloat64()
	}
	z[0], z[1], z[2], z[3], z[4] = -100, 100, -800, 800, 0
	z[5], z[6] = 87-bias[5], -87.5-bias[6]
	z[w+3] = math.NaN() // in the vector body
	z[w-1] = math.NaN() // in the scalar tail
	d := make([]float64, n*w)
	for i := range d {
		d[i] = rng.NormFloat64()
	}
	t.Run("float64", func(t *testing.T) {
		zz, s, a := append([]float64(nil), z...), make([]float64, n*w), make([]float64, n*w)
		k64{}.biasSiLU(zz, s, a, bias, n, w)
		dd := append([]float64(nil), d...)
		k64{}.siluGrad(dd, zz, s)
		for i := range z {
			v := z[i] + bias[i%w]
			if math.IsNaN(v) {
				if !math.IsNaN(a[i]) || !math.IsNaN(dd[i]) {
					t.Errorf("NaN input at %d gives SiLU %v, derivative %v", i, a[i], dd[i])
				}
				continue
			}
			sig := 1 / (1 + math.Exp(-v))
			grad := d[i] * sig * (1 + v*(1-sig))
			// The AVX2 exp is within ~2 ulp and the sigmoid adds a division:
			// 4 ulp relative, or 1e-300 absolute for underflowing values.
			for _, c := range [][3]float64{{zz[i], v, 0}, {s[i], sig, 1}, {a[i], v * sig, 2}, {dd[i], grad, 3}} {
				if math.Abs(c[0]-c[1]) > 1e-300+4*0x1p-52*math.Abs(c[1]) {
					t.Errorf("v=%v quantity %v: got %.17g, want %.17g", v, c[2], c[0], c[1])
				}
			}
		}
	})
	t.Run("float32", func(t *testing.T) {
		z32, b32, d32 := make([]float32, len(z)), make([]float32, w), make([]float32, len(d))
		for i := range z {
			z32[i], d32[i] = float32(z[i]), float32(d[i])
		}
		for i := range bias {
			b32[i] = float32(bias[i])
		}
		zz, s, a := append([]float32(nil), z32...), make([]float32, n*w), make([]float32, n*w)
		k32{}.biasSiLU(zz, s, a, b32, n, w)
		dd := append([]float32(nil), d32...)
		k32{}.siluGrad(dd, zz, s)
		for i := range z32 {
			v := float64(z32[i] + b32[i%w])
			if math.IsNaN(v) {
				if !math.IsNaN(float64(a[i])) || !math.IsNaN(float64(dd[i])) {
					t.Errorf("NaN input at %d gives SiLU %v, derivative %v", i, a[i], dd[i])
				}
				continue
			}
			sig := 1 / (1 + math.Exp(-v))
			grad := float64(d32[i]) * sig * (1 + v*(1-sig))
			// Against the float64 formula: a few float32 roundings of 6e-8
			// each, and the derivative loses a little more where
			// 1 + v(1 - s) cancels; 6e-7 relative (10 ulp) plus 1e-37
			// absolute (float32's underflow).
			for _, c := range [][3]float64{{float64(zz[i]), v, 0}, {float64(s[i]), sig, 1}, {float64(a[i]), v * sig, 2}, {float64(dd[i]), grad, 3}} {
				if math.Abs(c[0]-c[1]) > 1e-37+6e-7*math.Abs(c[1])+6e-7*math.Abs(float64(d32[i]))*boolf(c[2] == 3) {
					t.Errorf("v=%v quantity %v: got %.9g, want %.9g", v, c[2], c[0], c[1])
				}
			}
		}
	})
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TestRowsIndependent checks that a row's output does not depend on the
// other rows of the batch or its size: the whole batch against row-by-row
// evaluation. With gonum's BLAS the bits agree; other BLAS may pick
// different kernels for different sizes, so the test allows 1e-13 relative.
func TestRowsIndependent(t *testing.T) {
	for _, prec := range []string{Float64, Float32} {
		net := mustNet(t, anchorConfig(64, prec))
		const n = 70
		x, tt, _ := batch(14, n, 2)
		all := make([]float64, n*2)
		net.Forward(all, x, tt)
		one := make([]float64, 2)
		tol := 1e-13
		if prec == Float32 {
			tol = 1e-6 // a different float32 kernel may round differently
		}
		for i := 0; i < n; i++ {
			net.Forward(one, x[2*i:2*i+2], tt[i:i+1])
			for j := range one {
				if d := math.Abs(one[j] - all[2*i+j]); d > tol*(1+math.Abs(all[2*i+j])) {
					t.Fatalf("%s row %d: batch %.17g, alone %.17g", prec, i, all[2*i+j], one[j])
				}
			}
		}
	}
}

func TestConfig(t *testing.T) {
	bad := []struct {
		cfg  Config
		want string
	}{
		{Config{Dim: 0}, "Dim"},
		{Config{Dim: 2, Hidden: []int{4, 0}}, "Hidden[1]"},
		{Config{Dim: 2, Embedding: "rff"}, "Embedding"},
		{Config{Dim: 2, EmbedDim: 3}, "EmbedDim"},
		{Config{Dim: 2, EmbedDim: -2}, "EmbedDim"},
		{Config{Dim: 2, FourierScale: -1}, "FourierScale"},
		{Config{Dim: 2, FourierScale: math.NaN()}, "FourierScale"},
		{Config{Dim: 2, TimeScale: math.Inf(1)}, "TimeScale"},
		{Config{Dim: 2, Precision: "float16"}, "Precision"},
	}
	for _, c := range bad {
		if net, err := New(c.cfg); net != nil || err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "model: config: ") {
			t.Errorf("New(%+v) = %v, want an error about %s", c.cfg, err, c.want)
		}
	}
	if _, err := NewMLP32(Config{Dim: 2}); err == nil {
		t.Error("NewMLP32 accepted Precision float64")
	}
	net, err := New(Config{Dim: 2, Hidden: []int{3}})
	if err != nil {
		t.Fatal(err)
	}
	c := configOf(net)
	if c.Embedding != EmbeddingFourier || c.EmbedDim != 32 || c.FourierScale != 16 || c.TimeScale != 1 || c.Precision != Float64 {
		t.Errorf("defaults: %+v", c)
	}
	// (2+32)*3+3 + 3*2+2
	if got, want := net.(Trainable).NumParams(), 34*3+3+3*2+2; got != want || c.NumParams() != want {
		t.Errorf("NumParams = %d, Config.NumParams = %d, want %d", got, c.NumParams(), want)
	}
	if _, ok := net.(*MLP); !ok {
		t.Errorf("New gave %T, want *MLP", net)
	}
	c.Precision = Float32
	if net, _ := New(c); net == nil {
		t.Error("float32 config failed")
	} else if _, ok := net.(*MLP32); !ok {
		t.Errorf("New gave %T, want *MLP32", net)
	}
}

func TestSameSeedSameNet(t *testing.T) {
	a, b := mustNet(t, anchorConfig(8, Float64)), mustNet(t, anchorConfig(8, Float64))
	for i, v := range a.Params() {
		if math.Float64bits(v) != math.Float64bits(b.Params()[i]) {
			t.Fatal("same seed, different parameters")
		}
	}
	cfg := anchorConfig(8, Float64)
	cfg.Seed++
	if c := mustNet(t, cfg); c.Params()[0] == a.Params()[0] {
		t.Error("different seed, same first parameter")
	}
}

func TestClone(t *testing.T) {
	for _, prec := range []string{Float64, Float32} {
		a := mustNet(t, anchorConfig(8, prec))
		b := CloneTrainable(a)
		x, tt, _ := batch(1, 3, 2)
		ya, yb := make([]float64, 6), make([]float64, 6)
		a.Forward(ya, x, tt)
		b.Forward(yb, x, tt)
		for i := range ya {
			if ya[i] != yb[i] {
				t.Fatalf("%s: clone differs", prec)
			}
		}
		b.Params()[0] += 1
		b.SyncParams()
		a.Forward(ya, x, tt)
		b.Forward(yb, x, tt)
		if ya[0] == yb[0] && ya[1] == yb[1] {
			t.Errorf("%s: clone shares parameters", prec)
		}
	}
}

func TestPanics(t *testing.T) {
	net := mustNet(t, Config{Dim: 2, Hidden: []int{3}})
	x, tt, _ := batch(1, 4, 2)
	out := make([]float64, 8)
	cases := map[string]func(){
		"empty batch":     func() { net.Forward(out[:0], x[:0], nil) },
		"short x":         func() { net.Forward(out, x[:7], tt) },
		"short dst":       func() { net.InputVJP(out[:6], x, x, tt) },
		"no ForwardTrain": func() { net.Forward(out, x, tt); net.Backward(out) },
		"short dOut":      func() { net.ForwardTrain(out, x, tt); net.Backward(out[:6]) },
	}
	for name, f := range cases {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("%s: no panic", name)
				} else if !strings.HasPrefix(fmt.Sprint(r), "model: ") {
					t.Errorf("%s: panic %q lacks the model: prefix", name, r)
				}
			}()
			f()
		}()
	}
}

// TestNoAllocs checks that a training step, Forward and InputVJP allocate
// nothing once the workspace has grown to the batch size.
func TestNoAllocs(t *testing.T) {
	for _, prec := range []string{Float64, Float32} {
		for _, w := range []int{16, 256} { // 256 goes through several BLAS tiles
			s := newTrainStep(t, anchorConfig(w, prec), 128)
			s.run(t) // warm-up: workspace and Adam moments
			if a := testing.AllocsPerRun(5, func() { s.run(t) }); a != 0 {
				t.Errorf("%s W=%d: training step allocates %v times", prec, w, a)
			}
			v := make([]float64, len(s.x))
			if a := testing.AllocsPerRun(5, func() {
				s.net.Forward(s.out, s.x, s.t)
				s.net.InputVJP(v, s.dOut, s.x, s.t)
			}); a != 0 {
				t.Errorf("%s W=%d: Forward + InputVJP allocate %v times", prec, w, a)
			}
		}
	}
}

// TestWorkers checks that SetWorkers changes neither results (bit for bit)
// nor the allocation count, and that its goroutines go away.
func TestWorkers(t *testing.T) {
	for _, prec := range []string{Float64, Float32} {
		g0 := runtime.NumGoroutine()
		one := newTrainStep(t, anchorConfig(200, prec), 300) // C has several tiles
		two := newTrainStep(t, anchorConfig(200, prec), 300)
		two.net.SetWorkers(2)
		if two.net.Workers() != 2 || one.net.Workers() != 1 {
			t.Fatalf("Workers() = %d, %d", one.net.Workers(), two.net.Workers())
		}
		for step := 0; step < 3; step++ {
			one.run(t)
			two.run(t)
		}
		if d := cmp.Diff(one.net.Params(), two.net.Params(), bitsEqual); d != "" {
			t.Errorf("%s: parameters after 3 steps depend on the workers:\n%s", prec, d)
		}
		v1, v2 := make([]float64, len(one.x)), make([]float64, len(one.x))
		one.net.InputVJP(v1, one.dOut, one.x, one.t)
		two.net.InputVJP(v2, one.dOut, one.x, one.t)
		if d := cmp.Diff(v1, v2, bitsEqual); d != "" {
			t.Errorf("%s: input VJP depends on the workers:\n%s", prec, d)
		}
		if a := testing.AllocsPerRun(5, func() { two.run(t) }); a != 0 {
			t.Errorf("%s: training step with 2 workers allocates %v times", prec, a)
		}
		two.net.SetWorkers(1)
		for i := 0; i < 100 && runtime.NumGoroutine() > g0; i++ {
			time.Sleep(time.Millisecond)
		}
		if g := runtime.NumGoroutine(); g > g0 {
			t.Errorf("%s: %d goroutines after SetWorkers(1), %d before", prec, g, g0)
		}
	}
}

// TestAliasing checks the documented aliasing: Forward's dst may be x, and
// InputVJP's dst may be x.
func TestAliasing(t *testing.T) {
	for _, cfg := range smallConfigs(Float64) {
		net := mustNet(t, cfg)
		x, tt, v := batch(2, 3, cfg.Dim)
		want, got := make([]float64, len(x)), append([]float64(nil), x...)
		net.Forward(want, x, tt)
		net.Forward(got, got, tt)
		if d := cmp.Diff(want, got, bitsEqual); d != "" {
			t.Errorf("%s: Forward in place:\n%s", cfgName(cfg), d)
		}
		got = append(got[:0], x...)
		net.InputVJP(want, v, x, tt)
		net.InputVJP(got, v, got, tt)
		if d := cmp.Diff(want, got, bitsEqual); d != "" {
			t.Errorf("%s: InputVJP in place:\n%s", cfgName(cfg), d)
		}
	}
}
