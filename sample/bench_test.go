package sample

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// Speed targets (issue 5; n = 10^4 rows, N = 1000 steps, exact score). The
// reference (score_sde_pytorch, exact score in torch, one thread) takes
// gmm8 VP Euler-Maruyama 3.9 s, PC with Langevin 7.6 s, ODE sampler 0.35 s
// (86 NFE, flattened, rtol = atol = 1e-5) and gauss:64 VP Euler-Maruyama 6.8 s.
//
//	go test -run '^$' -bench . -benchtime 1x ./sample
//
// The benchmarks use score.Mixture as it is, and again ("Cached") with
// cachedMixture below, the same exact score with its per-time constants
// computed once per call instead of once per row: the difference is the
// score's cost, not the sampler's.

const benchN = 10000

func benchGenerate(b *testing.B, c Config) {
	c.Steps = max(c.Steps, 1000)
	if err := c.Validate(); err != nil {
		b.Fatal(err)
	}
	x := make([]float64, benchN*c.Dim)
	rows := seq(benchN)
	var st Stats
	for b.Loop() {
		var err error
		if st, err = Generate(context.Background(), c, 1, rows, x, nil); err != nil {
			b.Fatal(err)
		}
	}
	total := 0
	for _, v := range st.NFE {
		total += v
	}
	b.ReportMetric(float64(total)/benchN, "nfe/sample")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
}

func gmm8VP() (sde.SDE, *score.Mixture) {
	s := sde.NewVP()
	return s, score.GMM8(s)
}

func BenchmarkGMM8EM(b *testing.B) {
	s, m := gmm8VP()
	benchGenerate(b, Config{SDE: s, Score: m, Sampler: EM})
}

func BenchmarkGMM8PC(b *testing.B) {
	s, m := gmm8VP()
	benchGenerate(b, Config{SDE: s, Score: m, Sampler: PC, Predictor: PredictorReverseDiffusion, Corrector: CorrectorLangevin})
}

func BenchmarkGMM8ODE(b *testing.B) {
	s, m := gmm8VP()
	benchGenerate(b, Config{SDE: s, Score: m, Sampler: ODE})
}

func BenchmarkGMM8ODEJoint(b *testing.B) {
	s, m := gmm8VP()
	benchGenerate(b, Config{SDE: s, Score: m, Sampler: ODE, ODEJoint: true})
}

func BenchmarkGauss64EM(b *testing.B) {
	s := sde.NewVP()
	benchGenerate(b, Config{SDE: s, Score: score.Gauss(s, 64), Sampler: EM})
}

func BenchmarkGMM8EMCached(b *testing.B) {
	s, m := gmm8VP()
	benchGenerate(b, Config{SDE: s, Score: newCachedMixture(m), Sampler: EM})
}

func BenchmarkGMM8PCCached(b *testing.B) {
	s, m := gmm8VP()
	benchGenerate(b, Config{SDE: s, Score: newCachedMixture(m), Sampler: PC, Predictor: PredictorReverseDiffusion, Corrector: CorrectorLangevin})
}

func BenchmarkGMM8ODECached(b *testing.B) {
	s, m := gmm8VP()
	benchGenerate(b, Config{SDE: s, Score: newCachedMixture(m), Sampler: ODE})
}

func BenchmarkGauss64EMCached(b *testing.B) {
	s := sde.NewVP()
	benchGenerate(b, Config{SDE: s, Score: newCachedMixture(score.Gauss(s, 64)), Sampler: EM})
}

// BenchmarkScore is the cost of the exact score alone, per row.
func BenchmarkScore(b *testing.B) {
	s := sde.NewVP()
	for _, tc := range []struct {
		name string
		sc   sde.Score
	}{
		{"gmm8", score.GMM8(s)}, {"gmm8-cached", newCachedMixture(score.GMM8(s))},
		{"gauss64", score.Gauss(s, 64)}, {"gauss64-cached", newCachedMixture(score.Gauss(s, 64))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 256
			d := tc.sc.Dim()
			x := make([]float64, n*d)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range x {
				x[i] = r.NormFloat64()
			}
			t := make([]float64, n)
			for i := range t {
				t[i] = 0.3
			}
			dst := make([]float64, n*d)
			for b.Loop() {
				tc.sc.ScoreTo(dst, x, t)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
		})
	}
}

