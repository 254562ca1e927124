package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/internal/rng"
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
	evalN := fs.Int("eval", 0, "data points for each estimate of K (0: 400 heartbeat, 4000 swissroll)")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *steps < 1 || *batch < 0 || *lr < 0 || *evalN < 0 || *width < 1 {
		return usagef("-steps and -width must be positive, -batch, -lr and -eval >= 0")
	}
	if *batch == 0 {
		*batch = 64
		if *exp == "swissroll" {
			*batch = 256
		}
	}
	if *lr == 0 {
		*lr = 3e-3
		if *exp == "swissroll" {
			*lr = 1e-2
		}
	}
	r := rng.New(*seed, 0, rng.Data)
	say := func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) }
	progress := func(step int, loss float64) error {
		if step%(max(*steps/10, 100)) == 0 {
			fmt.Fprintf(stderr, "step %d/%d: mean KL term %.4g bits\n", step, *steps, loss)
		}
		return ctx.Err()
	}
	opt := sd15.TrainOptions{Steps: *steps, Batch: *batch, LR: *lr, Progress: progress}
	switch *exp {
	case "heartbeat":
		if *T == 0 {
			*T = 2000
		}
		if *basis < 0 {
			*basis = 20
		}
		if *evalN == 0 {
			*evalN = 400
		}
		h := sd15.NewHeartbeat()
		m, err := sd15.NewBinaryModel(discretize.Binomial{T: *T, P: h.OnesRate()}, h.Length, *basis, r)
		if err != nil {
			return usagef("%v", err)
		}
		data := func(dst []float64, r *rand.Rand) { h.Sequence(dst, r.IntN(h.Period)) }
		start := time.Now()
		if err := m.Train(ctx, data, opt, r); err != nil {
			return err
		}
		trainTime := time.Since(start)
		kl, err := m.EstimateK(ctx, data, *evalN, false, r)
		if err != nil {
			return err
		}
		tr, err := m.EstimateK(ctx, data, 10**evalN, true, r)
		if err != nil {
			return err
		}
		x := make([]float64, h.Length)
		h.Sequence(x, 0)
		null := m.NullLogLikelihood(x)
		acc, hidden := m.InpaintAccuracy(h, 1000, 0.5, r)
		say("SD15 binary heartbeat: %d bins, period %d, binomial diffusion T = %d towards B(%.2g), basis %d, %d steps of batch %d", h.Length, h.Period, *T, h.OnesRate(), *basis, *steps, *batch)
		say("training time            %v", trainTime.Round(time.Millisecond))
		say("K (KL terms)             %v", kl)
		say("K (trajectories)         %v", tr)
		say("true log-likelihood      %.4f bits (log2 1/%d); K can never exceed it", h.LogLikelihood(), h.Period)
		say("L_null                   %.4f bits; K - L_null = %.3f (SD15: K = -2.414, K - L_null = 12.024)", null, kl.Mean-null)
		say("inpainting (half the bins hidden, 1000 sequences): %.4f of %d hidden bins correct", acc, hidden)
	case "swissroll":
		if *T == 0 {
			*T = 40
		}
		if *basis < 0 {
			*basis = 10
		}
		if *evalN == 0 {
			*evalN = 4000
		}
		if !(*noise > 0) {
			return usagef("-noise %v must be > 0", *noise)
		}
		sr := sd15.SwissRoll(*noise)
		m, err := sd15.NewGaussianModel(2, *T, 1e-3, []int{*width, *width}, *basis, r)
		if err != nil {
			return usagef("%v", err)
		}
		start := time.Now()
		if err := m.Train(ctx, sr.Draw, opt, r); err != nil {
			return err
		}
		trainTime := time.Since(start)
		kl, err := m.EstimateK(ctx, sr.Draw, *evalN, false, r)
		if err != nil {
			return err
		}
		tr, err := m.EstimateK(ctx, sr.Draw, *evalN, true, r)
		if err != nil {
			return err
		}
		ll := sr.ExpectedLogLikelihood(*evalN, r)
		x := make([]float64, 2)
		var null float64
		for i := 0; i < *evalN; i++ {
			sr.Draw(x, r)
			null += m.NullLogLikelihood(x)
		}
		null /= float64(*evalN)
		say("SD15 Swiss roll: unit variance, noise %g, Gaussian diffusion T = %d, %dx%d sigmoid net, basis %d, %d steps of batch %d, lr %g", *noise, *T, *width, *width, *basis, *steps, *batch, *lr)
		say("training time            %v", trainTime.Round(time.Millisecond))
		say("K (KL terms)             %v", kl)
		say("K (trajectories)         %v", tr)
		say("true log-likelihood      %v (quadrature over the roll's angle)", ll)
		say("L_null                   %.4f bits; K - L_null = %.3f (SD15: K = 2.35, K - L_null = 6.45, on their unpublished roll)", null, kl.Mean-null)
	default:
		return usagef("-experiment %q: use heartbeat or swissroll", *exp)
	}
	return nil
}
