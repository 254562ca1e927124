package rng

import (
	"math"
	"math/bits"
)

// This file defines the counter-based normal generator: its keys, its bit
// stream, and the scalar Box-Muller transform that is the reference for every
// vector kernel. The assembly kernels of normal_amd64.s must reproduce
// pairFromWords bit for bit (the pure-Go paths call it), so every
// floating-point step below is written out once, in a fixed order, with each
// fused multiply-add spelled math.FMA and every other product wrapped in an
// explicit float64 conversion (the Go spec forbids fusing across one), so no
// compiler on any architecture may contract or reorder it.

// Key identifies one counter-based normal stream: word i of the stream is
// mix64(Seed + i*Gamma) (see Bits), and normals 2p and 2p+1 come from words 2p
// and 2p+1 (see Normal). Gamma is odd, so i -> Seed + i*Gamma visits 2^64
// distinct counters before repeating. A Key is 16 bytes and NormalsRows reads
// a slice of them directly, so keep the field order.
type Key struct{ Seed, Gamma uint64 }

// NewKey returns the key of row `row` of run `seed` for purpose p. It derives
// both words from Seeds (the same words that seed the row's PCG stream), so a
// row's counter stream, like its PCG stream, depends only on (seed, row, p):
// Seed is the first word, and Gamma is the second made odd and, if it has
// fewer than 24 bit transitions, XORed with the alternating pattern ...1010.
func NewKey(seed uint64, row int, p Purpose) Key {
	hi, lo := Seeds(seed, row, p)
	return Key{Seed: hi, Gamma: gammaOf(lo)}
}

// gammaOf turns a well-mixed word into a stream increment, following the
// rule SplittableRandom uses for its gammas (Steele, Lea and Flood 2014):
// force the low bit on, so the increment is a unit mod 2^64 and the counters
// of one key never repeat; then count the places where adjacent bits differ
// (the ones of g ^ g>>1). An increment with few transitions, such as 1 or
// 0x0000ffff00000000, makes consecutive counters differ in few bits, and the
// finaliser then has less to work with, so such a g is XORed with
// 0xaaaaaaaaaaaaaaaa, which flips every other bit (bit 0 stays set, so g stays
// odd) and gives a pattern with many transitions.
func gammaOf(w uint64) uint64 {
	g := w | 1
	if bits.OnesCount64(g^g>>1) < 24 {
		g ^= 0xaaaaaaaaaaaaaaaa
	}
	return g
}

// The two multipliers of the SplitMix64 finaliser ("variant 13" of Stafford's
// Murmur3 finaliser mixes, as used by SplitMix64).
const (
	mixMul1 = 0xbf58476d1ce4e5b9
	mixMul2 = 0x94d049bb133111eb
)

// mix64 is the SplitMix64 finaliser: a bijection of uint64 in which every
// input bit affects every output bit. rng.go's mix adds the golden-ratio
// constant first; here the counter Seed + i*Gamma plays that role.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * mixMul1
	z = (z ^ z>>27) * mixMul2
	return z ^ z>>31
}

// Bits returns word i of k's stream: mix64(k.Seed + i*k.Gamma), all
// arithmetic mod 2^64.
func (k Key) Bits(i uint64) uint64 { return mix64(k.Seed + i*k.Gamma) }

// Normal returns normal number n of k's stream: the first (n even) or second
// (n odd) element of the pair pairFromWords(Bits(2p), Bits(2p+1)), p = n/2.
// It is the slow reference; use Normals or NormalsRows for bulk draws.
func (k Key) Normal(n uint64) float64 {
	p := n >> 1
	x, y := pairFromWords(k.Bits(2*p), k.Bits(2*p+1))
	if n&1 == 0 {
		return x
	}
	return y
}

