//go:build unix

package likelihood

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"

	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// benchNetScore is the score of the issue-24 network: 3 SiLU layers of 128,
// 32 Fourier features, D = 2, eps parameterisation, VP. With
// SDEKIT_NETLIK_CKPT set to a checkpoint (sdesample train -sde vp -data gmm8
// -hidden 128,128,128 -steps 2000 -precision float32) it is that trained
// network in the given precision; otherwise the same architecture with its
// initial weights (the cost per evaluation is the same, the number of
// evaluations is not).
func benchNetScore(b *testing.B, prec string) *score.Net {
	vp := sde.NewVP()
	if path := os.Getenv("SDEKIT_NETLIK_CKPT"); path != "" {
		ns, err := score.LoadNet(path, vp)
		if err != nil {
			b.Fatal(err)
		}
		net, err := model.MLPWithPrecision(ns.Model(), prec)
		if err != nil {
			b.Fatal(err)
		}
		s, err := score.NewNet(vp, net, ns.Param())
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	net, err := model.New(model.Config{Dim: 2, Hidden: []int{128, 128, 128}, Embedding: model.EmbeddingFourier,
		EmbedDim: 32, FourierScale: 16, Precision: prec, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	s, err := score.NewNet(vp, net, score.ParamEps)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkNetwork is the likelihood of 256 gmm8 points with the issue-24
// network (see benchNetScore), dopri5 at the default tolerances, one op per
// run. It reports the cost per row-evaluation of the augmented field (score
// plus one Hutchinson product, or score plus D products for "exact") in
// core time (the process's user and system CPU time, which a machine shared
// with other jobs inflates less than wall time) per row-evaluation
// (ns/row-eval), beside the forward pass alone in the same shape
// (ns/row-fwd: ScoreTo on 64 rows, the likelihood's largest block, each row
// at its own time, one worker) and their ratio (eval/fwd; issue 24 asks for
// at most 2 with one probe).
//
//	go test -run '^$' -bench Network -benchtime 3x ./likelihood
//	SDEKIT_NETLIK_CKPT=mlp.ckpt go test -run '^$' -bench Network -benchtime 3x -cpuprofile cpu.prof ./likelihood
func BenchmarkNetwork(b *testing.B) {
	for _, prec := range []string{model.Float32, model.Float64} {
		for _, probe := range []string{"rademacher", "exact"} {
			for _, workers := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/workers=%d", prec, probe, workers), func(b *testing.B) {
					s := benchNetScore(b, prec)
					mix, _ := score.Problem("gmm8", sde.NewVP())
					const n = 256
					x := drawData(mix, 2, n)
					fwd := forwardCost(s)
					cfg := Config{SDE: sde.NewVP(), Score: s, Probe: probe, Workers: workers}
					var pts []Point
					c0 := cpuTime()
					b.ResetTimer()
					for b.Loop() {
						var err error
						if pts, err = Evaluate(context.Background(), cfg, 1, x, nil, nil); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					core := cpuTime() - c0
					var nfe int
					for _, p := range pts {
						nfe += p.NFE
					}
					perEval := core / float64(b.N*nfe)
					b.ReportMetric(float64(nfe)/n, "nfe/point")
					b.ReportMetric(perEval, "ns/row-eval")
					b.ReportMetric(fwd, "ns/row-fwd")
					b.ReportMetric(perEval/fwd, "eval/fwd")
				})
			}
		}
	}
}

// forwardCost is the time per row of ScoreTo on blocks of 64 rows at random
// times, the forward pass in the likelihood's shape, in core time.
func forwardCost(s *score.Net) float64 {
	const n, reps = 64, 400
	rng := rand.New(rand.NewPCG(5, 6))
	d := s.Dim()
	x, t, out := make([]float64, n*d), make([]float64, n), make([]float64, n*d)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	for i := range t {
		t[i] = 1e-5 + rng.Float64()
	}
	s.ScoreTo(out, x, t)
	c0 := cpuTime()
	for range reps {
		s.ScoreTo(out, x, t)
	}
	return (cpuTime() - c0) / (reps * n)
}

// cpuTime is the process's user plus system CPU time in ns.
func cpuTime() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return float64(ru.Utime.Nano() + ru.Stime.Nano())
}
