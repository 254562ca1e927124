package nb

import (
	"context"
	"fmt"
	"image"
	"math"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/plot"

	"github.com/sdekit/sdekit/ode"
	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/sde"
	"github.com/sdekit/sdekit/study"
	"github.com/sdekit/sdekit/viz"
)

// A sampler spec names a sampler of package sample (sample.Names(): em, pc,
// ode, ddpm, ddim, ...) followed by its options as name=value, separated by
// spaces, with the command line's option names (sample.Options):
//
//	em                                        reverse-SDE Euler-Maruyama
//	pc                                        reverse-diffusion predictor + annealed Langevin (ALD) corrector
//	pc corrector=langevin                     the signal-to-noise rule with each row's own norms
//	pc corrector=langevin batch-norms=true    the same with norms averaged over the batch (the reference code)
//	pc corrector=none                         the reverse-diffusion predictor alone
//	ode                                       probability flow, adaptive dopri5 at rtol = atol = 1e-5 (ignores the step count)
//	ode solver=heun                           probability flow, Heun with the given number of steps (2 evaluations a step)
//	ddpm, ddim                                the discrete chains, VP only
//
// The step count the functions take sets the sampler's steps option.

// samplerConfig returns the sample.Config of a sampler spec.
func samplerConfig(spec string, s sde.SDE, sc sde.Score, steps int) sample.Config {
	sp, err := study.ParseSpec(spec)
	if err != nil {
		panic(fmt.Sprintf("nb: %s", strings.TrimPrefix(err.Error(), "study: ")))
	}
	smp, err := sp.Sampler(steps)
	if err != nil {
		panic(fmt.Sprintf("nb: sampler spec %q: %v", spec, err))
	}
	cfg := sample.Config{SDE: s, Score: sc, Sampler: smp}
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("nb: sampler spec %q: %v", spec, err))
	}
	return cfg
}

// adaptive reports whether the sampler of cfg chooses its own steps (no
// steps option, as dpm-adaptive, or the probability flow with an adaptive
// tableau), so a step count means nothing.
func adaptive(cfg sample.Config) bool {
	if pf, ok := cfg.Sampler.(*sample.ProbabilityFlow); ok {
		tb, err := ode.TableauByName(pf.Solver)
		return err == nil && tb.Adaptive()
	}
	for _, o := range sample.Options(cfg.Sampler) {
		if o.Name == "steps" {
			return false
		}
	}
	return true
}

// generate draws rows 0..n-1 of the seed; it returns the samples, the mean
// number of score evaluations per sample and the wall time.
func generate(cfg sample.Config, n int, seed uint64) ([]float64, float64, time.Duration) {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	x := make([]float64, n*cfg.Score.Dim())
	t0 := time.Now()
	st, err := sample.Generate(context.Background(), cfg, seed, rows, x, nil)
	el := time.Since(t0)
	if err != nil {
		panic(fmt.Sprintf("nb: sampling with %s: %v", cfg.Sampler.Name(), err))
	}
	var nfe float64
	for _, v := range st.NFE {
		nfe += float64(v)
	}
	return x, nfe / float64(n), el
}

// Sample draws n samples (rows 0..n-1 of seed) from the exact score of a
// reference problem ("gmm8" or "gauss:D") under the SDE named sdeName with the
// sampler spec (see samplerConfig) and step count. It returns the samples as a
// flat n x D slice.
func Sample(problem, sdeName, sampler string, steps, n int, seed uint64) []float64 {
	s := mustSDE(sdeName)
	m := mustProblem(problem, s)
	x, _, _ := generate(samplerConfig(sampler, s, m, steps), n, seed)
	return x
}

// Scatter draws the first two coordinates of the samples x (rows of d values)
// on a size x size picture with the given title; l > 0 fixes the axes to
// [-l, l]^2.
func Scatter(x []float64, d int, title string, l float64, size int) image.Image {
	p := viz.NewPanel(title, "", "")
	viz.AddCloud(p, x, d, 0)
	if l > 0 {
		viz.Square(p, l)
	}
	return viz.Render([][]*plot.Plot{{p}}, size, size)
}

// SamplerRun is one sampler at one step count.
type SamplerRun struct {
	Sampler string
	Steps   int
	NFE     float64 // mean score evaluations per sample
	Seconds float64 // wall time of the whole batch
	Metrics Metrics
	X       []float64 // the samples, n x D
}

// SamplerResult is what Samplers returns.
type SamplerResult struct {
	Problem, SDE string
	N            int
	Seed         uint64
	Runs         []SamplerRun
	// Image is a grid of sample pictures: one row per sampler, one column per
	// step count, 200 x 200 pixels a panel.
	Image image.Image
}

// String prints one line per run.
func (r *SamplerResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s under %s, exact score, n = %d, seed %d\n", r.Problem, label(r.SDE), r.N, r.Seed)
	fmt.Fprintf(&b, "%-9s %6s %7s %7s %10s %8s %8s %10s %10s %9s %8s\n",
		"sampler", "steps", "NFE", "seconds", "|mean err|", "cov err", "mode TV", "logp gap", "sliced W2", "energy", "hist TV")
	for _, run := range r.Runs {
		m := run.Metrics
		fmt.Fprintf(&b, "%-9s %6d %7.1f %7.2f %10.3g %8.3g %8.3g %10.3g %10.3g %9.3g %8.3g\n",
			run.Sampler, run.Steps, run.NFE, run.Seconds, m.MeanErr, m.CovErr, m.ModeTV, m.LogProbGap, m.SlicedW2, m.Energy, m.HistTV)
	}
	if len(r.Runs) > 0 {
		m := r.Runs[0].Metrics
		fmt.Fprintf(&b, "two exact samples of this size (what a perfect sampler shows): sliced W2 %.3g, energy %.3g, hist TV %.3g; logp gap standard error about %.2g\n",
			m.SlicedW2Floor, m.EnergyFloor, m.HistTVFloor, m.LogProbGapSE)
	}
	return b.String()
}