// Bit patterns and constants shared by the scalar definition and the vector
// kernels (normal_amd64.go copies them into the kernels' constant table, so
// the two cannot drift apart).
const (
	oneBits  = 0x3ff0000000000000 // 1.0
	signBit  = 0x8000000000000000
	mant52   = 0x000fffffffffffff
	sqrtHalf = 0x3fe6a09e667f3bcd // sqrt(1/2) rounded to nearest
	// logBias is sqrtHalf minus 64 in the exponent field: subtracting it
	// from the bits of any u >= 2^-64 leaves a non-negative number whose top
	// 12 bits are k+64, where u = 2^k z with z in [sqrt(1/2), sqrt(2)).
	// The bias keeps the shift logical: AVX2 has no 64-bit arithmetic shift.
	logBias = sqrtHalf - 64<<52
	// expMagic is 2^52 as bits: OR-ing a small integer e into the mantissa
	// gives the double 2^52+e exactly, and subtracting expMagicK = 2^52+64
	// then gives e-64 = k exactly. This converts k to float64 without the
	// int64 conversion that AVX2 lacks.
	expMagic  = 0x4330000000000000
	expMagicK = 0x1p52 + 64
)

// ln2 split in two: ln2Hi is ln 2 rounded to a double and ln2Lo the rounded
// remainder, so k*ln2Hi + k*ln2Lo carries ln 2 to about 107 bits. The untyped
// literal 0x1.62e42fefa39efp-1 is float64(math.Ln2) (checked by a test); the
// subtraction is done in exact untyped-constant arithmetic.
const (
	ln2HiU  = 0x1.62e42fefa39efp-1
	ln2Hi   = float64(ln2HiU)
	ln2Lo   = float64(math.Ln2 - ln2HiU)
	m2Ln2Hi = -2 * ln2Hi // exact
	m2Ln2Lo = -2 * ln2Lo
)

// Coefficients of the log polynomial, scaled by -2 (see minus2Ln). With
// s = f/(2+f), ln(1+f) = 2 atanh(s) = 2s + s R(s^2),
// R(z) = sum_{j>=1} 2 z^j/(2j+1) = 2/3 z + 2/5 z^2 + ... For f in
// [sqrt(1/2)-1, sqrt(2)-1], |s| <= 0.1716 and z <= 0.02944. R is
// approximated by Lg1 z + ... + Lg7 z^7, the minimax polynomial of fdlibm's
// __ieee754_log (e_log.c, Sun Microsystems 1993; also Go's math.Log, whose
// L1..L7 are the same doubles), whose error on that range is below 2^-58.45;
// s R carries it scaled by |s| and it enters ln(1+f) ~ 2s at under 2^-59.45
// relative, about 0.01 ulp of the result at most. logCj is -2 Lgj, written
// as Lgj's exact bits (scaling by -2 is exact; a test checks the bits
// against fdlibm's decimal values).
const (
	logC1 = -2 * 0x1.5555555555593p-1 // Lg1 = 6.666666666666735130e-01
	logC2 = -2 * 0x1.999999997fa04p-2 // Lg2 = 3.999999999940941908e-01
	logC3 = -2 * 0x1.2492494229359p-2 // Lg3 = 2.857142874366239149e-01
	logC4 = -2 * 0x1.c71c51d8e78afp-3 // Lg4 = 2.222219843214978396e-01
	logC5 = -2 * 0x1.7466496cb03dep-3 // Lg5 = 1.818357216161805012e-01
	logC6 = -2 * 0x1.39a09d078c69fp-3 // Lg6 = 1.531383769920937332e-01
	logC7 = -2 * 0x1.2f112df3e5244p-3 // Lg7 = 1.479819860511658591e-01
)

