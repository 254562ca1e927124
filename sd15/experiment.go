package sd15

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/internal/rng"
)

// NoBasis as Experiment.Basis gives every step its own readout, as in SD15.
const NoBasis = -1

// Experiment configures one of SD15's two experiments for Run. A zero field
// takes the default in brackets; the defaults are those of the command line
// (sdesample sd15, docs/cli.md).
type Experiment struct {
	// Name is "heartbeat" (binary heartbeat, binomial diffusion, SD15 Table
	// 1) or "swissroll" (Gaussian diffusion) ["heartbeat"].
	Name string
	// T is the number of diffusion steps [2000 heartbeat, 40 swissroll].
	T int
	// Steps is the number of training steps [30000].
	Steps int
	// Batch is the number of training examples per step [64 heartbeat, 256
	// swissroll].
	Batch int
	// LR is Adam's learning rate at the start; it decays linearly to a tenth
	// [3e-3 heartbeat, 1e-2 swissroll].
	LR float64
	// LRFinal is the learning rate of the last training step [LR/10].
	LRFinal float64
	// Segments is the number of runs of steps each served by a network of
	// its own (BinaryModel.Segments) [1].
	Segments int
	// StepReadouts gives the network a readout per step on top of the
	// temporal basis (Net.AddStepReadouts) [false].
	StepReadouts bool
	// Basis is the number of temporal basis functions tying the readouts [20
	// heartbeat, 10 swissroll]; NoBasis gives one readout per step, as in SD15.
	Basis int
	// X0 makes the heartbeat's network predict x_0 (BinaryModel.X0) instead
	// of correcting the reverse rate directly [false].
	X0 bool
	// Noise is the swissroll's noise std in the units of the unscaled roll [0.5].
	Noise float64
	// Width is the width of the swissroll's two sigmoid hidden layers [64].
	Width int
	// Eval is the number of data points for each estimate [400 heartbeat,
	// 4000 swissroll]: K by its KL terms; K by trajectories (10 Eval for the
	// heartbeat, whose trajectory estimate is the noisier); and, for the
	// swissroll, the quadrature log-likelihood and L_null.
	Eval int
	// Inpaint is the number of heartbeat sequences, half their bins hidden,
	// for the inpainting accuracy [1000].
	Inpaint int
	// Seed seeds the one stream, rng.New(Seed, 0, rng.Data), that draws the
	// initial weights, the training data and every estimate in that order.
	// It is used as given (0 is a seed like any other).
	Seed uint64
}

// WithDefaults returns e with its zero fields set to the defaults, or an
// error naming the first field out of range.
func (e Experiment) WithDefaults() (Experiment, error) {
	if e.Name == "" {
		e.Name = "heartbeat"
	}
	hb := e.Name == "heartbeat"
	if !hb && e.Name != "swissroll" {
		return e, fmt.Errorf("sd15: experiment %q: use heartbeat or swissroll", e.Name)
	}
	pick := func(heartbeat, swissroll int) int {
		if hb {
			return heartbeat
		}
		return swissroll
	}
	if e.T == 0 {
		e.T = pick(2000, 40)
	}
	if e.Steps == 0 {
		e.Steps = 30000
	}
	if e.Batch == 0 {
		e.Batch = pick(64, 256)
	}
	if e.LR == 0 {
		e.LR = 3e-3
		if !hb {
			e.LR = 1e-2
		}
	}
	if e.Basis == 0 {
		e.Basis = pick(20, 10)
	}
	if e.Noise == 0 {
		e.Noise = 0.5
	}
	if e.Width == 0 {
		e.Width = 64
	}
	if e.Segments == 0 {
		e.Segments = 1
	}
	if e.Eval == 0 {
		e.Eval = pick(400, 4000)
	}
	if e.Inpaint == 0 {
		e.Inpaint = 1000
	}
	switch {
	case e.T < 2:
		return e, fmt.Errorf("sd15: T = %d; need at least 2 diffusion steps", e.T)
	case e.Steps < 1 || e.Batch < 1 || e.Eval < 1 || e.Inpaint < 1 || e.Width < 1:
		return e, fmt.Errorf("sd15: steps %d, batch %d, eval %d, inpaint %d, width %d: all must be positive", e.Steps, e.Batch, e.Eval, e.Inpaint, e.Width)
	case !(e.LR > 0) || math.IsInf(e.LR, 0):
		return e, fmt.Errorf("sd15: learning rate %v must be positive and finite", e.LR)
	case e.LRFinal < 0 || math.IsInf(e.LRFinal, 0) || math.IsNaN(e.LRFinal):
		return e, fmt.Errorf("sd15: final learning rate %v must be positive and finite (0: a tenth of the first)", e.LRFinal)
	case e.Segments < 1 || e.Segments > e.T-1:
		return e, fmt.Errorf("sd15: %d time segments for T = %d; use 1 to T - 1", e.Segments, e.T)
	case e.StepReadouts && e.Basis == NoBasis:
		return e, fmt.Errorf("sd15: step readouts on top of no temporal basis: the model has one readout per step already; drop one of the two")
	case e.Basis < NoBasis:
		return e, fmt.Errorf("sd15: basis %d; use a positive count or NoBasis", e.Basis)
	case !(e.Noise > 0) || math.IsInf(e.Noise, 0):
		return e, fmt.Errorf("sd15: noise %v must be positive and finite", e.Noise)
	}
	return e, nil
}

