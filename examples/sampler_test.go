package examples_test

import (
	"context"
	"fmt"
	"math"

	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// Heun is Heun's method (explicit trapezoidal rule, second order) on the
// probability-flow ODE dx/dt = a(t) x - g(t)^2 score(x, t)/2 with Steps
// equal steps from T to eps: two score evaluations a step.
type Heun struct {
	Steps int
}

func (*Heun) Name() string { return "my-heun" }

// Options lets the command line and the notebooks set -steps.
func (h *Heun) Options() []sample.Option {
	return []sample.Option{sample.IntOption(&h.Steps, "steps", 100, "number of steps")}
}

// Prepare checks the options and returns the plan the driver runs per block.
func (h *Heun) Prepare(c *sample.Config) (sample.Plan, error) {
	if h.Steps == 0 {
		h.Steps = 100
	}
	if h.Steps < 1 {
		return nil, fmt.Errorf("my-heun: Steps = %d; use >= 1", h.Steps)
	}
	return &heunPlan{sde: c.SDE, times: uniformTimes(c, h.Steps)}, nil
}

// uniformTimes is the grid of n equal steps from T to eps.
func uniformTimes(c *sample.Config, n int) []float64 {
	ts := make([]float64, n+1)
	for k := range ts {
		ts[k] = c.SDE.T() + float64(k)*(c.Eps-c.SDE.T())/float64(n)
	}
	return ts
}

type heunPlan struct {
	sde   sde.SDE
	times []float64
}

func (p *heunPlan) PriorStd() float64 { return p.sde.PriorStd() }
func (p *heunPlan) Path() []float64   { return p.times }

// drift writes the probability-flow drift of the block's rows at t into f,
// using s as the score's scratch.
func (p *heunPlan) drift(b *sample.Block, f, s, x []float64, t float64) {
	b.ScoreAt(s, x, t, 0, b.M())
	a, g := p.sde.DriftCoef(t), p.sde.Diffusion(t)
	for i := range f {
		f[i] = a*x[i] - 0.5*g*g*s[i]
	}
}

func (p *heunPlan) Run(ctx context.Context, b *sample.Block) error {
	n := b.M() * b.D
	x := b.X
	f0, f1, s, y := b.Scratch(0, n), b.Scratch(1, n), b.Scratch(2, n), b.Scratch(3, n)
	for k := 0; k+1 < len(p.times); k++ {
		if err := sample.Stopped(ctx); err != nil {
			return err
		}
		t, tn := p.times[k], p.times[k+1]
		h := tn - t
		p.drift(b, f0, s, x, t)
		for i := range y {
			y[i] = x[i] + h*f0[i]
		}
		p.drift(b, f1, s, y, tn)
		for i := range x {
			x[i] += 0.5 * h * (f0[i] + f1[i])
		}
		if err := b.NonFinite(x, tn); err != nil {
			return err
		}
		b.Save(k+1, x)
	}
	b.AddNFE(2 * (len(p.times) - 1))
	return nil
}

func init() {
	// One line makes it a named sampler: sdesample-like tools and the
	// notebooks find it with sample.New("my-heun").
	sample.Register("my-heun", func() sample.Sampler { return &Heun{} })
}

// A sampler of one's own on the shared driver: rows, blocks, workers,
// per-row noise, progress, cancellation and trajectories come with it. On a
// Gaussian the probability flow with the exact score maps each prior draw x_T
// to m(eps) + sqrt(v(eps)/v(T)) (x_T - m(T)) coordinate by coordinate (m, v:
// the marginal's mean and variance), so the sampler's true error is known
// row by row: Heun's shrinks about four times when the steps double.
func Example_customSampler() {
	vp := sde.NewVP()
	m := score.Gauss(vp, 2) // diagonal Gaussian: means 0.5 cos(i), stds 0.2 and 0.8
	rows := make([]int, 1000)
	for i := range rows {
		rows[i] = i
	}
	const eps = 1e-3
	for _, steps := range []int{25, 50, 100} {
		s, err := sample.NewFromOptions("my-heun", map[string]string{"steps": fmt.Sprint(steps)})
		if err != nil {
			fmt.Println(err)
			return
		}
		cfg := sample.Config{SDE: vp, Score: m, Sampler: s, Eps: eps}
		// The path's first and last states: the prior draw and the sample.
		_, states, err := sample.Trajectory(context.Background(), cfg, 1, rows, 2)
		if err != nil {
			fmt.Println(err)
			return
		}
		prior, x := states[0], states[1]
		var worst float64
		for i := range prior {
			j := i % 2
			exact := flowMap(vp, m.Means[0][j], m.Stds[0][j], vp.T(), eps, prior[i])
			worst = math.Max(worst, math.Abs(x[i]-exact))
		}
		fmt.Printf("%d steps: max error %.1e\n", steps, worst)
	}
	// Output:
	// 25 steps: max error 2.6e-02
	// 50 steps: max error 7.2e-03
	// 100 steps: max error 1.9e-03
}

// flowMap is the exact probability-flow map of N(mu, sd^2) data from time
// t0 to t1.
func flowMap(s sde.SDE, mu, sd, t0, t1, x float64) float64 {
	c0, s0 := s.Marginal(t0)
	c1, s1 := s.Marginal(t1)
	v0, v1 := c0*c0*sd*sd+s0*s0, c1*c1*sd*sd+s1*s1
	return c1*mu + math.Sqrt(v1/v0)*(x-c0*mu)
}
