package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/sdekit/sdekit/ode"
	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/viz"
)

func init() {
	register("sample", "draw samples with a reverse-time SDE, predictor-corrector, probability-flow ODE, DDPM or DDIM sampler", runSample)
}

// plotRows caps the rows kept in memory for a picture: the plot shows the
// first plotRows rows of the run (or shard), whatever -n is.
const plotRows = 20000

// samplerFlags are the flags shared by sample, trajectory and bench.
type samplerFlags struct {
	sde, score, sampler, predictor, corrector string
	snr                                       float64
	correctorSteps, steps                     int
	eps                                       float64
	denoise, referenceDt, batchNorms, joint   bool
	solver, controller                        string
	rtol, atol, eta                           float64
	ddpmVariance                              string
	ddpmSteps                                 int
	seed                                      uint64
	workers                                   int
}

func (f *samplerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.sde, "sde", "vp", "forward SDE: vp, subvp or ve")
	fs.StringVar(&f.score, "score", "gmm8", "score: gmm8, gauss:D (for example gauss:64), mixture:FILE.json or MODEL.ckpt")
	fs.StringVar(&f.sampler, "sampler", "em", "sampler: em (reverse-SDE Euler-Maruyama), pc (predictor-corrector), ode (probability flow), ddpm, ddim (ddpm and ddim need -sde vp)")
	fs.StringVar(&f.predictor, "predictor", "", "pc predictor: em, reverse-diffusion, ancestral or none (default reverse-diffusion)")
	fs.StringVar(&f.corrector, "corrector", "", "pc corrector: ald (annealed Langevin, the default), langevin (signal-to-noise rule; per-sample norms, or the reference's batch norms with -batch-norms) or none")
	fs.Float64Var(&f.snr, "snr", 0.16, "corrector signal-to-noise ratio")
	fs.IntVar(&f.correctorSteps, "corrector-steps", 1, "corrector steps per grid point")
	fs.IntVar(&f.steps, "steps", 1000, "number of steps N (em, pc, ddpm, ddim, and ode with a fixed-step solver)")
	fs.Float64Var(&f.eps, "eps", 0, "last time of the reverse grid (0: 1e-3 for vp and subvp, 1e-5 for ve)")
	fs.BoolVar(&f.denoise, "denoise", false, "end with a noise-free denoising step (Tweedie's formula; one more score evaluation)")
	fs.BoolVar(&f.referenceDt, "reference-dt", false, "reproduce the reference code's time loop (dt = -1/N, its discretize() coefficients)")
	fs.BoolVar(&f.batchNorms, "batch-norms", false, "Langevin step from norms averaged over each block of rows, as the reference does (a sample then depends on -block and -shard)")
	fs.BoolVar(&f.joint, "ode-joint", false, "ode: one step size for all rows of a block, as the reference's flattened scipy solve (a sample then depends on -block and -shard)")
	fs.StringVar(&f.solver, "solver", "dopri5", "ode solver: dopri5, tsit5, bosh3, dop853 (adaptive) or heun, euler, rk4, midpoint (fixed, -steps steps)")
	fs.StringVar(&f.controller, "controller", "i", "ode step-size controller: i (scipy's and Hairer's integral controller), pi3040, pi4020 or dopri5 (PI controllers: at equal error 8-22% fewer evaluations on vp and subvp, even or up to 9% more on ve; see docs/cli.md)")
	fs.Float64Var(&f.rtol, "rtol", 1e-5, "ode relative tolerance")
	fs.Float64Var(&f.atol, "atol", 1e-5, "ode absolute tolerance")
	fs.Float64Var(&f.eta, "eta", 0, "ddim: 0 deterministic, 1 DDPM-like")
	fs.StringVar(&f.ddpmVariance, "ddpm-variance", "", "ddpm and the ancestral predictor: beta or beta-tilde (default beta)")
	fs.IntVar(&f.ddpmSteps, "ddpm-steps", 1000, "ddim: length of the underlying DDPM schedule")
	fs.Uint64Var(&f.seed, "seed", 1, "random seed; row i draws from its own stream, so a sample does not depend on -workers, -block or -shard")
	fs.IntVar(&f.workers, "workers", 0, "goroutines (0: one per core); results do not depend on it")
}

