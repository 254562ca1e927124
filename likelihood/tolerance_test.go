package likelihood

import (
	"context"
	"math"
	"testing"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// TestAccurateTolNetwork checks AccurateTol on a small trained network (two
// SiLU layers of 64, float64, 3000 steps of DSM on gmm8 under VP, EMA
// weights): with the exact divergence at rtol = atol = AccurateTol, every
// one of 96 gmm8 points must be within 0.01 nats of a tight solve of the same
// network (exact divergence, dop853 at rtol = atol = 1e-10, whose own error
// is below 1e-6 nats: tightening it to 1e-11 moves no point by more). 0.01
// nats is the issue-24 target for the worst point; the measurement behind
// AccurateTol (its doc) reached 1.5e-3 on the 3 x 128 network of the issue.
// The default tolerance's worst error is logged for comparison (2.6e-3 here:
// this small float64 network does not have the outliers, which
// docs/cli.md's command reproduces on the 3 x 128 float32 one; a float32
// network cannot be the truth's, its rounding keeps a 1e-10 solve from
// finishing).
func TestAccurateTolNetwork(t *testing.T) {
	vp := sde.NewVP()
	net, err := model.NewTrainable(model.Config{Dim: 2, Hidden: []int{64, 64}, EmbedDim: 16, FourierScale: 16, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := score.NewTrainer(score.TrainConfig{SDE: vp, Data: data.GMM8{}, Model: net, Steps: 3000, Batch: 128, LR: 2e-3, EMA: 0.99, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	s, err := tr.Score()
	if err != nil {
		t.Fatal(err)
	}
	mix, _ := score.Problem("gmm8", vp)
	const n = 96
	x := drawData(mix, 3, n)
	solve := func(solver string, tol float64) []Point {
		pts, err := Evaluate(context.Background(), Config{SDE: vp, Score: s, Probe: "exact", Solver: solver,
			RTol: tol, ATol: tol, MaxSteps: 20000, Workers: 2}, 1, x, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return pts
	}
	truth := solve("dop853", 1e-10)
	worst := func(pts []Point) (float64, int) {
		var w float64
		var nfe int
		for i, p := range pts {
			w = max(w, math.Abs(p.LogP-truth[i].LogP))
			nfe += p.NFE
		}
		return w, nfe / n
	}
	acc, accNFE := worst(solve("dopri5", AccurateTol))
	def, defNFE := worst(solve("dopri5", DefaultTol))
	t.Logf("worst |error| over %d points: %.2g nats at AccurateTol (%d evaluations per point), %.2g at DefaultTol (%d)", n, acc, accNFE, def, defNFE)
	if !(acc <= 0.01) {
		t.Errorf("worst error at AccurateTol = %g nats, want <= 0.01", acc)
	}
}
