package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// anchorConfig is the benchmark network: x (2-D) joined with 32 Gaussian
// Fourier features of t (scale 16), three hidden SiLU layers of width w and a
// linear output.
func anchorConfig(w int, precision string) Config {
	return Config{Dim: 2, Hidden: []int{w, w, w}, Embedding: EmbeddingFourier, EmbedDim: 32,
		FourierScale: 16, Precision: precision, Seed: 1}
}

// trainStep is one step of a least-squares fit: forward, dL/dout = out - y,
// backward, Adam and EMA.
type trainStep struct {
	net       Trainable
	opt       *Adam
	ema       *EMA
	x, t, y   []float64
	out, dOut []float64
}

func newTrainStep(tb testing.TB, cfg Config, n int) *trainStep {
	net, err := NewTrainable(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	d := cfg.Dim
	s := &trainStep{net: net, opt: NewAdam(1e-3), ema: NewEMA(net, 0.999),
		x: make([]float64, n*d), t: make([]float64, n), y: make([]float64, n*d),
		out: make([]float64, n*d), dOut: make([]float64, n*d)}
	s.opt.Warmup, s.opt.ClipNorm = 10, 1
	for i := range s.x {
		s.x[i] = rng.NormFloat64()
		s.y[i] = rng.NormFloat64()
	}
	for i := range s.t {
		s.t[i] = rng.Float64()
	}
	return s
}

func (s *trainStep) run(tb testing.TB) {
	s.net.ZeroGrad()
	s.net.ForwardTrain(s.out, s.x, s.t)
	for i, o := range s.out {
		s.dOut[i] = (o - s.y[i]) / float64(len(s.t))
	}
	s.net.Backward(s.dOut)
	if _, err := s.opt.Step(s.net); err != nil {
		tb.Fatal(err)
	}
	s.ema.Update(s.net)
}

// BenchmarkTrainStep times one training step (forward + backward + Adam +
// EMA) of the anchor network on a batch of 512, with SetWorkers(1) and (2).
// PyTorch CPU reference (one thread, float32): 930 steps/s at W=64, 480 at
// W=128, 250 at W=256.
func BenchmarkTrainStep(b *testing.B) {
	for _, prec := range []string{Float64, Float32} {
		for _, w := range []int{64, 128, 256} {
			for _, workers := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/W=%d/workers=%d", prec, w, workers), func(b *testing.B) {
					s := newTrainStep(b, anchorConfig(w, prec), 512)
					s.net.SetWorkers(workers)
					defer s.net.SetWorkers(1)
					s.run(b)
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						s.run(b)
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
				})
			}
		}
	}
}
