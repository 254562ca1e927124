package sample

import (
	"math/rand/v2"

	"github.com/sdekit/sdekit/internal/rng"
)

// stream is one row's random stream, rng.New(seed, row, rng.Sampling), kept
// in a reusable slot: reset re-seeds the PCG in place, so a workspace's slots
// are allocated once and not per block or per step.
type stream struct {
	pcg rand.PCG
	r   *rand.Rand
}

// reset moves the stream to the start of row `row` of run `seed`.
func (p *stream) reset(seed uint64, row int, purpose rng.Purpose) {
	if p.r == nil {
		p.r = rand.New(&p.pcg)
	}
	hi, lo := rng.Seeds(seed, row, purpose)
	p.pcg.Seed(hi, lo)
}

// fill writes len(dst) standard normal draws.
func (p *stream) fill(dst []float64) {
	for i := range dst {
		dst[i] = p.r.NormFloat64()
	}
}

// normal returns one standard normal draw.
func (p *stream) normal() float64 { return p.r.NormFloat64() }

// float64 returns a uniform draw from [0, 1).
func (p *stream) float64() float64 { return p.r.Float64() }
