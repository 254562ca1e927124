package sd15

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sdekit/sdekit/discretize"
)

// TrainOptions are the knobs of BinaryModel.Train.
type TrainOptions struct {
	Steps int     // optimiser steps
	Batch int     // (x_0, t) pairs per step
	LR    float64 // Adam learning rate at the start; it decays linearly to LRFinal
	// LRFinal is the learning rate of the last step [LR/10]. A long run
	// gains from ending lower: the bound needs the rates to a precision that
	// Adam's steps at LR/10 jitter away.
	LRFinal float64
	// Progress, if non-nil, is called every 100 steps with the step and the
	// mean KL term of the last batch (bits per step); an error stops training.
	Progress func(step int, loss float64) error
}

// Train fits the reverse kernel by minimising the expected KL terms of the
// bound, E_t E_{x_0, x_t} KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)), whose
// gradient with respect to the logit of bit i is p_i - q_i (cross-entropy
// against the posterior rate; lower variance than sampling x_{t-1}). data draws
// one x_0 into its argument.
func (m *BinaryModel) Train(ctx context.Context, data func(dst []float64, r *rand.Rand), opt TrainOptions, r *rand.Rand) error {
	nets := m.nets()
	S := len(nets)
	if S == 1 {
		return m.trainSteps(ctx, m.Net, 2, m.Chain.T, data, opt, r)
	}
	// Each segment's network gets an equal share of the optimiser steps,
	// on examples of its own steps only; Progress sees one count.
	total, progress := opt.Steps, opt.Progress
	for s, net := range nets {
		o := opt
		o.Steps = max(total/S, 1)
		done := s * o.Steps
		if progress != nil {
			o.Progress = func(step int, loss float64) error { return progress(done+step, loss) }
		}
		if err := m.trainSteps(ctx, net, m.segmentStart(s, S), m.segmentStart(s+1, S)-1, data, o, r); err != nil {
			return err
		}
	}
	return nil
}

// trainSteps trains net on examples whose step t is uniform on lo..hi.
func (m *BinaryModel) trainSteps(ctx context.Context, net *Net, lo, hi int, data func(dst []float64, r *rand.Rand), opt TrainOptions, r *rand.Rand) error {
	d := m.D
	x0, xt, in, dOut := make([]float64, d), make([]float64, d), make([]float64, d), make([]float64, d)
	return train(ctx, net, opt, 1, func(w *Work, g *Grad) float64 {
		data(x0, r)
		t := lo + r.IntN(hi-lo+1)
		for i := range xt {
			xt[i] = draw(r, m.Chain.Marginal(x0[i], t))
		}
		input(in, xt)
		out := net.Forward(w, in, t)
		var loss float64
		for i, o := range out {
			q := m.Chain.Posterior(xt[i], x0[i], t)
			var p float64
			p, dOut[i] = m.rate(xt[i], o, t, q)
			loss += discretize.BernoulliKL(q, clampRate(p))
		}
		net.Backward(w, g, dOut, t)
		return loss
	})
}

// train runs opt.Steps Adam steps on net; each step sums example(w, g), which
// draws one training example, accumulates its gradient into g and returns its
// loss, over opt.Batch examples. The learning rate decays linearly from LR to
// LRFinal. Progress gets the mean loss times lossScale (to report bits).
func train(ctx context.Context, net *Net, opt TrainOptions, lossScale float64, example func(w *Work, g *Grad) float64) error {
	if opt.Steps < 1 || opt.Batch < 1 || !(opt.LR > 0) {
		return fmt.Errorf("sd15: train options %+v: steps, batch and learning rate must be positive", opt)
	}
	final := opt.LRFinal
	if final == 0 {
		final = opt.LR / 10
	}
	a := newAdam(net, opt.LR)
	g := net.NewGrad()
	w := net.NewWork()
	for step := 1; step <= opt.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		g.Zero()
		var loss float64
		for b := 0; b < opt.Batch; b++ {
			loss += example(w, g)
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return fmt.Errorf("sd15: training loss became %v at step %d; lower the learning rate", loss, step)
		}
		a.lr = opt.LR + (final-opt.LR)*float64(step-1)/float64(opt.Steps)
		a.step(net, g, 1/float64(opt.Batch))
		if opt.Progress != nil && step%100 == 0 {
			if err := opt.Progress(step, lossScale*loss/float64(opt.Batch)); err != nil {
				return err
			}
		}
	}
	return nil
}