// minus2Ln returns -2 ln u for a positive normal u >= 2^-64 (the generator
// only passes u in [2^-52, 1]); ln u itself is within 1 ulp. u is split in
// the integer domain as u = 2^k (1+f) with 1+f in [sqrt(1/2), sqrt(2)); then
//
//	ln u = k ln2Hi + (f - (f^2/2 - (s (f^2/2 + R) + k ln2Lo)))
//
// which is the arrangement of fdlibm's __ieee754_log (Sun Microsystems
// 1993): the large, exact terms (k ln2Hi, f) are added last, so the rounding
// errors of the small ones are scaled down. Every step below computes -2
// times the corresponding step of that formula (the constants carry the
// factor; q = f^2 = -2 (-f^2/2), so the signs of the hfsq terms turn
// round). Scaling by a power of two commutes with rounding, so the result is
// bit for bit -2 times the ln u that formula rounds to, and the Box-Muller
// factor -2 costs no multiply. Each line is one IEEE operation.
func minus2Ln(u float64) float64 {
	ub := math.Float64bits(u)
	t := ub - logBias
	e := t >> 52                                       // k + 64
	f := math.Float64frombits(t&mant52+sqrtHalf) - 1   // exact (Sterbenz)
	kd := math.Float64frombits(e|expMagic) - expMagicK // k, exact
	s := f / (2 + f)                                   // 2 + f is exact
	z := float64(s * s)
	z2 := float64(z * z)
	// Estrin's scheme: three independent first-degree pieces in z, then
	// Horner in z^2, so the dependency chain is 4 operations, not 6.
	a1 := math.FMA(z, logC2, logC1)
	a2 := math.FMA(z, logC4, logC3)
	a3 := math.FMA(z, logC6, logC5)
	p := math.FMA(logC7, z2, a3)
	p = math.FMA(p, z2, a2)
	p = math.FMA(p, z2, a1)
	q := float64(f * f)                       // -2 (-f^2/2)
	rq := math.FMA(p, z, -q)                  // -2 (f^2/2 + R), as p z = -2 R
	w := math.FMA(s, rq, float64(kd*m2Ln2Lo)) // -2 (s (f^2/2 + R) + k ln2Lo)
	v := (q + w) - (f + f)                    // -2 (f - (f^2/2 - ...)); f+f is exact
	return math.FMA(kd, m2Ln2Hi, v)
}

// radius returns sqrt(-2 ln u1) for the uniform u1 of word w0:
// u1 = 2 - (1 + m 2^-52) = 1 - m 2^-52 where m is the top 52 bits of w0, so
// u1 takes the 2^52 values {2^-52, 2*2^-52, ..., 1}, never 0: the radius is at
// most sqrt(104 ln 2) = 8.49, and it is +0 when m = 0. Building 1+m2^-52 by
// OR-ing bits and subtracting from 2 is exact and needs no int->float
// conversion.
func radius(w0 uint64) float64 {
	u1 := 2 - math.Float64frombits(oneBits|w0>>12)
	return math.Sqrt(minus2Ln(u1))
}

// pio2 = pi/2 split as pio2Hi (pi/2 rounded, checked by a test) + pio2Lo.
const (
	pio2HiU = 0x1.921fb54442d18p+00
	pio2Hi  = float64(pio2HiU)
	pio2Lo  = float64(math.Pi/2 - pio2HiU)
)

