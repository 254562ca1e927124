package study

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// scaleMix is a two-component mixture with overlapping components of
// different widths (weights 1/2, means (0, 0) and (0.25, -0.25), stds 0.25
// and 1): its score is nonlinear (the drift's second derivative, which
// the strong order 1.5 conditions are about, is not zero) but p_0 has one
// mode, so no sample switches between modes when the steps change. On
// gmm8 a few rows near the boundary between two modes land in different
// modes at 20 and 320 steps and carry the RMS error: its fitted order
// ranged over 1.24-2.1 across seeds (256 rows), where on this mixture it
// moves by 0.1.
func scaleMix(s sde.SDE) *score.Mixture {
	m, err := score.NewMixture(s, []float64{0.5, 0.5}, [][]float64{{0, 0}, {0.25, -0.25}}, [][]float64{{0.25, 0.25}, {1, 1}})
	if err != nil {
		panic(err)
	}
	return m
}

// strongSteps are the step counts of the strong order tests (the
// references take 16 times as many).
var strongSteps = []int{20, 40, 80, 160, 320}

// strongOrderOf measures the strong order of sampler name (with -steps N
// and schedule sch) on score sc under s, on the Brownian tree: 64 rows of
// seed 1.
func strongOrderOf(t *testing.T, s sde.SDE, sc sde.Score, name, sch string) StrongResult {
	t.Helper()
	cfg := sample.Config{SDE: s, Score: sc, Noise: sample.BrownianTree{}}
	mk := func(n int) (sample.Sampler, error) {
		return sample.NewFromOptions(name, map[string]string{"steps": fmt.Sprint(n), "schedule": sch})
	}
	res, err := StrongOrder(context.Background(), cfg, mk, strongSteps, 64, 1)
	if err != nil {
		t.Fatalf("%s on %s: %v", name, s.Name(), err)
	}
	return res
}

// Strong order on the Brownian tree (each run against itself with 16x the
// steps on the same path), under vp (grid uniform in t) and edm (karras),
// on gauss:4 (a linear drift) and scaleMix (a nonlinear one):
//
//   - em: order 1 (additive noise), within 0.25;
//   - sra1 and shark: at least 1.5 - 0.25. Measured (sra1, shark): on
//     scaleMix 1.74, 1.70 (vp) and 2.03, 2.04 (edm), the slope falling
//     towards 1.5 as N grows (on logsnr grids, 1.66 and 1.93 over
//     80..1280 against 1.8 and 2.1 over 20..320); on gauss:4 1.89, 1.80
//     (vp) and 2.15, 2.20 (edm); em 0.97-1.04. A linear drift has no
//     second-derivative terms, and the first terms the methods leave out
//     (of the space-time-time area) are O(h^2.5) a step with mean zero, which
//     makes order 2; the order 1.5 is the nonlinear case's bound, and a
//     slope between 1.5 and 2 is what the error constants give before the
//     asymptote. A slope below 1.25 is a lost order: a wrong sign of H or
//     of the (g1 - g0) term, or a tree whose areas do not add up (a
//     draft of the tree whose H did not obey the union rule gave 0.9-1.1).
//
// Each sra1 and shark error must also lie below EM's at the same steps.
func TestStrongOrderSRA(t *testing.T) {
	type problem struct {
		name string
		sc   func(sde.SDE) sde.Score
	}
	problems := []problem{
		{"gauss:4", func(s sde.SDE) sde.Score { return score.Gauss(s, 4) }},
		{"scaleMix", func(s sde.SDE) sde.Score { return scaleMix(s) }},
	}
	sdes := []sde.SDE{sde.NewVP(), sde.NewEDM()}
	if testing.Short() {
		sdes, problems = sdes[:1], problems[1:]
	}
	for _, s := range sdes {
		sch := sample.ScheduleT
		if s.Name() == "edm" {
			sch = sample.ScheduleKarras
		}
		for _, p := range problems {
			sc := p.sc(s)
			em := strongOrderOf(t, s, sc, "em", sch)
			if math.Abs(em.Order-1) > 0.25 {
				t.Errorf("em on %s %s: strong order %.2f, want 1 (errors %.3g)", s.Name(), p.name, em.Order, em.Err)
			}
			t.Logf("em on %s %s: strong order %.2f (errors %.3g at steps %v)", s.Name(), p.name, em.Order, em.Err, em.Steps)
			for _, name := range []string{"sra1", "shark"} {
				res := strongOrderOf(t, s, sc, name, sch)
				if res.Order < 1.25 {
					t.Errorf("%s on %s %s: strong order %.2f, want at least 1.5 (errors %.3g)", name, s.Name(), p.name, res.Order, res.Err)
				}
				for i := range res.Err {
					if !(res.Err[i] < em.Err[i]) {
						t.Errorf("%s on %s %s at %d steps: error %.3g, em's %.3g", name, s.Name(), p.name, res.Steps[i], res.Err[i], em.Err[i])
					}
				}
				t.Logf("%s on %s %s: strong order %.2f (errors %.3g at steps %v, NFE %v)", name, s.Name(), p.name, res.Order, res.Err, res.Steps, res.NFE)
			}
		}
	}
}

// StrongOrder refuses Streams (two step counts would see unrelated paths)
// and bad step lists.
func TestStrongOrderErrors(t *testing.T) {
	s := sde.NewVP()
	cfg := sample.Config{SDE: s, Score: score.Gauss(s, 2), Noise: sample.Streams{}}
	mk := func(n int) (sample.Sampler, error) { return &sample.EulerMaruyama{Steps: n}, nil }
	if _, err := StrongOrder(context.Background(), cfg, mk, []int{10, 20}, 4, 1); err == nil {
		t.Error("Streams: no error")
	}
	cfg.Noise = sample.BrownianTree{}
	for _, steps := range [][]int{{10}, {10, 0}} {
		if _, err := StrongOrder(context.Background(), cfg, mk, steps, 4, 1); err == nil {
			t.Errorf("steps %v: no error", steps)
		}
	}
	if _, err := StrongOrder(context.Background(), cfg, mk, []int{10, 20}, 0, 1); err == nil {
		t.Error("rows 0: no error")
	}
}