// cachedMixture is score.Mixture's exact score with the quantities that
// depend only on t (c mu_k, 1/v_kj, the log normaliser of each component)
// computed once per run of equal times instead of once per row. Test-only: a
// measurement of what the samplers cost apart from the score, and a sketch
// for package score (TestCachedMixtureMatches).
type cachedMixture struct {
	m *score.Mixture
}

func newCachedMixture(m *score.Mixture) *cachedMixture { return &cachedMixture{m} }

func (c *cachedMixture) Dim() int { return c.m.Dim() }

func (c *cachedMixture) ScoreTo(dst, x, t []float64) {
	m := c.m
	d, K := m.Dim(), m.K()
	var buf [2*256 + 2*16]float64
	if K*d > 256 || K > 16 {
		m.ScoreTo(dst, x, t)
		return
	}
	cmu := buf[:K*d]
	inv := buf[K*d : 2*K*d]
	lz := buf[2*K*d : 2*K*d+K]
	r := buf[2*K*d+K : 2*K*d+2*K]
	prev := math.NaN()
	for i, ti := range t {
		if ti != prev {
			cc, s := m.SDE.Marginal(ti)
			for k := 0; k < K; k++ {
				l := math.Log(m.Weights[k])
				for j := 0; j < d; j++ {
					v := cc*cc*m.Stds[k][j]*m.Stds[k][j] + s*s
					cmu[k*d+j] = cc * m.Means[k][j]
					inv[k*d+j] = 1 / v
					l -= 0.5 * math.Log(2*math.Pi*v)
				}
				lz[k] = l
			}
			prev = ti
		}
		xi, out := x[i*d:(i+1)*d], dst[i*d:(i+1)*d]
		mx := math.Inf(-1)
		for k := 0; k < K; k++ {
			l := lz[k]
			mk, ik := cmu[k*d:(k+1)*d], inv[k*d:(k+1)*d]
			for j, v := range xi {
				e := v - mk[j]
				l -= 0.5 * e * e * ik[j]
			}
			r[k] = l
			if l > mx {
				mx = l
			}
		}
		// Terms below e^-40 of the largest change the sum (>= 1) and the
		// score by less than rounding; skipping their exp is exact.
		var z float64
		for k := range K {
			if e := r[k] - mx; e > -40 {
				r[k] = math.Exp(e)
				z += r[k]
			} else {
				r[k] = 0
			}
		}
		for j := range out {
			out[j] = 0
		}
		for k := 0; k < K; k++ {
			w := r[k] / z
			if w == 0 {
				continue
			}
			mk, ik := cmu[k*d:(k+1)*d], inv[k*d:(k+1)*d]
			for j, v := range xi {
				out[j] += w * (mk[j] - v) * ik[j]
			}
		}
	}
}

// The cached score equals score.Mixture's to 1e-12 relative (different
// summation order only), on rows at mixed times for gmm8, mix3 and gauss:64
// under all three SDEs, including far points where responsibilities underflow.
func TestCachedMixtureMatches(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range sdes() {
		for _, m := range []*score.Mixture{score.GMM8(s), mix3(s), score.Gauss(s, 64), score.Gauss(s, 300)} {
			d := m.Dim()
			const n = 50
			x := make([]float64, n*d)
			for i := range x {
				x[i] = 3 * r.NormFloat64()
			}
			x[0] = 1e3
			tt := make([]float64, n)
			for i := range tt {
				tt[i] = []float64{1e-3, 0.3, 0.3, 1}[i%4]
			}
			a, b := make([]float64, n*d), make([]float64, n*d)
			m.ScoreTo(a, x, tt)
			newCachedMixture(m).ScoreTo(b, x, tt)
			for i := range a {
				if math.Abs(a[i]-b[i]) > 1e-12*math.Max(1, math.Abs(a[i])) {
					t.Fatalf("%s K=%d value %d: %v vs %v", s.Name(), m.K(), i, a[i], b[i])
				}
			}
		}
	}
}
