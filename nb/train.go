package nb

import (
	"context"
	"fmt"
	"image"
	"math"
	"strings"
	"time"

	"gonum.org/v1/plot"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/likelihood"
	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/viz"
)

// TrainOptions are the settings of TrainSwissRoll; the zero value of a field
// selects the default written next to it.
type TrainOptions struct {
	SDE          string  // "vp" (default), "subvp" or "ve"
	Noise, Scale float64 // the Swiss roll (package data): default Noise 0.5, Scale 0.25
	Steps        int     // optimiser steps, default 4000
	Batch        int     // rows per step, default 256
	LR           float64 // Adam learning rate, default 1e-2 (after 100 warm-up steps)
	Hidden       []int   // hidden widths of the MLP, default 64, 64
	FourierScale float64 // std of the time embedding's Fourier frequencies, default 4
	EMA          float64 // EMA decay of the weights used for sampling, default 0.99
	Seed         uint64  // default 1
}

func (o TrainOptions) withDefaults() TrainOptions {
	if o.SDE == "" {
		o.SDE = "vp"
	}
	if o.Noise == 0 {
		o.Noise = 0.5
	}
	if o.Scale == 0 {
		o.Scale = 0.25
	}
	if o.Steps == 0 {
		o.Steps = 4000
	}
	if o.Batch == 0 {
		o.Batch = 256
	}
	if o.LR == 0 {
		o.LR = 1e-2
	}
	if len(o.Hidden) == 0 {
		o.Hidden = []int{64, 64}
	}
	if o.FourierScale == 0 {
		o.FourierScale = 4
	}
	if o.EMA == 0 {
		o.EMA = 0.99
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o
}

// Trained is a score network trained on the Swiss roll.
type Trained struct {
	Options TrainOptions
	Params  int       // trainable parameters of the network
	Loss    []float64 // the batch loss of every step
	Seconds float64   // training wall time
	// Score is the trained score (EMA weights); it satisfies sde.Score and
	// likelihood.VJPScore.
	Score *score.Net
	// Image is the loss curve (batch loss and its running mean), 560 x 300.
	Image image.Image
	data  data.SwissRoll
	ref   *reference
}

// String summarises the run.
func (r *Trained) String() string {
	n := len(r.Loss)
	first, _ := meanSE(r.Loss[:max(1, n/20)])
	last, _ := meanSE(r.Loss[n-max(1, n/20):])
	return fmt.Sprintf("Swiss roll (noise %g, scale %g), %s, MLP %v (%d parameters), %d steps of %d rows, lr %g, EMA %g: %.1f s\nmean batch loss: first 5%% of steps %.4g, last 5%% %.4g",
		r.Options.Noise, r.Options.Scale, label(r.Options.SDE), r.Options.Hidden, r.Params, r.Options.Steps, r.Options.Batch, r.Options.LR, r.Options.EMA, r.Seconds, first, last)
}

// swissRollRef returns the reference of a Swiss roll: exact mean and
// covariance, fresh draws from the source.
func swissRollRef(s data.SwissRoll) *reference {
	return &reference{d: 2, mean: s.Mean(), cov: s.Cov(),
		draw: func(n int, seed uint64) []float64 {
			x := make([]float64, 2*n)
			s.Sample(x, n, rng.New(seed, 0, rng.Data))
			return x
		}}
}

// TrainSwissRoll trains an MLP score network by denoising score matching
// (package score's trainer, sigma^2 weighting, Adam, EMA) on the Swiss roll.
// The defaults (a roll of variance about 3, half the FFJORD noise) train in
// about 10 s on one core; the unit-variance FFJORD roll needs many more steps
// for its arms to separate.
func TrainSwissRoll(opt TrainOptions) *Trained {
	opt = opt.withDefaults()
	s := mustSDE(opt.SDE)
	roll := data.SwissRoll{Noise: opt.Noise, Scale: opt.Scale}
	net, err := model.NewTrainable(model.Config{Dim: roll.Dim(), Hidden: opt.Hidden, FourierScale: opt.FourierScale, Seed: opt.Seed})
	check(err == nil, "%v", err)
	cfg := score.TrainConfig{
		SDE:   s,
		Data:  roll,
		Model: net,
		Steps: opt.Steps, Batch: opt.Batch, LR: opt.LR, EMA: opt.EMA, Seed: opt.Seed,
		Warmup: min(100, opt.Steps/10),
	}
	tr, err := score.NewTrainer(cfg)
	check(err == nil, "%v", err)
	res := &Trained{Options: opt, Params: tr.Model().NumParams(), data: roll, ref: swissRollRef(roll)}
	t0 := time.Now()
	err = tr.Run(context.Background(), func(p score.TrainProgress) error {
		res.Loss = append(res.Loss, p.Loss)
		return nil
	})
	res.Seconds = time.Since(t0).Seconds()
	check(err == nil, "training: %v", err)
	res.Score, err = tr.Score()
	check(err == nil, "%v", err)
	res.Image = res.lossImage()
	return res
}

func (r *Trained) lossImage() image.Image {
	n := len(r.Loss)
	x := make([]float64, n)
	avg := make([]float64, n)
	w := max(1, n/50)
	var run float64
	for i, v := range r.Loss {
		x[i] = float64(i + 1)
		run += v
		if i >= w {
			run -= r.Loss[i-w]
		}
		avg[i] = run / float64(min(i+1, w))
	}
	p := viz.NewPanel("denoising score-matching loss", "step", "batch loss")
	viz.AddLine(p, "batch", x, r.Loss, 4, false)
	viz.AddLine(p, fmt.Sprintf("mean of %d steps", w), x, avg, 0, false)
	p.Legend.Top = true
	return viz.Render([][]*plot.Plot{{p}}, 560, 300)
}

// TrainedSamples are samples from a trained score.
type TrainedSamples struct {
	Sampler string
	Steps   int
	NFE     float64
	Seconds float64
	Metrics Metrics // against the Swiss roll (ModeTV is NaN: not a mixture)
	X       []float64
	// Image shows fresh data next to the samples, 300 x 300 a panel.
	Image image.Image
}

// String prints the metrics.
func (r *TrainedSamples) String() string {
	what := fmt.Sprintf("%s, %d steps", r.Sampler, r.Steps)
	if r.Sampler == "ode" {
		what = "ode (dopri5, rtol = atol = 1e-5)"
	}
	return fmt.Sprintf("%s: %.0f evaluations per sample, %.2f s\n%v", what, r.NFE, r.Seconds, r.Metrics)
}

// Sample draws n samples (rows 0..n-1 of seed) from the trained score with a
// sampler spec (see samplerConfig) and compares them with the Swiss roll.
func (r *Trained) Sample(sampler string, steps, n int, seed uint64) *TrainedSamples {
	s := mustSDE(r.Options.SDE)
	cfg := samplerConfig(sampler, s, r.Score, steps)
	x, nfe, el := generate(cfg, n, seed)
	res := &TrainedSamples{Sampler: sampler, Steps: steps, NFE: nfe, Seconds: el.Seconds(), X: x, Metrics: r.ref.compare(x)}
	pd := viz.NewPanel("data: Swiss roll", "", "")
	viz.AddCloud(pd, r.ref.draw(n, 0x5eed0001), 2, 2)
	viz.Square(pd, 4)
	title := fmt.Sprintf("samples: %s, %d steps", sampler, steps)
	if adaptive(cfg) {
		title = fmt.Sprintf("samples: %s, NFE %.0f", sampler, nfe)
	}
	ps := viz.NewPanel(title, "", "")
	viz.AddCloud(ps, x, 2, 0)
	viz.Square(ps, 4)
	res.Image = viz.Render([][]*plot.Plot{{pd, ps}}, 600, 300)
	return res
}

// ModelLikelihood is the log-likelihood of held-out data under a trained score.
type ModelLikelihood struct {
	N int
	// LogP is the mean log p_eps(x) over held-out points by the probability
	// flow (Hutchinson, 4 Rademacher probes, dopri5 at 1e-5), LogPSE its
	// standard error over points; BPD the same as -log p/(D ln 2).
	LogP, LogPSE, BPD float64
	// Gaussian is the mean log-density of the same points under the Gaussian
	// with the data's exact mean and covariance: a model that learned
	// anything beyond second moments beats it.
	Gaussian float64
	MeanNFE  float64
	Seconds  float64
}

// String prints the comparison.
func (l *ModelLikelihood) String() string {
	return fmt.Sprintf("held-out log-likelihood over %d points: model %.4f +- %.4f nats (%.4f bits/dim), best Gaussian %.4f nats; %.0f evaluations per point, %.1f s",
		l.N, l.LogP, l.LogPSE, l.BPD, l.Gaussian, l.MeanNFE, l.Seconds)
}

// LogLikelihood evaluates n fresh Swiss-roll points (from seed) under the
// trained score by the probability-flow ODE.
func (r *Trained) LogLikelihood(n int, seed uint64) *ModelLikelihood {
	check(n >= 2, "LogLikelihood needs n >= 2")
	s := mustSDE(r.Options.SDE)
	x := r.ref.draw(n, seed)
	cfg := likelihood.Config{SDE: s, Score: r.Score, Probe: "rademacher", Probes: 4}
	pts, el := evaluate(cfg, seed, x)
	lp := make([]float64, n)
	res := &ModelLikelihood{N: n, Seconds: el.Seconds()}
	for i, p := range pts {
		lp[i] = p.LogP
		res.MeanNFE += float64(p.NFE) / float64(n)
	}
	res.LogP, res.LogPSE = meanSE(lp)
	res.BPD = -res.LogP / (2 * math.Ln2)
	// Gaussian baseline with the exact moments.
	m, c := r.ref.mean, r.ref.cov
	det := c[0]*c[3] - c[1]*c[2]
	for i := 0; i < n; i++ {
		a, b := x[2*i]-m[0], x[2*i+1]-m[1]
		q := (c[3]*a*a - (c[1]+c[2])*a*b + c[0]*b*b) / det
		res.Gaussian += (-math.Log(2*math.Pi) - 0.5*math.Log(det) - 0.5*q) / float64(n)
	}
	return res
}

// DensityResult is the trained model's density on a grid.
type DensityResult struct {
	Grid    int     // points per side
	L       float64 // the grid covers [-L, L]^2
	LogP    []float64
	MeanNFE float64
	Seconds float64
	// Image shows a histogram of fresh data next to the model's log p_eps
	// (probability flow, exact trace), 10 nats of range, 300 x 300 a panel.
	Image image.Image
}

// String summarises the cost.
func (d *DensityResult) String() string {
	return fmt.Sprintf("log p_eps on a %d x %d grid over [-%g, %g]^2: %.0f evaluations per point, %.1f s", d.Grid, d.Grid, d.L, d.L, d.MeanNFE, d.Seconds)
}

// Density evaluates the trained model's log-density on a grid x grid lattice
// over [-4, 4]^2 by the probability flow with the exact trace.
func (r *Trained) Density(grid int) *DensityResult {
	check(grid >= 2, "Density needs grid >= 2")
	const l = 4.0
	s := mustSDE(r.Options.SDE)
	x := make([]float64, 0, 2*grid*grid)
	g := viz.NewGrid(grid, l, func(u, v float64) float64 { x = append(x, u, v); return 0 })
	pts, el := evaluate(likelihood.Config{SDE: s, Score: r.Score, Probe: "exact", RTol: 1e-4, ATol: 1e-4}, 1, x)
	res := &DensityResult{Grid: grid, L: l, LogP: make([]float64, len(pts)), Seconds: el.Seconds()}
	hi := math.Inf(-1)
	for i, p := range pts {
		g.Values[i] = p.LogP
		res.LogP[i] = p.LogP
		res.MeanNFE += float64(p.NFE) / float64(len(pts))
		hi = math.Max(hi, p.LogP)
	}
	pm := viz.NewPanel("model: log p_eps (probability flow)", "", "")
	viz.AddHeat(pm, g, hi-10, hi)
	viz.Square(pm, l)
	// A histogram of 20000 fresh data points on the same lattice.
	h := &viz.Grid{NX: grid, NY: grid, X0: -l, Y0: -l, DX: g.DX, DY: g.DY, Values: make([]float64, grid*grid)}
	const n = 20000
	d := r.ref.draw(n, 0x5eed0003)
	for i := 0; i < n; i++ {
		c := int(math.Round((d[2*i] + l) / g.DX))
		rr := int(math.Round((d[2*i+1] + l) / g.DY))
		if c >= 0 && c < grid && rr >= 0 && rr < grid {
			h.Values[rr*grid+c]++
		}
	}
	hmax := 0.0
	for i, v := range h.Values {
		h.Values[i] = math.Log(v + 1e-300)
		hmax = math.Max(hmax, h.Values[i])
	}
	pd := viz.NewPanel("data: log of a 2-D histogram", "", "")
	viz.AddHeat(pd, h, hmax-5, hmax)
	viz.Square(pd, l)
	res.Image = viz.Render([][]*plot.Plot{{pd, pm}}, 600, 300)
	return res
}

// compile-time check: the trained score is what the likelihood needs.
var _ likelihood.VJPScore = (*score.Net)(nil)

// String lists the options.
func (o TrainOptions) String() string {
	return strings.TrimSpace(fmt.Sprintf("sde=%s noise=%g scale=%g steps=%d batch=%d lr=%g hidden=%v fourier-scale=%g ema=%g seed=%d",
		o.SDE, o.Noise, o.Scale, o.Steps, o.Batch, o.LR, o.Hidden, o.FourierScale, o.EMA, o.Seed))
}
