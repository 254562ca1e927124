package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

var dims = []int{1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 33, 64, 65, 130, 256}

// problem is one product with padded leading dimensions.
type problem[T float] struct {
	transA, transB bool
	m, n, k        int
	lda, ldb, ldc  int
	alpha, beta    T
	a, b, c0       []T
}

const sentinel = -12345.5 // value of C's padding, which must stay untouched

// newProblem fills A and B (including their padding: NaN there would show a
// read outside op(A), op(B)) and C, whose padding gets the sentinel and whose
// matrix part is NaN when beta is 0 (BLAS ignores it).
func newProblem[T float](rng *rand.Rand, transA, transB bool, m, n, k int, alpha, beta T) *problem[T] {
	p := &problem[T]{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	rowA, colA := m, k
	if transA {
		rowA, colA = k, m
	}
	rowB, colB := k, n
	if transB {
		rowB, colB = n, k
	}
	p.lda, p.ldb, p.ldc = colA+rng.IntN(3), colB+rng.IntN(3), n+rng.IntN(3)
	nan := T(math.NaN())
	fill := func(rows, cols, ld int) []T {
		s := make([]T, ld*(rows-1)+cols+rng.IntN(2))
		for i := range s {
			if i%ld < cols && i/ld < rows {
				s[i] = T(rng.NormFloat64())
			} else {
				s[i] = nan
			}
		}
		return s
	}
	p.a, p.b = fill(rowA, colA, p.lda), fill(rowB, colB, p.ldb)
	p.c0 = make([]T, p.ldc*(m-1)+n+1)
	for i := range p.c0 {
		switch {
		case i%p.ldc >= n || i/p.ldc >= m:
			p.c0[i] = sentinel
		case beta == 0:
			p.c0[i] = nan
		default:
			p.c0[i] = T(rng.NormFloat64())
		}
	}
	return p
}

func (p *problem[T]) opA(i, l int) float64 {
	if p.transA {
		return float64(p.a[l*p.lda+i])
	}
	return float64(p.a[i*p.lda+l])
}

func (p *problem[T]) opB(l, j int) float64 {
	if p.transB {
		return float64(p.b[j*p.ldb+l])
	}
	return float64(p.b[l*p.ldb+j])
}

func run[T float](p *problem[T]) []T {
	c := append([]T(nil), p.c0...)
	switch c := any(c).(type) {
	case []float64:
		Dgemm(p.transA, p.transB, p.m, p.n, p.k, float64(p.alpha), any(p.a).([]float64), p.lda, any(p.b).([]float64), p.ldb, float64(p.beta), c, p.ldc)
	case []float32:
		Sgemm(p.transA, p.transB, p.m, p.n, p.k, float32(p.alpha), any(p.a).([]float32), p.lda, any(p.b).([]float32), p.ldb, float32(p.beta), c, p.ldc)
	}
	return c
}

// verify compares c with a float64 triple loop. Tolerance: each element is
// a length-k FMA chain, whose error is at most gamma_k sum_p |a_ip b_pj|
// with gamma_k ~ k u (Higham, "Accuracy and Stability of Numerical
// Algorithms", sec. 3.1; an FMA rounds once per step); alpha*acc, beta*c
// and their sum add 2 roundings. So |c - exact| <= (k+2) u (|alpha| S +
// |beta c0|) with S = sum |a b|; the float64 reference has the same bound
// with u = 2^-53, so we allow twice the bound with the unit roundoff u of T.
func (p *problem[T]) verify(t *testing.T, c []T, name string) {
	t.Helper()
	u := 0x1p-53
	if _, ok := any(c).([]float32); ok {
		u = 0x1p-24
	}
	bad := 0
	for i := range c {
		if i%p.ldc >= p.n || i/p.ldc >= p.m {
			if c[i] != sentinel {
				t.Fatalf("%s: padding c[%d] = %v changed", name, i, c[i])
			}
			continue
		}
		r, j := i/p.ldc, i%p.ldc
		var ref, s float64
		for l := 0; l < p.k; l++ {
			x := p.opA(r, l) * p.opB(l, j)
			ref += x
			s += math.Abs(x)
		}
		ref *= float64(p.alpha)
		bound := math.Abs(float64(p.alpha)) * s
		if p.beta != 0 {
			ref += float64(p.beta) * float64(p.c0[i])
			bound += math.Abs(float64(p.beta) * float64(p.c0[i]))
		}
		tol := 2*float64(p.k+2)*u*bound + 1e-300
		if err := math.Abs(float64(c[i]) - ref); !(err <= tol) {
			if bad++; bad < 5 {
				t.Errorf("%s: c(%d,%d) = %v, want %v (err %g > tol %g)", name, r, j, c[i], ref, err, tol)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d bad elements", name, bad)
	}
}

type coef struct{ alpha, beta float64 }

var coefs = []coef{{1, 0}, {1, 1}, {-0.75, 0.5}, {2.5, 0}}

// shapes returns (m, n, k) triples: all (m, n) pairs of dims with two k of
// dims each (cycling so every k occurs), fewer with -short.
func shapes(short bool) [][3]int {
	var s [][3]int
	q := 0
	for _, m := range dims {
		for _, n := range dims {
			for r := 0; r < 2; r++ {
				q++
				if short && q%5 != 0 {
					continue
				}
				s = append(s, [3]int{m, n, dims[(q*7)%len(dims)]})
			}
		}
	}
	return s
}

func testAgainstRef[T float](t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for q, sh := range shapes(testing.Short()) {
		for tr := 0; tr < 4; tr++ {
			cf := coefs[(q+tr)%len(coefs)]
			p := newProblem(rng, tr&1 != 0, tr&2 != 0, sh[0], sh[1], sh[2], T(cf.alpha), T(cf.beta))
			name := fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d alpha=%v beta=%v", p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.beta)
			p.verify(t, run(p), name)
		}
	}
}

// withPaths runs f with the assembly kernels (when the CPU has them) and
// with the Go ones.
func withPaths(t *testing.T, f func(t *testing.T)) {
	defer func(v bool) { useAsm = v }(useAsm)
	if haveAsm {
		useAsm = true
		t.Run("asm", f)
	}
	useAsm = false
	t.Run("go", f)
}

func TestDgemm(t *testing.T) { withPaths(t, testAgainstRef[float64]) }
func TestSgemm(t *testing.T) { withPaths(t, testAgainstRef[float32]) }

func TestEdgeCases(t *testing.T) {
	// k = 0 and alpha = 0 scale C by beta without reading A and B.
	c := []float64{1, 2, math.NaN(), 4}
	Dgemm(true, false, 2, 2, 0, 1, nil, 2, nil, 2, 0, c, 2) // A, B stored 0 x 2
	if c[0] != 0 || c[1] != 0 || c[2] != 0 || c[3] != 0 {
		t.Errorf("k=0 beta=0: %v", c)
	}
	c = []float64{1, 2, 3, 4}
	a := []float64{math.NaN(), 1, 1, 1}
	Dgemm(false, false, 2, 2, 2, 0, a, 2, a, 2, 2, c, 2)
	if c[0] != 2 || c[3] != 8 {
		t.Errorf("alpha=0 beta=2: %v", c)
	}
	// m = 0 or n = 0: nothing is read or written.
	Dgemm(false, false, 0, 3, 3, 1, nil, 3, nil, 3, 0, nil, 3)
	Sgemm(true, true, 3, 0, 3, 1, nil, 3, nil, 3, 0, nil, 1)
}

func TestPanics(t *testing.T) {
	s := make([]float64, 100)
	for _, tc := range []struct {
		want string
		f    func()
	}{
		{"m < 0", func() { Dgemm(false, false, -1, 2, 2, 1, s, 2, s, 2, 0, s, 2) }},
		{"n < 0", func() { Dgemm(false, false, 2, -1, 2, 1, s, 2, s, 2, 0, s, 2) }},
		{"k < 0", func() { Dgemm(false, false, 2, 2, -1, 1, s, 2, s, 2, 0, s, 2) }},
		{"bad lda", func() { Dgemm(false, false, 2, 2, 3, 1, s, 2, s, 2, 0, s, 2) }},
		{"bad lda", func() { Dgemm(true, false, 3, 2, 2, 1, s, 2, s, 2, 0, s, 2) }},
		{"bad ldb", func() { Dgemm(false, false, 2, 3, 2, 1, s, 2, s, 2, 0, s, 3) }},
		{"bad ldb", func() { Dgemm(false, true, 2, 2, 3, 1, s, 3, s, 2, 0, s, 2) }},
		{"bad ldc", func() { Dgemm(false, false, 2, 3, 2, 1, s, 2, s, 3, 0, s, 2) }},
		{"length of a", func() { Dgemm(false, false, 10, 2, 10, 1, s[:99], 10, s, 2, 0, s, 2) }},
		{"length of b", func() { Dgemm(false, false, 2, 10, 10, 1, s, 10, s[:99], 10, 0, s, 10) }},
		{"length of c", func() {
			Sgemm(false, false, 10, 10, 1, 1, make([]float32, 10), 1, make([]float32, 10), 10, 0, make([]float32, 99), 10)
		}},
	} {
		func() {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.Contains(msg, tc.want) {
					t.Errorf("panic %v, want one naming %q", r, tc.want)
				}
			}()
			tc.f()
		}()
	}
}

func sameBits[T float](x, y T) bool {
	switch x := any(x).(type) {
	case float64:
		return math.Float64bits(x) == math.Float64bits(any(y).(float64))
	case float32:
		return math.Float32bits(x) == math.Float32bits(any(y).(float32))
	}
	return false
}

// testSubTile checks that an element's bits do not depend on the call it is
// part of: a sub-rectangle of C computed on its own (offset slices of A, B
// and C, so different tile positions and edges) matches the full product.
func testSubTile[T float](t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for tr := 0; tr < 4; tr++ {
		for _, beta := range []T{0, 1} {
			p := newProblem(rng, tr&1 != 0, tr&2 != 0, 130, 65, 300, 1, beta)
			full := run(p)
			for range 20 {
				i0, j0 := rng.IntN(p.m), rng.IntN(p.n)
				mt, nt := 1+rng.IntN(p.m-i0), 1+rng.IntN(p.n-j0)
				sub := *p
				sub.m, sub.n = mt, nt
				if p.transA {
					sub.a = p.a[i0:]
				} else {
					sub.a = p.a[i0*p.lda:]
				}
				if p.transB {
					sub.b = p.b[j0*p.ldb:]
				} else {
					sub.b = p.b[j0:]
				}
				sub.c0 = p.c0[i0*p.ldc+j0:]
				c := run(&sub)
				for i := 0; i < mt; i++ {
					for j := 0; j < nt; j++ {
						if x, y := c[i*p.ldc+j], full[(i0+i)*p.ldc+j0+j]; !sameBits(x, y) {
							t.Fatalf("tr=%d beta=%v: c(%d,%d) = %v in a %dx%d call at (%d,%d), %v in the full one", tr, beta, i0+i, j0+j, x, mt, nt, i0, j0, y)
						}
					}
				}
			}
		}
	}
}

func TestSubTileDeterminism(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		t.Run("f64", testSubTile[float64])
		t.Run("f32", testSubTile[float32])
	})
}

