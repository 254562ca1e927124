// Package rng gives every sample its own random stream.
//
// A run is identified by a seed s. Row i of the run draws all of its random
// numbers (prior draw, per-step noise, Hutchinson probes, dequantisation noise)
// from a PCG generator whose 128-bit state is derived from (s, i, purpose) by
// the SplitMix64 finaliser:
//
//	state_hi = mix(mix(s) ^ i_hi'), state_lo = mix(... purpose ...)
//
// so row i's numbers never depend on the batch size, the number of workers, the
// shard a row falls in, or which other rows run. This is what makes
// `sdesample -shard i/n` reproduce the unsharded run bit for bit, and what the
// reference implementation lacks (one torch generator for the whole batch).
//
// The samplers' noise (purpose Sampling, package sample) comes from a
// counter-based generator (its AVX-512 path about 4-7x faster than PCG's
// ziggurat through math/rand/v2, its pure-Go path about 2.5x slower: go test
// -run '^$' -bench Normal ./internal/rng); probes,
// dequantisation and data draws use the PCG streams. Bulk standard normals
// come from that counter-based generator (Key, Normals, NormalsRows in
// normal.go). Row i's Key holds the same two words: Seed = state_hi and
// Gamma = state_lo made odd (and, if it has fewer than 24 bit transitions,
// XORed with 0xaaaaaaaaaaaaaaaa, the rule of SplitMix64's gammas). Word j of
// the row is mix64(Seed + j*Gamma), mix64 being the SplitMix64 finaliser, so
// any word can be computed directly from its index.
// Normals 2p and 2p+1 are one Box-Muller pair (Box and Muller 1958) from
// words w0 = 2p and w1 = 2p+1: u1 = 1 - (w0>>12) 2^-52 in [2^-52, 1], radius
// sqrt(-2 ln u1); angle (pi/2)(q + f) with quadrant q = w1>>62 and f the next
// 52 bits as a fraction, evaluated as sin and cos of (pi/2) g, g = min(f, 1-f),
// then swapped and signed by bits 61-63; x = r cos, y = r sin. The log, sin
// and cos are fixed polynomials with the minimax coefficients of fdlibm
// (Sun Microsystems 1993), each within 1 ulp, and every floating-point
// operation is spelled out in pairFromWords, the definition; the AVX2 and
// AVX-512 kernels perform the same operations in SIMD lanes (pairs of one
// key, or one row per lane) and give the same bits, so normal j of a row does
// not depend on the batch, the worker count, the call pattern or the CPU.
//
// Sources: O'Neill 2014, "PCG: A family of simple fast space-efficient
// statistically good algorithms for random number generation" (the generator,
// as math/rand/v2.PCG); Steele, Lea and Flood 2014, "Fast splittable
// pseudorandom number generators" (the SplitMix64 finaliser used to spread
// seeds).
package rng
