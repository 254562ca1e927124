package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/latent"
	"github.com/sdekit/sdekit/model"
)

func init() {
	register("autoencoder", "train a KL-regularised autoencoder, the first stage of latent diffusion (train -latent)", runAutoencoder)
}

func runAutoencoder(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("autoencoder", stderr)
	dataSpec := fs.String("data", "digits-train", "training data: digits, digits-train, a built-in source, or a .csv or .npy file")
	testSpec := fs.String("test", "", "held-out data to report the reconstruction error on (digits-test for digits-train; empty: none)")
	k := fs.Int("latent", 8, "latent dimension K")
	hidden := fs.String("hidden", "128", "encoder hidden widths, comma-separated (the decoder uses them reversed)")
	kl := fs.Float64("kl", model.DefaultKLWeight, "KL weight beta of ||x - D(u)||^2 + beta KL(q(u|x) || N(0, I))")
	steps := fs.Int("steps", 5000, "optimiser steps")
	batch := fs.Int("batch", latent.DefaultBatch, "rows per step")
	lr := fs.Float64("lr", latent.DefaultLR, "Adam learning rate")
	seed := fs.Uint64("seed", 1, "seed of the initial weights and of every batch")
	out := fs.String("o", "", "checkpoint to write, .ckpt (required)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sdesample autoencoder -data D -latent K [flags] -o ae.ckpt")
		fmt.Fprintln(fs.Output(), "Trains an MLP autoencoder with a Gaussian encoder (squared error + beta KL), stores the latent scale factor 1/std; then: sdesample train -latent ae.ckpt -data D ...")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkCkptOut(*out); err != nil {
		return err
	}
	widths, err := parseWidths(*hidden)
	if err != nil {
		return err
	}
	if err := checkOptimiser(*steps, *batch, *lr, "1e-3"); err != nil {
		return err
	}
	switch {
	case *k < 1:
		return usagef("-latent %d: give the latent dimension, >= 1", *k)
	case !(*kl > 0) || math.IsInf(*kl, 0):
		return usagef("-kl %g: the KL weight must be finite and > 0 (typical 1e-3)", *kl)
	}
	inputs := []ioPath{{"data", *dataSpec}}
	if *testSpec != "" {
		inputs = append(inputs, ioPath{"test", *testSpec})
	}
	if err := checkPaths([]ioPath{{"o", *out}}, inputs); err != nil {
		return err
	}
	src, err := data.Open(*dataSpec)
	if err != nil {
		return dataErr("data", err)
	}
	var test data.Source
	if *testSpec != "" {
		if test, err = data.Open(*testSpec); err != nil {
			return dataErr("test", err)
		}
		if test.Dim() != src.Dim() {
			return usagef("-test %s: %d values per row, but -data %s has %d", *testSpec, test.Dim(), *dataSpec, src.Dim())
		}
	}
	if *k >= src.Dim() {
		fmt.Fprintf(stderr, "sdesample autoencoder: warning: -latent %d is not smaller than the data's %d values; nothing is compressed\n", *k, src.Dim())
	}
	ae, err := model.NewAutoencoder(model.AutoencoderConfig{Dim: src.Dim(), Latent: *k, Hidden: widths, KLWeight: *kl,
		Shape: imageShape(*dataSpec), Seed: *seed})
	if err != nil {
		return usagef("%s", strings.TrimPrefix(err.Error(), "model: autoencoder config: "))
	}
	bar := newProgress(stderr, *steps, "autoencoder", "steps")
	var recEMA, klEMA float64
	start := time.Now()
	opt, err := latent.Train(ctx, latent.TrainConfig{Data: src, Model: ae, Steps: *steps, Batch: *batch, LR: *lr, Seed: *seed},
		func(p latent.TrainProgress) error {
			if p.ScaleFactorSet {
				return nil
			}
			if p.Step == 1 {
				recEMA, klEMA = p.Rec, p.KL
			}
			recEMA, klEMA = 0.99*recEMA+0.01*p.Rec, 0.99*klEMA+0.01*p.KL
			if p.Step%10 == 0 {
				bar.describe(fmt.Sprintf("squared error %.4g, KL %.4g", recEMA, klEMA))
			}
			bar.set(p.Step)
			return nil
		})
	bar.done()
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, context.Canceled) {
			return context.Canceled
		}
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "latent: "))
	}
	trainTime := time.Since(start)
	ck, err := model.NewCheckpoint(ae, *steps, opt, nil)
	if err != nil {
		return err
	}
	ck.Meta = map[string]string{"autoencoder.data": *dataSpec}
	if err := model.SaveCheckpoint(*out, ck); err != nil {
		return fmt.Errorf("-o %s: %s", *out, strings.TrimPrefix(err.Error(), "model: checkpoint "+*out+": "))
	}
	fmt.Fprintf(stdout, "trained an autoencoder %d -> %d -> %d (hidden %s, KL weight %g) on %s: %d steps of %d rows, lr %g, seed %d, %.1fs\n",
		src.Dim(), *k, src.Dim(), *hidden, *kl, *dataSpec, *steps, *batch, *lr, *seed, trainTime.Seconds())
	fmt.Fprintf(stdout, "  last 100 steps (running mean): squared error %.4g per row, KL %.4g nats per row\n", recEMA, klEMA)
	fmt.Fprintf(stdout, "  latent scale factor s = 1/std of %d training latents = %.6g\n", latent.DefaultScaleRows, ae.ScaleFactor())
	for _, ev := range []struct {
		name string
		s    data.Source
	}{{*dataSpec, src}, {*testSpec, test}} {
		if ev.s == nil {
			continue
		}
		mse, n, all := reconstructionError(ae, ev.s, *seed)
		how := "all"
		if !all {
			how = "draws of"
		}
		fmt.Fprintf(stdout, "  reconstruction D(mu(x)) of %s %d rows of %s: mean squared error %.4g per value (RMSE %.4g)\n", how, n, ev.name, mse, math.Sqrt(mse))
	}
	fmt.Fprintf(stdout, "wrote %s; train a latent score model with: sdesample train -latent %s -data %s -o ldm.ckpt\n", *out, *out, *dataSpec)
	return nil
}

// reconstructionError returns the mean over values of (D(mu(x)) - x)^2 on
// every row of a source that has a table (the digits and their splits, a
// file), or on 4096 draws of one that does not (all = false).
func reconstructionError(ae *model.Autoencoder, src data.Source, seed uint64) (mse float64, n int, all bool) {
	var x []float64
	if t, ok := src.(interface{ Table() (*data.Table, error) }); ok {
		if tab, err := t.Table(); err == nil {
			x, n, all = tab.X, tab.N, true
		}
	}
	if x == nil {
		n = 4096
		x = make([]float64, n*src.Dim())
		src.Sample(x, n, rand.New(rand.NewPCG(seed, 0x7265636f6e))) // "recon"
	}
	mu := make([]float64, n*ae.Latent())
	xh := make([]float64, len(x))
	ae.EncodeTo(mu, nil, x)
	ae.DecodeTo(xh, mu)
	for i, v := range x {
		mse += (xh[i] - v) * (xh[i] - v)
	}
	return mse / float64(len(x)), n, all
}

// imageShape returns the (C, H, W) image shape of a built-in image source,
// or nil.
func imageShape(spec string) []int {
	switch spec {
	case "digits", "digits-train", "digits-test":
		return []int{1, 8, 8}
	}
	return nil
}
