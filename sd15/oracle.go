package sd15

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sdekit/sdekit/discretize"
)

// HeartbeatOracle is the best factorised reverse kernel for the heartbeat
// data under binomial diffusion, and its bound K computed exactly (see the
// package doc, "The factorised ceiling"). Bin j belongs to class j mod Period;
// the sequence of phase k has its ones exactly on class k. Its rate for bin j
// of class c is the posterior mean
//
//	rho_j(x_t) = E_q[x_{t-1,j} | x_t] = w_c(x_t) q(x_{t-1,j}=1 | x_{t,j}, 1) + (1 - w_c(x_t)) q(x_{t-1,j}=1 | x_{t,j}, 0),
//
// w_k(x_t) = q(phase k | x_t), which depends on x_t only through the numbers
// of ones n_c on each class:
//
//	log w_k = n_k lambda_t + L_k mu_t + const,  lambda_t = log(a(1-b)/(b(1-a))),  mu_t = log((1-a)/(1-b)),
//
// a = q(x_t = 1 | x_0 = 1), b = q(x_t = 1 | x_0 = 0), L_k the size of class k.
type HeartbeatOracle struct {
	Data  Heartbeat
	Chain discretize.Binomial
	size  []int // size[c]: the number of bins of class c
}

// maxCountVectors bounds prod_c (L_c + 1), the number of class-count vectors
// Bound sums over at each step (3125 for SD15's 20 bins of period 5).
const maxCountVectors = 1 << 20

// NewHeartbeatOracle returns the oracle for the data h under the chain c.
func NewHeartbeatOracle(h Heartbeat, c discretize.Binomial) (*HeartbeatOracle, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if h.Period < 1 || h.Length < h.Period {
		return nil, fmt.Errorf("sd15: heartbeat of %d bins with period %d: need 1 <= period <= length", h.Length, h.Period)
	}
	o := &HeartbeatOracle{Data: h, Chain: c, size: make([]int, h.Period)}
	n := 1
	for j := 0; j < h.Length; j++ {
		o.size[j%h.Period]++
	}
	for _, l := range o.size {
		if n *= l + 1; n > maxCountVectors {
			return nil, fmt.Errorf("sd15: heartbeat of %d bins with period %d has more than %d class-count vectors; the exact bound would take too long", h.Length, h.Period, maxCountVectors)
		}
	}
	return o, nil
}

// stepLaw holds what one step t of the oracle needs.
type stepLaw struct {
	lambda, mu float64
	// post[x][s], postC[x][s]: q(x_{t-1,j} = 1 | x_{t,j} = x, x_{0,j} = s) and
	// its complement, each straight from Bayes' rule (no 1 - p cancellation).
	post, postC [2][2]float64
	a, b        float64
}

func (o *HeartbeatOracle) law(t int) stepLaw {
	c := o.Chain
	var l stepLaw
	l.a, l.b = c.Marginal(1, t), c.Marginal(0, t)
	l.lambda = math.Log(l.a) + math.Log1p(-l.b) - math.Log(l.b) - math.Log1p(-l.a)
	l.mu = math.Log1p(-l.a) - math.Log1p(-l.b)
	for x := 0; x < 2; x++ {
		for s := 0; s < 2; s++ {
			m := c.Marginal(float64(s), t-1)
			q1 := m * bernoulli(c.Step(1, t), float64(x))
			q0 := (1 - m) * bernoulli(c.Step(0, t), float64(x))
			l.post[x][s], l.postC[x][s] = q1/(q1+q0), q0/(q1+q0)
		}
	}
	return l
}

// phaseWeights writes w_k = q(phase k | class counts n) into w.
func (o *HeartbeatOracle) phaseWeights(w []float64, n []int, l *stepLaw) {
	top := math.Inf(-1)
	for k := range w {
		w[k] = float64(n[k])*l.lambda + float64(o.size[k])*l.mu
		top = math.Max(top, w[k])
	}
	var s float64
	for k := range w {
		w[k] = math.Exp(w[k] - top)
		s += w[k]
	}
	for k := range w {
		w[k] /= s
	}
}

