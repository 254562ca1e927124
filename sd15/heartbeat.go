package sd15

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sdekit/sdekit/discretize"
)

// Heartbeat is SD15's binary heartbeat data: sequences of Length bins with a 1
// in every Period-th bin, the phase uniform over Period values. With Length 20
// and Period 5 every sequence has 4 ones and the true log-likelihood is
// log2(1/5) = -2.322 bits per sequence.
type Heartbeat struct {
	Length, Period int
}

// NewHeartbeat returns the data of SD15 Table 1: 20 bins, period 5.
func NewHeartbeat() Heartbeat { return Heartbeat{Length: 20, Period: 5} }

// Sequence writes the sequence of the given phase into dst (0/1 values).
func (h Heartbeat) Sequence(dst []float64, phase int) {
	for i := range dst[:h.Length] {
		dst[i] = 0
		if i%h.Period == phase {
			dst[i] = 1
		}
	}
}

// LogLikelihood is the true log-likelihood of every heartbeat sequence, in bits.
func (h Heartbeat) LogLikelihood() float64 { return -math.Log2(float64(h.Period)) }

// OnesRate is the fraction of ones in every sequence.
func (h Heartbeat) OnesRate() float64 {
	ones := (h.Length + h.Period - 1) / h.Period
	return float64(ones) / float64(h.Length)
}

// BinaryModel is a binomial diffusion with the learned reverse kernel
//
//	p(x_{t-1} = 1 | x_t) = sigmoid(logit(rho_t(x_t)) + net(x_t, t)),   t = 2..T,
//
// and the first step p(x_0 | x_1) = q(x_1 | x_0) pi(x_0)/pi(x_1) = rho_1(x_1)
// fixed, as in SD15. rho_t(x_t) = q(x_t | x_{t-1} = 1) pi(1) / q(x_t) is the exact
// reverse kernel of the chain when the data are the prior pi itself (B(P) is
// stationary, so the reversed chain is known). The network learns a correction
// to it: an untrained model is the null model, and each of the T readouts starts
// from "x_{t-1} is almost surely x_t" instead of having to learn it. SD15 leaves
// the parameterisation of f_b open; this offset is our choice.
//
// With X0 set, the network predicts x_0 instead (the parameterisation of
// Austin et al. 2021, D3PM): its output is a correction to the logit of
// xhat_i = P(x_{0,i} = 1 | x_t), starting from the posterior of bit i alone
// under x_0 ~ B(P), and the rate is
//
//	p(x_{t-1,i} = 1 | x_t) = xhat_i q(x_{t-1,i}=1 | x_{t,i}, 1) + (1 - xhat_i) q(x_{t-1,i}=1 | x_{t,i}, 0).
//
// That is the form of the best factorised kernel (HeartbeatOracle), which it
// equals when xhat_i is the exact posterior mean of x_{0,i}; the sharp change
// of the kernel with t near t = T (beta_T = 1) is then in closed form and the
// network only has to learn how much x_t says about x_0, smooth in t.
type BinaryModel struct {
	Chain discretize.Binomial
	Net   *Net
	D     int
	X0    bool
	// Segments, when it holds S > 1 networks, splits the steps 2..T into S
	// runs of nearly equal length, run s served by Segments[s] alone (Net is
	// Segments[0]): an ensemble of experts over time, as eDiff-I's
	// (Balaji et al. 2022) denoisers for ranges of noise levels. One network
	// shared by all 2000 steps fits the middle of the chain far worse than
	// one trained on a window of it (docs/cli.md, sd15).
	Segments []*Net
}

// NewBinaryModel returns an untrained model for D-bit data with SD15's
// network: three sigmoid hidden layers of 50 units.
// basis = 0 gives one readout per step, as SD15's heartbeat model; basis > 0
// ties them through that many temporal basis functions.
func NewBinaryModel(chain discretize.Binomial, d, basis int, r *rand.Rand) (*BinaryModel, error) {
	return NewBinaryModelSegments(chain, d, basis, 1, r)
}