// Result is the outcome of Run; all log-likelihoods are in bits.
type Result struct {
	// Experiment is the configuration run, with the defaults filled in.
	Experiment Experiment
	// KKL and KTraj are the bound K by its KL terms and by forward
	// trajectories; they must agree within their standard errors.
	KKL, KTraj Estimate
	// True is the true log-likelihood: exact for the heartbeat (log2 1/5, N
	// = 1), by quadrature over the roll's angle for the swissroll. K can
	// never exceed it.
	True Estimate
	// Null is L_null, the mean log-likelihood under the prior alone (the
	// heartbeat's sequence of phase 0; the swissroll's Eval fresh points).
	Null float64
	// InpaintAccuracy is the fraction of hidden heartbeat bins filled
	// correctly, out of Hidden (NaN and 0 for the swissroll).
	InpaintAccuracy float64
	Hidden          int
	TrainTime       time.Duration
	// Ceiling is the exact bound of the best factorised reverse kernel
	// (HeartbeatOracle) on the same chain, and Gap the estimated K* - K of
	// the trained model (heartbeat only: nil and zero for the swissroll).
	Ceiling *OracleBound
	Gap     Estimate
	// PaperK and PaperKMinusNull are SD15 Table 1's K and K - L_null (the
	// swissroll's on SD15's unpublished roll).
	PaperK, PaperKMinusNull float64
	// The trained model: Binary for the heartbeat, Gaussian for the swissroll.
	Binary    *BinaryModel
	Gaussian  *GaussianModel
	Heartbeat Heartbeat
	SwissRoll SwissRollData
}

// Run trains the experiment's model and estimates K two ways, the true
// log-likelihood, L_null and (heartbeat) the inpainting accuracy. progress,
// if not nil, is called every 100 training steps with the step and the mean
// KL term of the last batch in bits; an error from it, or from ctx (checked
// once per training step and per estimated point), stops the run.
func Run(ctx context.Context, e Experiment, progress func(step int, loss float64) error) (*Result, error) {
	return RunEval(ctx, e, progress, nil)
}

