package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/latent"
	"github.com/sdekit/sdekit/likelihood"
	"github.com/sdekit/sdekit/viz"
)

func init() {
	register("likelihood", "log-likelihood and bits/dim of data through the probability-flow ODE", runLikelihood)
}

// likelihoodColumns is the header of the per-point results.
var likelihoodColumns = []string{"row", "logp", "bpd", "nfe", "accepted", "rejected", "logp_stderr", "bpd_stderr"}

func runLikelihood(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := newFlags("likelihood", stderr)
	sdeName := fs.String("sde", "vp", "forward SDE: vp, subvp or ve")
	scoreSpec := fs.String("score", "gmm8", "score: gmm8, gauss:D, mixture:FILE.json or MODEL.ckpt")
	dataPath := fs.String("data", "", "data points, .csv or .npy, one point per row (required; sdesample data makes some)")
	probe := fs.String("probe", "rademacher", "divergence: rademacher or gaussian (Hutchinson, one probe vector per point for the whole solve) or exact")
	probes := fs.Int("probes", 1, "Hutchinson probes per point (their spread gives logp_stderr)")
	eps := fs.Float64("eps", 1e-5, "data end of the integration: the density computed is p_eps, not p_0")
	rtol := fs.Float64("rtol", 1e-5, "relative tolerance")
	maxSteps := fs.Int("max-steps", likelihood.DefaultMaxSteps, "step attempts a point may take (a point that needs more stops the run, named: a diverged model runs on otherwise)")
	atol := fs.Float64("atol", 1e-5, "absolute tolerance")
	solver := fs.String("solver", "dopri5", "ode solver: dopri5, tsit5, bosh3, dop853")
	controller := fs.String("controller", "i", "step-size controller: i (scipy's and Hairer's integral controller), pi3040, pi4020 or dopri5 (see sdesample sample -h)")
	joint := fs.Bool("joint", false, "one step size for all points of a block, as the reference's flattened solve (results then depend on -block and -shard)")
	dataRange := fs.String("data-range", "", "declared range lo,hi of quantised data (for example -1,1): bpd then gets the offset bits - log2(hi - lo); empty: bpd of the continuous density, no offset")
	bits := fs.Int("bits", 8, "bit depth of the quantised data (with -data-range)")
	dequant := fs.String("dequant", "none", "with -data-range: none, or uniform (add U[0,1) noise within each bin: a bound on the code length)")
	repeats := fs.Int("dequant-repeats", 1, "dequantisation draws per point")
	seed := fs.Uint64("seed", 1, "random seed for probes and dequantisation; point i uses its own streams")
	shardSpec := fs.String("shard", "", "compute only points i, i+n, ...: i/n, or auto/n from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID")
	workers := fs.Int("workers", 0, "goroutines (0: one per core); results do not depend on it")
	block := fs.Int("block", 4096, "points computed and written at a time")
	out := fs.String("o", "", "per-point results, .csv (required)")
	recPath := fs.String("record", "", "write a JSON run record here")
	plotPath := fs.String("plot", "", "draw the histogram of per-point bits/dim and of evaluations per point to a .png or .svg")
	plotSize := fs.String("plot-size", "800x600", "picture size in pixels, WIDTHxHEIGHT")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := resolveSDE(*sdeName)
	if err != nil {
		return err
	}
	if *dataPath == "" {
		return usagef("-data is required: a .csv or .npy file of points (make one with sdesample data)")
	}
	switch *probe {
	case "rademacher", "gaussian", "exact":
	default:
		return usagef("-probe %q: unknown probe; use rademacher, gaussian or exact", *probe)
	}
	if *probes < 1 {
		return usagef("-probes %d: use at least 1", *probes)
	}
	if err := checkEps(*eps, s); err != nil {
		return err
	}
	if err := checkTol("rtol", *rtol); err != nil {
		return err
	}
	if err := checkTol("atol", *atol); err != nil {
		return err
	}
	if err := checkSolver(*solver); err != nil {
		return err
	}
	pid, err := resolveController(*controller)
	if err != nil {
		return err
	}
	var spec *likelihood.DataSpec
	if *dataRange != "" {
		lo, hi, ok := parseRange(*dataRange)
		if !ok {
			return usagef("-data-range %q: want lo,hi (for example -1,1 or 0,1)", *dataRange)
		}
		spec = &likelihood.DataSpec{Lo: lo, Hi: hi, Bits: *bits, Dequant: *dequant, Repeats: *repeats}
		if err := spec.Validate(); err != nil {
			return usagef("%s", strings.TrimPrefix(err.Error(), "likelihood: "))
		}
	} else if *dequant != "none" || *repeats != 1 {
		return usagef("-dequant and -dequant-repeats need -data-range (the bins are defined by the range and -bits)")
	}
	if err := checkBlock(*block); err != nil {
		return err
	}
	if *maxSteps < 1 {
		return usagef("-max-steps %d: give the step attempts a point may take, >= 1", *maxSteps)
	}
	nw, err := resolveWorkers(*workers)
	if err != nil {
		return err
	}
	sh, err := parseShard(*shardSpec)
	if err != nil {
		return err
	}
	pw, ph, err := checkCSVOutputs(*out, "likelihood results are", *plotPath, *plotSize, *recPath)
	if err != nil {
		return err
	}
	prob, err := resolveScore(*scoreSpec, s)
	if err != nil {
		return err
	}
	vjp, ok := prob.Score.(likelihood.VJPScore)
	if !ok {
		return fmt.Errorf("-score %s: this score has no vector-Jacobian product, which the likelihood needs", *scoreSpec)
	}
	tab, err := openRows(*dataPath)
	if err != nil {
		return dataErr("data", err)
	}
	defer tab.Close()
	ae := prob.Latent
	switch {
	case ae != nil && spec != nil:
		return usagef("-data-range: -score %s is a latent model, whose log p is a density of latents, not of quantised data; leave -data-range, -bits and -dequant out", *scoreSpec)
	case ae != nil && tab.D != ae.Dim():
		return fmt.Errorf("-data %s: %d columns, but the autoencoder of the latent model -score %s encodes rows of %d; give points of the data the autoencoder was trained on", *dataPath, tab.D, *scoreSpec, ae.Dim())
	case ae == nil && tab.D != vjp.Dim():
		return fmt.Errorf("-data %s: %d columns, but -score %s has dimension %d; give points of the model's dimension", *dataPath, tab.D, *scoreSpec, vjp.Dim())
	}
	if err := sh.check(tab.N, "points"); err != nil {
		return err
	}
	cfg := likelihood.Config{SDE: s, Score: vjp, Probe: *probe, Probes: *probes, Eps: *eps, RTol: *rtol, ATol: *atol,
		Solver: *solver, Controller: pid, Joint: *joint, Workers: nw, MaxSteps: *maxSteps}
	d, xd := vjp.Dim(), tab.D // a latent model reads rows of D values and evaluates K
	rows := sh.rows(tab.N)
	if err := checkPaths([]ioPath{{"o", *out}, {"record", *recPath}, {"plot", *plotPath}},
		append(scoreInputs(prob), ioPath{"data", *dataPath})); err != nil {
		return err
	}

	of, err := createOut("o", *out)
	if err != nil {
		return err
	}
	defer of.Abort()
	cw := data.NewCSVWriterNames(of, likelihoodColumns)

	bar := newProgress(stderr, rows, "likelihood", "points")
	bs := min(*block, rows)
	xb := make([]float64, bs*xd)
	zb := make([]float64, bs*d)
	skipRow := make([]float64, xd)
	idx := make([]int, 0, bs)
	line := make([]float64, 0, bs*len(likelihoodColumns))
	var acc likelihoodAcc
	acc.exact = prob.Mix != nil && spec == nil
	var plotBPD, plotNFE []float64
	progress := func(done int) error {
		bar.set(done)
		return ctx.Err()
	}
	for k0 := 0; k0 < rows; k0 += bs {
		k1 := min(k0+bs, rows)
		idx = rowsOf(idx, sh, k0, k1)
		x := xb[:(k1-k0)*xd]
		for k, r := range idx {
			if err := tab.skip(r, skipRow); err != nil {
				return dataErr("data", err)
			}
			if err := tab.read(x[k*xd : (k+1)*xd]); err != nil {
				return dataErr("data", err)
			}
		}
		if ae != nil {
			// The latent point of x: its scaled posterior mean z = s mu(x).
			z := zb[:(k1-k0)*d]
			latent.EncodeMeanTo(ae, z, x)
			x = z
		}
		line = line[:0]
		if spec == nil {
			pts, err := likelihood.Evaluate(ctx, cfg, *seed, x, idx, progress)
			if err != nil {
				return likelihoodErr(ctx, *dataPath, err)
			}
			for k, p := range pts {
				bpd := -p.LogP / (float64(d) * math.Ln2)
				se := p.LogPStdErr
				line = append(line, float64(idx[k]), p.LogP, bpd, float64(p.NFE), float64(p.Accepted), float64(p.Rejected), se, se/(float64(d)*math.Ln2))
				exact := math.NaN()
				if acc.exact {
					exact = prob.Mix.LogProb(x[k*d:(k+1)*d], *eps)
				}
				acc.add(p.LogP, bpd, exact, p.NFE, p.Accepted, p.Rejected)
				acc.nfe.add(idx[k], p.NFE)
			}
		} else {
			pts, err := likelihood.EvaluateBPD(ctx, cfg, *spec, *seed, x, idx, progress)
			if err != nil {
				return likelihoodErr(ctx, *dataPath, err)
			}
			for k, p := range pts {
				line = append(line, float64(idx[k]), p.LogP, p.BPD, float64(p.NFE), float64(p.Accepted), float64(p.Rejected), p.LogPStdErr, p.BPDStdErr)
				acc.add(p.LogP, p.BPD, math.NaN(), p.NFE, p.Accepted, p.Rejected)
				acc.nfe.add(idx[k], p.NFE)
			}
		}
		if err := cw.WriteRows(line); err != nil {
			return fmt.Errorf("-o %s: write failed: %v", *out, err)
		}
		if *plotPath != "" {
			for i := 0; i < len(line) && len(plotBPD) < 1_000_000; i += len(likelihoodColumns) {
				plotBPD = append(plotBPD, line[i+2])
				plotNFE = append(plotNFE, line[i+3])
			}
		}
		bar.block(k1 - k0)
	}
	bar.done()
	if err := cw.Flush(); err != nil {
		return fmt.Errorf("-o %s: write failed: %v", *out, err)
	}
	if err := of.Commit(); err != nil {
		return err
	}
	summary := acc.summary()
	convention := "bpd = -log p_eps(x)/(D ln 2): the continuous density in bits per dimension, no offset and no dequantisation (declare -data-range for quantised data)"
	if spec != nil {
		convention = spec.String()
	}
	probeText := fmt.Sprintf("%s, %d probe(s) per point drawn once for the whole solve", *probe, *probes)
	if *probe == "exact" {
		probeText = "exact trace of the score Jacobian"
	}
	fmt.Fprintf(stdout, "log p_eps of %d points of %s (shard %s) under -sde %s -score %s, eps = %g: the density of the probability-flow model at time eps, not of p_0\n",
		rows, *dataPath, sh, s.Name(), *scoreSpec, *eps)
	fmt.Fprintf(stdout, "  mean log p    %.6g +- %s nats (standard error over points; it includes the probe noise)\n", acc.lp.mean, seText(acc.lp.stderr()))
	fmt.Fprintf(stdout, "  mean bits/dim %.6g +- %s\n", acc.bpd.mean, seText(acc.bpd.stderr()))
	if ae != nil {
		convention = fmt.Sprintf("latent model: each point x is encoded to z = s mu(x) in R^%d (s = %.6g); logp is log p_Z(z), bpd = -logp/(%d ln 2) per latent dimension. Not log p(x): see docs/latent.md", d, ae.ScaleFactor(), d)
	}
	fmt.Fprintf(stdout, "  convention    %s\n", convention)
	if ae != nil {
		fmt.Fprintf(stdout, "  unscaled      mean log p_U(mu(x)) = log p_Z(z) + K log s = %.6g nats (the density of the encoder's mean)\n", acc.lp.mean+float64(d)*math.Log(ae.ScaleFactor()))
	}
	if acc.exact {
		fmt.Fprintf(stdout, "  exact log p_eps of the oracle: mean error %.3g +- %s nats, mean |error| %.3g nats\n", acc.err.mean, seText(acc.err.stderr()), acc.aerr.mean)
	}
	fmt.Fprintf(stdout, "  divergence    %s; solver %s rtol %g atol %g\n", probeText, *solver, *rtol, *atol)
	fmt.Fprintf(stdout, "  evaluations   %.1f per point (min %d, max %d); steps accepted %.1f, rejected %.1f per point\n",
		acc.stats.NFEMean, acc.stats.NFEMin, acc.stats.NFEMax, float64(acc.stats.Accepted)/float64(max(1, acc.stats.RowsCounted)), float64(acc.stats.Rejected)/float64(max(1, acc.stats.RowsCounted)))
	for _, l := range acc.nfe.lines() {
		fmt.Fprintln(stdout, l)
	}
	fmt.Fprintf(stdout, "wrote %s in %.2fs\n", *out, time.Since(start).Seconds())
	if *plotPath != "" {
		fig := viz.NewFigure(1, 2).SetSize(pw, ph)
		fig.Plots[0][0] = viz.Histogram(plotBPD, viz.HistogramOptions{Title: "bits/dim per point", XLabel: "bpd"})
		fig.Plots[0][1] = viz.Histogram(plotNFE, viz.HistogramOptions{Title: "evaluations per point", XLabel: "NFE", Integer: true})
		if err := fig.Save(*plotPath); err != nil {
			return fmt.Errorf("-plot %s: %s", *plotPath, trimViz(err))
		}
		fmt.Fprintf(stdout, "drew %s\n", *plotPath)
	}
	if *recPath != "" {
		rec := newRecord("likelihood", args, flagValues(fs), *seed, sh, nw)
		rec.addInput("data", *dataPath)
		for _, in := range prob.Inputs {
			rec.addInput("score", in)
		}
		st := acc.stats
		rec.Stats = &st
		rec.Summary = summary
		rec.finish(start, *out, of.Sum(), rows, d)
		if err := writeRecord(*recPath, rec); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "recorded the run in %s\n", *recPath)
	}
	return nil
}

