package score

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/sde"
)

func problems(s sde.SDE) map[string]*Mixture {
	// A 3-component mixture with unequal weights and anisotropic stds, to cover what gmm8 does not.
	m3, err := NewMixture(s, []float64{0.2, 0.5, 0.3},
		[][]float64{{1, -1, 0.5}, {-2, 0.3, 0}, {0.1, 2, -1}},
		[][]float64{{0.3, 0.5, 1}, {0.8, 0.2, 0.4}, {0.5, 0.5, 0.5}})
	if err != nil {
		panic(err)
	}
	return map[string]*Mixture{"gmm8": GMM8(s), "gauss:5": Gauss(s, 5), "mix3": m3}
}

var sdes = []sde.SDE{sde.NewVP(), sde.NewSubVP(), sde.NewVE()}

// points returns rows near the data scale for m at time t.
func points(m *Mixture, n int, r *rand.Rand) []float64 {
	x := make([]float64, n*m.Dim())
	for i := range x {
		x[i] = 2 * r.NormFloat64()
	}
	return x
}

// Central differences with step h have truncation error O(h^2 f”'), and
// rounding error O(eps |f| / h). With h = 1e-5 relative to the scale of x and
// log p of size ~10, both are below ~1e-7; we compare with a tolerance of
// 1e-5 (absolute plus relative to the gradient's size).
const fdH = 1e-5

func TestScoreIsGradientOfLogProb(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range sdes {
		for name, m := range problems(s) {
			d := m.Dim()
			for _, tt := range []float64{1e-3, 0.1, 0.5, 1} {
				x := points(m, 4, r)
				ts := []float64{tt, tt, tt, tt}
				sc := make([]float64, len(x))
				m.ScoreTo(sc, x, ts)
				for i := 0; i < 4; i++ {
					row := x[i*d : (i+1)*d]
					for j := 0; j < d; j++ {
						h := fdH * math.Max(1, math.Abs(row[j]))
						orig := row[j]
						row[j] = orig + h
						fp := m.LogProb(row, tt)
						row[j] = orig - h
						fm := m.LogProb(row, tt)
						row[j] = orig
						fd := (fp - fm) / (2 * h)
						got := sc[i*d+j]
						if math.Abs(got-fd) > 1e-5*(1+math.Abs(fd)) {
							t.Errorf("%s %s t=%g row %d dim %d: score %v, finite difference %v", s.Name(), name, tt, i, j, got, fd)
						}
					}
				}
			}
		}
	}
}

// The trace of the Jacobian and the VJP against finite differences of the score.
// Same tolerance reasoning as above, one derivative lower (score values ~ 1/v,
// up to ~1e3 at t = 1e-3 for VP with std 0.2 data, hence the relative part).
func TestTraceAndVJP(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, s := range sdes {
		for name, m := range problems(s) {
			d := m.Dim()
			for _, tt := range []float64{1e-3, 0.2, 0.7} {
				x := points(m, 3, r)
				ts := []float64{tt, tt, tt}
				v := points(m, 3, r)
				tr := make([]float64, 3)
				vjp := make([]float64, len(x))
				m.TraceJacobianTo(tr, x, ts)
				m.VJPTo(vjp, v, x, ts)
				sp := make([]float64, d)
				sm := make([]float64, d)
				for i := 0; i < 3; i++ {
					row := x[i*d : (i+1)*d]
					fdTr := 0.0
					fdVJP := make([]float64, d)
					for j := 0; j < d; j++ {
						h := fdH * math.Max(1, math.Abs(row[j]))
						orig := row[j]
						row[j] = orig + h
						m.ScoreTo(sp, row, ts[:1])
						row[j] = orig - h
						m.ScoreTo(sm, row, ts[:1])
						row[j] = orig
						fdTr += (sp[j] - sm[j]) / (2 * h)
						// column j of J; (v^T J)_j = sum_i v_i J_ij, and J symmetric, so use J_ji = d s_j... accumulate v^T J
						for k := 0; k < d; k++ {
							// J[k][j] = d s_k / d x_j
							fdVJP[j] += v[i*d+k] * (sp[k] - sm[k]) / (2 * h)
						}
					}
					scale := 0.0
					for _, f := range fdVJP {
						scale = math.Max(scale, math.Abs(f))
					}
					if math.Abs(tr[i]-fdTr) > 1e-5*(1+math.Abs(fdTr)) {
						t.Errorf("%s %s t=%g row %d: trace %v, finite difference %v", s.Name(), name, tt, i, tr[i], fdTr)
					}
					for j := 0; j < d; j++ {
						if math.Abs(vjp[i*d+j]-fdVJP[j]) > 1e-5*(1+scale) {
							t.Errorf("%s %s t=%g row %d dim %d: vjp %v, finite difference %v", s.Name(), name, tt, i, j, vjp[i*d+j], fdVJP[j])
						}
					}
				}
			}
		}
	}
}

