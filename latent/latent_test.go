package latent

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/model"
)

// diagGauss is N(0, diag(std^2)): data whose best rank-K linear
// reconstruction is known (principal components are the axes).
type diagGauss struct{ std []float64 }

func (g diagGauss) Name() string { return "diag-gauss" }
func (g diagGauss) Dim() int     { return len(g.std) }
func (g diagGauss) Sample(dst []float64, n int, r *rand.Rand) {
	d := len(g.std)
	for i := 0; i < n*d; i++ {
		dst[i] = g.std[i%d] * r.NormFloat64()
	}
}

// TestTrainLinearIsPCA trains an affine autoencoder (no hidden layer, a
// negligible KL weight) on N(0, diag(2^2, 1.5^2, 0.3^2, 0.2^2)) with K = 2:
// the best rank-2 reconstruction (Eckart-Young) keeps the two large axes
// and has squared error 0.3^2 + 0.2^2 = 0.13 per row, which the trained
// network must approach from above, and the scale factor must make the
// training latents of unit variance.
func TestTrainLinearIsPCA(t *testing.T) {
	src := diagGauss{std: []float64{2, 1.5, 0.3, 0.2}}
	a, err := model.NewAutoencoder(model.AutoencoderConfig{Dim: 4, Latent: 2, KLWeight: 1e-6, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Train(context.Background(), TrainConfig{Data: src, Model: a, Steps: 1500, Batch: 64, LR: 1e-2, Seed: 3}, nil); err != nil {
		t.Fatal(err)
	}
	const n = 20000
	r := rand.New(rand.NewPCG(9, 9))
	x := make([]float64, n*4)
	src.Sample(x, n, r)
	mu := make([]float64, n*2)
	a.EncodeTo(mu, nil, x)
	xh := make([]float64, n*4)
	a.DecodeTo(xh, mu)
	var rec float64
	for i := range x {
		rec += (xh[i] - x[i]) * (xh[i] - x[i])
	}
	rec /= n
	t.Logf("reconstruction error %.4f per row (optimum 0.13), scale factor %.4f", rec, a.ScaleFactor())
	// The per-row error's std is about sqrt(2 (0.3^4 + 0.2^4)) = 0.14, so
	// the mean of 2e4 rows has standard error 0.001: below 0.126 (4 of
	// them) would beat the optimum; above 0.143 (10 % over) is undertrained.
	if rec < 0.126 || rec > 0.143 {
		t.Errorf("reconstruction error %.4f per row, want the rank-2 optimum 0.13 (within [0.126, 0.143])", rec)
	}
	// Unit variance of s u over fresh rows: 4e4 values, the std of a
	// sample variance of near-Gaussian values is sqrt(2/4e4) = 0.7 %;
	// 5 % also absorbs the two latent coordinates' different spreads'
	// effect on a pooled std.
	u := make([]float64, n*2)
	SampleLatentsTo(a, u, x, r.NormFloat64)
	if got := 1 / ScaleFactor(u) * a.ScaleFactor(); math.Abs(got-1) > 0.05 {
		t.Errorf("std of the scaled latents %.4f, want 1", got)
	}
}

// TestScaleFactor checks 1/std on draws of N(3, 0.5^2): 1e5 values, the
// relative standard error of a sample std is 1/sqrt(2n) = 0.22 %; 1 %.
func TestScaleFactor(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	u := make([]float64, 100000)
	for i := range u {
		u[i] = 3 + 0.5*r.NormFloat64()
	}
	if s := ScaleFactor(u); math.Abs(s-2)/2 > 0.01 {
		t.Errorf("ScaleFactor = %g, want 2", s)
	}
}

// TestSourceDecode checks that the source's draws are s (mu + sigma xi)
// of the data's draws, and that DecodeTo(EncodeMeanTo(x)) is D(mu(x)).
func TestSourceDecode(t *testing.T) {
	src := diagGauss{std: []float64{1, 2, 3}}
	a, _ := model.NewAutoencoder(model.AutoencoderConfig{Dim: 3, Latent: 2, Hidden: []int{4}, Seed: 5})
	a.SetScaleFactor(2.5)
	ls, err := NewSource(a, src)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3
	z := make([]float64, n*2)
	ls.Sample(z, n, rand.New(rand.NewPCG(4, 4)))
	r := rand.New(rand.NewPCG(4, 4))
	x := make([]float64, n*3)
	src.Sample(x, n, r)
	u := make([]float64, n*2)
	SampleLatentsTo(a, u, x, r.NormFloat64)
	for i := range z {
		if z[i] != 2.5*u[i] { // same draws, same arithmetic
			t.Fatalf("latent %d: %v, want %v", i, z[i], 2.5*u[i])
		}
	}
	zm := make([]float64, n*2)
	EncodeMeanTo(a, zm, x)
	got, want := make([]float64, n*3), make([]float64, n*3)
	DecodeTo(a, got, zm)
	mu := make([]float64, n*2)
	a.EncodeTo(mu, nil, x)
	a.DecodeTo(want, mu)
	for i := range got {
		// z/s = (s mu)/s rounds to mu within an ulp; decoded within 1e-12.
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("decoded %d: %v, want %v", i, got[i], want[i])
		}
	}
	if _, err := NewSource(a, diagGauss{std: []float64{1, 1}}); err == nil {
		t.Error("an autoencoder of dimension 3 accepted data of dimension 2")
	}
}

// convDigits is a small conv autoencoder of the digits: 1x8x8 images to a
// 2x2x2 latent (f = 4), 8 and 16 channels.
func convDigits(t *testing.T, seed uint64) *model.Autoencoder {
	t.Helper()
	a, err := model.NewAutoencoder(model.AutoencoderConfig{Arch: model.ArchConv, Shape: []int{1, 8, 8}, LatentChannels: 2,
		Base: 8, Groups: 4, Precision: model.Float32, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestSourceImageShape checks that the latent source of a conv autoencoder
// tells its latent image shape (what train -arch unet builds on) and that
// of an MLP autoencoder does not.
func TestSourceImageShape(t *testing.T) {
	digits, _ := data.Open("digits-train")
	a := convDigits(t, 1)
	a.SetScaleFactor(1)
	ls, err := NewSource(a, digits)
	if err != nil {
		t.Fatal(err)
	}
	is, ok := ls.(interface{ ImageShape() (c, h, w int) })
	if !ok {
		t.Fatalf("the latent source of a conv autoencoder (%T) has no ImageShape", ls)
	}
	if c, h, w := is.ImageShape(); c != 2 || h != 2 || w != 2 || ls.Dim() != 8 {
		t.Errorf("latent image shape %dx%dx%d, Dim %d; want 2x2x2, 8", c, h, w, ls.Dim())
	}
	m, _ := model.NewAutoencoder(model.AutoencoderConfig{Dim: 64, Latent: 8, Seed: 1})
	m.SetScaleFactor(1)
	ms, err := NewSource(m, digits)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ms.(interface{ ImageShape() (c, h, w int) }); ok {
		t.Error("the latent source of an MLP autoencoder claims an image shape")
	}
}

// TestTrainConvDigits trains the small conv autoencoder on digits-train
// for 400 steps and checks its reconstruction D(mu(x)) of every
// digits-test image: predicting each pixel by its mean has a squared error
// of the pixel variance (0.285 per value on digits-test); a code of 8
// values per image must do far better, and half of it is the bound (400
// steps reach about 0.2 of it; the bound is not fitted to that).
func TestTrainConvDigits(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	train, _ := data.Open("digits-train")
	test, _ := data.Open("digits-test")
	tab, err := test.(data.DigitsSource).Table()
	if err != nil {
		t.Fatal(err)
	}
	d := tab.D
	mean := make([]float64, d)
	for i, v := range tab.X {
		mean[i%d] += v / float64(tab.N)
	}
	var pixVar float64
	for i, v := range tab.X {
		pixVar += (v - mean[i%d]) * (v - mean[i%d])
	}
	pixVar /= float64(len(tab.X))
	a := convDigits(t, 1)
	if _, err := Train(context.Background(), TrainConfig{Data: train, Model: a, Steps: 400, Batch: 64, LR: 2e-3, Seed: 2}, nil); err != nil {
		t.Fatal(err)
	}
	mu := make([]float64, tab.N*a.Latent())
	a.EncodeTo(mu, nil, tab.X)
	xh := make([]float64, len(tab.X))
	a.DecodeTo(xh, mu)
	var mse float64
	for i, v := range tab.X {
		mse += (xh[i] - v) * (xh[i] - v)
	}
	mse /= float64(len(tab.X))
	t.Logf("held-out reconstruction error %.4f per value, pixel variance %.4f (ratio %.3f), scale factor %.4f", mse, pixVar, mse/pixVar, a.ScaleFactor())
	if !(mse < 0.5*pixVar) {
		t.Errorf("held-out reconstruction error %.4f per value, want below half the pixel variance %.4f", mse, pixVar)
	}
}

// TestTrainMaxTime checks that a run stopped by MaxTime (here after its
// first step) is the run of that many steps: same parameters and scale
// factor, bit for bit, and the optimiser's T counts the steps done.
func TestTrainMaxTime(t *testing.T) {
	train, _ := data.Open("digits-train")
	a, b := convDigits(t, 3), convDigits(t, 3)
	var last TrainProgress
	opt, err := Train(context.Background(), TrainConfig{Data: train, Model: a, Steps: 1000, Batch: 8, Seed: 4, ScaleRows: 64, MaxTime: time.Nanosecond},
		func(p TrainProgress) error { last = p; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if opt.T != 1 || last.Step != 1 || !last.ScaleFactorSet {
		t.Fatalf("MaxTime 1ns: %d optimiser steps, last report %+v; want 1 step and the scale factor set", opt.T, last)
	}
	if _, err := Train(context.Background(), TrainConfig{Data: train, Model: b, Steps: 1, Batch: 8, Seed: 4, ScaleRows: 64}, nil); err != nil {
		t.Fatal(err)
	}
	if a.ScaleFactor() != b.ScaleFactor() {
		t.Errorf("scale factor %v after a stopped run, %v after the run of 1 step", a.ScaleFactor(), b.ScaleFactor())
	}
	for i, v := range a.Params() {
		if b.Params()[i] != v {
			t.Fatalf("parameter %d: %v after a stopped run, %v after the run of 1 step", i, v, b.Params()[i])
		}
	}
}
