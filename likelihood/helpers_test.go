package likelihood

import (
	"math"

	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// drawData returns n points of p_0 from the rows' rng.Data streams.
func drawData(m *score.Mixture, seed uint64, n int) []float64 {
	d := m.Dim()
	x := make([]float64, n*d)
	for i := 0; i < n; i++ {
		m.SampleData(x[i*d:(i+1)*d], rng.New(seed, i, rng.Data))
	}
	return x
}

// linGauss is the exact score of p_0 = N(m, Sigma_0) with a full covariance
// Sigma_0 = Q diag(lam) Q^T under a VP-type or VE SDE: p_t = N(c m, Q diag(c^2
// lam + s^2) Q^T), score = -Sigma_t^{-1}(x - c m), Jacobian -Sigma_t^{-1}
// (symmetric, not diagonal). It has VJPTo but no TraceJacobianTo, and it does
// not allocate.
type linGauss struct {
	sde sde.SDE
	q   []float64 // D x D orthogonal, row-major; column i is eigenvector i
	lam []float64
	m   []float64
}

func newLinGauss(s sde.SDE) *linGauss {
	// Q: a rotation by 0.7 in the (0,1) plane times one by 0.4 in (1,2).
	c1, s1 := math.Cos(0.7), math.Sin(0.7)
	c2, s2 := math.Cos(0.4), math.Sin(0.4)
	a := [3][3]float64{{c1, -s1, 0}, {s1, c1, 0}, {0, 0, 1}}
	b := [3][3]float64{{1, 0, 0}, {0, c2, -s2}, {0, s2, c2}}
	q := make([]float64, 9)
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 3; k++ {
				q[i*3+j] += a[i][k] * b[k][j]
			}
		}
	}
	return &linGauss{sde: s, q: q, lam: []float64{0.05, 0.4, 1.5}, m: []float64{0.3, -0.5, 1}}
}

func (g *linGauss) Dim() int { return len(g.m) }

// applyInv writes Sigma_t^{-1} u into dst (len D), using w as scratch (len D).
func (g *linGauss) applyInv(dst, u []float64, c, s float64) {
	d := len(g.m)
	var w [8]float64
	for i := 0; i < d; i++ {
		var p float64
		for j := 0; j < d; j++ {
			p += g.q[j*d+i] * u[j]
		}
		w[i] = p / (c*c*g.lam[i] + s*s)
	}
	for j := 0; j < d; j++ {
		var p float64
		for i := 0; i < d; i++ {
			p += g.q[j*d+i] * w[i]
		}
		dst[j] = p
	}
}

func (g *linGauss) ScoreTo(dst, x, t []float64) {
	d := len(g.m)
	var u [8]float64
	for r, tr := range t {
		c, s := g.sde.Marginal(tr)
		for j := 0; j < d; j++ {
			u[j] = c*g.m[j] - x[r*d+j]
		}
		g.applyInv(dst[r*d:(r+1)*d], u[:d], c, s)
	}
}

func (g *linGauss) VJPTo(dst, v, x, t []float64) {
	d := len(g.m)
	for r, tr := range t {
		c, s := g.sde.Marginal(tr)
		out := dst[r*d : (r+1)*d]
		g.applyInv(out, v[r*d:(r+1)*d], c, s)
		for j := range out {
			out[j] = -out[j]
		}
	}
}

// logProb is log p_t(x).
func (g *linGauss) logProb(x []float64, t float64) float64 {
	d := len(g.m)
	c, s := g.sde.Marginal(t)
	l := -0.5 * float64(d) * math.Log(2*math.Pi)
	for i := 0; i < d; i++ {
		v := c*c*g.lam[i] + s*s
		var p float64
		for j := 0; j < d; j++ {
			p += g.q[j*d+i] * (x[j] - c*g.m[j])
		}
		l -= 0.5 * (math.Log(v) + p*p/v)
	}
	return l
}

// hideTrace wraps a score so that it has VJPTo but not TraceJacobianTo.
type hideTrace struct{ VJPScore }
