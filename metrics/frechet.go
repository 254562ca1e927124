package metrics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// FrechetDistance fits a Gaussian to the rows of x and one to the rows of y
// (sample mean, unbiased covariance) and returns the squared Frechet
// distance between them, FrechetGaussian of the two fits: the quantity FID
// reports (Heusel et al. 2017), here for any features.
func FrechetDistance(x, y []float64, d int) float64 {
	mx, my := NewMoments(d), NewMoments(d)
	mx.Add(x)
	my.Add(y)
	m1, c1 := mx.MeanCov()
	m2, c2 := my.MeanCov()
	return FrechetGaussian(m1, c1, m2, c2, d)
}

// FrechetGaussian returns the squared Frechet (2-Wasserstein) distance
// between N(mu1, cov1) and N(mu2, cov2) (Dowson and Landau 1982),
//
//	d^2 = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^(1/2) S2 S1^(1/2))^(1/2)),
//
// cov1 and cov2 d x d row-major. Both square roots are of symmetric
// positive semi-definite matrices and are taken by eigen-decomposition with
// eigenvalues below 0 (round-off) set to 0, so a singular covariance (fewer
// samples than dimensions) is no problem; the trace of the second root is
// the sum of the square roots of the eigenvalues of S1^(1/2) S2 S1^(1/2).
// This avoids the non-symmetric sqrtm(S1 S2) of the usual FID code, which
// can return complex parts. A result below 0 by round-off is returned as 0.
func FrechetGaussian(mu1, cov1, mu2, cov2 []float64, d int) float64 {
	if d < 1 {
		panic(fmt.Sprintf("metrics: FrechetGaussian with dimension %d", d))
	}
	checkLen("mu1", mu1, d)
	checkLen("mu2", mu2, d)
	checkLen("cov1", cov1, d*d)
	checkLen("cov2", cov2, d*d)
	s1, s2 := symOf(cov1, d), symOf(cov2, d)
	r1, ok := symSqrt(s1)
	if !ok {
		panic("metrics: FrechetGaussian: the eigen-decomposition of cov1 failed (non-finite values?)")
	}
	var t, m mat.Dense
	t.Mul(r1, s2)
	m.Mul(&t, r1)
	var ev mat.EigenSym
	if !ev.Factorize(symOf(m.RawMatrix().Data, d), false) {
		panic("metrics: FrechetGaussian: the eigen-decomposition of S1^(1/2) S2 S1^(1/2) failed (non-finite values?)")
	}
	var trRoot float64
	for _, l := range ev.Values(nil) {
		trRoot += math.Sqrt(max(l, 0))
	}
	var dist float64
	for i := range d {
		e := mu1[i] - mu2[i]
		dist += e*e + s1.At(i, i) + s2.At(i, i)
	}
	return max(dist-2*trRoot, 0)
}

// symOf returns the symmetric part (A + A^T)/2 of the d x d matrix a.
func symOf(a []float64, d int) *mat.SymDense {
	s := mat.NewSymDense(d, nil)
	for i := range d {
		for j := i; j < d; j++ {
			s.SetSym(i, j, (a[i*d+j]+a[j*d+i])/2)
		}
	}
	return s
}

// symSqrt returns V diag(sqrt(max(l, 0))) V^T for s = V diag(l) V^T.
func symSqrt(s *mat.SymDense) (*mat.Dense, bool) {
	var ev mat.EigenSym
	if !ev.Factorize(s, true) {
		return nil, false
	}
	var v mat.Dense
	ev.VectorsTo(&v)
	l := ev.Values(nil)
	for i := range l {
		l[i] = math.Sqrt(max(l[i], 0))
	}
	var vl, r mat.Dense
	vl.Mul(&v, mat.NewDiagDense(len(l), l))
	r.Mul(&vl, v.T())
	return &r, true
}

// Moments accumulates the sample mean and covariance of rows that arrive
// in blocks (a feature set too large to hold at once). Rows are centred on
// the mean of the first block before their cross products are summed, which
// keeps the one-pass formula cov = (sum e e^T - n ebar ebar^T)/(n - 1) from
// cancelling when the mean is large against the spread.
type Moments struct {
	d     int
	n     int
	shift []float64
	sum   []float64
	cross *mat.SymDense
	e     []float64
}

// NewMoments returns an empty accumulator for rows of d values.
func NewMoments(d int) *Moments {
	if d < 1 {
		panic(fmt.Sprintf("metrics: NewMoments with dimension %d", d))
	}
	return &Moments{d: d, sum: make([]float64, d), cross: mat.NewSymDense(d, nil)}
}

// N is the number of rows added.
func (m *Moments) N() int { return m.n }

// Add accumulates the rows of x (a whole number of rows of d values).
func (m *Moments) Add(x []float64) {
	n := rowsOf(x, m.d)
	if m.shift == nil {
		m.shift = Mean(x, m.d)
	}
	if cap(m.e) < len(x) {
		m.e = make([]float64, len(x))
	}
	e := m.e[:len(x)]
	for i := range n {
		for j := range m.d {
			v := x[i*m.d+j] - m.shift[j]
			e[i*m.d+j] = v
			m.sum[j] += v
		}
	}
	m.cross.SymRankK(m.cross, 1, mat.NewDense(n, m.d, e).T())
	m.n += n
}

// MeanCov returns the sample mean and the unbiased (divisor n - 1; zero for
// one row) covariance, d x d row-major, of the rows added.
func (m *Moments) MeanCov() (mean, cov []float64) {
	if m.n == 0 {
		panic("metrics: Moments.MeanCov before any rows were added")
	}
	d, n := m.d, float64(m.n)
	mean = make([]float64, d)
	eb := make([]float64, d)
	for j := range d {
		eb[j] = m.sum[j] / n
		mean[j] = m.shift[j] + eb[j]
	}
	cov = make([]float64, d*d)
	if m.n < 2 {
		return mean, cov
	}
	for a := range d {
		for b := a; b < d; b++ {
			c := (m.cross.At(a, b) - n*eb[a]*eb[b]) / (n - 1)
			cov[a*d+b], cov[b*d+a] = c, c
		}
	}
	return mean, cov
}
