package nb

import (
	"context"
	"fmt"
	"image"
	"slices"
	"time"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/latent"
	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
	"github.com/sdekit/sdekit/viz"
)

// LatentResult is a small latent diffusion run on the digits: an
// autoencoder, a score network on its scaled latents, decoded samples.
type LatentResult struct {
	K                 int     // latent dimension
	ScaleFactor       float64 // s = 1/std of the training latents
	RecTrain, RecTest float64 // mean squared reconstruction error per pixel, D(mu(x)) on all rows
	AESeconds         float64
	ScoreSeconds      float64
	SampleSeconds     float64
	NFE               float64   // score evaluations per sample
	Samples           []float64 `json:"-"` // decoded samples, n x 64
	Image             image.Image
}

func (r *LatentResult) String() string {
	return fmt.Sprintf("digits, latent dimension %d, scale factor %.4g\nreconstruction MSE per pixel (range [-1, 1]): train %.4f, held-out %.4f\nautoencoder %.1f s, latent score model %.1f s, %d samples in %.2f s (%.0f evaluations each)",
		r.K, r.ScaleFactor, r.RecTrain, r.RecTest, r.AESeconds, r.ScoreSeconds, len(r.Samples)/64, r.SampleSeconds, r.NFE)
}

// Latent trains an autoencoder (hidden 64, latent k) on digits-train for
// aeSteps, a score network (VP, hidden 128, 128) on its scaled latents for
// scoreSteps, and draws n samples with DDIM (50 steps), decoded. Its Image
// shows held-out digits, their reconstructions and the decoded samples.
func Latent(k, aeSteps, scoreSteps, n int, seed uint64) *LatentResult {
	check(k >= 1 && aeSteps >= 1 && scoreSteps >= 1 && n >= 1, "nb: Latent needs k, steps and n >= 1")
	train, err := data.ByName("digits-train")
	check(err == nil, "nb: %v", err)
	test, _ := data.ByName("digits-test")
	ae, err := model.NewAutoencoder(model.AutoencoderConfig{Dim: 64, Latent: k, Hidden: []int{64}, Shape: []int{1, 8, 8}, Seed: seed})
	check(err == nil, "nb: %v", err)
	res := &LatentResult{K: k}
	t0 := time.Now()
	_, err = latent.Train(context.Background(), latent.TrainConfig{Data: train, Model: ae, Steps: aeSteps, Seed: seed}, nil)
	check(err == nil, "nb: autoencoder: %v", err)
	res.AESeconds = time.Since(t0).Seconds()
	res.ScaleFactor = ae.ScaleFactor()
	tabTrain, _ := train.(data.DigitsSource).Table()
	tabTest, _ := test.(data.DigitsSource).Table()
	res.RecTrain, _ = reconstruct(ae, tabTrain.X)
	var recon []float64
	res.RecTest, recon = reconstruct(ae, tabTest.X)

	src, err := latent.NewSource(ae, train)
	check(err == nil, "nb: %v", err)
	s := sde.NewVP()
	net, err := model.NewTrainable(model.Config{Dim: k, Hidden: []int{128, 128}, Seed: seed})
	check(err == nil, "nb: %v", err)
	tr, err := score.NewTrainer(score.TrainConfig{SDE: s, Data: src, Model: net, Steps: scoreSteps, LR: 2e-3, EMA: 0.99, Seed: seed,
		Warmup: min(100, scoreSteps/10)})
	check(err == nil, "nb: %v", err)
	t0 = time.Now()
	check(tr.Run(context.Background(), nil) == nil, "nb: latent score training failed")
	res.ScoreSeconds = time.Since(t0).Seconds()
	sc, err := tr.Score()
	check(err == nil, "nb: %v", err)
	smp := &sample.DDIM{Steps: 50}
	z, nfe, el := generate(sample.Config{SDE: s, Score: sc, Sampler: smp}, n, seed)
	res.SampleSeconds, res.NFE = el.Seconds(), nfe
	res.Samples = make([]float64, n*64)
	latent.DecodeTo(ae, res.Samples, z)
	rows := min(16, tabTest.N, n)
	// one picture row each: held-out digits, their reconstructions, two rows of samples
	grid := slices.Concat(tabTest.X[:rows*64], recon[:rows*64], res.Samples[:min(2*rows, n)*64])
	res.Image = viz.ImageGrid(grid, 1, 8, 8, viz.ImageGridOptions{Cols: rows, Scale: 8, Pad: 8, Lo: -1, Hi: 1})
	return res
}

// reconstruct returns the mean squared error per value of D(mu(x)) and the
// reconstructions.
func reconstruct(ae *model.Autoencoder, x []float64) (float64, []float64) {
	n := len(x) / ae.Dim()
	mu := make([]float64, n*ae.Latent())
	ae.EncodeTo(mu, nil, x)
	xh := make([]float64, len(x))
	ae.DecodeTo(xh, mu)
	var s float64
	for i, v := range x {
		s += (xh[i] - v) * (xh[i] - v)
	}
	return s / float64(len(x)), xh
}
