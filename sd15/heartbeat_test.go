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
// K never exceeds the true log-likelihood by more than 3 standard errors.
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
