package sd15

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sdekit/sdekit/discretize"
)

func heartbeatData(h Heartbeat) func([]float64, *rand.Rand) {
	return func(dst []float64, r *rand.Rand) { h.Sequence(dst, r.IntN(h.Period)) }
}

// L_null for the heartbeat under B(0.2): 4 log2 0.2 + 16 log2 0.8 = -14.438 bits,
// which with SD15's K - L_null = 12.024 gives their K = -2.414 (to 1e-3).
func TestHeartbeatNull(t *testing.T) {
	h := NewHeartbeat()
	m, err := NewBinaryModel(discretize.Binomial{T: 10, P: h.OnesRate()}, h.Length, 0, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, 20)
	h.Sequence(x, 2)
	got := m.NullLogLikelihood(x)
	if math.Abs(got-(-14.438)) > 1e-3 || math.Abs(got+12.024-(-2.414)) > 1e-3 {
		t.Errorf("L_null = %v", got)
	}
}

// The two ways of computing K agree within 3 standard errors, for an untrained
// and a briefly trained model (short chain T = 100 to keep the test fast), and
// K never exceeds the true log-likelihood, nor the exact factorised ceiling
// K* of HeartbeatOracle, by more than 3 standard errors; K* minus the
// estimated gap agrees with the KL-form estimate within 3.5 standard errors.
func TestBoundTwoWays(t *testing.T) {
	h := NewHeartbeat()
	data := heartbeatData(h)
	r := rand.New(rand.NewPCG(2, 2))
	basis := 10
	m, err := NewBinaryModel(discretize.Binomial{T: 100, P: h.OnesRate()}, h.Length, basis, r)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	oracle, err := NewHeartbeatOracle(h, m.Chain)
	if err != nil {
		t.Fatal(err)
	}
	ceiling := oracle.Bound().K
	for _, trained := range []bool{false, true} {
		if trained {
			if err := m.Train(ctx, data, TrainOptions{Steps: 2500, Batch: 64, LR: 3e-3}, r); err != nil {
				t.Fatal(err)
			}
		}
		kl, _ := m.EstimateK(ctx, data, 300, false, r)
		tr, _ := m.EstimateK(ctx, data, 2500, true, r)
		se := math.Hypot(kl.StdErr, tr.StdErr)
		if math.Abs(kl.Mean-tr.Mean) > 3*se {
			t.Errorf("trained=%v: KL form %v, trajectory form %v", trained, kl, tr)
		}
		if kl.Mean > h.LogLikelihood()+3*kl.StdErr {
			t.Errorf("trained=%v: K = %v above the true log-likelihood %v", trained, kl, h.LogLikelihood())
		}
		for _, e := range []Estimate{kl, tr} {
			if e.Mean > ceiling+3*e.StdErr {
				t.Errorf("trained=%v: K = %v above the factorised ceiling %.4f", trained, e, ceiling)
			}
		}
		gap, _ := oracle.EstimateGap(ctx, m, data, 300, r)
		if d := ceiling - gap.Mean - kl.Mean; math.Abs(d) > 3.5*math.Hypot(gap.StdErr, kl.StdErr) {
			t.Errorf("trained=%v: K* - gap = %.4f - %v, KL form %v", trained, ceiling, gap, kl)
		}
		x := make([]float64, h.Length)
		h.Sequence(x, 0)
		null := m.NullLogLikelihood(x)
		// Untrained, the model is the null model plus random readouts, so K is
		// at or below L_null; trained, it must have learnt something.
		if trained && kl.Mean-null < 3 {
			t.Errorf("trained K - L_null = %.3f bits, want > 3", kl.Mean-null)
		}
		acc, hidden := m.InpaintAccuracy(h, 300, 0.5, r)
		t.Logf("trained=%v: K by KL terms %v, by trajectories %v; L_null %.3f; inpainting %.3f of %d bins", trained, kl, tr, null, acc, hidden)
		// Filling hidden bins from the prior B(0.2) alone is right with
		// probability 0.8^2 + 0.2^2 = 0.68; a trained model must beat it by a
		// margin far outside the binomial noise (sd ~ 0.012 for ~3000 bins).
		if trained && acc < 0.8 {
			t.Errorf("inpainting accuracy %.3f, want > 0.8", acc)
		}
	}
}

