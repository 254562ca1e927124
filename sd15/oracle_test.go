package sd15

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sdekit/sdekit/discretize"
)

// bruteBound computes K for the oracle kernel straight from its definition,
//
//	K = E_q[log2 pi(x_T)] + sum_{t=2}^T E_q[log2 p(x_{t-1}|x_t)]
//	    + E_q[log2 p(x_0|x_1)] - sum_{t=1}^T E_q[log2 q(x_t|x_{t-1})],
//
// each expectation a sum over every pair of states (x_{t-1}, x_t) under their
// joint law q, the kernel p(x_{t-1,j} = 1|x_t) = q(x_{t-1,j} = 1, x_t)/q(x_t)
// by summing that joint over x_{t-1}, and p(x_0|x_1) = q(x_1|x_0) pi(x_0)/pi(x_1)
// as written. It shares no formula with HeartbeatOracle (no class counts, no
// posterior over phases, no KL or entropy algebra), and costs 2^(2D) per step,
// so it is only for a few bins. It also returns the rates p(x_{t-1,j}=1|x_t)
// for every t and state x_t (bits of the state's index), rates[t][x][j].
func bruteBound(h Heartbeat, c discretize.Binomial) (float64, [][][]float64) {
	d := h.Length
	ns := 1 << d
	bit := func(x, j int) float64 { return float64((x >> j) & 1) }
	seqs := make([][]float64, h.Period)
	for k := range seqs {
		seqs[k] = make([]float64, d)
		h.Sequence(seqs[k], k)
	}
	bern := func(rate, v float64) float64 {
		if v == 1 {
			return rate
		}
		return 1 - rate
	}
	// q(x_t | x_0 = s) for t >= 0, bit by bit: kept from x_0 with
	// probability (T - t)/T, else drawn from B(P).
	marg := func(x, t int, s []float64) float64 {
		keep := float64(c.T-t) / float64(c.T)
		p := 1.0
		for j := 0; j < d; j++ {
			p *= bern(s[j]*keep+(1-keep)*c.P, bit(x, j))
		}
		return p
	}
	step := func(xp, x, t int) float64 {
		beta := 1 / float64(c.T-t+1)
		p := 1.0
		for j := 0; j < d; j++ {
			p *= bern(bit(xp, j)*(1-beta)+beta*c.P, bit(x, j))
		}
		return p
	}
	pi := func(x int) float64 {
		p := 1.0
		for j := 0; j < d; j++ {
			p *= bern(c.P, bit(x, j))
		}
		return p
	}
	rates := make([][][]float64, c.T+1)
	var k float64
	joint := make([]float64, ns*ns) // joint[xp*ns + x] = q(x_{t-1} = xp, x_t = x)
	for t := 1; t <= c.T; t++ {
		for xp := 0; xp < ns; xp++ {
			var m float64
			for _, s := range seqs {
				m += marg(xp, t-1, s) / float64(len(seqs))
			}
			for x := 0; x < ns; x++ {
				joint[xp*ns+x] = m * step(xp, x, t)
			}
		}
		if t >= 2 {
			rates[t] = make([][]float64, ns)
			for x := 0; x < ns; x++ {
				rates[t][x] = make([]float64, d)
				var qx float64
				for xp := 0; xp < ns; xp++ {
					qx += joint[xp*ns+x]
					for j := 0; j < d; j++ {
						rates[t][x][j] += bit(xp, j) * joint[xp*ns+x]
					}
				}
				for j := range rates[t][x] {
					rates[t][x][j] /= qx
				}
			}
		}
		for xp := 0; xp < ns; xp++ {
			for x := 0; x < ns; x++ {
				jq := joint[xp*ns+x]
				k -= jq * math.Log2(step(xp, x, t))
				if t == 1 {
					k += jq * math.Log2(step(xp, x, 1)*pi(xp)/pi(x))
					continue
				}
				lp := 0.0
				for j := 0; j < d; j++ {
					lp += math.Log2(bern(rates[t][x][j], bit(xp, j)))
				}
				k += jq * lp
			}
		}
	}
	for x := 0; x < ns; x++ {
		var qT float64
		for _, s := range seqs {
			qT += marg(x, c.T, s) / float64(len(seqs))
		}
		k += qT * math.Log2(pi(x))
	}
	return k, rates
}

