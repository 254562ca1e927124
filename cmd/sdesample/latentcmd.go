package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
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
	arch := fs.String("arch", model.ArchMLP, "autoencoder: mlp (sized by -latent and -hidden) or conv (convolutional, on image data: -latent-channels, -base, -mult, -num-res, -groups, -precision)")
	k := fs.Int("latent", 8, "mlp: latent dimension K")
	hidden := fs.String("hidden", "128", "mlp: encoder hidden widths, comma-separated (the decoder uses them reversed)")
	image := fs.String("image", "", "the image shape CxHxW of each data row, channel-major (default: the data set's own; needed for -arch conv on .npy or .csv images, and gives -plot grids to an mlp)")
	kc := fs.Int("latent-channels", model.DefaultConvAELatentChannels, "conv: channels of the latent image, which is H/f x W/f with f = 2^(number of -mult entries - 1)")
	base := fs.Int("base", model.DefaultConvAEBase, "conv: channels at the first resolution")
	mult := fs.String("mult", "1,2,2", "conv: channel multiplier per resolution, comma-separated; each resolution but the last halves the image (1,2,2: f = 4)")
	numRes := fs.Int("num-res", model.DefaultConvAENumRes, "conv: residual blocks per resolution in each half")
	groups := fs.Int("groups", model.DefaultConvAEGroups, "conv: GroupNorm groups; must divide -base times each multiplier")
	precision := fs.String("precision", "", "conv: network arithmetic, float32 (default) or float64; the mlp runs in float64")
	workers := fs.Int("workers", 1, "goroutines for the network's products (0: one per core); results do not depend on it")
	kl := fs.Float64("kl", model.DefaultKLWeight, "KL weight beta of ||x - D(u)||^2 + beta KL(q(u|x) || N(0, I))")
	steps := fs.Int("steps", 5000, "optimiser steps")
	maxTime := fs.Duration("max-time", 0, "stop at the first step boundary after this wall time (e.g. 200s, 10m) and write a complete checkpoint of the steps done; 0: run all -steps")
	batch := fs.Int("batch", latent.DefaultBatch, "rows per step")
	lr := fs.Float64("lr", latent.DefaultLR, "Adam learning rate")
	seed := fs.Uint64("seed", 1, "seed of the initial weights and of every batch")
	out := fs.String("o", "", "checkpoint to write, .ckpt (required)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sdesample autoencoder -data D [-arch mlp -latent K | -arch conv -latent-channels KC] [flags] -o ae.ckpt")
		fmt.Fprintln(fs.Output(), "Trains an autoencoder with a Gaussian encoder (squared error + beta KL), an MLP or a convolutional one, and stores the latent scale factor 1/std; then: sdesample train -latent ae.ckpt -data D ...")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkCkptOut(*out); err != nil {
		return err
	}
	conv := false
	switch *arch {
	case model.ArchMLP:
		for _, name := range []string{"latent-channels", "base", "mult", "num-res", "groups"} {
			if flagChanged(fs, name) {
				return usagef("-%s sizes the convolutional autoencoder; add -arch conv, or leave it out for the MLP", name)
			}
		}
		if *precision != "" && *precision != model.Float64 {
			return usagef("-precision %s: the MLP autoencoder runs in float64; leave -precision out, or use -arch conv", *precision)
		}
	case model.ArchConv:
		conv = true
		for _, name := range []string{"latent", "hidden"} {
			if flagChanged(fs, name) {
				return usagef("-%s sizes the MLP autoencoder; the convolutional one's latent is -latent-channels at H/f x W/f, its size -base, -mult and -num-res", name)
			}
		}
		switch *precision {
		case "":
			*precision = model.Float32
		case model.Float32, model.Float64:
		default:
			return usagef("-precision %q: use float32 or float64", *precision)
		}
	default:
		return usagef("-arch %q: use mlp or conv", *arch)
	}
	widths, err := parseWidths(*hidden)
	if err != nil {
		return err
	}
	nw, err := resolveWorkers(*workers)
	if err != nil {
		return err
	}
	var mults []int
	if conv {
		if mults, err = parseMult(*mult); err != nil {
			return err
		}
	}
	if err := checkOptimiser(*steps, *batch, *lr, "1e-3"); err != nil {
		return err
	}
	switch {
	case *k < 1:
		return usagef("-latent %d: give the latent dimension, >= 1", *k)
	case !(*kl > 0) || math.IsInf(*kl, 0):
		return usagef("-kl %g: the KL weight must be finite and > 0 (typical 1e-3)", *kl)
	case *maxTime < 0:
		return usagef("-max-time %s: give a positive duration such as 200s, or 0 for no limit", *maxTime)
	case conv && *kc < 1:
		return usagef("-latent-channels %d: use at least 1 (default %d)", *kc, model.DefaultConvAELatentChannels)
	case conv && *base < 1:
		return usagef("-base %d: use at least 1 (default %d)", *base, model.DefaultConvAEBase)
	case conv && *numRes < 1:
		return usagef("-num-res %d: use at least 1 residual block per resolution", *numRes)
	case conv && *groups < 1:
		return usagef("-groups %d: use at least 1 GroupNorm group", *groups)
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
	shape := imageShape(src)
	if *image != "" {
		c, h, w, err := dataImageShape(src, *dataSpec, *image, "-arch "+*arch)
		if err != nil {
			return err
		}
		shape = []int{c, h, w}
	}
	cfg := model.AutoencoderConfig{Dim: src.Dim(), Latent: *k, Hidden: widths, KLWeight: *kl, Shape: shape, Seed: *seed}
	if conv {
		if shape == nil {
			return usagef("-data %s: -arch conv encodes images, but these rows of %d values have no image shape; give it with -image CxHxW, or use an image set (digits, digits-train, fashion-mnist) or -arch mlp", *dataSpec, src.Dim())
		}
		if f := 1 << (len(mults) - 1); shape[1]%f != 0 || shape[2]%f != 0 {
			return usagef("-data %s: images of %dx%d, but the %d resolutions of -mult %s halve them %d times, which needs sides divisible by %d; use fewer multipliers (-mult) or images whose sides are divisible by %d",
				*dataSpec, shape[1], shape[2], len(mults), *mult, len(mults)-1, f, f)
		}
		cfg = model.AutoencoderConfig{Arch: model.ArchConv, Shape: shape, LatentChannels: *kc, Base: *base, Mult: mults,
			NumRes: *numRes, Groups: *groups, Precision: *precision, KLWeight: *kl, Seed: *seed}
	} else if *k >= src.Dim() {
		fmt.Fprintf(stderr, "sdesample autoencoder: warning: -latent %d is not smaller than the data's %d values; nothing is compressed\n", *k, src.Dim())
	}
	ae, err := model.NewAutoencoder(cfg)
	if err != nil {
		return usagef("%s", aeInFlags(err))
	}
	ae.SetWorkers(nw)
	bar := newProgress(stderr, *steps, "autoencoder", "steps")
	var recEMA, klEMA float64
	start := time.Now()
	opt, err := latent.Train(ctx, latent.TrainConfig{Data: src, Model: ae, Steps: *steps, Batch: *batch, LR: *lr, Seed: *seed, MaxTime: *maxTime},
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
	done := opt.T
	ck, err := model.NewCheckpoint(ae, done, opt, nil)
	if err != nil {
		return err
	}
	ck.Meta = map[string]string{"autoencoder.data": *dataSpec}
	if err := model.SaveCheckpoint(*out, ck); err != nil {
		return fmt.Errorf("-o %s: %s", *out, strings.TrimPrefix(err.Error(), "model: checkpoint "+*out+": "))
	}
	if conv {
		c := ae.Config()
		ls := ae.LatentShape()
		fmt.Fprintf(stdout, "trained a convolutional autoencoder %s -> %s -> %s (base %d, mult %s, num-res %d, groups %d, %s, %d parameters, KL weight %g) on %s: %d steps of %d rows, lr %g, seed %d, %.1fs (%.3g s per step)\n",
			shapeString(c.Shape), shapeString(ls), shapeString(c.Shape), c.Base, *mult, c.NumRes, c.Groups, c.Precision, ae.NumParams(), *kl,
			*dataSpec, done, *batch, *lr, *seed, trainTime.Seconds(), trainTime.Seconds()/float64(done))
	} else {
		fmt.Fprintf(stdout, "trained an autoencoder %d -> %d -> %d (hidden %s, KL weight %g) on %s: %d steps of %d rows, lr %g, seed %d, %.1fs\n",
			src.Dim(), *k, src.Dim(), *hidden, *kl, *dataSpec, done, *batch, *lr, *seed, trainTime.Seconds())
	}
	if done < *steps {
		fmt.Fprintf(stdout, "  stopped by -max-time %s after %d of %d steps\n", *maxTime, done, *steps)
	}
	fmt.Fprintf(stdout, "  last 100 steps (running mean): squared error %.4g per row, KL %.4g nats per row\n", recEMA, klEMA)
	fmt.Fprintf(stdout, "  latent scale factor s = 1/std of %d training latents = %.6g\n", latent.DefaultScaleRows, ae.ScaleFactor())
	for _, ev := range []struct {
		name string
		s    data.Source
	}{{*dataSpec, src}, {*testSpec, test}} {
		if ev.s == nil {
			continue
		}
		mse, pixVar, n, all := reconstructionError(ae, ev.s, *seed)
		how := "all"
		if !all {
			how = "draws of"
		}
		fmt.Fprintf(stdout, "  reconstruction D(mu(x)) of %s %d rows of %s: mean squared error %.4g per value (RMSE %.4g); the rows' variance per value is %.4g (the error of predicting each value by its mean)\n", how, n, ev.name, mse, math.Sqrt(mse), pixVar)
	}
	next := ""
	if conv {
		next = " -arch unet -mult 1"
	}
	fmt.Fprintf(stdout, "wrote %s; train a latent score model with: sdesample train -latent %s -data %s%s -o ldm.ckpt\n", *out, *out, *dataSpec, next)
	return nil
}

// aeInFlags rewrites an autoencoder config error's field names as flags.
func aeInFlags(err error) string {
	msg := strings.TrimPrefix(err.Error(), "model: autoencoder config: ")
	for _, f := range []struct{ field, flag string }{
		{"Groups = ", "-groups "}, {"Base ", "-base "}, {"Mult ", "-mult "}, {"choose Groups", "choose -groups"}, {"Latent = ", "-latent "},
	} {
		msg = strings.ReplaceAll(msg, f.field, f.flag)
	}
	return msg
}

// shapeString writes an image shape as CxHxW.
func shapeString(s []int) string {
	f := make([]string, len(s))
	for i, v := range s {
		f[i] = strconv.Itoa(v)
	}
	return strings.Join(f, "x")
}

// reconstructionError returns the mean over values of (D(mu(x)) - x)^2 on
// every row of a source that has a table (the digits and their splits, a
// file), or on 4096 draws of one that does not or whose table is large (the
// Fashion-MNIST sets; all = false), and the
// variance of those rows per value (each value's variance about its mean
// over the rows, averaged over the values): the error a code of nothing
// would make.
func reconstructionError(ae *model.Autoencoder, src data.Source, seed uint64) (mse, pixVar float64, n int, all bool) {
	var x []float64
	if tab, err := sourceTable(src, false); err == nil && tab != nil {
		x, n, all = tab.X, tab.N, true
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
	d := src.Dim()
	mean := make([]float64, d)
	for i, v := range x {
		mse += (xh[i] - v) * (xh[i] - v)
		mean[i%d] += v / float64(n)
	}
	for i, v := range x {
		pixVar += (v - mean[i%d]) * (v - mean[i%d])
	}
	return mse / float64(len(x)), pixVar / float64(len(x)), n, all
}

// imageShape returns the (C, H, W) image shape of an image source's rows
// (the digits and their splits, Fashion-MNIST), or nil.
func imageShape(src data.Source) []int {
	if s, ok := src.(imageShaper); ok {
		c, h, w := s.ImageShape()
		return []int{c, h, w}
	}
	return nil
}
