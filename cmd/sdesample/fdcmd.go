package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/sdekit/sdekit/metrics"
)

func init() {
	register("fd", "Frechet distance between two sets of images (or points) in the features of a classifier", runFD)
}

// featureNet maps rows of Dim values to FeatureDim features at per-row
// times t (a classifier's last hidden layer; t = 0 for clean images).
type featureNet interface {
	Dim() int
	FeatureDim() int
	Features(dst, x, t []float64)
}

// pixelFeatures is the identity: the Frechet distance of the raw values.
type pixelFeatures struct{ d int }

func (p pixelFeatures) Dim() int                     { return p.d }
func (p pixelFeatures) FeatureDim() int              { return p.d }
func (p pixelFeatures) Features(dst, x, _ []float64) { copy(dst, x) }

func runFD(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := newFlags("fd", stderr)
	dataPath := fs.String("data", "", "the set to score: .npy or .csv rows (samples), or an image set such as fashion-mnist-test (required)")
	refPath := fs.String("ref", "fashion-mnist-test", "the reference set: an image set (fashion-mnist-test, fashion-mnist) or a .npy or .csv file")
	features := fs.String("features", "", "CLASSIFIER.ckpt (its last hidden layer at t = 0, from sdesample train-classifier) or pixels (the raw values; required)")
	n := fs.Int("n", 0, "use the first n rows of -data (0: all); -ref is always used whole, so the floor for n samples is -data fashion-mnist -n n")
	clip := fs.String("clip", "", "lo,hi: clamp the -data values to [lo, hi] before the features, as saving samples as 8-bit images does (for example -1,1); empty: as they are")
	block := fs.Int("block", 1000, "rows put through the classifier at a time")
	workers := fs.Int("workers", 0, "goroutines of the classifier (0: one per core); the result does not depend on it")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sdesample fd -data S.npy -ref fashion-mnist-test -features CLASSIFIER.ckpt|pixels [flags]")
		fmt.Fprintln(fs.Output(), "Fits a Gaussian to the features of each set and prints their squared Frechet distance (FID's formula).")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *dataPath == "":
		return usagef("-data is required: the samples to score (.npy or .csv) or an image set such as fashion-mnist-test")
	case *features == "":
		return usagef("-features is required: a classifier checkpoint (sdesample train-classifier) or pixels")
	case *n < 0:
		return usagef("-n %d: use 0 (all rows) or a positive number", *n)
	}
	if err := checkBlock(*block); err != nil {
		return err
	}
	clipLo, clipHi := math.Inf(-1), math.Inf(1)
	if *clip != "" {
		var ok bool
		if clipLo, clipHi, ok = parseRange(*clip); !ok || !(clipLo < clipHi) {
			return usagef("-clip %q: want lo,hi with lo < hi (for example -1,1)", *clip)
		}
	}
	nw, err := resolveWorkers(*workers)
	if err != nil {
		return err
	}
	// The classifier first: a bad checkpoint fails before any data are read.
	var net featureNet
	if *features != "pixels" {
		if net, err = loadFeatureNet(*features, nw); err != nil {
			return err
		}
	}
	sets := [2]struct{ flag, path string }{{"data", *dataPath}, {"ref", *refPath}}
	var rows [2]*rowReader
	for i, s := range sets {
		r, err := openRows(s.path)
		if err != nil {
			return dataErr(s.flag, err)
		}
		defer r.Close()
		rows[i] = r
	}
	if rows[0].D != rows[1].D {
		return fmt.Errorf("-data %s has %d values per row but -ref %s has %d; compare sets of the same shape", *dataPath, rows[0].D, *refPath, rows[1].D)
	}
	d := rows[0].D
	if net == nil {
		net = pixelFeatures{d}
	}
	if net.Dim() != d {
		return fmt.Errorf("-features %s takes rows of %d values but the sets have %d; use the classifier trained on these data", *features, net.Dim(), d)
	}
	counts := [2]int{rows[0].N, rows[1].N}
	if *n > 0 {
		if *n > counts[0] {
			return usagef("-n %d: -data %s has only %d rows", *n, *dataPath, counts[0])
		}
		counts[0] = *n
	}
	for i := range counts {
		if counts[i] < 2 {
			return fmt.Errorf("-%s %s: %d row; a covariance needs at least 2", sets[i].flag, sets[i].path, counts[i])
		}
	}
	bar := newProgress(stderr, counts[0]+counts[1], "fd", "rows")
	k := net.FeatureDim()
	x := make([]float64, *block*d)
	f := make([]float64, *block*k)
	t := make([]float64, *block)
	var mom [2]*metrics.Moments
	done := 0
	for i, r := range rows {
		mom[i] = metrics.NewMoments(k)
		for k0 := 0; k0 < counts[i]; k0 += *block {
			if err := ctx.Err(); err != nil {
				return err
			}
			m := min(*block, counts[i]-k0)
			for j := range m {
				if err := r.read(x[j*d : (j+1)*d]); err != nil {
					return dataErr(sets[i].flag, err)
				}
			}
			if i == 0 && *clip != "" {
				for j, v := range x[:m*d] {
					x[j] = min(max(v, clipLo), clipHi)
				}
			}
			net.Features(f[:m*k], x[:m*d], t[:m])
			mom[i].Add(f[:m*k])
			done += m
			bar.set(done)
		}
	}
	bar.done()
	m1, c1 := mom[0].MeanCov()
	m2, c2 := mom[1].MeanCov()
	fd := metrics.FrechetGaussian(m1, c1, m2, c2, k)
	what := fmt.Sprintf("the %d features of %s at t = 0", k, *features)
	if *features == "pixels" {
		what = fmt.Sprintf("the %d raw values (no classifier)", d)
	}
	if *clip != "" {
		what += fmt.Sprintf(", -data clamped to [%g, %g]", clipLo, clipHi)
	}
	fmt.Fprintf(stdout, "Frechet distance (squared, FID's formula) %.6g between %d rows of %s and %d rows of %s in %s (%.1fs)\n",
		fd, counts[0], *dataPath, counts[1], *refPath, what, time.Since(start).Seconds())
	return nil
}

// loadFeatureNet reads a classifier checkpoint for its features.
func loadFeatureNet(path string, workers int) (featureNet, error) {
	if !strings.EqualFold(extOf(path), ".ckpt") {
		return nil, usagef("-features %q: give a classifier checkpoint (.ckpt, from sdesample train-classifier) or pixels", path)
	}
	return classifierFeatures(path, workers)
}