// The oracle's exact K, by its KL form and its entropy form, and its rates at
// every state and step equal the definition summed by brute force over all
// pairs of states, on heartbeats small enough to enumerate: classes of equal
// and unequal size (6 bins / period 3, 5 bins / period 2), the prior rate at
// the data's mean bit rate 1/Period (where SD15's entropy terms are exact)
// and away from it. Both sides are sums of a few thousand terms of size ~1,
// so they agree to rounding, ~1e-13; 1e-9 leaves room and still catches any
// wrong term (the smallest step KL here is ~1e-3 bits).
func TestOracleBrute(t *testing.T) {
	for _, tc := range []struct {
		h    Heartbeat
		T    int
		P    float64
		edge bool // P != 1/Period: SD15's form misses E log pi(x_0) - E log pi(x_1)
	}{
		{Heartbeat{Length: 6, Period: 3}, 5, 1.0 / 3, false},
		{Heartbeat{Length: 5, Period: 2}, 4, 0.3, true},
		{Heartbeat{Length: 4, Period: 4}, 2, 0.25, false},
	} {
		c := discretize.Binomial{T: tc.T, P: tc.P}
		o, err := NewHeartbeatOracle(tc.h, c)
		if err != nil {
			t.Fatal(err)
		}
		b := o.Bound()
		want, rates := bruteBound(tc.h, c)
		if math.Abs(b.K-want) > 1e-9 || math.Abs(b.KEntropy-want) > 1e-9 {
			t.Errorf("%+v T=%d P=%v: K = %.12f (KL form), %.12f (entropy form), brute force %.12f", tc.h, tc.T, tc.P, b.K, b.KEntropy, want)
		}
		if gap := math.Abs(b.KPaper + b.Edge - b.K); gap > 1e-9 {
			t.Errorf("%+v: SD15's form %.12f + edge %.12f != K %.12f", tc.h, b.KPaper, b.Edge, b.K)
		}
		if (math.Abs(b.Edge) > 1e-9) != tc.edge {
			t.Errorf("%+v P=%v: edge term %v", tc.h, tc.P, b.Edge)
		}
		if len(b.StepKL) != tc.T-1 {
			t.Errorf("%d step KLs for T = %d", len(b.StepKL), tc.T)
		}
		xt, got := make([]float64, tc.h.Length), make([]float64, tc.h.Length)
		for tt := 2; tt <= tc.T; tt++ {
			for x := range rates[tt] {
				for j := range xt {
					xt[j] = float64((x >> j) & 1)
				}
				o.RatesTo(got, xt, tt)
				for j := range got {
					if math.Abs(got[j]-rates[tt][x][j]) > 1e-12 {
						t.Fatalf("%+v t=%d x=%b bit %d: rate %v, brute force %v", tc.h, tt, x, j, got[j], rates[tt][x][j])
					}
				}
			}
		}
	}
}

// The exact K of the real heartbeat is the mean of the Monte Carlo estimates
// of the bound run with the oracle's kernel: the trajectory form (the
// definition, one forward path per sample) and the KL form, each within 3.5
// standard errors (a false alarm about 1 in 2000 per comparison). T = 100
// keeps it fast; the command line checks T = 2000 (docs/cli.md).
// K also stays below the true log-likelihood log2(1/5) for every T (Gibbs:
// K <= E log p_oracle(x_0) <= E log p_data(x_0)).
func TestOracleAgreesWithEstimates(t *testing.T) {
	h := NewHeartbeat()
	c := discretize.Binomial{T: 100, P: h.OnesRate()}
	o, err := NewHeartbeatOracle(h, c)
	if err != nil {
		t.Fatal(err)
	}
	exact := o.Bound()
	r := rand.New(rand.NewPCG(5, 5))
	data := heartbeatData(h)
	ctx := context.Background()
	tr, _ := o.EstimateK(ctx, data, 4000, true, r)
	kl, _ := o.EstimateK(ctx, data, 400, false, r)
	for _, e := range []Estimate{tr, kl} {
		if math.Abs(e.Mean-exact.K) > 3.5*e.StdErr {
			t.Errorf("exact K %.4f, estimate %v", exact.K, e)
		}
	}
	t.Logf("T = 100: exact K %.4f; trajectories %v; KL terms %v", exact.K, tr, kl)
	for _, T := range []int{2, 10, 400} {
		o, _ := NewHeartbeatOracle(h, discretize.Binomial{T: T, P: h.OnesRate()})
		if k := o.Bound().K; !(k < h.LogLikelihood()) {
			t.Errorf("T = %d: K = %.4f, not below log2(1/5) = %.4f", T, k, h.LogLikelihood())
		}
	}
}