// NewBinaryModelSegments is NewBinaryModel with a network of its own for each
// of segments runs of steps (BinaryModel.Segments); 1 gives one network.
func NewBinaryModelSegments(chain discretize.Binomial, d, basis, segments int, r *rand.Rand) (*BinaryModel, error) {
	if err := chain.Validate(); err != nil {
		return nil, err
	}
	if segments < 1 || segments > chain.T-1 {
		return nil, fmt.Errorf("sd15: %d time segments for %d learned steps; use 1 to %d", segments, chain.T-1, chain.T-1)
	}
	m := &BinaryModel{Chain: chain, D: d}
	for range segments {
		m.Segments = append(m.Segments, NewNet(d, d, chain.T, []int{50, 50, 50}, basis, r))
	}
	m.Net = m.Segments[0]
	if segments == 1 {
		m.Segments = nil
	}
	return m, nil
}

// nets returns the model's networks, one per segment.
func (m *BinaryModel) nets() []*Net {
	if len(m.Segments) > 1 {
		return m.Segments
	}
	return []*Net{m.Net}
}

// segmentStart returns the first step of segment s of S (s = S: T + 1).
func (m *BinaryModel) segmentStart(s, S int) int {
	return 2 + (s*(m.Chain.T-1)+S-1)/S
}

// netFor returns the network that serves step t.
func (m *BinaryModel) netFor(t int) *Net {
	S := len(m.Segments)
	if S < 2 {
		return m.Net
	}
	return m.Segments[(t-2)*S/(m.Chain.T-1)]
}

// input maps bits to the network's +-1 input.
func input(dst, x []float64) {
	for i, v := range x {
		dst[i] = 2*v - 1
	}
}

// Rates writes p(x_{t-1} = 1 | x_t) for t = 2..T into dst.
func (m *BinaryModel) Rates(w *Work, dst, xt []float64, t int, in []float64) {
	input(in, xt)
	out := m.netFor(t).Forward(w, in, t)
	for i, o := range out {
		dst[i], _ = m.rate(xt[i], o, t, 0)
	}
}

// rate returns p(x_{t-1,i} = 1 | x_t) for one bit from the network's output o,
// and the derivative with respect to o of KL(B(q) || B(p)) in nats.
func (m *BinaryModel) rate(xt, o float64, t int, q float64) (p, grad float64) {
	if !m.X0 {
		p = sigmoid(m.baseLogit(xt, t) + o)
		return p, p - q
	}
	c := m.Chain
	xhat := sigmoid(m.baseLogitX0(xt, t) + o)
	p1, p0 := c.Posterior(xt, 1, t), c.Posterior(xt, 0, t)
	p = xhat*p1 + (1-xhat)*p0
	pc := clampRate(p)
	// dKL/dp = (p - q)/(p (1 - p)); dp/do = (p1 - p0) xhat (1 - xhat).
	return p, (p - q) / (pc * (1 - pc)) * (p1 - p0) * xhat * (1 - xhat)
}

// baseLogitX0 returns logit P(x_0 = 1 | x_t) for one bit when x_0 ~ B(P)
// and that bit of x_t is all that is seen.
func (m *BinaryModel) baseLogitX0(xt float64, t int) float64 {
	c := m.Chain
	return math.Log(c.P*bernoulli(c.Marginal(1, t), xt)) - math.Log((1-c.P)*bernoulli(c.Marginal(0, t), xt))
}

// baseLogit returns logit(rho_t(x_t)) for one bit.
func (m *BinaryModel) baseLogit(xt float64, t int) float64 {
	p := m.Chain.P
	l1 := bernoulli(m.Chain.Step(1, t), xt) * p
	l0 := bernoulli(m.Chain.Step(0, t), xt) * (1 - p)
	return math.Log(l1) - math.Log(l0)
}

