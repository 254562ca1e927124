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

	"github.com/sdekit/sdekit/latent"
	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
	"github.com/sdekit/sdekit/viz"
)

func init() {
	register("sample", "draw samples with a reverse-time SDE, predictor-corrector, probability-flow ODE, DDPM or DDIM sampler", runSample)
}

// plotRows caps the rows kept in memory for a picture: the plot shows the
// first plotRows rows of the run (or shard), whatever -n is.
const plotRows = 20000

// samplerFlags are the flags shared by sample, trajectory and bench: the
// problem, and every option of every registered sampler (sample.Names), each
// flag once. Only the chosen sampler's options may differ from their
// defaults.
type samplerFlags struct {
	sde, score, sampler string
	noise               string
	eps                 float64
	seed                uint64
	workers             int
	opts                map[string]*optionFlag
	fs                  *flag.FlagSet
	// guide, when set before register, adds the conditional-generation
	// flags (-class, -guidance, -classifier): sample and trajectory.
	guide *guideFlags
}

// optionFlag is the flag of a sampler option: its text, kept until the
// sampler is known.
type optionFlag struct {
	value, def string
	isBool     bool
	samplers   []string
	// defs is each sampler's default, in registration order; when they
	// differ the flag's own default is "" (each sampler's own).
	defs  []string
	mixed bool
}

func (o *optionFlag) String() string {
	if o == nil || (o.isBool && o.value == "false") {
		return "" // as flag.Bool: no "(default false)" in the help
	}
	return o.value
}
func (o *optionFlag) Set(s string) error {
	if o.isBool && s == "" {
		s = "false" // what String shows for false, as a record keeps it
	}
	o.value = s
	return nil
}
func (o *optionFlag) IsBoolFlag() bool { return o.isBool }

func (f *samplerFlags) register(fs *flag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.sde, "sde", "vp", "forward SDE: "+strings.Join(sde.Kinds(), ", "))
	fs.StringVar(&f.score, "score", "gmm8", "score: gmm8, gauss:D (for example gauss:64), mixture:FILE.json or MODEL.ckpt")
	fs.StringVar(&f.sampler, "sampler", "em", "sampler: "+strings.Join(sample.Names(), ", ")+" (each takes the options below that name it)")
	fs.StringVar(&f.noise, "noise", "", "where the noise comes from: "+strings.Join(sample.NoiseNames(), " or ")+"; empty: the sampler's default (streams for em, pc, ddpm, ddim and the other first-wave samplers; the Brownian tree for the methods that refine or reject steps on one path)")
	fs.Float64Var(&f.eps, "eps", 0, "last time of the reverse grid (0: the SDE's default, 1e-3 for vp and subvp, 1e-5 for ve)")
	fs.Uint64Var(&f.seed, "seed", 1, "random seed; row i draws from its own stream, so a sample does not depend on -workers, -block or -shard")
	fs.IntVar(&f.workers, "workers", 0, "goroutines (0: one per core); results do not depend on it")
	if f.guide != nil {
		f.guide.register(fs)
	}
	f.opts = map[string]*optionFlag{}
	var order []string
	usage := map[string]string{}
	for _, name := range sample.Names() {
		s, err := sample.New(name)
		if err != nil {
			panic(err)
		}
		for _, o := range sample.Options(s) {
			of, ok := f.opts[o.Name]
			if !ok {
				of = &optionFlag{value: o.Default, def: o.Default, isBool: o.Bool}
				f.opts[o.Name] = of
				order = append(order, o.Name)
				usage[o.Name] = o.Usage
			}
			if o.Default != of.def {
				// Samplers disagree on the default (steps: 1000 for
				// em, 20 for dpmpp-2m): the flag's default is "", which
				// leaves each sampler its own, and a record replays it so.
				of.def, of.value, of.mixed = "", "", true
			}
			of.samplers = append(of.samplers, name)
			of.defs = append(of.defs, o.Default)
		}
	}
	for _, n := range order {
		of := f.opts[n]
		u := fmt.Sprintf("%s (%s)", usage[n], strings.Join(of.samplers, ", "))
		if of.mixed {
			u = fmt.Sprintf("%s (default %s)", usage[n], mixedDefaults(of))
		}
		fs.Var(of, n, u)
	}
}

