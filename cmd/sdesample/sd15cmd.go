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
	x0 := fs.Bool("x0", false, "heartbeat: the network predicts x_0 and the reverse rate is its mixture of the forward posteriors (D3PM's parameterisation) instead of a correction to the rate")
	lrFinal := fs.Float64("lr-final", 0, "learning rate of the last step (0: a tenth of -lr)")
	segments := fs.Int("segments", 1, "heartbeat: split the steps 2..T into this many runs, each with a network of its own")
	stepReadouts := fs.Bool("step-readouts", false, "heartbeat: a readout per step on top of the temporal basis functions")
	oracle := fs.Bool("oracle", false, "heartbeat: train nothing; print the exact bound K of the best factorised reverse kernel (the ceiling no trained model can pass) and check it against the trajectory estimate")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *exp != "heartbeat" && *exp != "swissroll" {
		return usagef("-experiment %q: use heartbeat or swissroll", *exp)
	}
	if *T != 0 && *T < 2 {
		return usagef("-T %d: need at least 2 diffusion steps (0: the default, 2000 heartbeat, 40 swissroll)", *T)
	}
	if *oracle && *exp != "heartbeat" {
		return usagef("-oracle: the %s has no exact oracle (only the heartbeat's data are a finite set); use -experiment heartbeat", *exp)
	}
	if *steps < 1 || *batch < 0 || *lr < 0 || *lrFinal < 0 || *evalN < 0 || *width < 1 || *basis < -1 {
		return usagef("-steps and -width must be positive, -batch, -lr, -lr-final, -eval and -basis >= 0 (-basis -1: the default)")
	}
	if *segments < 1 || (*T >= 2 && *segments > *T-1) {
		return usagef("-segments %d: use 1 to T - 1 (one network per run of steps)", *segments)
	}
	if *stepReadouts && *basis == 0 {
		return usagef("-step-readouts with -basis 0: there is a readout per step already; drop one of the two")
	}
	if !(*noise > 0) {
		return usagef("-noise %v must be > 0", *noise)
	}
	e := sd15.Experiment{Name: *exp, T: *T, Steps: *steps, Batch: *batch, LR: *lr, Noise: *noise, Width: *width, Eval: *evalN, Seed: *seed, X0: *x0, LRFinal: *lrFinal, StepReadouts: *stepReadouts, Segments: *segments}
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
	if *oracle {
		res, err := sd15.RunOracle(ctx, e, eval)
		bar.done()
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		printOracle(stdout, res)
		return nil
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
	if e.StepReadouts {
		basisText += " + a readout per step"
	}
	if e.Segments > 1 {
		basisText += fmt.Sprintf(", %d time segments", e.Segments)
	}
	lrFinalText := e.LRFinal
	if lrFinalText == 0 {
		lrFinalText = e.LR / 10
	}
	switch e.Name {
	case "heartbeat":
		h := res.Heartbeat
		param := "rate correction"
		if e.X0 {
			param = "x0 prediction"
		}
		say("SD15 binary heartbeat: %d bins, period %d, binomial diffusion T = %d towards B(%.2g), basis %s, %s, %d steps of batch %d, lr %g to %g", h.Length, h.Period, e.T, h.OnesRate(), basisText, param, e.Steps, e.Batch, e.LR, lrFinalText)
	case "swissroll":
		say("SD15 Swiss roll: unit variance, noise %g, Gaussian diffusion T = %d, %dx%d sigmoid net, basis %s, %d steps of batch %d, lr %g", e.Noise, e.T, e.Width, e.Width, basisText, e.Steps, e.Batch, e.LR)
	}
	say("training time            %v", res.TrainTime.Round(time.Millisecond))
	say("K (KL terms)             %v", res.KKL)
	say("K (trajectories)         %v", res.KTraj)
	switch e.Name {
	case "heartbeat":
		say("factorised ceiling K*    %.4f bits (exact: sdesample sd15 -oracle -T %d); gap K* - K = %v", res.Ceiling.K, e.T, res.Gap)
		say("K (ceiling - gap)        %.4f +- %.4f bits", res.Ceiling.K-res.Gap.Mean, res.Gap.StdErr)
		say("true log-likelihood      %.4f bits (log2 1/%d); K can never exceed it", res.True.Mean, res.Heartbeat.Period)
		say("L_null                   %.4f bits; K - L_null = %.3f (SD15: K = %.3f, K - L_null = %.3f)", res.Null, res.KKL.Mean-res.Null, res.PaperK, res.PaperKMinusNull)
		say("inpainting (half the bins hidden, %d sequences): %.4f of %d hidden bins correct", e.Inpaint, res.InpaintAccuracy, res.Hidden)
	case "swissroll":
		say("true log-likelihood      %v (quadrature over the roll's angle)", res.True)
		say("L_null                   %.4f bits; K - L_null = %.3f (SD15: K = %.2f, K - L_null = %.2f, on their unpublished roll)", res.Null, res.KKL.Mean-res.Null, res.PaperK, res.PaperKMinusNull)
	}
	return nil
}

// printOracle prints RunOracle's result: the exact ceiling three ways, its
// trajectory estimate, and where along the chain the KL terms lie.
func printOracle(stdout io.Writer, res *sd15.OracleResult) {
	say := func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) }
	b, e, h := res.Bound, res.Experiment, res.Heartbeat
	say("SD15 binary heartbeat: %d bins, period %d, binomial diffusion T = %d towards B(%.2g); the best factorised reverse kernel (each bit's rate the exact posterior mean given x_t)", h.Length, h.Period, e.T, h.OnesRate())
	say("K* (exact, KL form)      %.4f bits: no factorised reverse kernel on this chain can pass it", b.K)
	say("K* (exact, entropy form) %.4f bits", b.KEntropy)
	say("K* (SD15 eq. 14)         %.4f bits (edge term E log pi(x_0) - E log pi(x_1) = %.2g)", b.KPaper, b.Edge)
	z := (res.KTraj.Mean - b.K) / res.KTraj.StdErr
	say("K (trajectories)         %v, %.2f standard errors from K*", res.KTraj, z)
	say("true log-likelihood      %.4f bits (log2 1/%d)", res.True, h.Period)
	say("L_null                   %.4f bits; K* - L_null = %.3f (SD15: K = -2.414, K - L_null = 12.024)", res.Null, b.K-res.Null)
	say("first step E log p(x_0|x_1) %.4f bits", b.FirstStep)
	var q [4]float64
	for i, v := range b.StepKL {
		q[4*i/len(b.StepKL)] += v
	}
	say("sum of the step KLs by quarter of t = 2..T: %.4f %.4f %.4f %.4f bits", q[0], q[1], q[2], q[3])
}
