package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchConvAE is the default convolutional autoencoder on Fashion-MNIST's
// 1x28x28 images: base 32, multipliers 1,2,2, one block per resolution, 8
// groups, a 4x7x7 latent.
func benchConvAE(tb testing.TB, precision string) *Autoencoder {
	a, err := NewAutoencoder(AutoencoderConfig{Arch: ArchConv, Shape: []int{1, 28, 28}, Precision: precision, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// perImage reports the benchmark's time per image of n.
func perImage(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N*n), "ms/image")
}

// BenchmarkConvAE times the default conv autoencoder's passes on 64 images
// against the score networks whose evaluations they sit beside: decode is
// paid once per latent sample, a score evaluation at every sampler step.
// pixel-unet is one Forward of the default U-Net on 1x28x28 (pixel
// diffusion); latent-unet one Forward of the U-Net that train -latent
// -arch unet -mult 1 builds on the 4x7x7 latents (base 32, attention),
// latent-unet-48 and -64 the same with -channels 48 and 64 (docs/latent.md,
// "Latent vs pixel on Fashion-MNIST").
func BenchmarkConvAE(b *testing.B) {
	const n = 64
	rng := rand.New(rand.NewPCG(3, 4))
	for _, prec := range []string{Float32, Float64} {
		a := benchConvAE(b, prec)
		x, u := randSlice(rng, n*784), randSlice(rng, n*196)
		xi := randSlice(rng, n*196)
		b.Run("decode/"+prec, func(b *testing.B) {
			dst := make([]float64, n*784)
			a.DecodeTo(dst, u)
			for b.Loop() {
				a.DecodeTo(dst, u)
			}
			perImage(b, n)
		})
		b.Run("encode/"+prec, func(b *testing.B) {
			mu := make([]float64, n*196)
			a.EncodeTo(mu, nil, x)
			for b.Loop() {
				a.EncodeTo(mu, nil, x)
			}
			perImage(b, n)
		})
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("trainstep/%s/workers=%d", prec, workers), func(b *testing.B) {
				c := a.Clone()
				c.SetWorkers(workers)
				defer c.SetWorkers(1)
				opt := NewAdam(1e-4)
				step := func() {
					c.ZeroGrad()
					c.TrainLoss(x, xi)
					opt.Update(c.Params(), c.Grads())
					c.SyncParams()
				}
				step()
				cpu0 := cpuTime()
				for b.Loop() {
					step()
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/step")
				b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/step")
			})
		}
		for _, net := range []struct {
			name string
			cfg  UNetConfig
		}{
			{"pixel-unet", benchUNet(prec)},
			{"latent-unet", UNetConfig{Channels: 4, Height: 7, Width: 7, Mult: []int{1}, Precision: prec, Seed: 1}},
			{"latent-unet-48", UNetConfig{Channels: 4, Height: 7, Width: 7, Mult: []int{1}, Base: 48, Precision: prec, Seed: 1}},
			{"latent-unet-64", UNetConfig{Channels: 4, Height: 7, Width: 7, Mult: []int{1}, Base: 64, Precision: prec, Seed: 1}},
		} {
			b.Run(net.name+"/"+prec, func(b *testing.B) {
				s := newUNetStep(b, net.cfg, n)
				s.net.Forward(s.out, s.x, s.t)
				for b.Loop() {
					s.net.Forward(s.out, s.x, s.t)
				}
				perImage(b, n)
			})
		}
	}
}
