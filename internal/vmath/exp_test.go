package vmath

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"testing"
)

// ulps returns the distance between two non-negative float64 values in units
// in the last place: the number of representable values between them
// (+Inf counts as the value after MaxFloat64). NaN gives -1.
func ulps(a, b float64) int64 {
	if math.IsNaN(a) || math.IsNaN(b) {
		return -1
	}
	d := int64(math.Float64bits(a)) - int64(math.Float64bits(b))
	if d < 0 {
		d = -d
	}
	return d
}

// sameBits reports whether a and b are the same float64, any NaN matching
// any NaN (the payload of a propagated NaN is not part of the contract).
func sameBits(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

// ranges of arguments for the random tests: the score oracle's use (shifted
// log-weights in [-40, 0]), the reduced interval, small arguments, and the
// whole normal range.
var ranges = []struct {
	name   string
	lo, hi float64
}{
	{"reduced", -0.35, 0.35},
	{"small", -1e-6, 1e-6},
	{"unit", -1, 1},
	{"logweights", -40, 0},
	{"moderate", -50, 50},
	{"normal", -708, 709},
}

func uniform(r *rand.Rand, n int, lo, hi float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = lo + (hi-lo)*r.Float64()
	}
	return x
}

// Against math.Exp over [-708, 709], where results are normal: at most 1
// ulp apart, except where math.Exp itself is more than 1 ulp from e^x. On
// amd64 math.Exp is an assembly kernel whose error reaches about 1.7 ulp
// (TestExpCorrectlyRounded logs it), so a faithful Exp can land 2 ulp from
// it; every such case is checked against e^x in 200-bit arithmetic, where
// Exp must be within 1 ulp and closer than math.Exp.
func TestExpVsMathExp(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 1 << 20
	if testing.Short() {
		n = 1 << 16
	}
	for _, rg := range ranges {
		x := uniform(r, n, rg.lo, rg.hi)
		count := checkVsMath(t, rg.name, x)
		t.Logf("%-10s [%g, %g]: %d values equal to math.Exp, %d 1 ulp apart, %d 2 ulp apart (math.Exp > 1 ulp off)",
			rg.name, rg.lo, rg.hi, count[0], count[1], count[2])
	}
}

// checkVsMath runs Exp on x and applies TestExpVsMathExp's criterion. It
// returns the number of values 0, 1 and 2 ulp from math.Exp.
func checkVsMath(t *testing.T, name string, x []float64) (count [3]int) {
	t.Helper()
	got := make([]float64, len(x))
	Exp(got, x)
	for i, v := range x {
		want := math.Exp(v)
		d := ulps(got[i], want)
		if d >= 0 && d <= 1 {
			count[d]++
			continue
		}
		e, em := errULP(got[i], v), errULP(want, v)
		if d != 2 || !(e < 1) || !(em > 1) || !(e < em) {
			t.Fatalf("%s: Exp(%v) = %v (error %.3f ulp), math.Exp %v (error %.3f ulp): %d ulp apart",
				name, v, got[i], e, want, em, d)
		}
		count[2]++
	}
	return count
}

// Near the edges of the reduction, x = (j + 1/2) ln 2, n = round(x log2 e)
// may round either way; both give a valid r, and the result must not care.
func TestExpReductionEdges(t *testing.T) {
	var x []float64
	for j := -1070; j <= 1022; j++ {
		c := (float64(j) + 0.5) * math.Ln2
		v := c
		for range 8 {
			v = math.Nextafter(v, math.Inf(-1))
		}
		for range 17 {
			x = append(x, v)
			v = math.Nextafter(v, math.Inf(1))
		}
	}
	checkVsMath(t, "edges", x)
}

