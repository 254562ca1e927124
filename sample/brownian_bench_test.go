package sample_test

import (
	"fmt"
	"testing"

	"github.com/sdekit/sdekit/sample"
)

// BenchmarkBrownianTree: one sweep of 1000 reverse steps from T = 1 to 1e-3
// (the samplers' uniform grid, not dyadic), or of 1024 steps from 1 to 0
// (dyadic), on a block of 128 rows x 64 dimensions, against Streams'
// Increment (one normal per value). ns/value is per row, dimension and
// step; the ratio of a tree line to the streams line is the cost of a
// query in normal draws.
//
//	go test -run '^$' -bench BrownianTree ./sample
func BenchmarkBrownianTree(b *testing.B) {
	const n, d = 128, 64
	rows := seqRows(n)
	grid := func(steps int, eps float64) []float64 {
		t := make([]float64, steps+1)
		for k := range t {
			t[k] = 1 + float64(k)*(eps-1)/float64(steps)
		}
		t[steps] = eps
		return t
	}
	cases := []struct {
		name  string
		noise sample.Noise
		times []float64
		area  bool
	}{
		{"streams", sample.Streams{}, grid(1000, 1e-3), false},
		{"streams-area", sample.Streams{}, grid(1000, 1e-3), true},
	}
	for _, depth := range []int{0, 24} {
		tr := sample.BrownianTree{T: 1, Depth: depth}
		cases = append(cases,
			struct {
				name  string
				noise sample.Noise
				times []float64
				area  bool
			}{fmt.Sprintf("tree-depth%d-uniform1000", depth), tr, grid(1000, 1e-3), false},
			struct {
				name  string
				noise sample.Noise
				times []float64
				area  bool
			}{fmt.Sprintf("tree-depth%d-uniform1000-area", depth), tr, grid(1000, 1e-3), true},
			struct {
				name  string
				noise sample.Noise
				times []float64
				area  bool
			}{fmt.Sprintf("tree-depth%d-dyadic1024", depth), tr, grid(1024, 0), false},
		)
	}
	z, hh := make([]float64, n*d), make([]float64, n*d)
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			src := c.noise.NewSource(d)
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
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*steps*n*d), "ns/value")
		})
	}
}
