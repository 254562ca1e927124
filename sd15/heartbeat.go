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
