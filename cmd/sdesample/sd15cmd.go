package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sdekit/sdekit/sd15"
)

func init() {
	register("sd15", "train a Sohl-Dickstein 2015 model (heartbeat or swissroll) and print its bound K in bits", runSD15)
}

func runSD15(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sd15", stderr)
	exp := fs.String("experiment", "heartbeat", "heartbeat (binomial diffusion, SD15 Table 1) or swissroll (Gaussian diffusion)")
	T := fs.Int("T", 0, "diffusion steps (0: 2000 for heartbeat, 40 for swissroll)")
	steps := fs.Int("steps", 30000, "training steps")
	batch := fs.Int("batch", 0, "training examples per step (0: 64 heartbeat, 256 swissroll)")
	lr := fs.Float64("lr", 0, "Adam learning rate at the start, decaying linearly to a tenth (0: 3e-3 heartbeat, 1e-2 swissroll)")
	basis := fs.Int("basis", -1, "temporal basis functions tying the readouts (0: one readout per step as in SD15; -1: 20 for heartbeat, 10 for swissroll)")
	noise := fs.Float64("noise", 0.5, "swissroll: noise std in the units of the unscaled roll")
	width := fs.Int("width", 64, "swissroll: width of the two sigmoid hidden layers")
	evalN := fs.Int("eval", 0, "data points for each estimate of K (0: 400 heartbeat, 4000 swissroll; the heartbeat's trajectory estimate uses 10x)")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *exp != "heartbeat" && *exp != "swissroll" {
		return usagef("-experiment %q: use heartbeat or swissroll", *exp)
	}
	if *steps < 1 || *batch < 0 || *lr < 0 || *evalN < 0 || *width < 1 || *T < 0 || *basis < -1 {
		return usagef("-steps and -width must be positive, -T, -batch, -lr, -eval and -basis >= 0 (-basis -1: the default)")
	}
	if !(*noise > 0) {
		return usagef("-noise %v must be > 0", *noise)
	}
	e := sd15.Experiment{Name: *exp, T: *T, Steps: *steps, Batch: *batch, LR: *lr, Noise: *noise, Width: *width, Eval: *evalN, Seed: *seed}
	switch *basis {
	case -1: // the default: Experiment's zero
	case 0:
		e.Basis = sd15.NoBasis
	default:
		e.Basis = *basis
	}
	e, err := e.WithDefaults()
	if err != nil {
		return usagef("%v", err)
	}
	trainProgress := func(step int, loss float64) error {
		if step%(max(e.Steps/10, 100)) == 0 {
			fmt.Fprintf(stderr, "step %d/%d: mean KL term %.4g bits\n", step, e.Steps, loss)
		}
		return ctx.Err()
	}
	// The evaluation phases (minutes for a long chain) get a bar each.
	var bar *progress
	phase := ""
	eval := func(name string, done, total int) {
		if name != phase {
			bar.done()
			phase, bar = name, newProgress(stderr, total, name, "points")
		}
		bar.set(done)
	}
	res, err := sd15.RunEval(ctx, e, trainProgress, eval)
	bar.done()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // interrupted at the very end: say so, print nothing
	}
	say := func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) }
	basisText := fmt.Sprint(e.Basis)
	if e.Basis == sd15.NoBasis {
		basisText = "none"
	}
	switch e.Name {
	case "heartbeat":
		h := res.Heartbeat
		say("SD15 binary heartbeat: %d bins, period %d, binomial diffusion T = %d towards B(%.2g), basis %s, %d steps of batch %d", h.Length, h.Period, e.T, h.OnesRate(), basisText, e.Steps, e.Batch)
	case "swissroll":
		say("SD15 Swiss roll: unit variance, noise %g, Gaussian diffusion T = %d, %dx%d sigmoid net, basis %s, %d steps of batch %d, lr %g", e.Noise, e.T, e.Width, e.Width, basisText, e.Steps, e.Batch, e.LR)
	}
	say("training time            %v", res.TrainTime.Round(time.Millisecond))
	say("K (KL terms)             %v", res.KKL)
	say("K (trajectories)         %v", res.KTraj)
	switch e.Name {
	case "heartbeat":
		say("true log-likelihood      %.4f bits (log2 1/%d); K can never exceed it", res.True.Mean, res.Heartbeat.Period)
		say("L_null                   %.4f bits; K - L_null = %.3f (SD15: K = %.3f, K - L_null = %.3f)", res.Null, res.KKL.Mean-res.Null, res.PaperK, res.PaperKMinusNull)
		say("inpainting (half the bins hidden, %d sequences): %.4f of %d hidden bins correct", e.Inpaint, res.InpaintAccuracy, res.Hidden)
	case "swissroll":
		say("true log-likelihood      %v (quadrature over the roll's angle)", res.True)
		say("L_null                   %.4f bits; K - L_null = %.3f (SD15: K = %.2f, K - L_null = %.2f, on their unpublished roll)", res.Null, res.KKL.Mean-res.Null, res.PaperK, res.PaperKMinusNull)
	}
	return nil
}