// mixedDefaults lists each default of a flag whose samplers disagree:
// "1000 for em, pc; 20 for dpmpp-2m".
func mixedDefaults(of *optionFlag) string {
	var groups []string
	by := map[string][]string{}
	for i, d := range of.defs {
		if _, ok := by[d]; !ok {
			groups = append(groups, d)
		}
		by[d] = append(by[d], of.samplers[i])
	}
	parts := make([]string, len(groups))
	for i, d := range groups {
		parts[i] = d + " for " + strings.Join(by[d], ", ")
	}
	return strings.Join(parts, "; ")
}

// config checks the flags and returns the sampler configuration and the
// resolved problem. Every failure names its flag; the checks are the
// library's own (sample.Configure, Config.Validate).
func (f *samplerFlags) config() (sample.Config, *problem, error) {
	var cfg sample.Config
	s, err := resolveSDE(f.sde)
	if err != nil {
		return cfg, nil, err
	}
	smp, err := sample.New(f.sampler)
	if err != nil {
		return cfg, nil, usagef("-sampler %q: unknown sampler; use %s", f.sampler, strings.Join(sample.Names(), ", "))
	}
	have := map[string]bool{}
	for _, o := range sample.Options(smp) {
		have[o.Name] = true
	}
	values := map[string]string{}
	var setErr error
	f.fs.Visit(func(fl *flag.Flag) {
		of, ok := f.opts[fl.Name]
		if !ok || setErr != nil {
			return
		}
		switch {
		case have[fl.Name] && of.value == "" && of.mixed:
			// the sampler's own default (a record of a run that left it)
		case have[fl.Name]:
			values[fl.Name] = of.value
		case of.value != of.def && of.value != "":
			// A record replays every flag with its value: an option of
			// another sampler left at its default (or empty, as records
			// written before the samplers were types have it) is not an
			// error.
			setErr = usagef("-%s does not apply to -sampler %s; it is an option of %s", fl.Name, f.sampler, strings.Join(of.samplers, ", "))
		}
	})
	if setErr != nil {
		return cfg, nil, setErr
	}
	// A flag whose samplers disagree on its default reads "" when left
	// alone; it now shows (and a record keeps) the chosen sampler's default.
	for _, o := range sample.Options(smp) {
		if of := f.opts[o.Name]; of != nil && of.mixed && of.value == "" {
			of.value = o.Default
		}
	}
	if err := sample.Configure(smp, values); err != nil {
		return cfg, nil, optionUsage(err)
	}
	workers, err := resolveWorkers(f.workers)
	if err != nil {
		return cfg, nil, err
	}
	var p *problem
	if f.guide != nil {
		p, err = f.guide.resolve(f.score, s)
	}
	if p == nil && err == nil {
		p, err = resolveScore(f.score, s)
	}
	if err != nil {
		return cfg, nil, err
	}
	cfg = sample.Config{SDE: s, Score: p.Score, Sampler: smp, Eps: f.eps, Workers: workers}
	if f.noise != "" {
		if cfg.Noise, err = sample.NoiseByName(f.noise); err != nil {
			return cfg, nil, usagef("-noise %q: unknown; use %s (or leave it empty for the sampler's default)", f.noise, strings.Join(sample.NoiseNames(), " or "))
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, optionUsage(err)
	}
	return cfg, p, nil
}

// optionUsage turns the library's error into a usage error in flag
// language: an option's error names its flag; Config's fields map to theirs.
func optionUsage(err error) error {
	var oe *sample.OptionError
	if errors.As(err, &oe) {
		if oe.Value != "" {
			return usagef("-%s %s: %v", oe.Option, oe.Value, oe.Err)
		}
		return usagef("-%s: %v", oe.Option, oe.Err)
	}
	msg := strings.TrimPrefix(err.Error(), "sample: ")
	for _, kv := range [][2]string{{"Config.Eps = ", "-eps "}, {"Config.Eps", "-eps"}, {"Config.Workers", "-workers"}, {"Config.Score", "-score"}, {"Config.SDE", "-sde"}} {
		msg = strings.ReplaceAll(msg, kv[0], kv[1])
	}
	return usagef("%s", msg)
}

func runSample(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := newFlags("sample", stderr)
	sf := samplerFlags{guide: &guideFlags{}}
	sf.register(fs)
	n := fs.Int("n", 10000, "number of samples")
	shardSpec := fs.String("shard", "", "compute only rows i, i+n, ... of the run: i/n, or auto/n to take i from JOB_COMPLETION_INDEX (Kubernetes) or SLURM_ARRAY_TASK_ID (Slurm)")
	block := fs.Int("block", 4096, "rows computed and written at a time (memory grows with -block, not with -n)")
	out := fs.String("o", "", "output file, .csv or .npy (required)")
	recPath := fs.String("record", "", "write a JSON run record here (replay it with sdesample replay)")
	plotPath := fs.String("plot", "", "draw the samples to a .png or .svg: a scatter over the exact density's contours for 2-D, per-coordinate histograms against the exact marginals otherwise; for a network trained on images (digits, fashion-mnist) a .png grid of the first 64 samples")
	stepsPath := fs.String("plot-steps", "", "ode sampler: draw the step size against t and the evaluations per sample to a .png or .svg")
	plotSize := fs.String("plot-size", "800x600", "picture size in pixels, WIDTHxHEIGHT")
	latentsPath := fs.String("latents", "", "latent model (train -latent): also write the latent samples z, before decoding, to this .csv or .npy")
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
	if err := checkRecordPath(*recPath); err != nil {
		return err
	}
	cfg, prob, err := sf.config()
	if err != nil {
		return err
	}
	ae := prob.Latent
	var latExt string
	if *latentsPath != "" {
		if ae == nil {
			return usagef("-latents %s: -score %s is not a latent model (sdesample train -latent); leave -latents out", *latentsPath, prob.Spec)
		}
		if latExt, err = tableFormat("latents", *latentsPath); err != nil {
			return err
		}
	}
	if ae != nil && sf.guide.active() {
		return usagef("-score %s is a latent model; guidance (-class, -guidance, -classifier) works in data space only for now", prob.Spec)
	}
	if err := checkPaths([]ioPath{{"o", *out}, {"record", *recPath}, {"plot", *plotPath}, {"plot-steps", *stepsPath}, {"latents", *latentsPath}}, scoreInputs(prob)); err != nil {
		return err
	}
	if (prob.Shape[0] > 0 || aeShape(ae) != nil) && *plotPath != "" && !strings.EqualFold(extOf(*plotPath), ".png") {
		return usagef("-plot %s: the model draws images, pictured as a PNG grid; use a name ending in .png", *plotPath)
	}
	flow, isFlow := cfg.Sampler.(*sample.ProbabilityFlow)
	if *stepsPath != "" && !isFlow {
		return usagef("-plot-steps draws the adaptive steps of the probability-flow ODE; use it with -sampler ode")
	}
	d := cfg.Dim
	rows := sh.rows(*n)

	of, err := createOut("o", *out)
	if err != nil {
		return err
	}
	defer of.Abort()
	// A latent model samples z in R^K and writes x = D(z/s) in R^D.
	outD := d
	var grid []float64
	var lat *outFile
	var ltw tableWriter
	var lfinish func() error
	if ae != nil {
		outD = ae.Dim()
		if *latentsPath != "" {
			if lat, err = createOut("latents", *latentsPath); err != nil {
				return err
			}
			defer lat.Abort()
			ltw, lfinish = newTableWriter(latExt, lat, rows, d)
		}
	}
	tw, finish := newTableWriter(ext, of, rows, outD)
	shape := aeShape(ae)

	keep := newKeeper(outD, *plotPath != "" && shape == nil)
	if prob.Shape[0] > 0 && shape == nil {
		keep.images()
	}
	tally := sf.guide.newClassTally(cfg.Eps, cfg.SDE)
	var nfes []float64
	var stats RunStats
	bar := newProgress(stderr, rows, "sample", "samples")
	bs := min(*block, rows)
	buf := make([]float64, bs*d)
	dec := make([]float64, bs*outD)
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
		if ae != nil {
			if ltw != nil {
				if err := ltw.WriteRows(x); err != nil {
					return fmt.Errorf("-latents %s: write failed: %v", *latentsPath, err)
				}
			}
			xd := dec[:(k1-k0)*outD]
			latent.DecodeTo(ae, xd, x)
			x = xd
			if shape != nil && len(grid) < gridImages*outD {
				grid = append(grid, x[:min(len(x), gridImages*outD-len(grid))]...)
			}
		}
		if err := tw.WriteRows(x); err != nil {
			return fmt.Errorf("-o %s: write failed: %v", *out, err)
		}
		keep.add(x)
		tally.add(x)
		bar.block(k1 - k0)
	}
	bar.done()
	if err := finish(); err != nil {
		return fmt.Errorf("-o %s: write failed: %v", *out, err)
	}
	if lat != nil {
		if err := lfinish(); err != nil {
			return fmt.Errorf("-latents %s: write failed: %v", *latentsPath, err)
		}
		if err := lat.Commit(); err != nil {
			return err
		}
	}
	if err := of.Commit(); err != nil {
		return err
	}
	if ae != nil {
		fmt.Fprintf(stdout, "latent model: sampled z in R^%d, wrote the decoded x = D(z/s) in R^%d (scale factor s = %.6g)", d, outD, ae.ScaleFactor())
		if lat != nil {
			fmt.Fprintf(stdout, "; the latents to %s", *latentsPath)
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "wrote %d samples of dimension %d to %s (%s, %s, sde %s, score %s, seed %d, shard %s) in %.2fs\n",
		rows, outD, *out, cfg.Sampler.Name(), samplerDetail(cfg), cfg.SDE.Name(), prob.Spec, sf.seed, sh, time.Since(start).Seconds())
	stats.print(stdout)
	tally.print(stdout)
	if *plotPath != "" && shape != nil {
		n := min(len(grid)/outD, gridImages)
		if err := saveImageGrid(*plotPath, grid[:n*outD], [3]int{shape[0], shape[1], shape[2]}); err != nil {
			return fmt.Errorf("-plot %s: %s", *plotPath, trimViz(err))
		}
		fmt.Fprintf(stdout, "drew the first %d decoded samples to %s\n", len(grid)/outD, *plotPath)
	} else if *plotPath != "" && prob.Shape[0] > 0 {
		if err := saveImageGrid(*plotPath, keep.x, prob.Shape); err != nil {
			return fmt.Errorf("-plot %s: %s", *plotPath, trimViz(err))
		}
		fmt.Fprintf(stdout, "drew %s (the first %d samples)\n", *plotPath, len(keep.x)/d)
	} else if *plotPath != "" {
		if err := samplePlot(keep, prob, cfg, pw, ph).Save(*plotPath); err != nil {
			return fmt.Errorf("-plot %s: %s", *plotPath, trimViz(err))
		}
		fmt.Fprintf(stdout, "drew %s\n", *plotPath)
	}
	if *stepsPath != "" {
		fig, err := stepsFigure(ctx, cfg, flow, sf.seed, sh, rows, nfes, pw, ph)
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
		addScoreInputs(rec, prob)
		rec.Stats = &stats
		rec.finish(start, *out, of.Sum(), rows, outD)
		if err := writeRecord(*recPath, rec); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "recorded the run in %s\n", *recPath)
	}
	return nil
}