// config checks the flags and returns the sampler configuration and the
// resolved problem. Every failure names its flag.
func (f *samplerFlags) config() (sample.Config, *problem, error) {
	var cfg sample.Config
	s, err := resolveSDE(f.sde)
	if err != nil {
		return cfg, nil, err
	}
	switch f.sampler {
	case "em", "pc", "ode", "ddpm", "ddim":
	default:
		return cfg, nil, usagef("-sampler %q: unknown sampler; use em, pc, ode, ddpm or ddim", f.sampler)
	}
	if f.steps < 1 {
		return cfg, nil, usagef("-steps %d: the number of steps must be >= 1 (the reference uses 1000)", f.steps)
	}
	eps := f.eps
	if eps == 0 {
		if eps, err = defaultEps(s); err != nil {
			return cfg, nil, err
		}
	}
	if err := checkEps(eps, s); err != nil {
		return cfg, nil, err
	}
	var pid ode.PID
	if f.sampler == "ode" {
		if err := checkSolver(f.solver); err != nil {
			return cfg, nil, err
		}
		if pid, err = resolveController(f.controller); err != nil {
			return cfg, nil, err
		}
		if err := checkTol("rtol", f.rtol); err != nil {
			return cfg, nil, err
		}
		if err := checkTol("atol", f.atol); err != nil {
			return cfg, nil, err
		}
	}
	if !(f.snr > 0) || math.IsInf(f.snr, 0) {
		return cfg, nil, usagef("-snr %g: the signal-to-noise ratio must be finite and > 0 (the reference uses 0.16)", f.snr)
	}
	if f.correctorSteps < 1 {
		return cfg, nil, usagef("-corrector-steps %d: use >= 1, or -corrector none", f.correctorSteps)
	}
	workers, err := resolveWorkers(f.workers)
	if err != nil {
		return cfg, nil, err
	}
	p, err := resolveScore(f.score, s)
	if err != nil {
		return cfg, nil, err
	}
	cfg = sample.Config{
		SDE: s, Score: p.Score, Sampler: f.sampler, Predictor: f.predictor, Corrector: f.corrector,
		SNR: f.snr, CorrectorSteps: f.correctorSteps, Steps: f.steps, Eps: eps, Denoise: f.denoise,
		ReferenceDt: f.referenceDt, BatchNorms: f.batchNorms, ODEJoint: f.joint,
		Solver: f.solver, RTol: f.rtol, ATol: f.atol, Controller: pid, Eta: f.eta, DDPMVariance: f.ddpmVariance,
		DDPMSteps: f.ddpmSteps, Workers: workers,
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, usagef("%s", configMessage(err))
	}
	return cfg, p, nil
}

// configMessage turns a sample.Config error into flag language.
func configMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "sample: ")
	r := strings.NewReplacer(
		"Config.Sampler", "-sampler", "Config.Predictor", "-predictor", "Config.Corrector", "-corrector",
		"Config.SNR", "-snr", "Config.CorrectorSteps", "-corrector-steps", "Config.Steps", "-steps",
		"Config.Eps", "-eps", "Config.Solver", "-solver", "Config.RTol", "-rtol", "Config.ATol", "-atol",
		"Config.Eta", "-eta", "Config.DDPMVariance", "-ddpm-variance", "Config.DDPMSteps", "-ddpm-steps",
		"Config.Workers", "-workers", "Config.Score", "-score", "Config.SDE", "-sde", "Sampler ", "-sampler ",
	)
	return r.Replace(msg)
}

