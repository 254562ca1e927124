package examples_test

import (
	"context"
	"fmt"
	"math"

	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// AB2 is the two-step Adams-Bashforth method on the probability-flow ODE
// with Steps equal steps: x_{k+1} = x_k + h (3 f_k - f_{k-1})/2, one score
// evaluation a step, the first step by Heun's method (two). A multistep
// method keeps its past evaluations between steps: here in the worker's
// Block.Scratch, which lives as long as the block's Run.
type AB2 struct {
	Steps int
}

func (*AB2) Name() string { return "my-ab2" }

func (a *AB2) Prepare(c *sample.Config) (sample.Plan, error) {
	if a.Steps == 0 {
		a.Steps = 100
	}
	if a.Steps < 2 {
		return nil, fmt.Errorf("my-ab2: Steps = %d; use >= 2", a.Steps)
	}
	return &ab2Plan{heunPlan{sde: c.SDE, times: uniformTimes(c, a.Steps)}}, nil
}

// ab2Plan reuses heunPlan's drift and path.
type ab2Plan struct{ heunPlan }

func (p *ab2Plan) Run(ctx context.Context, b *sample.Block) error {
	n := b.M() * b.D
	x := b.X
	fPrev, f, s, y := b.Scratch(0, n), b.Scratch(1, n), b.Scratch(2, n), b.Scratch(3, n)
	nfe := 0
	for k := 0; k+1 < len(p.times); k++ {
		if err := sample.Stopped(ctx); err != nil {
			return err
		}
		t, tn := p.times[k], p.times[k+1]
		h := tn - t
		p.drift(b, f, s, x, t)
		nfe++
		if k == 0 { // Heun's step starts the two-step recursion
			for i := range y {
				y[i] = x[i] + h*f[i]
			}
			p.drift(b, y, s, y, tn) // y becomes f(y, tn)
			nfe++
			for i := range x {
				x[i] += 0.5 * h * (f[i] + y[i])
			}
		} else {
			for i := range x {
				x[i] += 0.5 * h * (3*f[i] - fPrev[i])
			}
		}
		copy(fPrev, f)
		if err := b.NonFinite(x, tn); err != nil {
			return err
		}
		b.Save(k+1, x)
	}
	b.AddNFE(nfe)
	return nil
}

// A multistep sampler on the shared driver: second order, so its true
// error (against the exact flow map of the Gaussian, as in
// Example_customSampler) shrinks about four times when the steps double, at
// one score evaluation a step.
func Example_multistepSampler() {
	vp := sde.NewVP()
	m := score.Gauss(vp, 2)
	rows := make([]int, 1000)
	for i := range rows {
		rows[i] = i
	}
	const eps = 1e-3
	for _, steps := range []int{50, 100, 200} {
		cfg := sample.Config{SDE: vp, Score: m, Sampler: &AB2{Steps: steps}, Eps: eps}
		_, states, err := sample.Trajectory(context.Background(), cfg, 1, rows, 2)
		if err != nil {
			fmt.Println(err)
			return
		}
		prior, x := states[0], states[1]
		st, err := sample.Generate(context.Background(), cfg, 1, rows[:1], make([]float64, 2), nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		var worst float64
		for i := range prior {
			j := i % 2
			worst = math.Max(worst, math.Abs(x[i]-flowMap(vp, m.Means[0][j], m.Stds[0][j], vp.T(), eps, prior[i])))
		}
		fmt.Printf("%d steps, %d evaluations: max error %.1e\n", steps, st.NFE[0], worst)
	}
	// Output:
	// 50 steps, 51 evaluations: max error 2.2e-02
	// 100 steps, 101 evaluations: max error 6.0e-03
	// 200 steps, 201 evaluations: max error 1.5e-03
}
