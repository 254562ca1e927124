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
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so allocations are not counted")
	}
	s := sde.NewVP()
	for _, m := range []*Mixture{GMM8(s), Gauss(s, 64), randomMixture(s, 5, 3, rand.New(rand.NewPCG(1, 1)))} {
		const n = 300 // more than one block of ScoreTo
		x, v, d := make([]float64, n*m.Dim()), make([]float64, n*m.Dim()), make([]float64, n*m.Dim())
		ts, own, tr := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range ts {
			ts[i], own[i] = 0.3, 0.2+0.5*float64(i)/n
		}
		for name, f := range map[string]func(){
			"ScoreTo":         func() { m.ScoreTo(d, x, ts) },
			"ScoreTo own t":   func() { m.ScoreTo(d, x, own) }, // the adaptive ODE's rows
			"VJPTo":           func() { m.VJPTo(d, v, x, ts) },
			"ScoreVJPTo":      func() { m.ScoreVJPTo(d, d, v, x, ts) },
			"TraceJacobianTo": func() { m.TraceJacobianTo(tr, x, ts) },
			"LogProbTo":       func() { m.LogProbTo(tr, x, ts) },
		} {
			f()
			if a := testing.AllocsPerRun(20, f); a != 0 {
				t.Errorf("K=%d D=%d: %s allocates %v times per call", m.K(), m.Dim(), name, a)
			}
		}
	}
}

// randomMixture returns a K-component mixture in D dimensions with unequal
// weights (in [0.2, 1.2] before normalising), means in [-3, 3] and stds in
// [0.1, 1.1], drawn from r.
func randomMixture(s sde.SDE, k, d int, r *rand.Rand) *Mixture {
	w := make([]float64, k)
	mu := make([][]float64, k)
	sd := make([][]float64, k)
	for i := range w {
		w[i] = 0.2 + r.Float64()
		mu[i] = make([]float64, d)
		sd[i] = make([]float64, d)
		for j := range mu[i] {
			mu[i][j] = 6*r.Float64() - 3
			sd[i][j] = 0.1 + r.Float64()
		}
	}
	m, err := NewMixture(s, w, mu, sd)
	if err != nil {
		panic(err)
	}
	return m
}

// refScore writes the score of the row x at time t into dst by the textbook
// formula, one row at a time with math.Exp: log-weights
//
//	l_k = log w_k - sum_j log(2 pi v_kj)/2 - sum_j (x_j - c mu_kj)^2 / (2 v_kj),
//
// responsibilities r_k = e^(l_k - max l) (0 below e^-40, the oracle's
// documented rule), score_j = sum_k r_k (c mu_kj - x_j) / v_kj / sum_k r_k.
//
// It returns in scale the sums of the magnitudes of the terms,
// sum_k r_k |c mu_kj - x_j| / v_kj / sum_k r_k, the size of the rounding
// errors of any evaluation of the score; and in cond a bound, in units of
// u = 2^-53, on how far the oracle's shifted log-weights l_k - max l can be
// from these: D max_k sum_j |log v_kj| for the log determinant, which the
// oracle sums differently (a sum of D terms is exact to (D-1) u sum|terms|;
// Higham, Accuracy and Stability of Numerical Algorithms, 4.2), plus
// 2 (|l_k| + |max l|) over the components with 0 < r_k < 1, since the
// quadratic form, summed on top of a log determinant that may differ in
// its last bit, can round to a neighbouring float.
//
// v_kj and the quadratic form are evaluated as the oracle does (the
// formula's own order, v rounded as written). Far from the data the
// quadratic form is large (about 1e4 at |x| = 50 and small t): summed in
// another order it would move the log-weights by a few ulp of 1e4, and the
// responsibilities by as much relatively, about 1e-12. That is the
// conditioning of the problem, which neither code can beat; keeping the
// order measures what the oracle's blocking, vmath.Exp and the reciprocal
// of the sum add.
func refScore(m *Mixture, dst, scale, x []float64, t float64) (cond float64) {
	c, s := m.SDE.Marginal(t)
	K, d := m.K(), m.Dim()
	l := make([]float64, K)
	var logDetAbs float64
	for k := range l {
		var logDet, abs float64
		for j := 0; j < d; j++ {
			lv := math.Log(variance(m, k, j, c, s))
			logDet += lv
			abs += math.Abs(lv)
		}
		logDetAbs = max(logDetAbs, abs)
		l[k] = math.Log(m.Weights[k]) - 0.5*(logDet+float64(d)*math.Log(2*math.Pi))
		for j := 0; j < d; j++ {
			e := x[j] - c*m.Means[k][j]
			l[k] -= e * e * (0.5 / variance(m, k, j, c, s))
		}
	}
	mx := math.Inf(-1)
	for _, v := range l {
		mx = math.Max(mx, v)
	}
	var z, lmax float64
	for k, v := range l {
		if v-mx > -40 {
			l[k] = math.Exp(v - mx)
			if v != mx {
				lmax = max(lmax, math.Abs(v)+math.Abs(mx))
			}
		} else {
			l[k] = 0
		}
		z += l[k]
	}
	for j := 0; j < d; j++ {
		var sum, abs float64
		for k, r := range l {
			a := r * (c*m.Means[k][j] - x[j]) / variance(m, k, j, c, s)
			sum += a
			abs += math.Abs(a)
		}
		dst[j], scale[j] = sum/z, abs/z
	}
	return float64(d)*logDetAbs + 2*lmax
}