// testPaths checks that the assembly and Go kernels give identical bits.
func testPaths[T float](t *testing.T) {
	if !haveAsm {
		t.Skip("no assembly kernels in this build or on this CPU")
	}
	defer func(v bool) { useAsm = v }(useAsm)
	rng := rand.New(rand.NewPCG(5, 6))
	for q, sh := range shapes(true) {
		for tr := 0; tr < 4; tr++ {
			cf := coefs[(q+tr)%len(coefs)]
			p := newProblem(rng, tr&1 != 0, tr&2 != 0, sh[0], sh[1], sh[2], T(cf.alpha), T(cf.beta))
			useAsm = true
			x := run(p)
			useAsm = false
			y := run(p)
			for i := range x {
				if !sameBits(x[i], y[i]) && !(x[i] != x[i] && y[i] != y[i]) {
					t.Fatalf("tA=%v tB=%v m=%d n=%d k=%d: c[%d] = %v (asm), %v (go)", p.transA, p.transB, p.m, p.n, p.k, i, x[i], y[i])
				}
			}
		}
	}
}

func TestAsmGoSameBits(t *testing.T) {
	t.Run("f64", testPaths[float64])
	t.Run("f32", testPaths[float32])
}

// The case where float32(math.FMA(float64(x), float64(y), float64(z)))
// rounds twice and misses: x*y = 1 + 124463*2^-47 exactly, z = 2^24; the
// float64 sum rounds to the float32 midpoint 2^24 + 1, then ties to even.
var (
	dblX = float32(8390641 * 0x1p-23)
	dblY = float32(16773151 * 0x1p-24)
	dblZ = float32(0x1p24)
)

