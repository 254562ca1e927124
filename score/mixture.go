package score

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"

	"github.com/sdekit/sdekit/sde"
)

// Mixture is the exact score of a Gaussian mixture with diagonal covariances
// pushed through a forward SDE. It is immutable and safe for concurrent use.
type Mixture struct {
	SDE     sde.SDE
	Weights []float64   // K weights, summing to 1
	Means   [][]float64 // K x D
	Stds    [][]float64 // K x D, all > 0
	logW    []float64
	mu, sd2 []float64 // K x D, flat copies of Means and Stds^2 for the hot loops
	d       int
}

// NewMixture validates and returns the mixture oracle. Weights are normalised.
func NewMixture(s sde.SDE, weights []float64, means, stds [][]float64) (*Mixture, error) {
	k := len(weights)
	if k == 0 {
		return nil, fmt.Errorf("score: mixture has no components")
	}
	if len(means) != k || len(stds) != k {
		return nil, fmt.Errorf("score: mixture has %d weights, %d means and %d stds; give one of each per component", k, len(means), len(stds))
	}
	d := len(means[0])
	if d == 0 {
		return nil, fmt.Errorf("score: mixture component 0 has dimension 0")
	}
	var sum float64
	for i, w := range weights {
		if !(w > 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("score: mixture weight %d is %v; weights must be finite and > 0", i, w)
		}
		sum += w
		if len(means[i]) != d || len(stds[i]) != d {
			return nil, fmt.Errorf("score: mixture component %d has dimension %d/%d, want %d", i, len(means[i]), len(stds[i]), d)
		}
		for j := 0; j < d; j++ {
			if math.IsNaN(means[i][j]) || math.IsInf(means[i][j], 0) {
				return nil, fmt.Errorf("score: mixture component %d mean %d is %v", i, j, means[i][j])
			}
			if !(stds[i][j] > 0) || math.IsInf(stds[i][j], 0) {
				return nil, fmt.Errorf("score: mixture component %d std %d is %v; stds must be finite and > 0", i, j, stds[i][j])
			}
		}
	}
	m := &Mixture{SDE: s, Means: means, Stds: stds, d: d}
	m.Weights = make([]float64, k)
	m.logW = make([]float64, k)
	for i, w := range weights {
		m.Weights[i] = w / sum
		m.logW[i] = math.Log(w / sum)
		for j := 0; j < d; j++ {
			m.mu = append(m.mu, means[i][j])
			m.sd2 = append(m.sd2, stds[i][j]*stds[i][j])
		}
	}
	return m, nil
}

// Dim returns the dimension D of the data.
func (m *Mixture) Dim() int { return m.d }

// K returns the number of components.
func (m *Mixture) K() int { return len(m.Weights) }

// logComponents fills r with log w_k + log N_k(x) (k = 1..K) and returns their
// maximum. The log-determinant is taken as a sum of logs of products of 8
// variances (no overflow for variances in [1e-38, 1e38]), so a row costs D/8
// logarithms per component rather than D.
func (m *Mixture) logComponents(r, x []float64, c, s float64) float64 {
	d := m.d
	c2, s2 := c*c, s*s
	mx := math.Inf(-1)
	for k := range r {
		sd2, mu := m.sd2[k*d:(k+1)*d], m.mu[k*d:(k+1)*d]
		var q, ld float64
		prod := 1.0
		for j, xj := range x {
			v := c2*sd2[j] + s2
			e := xj - c*mu[j]
			q += e * e / v
			prod *= v
			if j&7 == 7 {
				ld += math.Log(prod)
				prod = 1
			}
		}
		ld += math.Log(prod)
		l := m.logW[k] - 0.5*(q+ld+float64(d)*log2Pi)
		r[k] = l
		if l > mx {
			mx = l
		}
	}
	return mx
}

const log2Pi = 1.8378770664093453 // log(2 pi)

// resp fills r with the responsibilities of row x and returns log p_t(x)
// (log-sum-exp). With one component it skips the density entirely unless the
// log-density is wanted.
func (m *Mixture) resp(r, x []float64, c, s float64, wantLogP bool) float64 {
	if len(r) == 1 && !wantLogP {
		r[0] = 1
		return 0
	}
	mx := m.logComponents(r, x, c, s)
	var sum float64
	for k := range r {
		r[k] = math.Exp(r[k] - mx)
		sum += r[k]
	}
	for k := range r {
		r[k] /= sum
	}
	return mx + math.Log(sum)
}