// variance returns v_kj = c^2 s_kj^2 + s^2 rounded as written, as the
// oracle evaluates it (the conversions keep the compiler from fusing).
func variance(m *Mixture, k, j int, c, s float64) float64 {
	c2, sd2, s2 := float64(c*c), float64(m.Stds[k][j]*m.Stds[k][j]), float64(s*s)
	return float64(c2*sd2) + s2
}

// scoreRows returns rows that exercise the oracle for m at time t: random
// rows at the data scale, rows far from every component (|x| about 50,
// where the responsibilities are peaked and the log-weights are large),
// rows at the exact means c mu_k of p_t (where a component's own term is
// exactly 0), at midpoints between two means (for gmm8, two equal
// responsibilities) and at the origin (gmm8's centre, where the pulls
// cancel).
func scoreRows(m *Mixture, t float64, r *rand.Rand) []float64 {
	c, _ := m.SDE.Marginal(t)
	d := m.Dim()
	var x []float64
	for range 40 {
		for range d {
			x = append(x, 2*r.NormFloat64())
		}
	}
	for range 20 {
		row := make([]float64, d)
		var n2 float64
		for j := range row {
			row[j] = r.NormFloat64()
			n2 += row[j] * row[j]
		}
		rad := 30 + 40*r.Float64()
		for j := range row {
			row[j] *= rad / math.Sqrt(n2)
		}
		x = append(x, row...)
	}
	for k := range m.K() {
		for j := range d {
			x = append(x, c*m.Means[k][j])
		}
		k2 := (k + 1) % m.K()
		for j := range d {
			x = append(x, c*(m.Means[k][j]+m.Means[k2][j])/2)
		}
	}
	return append(x, make([]float64, d)...)
}

