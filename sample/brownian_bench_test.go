package sample_test

import (
	"fmt"
	"testing"

	"github.com/sdekit/sdekit/sample"
)

// BenchmarkBrownianTree: one sweep of 1000 reverse steps from T = 1 to 1e-3
// (the samplers' uniform grid, not dyadic), or of 1024 steps from 1 to 0
// (dyadic), on a block of 128 rows x 64 dimensions (and 2 dimensions, a
// toy problem's), against Streams' Increment (one normal a value).
// ns/value is per row, dimension and step; the ratio of a tree line to the
// streams line of its dimension is the cost of a query in normal draws.
//
//	go test -run '^$' -bench BrownianTree ./sample
func BenchmarkBrownianTree(b *testing.B) {
	const n = 128
	rows := seqRows(n)
	grid := func(steps int, eps float64) []float64 {
		t := make([]float64, steps+1)
		for k := range t {
			t[k] = 1 + float64(k)*(eps-1)/float64(steps)
		}
		t[steps] = eps
		return t
	}
	type bench struct {
		name  string
		noise sample.Noise
		d     int
		times []float64
		area  bool
	}
	uniform, dyadic := grid(1000, 1e-3), grid(1024, 0)
	var cases []bench
	for _, d := range []int{64, 2} {
		cases = append(cases,
			bench{"streams", sample.Streams{}, d, uniform, false},
			bench{"streams-area", sample.Streams{}, d, uniform, true})
		for _, depth := range []int{20, 30, 40} {
			if d == 2 && depth != 30 {
				continue
			}
			tr := sample.BrownianTree{T: 1, Depth: depth}
			cases = append(cases,
				bench{fmt.Sprintf("tree%d-uniform1000", depth), tr, d, uniform, false},
				bench{fmt.Sprintf("tree%d-uniform1000-area", depth), tr, d, uniform, true},
				bench{fmt.Sprintf("tree%d-dyadic1024", depth), tr, d, dyadic, false})
		}
	}
	for _, c := range cases {
		b.Run(fmt.Sprintf("d%d/%s", c.d, c.name), func(b *testing.B) {
			z, hh := make([]float64, n*c.d), make([]float64, n*c.d)
			src := c.noise.NewSource(c.d)
			as, _ := src.(sample.AreaSource)
			steps := len(c.times) - 1
			b.ResetTimer()
			for range b.N {
				src.Start(1, rows)
				for k := range steps {
					if c.area {
						as.IncrementArea(z, hh, 0, n, c.times[k], c.times[k+1])
					} else {
						src.Increment(z, 0, n, c.times[k], c.times[k+1])
					}
					src.Next()
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*steps*n*c.d), "ns/value")
		})
	}
}