func runSample(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := newFlags("sample", stderr)
	var sf samplerFlags
	sf.register(fs)
	n := fs.Int("n", 10000, "number of samples")
	shardSpec := fs.String("shard", "", "compute only rows i, i+n, ... of the run: i/n, or auto/n to take i from JOB_COMPLETION_INDEX (Kubernetes) or SLURM_ARRAY_TASK_ID (Slurm)")
	block := fs.Int("block", 4096, "rows computed and written at a time (memory grows with -block, not with -n)")
	out := fs.String("o", "", "output file, .csv or .npy (required)")
	recPath := fs.String("record", "", "write a JSON run record here (replay it with sdesample replay)")
	plotPath := fs.String("plot", "", "draw the samples to a .png or .svg: a scatter over the exact density's contours for 2-D, per-coordinate histograms against the exact marginals otherwise")
	stepsPath := fs.String("plot-steps", "", "ode sampler: draw the step size against t and the evaluations per sample to a .png or .svg")
	plotSize := fs.String("plot-size", "800x600", "picture size in pixels, WIDTHxHEIGHT")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *n < 1 {
		return usagef("-n %d: the number of samples must be >= 1", *n)
	}
	if err := checkBlock(*block); err != nil {
		return err
	}
	sh, err := parseShard(*shardSpec)
	if err != nil {
		return err
	}
	if err := sh.check(*n, "samples"); err != nil {
		return err
	}
	ext, err := tableFormat("o", *out)
	if err != nil {
		return err
	}
	if err := checkPlotPath("plot", *plotPath); err != nil {
		return err
	}
	if err := checkPlotPath("plot-steps", *stepsPath); err != nil {
		return err
	}
	pw, ph, err := parseSize("plot-size", *plotSize)
	if err != nil {
		return err
	}
	if *stepsPath != "" && sf.sampler != "ode" {
		return usagef("-plot-steps draws the adaptive steps of the probability-flow ODE; use it with -sampler ode")
	}
	if err := checkRecordPath(*recPath); err != nil {
		return err
	}
	cfg, prob, err := sf.config()
	if err != nil {
		return err
	}
	d := cfg.Dim
	rows := sh.rows(*n)

	of, err := createOut("o", *out)
	if err != nil {
		return err
	}
	defer of.Abort()
	tw, finish := newTableWriter(ext, of, rows, d)

	keep := newKeeper(d, *plotPath != "")
	var nfes []float64
	var stats RunStats
	bar := newProgress(stderr, rows, "sample", "samples")
	bs := min(*block, rows)
	buf := make([]float64, bs*d)
	idx := make([]int, 0, bs)
	for k0 := 0; k0 < rows; k0 += bs {
		k1 := min(k0+bs, rows)
		idx = rowsOf(idx, sh, k0, k1)
		x := buf[:(k1-k0)*d]
		st, err := sample.Generate(ctx, cfg, sf.seed, idx, x, func(done int) error {
			bar.set(done)
			return ctx.Err()
		})
		if err != nil {
			return sampleErr(ctx, err)
		}
		for i := range idx {
			nfe, steps, acc, rej := at(st.NFE, i), at(st.Steps, i), at(st.Accepted, i), at(st.Rejected, i)
			stats.add(nfe, steps, acc, rej)
			if len(nfes) < plotRows {
				nfes = append(nfes, float64(nfe))
			}
		}
		if err := checkFinite(x, idx, d); err != nil {
			return err
		}
		if err := tw.WriteRows(x); err != nil {
			return fmt.Errorf("-o %s: write failed: %v", *out, err)
		}
		keep.add(x)
		bar.block(k1 - k0)
	}
	bar.done()
	if err := finish(); err != nil {
		return fmt.Errorf("-o %s: write failed: %v", *out, err)
	}
	if err := of.Commit(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d samples of dimension %d to %s (%s, %s, sde %s, score %s, seed %d, shard %s) in %.2fs\n",
		rows, d, *out, cfg.Sampler, samplerDetail(cfg), cfg.SDE.Name(), prob.Spec, sf.seed, sh, time.Since(start).Seconds())
	fmt.Fprintf(stdout, "score evaluations per sample: mean %.1f (min %d, max %d)", stats.NFEMean, stats.NFEMin, stats.NFEMax)
	if stats.StepsTotal > 0 && cfg.Sampler == "ode" {
		fmt.Fprintf(stdout, "; steps accepted %.1f, rejected %.1f per sample", float64(stats.Accepted)/float64(stats.RowsCounted), float64(stats.Rejected)/float64(stats.RowsCounted))
	}
	fmt.Fprintln(stdout)
	if *plotPath != "" {
		if err := samplePlot(keep, prob, cfg, pw, ph).Save(*plotPath); err != nil {
			return fmt.Errorf("-plot %s: %s", *plotPath, trimViz(err))
		}
		fmt.Fprintf(stdout, "drew %s\n", *plotPath)
	}
	if *stepsPath != "" {
		fig, err := stepsFigure(ctx, cfg, sf.seed, sh, rows, nfes, pw, ph)
		if err != nil {
			return err
		}
		if err := fig.Save(*stepsPath); err != nil {
			return fmt.Errorf("-plot-steps %s: %s", *stepsPath, trimViz(err))
		}
		fmt.Fprintf(stdout, "drew %s\n", *stepsPath)
	}
	if *recPath != "" {
		rec := newRecord("sample", args, flagValues(fs), sf.seed, sh, cfg.Workers)
		for _, in := range prob.Inputs {
			rec.addInput("score", in)
		}
		rec.Stats = &stats
		rec.finish(start, *out, of.Sum(), rows, d)
		if err := writeRecord(*recPath, rec); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "recorded the run in %s\n", *recPath)
	}
	return nil
}

