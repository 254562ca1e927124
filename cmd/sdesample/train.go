package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/latent"
	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/score"
)

func init() {
	register("train", "train a score network by denoising score matching and save a checkpoint", runTrain)
}

// trainDequantSuffix marks dequantised digits or images in the checkpoint's
// data spec.
const trainDequantSuffix = ",dequant=uniform"

// defaultLabelDropout is -label-dropout's default (Ho & Salimans 2022's
// 0.1). A run record repeats every flag, so an unconditional run's record
// carries it; only another value without -conditional is refused.
const defaultLabelDropout = 0.1

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := newFlags("train", stderr)
	sdeName := fs.String("sde", "vp", "forward SDE: vp, subvp or ve")
	dataSpec := fs.String("data", "gmm8", "training data: gmm8, swissroll, checkerboard, moons, digits, fashion-mnist, or a .csv or .npy file (rows resampled uniformly)")
	dequant := fs.String("dequant", "none", "digits and fashion-mnist: none (pixels v/8 - 1; 2v/255 - 1) or uniform (2(v + u)/17 - 1; 2(v + u)/256 - 1, u ~ U[0, 1): train on the density that bits/dim evaluates)")
	hidden := fs.String("hidden", "128,128", "hidden-layer widths, comma-separated")
	embedding := fs.String("embedding", model.EmbeddingFourier, "time embedding: fourier or sinusoidal")
	embedDim := fs.Int("embed-dim", model.DefaultEmbedDim, "number of time features (even)")
	fourierScale := fs.Float64("fourier-scale", model.DefaultFourierScale, "std of the Gaussian Fourier frequencies of t (fourier embedding)")
	precision := fs.String("precision", model.Float64, "network arithmetic: float64 or float32")
	param := fs.String("param", "", "output parameterisation: eps (score = -out/std), sigma (score = out/std) or score (score = out); default eps for vp and subvp, sigma for ve")
	loss := fs.String("loss", score.LossDSM, "loss: dsm (continuous denoising score matching), ddpm (L_simple, vp only) or smld (NCSN, ve only)")
	weighting := fs.String("weighting", score.WeightSigma2, "dsm weighting lambda(t): sigma2 (std^2) or likelihood (g^2)")
	trainEps := fs.Float64("eps", score.DefaultTrainEps, "dsm: training times t ~ U(eps, 1)")
	levels := fs.Int("levels", score.DefaultLevels, "ddpm and smld: number of discrete noise levels N")
	steps := fs.Int("steps", 20000, "total optimiser steps of the run")
	batch := fs.Int("batch", score.DefaultBatch, "rows per step")
	lr := fs.Float64("lr", score.DefaultLR, "Adam learning rate")
	warmup := fs.Int("warmup", 0, "linear learning-rate warm-up steps (0: none)")
	clip := fs.Float64("clip", 0, "global gradient-norm clipping threshold (0: none)")
	ema := fs.Float64("ema", 0.999, "EMA decay of the weights used for sampling (0: no EMA)")
	seed := fs.Uint64("seed", 1, "seed of the initial weights and of every batch (step k draws from its own stream)")
	out := fs.String("o", "", "checkpoint to write, .ckpt (required); written only when the run completes")
	maxTime := fs.Duration("max-time", 0, "stop at the first step boundary after this much training wall time (e.g. 10m) and write -o as a finished run of the steps done; -resume continues it to -steps (0: no limit)")
	every := fs.Int("checkpoint-every", 0, "also save the state every k steps (and on Ctrl-C) to NAME.partial.ckpt beside -o, removed on completion (0: never)")
	resume := fs.String("resume", "", "continue the run saved in this checkpoint; unset flags take its values, set ones must agree")
	recPath := fs.String("record", "", "write a JSON run record here")
	conditional := fs.Bool("conditional", false, "train a class-conditional network on the data's labels (gmm8, digits, digits-train, a CSV 'label' column or NAME.labels.npy), with a null label for classifier-free guidance")
	latentPath := fs.String("latent", "", "train in the latent space of this autoencoder checkpoint (sdesample autoencoder): each batch is encoded on the fly and scaled; the checkpoint records the autoencoder's path and SHA-256")
	labelDropout := fs.Float64("label-dropout", defaultLabelDropout, "with -conditional: probability of replacing a row's label by the null label (Ho & Salimans 2022), in [0, 1)")
	arch := addArchFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sdesample train -sde vp|subvp|ve -data SOURCE|FILE [-conditional [-label-dropout 0.1]] [-arch unet -image CxHxW] [flags] -o model.ckpt")
		fmt.Fprintln(fs.Output(), "Trains a score network (an MLP, or a U-Net with -arch unet); step k's batch comes from stream (seed, k), so -resume continues bit for bit.")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}

	var resumed *model.Checkpoint
	if *resume != "" {
		ck, err := model.LoadCheckpoint(*resume)
		if err != nil {
			return fmt.Errorf("-resume %s: %s", *resume, checkpointMessage(*resume, err))
		}
		if err := trainFillFromCheckpoint(fs, ck); err != nil {
			return fmt.Errorf("-resume %s: %s", *resume, strings.TrimPrefix(err.Error(), "score: "))
		}
		resumed = ck
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
	if err := checkOptimiser(*steps, *batch, *lr, "2e-4"); err != nil {
		return err
	}
	switch {
	case *warmup < 0:
		return usagef("-warmup %d: use 0 (none) or a number of steps", *warmup)
	case !(*clip >= 0) || math.IsInf(*clip, 0):
		return usagef("-clip %g: use 0 (none) or a positive threshold such as 1", *clip)
	case !(*ema >= 0 && *ema < 1):
		return usagef("-ema %g: the EMA decay must lie in [0, 1) (typical 0.999; 0: none)", *ema)
	case *every < 0:
		return usagef("-checkpoint-every %d: use 0 (never) or a positive number of steps", *every)
	case *maxTime < 0:
		return usagef("-max-time %v: want a duration >= 0, for example 10m (0: no limit)", *maxTime)
	case *precision != model.Float64 && *precision != model.Float32:
		return usagef("-precision %q: use float64 or float32", *precision)
	case *embedding != model.EmbeddingFourier && *embedding != model.EmbeddingSinusoidal:
		return usagef("-embedding %q: use fourier or sinusoidal", *embedding)
	case flagChanged(fs, "label-dropout") && !*conditional: // the default passes (run records repeat every flag)
		return usagef("-label-dropout: only a -conditional network has labels to drop; add -conditional")
	case !(*labelDropout >= 0 && *labelDropout < 1):
		return usagef("-label-dropout %g: use a probability in [0, 1) (typical 0.1; 0: no unconditional score)", *labelDropout)
	}
	var p score.Param
	if *param != "" {
		if p, err = score.ParseParam(*param); err != nil {
			return usagef("-param %q: use eps (score = -out/std), sigma (score = out/std) or score", *param)
		}
	}
	lc := score.LossConfig{Kind: *loss, Eps: *trainEps, Levels: *levels}
	switch *loss {
	case score.LossDSM:
		lc.Weighting = *weighting
	case score.LossDDPM, score.LossSMLD:
		if trainFlagSet(fs, "weighting") && *weighting != score.WeightSigma2 {
			return usagef("-weighting %s: only the dsm loss has a weighting; the %s loss fixes its own", *weighting, *loss)
		}
	default:
		return usagef("-loss %q: use dsm, ddpm or smld", *loss)
	}
	// Fail early on a missing output folder, or an output that is an input.
	if err := checkPaths([]ioPath{{"o", *out}, {"record", *recPath}},
		[]ioPath{{"data", *dataSpec}, {"resume", *resume}, {"latent", *latentPath}}); err != nil {
		return err
	}
	if err := checkRecordPath(*recPath); err != nil {
		return err
	}

	var src data.Source
	spec := *dataSpec
	switch *dequant {
	case "none":
		if src, err = data.Open(*dataSpec); err != nil {
			return labelsErr("data", err)
		}
	case "uniform":
		switch *dataSpec {
		case "digits", "digits-train", "digits-test":
			s, err := data.ByName(*dataSpec)
			if err != nil {
				return dataErr("data", err)
			}
			d := s.(data.DigitsSource)
			d.Dequantize = true
			src = d
		case "fashion-mnist", "fashion-mnist-test":
			m, _, err := data.ImageSet(*dataSpec)
			if err != nil {
				return dataErr("data", err)
			}
			src = data.ImageSource{Set: m, Dequantize: true}
		default:
			return usagef("-dequant uniform: only the digits and the image sets have known quantisation levels; use -data digits, digits-train or fashion-mnist, or -dequant none")
		}
		spec += trainDequantSuffix
	default:
		return usagef("-dequant %q: use none or uniform", *dequant)
	}

	var aeRef *score.AutoencoderRef
	if *latentPath != "" {
		switch {
		case *dequant != "none":
			return usagef("-latent with -dequant %s: the autoencoder encodes the data as given; leave -dequant none", *dequant)
		case *conditional:
			return usagef("-latent with -conditional: latent models are unconditional for now; leave one out")
		}
		ae, sum, err := loadAutoencoder("latent", *latentPath)
		if err != nil {
			return err
		}
		ls, err := latent.NewSource(ae, src)
		if err != nil {
			return usagef("-latent %s: %s", *latentPath, strings.TrimPrefix(err.Error(), "latent: "))
		}
		src, aeRef = ls, &score.AutoencoderRef{Path: *latentPath, SHA256: sum}
	}

	partial := strings.TrimSuffix(*out, extOf(*out)) + ".partial.ckpt"
	// The MLP's weights are drawn from the run's seed.
	mc := model.Config{Dim: src.Dim(), Hidden: widths, Embedding: *embedding, EmbedDim: *embedDim,
		FourierScale: *fourierScale, Precision: *precision, Seed: *seed}
	if *embedding != model.EmbeddingFourier && !trainFlagSet(fs, "fourier-scale") {
		mc.FourierScale = 0
	}
	dropout := 0.0
	if *conditional {
		ls, err := data.Labeled(src)
		if err != nil {
			return usagef("-conditional: %s", strings.TrimPrefix(err.Error(), "data: "))
		}
		mc.Classes, dropout = ls.Classes(), *labelDropout
	}
	if resumed != nil && resumed.Kind == model.KindMLP {
		// No flag sets the time scale: keep the checkpoint's.
		rc, err := model.ParseConfig(resumed.Config)
		if err != nil {
			return fmt.Errorf("-resume %s: %s", *resume, strings.TrimPrefix(err.Error(), "model: "))
		}
		mc.TimeScale = rc.TimeScale
		if *conditional && rc.Classes >= mc.Classes {
			// A file's classes are 1 + its largest label: keep the network's.
			mc.Classes = rc.Classes
		}
	}
	net, err := arch.newNet(fs, mc, src, *dataSpec, resumed)
	if err != nil {
		return err
	}
	cfg := score.TrainConfig{
		SDE: s, Param: p, Data: src, DataSpec: spec, Loss: lc, Model: net, LabelDropout: dropout, Autoencoder: aeRef,
		Steps: *steps, Batch: *batch, LR: *lr, Warmup: *warmup, ClipNorm: *clip, EMA: *ema, Seed: *seed, MaxTime: *maxTime,
	}
	if *every > 0 {
		cfg.CheckpointEvery, cfg.CheckpointPath = *every, partial
	}
	var tr *score.Trainer
	if resumed != nil {
		if tr, err = score.ResumeTrainer(cfg, resumed); err != nil {
			return usagef("-resume %s: %s", *resume, inFlags(errors.New(strings.TrimPrefix(err.Error(), "score: resume: "))))
		}
	} else if tr, err = score.NewTrainer(cfg); err != nil {
		return usagef("%s", inFlags(errors.New(strings.TrimPrefix(err.Error(), "score: "))))
	}
	first := tr.Step()

	bar := newProgress(stderr, *steps, "train", "steps")
	bar.set(first)
	var last score.TrainProgress
	var lossEMA float64
	runStart := time.Now()
	err = tr.Run(ctx, func(pr score.TrainProgress) error {
		last = pr
		if pr.Step == first+1 {
			lossEMA = pr.Loss
		}
		lossEMA = 0.99*lossEMA + 0.01*pr.Loss
		if pr.Step%10 == 0 {
			bar.describe(fmt.Sprintf("train loss %.4g", lossEMA))
		}
		bar.set(pr.Step)
		return nil
	})
	runTime := time.Since(runStart)
	bar.done()
	if err != nil {
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			if *every > 0 {
				if serr := tr.Save(partial); serr == nil {
					fmt.Fprintf(stderr, "sdesample train: stopped at step %d; its state is in %s (continue with -resume %s)\n", tr.Step(), partial, partial)
				}
			}
			return context.Canceled
		}
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "score: "))
	}
	if err := tr.Save(*out); err != nil {
		return fmt.Errorf("-o %s: %s", *out, strings.TrimPrefix(err.Error(), "score: "))
	}
	if *every > 0 {
		os.Remove(partial)
	}
	done := tr.Step() - first
	rate := float64(done) / runTime.Seconds()
	fmt.Fprintf(stdout, "trained steps %d..%d on %s (sde %s, param %s, loss %s, %s, %s, batch %d, lr %g, ema %g, seed %d): %.1fs, %.1f steps/s; last batch loss %.5g (running mean %.5g)\n",
		first+1, tr.Step(), spec, s.Name(), tr.Config().Param, tr.Loss().Config().Kind, arch.archSummary(*hidden), *precision, *batch, *lr, *ema, *seed,
		runTime.Seconds(), rate, last.Loss, lossEMA)
	if tr.Step() < *steps {
		fmt.Fprintf(stdout, "stopped by -max-time %v at step %d of %d; continue with: sdesample train -resume %s -o NEW.ckpt\n", *maxTime, tr.Step(), *steps, *out)
	}
	if *conditional {
		fmt.Fprintf(stdout, "conditional on %d classes, label dropout %g\n", mc.Classes, dropout)
	}
	if aeRef != nil {
		fmt.Fprintf(stdout, "in the %d-dim latent space of the autoencoder %s (SHA-256 %.12s...), batches encoded on the fly and scaled\n", src.Dim(), aeRef.Path, aeRef.SHA256)
	}
	fmt.Fprintf(stdout, "wrote %s; sample from it with: sdesample sample -sde %s -score %s -o samples.csv\n", *out, s.Name(), *out)
	if *recPath != "" {
		rec := newRecord("train", args, flagValues(fs), *seed, shard{0, 1, "flag"}, 1)
		if _, err := os.Stat(*dataSpec); err == nil {
			rec.addInput("data", *dataSpec)
		}
		if *resume != "" {
			rec.addInput("resume", *resume)
		}
		sum, _ := fileSHA256(*out)
		rec.Summary = map[string]float64{"first_step": float64(first + 1), "steps": float64(tr.Step()),
			"last_loss": last.Loss, "loss_running_mean": lossEMA, "steps_per_second": rate, "train_seconds": runTime.Seconds()}
		rec.finish(start, *out, sum, tr.Step(), src.Dim())
		if err := writeRecord(*recPath, rec); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "recorded the run in %s\n", *recPath)
	}
	return nil
}

