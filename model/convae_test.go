package model

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
)

// smallConvAE is a conv autoencoder small enough for finite differences
// over every parameter: 1x8x8 images, three resolutions (8, 4, 2: f = 4),
// a 2x2x2 latent, 4 and 8 channels, GroupNorm of 2 groups.
func smallConvAE(prec string) AutoencoderConfig {
	return AutoencoderConfig{Arch: ArchConv, Shape: []int{1, 8, 8}, LatentChannels: 2, Base: 4, Mult: []int{1, 2, 2},
		Groups: 2, KLWeight: 0.3, Precision: prec, Seed: 4}
}

// TestConvAEGradFD checks the gradient TrainLoss accumulates against
// central differences of the loss it returns, over every parameter of the
// float64 conv autoencoder, with fixed reparameterisation noise.
func TestConvAEGradFD(t *testing.T) {
	a := mustAutoencoder(t, smallConvAE(Float64))
	const n = 2
	x, _, _ := batch(51, n, 64)
	xi, _, _ := batch(52, n, 8)
	// Central differences with h = 1e-5 on a loss of order 10^2 (two
	// images of 64 values): truncation h^2 f''' ~ 1e-8, rounding
	// 1e-16 * 100 / 1e-5 ~ 1e-9; 1e-6 relative (to max(1, |g|)) leaves a
	// margin and still catches a wrong or missing term (the KL weight 0.3
	// makes its terms of order 0.1).
	checkLossGradFD(t, "conv", a, x, xi, 1e-6)
}

// TestConvAEDecoderVJP checks the decoder's input gradient (what the
// reparameterisation carries back to the encoder) against central
// differences of u -> ||D(u) - x||^2.
func TestConvAEDecoderVJP(t *testing.T) {
	a := mustAutoencoder(t, smallConvAE(Float64))
	const n = 2
	x, _, _ := batch(61, n, 64)
	u0, _, _ := batch(62, n, 8)
	f := func(u []float64) float64 {
		xh := make([]float64, n*64)
		a.DecodeTo(xh, u)
		var s float64
		for i, v := range xh {
			s += (v - x[i]) * (v - x[i])
		}
		return s
	}
	want := fd.Gradient(nil, f, u0, &fd.Settings{Formula: fd.Central, Step: 1e-5})
	xh := a.net.decodeTrain(u0, n)
	dx := make([]float64, n*64)
	for i, v := range xh {
		dx[i] = 2 * (v - x[i])
	}
	du := make([]float64, n*8)
	a.net.backDecoder(dx, du)
	// As TestConvAEGradFD: 1e-6 relative.
	for i := range want {
		if d := math.Abs(du[i] - want[i]); d > 1e-6*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("dL/du[%d] = %.10g, finite differences %.10g", i, du[i], want[i])
		}
	}
}

// TestConvAEFloat32 checks the float32 autoencoder against the float64 one
// with the same weights: loss and gradient agree to float32 accuracy.
func TestConvAEFloat32(t *testing.T) {
	a64 := mustAutoencoder(t, smallConvAE(Float64))
	a32 := mustAutoencoder(t, smallConvAE(Float32))
	if len(a32.Params()) != len(a64.Params()) {
		t.Fatalf("%d float32 parameters, %d float64", len(a32.Params()), len(a64.Params()))
	}
	for i, v := range a64.Params() {
		if a32.Params()[i] != v {
			t.Fatalf("initial parameter %d differs between precisions", i)
		}
	}
	const n = 3
	x, _, _ := batch(71, n, 64)
	xi, _, _ := batch(72, n, 8)
	l64, _, _ := a64.TrainLoss(x, xi)
	l32, _, _ := a32.TrainLoss(x, xi)
	// float32 arithmetic through a dozen layers: a relative error of a few
	// 1e-7 per operation, accumulated; 1e-4 is wide for it and narrow for
	// any real difference of the two paths.
	if math.Abs(l32-l64) > 1e-4*math.Abs(l64) {
		t.Errorf("float32 loss %.8g, float64 %.8g", l32, l64)
	}
	var dn, gn float64
	for i, g := range a64.Grads() {
		dn += (a32.Grads()[i] - g) * (a32.Grads()[i] - g)
		gn += g * g
	}
	// The gradient as a whole (its norm), same reasoning: 1e-3 relative.
	if math.Sqrt(dn/gn) > 1e-3 {
		t.Errorf("float32 gradient differs from float64 by %.3g relative", math.Sqrt(dn/gn))
	}
	// SyncParams: a change of Params reaches the float32 weights.
	for i := range a32.Params() {
		a32.Params()[i] *= 0.5
	}
	a32.SyncParams()
	l32b, _, _ := a32.TrainLoss(x, xi)
	if l32b == l32 {
		t.Error("SyncParams left the float32 weights unchanged")
	}
}

