package vmath

import "math"

// Constants of the exp kernel. The assembly reads them from expTab, which is
// built from these same constants, so the two paths cannot drift apart.
const (
	// Arguments are clamped to [expLo, expHi] before the reduction: below
	// expLo the result rounds to +0 (e^-746 < 2^-1075, half the smallest
	// subnormal) and above expHi it overflows to +Inf (e^710 > MaxFloat64),
	// while n = round(x log2 e) stays in [-1076, 1024], where the two-factor
	// scaling below keeps both factors normal.
	expLo = -746.0
	expHi = 710.0

	log2e = 1.44269504088896340735992468100189214 // 1/ln 2

	// expMagic = 1.5 * 2^52. Adding it to |y| < 2^51 rounds y to an integer
	// n (ties to even) and leaves n in the low bits of the sum's mantissa.
	expMagic = 6755399441055744.0

	// ln 2 = expLn2Hi + expLn2Lo (Cody-Waite). expLn2Hi has its low 21
	// mantissa bits zero, so n*expLn2Hi is exact for |n| < 2^21 and
	// x - n*expLn2Hi is exact too (the two are within a factor of 2 of
	// each other or n is 0). These are fdlibm's values.
	expLn2Hi = 6.93147180369123816490e-01 // 0x3fe62e42fee00000
	expLn2Lo = 1.90821492927058770002e-10 // 0x3dea39ef35793c76

	// expBias = bits(expMagic) - 2046: bits(expMagic + n) - expBias is
	// n + 2046, the sum of two biased exponents.
	expBias = 0x4338000000000000 - 2046

	// Taylor coefficients 1/k! of e^r. Each is a quotient of exact
	// integers, so the constant is 1/k! correctly rounded.
	expC2  = 1.0 / 2
	expC3  = 1.0 / 6
	expC4  = 1.0 / 24
	expC5  = 1.0 / 120
	expC6  = 1.0 / 720
	expC7  = 1.0 / 5040
	expC8  = 1.0 / 40320
	expC9  = 1.0 / 362880
	expC10 = 1.0 / 3628800
	expC11 = 1.0 / 39916800
	expC12 = 1.0 / 479001600
	expC13 = 1.0 / 6227020800
)

// Exp sets dst[i] = e^x[i] for i < len(x), leaving dst[len(x):] alone. dst
// and x may be the same slice, but must not overlap otherwise; Exp panics
// if len(dst) < len(x). Results are within 1 ulp of e^x for x in
// [-708.39, 709.78]; below, they round to the subnormals and to +0 from
// about -745.13; above, +Inf. NaN gives NaN, -Inf +0, +Inf +Inf. See the
// package documentation for the algorithm and the measured accuracy.
func Exp(dst, x []float64) {
	if len(dst) < len(x) {
		panic("vmath: Exp: len(dst) < len(x)")
	}
	n := len(x)
	if haveAVX2FMA && n >= 4 {
		n4 := n &^ 3
		expAVX2(&dst[0], &x[0], n4, &expTab)
		dst, x = dst[n4:], x[n4:]
	}
	expGeneric(dst, x)
}

// expGeneric is the portable kernel, and the tail (len % 4 values) of the
// assembly one. It performs exactly the operations of expAVX2, lane by lane,
// with math.FMA where the assembly fuses (and nowhere else, so the compiler
// cannot fuse on its own), so the two agree bit for bit.
func expGeneric(dst, x []float64) {
	dst = dst[:len(x)]
	for i, v := range x {
		// Clamp. NaN fails both comparisons and goes through unchanged,
		// like MAXPD/MINPD with x as the second operand.
		if v < expLo {
			v = expLo
		}
		if v > expHi {
			v = expHi
		}
		t := math.FMA(v, log2e, expMagic)
		n := t - expMagic
		r := math.FMA(-n, expLn2Hi, v)
		r = math.FMA(-n, expLn2Lo, r)
		// e^r = 1 + r (1 + r q(r)), q = c2 + c3 r + ... + c13 r^11. q is
		// split into even and odd parts in r^2, two independent chains of
		// 5 fused multiply-adds rather than one of 11, to shorten the
		// latency; its rounding errors are damped by r^2 <= 0.12, and the
		// two outer Horner steps, whose errors are not, stay as they are.
		p := math.FMA(expQ(r), r, 1)
		p = math.FMA(p, r, 1)
		// 2^n = 2^a 2^b with a = floor(n/2), b = n - a: both factors are
		// normal for every n the clamp allows, and p 2^a is exact, so the
		// only rounding is that of the final product (into the subnormal
		// range when n < -1022).
		m := math.Float64bits(t) - expBias // n + 2046
		a := m >> 1                        // a + 1023
		b := m - a                         // b + 1023
		dst[i] = p * math.Float64frombits(a<<52) * math.Float64frombits(b<<52)
	}
}

// expQ is q(r) = c2 + c3 r + ... + c13 r^11, as its even and odd parts in
// r^2, the operations of expAVX2 in order.
func expQ(r float64) float64 {
	r2 := r * r
	qe := math.FMA(expC12, r2, expC10)
	qe = math.FMA(qe, r2, expC8)
	qe = math.FMA(qe, r2, expC6)
	qe = math.FMA(qe, r2, expC4)
	qe = math.FMA(qe, r2, expC2)
	qo := math.FMA(expC13, r2, expC11)
	qo = math.FMA(qo, r2, expC9)
	qo = math.FMA(qo, r2, expC7)
	qo = math.FMA(qo, r2, expC5)
	qo = math.FMA(qo, r2, expC3)
	return math.FMA(qo, r, qe)
}

// expTable holds the constants of expAVX2, each repeated over 4 lanes.
type expTable [20][4]float64

var expTab = func() (t expTable) {
	bias := math.Float64frombits(expBias)
	for i, c := range []float64{
		expLo, expHi, log2e, expMagic, expLn2Hi, expLn2Lo, bias, 1,
		expC12, expC10, expC8, expC6, expC4, expC2,
		expC13, expC11, expC9, expC7, expC5, expC3,
	} {
		t[i] = [4]float64{c, c, c, c}
	}
	return t
}()
