package rng

import (
	"math/rand/v2"
)

// Purpose separates the independent streams a row may need, so that, for
// example, adding Hutchinson probes to a run does not change its noise.
type Purpose uint64

const (
	// Sampling is the stream of a sampler: the prior draw, then the noise of every step in order.
	Sampling Purpose = iota
	// Probe is the stream of Hutchinson probe vectors in likelihood runs.
	Probe
	// Dequant is the stream of dequantisation noise in likelihood runs.
	Dequant
	// Data is the stream used to draw data points from a known density.
	Data
	// Brownian is the stream of a row's Brownian tree (sample.BrownianTree): normal n is a fixed function of the node it refines, so the path is the same whatever the queries.
	Brownian
)

// mix is SplitMix64's output function: the golden-ratio step, then the
// finaliser mix64 (normal.go), a bijection on uint64 with full avalanche.
func mix(z uint64) uint64 { return mix64(z + 0x9e3779b97f4a7c15) }

// Seeds returns the two PCG seed words of row `row` of run `seed` for purpose p.
func Seeds(seed uint64, row int, p Purpose) (hi, lo uint64) {
	if row < 0 {
		panic("rng: negative row index")
	}
	a := mix(seed ^ mix(uint64(p)+0x632be59bd9b4e019))
	hi = mix(a ^ uint64(row))
	lo = mix(hi ^ 0xd1b54a32d192ed03 ^ uint64(p))
	return hi, lo
}

// New returns the generator of row `row` of run `seed` for purpose p.
func New(seed uint64, row int, p Purpose) *rand.Rand {
	hi, lo := Seeds(seed, row, p)
	return rand.New(rand.NewPCG(hi, lo))
}

// Stream is a reusable per-row generator: Reset re-seeds it in place without
// allocating, for loops over many rows.
type Stream struct {
	pcg rand.PCG
	R   *rand.Rand
}

// NewStream returns a Stream positioned at the start of row `row` of run `seed`.
func NewStream(seed uint64, row int, p Purpose) *Stream {
	s := &Stream{}
	s.R = rand.New(&s.pcg)
	s.Reset(seed, row, p)
	return s
}

// Reset moves the stream to the start of row `row` of run `seed` for purpose p.
func (s *Stream) Reset(seed uint64, row int, p Purpose) {
	hi, lo := Seeds(seed, row, p)
	s.pcg.Seed(hi, lo)
}

// Rows returns one generator per row for rows first, first+1, ..., first+n-1.
func Rows(seed uint64, first, n int, p Purpose) []*rand.Rand {
	out := make([]*rand.Rand, n)
	for i := range out {
		out[i] = New(seed, first+i, p)
	}
	return out
}

// FillNormal fills dst with independent standard normal draws.
func FillNormal(r *rand.Rand, dst []float64) {
	for i := range dst {
		dst[i] = r.NormFloat64()
	}
}

// FillRademacher fills dst with independent +-1 draws of equal probability.
func FillRademacher(r *rand.Rand, dst []float64) {
	var bits uint64
	for i := range dst {
		if i%64 == 0 {
			bits = r.Uint64()
		}
		if bits&1 == 1 {
			dst[i] = 1
		} else {
			dst[i] = -1
		}
		bits >>= 1
	}
}

// FillUniform fills dst with independent draws from [lo, hi).
func FillUniform(r *rand.Rand, dst []float64, lo, hi float64) {
	for i := range dst {
		dst[i] = lo + (hi-lo)*r.Float64()
	}
}
