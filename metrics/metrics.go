package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/sdekit/sdekit/score"
)

// rowsOf returns the number of rows of x (d values each) and panics when x is
// not a whole number of rows or empty.
func rowsOf(x []float64, d int) int {
	if d < 1 || len(x) == 0 || len(x)%d != 0 {
		panic(fmt.Sprintf("metrics: %d values are not a whole, non-zero number of rows of dimension %d", len(x), d))
	}
	return len(x) / d
}

func checkLen(name string, v []float64, want int) {
	if len(v) != want {
		panic(fmt.Sprintf("metrics: %s has %d values, want %d", name, len(v), want))
	}
}

// Mean returns the sample mean of the rows of x.
func Mean(x []float64, d int) []float64 {
	n := rowsOf(x, d)
	m := make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range x[i*d : (i+1)*d] {
			m[j] += v
		}
	}
	for j := range m {
		m[j] /= float64(n)
	}
	return m
}

// Covariance returns the sample mean and the unbiased sample covariance
// (d x d, row-major, divisor n - 1; zero for one row) of the rows of x.
func Covariance(x []float64, d int) (mean, cov []float64) {
	n := rowsOf(x, d)
	mean = Mean(x, d)
	cov = make([]float64, d*d)
	e := make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range x[i*d : (i+1)*d] {
			e[j] = v - mean[j]
		}
		for a := 0; a < d; a++ {
			for b := a; b < d; b++ {
				cov[a*d+b] += e[a] * e[b]
			}
		}
	}
	if n > 1 {
		for a := 0; a < d; a++ {
			for b := a; b < d; b++ {
				cov[a*d+b] /= float64(n - 1)
				cov[b*d+a] = cov[a*d+b]
			}
		}
	}
	return mean, cov
}

// MeanError returns |mean(x) - mean|, the Euclidean norm of the error of the
// sample mean.
func MeanError(x []float64, d int, mean []float64) float64 {
	checkLen("mean", mean, d)
	m := Mean(x, d)
	var s float64
	for j := range m {
		s += (m[j] - mean[j]) * (m[j] - mean[j])
	}
	return math.Sqrt(s)
}

// CovarianceError returns the relative error of the sample covariance,
// |C_hat - C|_F / |C|_F, for the true covariance cov (d x d, row-major).
func CovarianceError(x []float64, d int, cov []float64) float64 {
	checkLen("cov", cov, d*d)
	_, c := Covariance(x, d)
	var num, den float64
	for i := range c {
		num += (c[i] - cov[i]) * (c[i] - cov[i])
		den += cov[i] * cov[i]
	}
	return math.Sqrt(num / den)
}

// VarianceRatio returns, per dimension, the sample variance (divisor n - 1)
// divided by the true variance.
func VarianceRatio(x []float64, d int, variance []float64) []float64 {
	checkLen("variance", variance, d)
	_, c := Covariance(x, d)
	out := make([]float64, d)
	for j := range out {
		out[j] = c[j*d+j] / variance[j]
	}
	return out
}

// MixtureMoments returns the mean and covariance (d x d, row-major) of p_t of
// the mixture under its SDE: with marginal (c, s) at t,
// mean = c sum_k w_k mu_k, cov = sum_k w_k (c^2 diag(s_k^2) + c^2 mu_k mu_k^T) + s^2 I - mean mean^T.
// At t = 0 this is the density the samplers target (VE adds sigma_min^2 I).
func MixtureMoments(m *score.Mixture, t float64) (mean, cov []float64) {
	d := m.Dim()
	c, s := m.SDE.Marginal(t)
	mean = make([]float64, d)
	cov = make([]float64, d*d)
	for k, w := range m.Weights {
		mu, sd := m.Means[k], m.Stds[k]
		for a := 0; a < d; a++ {
			mean[a] += w * c * mu[a]
			cov[a*d+a] += w * c * c * sd[a] * sd[a]
			for b := 0; b < d; b++ {
				cov[a*d+b] += w * c * c * mu[a] * mu[b]
			}
		}
	}
	for a := 0; a < d; a++ {
		cov[a*d+a] += s * s
		for b := 0; b < d; b++ {
			cov[a*d+b] -= mean[a] * mean[b]
		}
	}
	return mean, cov
}