// ScoreTo against refScore, on gmm8 (the D = 2 path, components in pairs),
// a random K = 5, D = 3 mixture (the general path), and mixtures that cover
// the other shapes: an odd K with D = 2, D = 1 and D = 40. Times: each of
// several t for the whole batch (more than one block of 128 rows), runs of
// random length at random t, and a different t on every row.
//
// Tolerance: |got - want| <= (1e-13 + u cond) scale_j, with scale_j and
// cond from refScore and u = 2^-53: a relative error of 1e-13 (about 450
// ulp), measured against the sum of the magnitudes of the terms because the
// terms can cancel (at gmm8's centre the score is 0), plus u cond, a few
// 1e-15 near the data, larger only far from it where two components still
// compete. The two codes' log-weights differ by at most u cond (refScore);
// beyond that they differ by vmath.Exp against math.Exp (at most 2 ulp), by
// the order of the sums over K <= 8 terms, and by the product with 1/z
// instead of a division: each a few ulp of the magnitudes. The largest
// errors seen are logged: about 2e-15 for D <= 3 and 1e-13 for D = 40 (far
// rows, within u cond). Any real mistake (a wrong component or row, a
// dropped or doubled term) gives errors of order 1. For D in the thousands
// the two ways of summing the log determinant drift apart by ~1e-11, so
// TestScoreBlocks checks large D against the oracle's own one-row results.
func TestScoreMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	times := []float64{1e-5, 1e-3, 0.01, 0.1, 0.3, 0.5, 0.9, 1}
	for _, s := range sdes {
		cases := []struct {
			name string
			m    *Mixture
		}{
			{"gmm8", GMM8(s)},
			{"K5D3", randomMixture(s, 5, 3, r)},
			{"K3D2", randomMixture(s, 3, 2, r)},
			{"K4D1", randomMixture(s, 4, 1, r)},
			{"K2D40", randomMixture(s, 2, 40, r)},
		}
		for _, tc := range cases {
			m, d := tc.m, tc.m.Dim()
			var worst float64
			check := func(how string, x, ts []float64) {
				t.Helper()
				got := make([]float64, len(x))
				m.ScoreTo(got, x, ts)
				want, scale := make([]float64, d), make([]float64, d)
				for i, ti := range ts {
					cond := refScore(m, want, scale, x[i*d:(i+1)*d], ti)
					tol := 1e-13 + 0x1p-53*cond
					for j := range want {
						g := got[i*d+j]
						err := math.Abs(g - want[j])
						if scale[j] > 0 {
							worst = math.Max(worst, err/scale[j])
						}
						if !(err <= tol*scale[j]) {
							t.Fatalf("%s %s %s row %d t=%g x=%v dim %d: score %v, reference %v (scale %v)",
								s.Name(), tc.name, how, i, ti, x[i*d:min(i*d+4, (i+1)*d)], j, g, want[j], scale[j])
						}
					}
				}
			}
			var allX, allT []float64
			for _, tt := range times {
				x := scoreRows(m, tt, r)
				ts := make([]float64, len(x)/d)
				for i := range ts {
					ts[i] = tt
				}
				check("one t", x, ts)
				allX, allT = append(allX, x...), append(allT, ts...)
			}
			// The same rows in a random order, in runs of 1 to 20 rows at a
			// random time from the list, then each at its own time.
			perm := r.Perm(len(allT))
			x := make([]float64, len(allX))
			ts := make([]float64, len(allT))
			for i := 0; i < len(perm); {
				n := 1 + r.IntN(20)
				tt := times[r.IntN(len(times))]
				for ; n > 0 && i < len(perm); n, i = n-1, i+1 {
					copy(x[i*d:(i+1)*d], allX[perm[i]*d:(perm[i]+1)*d])
					ts[i] = tt
				}
			}
			check("runs", x, ts)
			for i := range ts {
				ts[i] = 1e-5 + (1-1e-5)*r.Float64()
			}
			check("per-row t", x, ts)
			t.Logf("%s %-7s max |error| / scale = %.2g", s.Name(), tc.name, worst)
		}
	}
}

// pairedMixture has four components in two groups of equal variances
// (0 and 2, 1 and 3), so fill computes 1/v and log det twice and copies.
func pairedMixture(s sde.SDE) *Mixture {
	m, err := NewMixture(s, []float64{1, 2, 3, 4},
		[][]float64{{1, 0, 2}, {0, 1, -1}, {-1, 0.5, 0}, {2, 2, 2}},
		[][]float64{{0.3, 0.5, 0.7}, {1, 0.2, 0.4}, {0.3, 0.5, 0.7}, {1, 0.2, 0.4}})
	if err != nil {
		panic(err)
	}
	return m
}