// samplerDetail describes the sampler settings in a few words.
func samplerDetail(c sample.Config) string {
	switch c.Sampler {
	case "ode":
		ctl := ""
		if c.Controller != (ode.PID{}) {
			ctl = fmt.Sprintf(" (PI control KP %g KI %g)", c.Controller.KP, c.Controller.KI)
		}
		return fmt.Sprintf("solver %s rtol %g atol %g%s, eps %g", c.Solver, c.RTol, c.ATol, ctl, c.Eps)
	case "pc":
		return fmt.Sprintf("predictor %s, corrector %s snr %g x%d, %d steps, eps %g", c.Predictor, c.Corrector, c.SNR, c.CorrectorSteps, c.Steps, c.Eps)
	case "ddim":
		return fmt.Sprintf("%d of %d DDPM steps, eta %g", c.Steps, c.DDPMSteps, c.Eta)
	}
	return fmt.Sprintf("%d steps, eps %g", c.Steps, c.Eps)
}

// at returns s[i], or 0 when the sampler did not report that statistic.
func at(s []int, i int) int {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// sampleErr passes cancellation through and names the package otherwise.
func sampleErr(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return context.Canceled
	}
	return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "sample: "))
}

// checkFinite refuses to write a sample that blew up.
func checkFinite(x []float64, rows []int, d int) error {
	for k, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("sample row %d coordinate %d is %v: the sampler diverged; use more -steps, a smaller -snr or tighter tolerances", rows[k/d], k%d, v)
		}
	}
	return nil
}

func trimViz(err error) string {
	msg := strings.TrimPrefix(err.Error(), "viz: ")
	if i := strings.Index(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// keeper holds what a picture needs with bounded memory: for D <= 2 the
// first plotRows rows, otherwise the shown coordinates of those rows.
type keeper struct {
	on   bool
	d    int
	dims []int
	x    []float64 // rows of len(dims) values
}

func newKeeper(d int, on bool) *keeper {
	k := &keeper{on: on, d: d}
	if d <= 2 {
		k.dims = viz.SpreadDims(d, d)
	} else {
		k.dims = viz.SpreadDims(d, 12)
	}
	return k
}

func (k *keeper) add(x []float64) {
	if !k.on {
		return
	}
	for i := 0; i+k.d <= len(x) && len(k.x) < plotRows*len(k.dims); i += k.d {
		for _, j := range k.dims {
			k.x = append(k.x, x[i+j])
		}
	}
}

// samplePlot draws kept samples against the exact density when there is one.
func samplePlot(k *keeper, p *problem, cfg sample.Config, w, h int) *viz.Figure {
	title := fmt.Sprintf("%s %s %s", p.Spec, cfg.SDE.Name(), cfg.Sampler)
	if k.d == 2 {
		opt := viz.ScatterOptions{Title: title + ": samples"}
		if p.Mix != nil {
			m := p.Mix
			opt.Title += " over log p_0 contours"
			opt.LogDensity = func(x, y float64) float64 { return m.LogProb([]float64{x, y}, 0) }
			opt.XMin, opt.XMax, opt.YMin, opt.YMax = mixtureBox(m)
		}
		return viz.Single(viz.Scatter2D(k.x, opt)).SetSize(w, h)
	}
	opt := viz.MarginalOptions{Title: title, Coords: k.dims}
	if p.Mix != nil {
		m := p.Mix
		opt.Title += ", exact p_0 marginals in red"
		opt.Density = func(dim int, v float64) float64 { return mixtureMarginal(m, dim, v) }
	}
	return viz.Marginals(k.x, len(k.dims), opt).SetSize(w, h)
}

// mixtureBox is the square that holds every component's mean +- 4 stds.
func mixtureBox(m *score.Mixture) (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	_, s0 := m.SDE.Marginal(0)
	for k := range m.Weights {
		sx := 4 * math.Hypot(m.Stds[k][0], s0)
		sy := 4 * math.Hypot(m.Stds[k][1], s0)
		xmin, xmax = math.Min(xmin, m.Means[k][0]-sx), math.Max(xmax, m.Means[k][0]+sx)
		ymin, ymax = math.Min(ymin, m.Means[k][1]-sy), math.Max(ymax, m.Means[k][1]+sy)
	}
	return
}

// mixtureMarginal is the exact density of coordinate j under p_0 (the
// mixture pushed through the SDE to t = 0: for VE, convolved with
// N(0, sigma_min^2)).
func mixtureMarginal(m *score.Mixture, j int, v float64) float64 {
	c, s := m.SDE.Marginal(0)
	var p float64
	for k, w := range m.Weights {
		va := c*c*m.Stds[k][j]*m.Stds[k][j] + s*s
		e := v - c*m.Means[k][j]
		p += w * math.Exp(-0.5*e*e/va) / math.Sqrt(2*math.Pi*va)
	}
	return p
}