func TestFMA32(t *testing.T) {
	if got := float32(math.FMA(float64(dblX), float64(dblY), float64(dblZ))); got != 0x1p24 {
		t.Errorf("double-rounding example: naive emulation gives %v, expected the wrong 2^24", got)
	}
	if got := fma32(dblX, dblY, dblZ); got != 0x1p24+2 {
		t.Errorf("fma32 = %v, want 2^24 + 2", got)
	}
	if !haveAsm {
		return
	}
	// With k = 2 and panels (z, x) x (1, y) the assembly kernel returns
	// VFMADD231PS(x, y, z) in its first element (z*1 + 0 is exact).
	hw := func(x, y, z float32) float32 {
		a := make([]float32, 2*sMR)
		b := make([]float32, 2*sNR)
		c := make([]float32, sMR*sNR)
		a[0], a[sMR], b[0], b[sNR] = z, x, 1, y
		skernAsm(2, a, b, c, sNR, 1, 0, false)
		return c[0]
	}
	if got := hw(dblX, dblY, dblZ); got != 0x1p24+2 {
		t.Errorf("VFMADD231PS = %v, want 2^24 + 2", got)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	r32 := func() float32 {
		switch rng.IntN(4) {
		case 0: // any bit pattern, Inf and NaN included
			return math.Float32frombits(rng.Uint32())
		case 1: // subnormal
			return math.Float32frombits(rng.Uint32() & 0x807fffff)
		default:
			return float32(rng.NormFloat64() * math.Exp2(float64(rng.IntN(20)-10)))
		}
	}
	naiveBad := 0
	for i := 0; i < 1_000_000; i++ {
		x, y := r32(), r32()
		var z float32
		if i%2 == 0 {
			// z close to -x*y: cancellation and near-midpoint sums.
			z = -float32(float64(x)*float64(y)) * (1 + float32(rng.IntN(5)-2)*0x1p-23)
		} else {
			z = r32()
		}
		want, got := hw(x, y, z), fma32(x, y, z)
		if math.Float32bits(want) != math.Float32bits(got) && !(want != want && got != got) {
			t.Fatalf("fma32(%g, %g, %g) = %g, VFMADD231PS %g", x, y, z, got, want)
		}
		if n := float32(math.FMA(float64(x), float64(y), float64(z))); n != want && want == want {
			naiveBad++
		}
	}
	t.Logf("naive float64-FMA emulation differed from VFMADD231PS in %d of 1e6 random cases", naiveBad)
}

func TestNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	p := newProblem(rng, false, true, 64, 100, 77, 1.0, 1.0)
	c := append([]float64(nil), p.c0...)
	Dgemm(false, true, p.m, p.n, p.k, 1, p.a, p.lda, p.b, p.ldb, 1, c, p.ldc)
	if n := testing.AllocsPerRun(20, func() {
		Dgemm(false, true, p.m, p.n, p.k, 1, p.a, p.lda, p.b, p.ldb, 1, c, p.ldc)
	}); n > 0 {
		t.Errorf("%v allocations per call", n)
	}
}

