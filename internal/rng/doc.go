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
// Sources: O'Neill 2014, "PCG: A family of simple fast space-efficient
// statistically good algorithms for random number generation" (the generator,
// as math/rand/v2.PCG); Steele, Lea and Flood 2014, "Fast splittable
// pseudorandom number generators" (the SplitMix64 finaliser used to spread
// seeds).
package rng