func (m *Mixture) check(n int, lens ...int) {
	for _, l := range lens {
		if l < n*m.d {
			panic(fmt.Sprintf("score: batch of %d rows needs %d values, got a slice of %d", n, n*m.d, l))
		}
	}
}

// timeCache holds what a row's score needs at one time t, stored coordinate
// by coordinate (index j*K + k) so that the inner loops run over the
// components: c mu_k, 1/v_k, and log w_k - log det(2 pi v_k)/2. Samplers
// evaluate whole batches at one t, so ScoreTo fills it once per distinct t
// rather than once per row.
type timeCache struct {
	t, c, s float64
	cmu     []float64 // D x K
	inv     []float64 // D x K
	lz      []float64 // K
	r       []float64 // K: log-densities, then responsibilities
	row     []float64 // D: a spare row
}

// Every method takes its scratch (a timeCache) from cachePool and gives it
// back, so the oracle does not allocate in sampler and solver loops.

var cachePool sync.Pool

func (m *Mixture) getCache() *timeCache {
	kd, k := len(m.mu), len(m.Weights)
	tc, _ := cachePool.Get().(*timeCache)
	if tc == nil {
		tc = &timeCache{}
	}
	if cap(tc.cmu) < kd {
		tc.cmu, tc.inv = make([]float64, kd), make([]float64, kd)
	}
	if cap(tc.lz) < k {
		tc.lz, tc.r = make([]float64, k), make([]float64, k)
	}
	if cap(tc.row) < m.d {
		tc.row = make([]float64, m.d)
	}
	tc.cmu, tc.inv, tc.lz, tc.r, tc.row = tc.cmu[:kd], tc.inv[:kd], tc.lz[:k], tc.r[:k], tc.row[:m.d]
	tc.t = math.NaN()
	return tc
}

func (m *Mixture) fill(tc *timeCache, t float64) {
	c, s := m.SDE.Marginal(t)
	tc.t, tc.c, tc.s = t, c, s
	c2, s2 := c*c, s*s
	d, K := m.d, len(m.Weights)
	for k := 0; k < K; k++ {
		prod, ld := 1.0, 0.0
		for j := 0; j < d; j++ {
			v := c2*m.sd2[k*d+j] + s2
			tc.cmu[j*K+k] = c * m.mu[k*d+j]
			tc.inv[j*K+k] = 1 / v
			prod *= v
			if j&7 == 7 {
				ld += math.Log(prod)
				prod = 1
			}
		}
		ld += math.Log(prod)
		tc.lz[k] = m.logW[k] - 0.5*(ld+float64(d)*log2Pi)
	}
}

// ScoreTo writes grad_x log p_t(x) for each row of x at time t[i] into dst.
// Responsibilities below e^-40 of the largest are set to zero without calling
// exp: they change the normalising sum (>= 1) and the score by less than
// rounding, so this is exact in double precision.
func (m *Mixture) ScoreTo(dst, x, t []float64) {
	n, d := len(t), m.d
	m.check(n, len(x), len(dst))
	tc := m.getCache()
	defer cachePool.Put(tc)
	K := len(m.Weights)
	for i, ti := range t {
		if ti != tc.t {
			m.fill(tc, ti)
		}
		xi, out := x[i*d:(i+1)*d], dst[i*d:(i+1)*d]
		if K == 1 {
			cmu, inv := tc.cmu[:len(xi)], tc.inv[:len(xi)]
			for j, v := range xi {
				out[j] = (cmu[j] - v) * inv[j]
			}
			continue
		}
		r := tc.r[:K]
		copy(r, tc.lz)
		for j, xj := range xi {
			cmu, inv := tc.cmu[j*K:(j+1)*K], tc.inv[j*K:(j+1)*K]
			cmu, inv = cmu[:len(r)], inv[:len(r)]
			for k := range r {
				e := xj - cmu[k]
				r[k] -= 0.5 * e * e * inv[k]
			}
		}
		mx := r[0]
		for _, l := range r[1:] {
			mx = math.Max(mx, l)
		}
		var z float64
		for k, l := range r {
			if e := l - mx; e > -40 {
				r[k] = math.Exp(e)
				z += r[k]
			} else {
				r[k] = 0
			}
		}
		for j, xj := range xi {
			cmu, inv := tc.cmu[j*K:(j+1)*K], tc.inv[j*K:(j+1)*K]
			cmu, inv = cmu[:len(r)], inv[:len(r)]
			var sj float64
			for k, rk := range r {
				sj += rk * (cmu[k] - xj) * inv[k]
			}
			out[j] = sj / z
		}
	}
}

