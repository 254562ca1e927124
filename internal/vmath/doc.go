// Package vmath holds elementwise float64 kernels over slices, each with an
// AVX2 + FMA assembly version on amd64 (chosen at run time with
// golang.org/x/sys/cpu) and a pure-Go version used elsewhere, on CPUs
// without AVX2 and FMA, with -tags purego, and for the few values left
// over by the 4-lane assembly. The two versions perform the same
// operations in the same order (fused multiply-adds through math.FMA in
// Go), so they give the same bits, and results do not depend on the
// machine or on how a slice splits into lanes and tail.
//
// # Exp
//
// Exp(dst, x) sets dst[i] = e^x[i]. The method is the classic table-free
// one (Cody and Waite 1980; Tang 1989; Muller 2016):
//
//  1. Clamp x to [-746, 710]: e^-746 rounds to +0 and e^710 overflows, so
//     the clamp changes no result, and it bounds n below. NaN passes.
//  2. n = round(x log2 e), ties to even, from one fused multiply-add with
//     1.5 * 2^52: the sum's low mantissa bits hold n as an integer.
//  3. r = x - n ln2hi - n ln2lo, with ln 2 split in two (fdlibm's
//     constants): ln2hi has 32 significant bits, so n ln2hi and
//     x - n ln2hi are exact for the n here (|n| <= 1076), and the second
//     step is one fused multiply-add. |r| <= ln 2 / 2 + 2^-40.
//  4. e^r = 1 + r (1 + r q(r)) with q(r) = sum_{k=2..13} r^(k-2) / k!, the
//     Taylor polynomial of degree 13: its truncation error is below
//     e^0.35 0.35^14 / 14! = 6e-18, under 0.1 ulp. q is evaluated as its even and odd
//     parts in r^2 (two independent Horner chains of 5 fused
//     multiply-adds instead of one of 11, for latency); the two outer
//     steps, whose rounding errors are not damped by r^2, are plain Horner.
//  5. e^x = p 2^n, with 2^n = 2^a 2^b, a = floor(n/2), b = n - a, both
//     built from exponent bits: both are normal for every n the clamp
//     allows, p 2^a is exact, and the product with 2^b is the only
//     rounding, also when the result is subnormal (gradual underflow) or
//     overflows to +Inf.
//
// Accuracy, measured against e^x computed in 200-bit arithmetic (math/big):
// the test (go test -v -run TestExpCorrectlyRounded ./internal/vmath)
// asserts < 1 ulp on 4000 random arguments in each of [-0.35, 0.35],
// [-40, 0] and [-708, 709] and logs the largest error, 0.81 ulp; a one-off
// run of the same check on 150 000 arguments a range (not in the
// repository) saw at most 0.88 ulp. 93-95% of results are correctly
// rounded. The error budget is the final rounding (0.5 ulp)
// plus those of r and of the last Horner step (each below 0.35 ulp), so
// the results are faithful in every test but not proven so. Against
// math.Exp (on amd64 an assembly kernel whose own error reaches about 1.7 ulp): about 87% of results identical, the rest 1 ulp
// apart, except about 1.5e-5 of them, 2 ulp apart, where math.Exp is the
// one more than 1 ulp from e^x (the test checks every such case with
// math/big). Subnormal results (x < -708.39) are within 1 ulp of e^x in
// units of the subnormal spacing 2^-1074, and x < -745.14 gives +0, as
// math.Exp does. Exp is finite up to x = 709.782712893384, as e^x is;
// math.Exp on amd64 returns +Inf from x = 709.4362 on.
//
// Speed (AMD EPYC, one core; go test -run '^$' -bench . ./internal/vmath):
// 0.9 to 1.1 ns a value for the assembly kernel, which does 8 values at a
// time as two interleaved groups of 4, against 7 to 11 ns for a math.Exp
// loop and 8 to 15 ns for the pure-Go kernel (the ranges are the machine's
// run-to-run variation).
//
// # LinComb
//
// LinComb(x, px, s, ps, z, pz) sets x[i] = fma(pz, z[i], fma(ps, s[i],
// px x[i])), the update x <- px x + ps score + pz noise of an
// Euler-Maruyama, reverse-diffusion or Langevin step, over a whole block of
// rows in one call, and reports whether every new value is finite (the
// samplers' NaN/Inf check, folded into the same pass). The kernel does 8
// values a loop: 0.25 to 0.3 ns a value against 1.7 to 2.1 for its Go
// twin linCombGo (go test -run '^$' -bench LinComb ./internal/vmath).
//
// Sources: W. J. Cody and W. Waite, Software Manual for the Elementary
// Functions, Prentice-Hall 1980 (the two-part reduction); P. T. P. Tang,
// Table-driven implementation of the exponential function in IEEE
// floating-point arithmetic, ACM TOMS 15(2), 1989 (the reduction and its
// error analysis); J.-M. Muller, Elementary Functions: Algorithms and
// Implementation, 3rd ed., Birkhauser 2016.
package vmath
