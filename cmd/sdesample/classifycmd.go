package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/score"
)

func init() {
	register("train-classifier", "train a (noise-conditional) classifier of the data's labels for classifier guidance and accuracy", runTrainClassifier)
	register("classify", "classify rows (samples or labeled data) with a trained classifier and print the accuracy", runClassify)
}

// labelsErr turns an error about class labels into a usage error (exit 2)
// and leaves other errors alone.
func labelsErr(flagName string, err error) error {
	if errors.Is(err, data.ErrLabels) {
		return usagef("%s", dataErr(flagName, err).Error())
	}
	return dataErr(flagName, err)
}

func runTrainClassifier(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train-classifier", stderr)
	sdeName := fs.String("sde", "vp", "forward SDE whose x_t the classifier learns: vp, subvp or ve")
	clean := fs.Bool("clean", false, "train on clean data at t = 0 only (a plain classifier, for accuracy of samples; no guidance at t > 0)")
	dataSpec := fs.String("data", "gmm8", "labeled data: gmm8, digits, digits-train, a .csv file with a 'label' column or a .npy file with NAME.labels.npy")
	hidden := fs.String("hidden", "128,128", "hidden-layer widths, comma-separated (at least one)")
	embedDim := fs.Int("embed-dim", model.DefaultEmbedDim, "number of time features (even)")
	fourierScale := fs.Float64("fourier-scale", model.DefaultFourierScale, "std of the Gaussian Fourier frequencies of t")
	trainEps := fs.Float64("eps", score.DefaultTrainEps, "training times t ~ U(eps, T) (not with -clean)")
	steps := fs.Int("steps", 5000, "optimiser steps")
	batch := fs.Int("batch", score.DefaultBatch, "rows per step")
	lr := fs.Float64("lr", score.DefaultClassifierLR, "Adam learning rate")
	ema := fs.Float64("ema", 0.999, "EMA decay of the weights the checkpoint uses (0: none)")
	seed := fs.Uint64("seed", 1, "seed of the initial weights and of every batch")
	out := fs.String("o", "", "checkpoint to write, .ckpt (required)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sdesample train-classifier -data D [-sde vp | -clean] [flags] -o classifier.ckpt")
		fmt.Fprintln(fs.Output(), "Trains an MLP classifier by cross-entropy on x_t = c(t) x_0 + s(t) z, t ~ U(eps, T) (or on x_0 with -clean).")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := resolveSDE(*sdeName)
	if err != nil {
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
	case len(widths) == 0:
		return usagef("-hidden %q: a classifier needs at least one hidden layer (its last one gives the features)", *hidden)
	case !(*ema >= 0 && *ema < 1):
		return usagef("-ema %g: the EMA decay must lie in [0, 1) (0: none)", *ema)
	}
	if !*clean {
		if err := checkEps(*trainEps, s); err != nil {
			return err
		}
	}
	if err := checkPaths([]ioPath{{"o", *out}}, []ioPath{{"data", *dataSpec}}); err != nil {
		return err
	}
	src, err := data.Open(*dataSpec)
	if err != nil {
		return labelsErr("data", err)
	}
	ls, err := data.Labeled(src)
	if err != nil {
		return usagef("-data: %s", strings.TrimPrefix(err.Error(), "data: "))
	}
	c, err := model.NewClassifier(model.ClassifierConfig{Dim: src.Dim(), Classes: max(ls.Classes(), 2), Hidden: widths,
		EmbedDim: *embedDim, FourierScale: *fourierScale, Seed: *seed})
	if err != nil {
		return usagef("%s", inFlags(err))
	}
	tr, err := score.NewClassifierTrainer(score.ClassifierTrainConfig{SDE: s, Clean: *clean, Eps: *trainEps, Data: ls,
		DataSpec: *dataSpec, Model: c, Steps: *steps, Batch: *batch, LR: *lr, EMA: *ema, Seed: *seed})
	if err != nil {
		return usagef("%s", strings.TrimPrefix(err.Error(), "score: "))
	}
	bar := newProgress(stderr, *steps, "train-classifier", "steps")
	var lossEMA float64
	start := time.Now()
	err = tr.Run(ctx, func(step int, loss float64) error {
		if step == 1 {
			lossEMA = loss
		}
		lossEMA = 0.99*lossEMA + 0.01*loss
		if step%10 == 0 {
			bar.describe(fmt.Sprintf("cross-entropy %.4g", lossEMA))
		}
		bar.set(step)
		return nil
	})
	bar.done()
	if err != nil {
		if ctx.Err() != nil {
			return context.Canceled
		}
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "score: "))
	}
	if err := tr.Save(*out); err != nil {
		return fmt.Errorf("-o %s: %s", *out, strings.TrimPrefix(err.Error(), "score: "))
	}
	kind := "noise-conditional (sde " + s.Name() + ")"
	if *clean {
		kind = "clean (t = 0)"
	}
	el := time.Since(start).Seconds()
	fmt.Fprintf(stdout, "trained a %s classifier of %d classes on %s (hidden %s, batch %d, lr %g, ema %g, seed %d): %d steps in %.1fs; running cross-entropy %.4g\n",
		kind, c.Classes(), *dataSpec, *hidden, *batch, *lr, *ema, *seed, *steps, el, lossEMA)
	fmt.Fprintf(stdout, "wrote %s; measure it with: sdesample classify -model %s -data DATA\n", *out, *out)
	return nil
}