// Far from the data and at tiny t nothing overflows: |x| = 1e3 under VE with
// sigma_max = 50, and t = 1e-5 under every SDE.
func TestFiniteFarAway(t *testing.T) {
	for _, s := range sdes {
		m := GMM8(s)
		for _, tt := range []float64{1e-5, 0.5, 1} {
			for _, x := range [][]float64{{1e3, 0}, {-707, 707}, {0, 0}, {1e3, 1e3}} {
				sc := make([]float64, 2)
				m.ScoreTo(sc, x, []float64{tt})
				tr := make([]float64, 1)
				m.TraceJacobianTo(tr, x, []float64{tt})
				vj := make([]float64, 2)
				m.VJPTo(vj, []float64{1, 1}, x, []float64{tt})
				lp := m.LogProb(x, tt)
				for _, v := range []float64{sc[0], sc[1], tr[0], vj[0], vj[1], lp} {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("%s t=%g x=%v: non-finite %v (score %v trace %v vjp %v logp %v)", s.Name(), tt, x, v, sc, tr, vj, lp)
					}
				}
			}
		}
	}
}

// Draws from p_0 match DataMoments within 4 standard errors; gmm8 components
// are used with frequency 1/8 within 4 SE.
func TestSampleData(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for name, m := range problems(sde.NewVP()) {
		const n = 40000
		d := m.Dim()
		mean, variance := m.DataMoments()
		sum := make([]float64, d)
		sum2 := make([]float64, d)
		counts := make([]int, m.K())
		row := make([]float64, d)
		for i := 0; i < n; i++ {
			counts[m.SampleData(row, r)]++
			for j, v := range row {
				sum[j] += v
				sum2[j] += v * v
			}
		}
		for j := 0; j < d; j++ {
			mj := sum[j] / n
			if math.Abs(mj-mean[j]) > 4*math.Sqrt(variance[j]/n) {
				t.Errorf("%s dim %d: mean %v want %v", name, j, mj, mean[j])
			}
			vj := sum2[j]/n - mj*mj
			// SE of a sample variance is about sqrt((m4 - v^2)/n); bound m4 by 9 v^2 for these mixtures.
			if math.Abs(vj-variance[j]) > 4*math.Sqrt(8*variance[j]*variance[j]/n) {
				t.Errorf("%s dim %d: variance %v want %v", name, j, vj, variance[j])
			}
		}
		for k, c := range counts {
			p := m.Weights[k]
			if math.Abs(float64(c)/n-p) > 4*math.Sqrt(p*(1-p)/n) {
				t.Errorf("%s component %d: frequency %v want %v", name, k, float64(c)/n, p)
			}
		}
	}
}