// trainFlagSet reports whether the flag was given on the command line.
func trainFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// trainFillFromCheckpoint sets every run-defining flag that the command line
// left unset to the value the checkpoint's run used; flags that were set keep
// their value (ResumeTrainer then refuses any that disagree).
func trainFillFromCheckpoint(fs *flag.FlagSet, ck *model.Checkpoint) error {
	meta, err := score.ReadMeta(ck)
	if err != nil {
		return err
	}
	if ck.Adam == nil {
		return errors.New("the checkpoint has no optimiser state to resume")
	}
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	vals := map[string]string{
		"sde": meta.SDE.Name, "param": string(meta.Param), "seed": strconv.FormatUint(meta.Seed, 10),
		"batch": strconv.Itoa(meta.Batch), "steps": strconv.Itoa(max(meta.Steps, ck.Step)),
		"lr": g(ck.Adam.LR), "warmup": strconv.Itoa(ck.Adam.Warmup), "clip": g(ck.Adam.ClipNorm), "ema": "0",
	}
	if ck.EMA != nil {
		vals["ema"] = g(ck.EMA.Decay)
	}
	lc := meta.Loss.WithDefaults()
	vals["loss"] = lc.Kind
	if lc.Kind == score.LossDSM {
		vals["weighting"], vals["eps"] = lc.Weighting, g(lc.Eps)
	} else {
		vals["levels"] = strconv.Itoa(lc.Levels)
	}
	if meta.Autoencoder != nil {
		vals["latent"] = meta.Autoencoder.Path
	}
	vals["data"], vals["dequant"] = meta.Data, "none"
	if d, ok := strings.CutSuffix(meta.Data, trainDequantSuffix); ok {
		vals["data"], vals["dequant"] = d, "uniform"
	}
	if ck.Kind == model.KindUNet {
		if err := fillUNetFlags(ck.Config, vals); err != nil {
			return err
		}
		return setUnsetFlags(fs, vals)
	}
	if ck.Kind != model.KindMLP {
		return fmt.Errorf("the checkpoint's network is of kind %q; sdesample train trains MLPs and U-Nets only (resume it with score.ResumeTrainer in Go)", ck.Kind)
	}
	mc, err := model.ParseConfig(ck.Config)
	if err != nil {
		return err
	}
	ws := make([]string, len(mc.Hidden))
	for i, w := range mc.Hidden {
		ws[i] = strconv.Itoa(w)
	}
	vals["hidden"] = strings.Join(ws, ",")
	vals["embedding"], vals["embed-dim"], vals["precision"] = mc.Embedding, strconv.Itoa(mc.EmbedDim), mc.Precision
	vals["conditional"] = strconv.FormatBool(mc.Classes > 0)
	if mc.Classes > 0 {
		vals["label-dropout"] = g(meta.LabelDropout)
	}
	if mc.Embedding == model.EmbeddingFourier {
		vals["fourier-scale"] = g(mc.FourierScale)
	}
	return setUnsetFlags(fs, vals)
}

