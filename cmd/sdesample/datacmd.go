package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/sde"
)

func init() {
	register("data", "write draws from a built-in problem's exact p_0 or a toy data source to CSV or NPY", runData)
}

// rowSampler draws one row with its own generator.
type rowSampler struct {
	dim  int
	draw func(dst []float64, st *rng.Stream)
}

// resolveSource reads -from: a built-in problem (gmm8, gauss:D,
// mixture:FILE.json: exact p_0 of the mixture) or a data source (swissroll,
// checkerboard, moons, digits, fashion-mnist, fashion-mnist-test: images
// drawn with replacement).
func resolveSource(spec string) (*rowSampler, []string, error) {
	if spec == "gmm8" || strings.HasPrefix(spec, "gauss:") || strings.HasPrefix(spec, "mixture:") {
		p, err := resolveScore(spec, sde.NewVP()) // p_0 does not depend on the SDE
		if err != nil {
			return nil, nil, err
		}
		m := p.Mix
		return &rowSampler{dim: m.Dim(), draw: func(dst []float64, st *rng.Stream) { m.SampleData(dst, st.R) }}, p.Inputs, nil
	}
	src, err := data.ByName(spec)
	if err != nil && slices.Contains(data.Names(), spec) {
		return nil, nil, dataErr("from", err) // a known source whose files are missing
	}
	if err != nil {
		return nil, nil, usagef("-from %q: unknown source; use gmm8, gauss:D, mixture:FILE.json, %s", spec, strings.Join(data.Names()[1:], ", "))
	}
	return &rowSampler{dim: src.Dim(), draw: func(dst []float64, st *rng.Stream) { src.Sample(dst, 1, st.R) }}, nil, nil
}

func runData(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := newFlags("data", stderr)
	from := fs.String("from", "gmm8", "what to draw from: gmm8, gauss:D or mixture:FILE.json (the exact p_0), or swissroll, checkerboard, moons, digits, fashion-mnist, fashion-mnist-test (images drawn with replacement)")
	n := fs.Int("n", 1000, "number of rows")
	seed := fs.Uint64("seed", 1, "random seed; row i uses its own stream (rng.Data)")
	shardSpec := fs.String("shard", "", "compute only rows i, i+n, ... : i/n, or auto/n to read i from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID")
	block := fs.Int("block", 4096, "rows per block written")
	out := fs.String("o", "", "output file, .csv or .npy (required)")
	recPath := fs.String("record", "", "write a JSON run record here")
	plotPath := fs.String("plot", "", "image sources (digits, fashion-mnist, fashion-mnist-test): draw the first 64 rows as a .png grid")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *n < 1 {
		return usagef("-n %d: the number of rows must be >= 1", *n)
	}
	if err := checkBlock(*block); err != nil {
		return err
	}
	sh, err := parseShard(*shardSpec)
	if err != nil {
		return err
	}
	if err := sh.check(*n, "rows"); err != nil {
		return err
	}
	ext, err := tableFormat("o", *out)
	if err != nil {
		return err
	}
	if err := checkRecordPath(*recPath); err != nil {
		return err
	}
	src, inputs, err := resolveSource(*from)
	if err != nil {
		return err
	}
	var shape [3]int
	if *plotPath != "" {
		c, h, w, ok := data.ShapeOf(*from)
		if !ok {
			return usagef("-plot draws image rows; -from %s is not an image source (use digits, fashion-mnist or fashion-mnist-test)", *from)
		}
		if !strings.EqualFold(extOf(*plotPath), ".png") {
			return usagef("-plot %s: image rows are drawn as a PNG grid; use a name ending in .png", *plotPath)
		}
		shape = [3]int{c, h, w}
	}
	rows := sh.rows(*n)
	d := src.dim
	var ins []ioPath
	for _, f := range inputs {
		ins = append(ins, ioPath{"from", f})
	}
	if err := checkPaths([]ioPath{{"o", *out}, {"record", *recPath}, {"plot", *plotPath}}, ins); err != nil {
		return err
	}
	of, err := createOut("o", *out)
	if err != nil {
		return err
	}
	defer of.Abort()
	tw, finish := newTableWriter(ext, of, rows, d)
	buf := make([]float64, min(*block, rows)*d)
	st := rng.NewStream(*seed, 0, rng.Data)
	var grid []float64
	for k0 := 0; k0 < rows; k0 += *block {
		if err := ctx.Err(); err != nil {
			return err
		}
		k1 := min(k0+*block, rows)
		b := buf[:(k1-k0)*d]
		for k := k0; k < k1; k++ {
			st.Reset(*seed, sh.row(k), rng.Data)
			src.draw(b[(k-k0)*d:(k-k0+1)*d], st)
		}
		if err := tw.WriteRows(b); err != nil {
			return fmt.Errorf("-o %s: write failed: %v", *out, err)
		}
		if *plotPath != "" && len(grid) < gridImages*d {
			grid = append(grid, b[:min(len(b), gridImages*d-len(grid))]...)
		}
	}
	if err := finish(); err != nil {
		return fmt.Errorf("-o %s: write failed: %v", *out, err)
	}
	if err := of.Commit(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d rows of %d values drawn from %s (seed %d, shard %s) to %s\n", rows, d, *from, *seed, sh, *out)
	if *plotPath != "" {
		if err := saveImageGrid(*plotPath, grid, shape); err != nil {
			return fmt.Errorf("-plot %s: %s", *plotPath, trimViz(err))
		}
		fmt.Fprintf(stdout, "drew %s (the first %d rows)\n", *plotPath, len(grid)/d)
	}
	if *recPath != "" {
		rec := newRecord("data", args, flagValues(fs), *seed, sh, 1)
		for _, in := range inputs {
			rec.addInput("from", in)
		}
		rec.finish(start, *out, of.Sum(), rows, d)
		return writeRecord(*recPath, rec)
	}
	return nil
}