// Subnormal results (x below -708.39) are rounded once from p 2^n, so they
// are within 1 ulp (of the subnormal spacing 2^-1074) of e^x, checked on a
// sample in 200-bit arithmetic, and of math.Exp; below -745.14 both give +0.
func TestExpSubnormal(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := uniform(r, 1<<16, -746, -708)
	got := make([]float64, len(x))
	Exp(got, x)
	for i, v := range x {
		want := math.Exp(v)
		if d := ulps(got[i], want); d > 1 || d < 0 {
			t.Fatalf("Exp(%v) = %v, math.Exp %v: %d ulp apart", v, got[i], want, d)
		}
		if v < -745.14 && got[i] != 0 {
			t.Fatalf("Exp(%v) = %v, want 0", v, got[i])
		}
		if math.Signbit(got[i]) {
			t.Fatalf("Exp(%v) = %v, negative", v, got[i])
		}
		if i%16 == 0 { // e^x in 200-bit arithmetic is slow; a sample suffices
			if e := errULP(got[i], v); !(e < 1) {
				t.Fatalf("Exp(%v) = %v: error %.3f ulp of 2^-1074", v, got[i], e)
			}
		}
	}
}

// Special and boundary arguments. want is exact where the result is 0, 1
// or +Inf; elsewhere (ref) the result must be within 1 ulp of e^x computed
// in 200-bit arithmetic.
func TestExpSpecial(t *testing.T) {
	inf := math.Inf(1)
	const ref = -1
	for _, c := range []struct{ x, want float64 }{
		{0, 1},
		{math.Copysign(0, -1), 1},
		{5e-324, 1},
		{-5e-324, 1},
		{1e-300, 1},
		{1e-17, 1},
		{1, ref},
		{-1, ref},
		{math.Ln2, 2},
		{709.78, ref},            // math.Exp on amd64 overflows from 709.437 on
		{709.782712893384, ref},  // the largest x with e^x < MaxFloat64
		{709.7827128933841, inf}, // the next float64
		{710, inf},
		{1e10, inf},
		{math.MaxFloat64, inf},
		{inf, inf},
		{-708.3964185322641, ref}, // smallest normal result
		{-708.5, ref},             // subnormal results
		{-745.13, ref},
		{-745.2, 0},
		{-746, 0},
		{-1e10, 0},
		{-math.MaxFloat64, 0},
		{math.Inf(-1), 0},
	} {
		for _, n := range []int{1, 4, 7} { // Go only; assembly only; both
			x := make([]float64, n)
			for i := range x {
				x[i] = c.x
			}
			got := make([]float64, n)
			Exp(got, x)
			for i := range got {
				var ok bool
				switch {
				case c.want == ref:
					ok = errULP(got[i], c.x) < 1
				case c.want == 0:
					ok = got[i] == 0 && !math.Signbit(got[i]) // +0, as math.Exp gives
				default:
					ok = got[i] == c.want
				}
				if !ok {
					t.Errorf("Exp(%v) lane %d of %d = %v, want %v (error %.3g ulp)", c.x, i, n, got[i], c.want, errULP(got[i], c.x))
				}
			}
		}
	}
	x := []float64{math.NaN(), 1, math.NaN(), -1, math.NaN()}
	Exp(x, x)
	if !math.IsNaN(x[0]) || !math.IsNaN(x[2]) || !math.IsNaN(x[4]) || x[1] != math.E || ulps(x[3], 1/math.E) > 1 {
		t.Errorf("NaN lanes: %v", x)
	}
}

// Every length from 0 to 17 covers the 4-lane body, the 1-3 value tail, and
// both at once; values past len(x) in dst are left alone. Exact comparison
// with expGeneric: the lanes and the tail compute the same operations.
func TestExpLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := 0; n <= 17; n++ {
		x := uniform(r, n, -30, 30)
		dst := make([]float64, n+3)
		for i := range dst {
			dst[i] = -1
		}
		Exp(dst, x)
		want := make([]float64, n)
		expGeneric(want, x)
		for i := range n {
			if !sameBits(dst[i], want[i]) || ulps(dst[i], math.Exp(x[i])) > 1 {
				t.Errorf("n=%d: dst[%d] = %v, generic %v, math.Exp %v", n, i, dst[i], want[i], math.Exp(x[i]))
			}
		}
		for i := n; i < len(dst); i++ {
			if dst[i] != -1 {
				t.Errorf("n=%d: dst[%d] = %v written past len(x)", n, i, dst[i])
			}
		}
	}
}