// LogProb returns log p_t(x) for one row x.
func (m *Mixture) LogProb(x []float64, t float64) float64 {
	m.check(1, len(x))
	c, s := m.SDE.Marginal(t)
	sc := m.getCache()
	defer cachePool.Put(sc)
	return m.resp(sc.r, x[:m.d], c, s, true)
}

// LogProbTo writes log p_t(x) of each row into dst (len(t) values).
func (m *Mixture) LogProbTo(dst, x, t []float64) {
	m.check(len(t), len(x))
	sc := m.getCache()
	defer cachePool.Put(sc)
	for i, ti := range t {
		c, s := m.SDE.Marginal(ti)
		dst[i] = m.resp(sc.r, x[i*m.d:(i+1)*m.d], c, s, true)
	}
}

// TraceJacobianTo writes tr(d score/dx) of each row into dst (len(t) values).
func (m *Mixture) TraceJacobianTo(dst, x, t []float64) {
	n, d := len(t), m.d
	m.check(n, len(x))
	sc := m.getCache()
	defer cachePool.Put(sc)
	for i, ti := range t {
		c, s := m.SDE.Marginal(ti)
		c2, s2 := c*c, s*s
		xi := x[i*d : (i+1)*d]
		m.resp(sc.r, xi, c, s, false)
		var tr, sc2 float64
		for j := 0; j < d; j++ {
			var sj float64
			for k, rk := range sc.r {
				iv := 1 / (c2*m.sd2[k*d+j] + s2)
				a := (c*m.mu[k*d+j] - xi[j]) * iv
				sj += rk * a
				tr += rk * (a*a - iv)
			}
			sc2 += sj * sj
		}
		dst[i] = tr - sc2
	}
}

// VJPTo writes v^T (d score/dx) for each row into dst (the Jacobian is
// symmetric, so this is also J v). v, x and dst hold len(t) rows.
func (m *Mixture) VJPTo(dst, v, x, t []float64) {
	m.ScoreVJPTo(nil, dst, v, x, t)
}

// ScoreVJPTo writes the score into sdst (unless sdst is nil) and v^T (d
// score/dx) into dst, sharing one computation of the responsibilities per row.
func (m *Mixture) ScoreVJPTo(sdst, dst, v, x, t []float64) {
	n, d := len(t), m.d
	m.check(n, len(x), len(v), len(dst))
	if sdst != nil {
		m.check(n, len(sdst))
	}
	sc := m.getCache()
	defer cachePool.Put(sc)
	tmp := sc.row // the score row when the caller does not want it
	for i, ti := range t {
		c, s := m.SDE.Marginal(ti)
		c2, s2 := c*c, s*s
		xi, vi, out := x[i*d:(i+1)*d], v[i*d:(i+1)*d], dst[i*d:(i+1)*d]
		if len(sc.r) == 1 {
			// J = -diag(1/v): no responsibilities, no logarithms.
			for j, xj := range xi {
				iv := 1 / (c2*m.sd2[j] + s2)
				out[j] = -vi[j] * iv
				if sdst != nil {
					sdst[i*d+j] = (c*m.mu[j] - xj) * iv
				}
			}
			continue
		}
		m.resp(sc.r, xi, c, s, false)
		// J = sum_k r_k (a_k a_k^T - diag(1/v_k)) - score score^T; the score
		// accumulates in sdst's row or in tmp.
		so := tmp
		if sdst != nil {
			so = sdst[i*d : (i+1)*d]
		}
		clear(so)
		clear(out)
		for k, rk := range sc.r {
			if rk == 0 {
				continue
			}
			sd2, mu := m.sd2[k*d:(k+1)*d], m.mu[k*d:(k+1)*d]
			var va float64
			for j, xj := range xi {
				va += vi[j] * (c*mu[j] - xj) / (c2*sd2[j] + s2)
			}
			for j, xj := range xi {
				iv := 1 / (c2*sd2[j] + s2)
				a := (c*mu[j] - xj) * iv
				so[j] += rk * a
				out[j] += rk * (va*a - vi[j]*iv)
			}
		}
		var vs float64
		for j := range so {
			vs += vi[j] * so[j]
		}
		for j := range out {
			out[j] -= vs * so[j]
		}
	}
}

