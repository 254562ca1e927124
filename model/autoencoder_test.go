package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
)

// smallAutoencoders cover two hidden layers (decoder reversed), none (both
// halves affine) and a latent wider than the data.
func smallAutoencoders() []AutoencoderConfig {
	return []AutoencoderConfig{
		{Dim: 5, Latent: 2, Hidden: []int{6, 3}, KLWeight: 0.3, Seed: 1},
		{Dim: 3, Latent: 4, KLWeight: 1, Seed: 2},
	}
}

func mustAutoencoder(t testing.TB, cfg AutoencoderConfig) *Autoencoder {
	t.Helper()
	a, err := NewAutoencoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAutoencoderGradFD checks the gradient TrainLoss accumulates against
// central differences of the loss it returns, over every parameter, with
// fixed reparameterisation noise.
func TestAutoencoderGradFD(t *testing.T) {
	for _, cfg := range smallAutoencoders() {
		a := mustAutoencoder(t, cfg)
		const n = 4
		x, _, _ := batch(31, n, cfg.Dim)
		xi, _, _ := batch(32, n, cfg.Latent)
		// Central differences with h = 1e-5 on a loss of order 10: truncation
		// h^2 f''' ~ 1e-9, rounding 1e-16 * 10 / 1e-5 ~ 1e-10; 1e-6 leaves a
		// wide margin and still catches any missing term (the KL weights
		// 0.3 and 1 make its terms of order 0.1).
		checkLossGradFD(t, fmt.Sprintf("%+v", cfg), a, x, xi, 1e-6)
	}
}

// checkLossGradFD compares the gradient a.TrainLoss(x, xi) accumulates with
// central differences (h = 1e-5) of the loss it returns, over every
// parameter: |got - want| <= tol * max(1, |want|).
func checkLossGradFD(t *testing.T, name string, a *Autoencoder, x, xi []float64, tol float64) {
	t.Helper()
	a.ZeroGrad()
	a.TrainLoss(x, xi)
	got := append([]float64(nil), a.Grads()...)
	p0 := append([]float64(nil), a.Params()...)
	loss := func(p []float64) float64 {
		copy(a.Params(), p)
		l, _, _ := a.TrainLoss(x, xi)
		return l
	}
	want := fd.Gradient(nil, loss, p0, &fd.Settings{Formula: fd.Central, Step: 1e-5})
	copy(a.Params(), p0)
	for i := range want {
		if d := math.Abs(got[i] - want[i]); d > tol*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("%s: dL/dtheta[%d] = %.10g, finite differences %.10g (of %d parameters)", name, i, got[i], want[i], len(want))
		}
	}
}

// TestAutoencoderLossParts checks TrainLoss's parts against EncodeTo and
// DecodeTo: the KL of N(mu, sigma^2) to N(0, I) in closed form and the
// squared error of the decoded u = mu + sigma xi.
func TestAutoencoderLossParts(t *testing.T) {
	for _, cfg := range smallAutoencoders() {
		a := mustAutoencoder(t, cfg)
		const n = 3
		d, k := cfg.Dim, cfg.Latent
		x, _, _ := batch(41, n, d)
		xi, _, _ := batch(42, n, k)
		loss, rec, kl := a.TrainLoss(x, xi)
		mu, lv := make([]float64, n*k), make([]float64, n*k)
		a.EncodeTo(mu, lv, x)
		u := make([]float64, n*k)
		var wantKL float64
		for i := range mu {
			s2 := math.Exp(lv[i])
			u[i] = mu[i] + math.Sqrt(s2)*xi[i]
			wantKL += 0.5 * (mu[i]*mu[i] + s2 - 1 - lv[i])
		}
		xh := make([]float64, n*d)
		a.DecodeTo(xh, u)
		var wantRec float64
		for i := range xh {
			wantRec += (xh[i] - x[i]) * (xh[i] - x[i])
		}
		wantKL /= n
		wantRec /= n
		// The same operations in the same order up to summation: a few ulps.
		const tol = 1e-12
		if math.Abs(kl-wantKL) > tol || math.Abs(rec-wantRec) > tol || math.Abs(loss-(rec+cfg.KLWeight*kl)) > tol {
			t.Errorf("%+v: loss %g rec %g kl %g, want rec %g kl %g", cfg, loss, rec, kl, wantRec, wantKL)
		}
	}
}

// TestAutoencoderCheckpoint round-trips an autoencoder through a file and
// checks that each kind of checkpoint refuses the other uses in one line.
func TestAutoencoderCheckpoint(t *testing.T) {
	cfg := AutoencoderConfig{Dim: 4, Latent: 2, Hidden: []int{5}, Shape: []int{1, 2, 2}, Seed: 3}
	a := mustAutoencoder(t, cfg)
	a.SetScaleFactor(1.7)
	ck, err := NewCheckpoint(a, 10, NewAdam(1e-3), nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ae.ckpt")
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
	if b.ScaleFactor() != 1.7 || b.Config().KLWeight != DefaultKLWeight || len(b.Config().Shape) != 3 {
		t.Errorf("config after a round trip: %+v", b.Config())
	}
	x, _, _ := batch(5, 3, 4)
	m1, m2 := make([]float64, 6), make([]float64, 6)
	a.EncodeTo(m1, nil, x)
	b.EncodeTo(m2, nil, x)
	y1, y2 := make([]float64, 12), make([]float64, 12)
	a.DecodeTo(y1, m1)
	b.DecodeTo(y2, m2)
	for i := range m1 {
		if m1[i] != m2[i] {
			t.Fatalf("encoding differs after a round trip at %d: %v vs %v", i, m1[i], m2[i])
		}
	}
	for i := range y1 {
		if y1[i] != y2[i] {
			t.Fatalf("decoding differs after a round trip at %d: %v vs %v", i, y1[i], y2[i])
		}
	}
	for name, f := range map[string]func() error{
		"Net":        func() error { _, err := ck2.Net(); return err },
		"Classifier": func() error { _, err := ck2.Classifier(); return err },
	} {
		if err := f(); err == nil || !strings.Contains(err.Error(), "autoencoder") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s of an autoencoder's checkpoint: %v, want one line naming the autoencoder", name, err)
		}
	}
	mlp, _ := NewTrainable(Config{Dim: 4, Hidden: []int{3}})
	sck, _ := NewCheckpoint(mlp, 0, nil, nil)
	if _, err := sck.Autoencoder(); err == nil || !strings.Contains(err.Error(), "score network") {
		t.Errorf("Autoencoder of a score network's checkpoint: %v", err)
	}
	bad := cfg
	bad.Shape = []int{1, 3, 3}
	if _, err := NewAutoencoder(bad); err == nil {
		t.Error("a shape of 9 values for Dim 4 was accepted")
	}
}

// TestAutoencoderNoiseFree checks that with xi = 0 the loss is the
// deterministic autoencoder's: ||D(mu(x)) - x||^2 does not depend on sigma.
func TestAutoencoderNoiseFree(t *testing.T) {
	a := mustAutoencoder(t, smallAutoencoders()[0])
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, 2*5)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	_, rec, _ := a.TrainLoss(x, make([]float64, 2*2))
	mu := make([]float64, 4)
	a.EncodeTo(mu, nil, x)
	xh := make([]float64, 10)
	a.DecodeTo(xh, mu)
	var want float64
	for i := range xh {
		want += (xh[i] - x[i]) * (xh[i] - x[i])
	}
	if math.Abs(rec-want/2) > 1e-12 { // same sums, a few ulps
		t.Errorf("noise-free reconstruction %g, want %g", rec, want/2)
	}
}
