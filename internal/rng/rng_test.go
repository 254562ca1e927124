package rng

import (
	"math"
	"testing"
)

// drawRows draws d normals for each of the listed rows, using one stream per row,
// visiting the rows in the order given.
func drawRows(seed uint64, rows []int, d int) map[int][]float64 {
	out := map[int][]float64{}
	for _, i := range rows {
		r := New(seed, i, Sampling)
		v := make([]float64, d)
		FillNormal(r, v)
		out[i] = v
	}
	return out
}

// Row i's numbers must not depend on which other rows run, their order, or the
// batch they are in. Exact equality: the streams are deterministic.
func TestRowIndependence(t *testing.T) {
	const seed, d = 7, 5
	all := make([]int, 100)
	for i := range all {
		all[i] = i
	}
	full := drawRows(seed, all, d)
	// A shard: rows 3, 7, 11, ... in reverse order.
	var shard []int
	for i := 99; i >= 0; i-- {
		if i%4 == 3 {
			shard = append(shard, i)
		}
	}
	part := drawRows(seed, shard, d)
	for _, i := range shard {
		for j := range d {
			if part[i][j] != full[i][j] {
				t.Fatalf("row %d value %d: %v in shard, %v in full run", i, j, part[i][j], full[i][j])
			}
		}
	}
	// A reused Stream gives the same numbers as a fresh generator.
	s := NewStream(seed, 0, Sampling)
	for _, i := range []int{42, 3, 99} {
		s.Reset(seed, i, Sampling)
		v := make([]float64, d)
		FillNormal(s.R, v)
		for j := range d {
			if v[j] != full[i][j] {
				t.Fatalf("Stream row %d differs from New", i)
			}
		}
	}
}

// Different rows, seeds and purposes give different streams, and neighbouring
// rows are uncorrelated: the sample correlation of 2000 pairs of draws from rows
// i and i+1 has standard error 1/sqrt(2000) = 0.022; we require |rho| < 0.1 (4.5 SE).
func TestStreamsDiffer(t *testing.T) {
	a := New(1, 0, Sampling).Uint64()
	for _, r := range []uint64{New(1, 1, Sampling).Uint64(), New(2, 0, Sampling).Uint64(), New(1, 0, Probe).Uint64()} {
		if r == a {
			t.Fatal("two streams start with the same number")
		}
	}
	const n = 2000
	for _, pair := range [][2]int{{0, 1}, {5, 6}, {1000, 1001}} {
		x := make([]float64, n)
		y := make([]float64, n)
		FillNormal(New(3, pair[0], Sampling), x)
		FillNormal(New(3, pair[1], Sampling), y)
		var sxy, sxx, syy float64
		for i := range x {
			sxy += x[i] * y[i]
			sxx += x[i] * x[i]
			syy += y[i] * y[i]
		}
		if rho := sxy / math.Sqrt(sxx*syy); math.Abs(rho) > 0.1 {
			t.Errorf("rows %v: correlation %.3f", pair, rho)
		}
	}
}

// Moments of the fills: mean within 4 standard errors of 0, variance within 4 SE of 1.
func TestFillMoments(t *testing.T) {
	const n = 100000
	v := make([]float64, n)
	for _, tc := range []struct {
		name string
		fill func([]float64)
	}{
		{"normal", func(v []float64) { FillNormal(New(9, 0, Sampling), v) }},
		{"rademacher", func(v []float64) { FillRademacher(New(9, 0, Probe), v) }},
	} {
		tc.fill(v)
		var m, m2 float64
		for _, x := range v {
			m += x
			m2 += x * x
		}
		m /= n
		m2 /= n
		if math.Abs(m) > 4/math.Sqrt(n) {
			t.Errorf("%s: mean %.4f", tc.name, m)
		}
		// Var of x^2 is 2 for a normal, 0 for Rademacher (x^2 = 1 exactly).
		if math.Abs(m2-1) > 4*math.Sqrt(2.0/n) {
			t.Errorf("%s: second moment %.4f", tc.name, m2)
		}
	}
	FillRademacher(New(1, 0, Probe), v)
	for _, x := range v {
		if x != 1 && x != -1 {
			t.Fatalf("rademacher value %v", x)
		}
	}
}
