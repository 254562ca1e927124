package model

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/internal/gemm"
)

// tinyUNet is the test architecture: 1x8x8 images, two resolutions (8x8
// with 4 channels, 4x4 with 8), groups of 2, attention at 4x4.
func tinyUNet(precision string) UNetConfig {
	return UNetConfig{Channels: 1, Height: 8, Width: 8, Base: 4, Mult: []int{1, 2}, NumRes: 1, Groups: 2,
		EmbedDim: 4, TembDim: 8, Precision: precision, Seed: 3}
}

// perturb replaces the parameters by U(-0.5, 0.5) draws (GroupNorm gammas
// 1 + U(-0.5, 0.5)), so that no gradient vanishes by a zero weight.
func perturb(p []float64, g *unetGraph, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, b := range g.inits {
		for i := b.off; i < b.off+b.n; i++ {
			p[i] = rng.Float64() - 0.5
			if !b.uniform && b.value == 1 {
				p[i] += 1
			}
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

// fdTol is the tolerance of the finite-difference checks: central
// differences with step h = 1e-5 on a smooth float64 function whose third
// derivatives are O(10) have truncation error ~h^2 = 1e-10 and rounding
// error ~1e-16 |L| / h ~ 1e-10 (|L| ~ 10); 1e-6 + 1e-5 |g| leaves room for
// the larger curvature of GroupNorm on small groups while an error in a
// gradient (a wrong index, a missing term) is O(|g|).
func fdTol(g float64) float64 { return 1e-6 + 1e-5*math.Abs(g) }

const fdStep = 1e-5

// checkCoreGrads checks every parameter gradient and every input gradient
// of the plan g, for L = sum(w * out) on n images, against central
// differences.
func checkCoreGrads(t *testing.T, g *unetGraph, n int) {
	t.Helper()
	_, buffers := initUNet(g.cfg)
	params := make([]float64, g.nParams)
	perturb(params, g, 5)
	c := newUNetCoreFrom[float64, k64](g, buffers)
	copy(c.params, params)
	rng := rand.New(rand.NewPCG(9, 9))
	X := c.t[g.x]
	x := randSlice(rng, n*X.size())
	ts := make([]float64, n)
	for i := range ts {
		ts[i] = 0.1 + 0.8*rng.Float64()
	}
	Y := c.t[g.out]
	w := randSlice(rng, n*Y.size())
	out := make([]float64, n*Y.size())
	loss := func() float64 {
		c.forward(x, ts, n, true)
		c.keepKey = true // the same dropout masks for the perturbed inputs
		c.outputTo(out)
		var s float64
		for i, v := range out {
			s += w[i] * v
		}
		return s
	}
	loss()
	grad := make([]float64, len(params))
	dx := make([]float64, len(x))
	c.backprop(w, grad, dx)
	for i := range c.params {
		p := c.params[i]
		c.params[i] = p + fdStep
		lp := loss()
		c.params[i] = p - fdStep
		lm := loss()
		c.params[i] = p
		fd := (lp - lm) / (2 * fdStep)
		if math.Abs(fd-grad[i]) > fdTol(fd) {
			t.Errorf("param %d of %d: backprop %.10g, finite difference %.10g", i, len(params), grad[i], fd)
		}
	}
	for i := range x {
		v := x[i]
		x[i] = v + fdStep
		lp := loss()
		x[i] = v - fdStep
		lm := loss()
		x[i] = v
		fd := (lp - lm) / (2 * fdStep)
		if math.Abs(fd-dx[i]) > fdTol(fd) {
			t.Errorf("input %d of %d: backprop %.10g, finite difference %.10g", i, len(x), dx[i], fd)
		}
	}
}

// TestUNetLayerGradients checks each operation alone (with a 1x1
// convolution in front where it has no parameters of its own) by finite
// differences.
func TestUNetLayerGradients(t *testing.T) {
	cfg := UNetConfig{Channels: 2, Height: 4, Width: 4, Groups: 2, EmbedDim: 4, TembDim: 6, Dropout: 0.3, Seed: 2}.WithDefaults()
	withStemb := func(g *unetGraph) {
		g.stemb = g.simple(opSiLU, g.conv(g.te, cfg.TembDim, 1), -1, tshape{cfg.TembDim, 1, 1})
	}
	cases := []struct {
		name  string
		build func(g *unetGraph, x int) int
	}{
		{"conv3", func(g *unetGraph, x int) int { return g.conv(x, 3, 3) }},
		{"conv1", func(g *unetGraph, x int) int { return g.conv(x, 3, 1) }},
		{"groupnorm", func(g *unetGraph, x int) int { return g.norm(g.conv(x, 4, 1), false) }},
		{"groupnorm+silu", func(g *unetGraph, x int) int { return g.norm(g.conv(x, 4, 1), true) }},
		{"silu", func(g *unetGraph, x int) int { return g.simple(opSiLU, x, -1, g.shapes[x]) }},
		{"time embedding", func(g *unetGraph, x int) int {
			withStemb(g)
			h := g.conv(x, 3, 1)
			g.simple(opAddChan, h, g.conv(g.stemb, 3, 1), tshape{})
			return h
		}},
		{"dropout", func(g *unetGraph, x int) int {
			h := g.conv(x, 3, 1)
			g.simple(opDropout, h, -1, tshape{})
			return h
		}},
		{"residual", func(g *unetGraph, x int) int {
			h := g.conv(x, 2, 1)
			g.simple(opAddTo, h, x, tshape{})
			return h
		}},
		{"avgpool", func(g *unetGraph, x int) int {
			s := g.shapes[x]
			return g.simple(opPool, g.conv(x, 3, 1), -1, tshape{3, s.h / 2, s.w / 2})
		}},
		{"upsample", func(g *unetGraph, x int) int {
			s := g.shapes[x]
			return g.simple(opUp, g.conv(x, 3, 1), -1, tshape{3, 2 * s.h, 2 * s.w})
		}},
		{"concat", func(g *unetGraph, x int) int {
			s := g.shapes[x]
			return g.simple(opConcat, g.conv(x, 3, 1), x, tshape{3 + s.c, s.h, s.w})
		}},
		{"attention", func(g *unetGraph, x int) int { return g.attention(g.conv(x, 4, 1)) }},
		{"resblock", func(g *unetGraph, x int) int { withStemb(g); return g.resblock(x, 4) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := &unetGraph{cfg: cfg}
			g.x = g.tensor(cfg.Channels, cfg.Height, cfg.Width)
			g.te = g.tensor(cfg.EmbedDim, 1, 1)
			g.out = tc.build(g, g.x)
			checkCoreGrads(t, g, 2)
		})
	}
}

// TestUNetGradients checks the whole network (attention and dropout on).
func TestUNetGradients(t *testing.T) {
	cfg := tinyUNet(Float64)
	cfg.Dropout = 0.2
	g := new(unetGraph)
	g.plan(cfg.WithDefaults())
	checkCoreGrads(t, g, 2)
}

// TestUNetTrainableGradients checks the public Trainable path (Backward
// adds to Grads, InputVJP) against finite differences of Forward.
func TestUNetTrainableGradients(t *testing.T) {
	net, err := NewUNet(tinyUNet(Float64))
	if err != nil {
		t.Fatal(err)
	}
	u := net.(*UNet)
	perturb(u.Params(), u.core.g, 11)
	n, d := 2, net.Dim()
	rng := rand.New(rand.NewPCG(4, 4))
	x, w := randSlice(rng, n*d), randSlice(rng, n*d)
	ts := []float64{0.3, 0.7}
	out := make([]float64, n*d)
	loss := func() float64 {
		net.Forward(out, x, ts)
		var s float64
		for i, v := range out {
			s += w[i] * v
		}
		return s
	}
	net.ZeroGrad()
	net.ForwardTrain(out, x, ts)
	net.Backward(w)
	net.Backward(w) // Backward adds: Grads now hold twice the gradient
	vjp := make([]float64, n*d)
	net.InputVJP(vjp, w, x, ts)
	p := net.Params()
	for _, i := range []int{0, 7, len(p) / 3, len(p) / 2, len(p) - 1} {
		v := p[i]
		p[i] = v + fdStep
		lp := loss()
		p[i] = v - fdStep
		lm := loss()
		p[i] = v
		fd := (lp - lm) / (2 * fdStep)
		if g := net.Grads()[i] / 2; math.Abs(fd-g) > fdTol(fd) {
			t.Errorf("param %d: Grads/2 %.10g, finite difference %.10g", i, g, fd)
		}
	}
	for _, i := range []int{0, 9, d + 17, 2*d - 1} {
		v := x[i]
		x[i] = v + fdStep
		lp := loss()
		x[i] = v - fdStep
		lm := loss()
		x[i] = v
		fd := (lp - lm) / (2 * fdStep)
		if math.Abs(fd-vjp[i]) > fdTol(fd) {
			t.Errorf("InputVJP %d: %.10g, finite difference %.10g", i, vjp[i], fd)
		}
	}
}

// TestUNetFloat32 compares the float32 network with the float64 one built
// from the same parameters: outputs, parameter gradients and input VJPs.
// The tolerance, 2e-4 of the largest magnitude, is ~1000 float32 epsilons:
// the path from input to output has some 30 operations, each with sums of
// up to 9*C_in = 144 float32 terms or a GroupNorm division by a standard
// deviation, so relative errors of 1e-5 are expected, while a wrong
// float32 kernel gives O(1) differences.
func TestUNetFloat32(t *testing.T) {
	n64, err := NewUNet(tinyUNet(Float64))
	if err != nil {
		t.Fatal(err)
	}
	perturb(n64.Params(), n64.(*UNet).core.g, 12)
	cfg, _ := n64.MarshalConfig()
	cfg = bytes.Replace(cfg, []byte(`"precision":"float64"`), []byte(`"precision":"float32"`), 1)
	n32, err := Build(KindUNet, cfg, n64.Params(), n64.Buffers())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := n32.(*UNet32); !ok {
		t.Fatalf("Build with precision float32 gave %T", n32)
	}
	n, d := 3, n64.Dim()
	rng := rand.New(rand.NewPCG(5, 5))
	x, w := randSlice(rng, n*d), randSlice(rng, n*d)
	ts := []float64{0.01, 0.5, 1}
	compare := func(what string, a, b []float64) {
		t.Helper()
		scale := 0.0
		for _, v := range a {
			scale = max(scale, math.Abs(v))
		}
		for i := range a {
			if math.Abs(a[i]-b[i]) > 2e-4*scale {
				t.Errorf("%s[%d]: float64 %.8g, float32 %.8g (scale %.3g)", what, i, a[i], b[i], scale)
				return
			}
		}
	}
	o64, o32 := make([]float64, n*d), make([]float64, n*d)
	for _, net := range []Trainable{n64, n32} {
		net.ZeroGrad()
	}
	n64.ForwardTrain(o64, x, ts)
	n32.ForwardTrain(o32, x, ts)
	compare("output", o64, o32)
	n64.Backward(w)
	n32.Backward(w)
	compare("grad", n64.Grads(), n32.Grads())
	n64.InputVJP(o64, w, x, ts)
	n32.InputVJP(o32, w, x, ts)
	compare("vjp", o64, o32)
}

// TestUNetRebuild checks that Build and a checkpoint round trip give back
// the network bit for bit, in both precisions.
func TestUNetRebuild(t *testing.T) {
	for _, prec := range []string{Float64, Float32} {
		t.Run(prec, func(t *testing.T) {
			cfg := tinyUNet(prec)
			cfg.Embedding = EmbeddingSinusoidal
			if prec == Float32 {
				cfg.Embedding = EmbeddingFourier
			}
			net, err := NewUNet(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ck, err := NewCheckpoint(net, 10, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			data, err := ck.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var back Checkpoint
			if err := back.UnmarshalBinary(data); err != nil {
				t.Fatal(err)
			}
			net2, err := back.Net()
			if err != nil {
				t.Fatal(err)
			}
			n, d := 2, net.Dim()
			rng := rand.New(rand.NewPCG(6, 6))
			x := randSlice(rng, n*d)
			ts := []float64{0.2, 0.9}
			a, b := make([]float64, n*d), make([]float64, n*d)
			net.Forward(a, x, ts)
			net2.Forward(b, x, ts)
			for i := range a {
				if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
					t.Fatalf("output %d: %v before the round trip, %v after", i, a[i], b[i])
				}
			}
			c1, _ := net.MarshalConfig()
			c2, _ := net2.MarshalConfig()
			if !bytes.Equal(c1, c2) {
				t.Errorf("config %s became %s", c1, c2)
			}
		})
	}
}

// TestUNetWorkers checks that outputs, gradients and input VJPs are the
// same bits with 1 and 3 workers (4 images of 8x8: 256 pixel rows, several
// gemm tiles).
func TestUNetWorkers(t *testing.T) {
	for _, prec := range []string{Float64, Float32} {
		t.Run(prec, func(t *testing.T) {
			a, err := NewUNet(tinyUNet(prec))
			if err != nil {
				t.Fatal(err)
			}
			b := CloneTrainable(a)
			b.SetWorkers(3)
			defer b.SetWorkers(1)
			n, d := 4, a.Dim()
			rng := rand.New(rand.NewPCG(8, 8))
			x, w := randSlice(rng, n*d), randSlice(rng, n*d)
			ts := []float64{0.1, 0.4, 0.6, 0.95}
			oa, ob := make([]float64, n*d), make([]float64, n*d)
			same := func(what string, u, v []float64) {
				t.Helper()
				for i := range u {
					if math.Float64bits(u[i]) != math.Float64bits(v[i]) {
						t.Fatalf("%s[%d]: %v with 1 worker, %v with 3", what, i, u[i], v[i])
					}
				}
			}
			a.ForwardTrain(oa, x, ts)
			b.ForwardTrain(ob, x, ts)
			same("output", oa, ob)
			a.Backward(w)
			b.Backward(w)
			same("grad", a.Grads(), b.Grads())
			a.InputVJP(oa, w, x, ts)
			b.InputVJP(ob, w, x, ts)
			same("vjp", oa, ob)
		})
	}
}

// TestUNetNoAlloc checks that Forward, InputVJP and a training step do not
// allocate after the first call.
func TestUNetNoAlloc(t *testing.T) {
	for _, prec := range []string{Float64, Float32} {
		net, err := NewUNet(tinyUNet(prec))
		if err != nil {
			t.Fatal(err)
		}
		n, d := 2, net.Dim()
		x, out := make([]float64, n*d), make([]float64, n*d)
		ts := []float64{0.5, 0.25}
		net.Forward(out, x, ts)
		if a := testing.AllocsPerRun(5, func() { net.Forward(out, x, ts) }); a != 0 {
			t.Errorf("%s Forward: %v allocations per call", prec, a)
		}
		if a := testing.AllocsPerRun(5, func() { net.InputVJP(out, x, x, ts) }); a != 0 {
			t.Errorf("%s InputVJP: %v allocations per call", prec, a)
		}
		if a := testing.AllocsPerRun(5, func() { net.ForwardTrain(out, x, ts); net.Backward(x) }); a != 0 {
			t.Errorf("%s ForwardTrain+Backward: %v allocations per call", prec, a)
		}
	}
}

// TestUNetDropout checks that dropout acts in ForwardTrain only and that an
// image's masks depend on the seed and the image alone: not on the other
// rows of the batch, nor on the network object (a clone, or a network
// rebuilt from a checkpoint, draws the same).
func TestUNetDropout(t *testing.T) {
	cfg := tinyUNet(Float64)
	cfg.Dropout = 0.5
	net, err := NewUNet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := net.Dim()
	rng := rand.New(rand.NewPCG(1, 2))
	x := randSlice(rng, 2*d)
	ts := []float64{0.5, 0.3}
	f, tr, one, cl := make([]float64, 2*d), make([]float64, 2*d), make([]float64, d), make([]float64, d)
	net.Forward(f, x, ts)
	net.ForwardTrain(tr, x, ts)
	net.ForwardTrain(one, x[:d], ts[:1])
	cfg.Seed = 4
	other, err := NewUNet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	copy(other.Params(), net.Params())
	other.ForwardTrain(cl, x[:d], ts[:1])
	clone := CloneTrainable(net)
	clone.ForwardTrain(f[:d], x[:d], ts[:1])
	equal := func(a, b []float64) bool {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	g := make([]float64, 2*d)
	net.Forward(g, x, ts)
	switch {
	case equal(g, tr):
		t.Error("ForwardTrain with dropout 0.5 equals Forward")
	case !equal(tr[:d], one):
		t.Error("row 0's training output depends on the rest of the batch")
	case !equal(one, f[:d]):
		t.Error("a clone draws other masks for the same row")
	case equal(one, cl):
		t.Error("another seed draws the same masks")
	}
}

// TestUNetConfigErrors checks the messages for architectures that do not
// fit the image and groups that do not divide the channels.
func TestUNetConfigErrors(t *testing.T) {
	cases := []struct {
		cfg  UNetConfig
		want string
	}{
		{UNetConfig{Channels: 1, Height: 28, Width: 28, Mult: []int{1, 2, 2, 2}}, "28x28 is not divisible by 8"},
		{UNetConfig{Channels: 1, Height: 8, Width: 6, Mult: []int{1, 1, 1}}, "8x6 is not divisible by 4"},
		{UNetConfig{Channels: 1, Height: 8, Width: 8, Base: 12, Groups: 8}, "Groups = 8 does not divide 12"},
		{UNetConfig{Channels: 1, Height: 8, Width: 8, Base: 6, Groups: 4}, "Groups = 4 does not divide 6"},
		{UNetConfig{Channels: 0, Height: 8, Width: 8}, "image shape"},
		{UNetConfig{Channels: 1, Height: 8, Width: 8, Dropout: 1}, "Dropout"},
		{UNetConfig{Channels: 1, Height: 8, Width: 8, Attention: "all"}, "Attention"},
		{UNetConfig{Channels: 1, Height: 8, Width: 8, EmbedDim: 3}, "EmbedDim"},
		{UNetConfig{Channels: 1, Height: 8, Width: 8, Precision: "float16"}, "Precision"},
	}
	for _, tc := range cases {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", tc.cfg, err, tc.want)
		}
		if _, err := NewUNet(tc.cfg); err == nil {
			t.Errorf("%+v: NewUNet accepted it", tc.cfg)
		}
	}
	if err := (UNetConfig{Channels: 1, Height: 28, Width: 28}).Validate(); err != nil {
		t.Errorf("the default architecture on 28x28: %v", err)
	}
	if _, err := Build(KindUNet, []byte(`{"channels":1,"height":8,"width":8,"base":4,"groups":2}`), []float64{1}, nil); err == nil ||
		!strings.Contains(err.Error(), "parameters") {
		t.Errorf("Build with 1 parameter: %v", err)
	}
}

// TestUNetDirectConv checks that the float32 direct convolutions
// (gemm.ConvTile32, AVX-512) give the bits of im2col + gemm: outputs,
// gradients and input VJPs, with 1 and 3 workers.
func TestUNetDirectConv(t *testing.T) {
	if !gemm.HaveConvTile32() {
		t.Skip("no direct-convolution kernel on this CPU")
	}
	defer func(v bool) { directConv = v }(directConv)
	cfg := tinyUNet(Float32)
	// 16x16 and 8x8 images: tiles that straddle image rows and images, and
	// (32 and 64 channels) tiles written straight into the output.
	cfg.Height, cfg.Width, cfg.Base, cfg.Groups = 16, 16, 32, 8
	n, d := 3, cfg.Dim()
	rng := rand.New(rand.NewPCG(10, 10))
	x, w := randSlice(rng, n*d), randSlice(rng, n*d)
	ts := []float64{0.1, 0.5, 0.9}
	run := func(direct bool, workers int) (out, grad, vjp []float64) {
		directConv = direct
		net, err := NewUNet(cfg)
		if err != nil {
			t.Fatal(err)
		}
		net.SetWorkers(workers)
		defer net.SetWorkers(1)
		out, vjp = make([]float64, n*d), make([]float64, n*d)
		net.ForwardTrain(out, x, ts)
		net.Backward(w)
		net.InputVJP(vjp, w, x, ts)
		return out, net.Grads(), vjp
	}
	o0, g0, v0 := run(false, 1)
	for _, workers := range []int{1, 3} {
		o1, g1, v1 := run(true, workers)
		for _, c := range []struct {
			what string
			a, b []float64
		}{{"output", o0, o1}, {"grad", g0, g1}, {"vjp", v0, v1}} {
			for i := range c.a {
				if math.Float64bits(c.a[i]) != math.Float64bits(c.b[i]) {
					t.Fatalf("workers=%d %s[%d]: im2col %v, direct %v", workers, c.what, i, c.a[i], c.b[i])
				}
			}
		}
	}
}

// TestUNetRowsIndependent checks that Forward and InputVJP of a row do not
// depend on the batch it is in: a batch of 40 rows (two chunks of
// unetChunk) against the rows one at a time, bit for bit; and that
// ForwardVJP gives what they give.
func TestUNetRowsIndependent(t *testing.T) {
	for _, prec := range []string{Float64, Float32} {
		net, err := NewUNet(tinyUNet(prec))
		if err != nil {
			t.Fatal(err)
		}
		n, d := 40, net.Dim()
		rng := rand.New(rand.NewPCG(12, 12))
		x, v := randSlice(rng, n*d), randSlice(rng, n*d)
		ts := make([]float64, n)
		for i := range ts {
			ts[i] = rng.Float64()
		}
		out, vjp := make([]float64, n*d), make([]float64, n*d)
		net.Forward(out, x, ts)
		net.InputVJP(vjp, v, x, ts)
		// ForwardVJP gives both, the same bits.
		fo, fv := make([]float64, n*d), make([]float64, n*d)
		net.(ForwardVJPer).ForwardVJP(fo, fv, v, x, ts)
		for i := range fo {
			if math.Float64bits(fo[i]) != math.Float64bits(out[i]) || math.Float64bits(fv[i]) != math.Float64bits(vjp[i]) {
				t.Fatalf("%s ForwardVJP[%d]: %v, %v; Forward and InputVJP %v, %v", prec, i, fo[i], fv[i], out[i], vjp[i])
			}
		}
		o1, v1 := make([]float64, d), make([]float64, d)
		for i := 0; i < n; i++ {
			net.Forward(o1, x[i*d:(i+1)*d], ts[i:i+1])
			net.InputVJP(v1, v[i*d:(i+1)*d], x[i*d:(i+1)*d], ts[i:i+1])
			for j := 0; j < d; j++ {
				if math.Float64bits(o1[j]) != math.Float64bits(out[i*d+j]) || math.Float64bits(v1[j]) != math.Float64bits(vjp[i*d+j]) {
					t.Fatalf("%s row %d: alone %v / %v, in the batch %v / %v", prec, i, o1[j], v1[j], out[i*d+j], vjp[i*d+j])
				}
			}
		}
	}
}

// TestUNetGroupNormKernels checks that the float32 GroupNorm kernels
// (AVX2 assembly) give the bits of the Go loops, through a whole network
// (channels 8 and 16, so every GroupNorm runs on them): outputs, gradients
// and input VJPs.
func TestUNetGroupNormKernels(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 kernels in this build or on this CPU")
	}
	defer func(v bool) { gnAsmOn = v }(gnAsmOn)
	cfg := tinyUNet(Float32)
	cfg.Base = 8
	n, d := 2, cfg.Dim()
	rng := rand.New(rand.NewPCG(14, 14))
	x, w := randSlice(rng, n*d), randSlice(rng, n*d)
	ts := []float64{0.2, 0.7}
	run := func(asm bool) (out, grad, vjp []float64) {
		gnAsmOn = asm
		net, err := NewUNet(cfg)
		if err != nil {
			t.Fatal(err)
		}
		out, vjp = make([]float64, n*d), make([]float64, n*d)
		net.ForwardTrain(out, x, ts)
		net.Backward(w)
		net.InputVJP(vjp, w, x, ts)
		return out, net.Grads(), vjp
	}
	o0, g0, v0 := run(false)
	o1, g1, v1 := run(true)
	for _, c := range []struct {
		what string
		a, b []float64
	}{{"output", o0, o1}, {"grad", g0, g1}, {"vjp", v0, v1}} {
		for i := range c.a {
			if math.Float64bits(c.a[i]) != math.Float64bits(c.b[i]) {
				t.Fatalf("%s[%d]: Go %v, assembly %v", c.what, i, c.a[i], c.b[i])
			}
		}
	}
}

// TestUNetDirectConvAccumulate checks the direct float32 convolutions where
// a 3x3 and a 1x1 convolution add their input gradients to ones already
// written (h feeds a convolution and a concatenation), against im2col +
// gemm, bit for bit.
func TestUNetDirectConvAccumulate(t *testing.T) {
	if !gemm.HaveConvTile32() {
		t.Skip("no direct-convolution kernel on this CPU")
	}
	defer func(v bool) { directConv = v }(directConv)
	cfg := UNetConfig{Channels: 3, Height: 16, Width: 16, Groups: 1, EmbedDim: 4, TembDim: 4, Precision: Float32, Seed: 5}.WithDefaults()
	g := &unetGraph{cfg: cfg}
	g.x = g.tensor(3, 16, 16)
	g.te = g.tensor(cfg.EmbedDim, 1, 1)
	h := g.conv(g.x, 32, 3)
	k := g.conv(h, 32, 1)
	u := g.simple(opConcat, g.conv(h, 32, 3), k, tshape{64, 16, 16})
	g.out = g.simple(opConcat, u, h, tshape{96, 16, 16})
	n := 2
	rng := rand.New(rand.NewPCG(15, 15))
	x := randSlice(rng, n*3*256)
	w := randSlice(rng, n*96*256)
	ts := []float64{0.3, 0.6}
	params := make([]float64, g.nParams)
	perturb(params, g, 16)
	run := func(direct bool) (grad []float32, dx []float64) {
		directConv = direct
		_, buffers := initUNet(cfg)
		c := newUNetCoreFrom[float32, k32](g, buffers)
		c.setParams(params)
		c.forward(x, ts, n, true)
		grad, dx = make([]float32, g.nParams), make([]float64, len(x))
		c.backprop(w, grad, dx)
		return grad, dx
	}
	g0, d0 := run(false)
	g1, d1 := run(true)
	for i := range g0 {
		if math.Float32bits(g0[i]) != math.Float32bits(g1[i]) {
			t.Fatalf("grad[%d]: im2col %v, direct %v", i, g0[i], g1[i])
		}
	}
	for i := range d0 {
		if math.Float64bits(d0[i]) != math.Float64bits(d1[i]) {
			t.Fatalf("dx[%d]: im2col %v, direct %v", i, d0[i], d1[i])
		}
	}
}
