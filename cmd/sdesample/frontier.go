package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"

	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/study"
	"github.com/sdekit/sdekit/viz"
)

func init() {
	register("frontier", "work-precision study: each sampler's true error against its score evaluations on an exact problem", runFrontier)
}

func runFrontier(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("frontier", stderr)
	sdeName := fs.String("sde", "vp", "forward SDE (see sdesample sample -h)")
	scoreSpec := fs.String("score", "gmm8", "exact problem: gmm8, gauss:D (for example gauss:64) or mixture:FILE.json")
	eps := fs.Float64("eps", 0, "last time of the samplers' grids (0: the SDE's default)")
	samplers := fs.String("samplers", "ode solver=euler;ode solver=heun", "sampler specs separated by ';', each a sampler name and its options as name=value (for example 'dpmpp-2m;unipc order=3;ode solver=heun'); the step counts come from -steps-list")
	stepsList := fs.String("steps-list", "5,10,20,40", "comma-separated step counts; a sampler that chooses its own steps runs once")
	n := fs.Int("n", 2000, "rows 0..n-1 of -seed for every run")
	seed := fs.Uint64("seed", 1, "random seed of the samplers")
	workers := fs.Int("workers", 0, "goroutines (0: one per core); results do not depend on it")
	out := fs.String("o", "", "also write the table to this .csv file")
	plotPath := fs.String("plot", "", "draw the work-precision picture (path error, and for gauss:D the KL, against score evaluations per sample) to a .png or .svg")
	plotSize := fs.String("plot-size", "800x600", "picture size in pixels, WIDTHxHEIGHT")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *n < 2 {
		return usagef("-n %d: the sample metrics need at least 2 rows", *n)
	}
	steps, err := parseStepsList(*stepsList)
	if err != nil {
		return err
	}
	if *out != "" {
		if ext, err := tableFormat("o", *out); err != nil {
			return err
		} else if ext != ".csv" {
			return usagef("-o %s: the frontier table is written as .csv", *out)
		}
	}
	if err := checkPlotPath("plot", *plotPath); err != nil {
		return err
	}
	pw, ph, err := parseSize("plot-size", *plotSize)
	if err != nil {
		return err
	}
	s, err := resolveSDE(*sdeName)
	if err != nil {
		return err
	}
	if *eps != 0 {
		if err := checkEps(*eps, s); err != nil {
			return err
		}
	}
	nw, err := resolveWorkers(*workers)
	if err != nil {
		return err
	}
	prob, err := resolveScore(*scoreSpec, s)
	if err != nil {
		return err
	}
	if prob.Mix == nil {
		return usagef("-score %s: the frontier measures samplers against the truth, which needs an exact score: gmm8, gauss:D or mixture:FILE.json", *scoreSpec)
	}
	specs, err := study.ParseSpecs(*samplers)
	if err != nil {
		return usagef("-samplers: %s", strings.TrimPrefix(err.Error(), "study: "))
	}
	// The outputs are checked (their folders exist, a file can be created
	// there, none is an input) before any work.
	if err := checkPaths([]ioPath{{"o", *out}, {"plot", *plotPath}}, scoreInputs(prob)); err != nil {
		return err
	}
	var of *outFile
	if *out != "" {
		if of, err = createOut("o", *out); err != nil {
			return err
		}
		defer of.Abort()
	}
	if *plotPath != "" {
		pf, err := createOut("plot", *plotPath)
		if err != nil {
			return err
		}
		pf.Abort()
	}

	var bar *progress // made when the number of runs is known
	made := false
	fc := study.FrontierConfig{SDE: s, Mixture: prob.Mix, Eps: *eps, Specs: specs, Steps: steps, Rows: *n, Seed: *seed, Workers: nw,
		Progress: func(done, total int) error {
			if !made {
				bar, made = newProgress(stderr, total, "frontier", "runs"), true
			}
			bar.set(done)
			return ctx.Err()
		}}
	res, err := study.Frontier(ctx, fc)
	bar.done()
	if err != nil {
		if u := specUsage(err); u != nil {
			return u
		}
		return sampleErr(ctx, err)
	}
	one := prob.Mix.K() == 1
	writeFrontier(stdout, res, prob.Spec, s.Name(), *n, *seed, one)
	if of != nil {
		if err := writeFrontierCSV(of, res, one); err != nil {
			return fmt.Errorf("-o %s: write failed: %v", *out, err)
		}
		if err := of.Commit(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", *out)
	}
	if *plotPath != "" {
		if err := frontierFigure(res, prob.Spec, s.Name(), one).SetSize(pw, ph).Save(*plotPath); err != nil {
			return fmt.Errorf("-plot %s: %s", *plotPath, trimViz(err))
		}
		fmt.Fprintf(stdout, "drew %s\n", *plotPath)
	}
	return nil
}

// specUsage is optionUsage for a sampler spec of -samplers: the spec (and
// step count) first, then the option as name=value, in the spec's own
// language; nil when err is not a spec's error.
func specUsage(err error) error {
	var se *study.SpecError
	if !errors.As(err, &se) {
		return nil
	}
	where := fmt.Sprintf("-samplers: %q", se.Spec)
	if se.Steps > 0 {
		where += fmt.Sprintf(" at %d steps", se.Steps)
	}
	var oe *sample.OptionError
	if errors.As(se.Err, &oe) {
		if oe.Value != "" {
			return usagef("%s: %s=%s: %v", where, oe.Option, oe.Value, oe.Err)
		}
		return usagef("%s: option %s: %v", where, oe.Option, oe.Err)
	}
	return usagef("%s: %s", where, strings.TrimPrefix(se.Err.Error(), "sample: "))
}

// frontierColumns are the CSV columns (kl only for one Gaussian).
var frontierColumns = []string{"sampler", "schedule", "steps", "nfe", "stochastic", "path_err", "mean_err", "var_ratio", "weight_err", "logp_gap", "logp_gap_se", "sw2"}

// num formats a value for the screen: "-" for NaN.
func num(v float64, format string) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// writeFrontier prints the table with a header that says what each column
// measures.
func writeFrontier(w io.Writer, res study.FrontierResult, problem, sdeName string, n int, seed uint64, one bool) {
	fmt.Fprintf(w, "frontier: %s under %s, eps %g, rows 0..%d of seed %d\n", problem, sdeName, res.Eps, n-1, seed)
	fmt.Fprintf(w, "path_err: RMS over rows and coordinates of the sample minus its own prior draw pushed through the %s; for a stochastic sampler (noise yes) it is no convergence measure\n", res.Reference)
	fmt.Fprintf(w, "against the exact p_0: mean_err |sample mean - mean|; var_ratio sample variance / exact (mean over coordinates); ")
	if !one {
		fmt.Fprintf(w, "weight_err TV distance of the mixture weights (mean responsibilities); ")
	}
	fmt.Fprintf(w, "logp_gap mean log p_0 - E log p_0; sw2 sliced W2 to an exact sample (two exact samples of this size: %.3g)\n", res.SW2Floor)
	if one {
		fmt.Fprintf(w, "kl: exact KL(output law || p_0) in nats, from the affine map of the noise draws (- for a sampler that is not affine); the exact flow of the prior from T to eps has kl %.3g\n", res.FlowKL)
	}
	wide := len("sampler")
	for _, r := range res.Rows {
		wide = max(wide, len(r.Spec))
	}
	head := fmt.Sprintf("%-*s %-9s %5s %8s %5s %10s %10s %9s", wide, "sampler", "schedule", "steps", "nfe", "noise", "path_err", "mean_err", "var_ratio")
	if !one {
		head += fmt.Sprintf(" %10s", "weight_err")
	}
	head += fmt.Sprintf(" %9s %9s", "logp_gap", "sw2")
	if one {
		head += fmt.Sprintf(" %10s", "kl")
	}
	fmt.Fprintln(w, head)
	for _, r := range res.Rows {
		steps, noise := "-", "no"
		if r.Steps > 0 {
			steps = strconv.Itoa(r.Steps)
		}
		if r.Stochastic {
			noise = "yes"
		}
		line := fmt.Sprintf("%-*s %-9s %5s %8.1f %5s %10.3e %10.3e %9.4f", wide, r.Spec, r.Schedule, steps, r.NFE, noise, r.PathErr, r.MeanErr, r.VarRatio)
		if !one {
			line += fmt.Sprintf(" %10s", num(r.WeightErr, "%.4f"))
		}
		line += fmt.Sprintf(" %9s %9s", num(r.LogPGap, "%.4f"), num(r.SW2, "%.4f"))
		if one {
			line += fmt.Sprintf(" %10s", num(r.KL, "%.3e"))
		}
		fmt.Fprintln(w, line)
	}
}

// writeFrontierCSV writes the table as CSV: numbers with %.17g, an empty
// cell for what does not apply (steps of a sampler that chose its own, the
// weight error of one component, the KL of a sampler that is not affine).
func writeFrontierCSV(w io.Writer, res study.FrontierResult, one bool) error {
	cw := csv.NewWriter(w)
	cols := frontierColumns
	if one {
		cols = append(cols[:len(cols):len(cols)], "kl")
	}
	if err := cw.Write(cols); err != nil {
		return err
	}
	g := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 17, 64)
	}
	for _, r := range res.Rows {
		steps := ""
		if r.Steps > 0 {
			steps = strconv.Itoa(r.Steps)
		}
		rec := []string{r.Spec, r.Schedule, steps, g(r.NFE), strconv.FormatBool(r.Stochastic), g(r.PathErr), g(r.MeanErr), g(r.VarRatio),
			g(r.WeightErr), g(r.LogPGap), g(r.LogPGapSE), g(r.SW2)}
		if one {
			rec = append(rec, g(r.KL))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// frontierFigure is the work-precision picture: path error against score
// evaluations per sample on log axes, one line per sampler spec (dashed for
// a stochastic sampler, whose path error is no convergence measure); for one
// Gaussian a second panel with the exact KL.
func frontierFigure(res study.FrontierResult, problem, sdeName string, one bool) *viz.Figure {
	type series struct {
		name             string
		stochastic       bool
		nfe, pathErr, kl []float64
	}
	var all []*series
	at := map[string]*series{}
	for _, r := range res.Rows {
		s, ok := at[r.Spec]
		if !ok {
			s = &series{name: r.Spec, stochastic: r.Stochastic}
			at[r.Spec] = s
			all = append(all, s)
		}
		s.nfe = append(s.nfe, r.NFE)
		s.pathErr = append(s.pathErr, r.PathErr)
		s.kl = append(s.kl, r.KL)
	}
	panel := func(title, ylabel string, y func(*series) []float64) *plot.Plot {
		p := viz.NewPanel(fmt.Sprintf("%s %s: %s", problem, sdeName, title), "score evaluations per sample", ylabel)
		viz.LogX(p)
		viz.LogY(p)
		for i, s := range all {
			viz.AddLine(p, s.name, s.nfe, y(s), i, s.stochastic)
			viz.AddPoints(p, "", s.nfe, y(s), i, 2.5)
		}
		// Room around the points (a sampler that chose its own steps is
		// one point, often in a corner) and the legend at the bottom left, where lines
		// falling to the right seldom go.
		p.X.Min, p.X.Max = p.X.Min/1.25, p.X.Max*1.25
		p.Y.Min, p.Y.Max = p.Y.Min/2, p.Y.Max*2
		p.Legend.Left = true
		return p
	}
	pe := panel("path error", "RMS path error per coordinate", func(s *series) []float64 { return s.pathErr })
	if !one {
		return viz.Single(pe)
	}
	fig := viz.NewFigure(1, 2)
	fig.Plots[0][0] = pe
	fig.Plots[0][1] = panel("exact KL to p_0", "KL (nats)", func(s *series) []float64 { return s.kl })
	return fig
}