// LogProbGap returns the mean of log p_0(x_i) over the rows of x minus its
// expectation E_{p_0}[log p_0] (the negative entropy), and the standard error
// of that difference. p_0 is the mixture at t = 0 under its SDE. The
// expectation is in closed form for one component,
// -1/2 sum_j (log(2 pi v_j) + 1), and otherwise a Monte Carlo mean over mc
// exact draws from p_0 made with r (whose standard error is included).
//
// A sampler that puts mass where p_0 is small gives a negative gap; one that
// concentrates on the modes (too little variance) gives a positive gap.
func LogProbGap(m *score.Mixture, x []float64, mc int, r *rand.Rand) (gap, se float64) {
	d := m.Dim()
	n := rowsOf(x, d)
	lp := make([]float64, n)
	t := make([]float64, n)
	m.LogProbTo(lp, x, t)
	mean, vr := meanVar(lp)
	se2 := vr / float64(n)
	c, s := m.SDE.Marginal(0)
	var expect float64
	if m.K() == 1 {
		for j := 0; j < d; j++ {
			v := c*c*m.Stds[0][j]*m.Stds[0][j] + s*s
			expect -= 0.5 * (math.Log(2*math.Pi*v) + 1)
		}
	} else {
		if mc < 2 || r == nil {
			panic("metrics: LogProbGap of a mixture needs mc >= 2 exact draws and a generator")
		}
		y := make([]float64, mc*d)
		for i := 0; i < mc; i++ {
			row := y[i*d : (i+1)*d]
			m.SampleData(row, r)
			for j := range row {
				row[j] = c*row[j] + s*r.NormFloat64()
			}
		}
		ly := make([]float64, mc)
		m.LogProbTo(ly, y, make([]float64, mc))
		var vy float64
		expect, vy = meanVar(ly)
		se2 += vy / float64(mc)
	}
	return mean - expect, math.Sqrt(se2)
}

// meanVar returns the mean and the unbiased variance of v.
func meanVar(v []float64) (mean, variance float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		variance += (x - mean) * (x - mean)
	}
	if len(v) > 1 {
		variance /= float64(len(v) - 1)
	}
	return mean, variance
}

// W2Sorted1D returns the squared 2-Wasserstein distance between the empirical
// distributions of two sorted samples, the integral over u in (0, 1) of
// (F^-1(u) - G^-1(u))^2, exact for any sizes.
func W2Sorted1D(a, b []float64) float64 {
	na, nb := len(a), len(b)
	if na == 0 || nb == 0 {
		panic("metrics: W2 of an empty sample")
	}
	var w, u float64
	i, j := 0, 0
	for i < na && j < nb {
		// next break point of either quantile function
		ua, ub := float64(i+1)/float64(na), float64(j+1)/float64(nb)
		next := math.Min(ua, ub)
		diff := a[i] - b[j]
		w += (next - u) * diff * diff
		u = next
		if ua <= next {
			i++
		}
		if ub <= next {
			j++
		}
	}
	return w
}

// SlicedW2 returns the sliced 2-Wasserstein distance between the rows of x and
// y (dimension d): the square root of the mean, over `projections` directions
// drawn uniformly on the unit sphere with r, of the squared 1-D W2 distance of
// the projected samples (exact for the empirical distributions, any sizes).
// For N(m, I) against N(0, I) it tends to |m| / sqrt(d).
func SlicedW2(x, y []float64, d, projections int, r *rand.Rand) float64 {
	nx, ny := rowsOf(x, d), rowsOf(y, d)
	if projections < 1 {
		panic("metrics: SlicedW2 needs at least one projection")
	}
	u := make([]float64, d)
	px, py := make([]float64, nx), make([]float64, ny)
	var sum float64
	for p := 0; p < projections; p++ {
		var nn float64
		for nn == 0 {
			for j := range u {
				u[j] = r.NormFloat64()
				nn += u[j] * u[j]
			}
		}
		nn = math.Sqrt(nn)
		for j := range u {
			u[j] /= nn
		}
		project(px, x, u)
		project(py, y, u)
		slices.Sort(px)
		slices.Sort(py)
		sum += W2Sorted1D(px, py)
	}
	return math.Sqrt(sum / float64(projections))
}

