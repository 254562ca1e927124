package discretize_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// The deprecated reference loop (ddpm_sample.go) refuses a DDPM subsequence
// and a decreasing sequence, and stops on a cancelled context. Delete this
// file with ddpm_sample.go.
func TestChainErrors(t *testing.T) {
	d := schedule(t, 100)
	vp := sde.NewVP()
	m := discretize.NewScoreEps(score.Gauss(vp, 2), vp, 100)
	rs := make([]discretize.Noise, 3)
	x := make([]float64, 3*2)
	for i := range rs {
		rs[i] = rng.New(1, i, rng.Sampling)
		for j := 0; j < 2; j++ {
			x[i*2+j] = rs[i].NormFloat64()
		}
	}
	if _, err := d.Sample(context.Background(), m, x, rs, discretize.ChainOptions{Seq: []int{0, 50}}); err == nil || !strings.Contains(err.Error(), "use DDIM") {
		t.Errorf("DDPM on a subsequence: %v", err)
	}
	if _, err := d.Sample(context.Background(), m, x, rs, discretize.ChainOptions{DDIM: true, Seq: []int{50, 10}}); err == nil || !strings.Contains(err.Error(), "must increase") {
		t.Errorf("decreasing sequence: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Sample(ctx, m, x, rs, discretize.ChainOptions{}); err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Errorf("cancelled: %v", err)
	}
}
