package sample

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/sdekit/sdekit/ode"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// Work-precision of the probability-flow ODE sampler's step-size controllers
// on gmm8 with its exact score: for each SDE (vp, subvp, ve), controller and
// tolerance rtol = atol, the mean score evaluations per row (nfe/row) and the
// achieved error as log10_err = log10 sqrt(mean over rows of
// |x(eps) - x_ref(eps)|^2), where x_ref is DOP853 at rtol = atol = 1e-12 from
// the same 2000 seeded prior rows (computed once per SDE; log10_ref_diff,
// reported by the "<sde>/ref" sub-benchmark, is the same measure between
// DOP853 at 1e-12 and at 1e-11). The error is reported as a logarithm because
// the benchmark output prints small metrics with too few digits. Compare
// controllers at equal error, not at equal tolerance:
//
//	go test -run '^$' -bench WorkPrecision -benchtime 1x ./sample
//
// Sub-benchmarks are named sde/controller/tol, e.g. vp/I/1e-5 or
// ve/PI3040/1e-4.5 (rtol = atol = 10^-4.5). The solves
// are those of the ode sampler (ProbabilityFlow, per-row dopri5, T = 1, the
// default Eps of Config: 1e-3 for vp and subvp, 1e-5 for ve, no denoising
// step; ProbabilityFlow.Controller), called through package ode directly so that
// every controller and tolerance starts from the same prior rows.

const wpRows = 2000

// wpControllers are the controllers -controller offers, by name.
var wpControllers = func() (list []struct {
	name string
	pid  ode.PID
}) {
	for _, name := range []string{"i", "pi3040", "pi4020", "dopri5"} {
		pid, err := ode.ControllerByName(name)
		if err != nil {
			panic(err)
		}
		list = append(list, struct {
			name string
			pid  ode.PID
		}{strings.ToUpper(name), pid})
	}
	return list
}()

// wpExps are the tolerances' exponents: rtol = atol = 10^e, half decades
// from 1e-3 to 1e-7. The achieved error does not fall smoothly with the
// tolerance (it jumps by up to a decade between neighbouring tolerances), so
// decades alone leave the equal-error comparison to coarse interpolation.
var wpExps = []float64{-3, -3.5, -4, -4.5, -5, -5.5, -6, -6.5, -7}

// wpProblem is one SDE's fixed prior rows and reference solution.
type wpProblem struct {
	s     sde.SDE
	pf    sde.ProbabilityFlow
	eps   float64
	x0    []float64 // wpRows prior rows
	ref   []float64 // DOP853 at 1e-12
	ref11 []float64 // DOP853 at 1e-11
}

var (
	wpMu    sync.Mutex
	wpCache = map[string]*wpProblem{}
)

// wpSolve integrates the rows x0 of p from T to eps and returns the end
// states and the mean NFE per row.
func wpSolve(p *wpProblem, opt ode.Options) ([]float64, float64, error) {
	opt.Workers = 2
	res, err := ode.Solve(context.Background(), p.pf.F, 2, p.s.T(), p.eps, p.x0, opt)
	if err != nil {
		return nil, 0, err
	}
	return res.Y, float64(res.Total.NFE) / float64(len(p.x0)/2), nil
}

// wpRMS is sqrt(mean over rows of the squared Euclidean distance of a and b).
func wpRMS(a, b []float64) float64 {
	var ss float64
	for i := range a {
		d := a[i] - b[i]
		ss += d * d
	}
	return math.Sqrt(ss / float64(len(a)/2))
}

// wpGet returns the problem of an SDE, computing its references on first use.
func wpGet(name string) (*wpProblem, error) {
	wpMu.Lock()
	defer wpMu.Unlock()
	if p, ok := wpCache[name]; ok {
		return p, nil
	}
	s, err := sde.ByName(name)
	if err != nil {
		return nil, err
	}
	c := Config{SDE: s, Score: score.GMM8(s), Sampler: &ProbabilityFlow{}}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p := &wpProblem{s: s, pf: sde.ProbabilityFlow{SDE: s, Score: c.Score}, eps: c.Eps}
	r := rand.New(rand.NewPCG(2024, 7))
	p.x0 = make([]float64, wpRows*2)
	for i := 0; i < wpRows; i++ {
		sde.PriorSample(s, p.x0[2*i:2*i+2], r)
	}
	if p.ref, _, err = wpSolve(p, ode.Options{Tableau: ode.DOP853, RTol: 1e-12, ATol: 1e-12}); err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	p.ref = append([]float64(nil), p.ref...)
	if p.ref11, _, err = wpSolve(p, ode.Options{Tableau: ode.DOP853, RTol: 1e-11, ATol: 1e-11}); err != nil {
		return nil, fmt.Errorf("reference at 1e-11: %w", err)
	}
	wpCache[name] = p
	return p, nil
}

func BenchmarkWorkPrecision(b *testing.B) {
	for _, name := range []string{"vp", "subvp", "ve"} {
		b.Run(name+"/ref", func(b *testing.B) {
			p, err := wpGet(name)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
			}
			b.ReportMetric(math.Log10(wpRMS(p.ref, p.ref11)), "log10_ref_diff")
		})
		for _, ctl := range wpControllers {
			for _, e := range wpExps {
				tol := math.Pow(10, e)
				b.Run(fmt.Sprintf("%s/%s/1e%g", name, ctl.name, e), func(b *testing.B) {
					p, err := wpGet(name)
					if err != nil {
						b.Fatal(err)
					}
					opt := ode.Options{RTol: tol, ATol: tol, Controller: ctl.pid}
					var y []float64
					var nfe float64
					for b.Loop() {
						if y, nfe, err = wpSolve(p, opt); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(nfe, "nfe/row")
					b.ReportMetric(math.Log10(wpRMS(y, p.ref)), "log10_err")
				})
			}
		}
	}
}

// TestWorkPrecisionReference checks that the benchmark's reference is
// converged: DOP853 at 1e-12 and 1e-11 differ by far less (1/100) than the
// smallest error the benchmark reports (every controller at 1e-7).
func TestWorkPrecisionReference(t *testing.T) {
	if testing.Short() {
		t.Skip("solves 3 x 2000 rows with DOP853 at 1e-12")
	}
	tol := math.Pow(10, wpExps[len(wpExps)-1])
	for _, name := range []string{"vp", "subvp", "ve"} {
		p, err := wpGet(name)
		if err != nil {
			t.Fatal(err)
		}
		diff, least := wpRMS(p.ref, p.ref11), math.Inf(1)
		for _, ctl := range wpControllers {
			y, _, err := wpSolve(p, ode.Options{RTol: tol, ATol: tol, Controller: ctl.pid})
			if err != nil {
				t.Fatal(err)
			}
			least = min(least, wpRMS(y, p.ref))
		}
		t.Logf("%s: DOP853 1e-12 vs 1e-11: %.3g; least dopri5 error at %g: %.3g", name, diff, tol, least)
		if !(diff < least/100) {
			t.Errorf("%s: reference not converged: DOP853 at 1e-12 and 1e-11 differ by %.3g, more than 1/100 of the least error %.3g", name, diff, least)
		}
	}
}