// RatesTo writes the oracle's rates p(x_{t-1,j} = 1 | x_t) into dst, t = 2..T.
func (o *HeartbeatOracle) RatesTo(dst, xt []float64, t int) {
	l := o.law(t)
	// The counts and weights of a period up to 16 (SD15's is 5) live on the
	// stack: this runs once per step of every trajectory.
	var nb [16]int
	var wb [16]float64
	n, w := nb[:0], wb[:0]
	if o.Data.Period > len(nb) {
		n, w = make([]int, o.Data.Period), make([]float64, o.Data.Period)
	}
	n, w = n[:o.Data.Period], w[:o.Data.Period]
	for j, v := range xt {
		if v > 0.5 {
			n[j%o.Data.Period]++
		}
	}
	o.phaseWeights(w, n, &l)
	for j, v := range xt {
		x, wc := 0, w[j%o.Data.Period]
		if v > 0.5 {
			x = 1
		}
		dst[j] = wc*l.post[x][1] + (1-wc)*l.post[x][0]
	}
}

// OracleBound is the exact bound of the oracle kernel, in bits per sequence,
// averaged over the Period equally likely sequences.
type OracleBound struct {
	// K by the KL form: -sum_{t=2}^T E KL(q(x_{t-1}|x_t,x_0) || p(x_{t-1}|x_t))
	// + E log p(x_0|x_1) - KL(q(x_T|x_0) || pi), the last 0 as beta_T = 1.
	K float64
	// KEntropy is K by the entropy form, sum over transitions of
	// E log p - E log q (package doc); it equals K up to rounding.
	KEntropy float64
	// KPaper is SD15's eq. 14, -sum E KL + H_q(X_T|X_0) - H_q(X_1|X_0) - H_p(X_T),
	// and Edge = E log pi(x_0) - E log pi(x_1), the part of E log p(x_0|x_1) it
	// leaves out: K = KPaper + Edge, and Edge = 0 when pi's rate P is the data's
	// mean bit rate 1/Period (SD15's heartbeat).
	KPaper, Edge float64
	// StepKL[t-2] is E KL(q(x_{t-1}|x_t,x_0) || p(x_{t-1}|x_t)) at step t = 2..T,
	// the price of the factorised kernel at that step (0 would be exact).
	StepKL []float64
	// FirstStep is E log2 p(x_0 | x_1) under the fixed first step.
	FirstStep float64
}