// TestLargeK covers k beyond the cache budgets, where the packed blocks
// shrink to one micro-panel (mc = MR, nc = NR) and many blocks are visited.
func TestLargeK(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		k64, k32 := 40000, 70000 // > 256 KiB / (MR * size): mc = MR
		if testing.Short() {
			k64, k32 = 6000, 11000
		}
		for tr := 0; tr < 4; tr++ {
			p := newProblem(rng, tr&1 != 0, tr&2 != 0, 13, 19, k64, 1.0, 1.0)
			p.verify(t, run(p), fmt.Sprintf("f64 tr=%d k=%d", tr, k64))
			q := newProblem(rng, tr&1 != 0, tr&2 != 0, 13, 35, k32, float32(1), float32(0))
			q.verify(t, run(q), fmt.Sprintf("f32 tr=%d k=%d", tr, k32))
		}
	})
}

// TestAVX512SameBits checks that the AVX-512 float32 kernel (12 x 32 tiles)
// gives the bits of the AVX2 one (6 x 16), edges and all, and passes the
// reference test on its own.
func TestAVX512SameBits(t *testing.T) {
	if !have512 {
		t.Skip("no AVX-512 on this CPU or in this build")
	}
	defer func(a, z bool) { useAsm, use512 = a, z }(useAsm, use512)
	useAsm = true
	rng := rand.New(rand.NewPCG(7, 8))
	for q, sh := range shapes(true) {
		for tr := 0; tr < 4; tr++ {
			cf := coefs[(q+tr)%len(coefs)]
			p := newProblem(rng, tr&1 != 0, tr&2 != 0, sh[0], sh[1], sh[2], float32(cf.alpha), float32(cf.beta))
			use512 = true
			x := run(p)
			use512 = false
			y := run(p)
			for i := range x {
				if !sameBits(x[i], y[i]) && !(x[i] != x[i] && y[i] != y[i]) {
					t.Fatalf("tA=%v tB=%v m=%d n=%d k=%d: c[%d] = %v (avx512), %v (avx2)", p.transA, p.transB, p.m, p.n, p.k, i, x[i], y[i])
				}
			}
		}
	}
	use512 = true
	testAgainstRef[float32](t)
}