// Coefficients of sin((pi/2) g) = g (pi/2 + w (sin3 + w (sin5 + ...))) and
// cos((pi/2) g) = 1 + w (cos2 + w (cos4 + ...)), w = g^2, for g in [0, 1/2].
// They are fdlibm's minimax polynomials for sin x and cos x on
// [-pi/4, pi/4] (k_sin.c, k_cos.c, Sun Microsystems 1993; S1..S6 and
// C1..C6 below are their exact bits) with x = (pi/2) g substituted: the
// coefficient of g^n is that of x^n times (pi/2)^n, computed in exact
// untyped-constant arithmetic from math.Pi (63 digits) and rounded once, and
// cos2 is -(pi/2)^2/2. The substitution maps [0, pi/4] onto [0, 1/2], so
// fdlibm's bounds carry over: |sin x/x - polynomial| <= 2^-58 and
// |cos x - polynomial| <= 2^-58 (about 0.03 ulp of either result). The
// roundings of the scaled coefficients add at most 0.07 ulp to sin (sin3's
// half ulp times g^3) and 0.25 ulp to cos (cos2's times w <= 1/4); the rest
// is the evaluation's rounding, which the tests measure against 192-bit
// references.
const (
	fdS1 = -0x1.5555555555549p-3  // -1.66666666666666324348e-01
	fdS2 = 0x1.111111110f8a6p-7   // 8.33333333332248946124e-03
	fdS3 = -0x1.a01a019c161d5p-13 // -1.98412698298579493134e-04
	fdS4 = 0x1.71de357b1fe7dp-19  // 2.75573137070700676789e-06
	fdS5 = -0x1.ae5e68a2b9cebp-26 // -2.50507602534068634195e-08
	fdS6 = 0x1.5d93a5acfd57cp-33  // 1.58969099521155010221e-10
	fdC1 = 0x1.555555555554cp-5   // 4.16666666666666019037e-02
	fdC2 = -0x1.6c16c16c15177p-10 // -1.38888888888741095749e-03
	fdC3 = 0x1.a01a019cb1590p-16  // 2.48015872894767294178e-05
	fdC4 = -0x1.27e4f809c52adp-22 // -2.75573143513906633035e-07
	fdC5 = 0x1.1ee9ebdb4b1c4p-29  // 2.08757232129817482790e-09
	fdC6 = -0x1.8fae9be8838d4p-37 // -1.13596475577881948265e-11

	pio2U = math.Pi / 2
	pp    = pio2U * pio2U

	sin3  = float64(fdS1 * pio2U * pp)
	sin5  = float64(fdS2 * pio2U * pp * pp)
	sin7  = float64(fdS3 * pio2U * pp * pp * pp)
	sin9  = float64(fdS4 * pio2U * pp * pp * pp * pp)
	sin11 = float64(fdS5 * pio2U * pp * pp * pp * pp * pp)
	sin13 = float64(fdS6 * pio2U * pp * pp * pp * pp * pp * pp)
	cos2  = float64(-pp / 2)
	cos4  = float64(fdC1 * pp * pp)
	cos6  = float64(fdC2 * pp * pp * pp)
	cos8  = float64(fdC3 * pp * pp * pp * pp)
	cos10 = float64(fdC4 * pp * pp * pp * pp * pp)
	cos12 = float64(fdC5 * pp * pp * pp * pp * pp * pp)
	cos14 = float64(fdC6 * pp * pp * pp * pp * pp * pp * pp)
)

// sinCosQuarter returns sin and cos of (pi/2) g for g in [0, 1/2], each
// within 1 ulp. Estrin's scheme again shortens the dependency chains.
func sinCosQuarter(g float64) (sin, cos float64) {
	w := float64(g * g)
	w2 := float64(w * w)
	b1 := math.FMA(w, sin5, sin3)
	b2 := math.FMA(w, sin9, sin7)
	b3 := math.FMA(w, sin13, sin11)
	sp := math.FMA(b3, w2, b2)
	sp = math.FMA(sp, w2, b1)
	// The leading coefficient pi/2 is carried in two parts, so the only
	// large rounding is that of the final FMA.
	sin = math.FMA(g, pio2Hi, float64(g*math.FMA(w, sp, pio2Lo)))
	// cos = h + (e + w^2 Q): h = 1 + w cos2 rounded once, e its rounding
	// error (1-h is exact as h is in [0.69, 1], and the FMA gives e to
	// within a rounding of e itself), Q = cos4 + w cos6 + ... by Estrin.
	// Without e the rounding of the second-order term, up to 0.31, would
	// add half an ulp; with it only the final addition rounds at full size.
	d1 := math.FMA(w, cos6, cos4)
	d2 := math.FMA(w, cos10, cos8)
	d3 := math.FMA(w, cos14, cos12)
	cq := math.FMA(d3, w2, d2)
	cq = math.FMA(cq, w2, d1)
	h := math.FMA(w, cos2, 1)
	e := math.FMA(w, cos2, 1-h)
	cos = h + math.FMA(w2, cq, e)
	return sin, cos
}