// planar3 is a D = 2 mixture of three components with one covariance (the
// rowsScore2 path with an odd K).
func planar3(s sde.SDE) *Mixture {
	sd := []float64{0.4, 0.7}
	m, err := NewMixture(s, []float64{1, 2, 3}, [][]float64{{1, 0}, {-1, 2}, {0, -3}}, [][]float64{sd, sd, sd})
	if err != nil {
		panic(err)
	}
	return m
}

// A batch gives exactly the scores of one-row calls, whatever its blocks:
// gmm8 with 300 rows (blocks of 128, 128 and 44 rows), K = 3, D = 5000
// (blocks of 3 rows), K = 5, D = 3, the paired mixture, planar3 and a
// K = 4, D = 2 mixture with a covariance per component, at one t, at
// times that change in runs, and at a time per row (blockScore and
// rowsScore). Exact equality: every row goes through the same operations
// on either path and in any block.
func TestScoreBlocks(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	s := sde.NewVP()
	for _, c := range []struct {
		m *Mixture
		n int
	}{{GMM8(s), 300}, {randomMixture(s, 3, 5000, r), 10}, {randomMixture(s, 5, 3, r), 300}, {pairedMixture(s), 300}, {planar3(s), 300}, {randomMixture(s, 4, 2, r), 300}} {
		m, d := c.m, c.m.Dim()
		x := make([]float64, c.n*d)
		for i := range x {
			x[i] = 2 * r.NormFloat64()
		}
		// one t (blockScore), runs of 7 and of 9 rows (rowsScore, then
		// blockScore and rowsScore mixed), and a t for every row (rowsScore,
		// as the adaptive ODE solver calls it)
		same, runs, runs9, own := make([]float64, c.n), make([]float64, c.n), make([]float64, c.n), make([]float64, c.n)
		for i := range same {
			same[i], runs[i] = 0.4, []float64{0.1, 0.4, 0.9}[i/7%3]
			runs9[i], own[i] = []float64{0.1, 0.4, 0.9}[i/9%3], 1e-3+float64(i)/float64(c.n)
		}
		for _, ts := range [][]float64{same, runs, runs9, own} {
			got := make([]float64, len(x))
			m.ScoreTo(got, x, ts)
			one := make([]float64, d)
			for i, ti := range ts {
				m.ScoreTo(one, x[i*d:(i+1)*d], []float64{ti})
				for j := range one {
					if one[j] != got[i*d+j] {
						t.Fatalf("K=%d D=%d row %d dim %d: batch %v, alone %v", m.K(), d, i, j, got[i*d+j], one[j])
					}
				}
			}
			if m.blockRows() >= c.n {
				t.Fatalf("K=%d D=%d: one block of %d rows holds the whole batch", m.K(), d, m.blockRows())
			}
		}
	}
}

// 256 rows from N(0, I) at t = 0.3 under VP (the samplers' case: one t per
// call), gmm8, gauss:64 and a K = 5, D = 3 mixture for the general path;
// and gmm8 with a time per row in [0.2, 0.4] (the adaptive ODE's case):
//
//	go test -run '^$' -bench MixtureScore ./score
func BenchmarkMixtureScore(b *testing.B) {
	s := sde.NewVP()
	for _, tc := range []struct {
		name string
		m    *Mixture
		own  bool // a time per row
	}{
		{"gmm8", GMM8(s), false},
		{"gauss64", Gauss(s, 64), false},
		{"K5D3", randomMixture(s, 5, 3, rand.New(rand.NewPCG(1, 1))), false},
		{"gmm8-own-t", GMM8(s), true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 256
			d := tc.m.Dim()
			x := make([]float64, n*d)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range x {
				x[i] = r.NormFloat64()
			}
			t := make([]float64, n)
			for i := range t {
				t[i] = 0.3
				if tc.own {
					t[i] = 0.2 + 0.2*float64(i)/n
				}
			}
			dst := make([]float64, n*d)
			for b.Loop() {
				tc.m.ScoreTo(dst, x, t)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
		})
	}
}
