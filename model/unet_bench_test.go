package model

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the process's user + system CPU time (0 where getrusage
// is unavailable): on a shared machine it moves less with the load than
// the wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchUNet is the architecture of the speed target (docs/bench.md, "U-Net";
// scripts/unet_torch_bench.py builds the same in PyTorch): the defaults on
// 1x28x28, that is base 32 channels, multipliers 1,2,2 (28x28: 32, 14x14:
// 64, 7x7: 64), one residual block per resolution, GroupNorm with 8 groups,
// 32 Fourier time features into a 128-wide time MLP, single-head attention
// at 7x7, no dropout.
func benchUNet(precision string) UNetConfig {
	return UNetConfig{Channels: 1, Height: 28, Width: 28, Precision: precision, Seed: 1}
}

// newUNetStep is a least-squares training step (forward, dL/dout = (out -
// y)/n, backward, Adam, EMA) on n random images.
func newUNetStep(tb testing.TB, cfg UNetConfig, n int) *trainStep {
	net, err := NewUNet(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	d := net.Dim()
	s := &trainStep{net: net, opt: NewAdam(1e-3), ema: NewEMA(net, 0.999),
		x: randSlice(rng, n*d), t: make([]float64, n), y: randSlice(rng, n*d),
		out: make([]float64, n*d), dOut: make([]float64, n*d)}
	for i := range s.t {
		s.t[i] = rng.Float64()
	}
	return s
}

// BenchmarkUNetTrainStep times one training step of benchUNet on a batch of
// 64 (the speed target: float32, workers=1).
func BenchmarkUNetTrainStep(b *testing.B) {
	for _, prec := range []string{Float32, Float64} {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", prec, workers), func(b *testing.B) {
				s := newUNetStep(b, benchUNet(prec), 64)
				s.net.SetWorkers(workers)
				defer s.net.SetWorkers(1)
				s.run(b)
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				for b.Loop() {
					s.run(b)
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/step")
				b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/step")
			})
		}
	}
}

// BenchmarkUNetForward times Forward of benchUNet on 64 images (one score
// evaluation of sampling).
func BenchmarkUNetForward(b *testing.B) {
	s := newUNetStep(b, benchUNet(Float32), 64)
	s.net.Forward(s.out, s.x, s.t)
	b.ResetTimer()
	for b.Loop() {
		s.net.Forward(s.out, s.x, s.t)
	}
}

// TestUNetExportForTorch writes the benchmark U-Net (float64, perturbed
// weights), two inputs and its outputs to the folder named by
// SDEKIT_UNET_EXPORT, as little-endian float64 files, for
// scripts/unet_torch_bench.py -check, which loads the weights into its
// PyTorch network and compares the outputs (docs/bench.md, "U-Net").
func TestUNetExportForTorch(t *testing.T) {
	dir := os.Getenv("SDEKIT_UNET_EXPORT")
	if dir == "" {
		t.Skip("set SDEKIT_UNET_EXPORT to a folder to export the U-Net for the PyTorch check")
	}
	net, err := NewUNet(benchUNet(Float64))
	if err != nil {
		t.Fatal(err)
	}
	perturb(net.Params(), net.(*UNet).core.g, 21)
	n, d := 2, net.Dim()
	rng := rand.New(rand.NewPCG(22, 22))
	x := randSlice(rng, n*d)
	ts := []float64{0.05, 0.8}
	out := make([]float64, n*d)
	net.Forward(out, x, ts)
	for name, v := range map[string][]float64{"params": net.Params(), "buffers": net.Buffers(), "x": x, "t": ts, "out": out} {
		b := make([]byte, 8*len(v))
		for i, f := range v {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(f))
		}
		if err := os.WriteFile(filepath.Join(dir, name+".bin"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkUNetInputVJP times InputVJP of benchUNet on 64 images (one
// Hutchinson probe of a likelihood evaluation).
func BenchmarkUNetInputVJP(b *testing.B) {
	s := newUNetStep(b, benchUNet(Float32), 64)
	s.net.InputVJP(s.out, s.y, s.x, s.t)
	b.ResetTimer()
	for b.Loop() {
		s.net.InputVJP(s.out, s.y, s.x, s.t)
	}
}
