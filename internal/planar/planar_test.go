package planar

import (
	"math"
	"math/rand/v2"
	"testing"
)

// problem is a block of n rows of a K-component planar mixture, with l
// laid out at a stride larger than n (as the score's block scratch is).
type problem struct {
	n, K, stride  int
	c, s, x       []float64
	mu, logW      []float64
	v0, v1        float64
	l, mx, i0, i1 []float64
	dst           []float64
}

func newProblem(r *rand.Rand, n, K int) *problem {
	p := &problem{n: n, K: K, stride: n + 3, v0: 0.3 + r.Float64(), v1: 0.3 + r.Float64()}
	p.c, p.s, p.x = make([]float64, n), make([]float64, n), make([]float64, 2*n)
	for i := range n {
		p.c[i] = math.Exp(-5 * r.Float64())
		p.s[i] = math.Sqrt(1 - p.c[i]*p.c[i] + 1e-4)
		p.x[2*i], p.x[2*i+1] = 6*r.NormFloat64(), 6*r.NormFloat64()
	}
	p.mu, p.logW = make([]float64, 2*K), make([]float64, K)
	for k := range K {
		p.mu[2*k], p.mu[2*k+1] = 4*r.NormFloat64(), 4*r.NormFloat64()
		p.logW[k] = math.Log(0.1 + r.Float64())
	}
	p.l, p.mx = make([]float64, K*p.stride), make([]float64, n)
	p.i0, p.i1, p.dst = make([]float64, n), make([]float64, n), make([]float64, 2*n)
	return p
}

// run computes the block with the exported functions (kernel and tail) and
// the exps done row by row with math.Exp.
func (p *problem) run() {
	LogWeights(p.l, p.mx, p.i0, p.i1, p.c, p.s, p.x, p.mu, p.logW, p.stride, p.v0, p.v1)
	for k := range p.K {
		for i := range p.n {
			p.l[k*p.stride+i] = math.Exp(p.l[k*p.stride+i] - p.mx[i])
		}
	}
	Scores(p.dst, p.l, p.c, p.i0, p.i1, p.x, p.mu, p.stride)
}

// runRows computes the same block with the Go loops alone.
func (p *problem) runRows() {
	for i := range p.n {
		logWeightsRow(p.l[i:], p.mx, p.i0, p.i1, p.c, p.s, p.x, p.mu, p.logW, i, p.stride, p.v0, p.v1)
	}
	for k := range p.K {
		for i := range p.n {
			p.l[k*p.stride+i] = math.Exp(p.l[k*p.stride+i] - p.mx[i])
		}
	}
	for i := range p.n {
		scoresRow(p.dst, p.l[i:], p.c, p.i0, p.i1, p.x, p.mu, i, p.stride)
	}
}