// gmm8's data covariance is (8 + 0.25) I: E[mu mu^T] = 16/2 I for means on a
// circle of radius 4, plus the component variance 0.25. Exact up to rounding.
func TestGMM8Moments(t *testing.T) {
	mean, variance := GMM8(sde.NewVP()).DataMoments()
	for j := range mean {
		if math.Abs(mean[j]) > 1e-14 || math.Abs(variance[j]-8.25) > 1e-13 {
			t.Errorf("dim %d: mean %v variance %v", j, mean[j], variance[j])
		}
	}
	g := Gauss(sde.NewVP(), 64)
	if g.Stds[0][0] != 0.2 || math.Abs(g.Stds[0][63]-0.8) > 1e-15 || g.Means[0][1] != 0.5*math.Cos(1) {
		t.Errorf("gauss:64 parameters differ from reference.md")
	}
}

// log p_t of a single Gaussian against the closed form.
func TestLogProbGaussian(t *testing.T) {
	s := sde.NewVP()
	m := Gauss(s, 3)
	x := []float64{0.3, -0.2, 1.1}
	tt := 0.3
	c, sd := s.Marginal(tt)
	want := 0.0
	for j := range x {
		v := c*c*m.Stds[0][j]*m.Stds[0][j] + sd*sd
		e := x[j] - c*m.Means[0][j]
		want += -0.5*math.Log(2*math.Pi*v) - 0.5*e*e/v
	}
	if got := m.LogProb(x, tt); math.Abs(got-want) > 1e-13 {
		t.Errorf("log p %v want %v", got, want)
	}
}

func TestProblemNames(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"gmm9", "unknown problem \"gmm9\"; use gmm8 or gauss:D"},
		{"gauss:0", "whole number from 1"},
		{"gauss:x", "whole number from 1"},
	} {
		if _, err := Problem(c.name, sde.NewVP()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if m, err := Problem("gauss:64", sde.NewVE()); err != nil || m.Dim() != 64 {
		t.Errorf("gauss:64: %v", err)
	}
	if _, err := NewMixture(sde.NewVP(), []float64{1}, [][]float64{{0}}, [][]float64{{0}}); err == nil {
		t.Error("zero std accepted")
	}
}

// A batch with rows at mixed, repeating times gives exactly what one-row calls
// give: the per-time cache must be refreshed whenever t changes. Exact
// equality: the same arithmetic runs either way.
func TestScoreMixedTimes(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, s := range sdes {
		for name, m := range problems(s) {
			d := m.Dim()
			ts := []float64{0.1, 0.1, 0.5, 0.1, 1e-4, 1e-4, 0.9}
			x := points(m, len(ts), r)
			got := make([]float64, len(x))
			m.ScoreTo(got, x, ts)
			one := make([]float64, d)
			for i, ti := range ts {
				m.ScoreTo(one, x[i*d:(i+1)*d], []float64{ti})
				for j := range one {
					if one[j] != got[i*d+j] {
						t.Fatalf("%s %s row %d: batch %v, alone %v", s.Name(), name, i, got[i*d:(i+1)*d], one)
					}
				}
			}
		}
	}
}

// The oracle does not allocate per call after warm-up (samplers and the
// likelihood solver call it once per block and stage).
func TestMixtureNoAlloc(t *testing.T) {
	m := GMM8(sde.NewVP())
	x, v, d := make([]float64, 128), make([]float64, 128), make([]float64, 128)
	ts, tr := make([]float64, 64), make([]float64, 64)
	for i := range ts {
		ts[i] = 0.3
	}
	for name, f := range map[string]func(){
		"ScoreTo":         func() { m.ScoreTo(d, x, ts) },
		"VJPTo":           func() { m.VJPTo(d, v, x, ts) },
		"ScoreVJPTo":      func() { m.ScoreVJPTo(d, d, v, x, ts) },
		"TraceJacobianTo": func() { m.TraceJacobianTo(tr, x, ts) },
		"LogProbTo":       func() { m.LogProbTo(tr, x, ts) },
	} {
		f()
		if a := testing.AllocsPerRun(20, f); a != 0 {
			t.Errorf("%s allocates %v times per call", name, a)
		}
	}
}