// TestConvAEShapes checks the default architecture's sizes on 1x28x28
// images and the encode and decode shapes of a small one.
func TestConvAEShapes(t *testing.T) {
	a := mustAutoencoder(t, AutoencoderConfig{Arch: ArchConv, Shape: []int{1, 28, 28}})
	c := a.Config()
	if a.Dim() != 784 || a.Latent() != 196 || !slices.Equal(a.LatentShape(), []int{4, 7, 7}) || a.Kind() != KindConvAutoencoder ||
		c.Base != 32 || !slices.Equal(c.Mult, []int{1, 2, 2}) || c.NumRes != 1 || c.Groups != 8 || c.Precision != Float64 {
		t.Errorf("default conv autoencoder on 1x28x28: %+v, latent shape %v, kind %s", c, a.LatentShape(), a.Kind())
	}
	if a.NumParams() != c.NumParams() || a.NumParams() != len(a.Params()) {
		t.Errorf("NumParams %d, config's %d, len(Params) %d", a.NumParams(), c.NumParams(), len(a.Params()))
	}
	if m := mustAutoencoder(t, AutoencoderConfig{Dim: 4, Latent: 2}); m.LatentShape() != nil || m.Kind() != KindAutoencoder {
		t.Errorf("MLP autoencoder: latent shape %v, kind %s", m.LatentShape(), m.Kind())
	}
	s := mustAutoencoder(t, AutoencoderConfig{Arch: ArchConv, Shape: []int{2, 12, 8}, LatentChannels: 3, Base: 8, Mult: []int{1, 2}, Groups: 4})
	if s.Dim() != 192 || s.Latent() != 3*6*4 || !slices.Equal(s.LatentShape(), []int{3, 6, 4}) {
		t.Errorf("2x12x8, Mult [1,2], 3 latent channels: Dim %d, Latent %d, shape %v; want 192, 72, [3 6 4]", s.Dim(), s.Latent(), s.LatentShape())
	}
	const n = 3
	x, _, _ := batch(1, n, 192)
	mu, lv := make([]float64, n*72), make([]float64, n*72)
	s.EncodeTo(mu, lv, x)
	xh := make([]float64, n*192)
	s.DecodeTo(xh, mu)
	for _, v := range append(append(mu, lv...), xh...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatal("a non-finite encoding or decoding")
		}
	}
}

// TestConvAEChunksWorkers checks that EncodeTo and DecodeTo of more rows
// than a chunk (unetChunk) give the rows' one-at-a-time results, and that
// the workers do not change a bit of TrainLoss: rows are independent and
// every output is one fixed dot product.
func TestConvAEChunksWorkers(t *testing.T) {
	for _, prec := range []string{Float64, Float32} {
		a := mustAutoencoder(t, smallConvAE(prec))
		n := unetChunk + 5
		x, _, _ := batch(81, n, 64)
		mu, lv := make([]float64, n*8), make([]float64, n*8)
		a.EncodeTo(mu, lv, x)
		xh := make([]float64, n*64)
		a.DecodeTo(xh, mu)
		m1, l1, y1 := make([]float64, 8), make([]float64, 8), make([]float64, 64)
		for _, i := range []int{0, unetChunk - 1, unetChunk, n - 1} {
			a.EncodeTo(m1, l1, x[i*64:(i+1)*64])
			a.DecodeTo(y1, mu[i*8:(i+1)*8])
			if !bytes.Equal(f64bytes(m1), f64bytes(mu[i*8:(i+1)*8])) || !bytes.Equal(f64bytes(l1), f64bytes(lv[i*8:(i+1)*8])) ||
				!bytes.Equal(f64bytes(y1), f64bytes(xh[i*64:(i+1)*64])) {
				t.Errorf("%s: row %d of %d encoded or decoded alone differs", prec, i, n)
			}
		}
		xi, _, _ := batch(82, 4, 8)
		b := a.Clone()
		b.SetWorkers(3)
		la, _, _ := a.TrainLoss(x[:4*64], xi)
		lb, _, _ := b.TrainLoss(x[:4*64], xi)
		if la != lb || !bytes.Equal(f64bytes(a.Grads()), f64bytes(b.Grads())) {
			t.Errorf("%s: 3 workers change the loss (%v vs %v) or the gradient", prec, lb, la)
		}
	}
}

