package likelihood

import (
	"context"
	"math"
	"testing"

	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// BenchmarkReference reproduces the reference settings of the issue: 1000
// points drawn from p_0, VP, eps = 1e-5, dopri5 at rtol = atol = 1e-5, one
// Rademacher probe (or the exact trace), Workers = NumCPU. One op is the
// whole run of 1000 points; it reports the mean NFE per point and the mean
// absolute error per point against the oracle's log p_eps.
// Reference (score_sde_pytorch, same settings): gauss:784 1.8 s, 50 NFE,
// 0.052 nats; gmm8 0.17 s, 86 NFE, 0.78 nats.
func BenchmarkReference(b *testing.B) {
	cases := []struct {
		name, prob, probe string
		joint             bool
	}{
		{"gauss784/rademacher", "gauss:784", "rademacher", false},
		{"gauss784/rademacher-joint", "gauss:784", "rademacher", true},
		{"gauss784/exact", "gauss:784", "exact", false},
		{"gmm8/rademacher", "gmm8", "rademacher", false},
		{"gmm8/rademacher-joint", "gmm8", "rademacher", true},
		{"gmm8/exact", "gmm8", "exact", false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			vp := sde.NewVP()
			m, _ := score.Problem(c.prob, vp)
			const n = 1000
			d := m.Dim()
			x := drawData(m, 1, n)
			exact := make([]float64, n)
			for i := range exact {
				exact[i] = m.LogProb(x[i*d:(i+1)*d], DefaultEps)
			}
			cfg := Config{SDE: vp, Score: m, Probe: c.probe, Joint: c.joint}
			var pts []Point
			b.ResetTimer()
			for b.Loop() {
				var err error
				pts, err = Evaluate(context.Background(), cfg, 1, x, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			var nfe, mae float64
			for i, p := range pts {
				nfe += float64(p.NFE)
				mae += math.Abs(p.LogP - exact[i])
			}
			b.ReportMetric(nfe/n, "nfe/point")
			b.ReportMetric(mae/n, "mae-nats")
		})
	}
}

// BenchmarkDDPMBound: the discrete bound of gauss:64 with N = 1000 steps,
// 100 points (one op).
func BenchmarkDDPMBound(b *testing.B) {
	vp := sde.NewVP()
	m := score.Gauss(vp, 64)
	x := drawData(m, 1, 100)
	for b.Loop() {
		if _, err := DDPMBound(context.Background(), vp, m, 1000, "beta", x, 64, "gaussian"); err != nil {
			b.Fatal(err)
		}
	}
}