// RunEval is Run that also reports the evaluation phases: eval, if not nil,
// is called with the phase's name, the points done and the phase's total,
// at the start of every phase and after each point (the evaluation of a long
// chain takes minutes; it was silent).
func RunEval(ctx context.Context, e Experiment, progress func(step int, loss float64) error, eval func(phase string, done, total int)) (*Result, error) {
	e, err := e.WithDefaults()
	if err != nil {
		return nil, err
	}
	r := rng.New(e.Seed, 0, rng.Data)
	opt := TrainOptions{Steps: e.Steps, Batch: e.Batch, LR: e.LR, LRFinal: e.LRFinal, Progress: progress}
	basis := e.Basis
	if basis == NoBasis {
		basis = 0
	}
	res := &Result{Experiment: e, InpaintAccuracy: math.NaN()}
	if e.Name == "heartbeat" {
		h := NewHeartbeat()
		m, err := NewBinaryModelSegments(discretize.Binomial{T: e.T, P: h.OnesRate()}, h.Length, basis, e.Segments, r)
		if err != nil {
			return nil, err
		}
		m.X0 = e.X0
		if e.StepReadouts {
			for _, n := range m.nets() {
				n.AddStepReadouts()
			}
		}
		res.Binary, res.Heartbeat = m, h
		res.PaperK, res.PaperKMinusNull = -2.414, 12.024
		data := func(dst []float64, r *rand.Rand) { h.Sequence(dst, r.IntN(h.Period)) }
		start := time.Now()
		if err := m.Train(ctx, data, opt, r); err != nil {
			return nil, err
		}
		res.TrainTime = time.Since(start)
		if res.KKL, err = m.EstimateK(ctx, counted(eval, "K by KL terms", e.Eval, data), e.Eval, false, r); err != nil {
			return nil, err
		}
		if res.KTraj, err = m.EstimateK(ctx, counted(eval, "K by trajectories", 10*e.Eval, data), 10*e.Eval, true, r); err != nil {
			return nil, err
		}
		o, err := NewHeartbeatOracle(h, m.Chain)
		if err != nil {
			return nil, err
		}
		if res.Gap, err = o.EstimateGap(ctx, m, counted(eval, "gap to the ceiling", e.Eval, data), e.Eval, r); err != nil {
			return nil, err
		}
		ceiling := o.Bound()
		res.Ceiling = &ceiling
		x := make([]float64, h.Length)
		h.Sequence(x, 0)
		res.Null = m.NullLogLikelihood(x)
		res.True = Estimate{Mean: h.LogLikelihood(), N: 1}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if res.InpaintAccuracy, res.Hidden, err = m.inpaintAccuracy(ctx, h, e.Inpaint, 0.5, r, eval); err != nil {
			return nil, err
		}
		return res, nil
	}
	sr := SwissRoll(e.Noise)
	m, err := NewGaussianModel(2, e.T, 1e-3, []int{e.Width, e.Width}, basis, r)
	if err != nil {
		return nil, err
	}
	res.Gaussian, res.SwissRoll = m, sr
	res.PaperK, res.PaperKMinusNull = 2.35, 6.45
	start := time.Now()
	if err := m.Train(ctx, sr.Draw, opt, r); err != nil {
		return nil, err
	}
	res.TrainTime = time.Since(start)
	if res.KKL, err = m.EstimateK(ctx, counted(eval, "K by KL terms", e.Eval, sr.Draw), e.Eval, false, r); err != nil {
		return nil, err
	}
	if res.KTraj, err = m.EstimateK(ctx, counted(eval, "K by trajectories", e.Eval, sr.Draw), e.Eval, true, r); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.True = sr.ExpectedLogLikelihood(e.Eval, r)
	x := make([]float64, 2)
	for i := 0; i < e.Eval; i++ {
		sr.Draw(x, r)
		res.Null += m.NullLogLikelihood(x)
	}
	res.Null /= float64(e.Eval)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// counted wraps a data source of an estimate so that each point drawn
// reports the phase's progress to eval (nil: data itself).
func counted(eval func(phase string, done, total int), phase string, total int, data func([]float64, *rand.Rand)) func([]float64, *rand.Rand) {
	if eval == nil {
		return data
	}
	done := 0
	eval(phase, 0, total)
	return func(dst []float64, r *rand.Rand) {
		if done > 0 {
			eval(phase, done, total)
		}
		done++
		data(dst, r)
	}
}
