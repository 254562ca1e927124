package nb

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"time"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/latent"
	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
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
	res.Image = latentDigitRows(8, [][]float64{tabTest.X[:rows*64], recon[:rows*64], res.Samples[:rows*64], res.Samples[rows*64 : min(2*rows, n)*64]})
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

// latentDigitRows draws rows of 8 x 8 digits (values in [-1, 1], white on black)
// enlarged zoom times, one picture row per slice.
func latentDigitRows(zoom int, rows [][]float64) image.Image {
	const side = 8
	cols := 0
	for _, r := range rows {
		cols = max(cols, len(r)/64)
	}
	img := image.NewRGBA(image.Rect(0, 0, cols*(side+1)*zoom, len(rows)*(side+1)*zoom))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for ri, r := range rows {
		for c := 0; c < len(r)/64; c++ {
			for p := 0; p < 64; p++ {
				g := uint8(math.Round(255 * math.Min(1, math.Max(0, (r[c*64+p]+1)/2))))
				for dy := 0; dy < zoom; dy++ {
					for dx := 0; dx < zoom; dx++ {
						img.SetRGBA(c*(side+1)*zoom+(p%side)*zoom+dx, ri*(side+1)*zoom+(p/side)*zoom+dy, color.RGBA{g, g, g, 255})
					}
				}
			}
		}
	}
	return img
}
