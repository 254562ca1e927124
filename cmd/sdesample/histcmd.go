package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/likelihood"
)

func init() {
	register("hist-bpd", "bits/dim of a per-pixel 256-level histogram fitted on one image set and scored on another (a baseline)", runHistBPD)
}

func runHistBPD(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := newFlags("hist-bpd", stderr)
	fit := fs.String("fit", "fashion-mnist", "image set the histograms are counted on")
	eval := fs.String("eval", "fashion-mnist-test", "image set the bits/dim are measured on")
	alpha := fs.Float64("alpha", 1, "add-alpha smoothing of the counts (1: Laplace), > 0")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sdesample hist-bpd -fit fashion-mnist -eval fashion-mnist-test [-alpha 1]")
		fmt.Fprintln(fs.Output(), "Each pixel independent with its own 256-level histogram: an exact code length in bits/dim to compare a model's dequantised bits/dim with.")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if !(*alpha > 0) || math.IsInf(*alpha, 0) {
		return usagef("-alpha %g: the smoothing must be finite and > 0 (1: Laplace)", *alpha)
	}
	var sets [2]*data.Images
	for i, s := range [2]struct{ flag, name string }{{"fit", *fit}, {"eval", *eval}} {
		m, ok, err := data.ImageSet(s.name)
		if !ok {
			return usagef("-%s %q: give an image set with integer pixels: fashion-mnist or fashion-mnist-test", s.flag, s.name)
		}
		if err != nil {
			return dataErr(s.flag, err)
		}
		sets[i] = m
	}
	if sets[0].Dim() != sets[1].Dim() {
		return fmt.Errorf("-fit %s has %d pixels per image but -eval %s has %d", *fit, sets[0].Dim(), *eval, sets[1].Dim())
	}
	h := likelihood.FitPixelHistogram(sets[0].Pix, sets[0].Dim(), data.ImageLevels, *alpha)
	mean, se := h.BitsPerDim(sets[1].Pix)
	fmt.Fprintf(stdout, "per-pixel histogram (256 levels, alpha %g) fitted on the %d images of %s: %.4f +- %.4f bits/dim on the %d images of %s (exact discrete code length; %.1fs)\n",
		*alpha, sets[0].N, *fit, mean, se, sets[1].N, *eval, time.Since(start).Seconds())
	return nil
}