// direction returns cos theta and sin theta for the angle of word w1:
// theta = (pi/2)(q + f), q = the top 2 bits of w1 (the quadrant) and
// f = bits 61..10 of w1 read as a fraction of 52 bits, f in [0, 1). Only
// polynomial-range arguments are ever evaluated: with h = bit 61 (f >= 1/2),
// g = h ? 1-f : f lies in [0, 1/2] (1-f is exact), b = (pi/2) g, and
//
//	(cos a, sin a) = h ? (sin b, cos b) : (cos b, sin b),  a = (pi/2) f,
//
// then a quarter turn per quadrant: q odd swaps again, cos theta is negative
// for q = 1, 2 and sin theta for q = 2, 3. So the swap is bit62 ^ bit61 and
// the two sign bits are bit63 ^ bit62 and bit63, applied by XOR.
func direction(w1 uint64) (c, s float64) {
	f := math.Float64frombits(oneBits|(w1<<2)>>12) - 1 // exact
	g := f
	if w1<<2&signBit != 0 {
		g = 1 - f
	}
	sb, cb := sinCosQuarter(g)
	c, s = cb, sb
	if (w1<<1^w1<<2)&signBit != 0 {
		c, s = sb, cb
	}
	c = math.Float64frombits(math.Float64bits(c) ^ (w1^w1<<1)&signBit)
	s = math.Float64frombits(math.Float64bits(s) ^ w1&signBit)
	return c, s
}

// pairFromWords is the definition of the generator (Box and Muller 1958):
// from two independent uniform words it returns the two independent standard
// normals r cos theta and r sin theta, r = radius(w0), theta from direction(w1).
// Every vector kernel must agree with it bit for bit.
func pairFromWords(w0, w1 uint64) (x, y float64) {
	r := radius(w0)
	c, s := direction(w1)
	return float64(r * c), float64(r * s)
}

// maxStep is the largest number of pairs one kernel call computes at a time
// (the AVX-512 kernels' step); it sizes the scratch arrays for partial steps.
const maxStep = 16

// Normals sets dst[i] to normal number n0+i of k's stream (see Normal), for
// every i. It is fast for long dst: consecutive pairs go to SIMD lanes.
func (k Key) Normals(dst []float64, n0 uint64) {
	off := int(n0 & 1)
	keyPairs(dst, off, k, n0>>1, (off+len(dst)+1)>>1)
}

// keyPairs computes pairs p, ..., p+np-1 of k as the sequence
// v = x_p, y_p, x_p+1, y_p+1, ... and sets dst[i] = v[i+off] for every i
// (off is 0 or 1, and v covers dst). Whole kernel steps that land inside
// dst are written in place; a step that would start before dst[0] (odd n0)
// or end past its end is computed into a scratch array and copied.
func keyPairs(dst []float64, off int, k Key, p uint64, np int) {
	step := keyStep()
	if step == 0 {
		for j := range np {
			q := p + uint64(j)
			x, y := pairFromWords(k.Bits(2*q), k.Bits(2*q+1))
			if i := 2*j - off; i >= 0 {
				dst[i] = x
			}
			if i := 2*j + 1 - off; i < len(dst) {
				dst[i] = y
			}
		}
		return
	}
	var tmp [2 * maxStep]float64
	for j := 0; j < np; {
		lo := 2*j - off // where the step's first value goes
		if lo >= 0 && lo+2*step <= len(dst) {
			m := (len(dst) - lo) / (2 * step) * step
			keyKernel(&dst[lo], k, p+uint64(j), m)
			j += m
			continue
		}
		keyKernel(&tmp[0], k, p+uint64(j), step)
		a, b := max(lo, 0), min(lo+2*step, len(dst))
		copy(dst[a:b], tmp[a-lo:b-lo])
		j += step
	}
}

