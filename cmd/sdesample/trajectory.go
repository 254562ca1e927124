package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/viz"
)

func init() {
	register("trajectory", "record sample paths from the prior to the data at evenly spaced times, and draw them", runTrajectory)
}

// plotPaths caps the paths -plot draws (and keeps in memory): the first ones.
const plotPaths = 200

func runTrajectory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := newFlags("trajectory", stderr)
	sf := samplerFlags{guide: &guideFlags{}}
	sf.register(fs)
	n := fs.Int("n", 16, "number of paths (rows 0..n-1 of the seed: the same samples as sdesample sample)")
	points := fs.Int("points", 101, "number of times recorded per path, from T to eps")
	coord := fs.Int("coord", 0, "coordinate drawn by -plot")
	out := fs.String("o", "", "paths as CSV: columns row,t,x0,...; one line per row and time (required)")
	recPath := fs.String("record", "", "write a JSON run record here")
	plotPath := fs.String("plot", "", "draw coordinate -coord of every path against t to a .png or .svg")
	plotSize := fs.String("plot-size", "800x600", "picture size in pixels, WIDTHxHEIGHT")
	block := fs.Int("block", 1024, "paths computed, written and forgotten at a time (memory grows with -block x -points, not with -n)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *n < 1 {
		return usagef("-n %d: the number of paths must be >= 1", *n)
	}
	if *points < 2 {
		return usagef("-points %d: record at least 2 times (T and eps)", *points)
	}
	pw, ph, err := checkCSVOutputs(*out, "paths (columns row,t,x0,...) are", *plotPath, *plotSize, *recPath)
	if err != nil {
		return err
	}
	cfg, prob, err := sf.config()
	if err != nil {
		return err
	}
	d := cfg.Dim
	if *coord < 0 || *coord >= d {
		return usagef("-coord %d: the score has coordinates 0 to %d", *coord, d-1)
	}
	if err := checkPaths([]ioPath{{"o", *out}, {"record", *recPath}, {"plot", *plotPath}}, scoreInputs(prob)); err != nil {
		return err
	}
	if err := checkBlock(*block); err != nil {
		return err
	}
	of, err := createOut("o", *out)
	if err != nil {
		return err
	}
	defer of.Abort()
	names := []string{"row", "t"}
	for j := 0; j < d; j++ {
		names = append(names, fmt.Sprintf("x%d", j))
	}
	cw := data.NewCSVWriterNames(of, names)
	line := make([]float64, 2+d)
	// Paths are computed, written and forgotten a block of rows at a time,
	// so memory does not grow with -n (a lockstep sampler's rows then
	// share a step size within their block, as in sample); the picture
	// keeps the first plotPaths paths.
	var times []float64
	var kept [][]float64
	var stats RunStats
	bar := newProgress(stderr, *n, "trajectory", "paths")
	idx := make([]int, 0, *block)
	for k0 := 0; k0 < *n; k0 += *block {
		if err := ctx.Err(); err != nil {
			return err
		}
		k1 := min(k0+*block, *n)
		idx = idx[:0]
		for r := k0; r < k1; r++ {
			idx = append(idx, r)
		}
		ts, states, st, err := sample.TrajectoryStats(ctx, cfg, sf.seed, idx, *points)
		if err != nil {
			return sampleErr(ctx, err)
		}
		times = ts
		for i := range idx {
			stats.add(at(st.NFE, i), at(st.Steps, i), at(st.Accepted, i), at(st.Rejected, i))
			for k, t := range times {
				line[0], line[1] = float64(idx[i]), t
				copy(line[2:], states[k][i*d:(i+1)*d])
				if err := cw.WriteRows(line); err != nil {
					return fmt.Errorf("-o %s: write failed: %v", *out, err)
				}
			}
		}
		if *plotPath != "" && k0 < plotPaths {
			m := min(k1, plotPaths) - k0
			if kept == nil {
				kept = make([][]float64, len(times))
			}
			for k := range times {
				kept[k] = append(kept[k], states[k][:m*d]...)
			}
		}
		bar.block(k1 - k0)
	}
	bar.done()
	if err := cw.Flush(); err != nil {
		return fmt.Errorf("-o %s: write failed: %v", *out, err)
	}
	if err := ctx.Err(); err != nil {
		return err // interrupted after the last block: nothing is committed
	}
	if err := of.Commit(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d paths of %d times (%s, sde %s, score %s, seed %d) to %s\n", *n, len(times), cfg.Sampler.Name(), cfg.SDE.Name(), prob.Spec, sf.seed, *out)
	stats.print(stdout)
	if *plotPath != "" {
		title := fmt.Sprintf("%s %s %s: x%d of %d paths", prob.Spec, cfg.SDE.Name(), cfg.Sampler.Name(), *coord, min(*n, plotPaths))
		if err := viz.Single(viz.Paths(times, kept, d, *coord, title)).SetSize(pw, ph).Save(*plotPath); err != nil {
			return fmt.Errorf("-plot %s: %s", *plotPath, trimViz(err))
		}
		fmt.Fprintf(stdout, "drew %s\n", *plotPath)
	}
	if *recPath != "" {
		rec := newRecord("trajectory", args, flagValues(fs), sf.seed, shard{0, 1, "flag"}, cfg.Workers)
		addScoreInputs(rec, prob)
		rec.finish(start, *out, of.Sum(), *n**points, d)
		return writeRecord(*recPath, rec)
	}
	return nil
}