func same(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

// The kernels (4 rows a lane group, then the Go tail) give the bits of the
// Go loop on every row, for every block length and number of components,
// including rows with NaN and infinite states. On a machine without AVX2
// (or with -tags purego) both sides are the Go loop and the test checks
// only the tail logic.
func TestKernelBits(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, K := range []int{1, 2, 3, 8, 9} {
		for n := 0; n <= 13; n++ {
			a := newProblem(r, n, K)
			if n >= 6 {
				a.x[2*5] = math.NaN()
				a.x[2*2+1] = math.Inf(1)
				a.x[2*3], a.x[2*3+1] = math.Inf(-1), math.Inf(1)
			}
			b := *a
			b.l, b.mx = make([]float64, len(a.l)), make([]float64, n)
			b.i0, b.i1, b.dst = make([]float64, n), make([]float64, n), make([]float64, 2*n)
			a.run()
			b.runRows()
			for i := range n {
				if !same(a.mx[i], b.mx[i]) || !same(a.i0[i], b.i0[i]) || !same(a.i1[i], b.i1[i]) {
					t.Fatalf("K=%d n=%d row %d: mx %v %v, 1/v %v %v / %v %v", K, n, i, a.mx[i], b.mx[i], a.i0[i], b.i0[i], a.i1[i], b.i1[i])
				}
				for j := range 2 {
					if !same(a.dst[2*i+j], b.dst[2*i+j]) {
						t.Fatalf("K=%d n=%d row %d coord %d: kernel %v, Go %v", K, n, i, j, a.dst[2*i+j], b.dst[2*i+j])
					}
				}
				for k := range K {
					if !same(a.l[k*a.stride+i], b.l[k*b.stride+i]) {
						t.Fatalf("K=%d n=%d row %d comp %d: weight %v vs %v", K, n, i, k, a.l[k*a.stride+i], b.l[k*b.stride+i])
					}
				}
			}
			if n >= 6 && !math.IsNaN(a.mx[5]) {
				t.Errorf("K=%d n=%d: a NaN state gave max %v, want NaN", K, n, a.mx[5])
			}
		}
	}
}

// The score matches the closed form of the mixture's score computed
// independently, with log-sum-exp in the naive order: within 1e-12 times
// the score's scale (|x| + |c mu|)/v, the size of the rounding of a few
// dozen operations on numbers of that size.
func TestScoreOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	p := newProblem(r, 37, 8)
	p.run()
	for i := range p.n {
		c := p.c[i]
		v := [2]float64{c*c*p.v0 + p.s[i]*p.s[i], c*c*p.v1 + p.s[i]*p.s[i]}
		lk := make([]float64, p.K)
		top := math.Inf(-1)
		for k := range p.K {
			q := 0.0
			for j := range 2 {
				e := p.x[2*i+j] - c*p.mu[2*k+j]
				q += e * e / v[j]
			}
			lk[k] = p.logW[k] - q/2
			top = math.Max(top, lk[k])
		}
		var z float64
		var g [2]float64
		for k := range p.K {
			w := math.Exp(lk[k] - top)
			z += w
			for j := range 2 {
				g[j] += w * (c*p.mu[2*k+j] - p.x[2*i+j]) / v[j]
			}
		}
		for j := range 2 {
			want := g[j] / z
			scale := (math.Abs(p.x[2*i+j]) + 4*c*3) / v[j]
			if d := math.Abs(p.dst[2*i+j] - want); d > 1e-12*scale {
				t.Errorf("row %d coord %d: %v, closed form %v (diff %g, scale %g)", i, j, p.dst[2*i+j], want, d, scale)
			}
		}
	}
}

func TestShortSlices(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("LogWeights accepted an l shorter than K x stride")
		}
	}()
	p := newProblem(rand.New(rand.NewPCG(5, 6)), 8, 3)
	LogWeights(p.l[:len(p.l)-4], p.mx, p.i0, p.i1, p.c, p.s, p.x, p.mu, p.logW, p.stride, p.v0, p.v1)
}

// go test -run '^$' -bench . ./internal/planar
func BenchmarkBlock(b *testing.B) {
	p := newProblem(rand.New(rand.NewPCG(7, 8)), 128, 8)
	b.Run("kernel", func(b *testing.B) {
		for b.Loop() {
			LogWeights(p.l, p.mx, p.i0, p.i1, p.c, p.s, p.x, p.mu, p.logW, p.stride, p.v0, p.v1)
			Scores(p.dst, p.l, p.c, p.i0, p.i1, p.x, p.mu, p.stride)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*p.n), "ns/row")
	})
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			for i := range p.n {
				logWeightsRow(p.l[i:], p.mx, p.i0, p.i1, p.c, p.s, p.x, p.mu, p.logW, i, p.stride, p.v0, p.v1)
			}
			for i := range p.n {
				scoresRow(p.dst, p.l[i:], p.c, p.i0, p.i1, p.x, p.mu, i, p.stride)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*p.n), "ns/row")
	})
}
