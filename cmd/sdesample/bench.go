package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/likelihood"
	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

func init() {
	register("bench", "time the standard problems (sampler by SDE by problem, and likelihoods) as one table", runBench)
}

// refTiming is a timing of score_sde_pytorch (one thread, this project's
// machine) on a standard run: n = 10000 samples (1000 for D = 784), N = 1000
// steps; likelihood on 1000 points, RK45 at rtol = atol = 1e-5.
type refTiming struct {
	seconds float64
	nfe     float64 // 0: not reported
	err     float64 // likelihood: mean |log p error| in nats; 0: not reported
}

// references are the reference timings the issue tracker gives.
var references = map[string]refTiming{
	"sample gmm8 vp em":       {seconds: 3.9},
	"sample gmm8 vp pc":       {seconds: 7.6},
	"sample gmm8 vp ode":      {seconds: 0.35, nfe: 86},
	"sample gauss:64 vp em":   {seconds: 6.8},
	"likelihood gauss:784 vp": {seconds: 1.8, nfe: 50, err: 0.052},
	"likelihood gmm8 vp":      {seconds: 0.17, nfe: 86, err: 0.78},
}

// benchSize is the size of the runs of one bench.
type benchSize struct {
	n, n784, steps, points int
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	quick := fs.Bool("quick", false, "small runs (seconds) instead of the standard ones (minutes); the reference time is then scaled to the run's size")
	problems := fs.String("problems", "gmm8,gauss:64,gauss:784", "comma-separated problems")
	sdes := fs.String("sdes", "vp,subvp,ve", "comma-separated SDEs")
	samplers := fs.String("samplers", strings.Join(sample.Names(), ","), "comma-separated samplers, each with its default options and -steps (a sampler that does not support an SDE, as ddpm and ddim with subvp and ve, is skipped there)")
	doLik := fs.Bool("likelihood", true, "also time likelihoods")
	workers := fs.Int("workers", 0, "goroutines (0: one per core)")
	repeat := fs.Int("repeat", 1, "run each case this many times and report the fastest (the output is identical every time); for machines shared with other work")
	seed := fs.Uint64("seed", 1, "seed of every run")
	if err := parse(fs, args); err != nil {
		return err
	}
	nw, err := resolveWorkers(*workers)
	if err != nil {
		return err
	}
	if *repeat < 1 {
		return usagef("-repeat = %d; use 1 or more runs per case", *repeat)
	}
	size := benchSize{n: 10000, n784: 1000, steps: 1000, points: 1000}
	if *quick {
		size = benchSize{n: 200, n784: 20, steps: 100, points: 50}
	}
	probs := splitList(*problems)
	sdeNames := splitList(*sdes)
	sams := splitList(*samplers)
	for _, p := range probs {
		if _, err := score.Problem(p, sde.NewVP()); err != nil {
			return usagef("-problems: %q is not a built-in problem; use gmm8 or gauss:D", p)
		}
	}
	for _, s := range sdeNames {
		if _, err := resolveSDE(s); err != nil {
			return usagef("-sdes: unknown SDE %q; use one of %s", s, strings.Join(sde.Kinds(), ", "))
		}
	}
	for _, s := range sams {
		if _, err := sample.New(s); err != nil {
			return usagef("-samplers: unknown sampler %q; use %s", s, strings.Join(sample.Names(), ", "))
		}
	}
	mode := "standard runs: n = 10000 samples (1000 for D = 784), N = 1000 steps; likelihood on 1000 points of p_0"
	if *quick {
		mode = fmt.Sprintf("-quick runs: n = %d samples (%d for D = 784), N = %d steps; likelihood on %d points of p_0; reference times scaled to these sizes", size.n, size.n784, size.steps, size.points)
	}
	fmt.Fprintf(stdout, "sdesample bench: %d cores (GOMAXPROCS %d), %d workers, %s %s/%s, seed %d\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), nw, runtime.Version(), runtime.GOOS, runtime.GOARCH, *seed)
	fmt.Fprintf(stdout, "%s\n", mode)
	if *repeat > 1 {
		fmt.Fprintf(stdout, "time s: the fastest of %d runs of each case\n", *repeat)
	}
	fmt.Fprintf(stdout, "ref: score_sde_pytorch, one thread, this project's machine; ratio = ours/ref (below 1: faster)\n")
	fmt.Fprintf(stdout, "metrics against the exact p_0: mean err = |sample mean - mean| (max over coordinates, in units of the exact std), var ratio = sample var / exact var (mean over coordinates), weight err = total-variation distance of the mode weights (mixtures)\n\n")

	// Fixed-width rows, printed as each run ends (a table writer would hold
	// them until the end of a run of many minutes).
	const sampleRow = "%-10s %-6s %-8s %6s %9s %10s %8s %9s %10s %8s %6s\n"
	fmt.Fprintf(stdout, sampleRow, "problem", "sde", "sampler", "n", "time s", "NFE/sample", "mean err", "var ratio", "weight err", "ref s", "ratio")
	for _, pn := range probs {
		for _, sn := range sdeNames {
			s, _ := resolveSDE(sn)
			m, _ := score.Problem(pn, s)
			n := size.n
			if m.Dim() >= 784 {
				n = size.n784
			}
			for _, sa := range sams {
				if err := ctx.Err(); err != nil {
					return err
				}
				r, err := benchSample(ctx, m, s, sa, n, size.steps, *seed, nw, *repeat)
				var unsupported *sample.UnsupportedSDEError
				if errors.As(err, &unsupported) {
					continue
				}
				if err != nil {
					return fmt.Errorf("%s %s %s: %v", pn, sn, sa, err)
				}
				ref := refCell(fmt.Sprintf("sample %s %s %s", pn, sn, sa), r.seconds, scaleSample(sa, n, size, m.Dim()))
				fmt.Fprintf(stdout, sampleRow, pn, sn, sa, strconv.Itoa(n), fmt.Sprintf("%.3g", r.seconds), fmt.Sprintf("%.1f", r.nfe),
					fmt.Sprintf("%.3f", r.meanErr), fmt.Sprintf("%.3f", r.varRatio), weightCell(r), ref[0], ref[1])
			}
		}
	}
	if !*doLik {
		return nil
	}
	fmt.Fprintf(stdout, "\nlikelihood: dopri5 rtol = atol = 1e-5, eps = 1e-5, one Rademacher probe per point; err = mean |log p_eps estimate - exact log p_eps| in nats\n")
	const likRow = "%-10s %-6s %6s %9s %9s %9s %8s %7s %7s %6s\n"
	fmt.Fprintf(stdout, likRow, "problem", "sde", "points", "time s", "NFE/point", "err nats", "ref s", "ref NFE", "ref err", "ratio")
	for _, pn := range probs {
		for _, sn := range sdeNames {
			if err := ctx.Err(); err != nil {
				return err
			}
			s, _ := resolveSDE(sn)
			m, _ := score.Problem(pn, s)
			r, err := benchLikelihood(ctx, m, s, size.points, *seed, nw, *repeat)
			if err != nil {
				return fmt.Errorf("likelihood %s %s: %v", pn, sn, err)
			}
			key := fmt.Sprintf("likelihood %s %s", pn, sn)
			ref := refCell(key, r.seconds, float64(size.points)/1000)
			rn, re := "-", "-"
			if rt, ok := references[key]; ok {
				rn, re = fmt.Sprintf("%.0f", rt.nfe), fmt.Sprintf("%.3g", rt.err)
			}
			fmt.Fprintf(stdout, likRow, pn, sn, strconv.Itoa(size.points), fmt.Sprintf("%.3g", r.seconds), fmt.Sprintf("%.1f", r.nfe),
				fmt.Sprintf("%.3g", r.err), ref[0], rn, re, ref[1])
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// scaleSample is the factor by which a reference time of a standard run
// scales to this run's size: rows, times steps for fixed-step samplers.
func scaleSample(sampler string, n int, size benchSize, d int) float64 {
	std := 10000.0
	if d >= 784 {
		std = 1000
	}
	f := float64(n) / std
	if sampler != "ode" {
		f *= float64(size.steps) / 1000
	}
	return f
}

// refCell returns the reference time (scaled) and the ratio, or dashes.
func refCell(key string, seconds, scale float64) [2]string {
	rt, ok := references[key]
	if !ok {
		return [2]string{"-", "-"}
	}
	ref := rt.seconds * scale
	return [2]string{fmt.Sprintf("%.3g", ref), fmt.Sprintf("%.2f", seconds/ref)}
}

func weightCell(r benchResult) string {
	if math.IsNaN(r.weightErr) {
		return "-"
	}
	return fmt.Sprintf("%.3f", r.weightErr)
}

type benchResult struct {
	seconds, nfe                 float64
	meanErr, varRatio, weightErr float64
	err                          float64
}

// benchSample draws n samples in blocks and measures them against p_0; with
// repeat > 1 it draws them repeat times and keeps the fastest.
func benchSample(ctx context.Context, m *score.Mixture, s sde.SDE, sampler string, n, steps int, seed uint64, workers, repeat int) (benchResult, error) {
	best, err := benchSampleOnce(ctx, m, s, sampler, n, steps, seed, workers)
	for k := 1; k < repeat && err == nil; k++ {
		var r benchResult
		r, err = benchSampleOnce(ctx, m, s, sampler, n, steps, seed, workers)
		if err == nil && (r.meanErr != best.meanErr || r.nfe != best.nfe) {
			return best, fmt.Errorf("run %d differs from run 1 (mean err %v vs %v): samples must not depend on the run", k+1, r.meanErr, best.meanErr)
		}
		best.seconds = min(best.seconds, r.seconds)
	}
	return best, err
}

func benchSampleOnce(ctx context.Context, m *score.Mixture, s sde.SDE, sampler string, n, steps int, seed uint64, workers int) (benchResult, error) {
	opts := map[string]string{"steps": strconv.Itoa(steps)}
	smp, err := sample.New(sampler)
	if err != nil {
		return benchResult{}, err
	}
	for _, o := range sample.Options(smp) {
		if o.Name == "ddpm-steps" { // a DDPM schedule of at least the standard 1000 levels
			opts[o.Name] = strconv.Itoa(max(steps, 1000))
		}
	}
	if err := sample.Configure(smp, opts); err != nil {
		return benchResult{}, err
	}
	cfg := sample.Config{SDE: s, Score: m, Sampler: smp, Workers: workers}
	if err := cfg.Validate(); err != nil {
		return benchResult{}, err
	}
	d := m.Dim()
	const block = 4096
	x := make([]float64, min(block, n)*d)
	rows := make([]int, 0, block)
	sum := make([]float64, d)
	sq := make([]float64, d)
	counts := make([]float64, m.K())
	var nfe int64
	var elapsed time.Duration
	for k0 := 0; k0 < n; k0 += block {
		k1 := min(k0+block, n)
		rows = rows[:0]
		for r := k0; r < k1; r++ {
			rows = append(rows, r)
		}
		b := x[:(k1-k0)*d]
		t0 := time.Now()
		st, err := sample.Generate(ctx, cfg, seed, rows, b, nil)
		elapsed += time.Since(t0)
		if err != nil {
			return benchResult{}, err
		}
		for _, v := range st.NFE {
			nfe += int64(v)
		}
		for i := 0; i < k1-k0; i++ {
			row := b[i*d : (i+1)*d]
			for j, v := range row {
				sum[j] += v
				sq[j] += v * v
			}
			if m.K() > 1 {
				counts[m.Component(row, 0)]++
			}
		}
	}
	mean, variance := m.DataMoments()
	_, s0 := s.Marginal(0) // VE's p_0 carries N(0, sigma_min^2)
	r := benchResult{seconds: elapsed.Seconds(), nfe: float64(nfe) / float64(n), weightErr: math.NaN()}
	for j := 0; j < d; j++ {
		mu := sum[j] / float64(n)
		v := sq[j]/float64(n) - mu*mu
		ev := variance[j] + s0*s0
		r.meanErr = math.Max(r.meanErr, math.Abs(mu-mean[j])/math.Sqrt(ev))
		r.varRatio += v / ev / float64(d)
	}
	if m.K() > 1 {
		r.weightErr = 0
		for k, c := range counts {
			r.weightErr += 0.5 * math.Abs(c/float64(n)-m.Weights[k])
		}
	}
	return r, nil
}

// benchLikelihood evaluates log p_eps at points drawn from p_0 (rng.Data
// streams, as sdesample data draws them) and compares with the exact value.
func benchLikelihood(ctx context.Context, m *score.Mixture, s sde.SDE, points int, seed uint64, workers, repeat int) (benchResult, error) {
	d := m.Dim()
	x := make([]float64, points*d)
	rows := make([]int, points)
	for i := range rows {
		rows[i] = i
		m.SampleData(x[i*d:(i+1)*d], rng.New(seed, i, rng.Data))
	}
	cfg := likelihood.Config{SDE: s, Score: m, Probe: "rademacher", Probes: 1, Eps: 1e-5, RTol: 1e-5, ATol: 1e-5, Solver: "dopri5", Workers: workers}
	var pts []likelihood.Point
	var el time.Duration
	for k := 0; k < repeat; k++ {
		t0 := time.Now()
		p, err := likelihood.Evaluate(ctx, cfg, seed, x, rows, nil)
		e := time.Since(t0)
		if err != nil {
			return benchResult{}, err
		}
		if k == 0 || e < el {
			el = e
		}
		pts = p
	}
	r := benchResult{seconds: el.Seconds()}
	for i, p := range pts {
		r.nfe += float64(p.NFE) / float64(points)
		r.err += math.Abs(p.LogP-m.LogProb(x[i*d:(i+1)*d], 1e-5)) / float64(points)
	}
	return r, nil
}
