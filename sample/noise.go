package sample

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/sdekit/sdekit/internal/rng"
)

// Noise is where the samplers' Gaussian draws come from. The default,
// Streams, gives every row its own counter-based stream; a Brownian tree
// (which answers W(t1) - W(t0) for any interval, the same whatever the
// order of the questions) plugs in here without any change to the samplers.
type Noise interface {
	// NewSource returns a source for one worker and rows of dimension d. It
	// is called once per worker; the source is reused for every block the
	// worker runs.
	NewSource(d int) NoiseSource
}

// NoiseSource is one worker's noise. Between two calls of Next, Normals and
// Increment may be called concurrently for disjoint row ranges of the block
// (a lockstep plan splits a step over the workers).
type NoiseSource interface {
	// Start begins a block whose rows have the global indices rows, for the
	// run's seed. The block's first draw is the prior.
	Start(seed uint64, rows []int)
	// Normals writes independent standard normals for rows a..c-1 of the
	// block into rows a..c-1 of z (d values a row): the prior draw and the
	// noise of Langevin corrector steps, which belong to no time interval.
	Normals(z []float64, a, c int)
	// Increment writes the Brownian increment of rows a..c-1 over the
	// interval from t0 to t1, divided by sqrt|t1 - t0|, so that each value is
	// standard normal: the noise of a step of the reverse SDE.
	Increment(z []float64, a, c int, t0, t1 float64)
	// Next ends the current draw: the next Normals or Increment call gives
	// new values.
	Next()
}

// AreaSource is a NoiseSource that also answers the space-time Levy area
// of an interval, which the strong order 1.5 methods for additive noise
// (SRA1, ShARK) need. For the interval between t0 and t1 (either order),
// h = |t1 - t0|, IncrementArea writes for rows a..c-1
//
//	w  = (W(t1) - W(t0)) / sqrt(h)                                   ~ N(0, 1)
//	hh = H / sqrt(h),  H = (1/h) int_lo^hi (W(u) - W(lo) - (u - lo)/h (W(hi) - W(lo))) du   ~ N(0, 1/12)
//
// (lo, hi: the interval's ends in increasing order), w and hh independent
// (Foster 2020; diffrax's SpaceTimeLevyArea). w changes sign with the
// direction; H does not (the area of the time-reversed path is the same H),
// so a reverse-time step from t0 to t1 < t0 uses them as they come. Like
// Increment, it is one draw: Next ends it.
type AreaSource interface {
	NoiseSource
	IncrementArea(w, hh []float64, a, c int, t0, t1 float64)
}

// NoiseChooser is implemented by samplers with a default Noise of their own
// (the Brownian tree, for methods that refine or reject steps): Validate
// takes it when Config.Noise is nil.
type NoiseChooser interface {
	DefaultNoise() Noise
}

// TimeBinder is implemented by Noise values defined on the run's time
// interval [0, T] (a Brownian tree): Validate replaces Config.Noise by
// BindTime(T) of the SDE's T.
type TimeBinder interface {
	BindTime(T float64) Noise
}

// Streams is the default Noise: row i of seed s draws its normals in order
// from its own counter-based stream rng.NewKey(s, i, rng.Sampling) (normal
// n of the row is a fixed function of the key and n), so a row is the same
// whatever the other rows, their order, the workers and blocks. Increment
// ignores the interval and takes the next normals of the stream: two runs
// with different steps see unrelated Brownian paths.
type Streams struct{}

// NewSource returns a stream source for rows of dimension d.
func (Streams) NewSource(d int) NoiseSource { return &streamSource{d: d} }

type streamSource struct {
	d     int
	keys  []rng.Key
	drawn uint64 // normals drawn so far by every row of the block (they advance in lock step)
	width uint64 // normals per row the current draw uses: d, or 2d after IncrementArea
}

func (s *streamSource) Start(seed uint64, rows []int) {
	if cap(s.keys) < len(rows) {
		s.keys = make([]rng.Key, len(rows))
	}
	s.keys = s.keys[:len(rows)]
	for r, row := range rows {
		s.keys[r] = rng.NewKey(seed, row, rng.Sampling)
	}
	s.drawn, s.width = 0, uint64(s.d)
}

func (s *streamSource) Normals(z []float64, a, c int) {
	rng.NormalsRows(z[a*s.d:c*s.d], s.d, s.keys[a:c], s.drawn)
}

func (s *streamSource) Increment(z []float64, a, c int, _, _ float64) { s.Normals(z, a, c) }

// IncrementArea takes the draw's d normals for w and the next d, divided by
// sqrt(12), for hh: the right law, independent from step to step (so a
// stream answers the 1.5 methods too, without a path shared across runs).
func (s *streamSource) IncrementArea(w, hh []float64, a, c int, _, _ float64) {
	d := uint64(s.d)
	rng.NormalsRows(w[a*s.d:c*s.d], s.d, s.keys[a:c], s.drawn)
	rng.NormalsRows(hh[a*s.d:c*s.d], s.d, s.keys[a:c], s.drawn+d)
	for i := a * s.d; i < c*s.d; i++ {
		hh[i] *= invSqrt12
	}
	s.width = 2 * d
}

// invSqrt12 is the standard deviation of H/sqrt(h).
var invSqrt12 = 1 / math.Sqrt(12)

func (s *streamSource) Next() { s.drawn += s.width; s.width = uint64(s.d) }

// noiseNames is the table of named noises (the command line's -noise).
var noiseNames = map[string]func() Noise{
	"streams": func() Noise { return Streams{} },
	"tree":    func() Noise { return BrownianTree{} },
}

// NoiseNames returns the names NoiseByName takes, sorted.
func NoiseNames() []string {
	return slices.Sorted(maps.Keys(noiseNames))
}

// NoiseByName returns the named Noise: "streams" (a counter-based stream
// per row) or "tree" (a Brownian tree per row).
func NoiseByName(name string) (Noise, error) {
	f, ok := noiseNames[name]
	if !ok {
		return nil, fmt.Errorf("sample: unknown noise %q; use %s", name, strings.Join(NoiseNames(), " or "))
	}
	return f(), nil
}