// Run returns the run of a sampler at a step count, or nil.
func (r *SamplerResult) Run(sampler string, steps int) *SamplerRun {
	for i := range r.Runs {
		if r.Runs[i].Sampler == sampler && r.Runs[i].Steps == steps {
			return &r.Runs[i]
		}
	}
	return nil
}

// Samplers runs every sampler spec at every step count on the exact score of
// a reference problem ("gmm8", "gauss:D") under the SDE sdeName, n samples
// each from the same seed, and measures them against p_0. The adaptive "ode"
// spec ignores the step count and runs once.
func Samplers(problem, sdeName string, samplers []string, steps []int, n int, seed uint64) *SamplerResult {
	check(n >= 2 && len(samplers) > 0 && len(steps) > 0, "Samplers needs n >= 2, samplers and step counts")
	s := mustSDE(sdeName)
	m := mustProblem(problem, s)
	ref := mixtureRef(m)
	res := &SamplerResult{Problem: problem, SDE: sdeName, N: n, Seed: seed}
	lim := 0.0
	for k := range m.Means {
		for j := range m.Means[k] {
			lim = math.Max(lim, math.Abs(m.Means[k][j])+3*m.Stds[k][j])
		}
	}
	var grid [][]*plot.Plot
	for _, sp := range samplers {
		var row []*plot.Plot
		for _, st := range steps {
			cfg := samplerConfig(sp, s, m, st)
			ad := adaptive(cfg)
			if ad && len(row) > 0 {
				row = append(row, nil)
				continue
			}
			x, nfe, el := generate(cfg, n, seed)
			run := SamplerRun{Sampler: sp, Steps: st, NFE: nfe, Seconds: el.Seconds(), Metrics: ref.compare(x), X: x}
			if ad {
				run.Steps = 0
			}
			res.Runs = append(res.Runs, run)
			title := fmt.Sprintf("%s, %d steps", sp, st)
			if ad {
				title = fmt.Sprintf("%s, NFE %.0f", sp, nfe)
			}
			p := viz.NewPanel(title, "", "")
			viz.AddCloud(p, x, m.Dim(), 0)
			viz.Square(p, lim)
			row = append(row, p)
		}
		grid = append(grid, row)
	}
	res.Image = viz.Render(grid, 200*len(steps), 200*len(samplers))
	return res
}

// MetricPlot draws the energy distance and the histogram TV distance to p_0
// against the mean number of score evaluations per sample, one line per
// sampler, with the value two exact samples show as a dashed line: two
// panels on a 1000 x 380 picture.
func (r *SamplerResult) MetricPlot() image.Image {
	var order []string
	byName := map[string][]SamplerRun{}
	lo, hi := math.Inf(1), 0.0
	for _, run := range r.Runs {
		if _, ok := byName[run.Sampler]; !ok {
			order = append(order, run.Sampler)
		}
		byName[run.Sampler] = append(byName[run.Sampler], run)
		lo, hi = math.Min(lo, run.NFE), math.Max(hi, run.NFE)
	}
	panel := func(title string, get func(Metrics) (v, floor float64)) *plot.Plot {
		p := viz.NewPanel(fmt.Sprintf("%s, %s: %s", r.Problem, label(r.SDE), title), "score evaluations per sample", title)
		viz.LogX(p)
		viz.LogY(p)
		var floor float64
		ylo, yhi := math.Inf(1), math.Inf(-1)
		for k, name := range order {
			runs := byName[name]
			sort.Slice(runs, func(i, j int) bool { return runs[i].NFE < runs[j].NFE })
			x, y := make([]float64, len(runs)), make([]float64, len(runs))
			for i, run := range runs {
				x[i] = run.NFE
				y[i], floor = get(run.Metrics)
				if y[i] > 0 {
					ylo, yhi = math.Min(ylo, y[i]), math.Max(yhi, y[i])
				}
			}
			viz.AddLine(p, "", x, y, k, false)
			viz.AddPoints(p, name, x, y, k, 3)
		}
		viz.AddLine(p, "two exact samples", []float64{lo, hi}, []float64{floor, floor}, 6, true)
		if floor > 0 {
			ylo, yhi = math.Min(ylo, floor), math.Max(yhi, floor)
		}
		// Room above the data for the legend: the top 45% of a log axis.
		if yhi > ylo {
			p.Y.Min, p.Y.Max = ylo/1.1, yhi*math.Pow(yhi/ylo, 0.8)
		}
		p.Legend.Top = true
		return p
	}
	p1 := panel("energy distance", func(m Metrics) (float64, float64) { return m.Energy, m.EnergyFloor })
	p2 := panel("histogram TV", func(m Metrics) (float64, float64) { return m.HistTV, m.HistTVFloor })
	return viz.Render([][]*plot.Plot{{p1, p2}}, 1000, 380)
}