// rate's derivative of KL(B(q) || B(p)) (nats) with respect to the network
// output, against central differences, in both parameterisations: step 1e-5
// gives truncation ~1e-10 and rounding ~1e-11 on values ~0.1-1; 1e-7 allows
// for both while any wrong factor (p1 - p0, xhat(1 - xhat)) is off by > 1e-2.
func TestRateGradient(t *testing.T) {
	c := discretize.Binomial{T: 50, P: 0.2}
	kl := func(q, p float64) float64 { return discretize.BernoulliKL(q, p) * math.Ln2 }
	for _, x0 := range []bool{false, true} {
		m := &BinaryModel{Chain: c, D: 1, X0: x0}
		for _, tt := range []int{2, 25, 49, 50} {
			for _, xt := range []float64{0, 1} {
				for _, q := range []float64{0.1, 0.7} {
					for _, o := range []float64{-1.3, 0.4} {
						_, g := m.rate(xt, o, tt, q)
						const h = 1e-5
						pp, _ := m.rate(xt, o+h, tt, q)
						pm, _ := m.rate(xt, o-h, tt, q)
						fd := (kl(q, pp) - kl(q, pm)) / (2 * h)
						if math.Abs(g-fd) > 1e-7 {
							t.Errorf("X0=%v t=%d xt=%v q=%v o=%v: gradient %v, finite differences %v", x0, tt, xt, q, o, g, fd)
						}
					}
				}
			}
		}
	}
}

// With X0, a network output that makes xhat the exact posterior mean of each
// x_0 bit gives the oracle's rates (the oracle is in the model's family), and
// output 0 gives the null model's rates, the same as the rate-correction
// model's at output 0. Sums of a few products: 1e-12.
func TestX0Family(t *testing.T) {
	h := Heartbeat{Length: 6, Period: 3}
	c := discretize.Binomial{T: 30, P: 1.0 / 3}
	o, _ := NewHeartbeatOracle(h, c)
	m := &BinaryModel{Chain: c, D: h.Length, X0: true}
	off := &BinaryModel{Chain: c, D: h.Length}
	r := rand.New(rand.NewPCG(6, 6))
	xt, want := make([]float64, h.Length), make([]float64, h.Length)
	n, w := make([]int, h.Period), make([]float64, h.Period)
	for trial := 0; trial < 50; trial++ {
		tt := 2 + r.IntN(c.T-1)
		clear(n)
		for j := range xt {
			xt[j] = float64(r.IntN(2))
			n[j%h.Period] += int(xt[j])
		}
		o.RatesTo(want, xt, tt)
		l := o.law(tt)
		o.phaseWeights(w, n, &l)
		for j := range xt {
			wc := w[j%h.Period]
			got, _ := m.rate(xt[j], math.Log(wc/(1-wc))-m.baseLogitX0(xt[j], tt), tt, 0)
			if math.Abs(got-want[j]) > 1e-12 {
				t.Fatalf("t=%d x=%v bit %d: X0 rate %v, oracle %v", tt, xt, j, got, want[j])
			}
			null, _ := m.rate(xt[j], 0, tt, 0)
			base, _ := off.rate(xt[j], 0, tt, 0)
			if math.Abs(null-base) > 1e-12 {
				t.Fatalf("t=%d bit %v: X0 null rate %v, rate-correction null %v", tt, xt[j], null, base)
			}
		}
	}
}

// The time segments tile the learned steps 2..T: netFor(t) is the network of
// the segment whose range [segmentStart(s), segmentStart(s+1)) holds t, every
// segment is used, and their lengths differ by at most one.
func TestSegments(t *testing.T) {
	for _, c := range []struct{ T, S int }{{10, 3}, {2000, 10}, {7, 6}, {5, 1}} {
		m, err := NewBinaryModelSegments(discretize.Binomial{T: c.T, P: 0.2}, 4, 2, c.S, rand.New(rand.NewPCG(8, 8)))
		if err != nil {
			t.Fatal(err)
		}
		nets := m.nets()
		if len(nets) != c.S || nets[0] != m.Net {
			t.Fatalf("T=%d S=%d: %d networks", c.T, c.S, len(nets))
		}
		if m.segmentStart(0, c.S) != 2 || m.segmentStart(c.S, c.S) != c.T+1 {
			t.Errorf("T=%d S=%d: segments start at 2 and end at T", c.T, c.S)
		}
		minLen, maxLen := c.T, 0
		for s := 0; s < c.S; s++ {
			lo, hi := m.segmentStart(s, c.S), m.segmentStart(s+1, c.S)
			minLen, maxLen = min(minLen, hi-lo), max(maxLen, hi-lo)
			for tt := lo; tt < hi; tt++ {
				if m.netFor(tt) != nets[s] {
					t.Fatalf("T=%d S=%d: step %d in segment %d's range [%d, %d) served by another network", c.T, c.S, tt, s, lo, hi)
				}
			}
		}
		if maxLen-minLen > 1 || minLen < 1 {
			t.Errorf("T=%d S=%d: segment lengths from %d to %d", c.T, c.S, minLen, maxLen)
		}
	}
	if _, err := NewBinaryModelSegments(discretize.Binomial{T: 5, P: 0.2}, 4, 2, 5, rand.New(rand.NewPCG(8, 8))); err == nil {
		t.Error("5 segments for 4 learned steps accepted")
	}
}