func runClassify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("classify", stderr)
	modelPath := fs.String("model", "", "classifier checkpoint (from sdesample train-classifier; required)")
	dataSpec := fs.String("data", "", "rows to classify: a .csv or .npy file (samples, or data with labels), or gmm8, digits, digits-train, digits-test, fashion-mnist, fashion-mnist-test (every image of the split once)")
	labelFlag := fs.Int("labels", -1, "the class every row should have (for samples drawn with -class k); default: the data's own labels")
	at := fs.Float64("t", 0, "time at which a noise-conditional classifier classifies (0: clean data)")
	n := fs.Int("n", 10000, "rows drawn from a built-in source that is not a fixed table (gmm8)")
	seed := fs.Uint64("seed", 1, "seed of those draws")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sdesample classify -model classifier.ckpt -data S.csv [-labels k] [-t 0]")
		fmt.Fprintln(fs.Output(), "Prints the accuracy of the classifier's most probable class against the labels, overall and per class.")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *modelPath == "":
		return usagef("-model is required: a classifier checkpoint from sdesample train-classifier")
	case *dataSpec == "":
		return usagef("-data is required: the rows to classify")
	case *n < 1:
		return usagef("-n %d: draw at least 1 row", *n)
	case !(*at >= 0) || math.IsInf(*at, 0):
		return usagef("-t %g: use a time >= 0", *at)
	}
	ck, err := model.LoadCheckpoint(*modelPath)
	if err != nil {
		return usagef("-model %s: %s", *modelPath, checkpointMessage(*modelPath, err))
	}
	x, labels, d, name, err := classifyRows(*dataSpec, *n, *seed)
	if err != nil {
		return err
	}
	g, err := score.ClassifierFromCheckpoint(ck, *modelPath, d, nil)
	if err != nil {
		return condErr("model", *modelPath, err)
	}
	if *at > 0 && g.Meta.Clean {
		return usagef("-t %g: %s is a clean classifier (trained at t = 0 only); use -t 0 or a noise-conditional classifier", *at, *modelPath)
	}
	rows := len(x) / d
	nc := g.Classes()
	switch {
	case *labelFlag >= 0 && labels != nil:
		return usagef("-labels %d: %s has its own labels; leave -labels out, or give unlabeled samples", *labelFlag, *dataSpec)
	case *labelFlag >= nc || *labelFlag < -1:
		return usagef("-labels %d: the classifier knows classes 0..%d", *labelFlag, nc-1)
	case *labelFlag >= 0:
		labels = make([]int, rows)
		for i := range labels {
			labels[i] = *labelFlag
		}
	case labels == nil:
		return usagef("-data %s has no labels; give -labels k (the class the samples were drawn for) or a file with a 'label' column", *dataSpec)
	}
	for i, y := range labels {
		if y >= nc {
			return usagef("-data %s: row %d has label %d, but the classifier knows classes 0..%d", *dataSpec, i, y, nc-1)
		}
	}
	pred := make([]int, rows)
	t := make([]float64, rows)
	for i := range t {
		t[i] = *at
	}
	const block = 4096
	for lo := 0; lo < rows; lo += block {
		if err := ctx.Err(); err != nil {
			return context.Canceled
		}
		hi := min(rows, lo+block)
		g.PredictTo(pred[lo:hi], x[lo*d:hi*d], t[lo:hi])
	}
	total, right := make([]int, nc), make([]int, nc)
	for i, y := range labels {
		total[y]++
		if pred[i] == y {
			right[y]++
		}
	}
	all, sum, classes := 0, 0.0, 0
	for k := range nc {
		all += right[k]
		if total[k] > 0 {
			sum += float64(right[k]) / float64(total[k])
			classes++
		}
	}
	fmt.Fprintf(stdout, "%s: %d rows, accuracy %.4f (%d right); mean per-class accuracy %.4f over %d classes (classifier %s at t = %g)\n",
		name, rows, float64(all)/float64(rows), all, sum/float64(classes), classes, *modelPath, *at)
	for k := range nc {
		if total[k] > 0 {
			fmt.Fprintf(stdout, "class %d: %d rows, accuracy %.4f\n", k, total[k], float64(right[k])/float64(total[k]))
		}
	}
	return nil
}

// classifyRows reads the rows to classify and their labels (nil if none): a
// file, every image of a digits split once, or n labeled draws of another
// built-in source.
// sourceTable returns the table a source draws from: a file's rows, a
// digits set's images and, when images is true, a Fashion-MNIST set's
// (60,000 or 10,000 rows); nil for a source without one (a built-in
// distribution).
func sourceTable(src data.Source, images bool) (*data.Table, error) {
	switch s := src.(type) {
	case *data.Empirical:
		return s.Table(), nil
	case data.DigitsSource:
		return s.Table()
	case data.ImageSource:
		if images {
			return s.Set.Table(), nil
		}
	}
	return nil, nil
}

func classifyRows(spec string, n int, seed uint64) (x []float64, labels []int, d int, name string, err error) {
	src, err := data.Open(spec)
	if err != nil {
		return nil, nil, 0, "", labelsErr("data", err)
	}
	if t, err := sourceTable(src, true); err != nil || t != nil {
		if err != nil {
			return nil, nil, 0, "", err
		}
		return t.X, t.Labels, t.D, spec, nil
	}
	ls, err := data.Labeled(src)
	if err != nil {
		return nil, nil, 0, "", usagef("-data: %s", strings.TrimPrefix(err.Error(), "data: "))
	}
	d = src.Dim()
	x, labels = make([]float64, n*d), make([]int, n)
	ls.SampleLabeled(x, labels, n, rng.New(seed, 0, rng.Data))
	return x, labels, d, fmt.Sprintf("%s (%d draws, seed %d)", spec, n, seed), nil
}