// FirstStepRate returns p(x_0 = 1 | x_1) for one bit of x_1 under the fixed
// first step q(x_1 | x_0) pi(x_0)/pi(x_1).
func (m *BinaryModel) FirstStepRate(x1 float64) float64 {
	return firstStepRate(m.Chain, x1)
}

func bernoulli(rate, x float64) float64 {
	if x > 0.5 {
		return rate
	}
	return 1 - rate
}

func draw(r *rand.Rand, rate float64) float64 {
	if r.Float64() < rate {
		return 1
	}
	return 0
}

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

// clampRate keeps a rate away from 0 and 1 so that logarithms stay finite.
func clampRate(p float64) float64 { return math.Min(math.Max(p, 1e-12), 1-1e-12) }

// Estimate is a Monte Carlo estimate with its standard error, in bits.
type Estimate struct {
	Mean, StdErr float64
	N            int
}

func (e Estimate) String() string {
	return fmt.Sprintf("%.4f +- %.4f bits (n = %d)", e.Mean, e.StdErr, e.N)
}

func summarise(v []float64) Estimate {
	var m float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	var ss float64
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	se := 0.0
	if len(v) > 1 {
		se = math.Sqrt(ss / float64(len(v)-1) / float64(len(v)))
	}
	return Estimate{Mean: m, StdErr: se, N: len(v)}
}

// Inpaint fills the bits of x whose mask is false by sampling the reverse
// chain multiplied by r(x) that clamps the known bits (SD15 section 2.5: the
// perturbed binomial rate c d / (c d + (1 - c)(1 - d)) with d = the known bit,
// and d = 1/2 leaving unknown bits to the model). x is overwritten.
func (m *BinaryModel) Inpaint(x []float64, known []bool, r *rand.Rand, w *Work) {
	d := m.D
	cur, in, rates := make([]float64, d), make([]float64, d), make([]float64, d)
	for i := range cur {
		cur[i] = draw(r, m.Chain.P)
		if known[i] {
			cur[i] = x[i]
		}
	}
	for t := m.Chain.T; t >= 1; t-- {
		if t >= 2 {
			m.Rates(w, rates, cur, t, in)
		} else {
			for i := range rates {
				rates[i] = m.FirstStepRate(cur[i])
			}
		}
		for i := range cur {
			dd := 0.5
			if known[i] {
				dd = x[i]
			}
			cur[i] = draw(r, discretize.PerturbedRate(rates[i], dd))
		}
	}
	copy(x, cur)
}

// InpaintAccuracy hides each bin of n fresh heartbeat sequences with
// probability hide, fills the hidden bins with Inpaint, and returns the
// fraction of hidden bins filled correctly and the number of hidden bins.
func (m *BinaryModel) InpaintAccuracy(h Heartbeat, n int, hide float64, r *rand.Rand) (float64, int) {
	acc, hidden, _ := m.inpaintAccuracy(context.Background(), h, n, hide, r, nil)
	return acc, hidden
}

// inpaintAccuracy is InpaintAccuracy that stops on ctx (checked per
// sequence) and reports each sequence to eval.
func (m *BinaryModel) inpaintAccuracy(ctx context.Context, h Heartbeat, n int, hide float64, r *rand.Rand, eval func(phase string, done, total int)) (float64, int, error) {
	w := m.Net.NewWork()
	truth, x := make([]float64, m.D), make([]float64, m.D)
	known := make([]bool, m.D)
	right, total := 0, 0
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		if eval != nil {
			eval("inpainting", i, n)
		}
		h.Sequence(truth, r.IntN(h.Period))
		for j := range known {
			known[j] = r.Float64() >= hide
			x[j] = truth[j]
		}
		m.Inpaint(x, known, r, w)
		for j := range known {
			if !known[j] {
				total++
				if x[j] == truth[j] {
					right++
				}
			}
		}
	}
	if total == 0 {
		return 1, 0, nil
	}
	return float64(right) / float64(total), total, nil
}
