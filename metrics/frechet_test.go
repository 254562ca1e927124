package metrics

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// Every closed form below is computed in a different way from the code (no
// square root of a matrix), so a tolerance of 1e-10 relative to the scale of
// the covariances is rounding (eigen-decompositions of well-conditioned
// matrices of size <= 12 lose a few digits of 1e-16), not model error.
const fdTol = 1e-10

func randOrthogonal(d int, r *rand.Rand) *mat.Dense {
	a := mat.NewDense(d, d, nil)
	for i := range d {
		for j := range d {
			a.Set(i, j, r.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(a)
	var q mat.Dense
	qr.QTo(&q)
	return &q
}

// rotated returns Q diag(l) Q^T as a flat d x d slice.
func rotated(q *mat.Dense, l []float64) []float64 {
	d := len(l)
	var m mat.Dense
	m.Mul(q, mat.NewDiagDense(d, l))
	var s mat.Dense
	s.Mul(&m, q.T())
	out := make([]float64, d*d)
	for i := range d {
		for j := range d {
			out[i*d+j] = (s.At(i, j) + s.At(j, i)) / 2
		}
	}
	return out
}

func TestFrechetGaussianClosedForms(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	// 1-D: (m1 - m2)^2 + (s1 - s2)^2.
	if got, want := FrechetGaussian([]float64{1}, []float64{4}, []float64{-2}, []float64{9}, 1), 9.0+1; math.Abs(got-want) > fdTol*want {
		t.Errorf("1-D: %v, want %v", got, want)
	}
	// Commuting covariances (shared eigenvectors, diagonal when Q = I):
	// |mu1 - mu2|^2 + sum (sqrt a_i - sqrt b_i)^2.
	for _, d := range []int{1, 3, 12} {
		for _, rot := range []bool{false, true} {
			q := mat.NewDense(d, d, nil)
			for i := range d {
				q.Set(i, i, 1)
			}
			if rot {
				q = randOrthogonal(d, r)
			}
			a, b := make([]float64, d), make([]float64, d)
			m1, m2 := make([]float64, d), make([]float64, d)
			want := 0.0
			for i := range d {
				a[i], b[i] = 0.1+3*r.Float64(), 0.1+3*r.Float64()
				m1[i], m2[i] = r.NormFloat64(), r.NormFloat64()
				want += (m1[i]-m2[i])*(m1[i]-m2[i]) + (math.Sqrt(a[i])-math.Sqrt(b[i]))*(math.Sqrt(a[i])-math.Sqrt(b[i]))
			}
			got := FrechetGaussian(m1, rotated(q, a), m2, rotated(q, b), d)
			if math.Abs(got-want) > fdTol*float64(d)*3 {
				t.Errorf("d %d rotated %v: %v, want %v", d, rot, got, want)
			}
			if same := FrechetGaussian(m1, rotated(q, a), m1, rotated(q, a), d); math.Abs(same) > fdTol*float64(d)*3 {
				t.Errorf("d %d: distance to itself %v", d, same)
			}
		}
	}
	// Non-commuting 2 x 2: for a 2 x 2 PSD matrix M, tr sqrt(M) =
	// sqrt(tr M + 2 sqrt(det M)), and M = S1^(1/2) S2 S1^(1/2) has tr M =
	// tr(S1 S2), det M = det S1 det S2.
	for range 20 {
		s1 := rotated(randOrthogonal(2, r), []float64{0.2 + r.Float64(), 0.2 + 2*r.Float64()})
		s2 := rotated(randOrthogonal(2, r), []float64{0.2 + r.Float64(), 0.2 + 2*r.Float64()})
		tr12 := s1[0]*s2[0] + s1[1]*s2[2] + s1[2]*s2[1] + s1[3]*s2[3]
		det1, det2 := s1[0]*s1[3]-s1[1]*s1[2], s2[0]*s2[3]-s2[1]*s2[2]
		trSqrt := math.Sqrt(tr12 + 2*math.Sqrt(det1*det2))
		want := s1[0] + s1[3] + s2[0] + s2[3] - 2*trSqrt
		got := FrechetGaussian([]float64{0, 0}, s1, []float64{0, 0}, s2, 2)
		if math.Abs(got-want) > fdTol*10 {
			t.Errorf("2 x 2 %v %v: %v, want %v", s1, s2, got, want)
		}
		if back := FrechetGaussian([]float64{0, 0}, s2, []float64{0, 0}, s1, 2); math.Abs(back-got) > fdTol*10 {
			t.Errorf("not symmetric: %v and %v", got, back)
		}
	}
}

func TestFrechetDistanceSamples(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n, d = 200, 6
	x := make([]float64, n*d)
	for i := range x {
		x[i] = r.NormFloat64() * float64(1+i%d)
	}
	// Equal sets: 0; a translation by a: |a|^2 (the covariances are equal).
	if got := FrechetDistance(x, x, d); math.Abs(got) > fdTol*100 {
		t.Errorf("equal sets: %v", got)
	}
	a := []float64{1, -2, 0.5, 0, 3, -1}
	y := make([]float64, n*d)
	for i := range y {
		y[i] = x[i] + a[i%d]
	}
	if got, want := FrechetDistance(y, x, d), 1+4+0.25+9+1.0; math.Abs(got-want) > fdTol*100 {
		t.Errorf("translation: %v, want %v", got, want)
	}
	// 1-D samples: the sample means and unbiased (n - 1) variances in the
	// 1-D formula.
	u, v := []float64{1, 2, 4, 7}, []float64{0, 0, 3}
	mu, mv := 14.0/4, 1.0
	vu := ((1-mu)*(1-mu) + (2-mu)*(2-mu) + (4-mu)*(4-mu) + (7-mu)*(7-mu)) / 3
	vv := (1 + 1 + 4.0) / 2
	want := (mu-mv)*(mu-mv) + (math.Sqrt(vu)-math.Sqrt(vv))*(math.Sqrt(vu)-math.Sqrt(vv))
	if got := FrechetDistance(u, v, 1); math.Abs(got-want) > fdTol*want {
		t.Errorf("1-D samples: %v, want %v", got, want)
	}
	// Fewer samples than dimensions (singular covariances): finite, >= 0,
	// and 0 against itself; a round-off negative is clamped to 0.
	s := x[:3*d]
	if got := FrechetDistance(s, s, d); !(got >= 0 && got < fdTol*100) {
		t.Errorf("singular, itself: %v", got)
	}
	if got := FrechetDistance(s, x[3*d:6*d], d); !(got > 0) || math.IsInf(got, 0) {
		t.Errorf("singular: %v", got)
	}
}

// Moments fed in blocks gives Covariance's mean and covariance of the whole
// set, also for data whose mean (1e6) dwarfs its spread (1): the naive
// one-pass sum of squares would lose about 12 of 16 digits there. The
// tolerance 1e-9 relative is rounding in two different summation orders.
func TestMomentsBlocks(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n, d = 103, 4
	x := make([]float64, n*d)
	for i := range x {
		x[i] = 1e6 + r.NormFloat64()*float64(1+i%d)
	}
	wantM, wantC := Covariance(x, d)
	m := NewMoments(d)
	for _, cut := range [][2]int{{0, 1}, {1, 50}, {50, 103}} {
		m.Add(x[cut[0]*d : cut[1]*d])
	}
	gotM, gotC := m.MeanCov()
	if m.N() != n {
		t.Fatalf("N = %d", m.N())
	}
	for j := range wantM {
		if math.Abs(gotM[j]-wantM[j]) > 1e-9*1e6 {
			t.Errorf("mean[%d] %v, want %v", j, gotM[j], wantM[j])
		}
	}
	for k := range wantC {
		if math.Abs(gotC[k]-wantC[k]) > 1e-9*16 {
			t.Errorf("cov[%d] %v, want %v", k, gotC[k], wantC[k])
		}
	}
}