// parseWidths reads "128,128" (empty: no hidden layer).
func parseWidths(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		w, err := strconv.Atoi(f)
		if err != nil || w < 1 || w > 1<<16 {
			return nil, usagef("-hidden %q: want comma-separated layer widths from 1 to 65536 (for example 128,128)", s)
		}
		out = append(out, w)
	}
	return out, nil
}

// trainFlagNames maps the Go names in the library's messages about a
// training configuration to the flags that set them, so that a user reads
// "-embed-dim 3" and not "EmbedDim = 3".
var trainFlagNames = []struct{ field, flag string }{
	{"model: config: ", ""},
	{"Hidden[", "-hidden layer ["},
	{"EmbedDim = ", "-embed-dim "},
	{"FourierScale = ", "-fourier-scale "},
	{"Embedding = ", "-embedding "},
	{"Precision = ", "-precision "},
	{"Steps = ", "-steps "},
	{"Batch = ", "-batch "},
	{"LR = ", "-lr "},
	{"Warmup = ", "-warmup "},
	{"ClipNorm = ", "-clip "},
	{"EMA = ", "-ema "},
	{"Levels = ", "-levels "},
}

// inFlags rewrites an error's Go field names as flags.
func inFlags(err error) string {
	msg := err.Error()
	for _, f := range trainFlagNames {
		msg = strings.ReplaceAll(msg, f.field, f.flag)
	}
	if strings.HasPrefix(msg, "-") {
		msg = strings.Replace(msg, ", want ", ": want ", 1) // "-embed-dim 3: want ..."
	}
	return msg
}