func TestExpAliasing(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 3, 4, 9, 64, 67} {
		x := uniform(r, n, -20, 20)
		want := make([]float64, n)
		Exp(want, x)
		Exp(x, x)
		for i := range x {
			if x[i] != want[i] {
				t.Errorf("n=%d: in place [%d] = %v, out of place %v", n, i, x[i], want[i])
			}
		}
	}
}

func TestExpShortDst(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic with len(dst) < len(x)")
		}
	}()
	Exp(make([]float64, 3), make([]float64, 4))
}

// The assembly kernel and the pure-Go one agree bit for bit (NaN matching
// any NaN), over every range, special values, and random bit patterns. On
// machines without AVX2 and FMA, or built with -tags purego, Exp is
// expGeneric and the test is trivially true.
func TestExpAsmMatchesGeneric(t *testing.T) {
	t.Logf("assembly kernel in use: %v", haveAVX2FMA)
	r := rand.New(rand.NewPCG(9, 10))
	var x []float64
	for _, rg := range ranges {
		x = append(x, uniform(r, 1<<16, rg.lo, rg.hi)...)
	}
	x = append(x, uniform(r, 1<<16, -800, 800)...)
	for range 1 << 16 {
		x = append(x, math.Float64frombits(r.Uint64())) // mostly huge, some NaN
	}
	x = append(x, math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1),
		709.78, 709.79, -708.4, -745.13, -745.14, -746, 5e-324, math.MaxFloat64, -math.MaxFloat64)
	for len(x)%4 != 0 {
		x = append(x, 0)
	}
	got := make([]float64, len(x))
	want := make([]float64, len(x))
	Exp(got, x)
	expGeneric(want, x)
	for i := range x {
		if !sameBits(got[i], want[i]) {
			t.Fatalf("Exp(%v) (%#x): asm %v (%#x), generic %v (%#x)", x[i], math.Float64bits(x[i]),
				got[i], math.Float64bits(got[i]), want[i], math.Float64bits(want[i]))
		}
	}
}

// expBig returns e^x to 200 bits: x = n ln 2 + r with ln 2 to 220 bits, then
// the Taylor series of e^r (|r| <= 0.35, 60 terms reach 2^-200) and an exact
// scaling by 2^n. Float64 of the result is e^x correctly rounded.
func expBig(x float64, ln2 *big.Float) *big.Float {
	const prec = 220
	n := math.Round(x / math.Ln2)
	r := new(big.Float).SetPrec(prec).SetFloat64(n)
	r.Mul(r, ln2)
	r.Sub(new(big.Float).SetPrec(prec).SetFloat64(x), r)
	sum := new(big.Float).SetPrec(prec).SetInt64(1)
	term := new(big.Float).SetPrec(prec).SetInt64(1)
	for k := int64(1); k <= 60; k++ {
		term.Mul(term, r)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(k))
		sum.Add(sum, term)
	}
	return sum.SetMantExp(sum, int(n))
}

// bigLn2 is ln 2 = 2 atanh(1/3) = 2 sum 1/((2k+1) 3^(2k+1)) to 220 bits.
func bigLn2() *big.Float {
	const prec = 240
	sum := new(big.Float).SetPrec(prec)
	third := new(big.Float).SetPrec(prec).Quo(big.NewFloat(1).SetPrec(prec), big.NewFloat(3).SetPrec(prec))
	p := new(big.Float).SetPrec(prec).Set(third)
	ninth := new(big.Float).SetPrec(prec).Mul(third, third)
	for k := int64(0); k < 80; k++ {
		t := new(big.Float).SetPrec(prec).Quo(p, new(big.Float).SetPrec(prec).SetInt64(2*k+1))
		sum.Add(sum, t)
		p.Mul(p, ninth)
	}
	return sum.Mul(sum, big.NewFloat(2))
}