// Bound computes the oracle's K exactly: at each step it sums over the
// prod_c (L_c + 1) vectors of class counts (3125 for SD15's heartbeat) instead
// of the 2^Length states, with the law of the counts under phase k
// n_k ~ Bin(L_k, a), n_c ~ Bin(L_c, b) for c != k, independent. Its cost is
// T times that, about a second for T = 2000.
func (o *HeartbeatOracle) Bound() OracleBound {
	h, c := o.Data, o.Chain
	np := h.Period
	d := float64(h.Length)
	b := OracleBound{StepKL: make([]float64, c.T-1)}
	seq := make([]float64, h.Length)
	var h1 float64 // H_q(X_1 | X_0)
	for k := 0; k < np; k++ {
		h.Sequence(seq, k)
		b.FirstStep += firstStepTerm(c, seq) / float64(np)
		for _, v := range seq {
			h1 += discretize.BernoulliEntropy(c.Marginal(v, 1)) / float64(np)
		}
	}
	// Entropy form: E log pi(x_T) = -D H(P) (x_T ~ pi exactly), plus
	// sum_{t=1}^T E H(q(x_t|x_{t-1})) over each bit, whose x_{t-1} has rate
	// Keep(t-1)/Period + (1 - Keep(t-1)) P averaged over the phases.
	b.KEntropy = -d*discretize.BernoulliEntropy(c.P) + b.FirstStep
	for t := 1; t <= c.T; t++ {
		m := c.Keep(t-1)/float64(np) + (1-c.Keep(t-1))*c.P
		b.KEntropy += d * (m*discretize.BernoulliEntropy(c.Step(1, t)) + (1-m)*discretize.BernoulliEntropy(c.Step(0, t)))
	}
	// Edge = E log pi(x_0) - E log pi(x_1): the mean bit rates of x_0 and x_1
	// are 1/Period and Keep(1)/Period + (1 - Keep(1)) P.
	logPi := func(rate float64) float64 { return d * (rate*math.Log2(c.P) + (1-rate)*math.Log2(1-c.P)) }
	b.Edge = logPi(1/float64(np)) - logPi(c.Keep(1)/float64(np)+(1-c.Keep(1))*c.P)

	n := make([]int, np)
	w := make([]float64, np)
	kl0, kl1 := make([]float64, np), make([]float64, np)
	pa, pb := make([][]float64, np), make([][]float64, np)
	var meanKL float64
	for t := 2; t <= c.T; t++ {
		l := o.law(t)
		for k := range pa {
			pa[k], pb[k] = binomialPMF(o.size[k], l.a), binomialPMF(o.size[k], l.b)
		}
		// H(q(x_{t-1,j} | x_{t,j}, x_{0,j})) for each (x, s), for KL = -H - cross.
		var hq [2][2]float64
		for x := range hq {
			for s := range hq[x] {
				hq[x][s] = entropyBits(l.post[x][s], l.postC[x][s])
			}
		}
		var stepKL, ent float64
		clear(n)
		for {
			o.phaseWeights(w, n, &l)
			var entN float64 // sum_j H(rho_j(x_t)) for x_t with counts n
			for cl := range n {
				ones, zeros := float64(n[cl]), float64(o.size[cl]-n[cl])
				// rho and 1 - rho for x_{t,j} = 1 and 0.
				r1 := w[cl]*l.post[1][1] + (1-w[cl])*l.post[1][0]
				r1c := w[cl]*l.postC[1][1] + (1-w[cl])*l.postC[1][0]
				r0 := w[cl]*l.post[0][1] + (1-w[cl])*l.post[0][0]
				r0c := w[cl]*l.postC[0][1] + (1-w[cl])*l.postC[0][0]
				lr1, lr1c, lr0, lr0c := math.Log2(r1), math.Log2(r1c), math.Log2(r0), math.Log2(r0c)
				entN -= ones*(r1*lr1+r1c*lr1c) + zeros*(r0*lr0+r0c*lr0c)
				klFor := func(s int) float64 {
					return ones*(-hq[1][s]-l.post[1][s]*lr1-l.postC[1][s]*lr1c) +
						zeros*(-hq[0][s]-l.post[0][s]*lr0-l.postC[0][s]*lr0c)
				}
				kl0[cl], kl1[cl] = klFor(0), klFor(1)
			}
			var kl0Sum float64
			for _, v := range kl0 {
				kl0Sum += v
			}
			var pN float64 // q(counts n), the mixture over phases
			for k := 0; k < np; k++ {
				p := 1.0
				for cl := range n {
					if cl == k {
						p *= pa[cl][n[cl]]
					} else {
						p *= pb[cl][n[cl]]
					}
				}
				stepKL += p * (kl0Sum - kl0[k] + kl1[k])
				pN += p
			}
			ent += pN * entN
			if !nextCounts(n, o.size) {
				break
			}
		}
		b.StepKL[t-2] = stepKL / float64(np)
		meanKL += b.StepKL[t-2]
		b.KEntropy -= ent / float64(np)
	}
	b.K = -meanKL + b.FirstStep
	// H_q(X_T|X_0) = H_p(X_T) = D H(P): x_T ~ pi whatever x_0.
	b.KPaper = -meanKL - h1
	return b
}

// nextCounts advances the mixed-radix counter n (digit c in 0..size[c]) and
// reports false once it wraps around to zero.
func nextCounts(n, size []int) bool {
	for c := range n {
		if n[c] < size[c] {
			n[c]++
			return true
		}
		n[c] = 0
	}
	return false
}

// binomialPMF returns Bin(k; n, p) for k = 0..n.
func binomialPMF(n int, p float64) []float64 {
	v := make([]float64, n+1)
	for k := range v {
		lg := lgammaInt(n+1) - lgammaInt(k+1) - lgammaInt(n-k+1)
		v[k] = math.Exp(lg + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p))
	}
	return v
}

