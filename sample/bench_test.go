package sample

import (
	"context"
	"testing"

	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// Speed targets (issue 5; n = 10^4 rows, N = 1000 steps, exact score). The
// reference (score_sde_pytorch, exact score in torch, one thread) takes
// gmm8 VP Euler-Maruyama 3.9 s, PC with Langevin 7.6 s, ODE sampler 0.35 s
// (86 NFE, flattened, rtol = atol = 1e-5) and gauss:64 VP Euler-Maruyama 6.8 s.
//
//	go test -run '^$' -bench . -benchtime 1x ./sample
//
// score.Mixture computes its per-time constants once per call (samplers call
// it with one t per block), so the score's cost is per row only.

const benchN = 10000

func benchGenerate(b *testing.B, c Config) {
	setSteps(c.Sampler, max(viewOf(c.Sampler).steps, 1000))
	if err := c.Validate(); err != nil {
		b.Fatal(err)
	}
	x := make([]float64, benchN*c.Dim)
	rows := seq(benchN)
	var st Stats
	for b.Loop() {
		var err error
		if st, err = Generate(context.Background(), c, 1, rows, x, nil); err != nil {
			b.Fatal(err)
		}
	}
	total := 0
	for _, v := range st.NFE {
		total += v
	}
	b.ReportMetric(float64(total)/benchN, "nfe/sample")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
}

func gmm8VP() (sde.SDE, *score.Mixture) {
	s := sde.NewVP()
	return s, score.GMM8(s)
}

func BenchmarkGMM8EM(b *testing.B) {
	s, m := gmm8VP()
	benchGenerate(b, Config{SDE: s, Score: m, Sampler: &EulerMaruyama{}})
}

func BenchmarkGMM8PC(b *testing.B) {
	s, m := gmm8VP()
	benchGenerate(b, Config{SDE: s, Score: m, Sampler: &PC{Predictor: ReverseDiffusion{}, Corrector: Langevin{}}})
}

func BenchmarkGMM8ODE(b *testing.B) {
	s, m := gmm8VP()
	benchGenerate(b, Config{SDE: s, Score: m, Sampler: &ProbabilityFlow{}})
}

func BenchmarkGMM8ODEJoint(b *testing.B) {
	s, m := gmm8VP()
	benchGenerate(b, Config{SDE: s, Score: m, Sampler: &ProbabilityFlow{Joint: true}})
}

func BenchmarkGauss64EM(b *testing.B) {
	s := sde.NewVP()
	benchGenerate(b, Config{SDE: s, Score: score.Gauss(s, 64), Sampler: &EulerMaruyama{}})
}

// DDIM on gauss:64: the chain's own work per step (the score, the step and
// the driver's finiteness check) rather than the score's dominates.
func BenchmarkGauss64DDIM(b *testing.B) {
	s := sde.NewVP()
	benchGenerate(b, Config{SDE: s, Score: score.Gauss(s, 64), Sampler: &DDIM{}})
}

// The score alone: go test -run '^$' -bench MixtureScore ./score

// The fast samplers on gauss:64 at 1000 steps (2000 evaluations for Heun), whose exact score costs a
// few operations a value, so the time is mostly the sampler's own vector
// work: compare per evaluation with BenchmarkGauss64EM.
func BenchmarkGauss64UniPC(b *testing.B) {
	s := sde.NewVP()
	benchGenerate(b, Config{SDE: s, Score: score.Gauss(s, 64), Sampler: &UniPC{}})
}

func BenchmarkGauss64EDMHeun(b *testing.B) {
	s := sde.NewVP()
	benchGenerate(b, Config{SDE: s, Score: score.Gauss(s, 64), Sampler: &EDMHeun{}})
}