// The error against e^x computed in 200-bit arithmetic, in ulp of the
// result (fractional), for vmath.Exp and for math.Exp, over the normal
// range and the reduced interval. The assertion, < 1 ulp (faithful
// rounding), is the accuracy the package documents; the measured maximum
// is logged.
func TestExpCorrectlyRounded(t *testing.T) {
	if f, _ := ln2Big.Float64(); f != math.Ln2 {
		t.Fatal("big ln 2 is wrong")
	}
	r := rand.New(rand.NewPCG(11, 12))
	n := 4000
	if testing.Short() {
		n = 400
	}
	for _, rg := range []struct{ lo, hi float64 }{{-0.35, 0.35}, {-40, 0}, {-708, 709}, {-745, -708.4}} {
		x := uniform(r, n, rg.lo, rg.hi)
		got := make([]float64, n)
		Exp(got, x)
		var worst, worstMath float64
		var rounded int
		for i, v := range x {
			ref := expBig(v, ln2Big)
			want, _ := ref.Float64()
			if got[i] == want {
				rounded++
			}
			u := math.Nextafter(want, math.Inf(1)) - want // ulp of the result
			e := ulpErr(got[i], ref, u)
			em := ulpErr(math.Exp(v), ref, u)
			worst, worstMath = math.Max(worst, e), math.Max(worstMath, em)
			if !(e < 1) {
				t.Fatalf("Exp(%v) = %v, e^x = %v: error %.3f ulp", v, got[i], want, e)
			}
		}
		t.Logf("[%g, %g]: max error %.3f ulp (math.Exp %.3f ulp), %.1f%% correctly rounded",
			rg.lo, rg.hi, worst, worstMath, 100*float64(rounded)/float64(n))
	}
}

var ln2Big = bigLn2()

// errULP returns the error of got as e^x in units of the last place of e^x
// rounded to float64 (for subnormal results, of 2^-1074).
func errULP(got, x float64) float64 {
	ref := expBig(x, ln2Big)
	cr, _ := ref.Float64()
	if math.IsInf(cr, 1) {
		if math.IsInf(got, 1) {
			return 0
		}
		return math.Inf(1)
	}
	return ulpErr(got, ref, math.Nextafter(cr, math.Inf(1))-cr)
}

// ulpErr returns |got - ref| / u, divided in big arithmetic (for subnormal
// results the difference itself is below the smallest float64).
func ulpErr(got float64, ref *big.Float, u float64) float64 {
	d := new(big.Float).SetPrec(220).SetFloat64(got)
	d.Sub(d, ref)
	d.Quo(d, new(big.Float).SetFloat64(u))
	f, _ := d.Float64()
	return math.Abs(f)
}

// ns/value for the assembly kernel (through Exp), the pure-Go kernel and a
// math.Exp loop, on arguments in [-40, 0] (what the mixture score feeds it),
// for a short slice (call overhead) and longer ones:
//
//	go test -run '^$' -bench . ./internal/vmath
func BenchmarkExp(b *testing.B) {
	for _, n := range []int{8, 512, 4096} {
		r := rand.New(rand.NewPCG(1, 1))
		x := uniform(r, n, -40, 0)
		dst := make([]float64, n)
		for _, k := range []struct {
			name string
			f    func()
		}{
			{"vmath", func() { Exp(dst, x) }},
			{"generic", func() { expGeneric(dst, x) }},
			{"math.Exp", func() {
				for i, v := range x {
					dst[i] = math.Exp(v)
				}
			}},
		} {
			b.Run(k.name+"/n="+strconv.Itoa(n), func(b *testing.B) {
				for b.Loop() {
					k.f()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/value")
			})
		}
	}
}