func lgammaInt(n int) float64 {
	v, _ := math.Lgamma(float64(n))
	return v
}

// entropyBits returns -p log2 p - pc log2 pc for p + pc = 1 (0 log 0 = 0).
func entropyBits(p, pc float64) float64 {
	var h float64
	if p > 0 {
		h -= p * math.Log2(p)
	}
	if pc > 0 {
		h -= pc * math.Log2(pc)
	}
	return h
}

// BoundKL returns one unbiased sample of K(x_0) in bits by the KL form, as
// BinaryModel.BoundKL does for a trained kernel (w is unused).
func (o *HeartbeatOracle) BoundKL(x0 []float64, r *rand.Rand, _ *Work) float64 {
	return boundKL(o.Chain, o.RatesTo, x0, r)
}

// BoundTrajectory returns one unbiased sample of K(x_0) in bits from one
// forward trajectory, as BinaryModel.BoundTrajectory (w is unused).
func (o *HeartbeatOracle) BoundTrajectory(x0 []float64, r *rand.Rand, _ *Work) float64 {
	return boundTrajectory(o.Chain, o.RatesTo, x0, r)
}

// EstimateK averages n samples of the oracle's bound by Monte Carlo, as
// BinaryModel.EstimateK; Bound gives its exact value.
func (o *HeartbeatOracle) EstimateK(ctx context.Context, data func(dst []float64, r *rand.Rand), n int, trajectory bool, r *rand.Rand) (Estimate, error) {
	return estimateK(ctx, nil, o.Data.Length, o.BoundKL, o.BoundTrajectory, data, n, trajectory, r)
}

// gapSample returns one unbiased sample, in bits, of the mean gap between the
// ceiling and the bound of the kernel rates, K* - K = sum_{t=2}^T
// E_{x_t} sum_j KL(rho*_j(x_t) || rates_j(x_t)): for each t it draws x_t from
// q(x_t | x_0) and adds the KL between the two kernels at x_t. (Averaged over
// x_0, E KL(q(.|x_t,x_0) || p) = E KL(q(.|x_t,x_0) || rho*) + E KL(rho* || p),
// because rho* is the mean of q(.|x_t,x_0) given x_t and the cross-entropy of
// a Bernoulli is linear in its first argument.) It is far less noisy than K
// itself: the oracle's rates absorb the randomness of x_0 given x_t.
func (o *HeartbeatOracle) gapSample(rates binaryRates, x0 []float64, r *rand.Rand) float64 {
	c := o.Chain
	d := len(x0)
	xt, p, ps := make([]float64, d), make([]float64, d), make([]float64, d)
	var g float64
	for t := 2; t <= c.T; t++ {
		for i := range xt {
			xt[i] = draw(r, c.Marginal(x0[i], t))
		}
		rates(p, xt, t)
		o.RatesTo(ps, xt, t)
		for i := range xt {
			g += discretize.BernoulliKL(ps[i], clampRate(p[i]))
		}
	}
	return g
}

// EstimateGap estimates K* - K for the trained model m, whose chain must be
// the oracle's, from n fresh x_0 drawn from data: K = Bound().K - the gap is
// an estimate of the model's bound with a far smaller standard error than
// EstimateK's.
func (o *HeartbeatOracle) EstimateGap(ctx context.Context, m *BinaryModel, data func(dst []float64, r *rand.Rand), n int, r *rand.Rand) (Estimate, error) {
	if m.Chain != o.Chain || m.D != o.Data.Length {
		return Estimate{}, fmt.Errorf("sd15: model of %d bits on chain %+v against an oracle of %d bits on chain %+v", m.D, m.Chain, o.Data.Length, o.Chain)
	}
	gap := func(x0 []float64, r *rand.Rand, w *Work) float64 { return o.gapSample(m.rates(w), x0, r) }
	return estimateK(ctx, m.Net, m.D, gap, gap, data, n, false, r)
}
