package score

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

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
	}
	return m, nil
}

// Dim returns the dimension D of the data.
func (m *Mixture) Dim() int { return m.d }

// K returns the number of components.
func (m *Mixture) K() int { return len(m.Weights) }

// scratch holds the per-row responsibilities; a stack array covers the usual
// small K so hot loops do not allocate.
type scratch struct {
	buf [16]float64
	r   []float64
}

func (m *Mixture) newScratch() *scratch {
	s := &scratch{}
	if len(m.Weights) <= len(s.buf) {
		s.r = s.buf[:len(m.Weights)]
	} else {
		s.r = make([]float64, len(m.Weights))
	}
	return s
}

// resp fills r with log w_k + log N_k(x) and returns log p_t(x) (log-sum-exp);
// afterwards r holds the responsibilities.
func (m *Mixture) resp(r, x []float64, c, s float64) float64 {
	mx := math.Inf(-1)
	for k := range m.Weights {
		l := m.logW[k]
		mu, sd := m.Means[k], m.Stds[k]
		for j, xj := range x {
			v := c*c*sd[j]*sd[j] + s*s
			e := xj - c*mu[j]
			l -= 0.5 * (math.Log(2*math.Pi*v) + e*e/v)
		}
		r[k] = l
		if l > mx {
			mx = l
		}
	}
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

// ScoreTo writes grad_x log p_t(x) for each row of x at time t[i] into dst.
func (m *Mixture) ScoreTo(dst, x, t []float64) {
	n, d := len(t), m.d
	m.check(n, len(x), len(dst))
	sc := m.newScratch()
	for i, ti := range t {
		c, s := m.SDE.Marginal(ti)
		xi, out := x[i*d:(i+1)*d], dst[i*d:(i+1)*d]
		m.resp(sc.r, xi, c, s)
		for j := range out {
			out[j] = 0
		}
		for k, rk := range sc.r {
			if rk == 0 {
				continue
			}
			mu, sd := m.Means[k], m.Stds[k]
			for j := range out {
				v := c*c*sd[j]*sd[j] + s*s
				out[j] += rk * (c*mu[j] - xi[j]) / v
			}
		}
	}
}

// LogProb returns log p_t(x) for one row x.
func (m *Mixture) LogProb(x []float64, t float64) float64 {
	m.check(1, len(x))
	c, s := m.SDE.Marginal(t)
	return m.resp(m.newScratch().r, x[:m.d], c, s)
}

// LogProbTo writes log p_t(x) of each row into dst (len(t) values).
func (m *Mixture) LogProbTo(dst, x, t []float64) {
	m.check(len(t), len(x))
	sc := m.newScratch()
	for i, ti := range t {
		c, s := m.SDE.Marginal(ti)
		dst[i] = m.resp(sc.r, x[i*m.d:(i+1)*m.d], c, s)
	}
}

// TraceJacobianTo writes tr(d score/dx) of each row into dst (len(t) values).
func (m *Mixture) TraceJacobianTo(dst, x, t []float64) {
	n, d := len(t), m.d
	m.check(n, len(x))
	sc := m.newScratch()
	for i, ti := range t {
		c, s := m.SDE.Marginal(ti)
		xi := x[i*d : (i+1)*d]
		m.resp(sc.r, xi, c, s)
		var tr, sc2 float64
		// score components accumulate in a second pass to avoid a scratch row
		for j := 0; j < d; j++ {
			var sj float64
			for k, rk := range sc.r {
				v := c*c*m.Stds[k][j]*m.Stds[k][j] + s*s
				a := (c*m.Means[k][j] - xi[j]) / v
				sj += rk * a
				tr += rk * (a*a - 1/v)
			}
			sc2 += sj * sj
		}
		dst[i] = tr - sc2
	}
}

// VJPTo writes v^T (d score/dx) for each row into dst (the Jacobian is
// symmetric, so this is also J v). v, x and dst hold len(t) rows.
func (m *Mixture) VJPTo(dst, v, x, t []float64) {
	n, d := len(t), m.d
	m.check(n, len(x), len(v), len(dst))
	sc := m.newScratch()
	for i, ti := range t {
		c, s := m.SDE.Marginal(ti)
		xi, vi, out := x[i*d:(i+1)*d], v[i*d:(i+1)*d], dst[i*d:(i+1)*d]
		m.resp(sc.r, xi, c, s)
		// score . v and the score itself are needed: first pass computes v.score.
		var vs float64
		for j := 0; j < d; j++ {
			var sj float64
			for k, rk := range sc.r {
				vk := c*c*m.Stds[k][j]*m.Stds[k][j] + s*s
				sj += rk * (c*m.Means[k][j] - xi[j]) / vk
			}
			vs += vi[j] * sj
			out[j] = 0
		}
		for k, rk := range sc.r {
			if rk == 0 {
				continue
			}
			var va float64
			for j := 0; j < d; j++ {
				vk := c*c*m.Stds[k][j]*m.Stds[k][j] + s*s
				va += vi[j] * (c*m.Means[k][j] - xi[j]) / vk
			}
			for j := 0; j < d; j++ {
				vk := c*c*m.Stds[k][j]*m.Stds[k][j] + s*s
				a := (c*m.Means[k][j] - xi[j]) / vk
				out[j] += rk * (va*a - vi[j]/vk)
			}
		}
		for j := 0; j < d; j++ {
			var sj float64
			for k, rk := range sc.r {
				vk := c*c*m.Stds[k][j]*m.Stds[k][j] + s*s
				sj += rk * (c*m.Means[k][j] - xi[j]) / vk
			}
			out[j] -= vs * sj
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
	sc := m.newScratch()
	c, s := m.SDE.Marginal(t)
	m.resp(sc.r, x[:m.d], c, s)
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