// SampleData draws one row from p_0 (the mixture itself, at t = 0 without the
// SDE's smoothing) into dst, and returns the component it came from.
func (m *Mixture) SampleData(dst []float64, r *rand.Rand) int {
	u := r.Float64()
	k := len(m.Weights) - 1
	for i, w := range m.Weights {
		if u < w {
			k = i
			break
		}
		u -= w
	}
	for j := 0; j < m.d; j++ {
		dst[j] = m.Means[k][j] + m.Stds[k][j]*r.NormFloat64()
	}
	return k
}

// Component returns the most probable component of row x under p_t.
func (m *Mixture) Component(x []float64, t float64) int {
	sc := m.getCache()
	defer cachePool.Put(sc)
	c, s := m.SDE.Marginal(t)
	m.resp(sc.r, x[:m.d], c, s, true)
	best := 0
	for k, rk := range sc.r {
		if rk > sc.r[best] {
			best = k
		}
	}
	return best
}

// DataMoments returns the exact mean and (diagonal of the) covariance of p_0.
func (m *Mixture) DataMoments() (mean, variance []float64) {
	mean = make([]float64, m.d)
	second := make([]float64, m.d)
	for k, w := range m.Weights {
		for j := 0; j < m.d; j++ {
			mu, sd := m.Means[k][j], m.Stds[k][j]
			mean[j] += w * mu
			second[j] += w * (mu*mu + sd*sd)
		}
	}
	variance = make([]float64, m.d)
	for j := range variance {
		variance[j] = second[j] - mean[j]*mean[j]
	}
	return mean, variance
}

// GMM8 returns the gmm8 reference problem under s.
func GMM8(s sde.SDE) *Mixture {
	w := make([]float64, 8)
	mu := make([][]float64, 8)
	sd := make([][]float64, 8)
	for k := range w {
		a := 2 * math.Pi * float64(k) / 8
		w[k] = 1
		mu[k] = []float64{4 * math.Cos(a), 4 * math.Sin(a)}
		sd[k] = []float64{0.5, 0.5}
	}
	m, err := NewMixture(s, w, mu, sd)
	if err != nil {
		panic(err)
	}
	return m
}

// Gauss returns the gauss:D reference problem under s: one diagonal Gaussian
// with mean_i = 0.5 cos(i) and std_i = 0.2 + 0.6 i/(D-1) (std 0.2 when D = 1).
func Gauss(s sde.SDE, d int) *Mixture {
	if d < 1 {
		panic("score: gauss dimension must be >= 1")
	}
	mu := make([]float64, d)
	sd := make([]float64, d)
	for i := range mu {
		mu[i] = 0.5 * math.Cos(float64(i))
		sd[i] = 0.2
		if d > 1 {
			sd[i] += 0.6 * float64(i) / float64(d-1)
		}
	}
	m, err := NewMixture(s, []float64{1}, [][]float64{mu}, [][]float64{sd})
	if err != nil {
		panic(err)
	}
	return m
}

// Problem returns a built-in exact problem by name: "gmm8" or "gauss:D".
func Problem(name string, s sde.SDE) (*Mixture, error) {
	if name == "gmm8" {
		return GMM8(s), nil
	}
	if rest, ok := strings.CutPrefix(name, "gauss:"); ok {
		d, err := strconv.Atoi(rest)
		if err != nil || d < 1 || d > 1<<20 {
			return nil, fmt.Errorf("score: problem %q: the dimension after gauss: must be a whole number from 1 to 1048576", name)
		}
		return Gauss(s, d), nil
	}
	return nil, fmt.Errorf("score: unknown problem %q; use gmm8 or gauss:D (for example gauss:64)", name)
}
