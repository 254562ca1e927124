package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/likelihood"
	"github.com/sdekit/sdekit/sde"
)

func init() {
	register("bound", "the DDPM variational bound (L_T + sum L_t-1 + L_0) of data in bits/dim", runBound)
}

// boundColumns is the header of the per-point results.
var boundColumns = []string{"row", "LT", "Lt", "L0", "bpd"}

func runBound(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := newFlags("bound", stderr)
	sdeName := fs.String("sde", "vp", "forward SDE whose discretisation is the DDPM chain: vp or subvp")
	scoreSpec := fs.String("score", "", "score: gauss:D, gmm8, mixture:FILE.json or MODEL.ckpt, read as an epsilon-model (required)")
	dataPath := fs.String("data", "", "data points: .npy or .csv rows, or an image set in order such as fashion-mnist-test (required)")
	n := fs.Int("n", 0, "use the first n points (0: all)")
	levels := fs.Int("levels", 1000, "number of DDPM steps N (beta_i = linspace(beta_min/N, beta_max/N, N))")
	variance := fs.String("variance", "beta", "reverse-kernel variance: beta or beta-tilde")
	decoder := fs.String("decoder", "discrete", "L_0: discrete (8-bit data on [-1, 1], a code length) or gaussian (a density)")
	seed := fs.Uint64("seed", 1, "seed of the x_t drawn for each term; point i uses its own stream")
	workers := fs.Int("workers", 0, "goroutines (0: one per core); results do not depend on it")
	block := fs.Int("block", 256, "points computed and written at a time")
	out := fs.String("o", "", "per-point terms in bits/dim, .csv (optional)")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := resolveSDE(*sdeName)
	if err != nil {
		return err
	}
	vp, ok := s.(sde.BetaGrid)
	if !ok {
		return usagef("-sde %s: the DDPM bound needs a beta schedule; use -sde vp", *sdeName)
	}
	switch {
	case *dataPath == "":
		return usagef("-data is required: a .npy or .csv file of points or an image set such as fashion-mnist-test")
	case *scoreSpec == "":
		return usagef("-score is required: a MODEL.ckpt trained with -sde vp")
	case *n < 0:
		return usagef("-n %d: use 0 (all points) or a positive number", *n)
	case *levels < 2:
		return usagef("-levels %d: the DDPM chain needs at least 2 steps (typical 1000)", *levels)
	case *variance != "beta" && *variance != "beta-tilde":
		return usagef("-variance %q: use beta or beta-tilde", *variance)
	case *decoder != "discrete" && *decoder != "gaussian":
		return usagef("-decoder %q: use discrete or gaussian", *decoder)
	}
	if err := checkBlock(*block); err != nil {
		return err
	}
	nw, err := resolveWorkers(*workers)
	if err != nil {
		return err
	}
	if *out != "" {
		if _, err := tableFormat("o", *out); err != nil {
			return err
		}
	}
	prob, err := resolveScore(*scoreSpec, s)
	if err != nil {
		return err
	}
	tab, err := openRows(*dataPath)
	if err != nil {
		return dataErr("data", err)
	}
	defer tab.Close()
	d := tab.D
	if d != prob.Score.Dim() {
		return fmt.Errorf("-data %s: %d columns, but -score %s has dimension %d; give points of the model's dimension", *dataPath, d, *scoreSpec, prob.Score.Dim())
	}
	rows := tab.N
	if *n > 0 {
		if *n > rows {
			return usagef("-n %d: -data %s has only %d points", *n, *dataPath, rows)
		}
		rows = *n
	}
	if err := checkPaths([]ioPath{{"o", *out}}, append(scoreInputs(prob), ioPath{"data", *dataPath})); err != nil {
		return err
	}
	var cw *data.CSVWriter
	var of *outFile
	if *out != "" {
		if of, err = createOut("o", *out); err != nil {
			return err
		}
		defer of.Abort()
		cw = data.NewCSVWriterNames(of, boundColumns)
	}
	cfg := likelihood.BoundConfig{VP: vp, Score: prob.Score, N: *levels, Variance: *variance, Decoder: *decoder, Workers: nw}
	bar := newProgress(stderr, rows, "bound", "points")
	x := make([]float64, min(*block, rows)*d)
	idx := make([]int, 0, *block)
	var lt, lts, l0, tot []float64
	for k0 := 0; k0 < rows; k0 += *block {
		k1 := min(k0+*block, rows)
		idx = idx[:0]
		for r := k0; r < k1; r++ {
			if err := tab.read(x[(r-k0)*d : (r-k0+1)*d]); err != nil {
				return dataErr("data", err)
			}
			idx = append(idx, r)
		}
		terms, err := likelihood.EvaluateBound(ctx, cfg, *seed, x[:(k1-k0)*d], idx, func(done int) error {
			bar.set(k0 + done)
			return ctx.Err()
		})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("-data %s: %s", *dataPath, strings.TrimPrefix(err.Error(), "likelihood: "))
		}
		line := make([]float64, 0, len(terms)*len(boundColumns))
		for q, tm := range terms {
			lt, lts, l0, tot = append(lt, tm.LT), append(lts, tm.Lt), append(l0, tm.L0), append(tot, tm.Total)
			line = append(line, float64(idx[q]), tm.LT, tm.Lt, tm.L0, tm.Total)
		}
		if cw != nil {
			if err := cw.WriteRows(line); err != nil {
				return fmt.Errorf("-o %s: write failed: %v", *out, err)
			}
		}
		bar.set(k1)
	}
	bar.done()
	if cw != nil {
		if err := cw.Flush(); err != nil {
			return fmt.Errorf("-o %s: write failed: %v", *out, err)
		}
		if err := of.Commit(); err != nil {
			return err
		}
	}
	S := likelihood.Summarise
	sum := S(tot)
	kind := "a code length of the 8-bit data (discrete decoder): compare with dequantised bits/dim"
	if *decoder == "gaussian" {
		kind = "a bound on -log of a density in the data's units (gaussian decoder), no offset"
	}
	fmt.Fprintf(stdout, "DDPM bound of %d points of %s under -score %s (%d steps, variance %s): %.4f +- %.4f bits/dim, %s\n",
		rows, *dataPath, *scoreSpec, *levels, *variance, sum.Mean, sum.StdErr, kind)
	fmt.Fprintf(stdout, "  L_T %.3g, sum L_t-1 %.4f, L_0 %.4f bits/dim (one x_t per term and point; %.1fs)\n",
		S(lt).Mean, S(lts).Mean, S(l0).Mean, time.Since(start).Seconds())
	if *out != "" {
		fmt.Fprintf(stdout, "wrote %s\n", *out)
	}
	return nil
}
