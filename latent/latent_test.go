package latent

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

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