func project(dst, x, u []float64) {
	d := len(u)
	for i := range dst {
		var s float64
		for j, v := range x[i*d : (i+1)*d] {
			s += v * u[j]
		}
		dst[i] = s
	}
}

// EnergyDistance returns the squared energy distance between the empirical
// distributions of the rows of x and y (Szekely and Rizzo 2013), as the
// V-statistic
//
//	2/(n m) sum |x_i - y_j| - 1/n^2 sum |x_i - x_i'| - 1/m^2 sum |y_j - y_j'|,
//
// which is >= 0 and 0 exactly when the two samples are equal as sets with
// multiplicity. Its bias for two samples of one distribution is O(1/n). Cost
// O((n + m)^2 d).
func EnergyDistance(x, y []float64, d int) float64 {
	nx, ny := rowsOf(x, d), rowsOf(y, d)
	xy := pairSum(x, y, d, false) / float64(nx*ny)
	xx := pairSum(x, x, d, true) / float64(nx*nx)
	yy := pairSum(y, y, d, true) / float64(ny*ny)
	return 2*xy - xx - yy
}

// EnergyDistance2D is EnergyDistance for two-dimensional samples.
func EnergyDistance2D(x, y []float64) float64 { return EnergyDistance(x, y, 2) }

// pairSum returns sum_{i,j} |a_i - b_j|; with same (a == b) it sums i < j
// twice.
func pairSum(a, b []float64, d int, same bool) float64 {
	na, nb := len(a)/d, len(b)/d
	var total float64
	for i := 0; i < na; i++ {
		ai := a[i*d : (i+1)*d]
		j0 := 0
		if same {
			j0 = i + 1
		}
		var s float64
		if d == 2 {
			x0, x1 := ai[0], ai[1]
			for j := j0; j < nb; j++ {
				e0, e1 := x0-b[2*j], x1-b[2*j+1]
				s += math.Sqrt(e0*e0 + e1*e1)
			}
		} else {
			for j := j0; j < nb; j++ {
				var q float64
				for k, v := range b[j*d : (j+1)*d] {
					e := ai[k] - v
					q += e * e
				}
				s += math.Sqrt(q)
			}
		}
		total += s
	}
	if same {
		total *= 2
	}
	return total
}

// ComponentWeights returns the weight of each mixture component in the sample
// x, as the mean responsibility r_k(x_i) = w_k N_k(x_i) / p_0(x_i) under p_0
// (the mixture at t = 0 under its SDE), and the standard error of each mean.
// For exact samples E[r_k] = w_k exactly, for any overlap of the components.
func ComponentWeights(m *score.Mixture, x []float64) (w, se []float64) {
	d := m.Dim()
	n := rowsOf(x, d)
	k := m.K()
	c, s := m.SDE.Marginal(0)
	logw := make([]float64, k)
	for i := range logw {
		logw[i] = math.Log(m.Weights[i])
	}
	sum := make([]float64, k)
	sum2 := make([]float64, k)
	r := make([]float64, k)
	for i := 0; i < n; i++ {
		xi := x[i*d : (i+1)*d]
		mx := math.Inf(-1)
		for q := 0; q < k; q++ {
			l := logw[q]
			for j, v := range xi {
				vv := c*c*m.Stds[q][j]*m.Stds[q][j] + s*s
				e := v - c*m.Means[q][j]
				l -= 0.5 * (math.Log(vv) + e*e/vv)
			}
			r[q] = l
			mx = math.Max(mx, l)
		}
		var z float64
		for q := range r {
			r[q] = math.Exp(r[q] - mx)
			z += r[q]
		}
		for q := range r {
			p := r[q] / z
			sum[q] += p
			sum2[q] += p * p
		}
	}
	w = make([]float64, k)
	se = make([]float64, k)
	for q := range w {
		w[q] = sum[q] / float64(n)
		if n > 1 {
			v := (sum2[q] - float64(n)*w[q]*w[q]) / float64(n-1)
			se[q] = math.Sqrt(math.Max(v, 0) / float64(n))
		}
	}
	return w, se
}