// NormalsRows sets dst[r*d : r*d+d] to normals n0, ..., n0+d-1 of keys[r], for
// every r: row r gets exactly what keys[r].Normals(dst[r*d:r*d+d], n0) would
// give, so the result never depends on how rows are grouped into calls. It
// panics if len(dst) < len(keys)*d or d < 0. It does not allocate.
//
// Short rows put one row in each SIMD lane (d = 2 with n0 even, a sampler's
// step in two dimensions, writes the pairs in place). Long rows, for which a
// row fills whole kernel steps, take those steps from one call of the
// per-key kernel for all the rows (d = 64 with n0 even is exactly two
// AVX-512 steps a row), and any pairs left at either end of the rows (the
// half pair of an odd n0 or odd d, and a remainder short of a step) from the
// row lanes.
func NormalsRows(dst []float64, d int, keys []Key, n0 uint64) {
	if d < 0 {
		panic("rng: NormalsRows with negative row length")
	}
	if d > 0 && len(dst)/d < len(keys) {
		panic("rng: NormalsRows destination shorter than len(keys)*d")
	}
	if d == 0 || len(keys) == 0 {
		return
	}
	// The row touches pairs n0>>1 + j for j < np; pairs j0 <= j < j1 are
	// drawn in place by the per-key kernel, the rest by row lanes.
	off := int(n0 & 1)
	np := (off + d + 1) >> 1
	j0, j1 := 0, 0
	if d > rowLaneMax() {
		step := keyStep()
		if step == 0 {
			for r, k := range keys {
				k.Normals(dst[r*d:r*d+d], n0)
			}
			return
		}
		// Pair j = off is the first that lies wholly in the row, at
		// column 2j - off = off; whole steps from there that end in the row.
		j0 = off
		m := (d - off) / (2 * step) * step
		j1 = j0 + m
		if m > 0 {
			keysKernel(&dst[off], &keys[0], len(keys), n0>>1+uint64(j0), m, d)
		}
		if j0 == 0 && j1 == np {
			return
		}
	} else if d == 2 && n0&1 == 0 {
		rowPairs(dst[:2*len(keys)], keys, n0>>1)
		return
	}
	// Row lanes with a scatter: for each remaining pair touched by
	// [n0, n0+d), draw that pair for a block of rows into buf, then copy the
	// wanted halves. (Counting pairs from the first, rather than comparing
	// pair indices, stays right when n0+d wraps around 2^64.)
	const block = 128
	var buf [2 * block]float64
	for r0 := 0; r0 < len(keys); r0 += block {
		ks := keys[r0:min(r0+block, len(keys))]
		rows := dst[r0*d : (r0+len(ks))*d]
		for j := 0; j < np; j++ {
			if j == j0 && j1 > j0 {
				if j = j1; j == np {
					break
				}
			}
			rowPairs(buf[:2*len(ks)], ks, n0>>1+uint64(j))
			// Offset of the pair's first normal within a row: -1 for the
			// first pair when n0 is odd; the second normal falls past the
			// row's end when ox+1 == d.
			ox := 2*j - off
			switch {
			case ox < 0:
				for i := range ks {
					rows[i*d] = buf[2*i+1]
				}
			case ox+1 == d:
				for i := range ks {
					rows[i*d+ox] = buf[2*i]
				}
			default:
				for i := range ks {
					row := rows[i*d+ox : i*d+ox+2]
					row[0], row[1] = buf[2*i], buf[2*i+1]
				}
			}
		}
	}
}

// rowPairs sets dst[2r], dst[2r+1] to pair p of keys[r]. Whole kernel steps
// run in place; the last few rows are padded with copies of the last key to
// a full step in scratch arrays.
func rowPairs(dst []float64, keys []Key, p uint64) {
	step := keyStep() // the rows kernel's step is the keys kernel's
	if step == 0 {
		for r, k := range keys {
			dst[2*r], dst[2*r+1] = pairFromWords(k.Bits(2*p), k.Bits(2*p+1))
		}
		return
	}
	n := len(keys)
	body := n - n%step
	if body > 0 {
		rowKernel(&dst[0], &keys[0], p, body)
	}
	if rest := n - body; rest > 0 {
		var ks [maxStep]Key
		var tmp [2 * maxStep]float64
		for i := range step {
			ks[i] = keys[body+min(i, rest-1)]
		}
		rowKernel(&tmp[0], &ks[0], p, step)
		copy(dst[2*body:2*n], tmp[:])
	}
}