func f64bytes(v []float64) []byte {
	b := make([]byte, 0, 8*len(v))
	for _, x := range v {
		u := math.Float64bits(x)
		for k := 0; k < 8; k++ {
			b = append(b, byte(u>>(8*k)))
		}
	}
	return b
}

// TestConvAECheckpoint round-trips conv autoencoders of both precisions
// through a file: the rebuilt one encodes and decodes bit for bit, and
// saving it again writes the same bytes; a clone is the same network.
func TestConvAECheckpoint(t *testing.T) {
	for _, prec := range []string{Float64, Float32} {
		a := mustAutoencoder(t, smallConvAE(prec))
		x, _, _ := batch(91, 3, 64)
		xi, _, _ := batch(92, 3, 8)
		opt := NewAdam(1e-2)
		for range 2 { // weights that are not the initial draws
			a.ZeroGrad()
			a.TrainLoss(x, xi)
			opt.Update(a.Params(), a.Grads())
			a.SyncParams()
		}
		a.SetScaleFactor(0.8)
		ck, err := NewCheckpoint(a, 2, opt, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ck.Kind != KindConvAutoencoder {
			t.Errorf("checkpoint kind %q", ck.Kind)
		}
		dir := t.TempDir()
		path := filepath.Join(dir, "ae.ckpt")
		if err := SaveCheckpoint(path, ck); err != nil {
			t.Fatal(err)
		}
		ck2, err := LoadCheckpoint(path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ck2.Autoencoder()
		if err != nil {
			t.Fatal(err)
		}
		for name, c := range map[string]*Autoencoder{"loaded": b, "clone": a.Clone()} {
			if c.ScaleFactor() != 0.8 || c.Config().Precision != prec || c.Kind() != KindConvAutoencoder {
				t.Errorf("%s %s: config %+v", prec, name, c.Config())
			}
			m1, m2 := make([]float64, 24), make([]float64, 24)
			a.EncodeTo(m1, nil, x)
			c.EncodeTo(m2, nil, x)
			y1, y2 := make([]float64, 3*64), make([]float64, 3*64)
			a.DecodeTo(y1, m1)
			c.DecodeTo(y2, m2)
			if !bytes.Equal(f64bytes(m1), f64bytes(m2)) || !bytes.Equal(f64bytes(y1), f64bytes(y2)) {
				t.Errorf("%s %s: encoding or decoding differs from the original", prec, name)
			}
		}
		ck3, _ := NewCheckpoint(b, 2, ck2.Adam, nil)
		again := filepath.Join(dir, "again.ckpt")
		if err := SaveCheckpoint(again, ck3); err != nil {
			t.Fatal(err)
		}
		if b1, b2 := mustRead(t, path), mustRead(t, again); !bytes.Equal(b1, b2) {
			t.Errorf("%s: a loaded and saved again checkpoint differs from the file", prec)
		}
		if _, err := ck2.Net(); err == nil || !strings.Contains(err.Error(), "holds an autoencoder (kind conv-autoencoder)") {
			t.Errorf("Net of a conv autoencoder's checkpoint: %v", err)
		}
		if _, err := ck2.Classifier(); err == nil || !strings.Contains(err.Error(), "conv-autoencoder") {
			t.Errorf("Classifier of a conv autoencoder's checkpoint: %v", err)
		}
		// A kind that contradicts the config is refused.
		ck2.Kind = KindAutoencoder
		if _, err := ck2.Autoencoder(); err == nil || !strings.Contains(err.Error(), "mismatched") {
			t.Errorf("kind mlp-autoencoder on a conv config: %v", err)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMLPAutoencoderGolden loads an MLP autoencoder checkpoint written by
// the code before the convolutional autoencoder existed
// (testdata/mlp-autoencoder-v1.ckpt) and checks, bit for bit, what that
// code computed with it (testdata/mlp-autoencoder-v1.json: the encoding,
// decoding, loss parts and gradient of a fixed batch), and that saving it
// again writes the same file.
func TestMLPAutoencoderGolden(t *testing.T) {
	const path = "testdata/mlp-autoencoder-v1.ckpt"
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ck.Autoencoder()
	if err != nil {
		t.Fatal(err)
	}
	var g map[string][]uint64
	if err := json.Unmarshal(mustRead(t, "testdata/mlp-autoencoder-v1.json"), &g); err != nil {
		t.Fatal(err)
	}
	vals := func(name string) []float64 {
		v := make([]float64, len(g[name]))
		for i, b := range g[name] {
			v[i] = math.Float64frombits(b)
		}
		return v
	}
	// The file was written with sdekit's AVX2 kernels: bit for bit where they
	// run. The pure-Go kernels (-tags purego, a machine without AVX2) sum
	// the products in another order and take SiLU's exponential from
	// math.Exp; on these 4-to-16-wide layers that moves a result by a few
	// ulp, so there a relative 1e-12 (of max(1, |want|)) is asked: a
	// thousand times that, and still far below any change of formula.
	exact := BLAS() == "internal/gemm (avx2)" && Kernel() != "go"
	same := func(name string, got []float64) {
		t.Helper()
		want := vals(name)
		if exact {
			if len(got) != len(want) || !bytes.Equal(f64bytes(got), f64bytes(want)) {
				t.Errorf("%s: %v, want %v (bit for bit)", name, got, want)
			}
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
		}
		for i := range want {
			if d := math.Abs(got[i] - want[i]); !(d <= 1e-12*math.Max(1, math.Abs(want[i]))) {
				t.Errorf("%s[%d] = %.17g, want %.17g (within 1e-12 on the %s kernels)", name, i, got[i], want[i], Kernel())
			}
		}
	}
	x, xi := vals("x"), vals("xi")
	n := len(x) / a.Dim()
	mu, lv := make([]float64, n*a.Latent()), make([]float64, n*a.Latent())
	a.EncodeTo(mu, lv, x)
	same("mu", mu)
	same("logvar", lv)
	xh := make([]float64, len(x))
	a.DecodeTo(xh, mu)
	same("decoded", xh)
	a.ZeroGrad()
	loss, rec, kl := a.TrainLoss(x, xi)
	same("loss", []float64{loss, rec, kl})
	same("grads", a.Grads())
	if a.Kind() != KindAutoencoder || ck.Kind != KindAutoencoder {
		t.Errorf("kind %s (checkpoint %s), want %s", a.Kind(), ck.Kind, KindAutoencoder)
	}
	ck2, _ := NewCheckpoint(a, ck.Step, ck.Adam, nil)
	again := filepath.Join(t.TempDir(), "again.ckpt")
	if err := SaveCheckpoint(again, ck2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustRead(t, path), mustRead(t, again)) {
		t.Error("the MLP autoencoder's checkpoint, loaded and saved again, differs from the file")
	}
}

// TestConvAEBadConfig checks that each inconsistent config is refused with
// an error naming the field.
func TestConvAEBadConfig(t *testing.T) {
	for _, c := range []struct {
		cfg AutoencoderConfig
		msg string
	}{
		{AutoencoderConfig{Arch: ArchConv, Dim: 64, Latent: 8}, "needs the data's image shape"},
		{AutoencoderConfig{Arch: ArchConv, Shape: []int{1, 9, 9}}, "9x9 is not divisible by 4"},
		{AutoencoderConfig{Arch: ArchConv, Shape: []int{1, 8, 8}, Hidden: []int{3}}, "Hidden"},
		{AutoencoderConfig{Arch: ArchConv, Shape: []int{1, 8, 8}, Groups: 3}, "Groups = 3 does not divide 32"},
		{AutoencoderConfig{Arch: ArchConv, Shape: []int{1, 8, 8}, Precision: "float16"}, "Precision"},
		{AutoencoderConfig{Arch: ArchConv, Shape: []int{1, 8, 8}, Latent: 5}, "Latent = 5, but 4 latent channels at 2x2 make 16"},
		{AutoencoderConfig{Arch: ArchConv, Shape: []int{1, 8, 8}, Dim: 60}, "holds 64 values, but Dim = 60"},
		{AutoencoderConfig{Dim: 4, Latent: 2, Base: 8}, "for an MLP autoencoder"},
		{AutoencoderConfig{Dim: 4, Latent: 2, Precision: Float32}, "for an MLP autoencoder"},
		{AutoencoderConfig{Arch: "vae", Dim: 4, Latent: 2}, `Arch = "vae"`},
	} {
		_, err := NewAutoencoder(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.msg) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: %v, want one line with %q", c.cfg, err, c.msg)
		}
	}
	// Arch "mlp" and Precision "float64" on an MLP are its defaults: the
	// config (and so the checkpoint) is the one without them.
	a := mustAutoencoder(t, AutoencoderConfig{Arch: ArchMLP, Dim: 4, Latent: 2, Precision: Float64})
	b := mustAutoencoder(t, AutoencoderConfig{Dim: 4, Latent: 2})
	ja, _ := a.MarshalConfig()
	jb, _ := b.MarshalConfig()
	if !bytes.Equal(ja, jb) || strings.Contains(string(ja), "arch") {
		t.Errorf("MLP config with its defaults spelled out: %s, without: %s", ja, jb)
	}
}