// parseRange reads "lo,hi".
func parseRange(s string) (lo, hi float64, ok bool) {
	a, b, found := strings.Cut(s, ",")
	if !found {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	hi, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	return lo, hi, err1 == nil && err2 == nil
}

// likelihoodErr names the data file in a run-time failure.
func likelihoodErr(ctx context.Context, path string, err error) error {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return context.Canceled
	}
	return fmt.Errorf("-data %s: %s", path, strings.TrimPrefix(err.Error(), "likelihood: "))
}

// likelihoodAcc accumulates means and standard errors over points with
// Welford's update (bounded memory).
type likelihoodAcc struct {
	exact              bool
	n                  int
	lp, bpd, err, aerr welford
	stats              RunStats
	nfe                nfeReport
}

// seText prints a standard error, which one point does not have.
func seText(se float64) string {
	if math.IsNaN(se) || math.IsInf(se, 0) {
		return "n/a (one point)"
	}
	return fmt.Sprintf("%.2g", se)
}

func (a *likelihoodAcc) add(logp, bpd, exact float64, nfe, acc, rej int) {
	a.n++
	a.lp.add(logp)
	a.bpd.add(bpd)
	if a.exact {
		a.err.add(logp - exact)
		a.aerr.add(math.Abs(logp - exact))
	}
	a.stats.add(nfe, acc+rej, acc, rej)
}

func (a *likelihoodAcc) summary() map[string]float64 {
	m := map[string]float64{
		"points":      float64(a.n),
		"logp_mean":   a.lp.mean,
		"logp_stderr": a.lp.stderr(),
		"bpd_mean":    a.bpd.mean,
		"bpd_stderr":  a.bpd.stderr(),
		"nfe_mean":    a.stats.NFEMean,
	}
	if a.exact {
		m["error_mean"] = a.err.mean
		m["error_stderr"] = a.err.stderr()
		m["abs_error_mean"] = a.aerr.mean
	}
	for k, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(m, k) // JSON has no NaN
		}
	}
	return m
}

// welford is a running mean and variance.
type welford struct {
	n        int
	mean, m2 float64
}

func (w *welford) add(v float64) {
	w.n++
	d := v - w.mean
	w.mean += d / float64(w.n)
	w.m2 += d * (v - w.mean)
}

func (w *welford) stderr() float64 {
	if w.n < 2 {
		return math.NaN()
	}
	return math.Sqrt(w.m2 / float64(w.n-1) / float64(w.n))
}