// aeShape returns the image shape (C, H, W) of an autoencoder's data, or
// nil for no autoencoder or rows that are not images.
func aeShape(ae *model.Autoencoder) []int {
	if ae == nil {
		return nil
	}
	if sh := ae.Config().Shape; len(sh) == 3 {
		return sh
	}
	return nil
}

// samplerDetail describes the sampler settings in a few words.
func samplerDetail(c sample.Config) string {
	d := ""
	if ds, ok := c.Sampler.(sample.Describer); ok {
		d = ds.Describe() + ", "
	}
	return fmt.Sprintf("%seps %g", d, c.Eps)
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
	// limit, when > 0, is the number of whole rows kept (image grids).
	limit int
}

// gridImages is the number of samples an image grid shows (8 x 8).
const gridImages = 64

// saveImageGrid draws image rows (values on [-1, 1], the scaling of the
// image data sets) as a PNG grid, 8 per row, each pixel enlarged to about
// 64 picture pixels per image side.
func saveImageGrid(path string, x []float64, shape [3]int) error {
	c, h, w := shape[0], shape[1], shape[2]
	img := viz.ImageGrid(x, c, h, w, viz.ImageGridOptions{Cols: 8, Scale: max(1, 64/max(h, w)), Pad: 2, Lo: -1, Hi: 1})
	return viz.SaveImage(path, img)
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

// images makes k keep whole rows, the first gridImages of them, for an
// image grid (which draws whole rows: dims are the marginal plot's).
func (k *keeper) images() { k.limit = gridImages }

func (k *keeper) add(x []float64) {
	if !k.on {
		return
	}
	if k.limit > 0 {
		n := min(len(x)/k.d, k.limit-len(k.x)/k.d)
		k.x = append(k.x, x[:max(n, 0)*k.d]...)
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
	title := fmt.Sprintf("%s %s %s", p.Spec, cfg.SDE.Name(), cfg.Sampler.Name())
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
