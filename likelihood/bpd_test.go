package likelihood

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// TestUniformIsEightBits: a density uniform on [-1, 1]^D (log p = -D ln 2)
// is 1 + 7 = 8 bits/dim, and one uniform on [0, 1]^D (log p = 0) is 0 + 8;
// both are the code length of uniform 8-bit data. Exact in floating point
// (the offsets are integers and -logp/(D ln 2) is x/x).
func TestUniformIsEightBits(t *testing.T) {
	for _, d := range []int{1, 2, 784} {
		if got := BitsPerDim(-float64(d)*math.Ln2, d, DataSpec{Lo: -1, Hi: 1, Bits: 8}); got != 8 {
			t.Errorf("D = %d, [-1, 1]: %v bits/dim, want 8", d, got)
		}
		if got := BitsPerDim(0, d, DataSpec{Lo: 0, Hi: 1, Bits: 8}); got != 8 {
			t.Errorf("D = %d, [0, 1]: %v bits/dim, want 8", d, got)
		}
	}
	for _, c := range []struct {
		spec DataSpec
		want float64
	}{
		{DataSpec{Lo: -1, Hi: 1, Bits: 8}, 7},
		{DataSpec{Lo: 0, Hi: 1, Bits: 8}, 8},
		{DataSpec{Lo: 0, Hi: 255, Bits: 8}, 8 - math.Log2(255)},
		{DataSpec{Lo: 0, Hi: 16, Bits: 4}, 0},
		{DataSpec{Lo: -1, Hi: 1, Bits: 5}, 4},
	} {
		if got := c.spec.Offset(); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("%+v: offset %v, want %v", c.spec, got, c.want)
		}
	}
}

// TestOffsetIsACodeLength checks the offset formula against exact discrete
// probabilities, for ranges and bit depths other than the two conventions.
// For a 1-D density N(mu, s^2) and the bin [b, b + w) of integer k,
// -log2 P(k) is exact from the CDF, and the dequantised bound
// E_u[-log2 p(b + w u)] + Offset has E_u in closed form
// ((m - mu)^2 + w^2/12 for the mean square, m the bin centre). The bound
// exceeds the code length by the Jensen gap, about Var_u(log p)/2 =
// G^2 w^2/24 nats with G = |m - mu|/s^2 the slope of log p; the tolerance is
// twice that with G taken at the far edge of the bin. The bins sit within
// s/2 of the mode, where this is below 4e-4 bits, so a 2^b - 1 grid in the
// offset (log2(256/255) = 5.6e-3 bits at 8 bits) would fail.
func TestOffsetIsACodeLength(t *testing.T) {
	mu, s := 0.3, 0.5
	for _, spec := range []DataSpec{{Lo: -1, Hi: 1, Bits: 8}, {Lo: 0, Hi: 1, Bits: 8}, {Lo: -3, Hi: 5, Bits: 10}, {Lo: -2, Hi: 2, Bits: 6}} {
		w := (spec.Hi - spec.Lo) / math.Exp2(float64(spec.Bits))
		for _, at := range []float64{mu - s/2, mu, mu + s/2} {
			k := math.Floor((at - spec.Lo) / w)
			b := spec.Lo + w*k
			cdf := func(x float64) float64 { return 0.5 * math.Erfc(-(x-mu)/(s*math.Sqrt2)) }
			code := -math.Log2(cdf(b+w) - cdf(b))
			m := b + w/2
			elogp := -0.5*math.Log(2*math.Pi*s*s) - ((m-mu)*(m-mu)+w*w/12)/(2*s*s)
			bound := BitsPerDim(elogp, 1, spec)
			g := (math.Abs(m-mu) + w) / (s * s)
			tol := 2*g*g*w*w/24/math.Ln2 + 1e-9
			if gap := bound - code; gap < -1e-9 || gap > tol {
				t.Errorf("%v, bin %v: bound %.8f bits, exact code length %.8f (gap %.3g, tolerance %.3g)", spec, k, bound, code, gap, tol)
			}
		}
	}
}

// TestEvaluateBPD checks dequantisation end to end on gauss:2 under VP with
// the exact trace: quantised data on the 8-bit grid of [-1, 1]; the
// dequantised bits/dim, averaged over 4 repeats, against the exact discrete
// code length -log2 P(k)/D with P(k) the p_eps mass of the point's bin (a
// product of 1-D CDF differences: p_eps is a diagonal Gaussian). The
// difference is the Jensen gap (< 1e-4 bits), the prior mismatch and solver
// error (~3e-3 nats / (2 ln 2) ~ 2e-3 bits, see TestOracle) and the spread of
// log p over a bin (about |grad log p| w/sqrt(12) ~ 1e-2 nats per draw, so
// ~5e-3 bits for the mean of 4); tolerance 2e-2 bits per point. Putting the
// dequantised points half a bin off, or on the (2^b - 1) grid, moves
// log p by ~|grad log p| w/2 and fails this on some point.
func TestEvaluateBPD(t *testing.T) {
	s := sde.NewVP()
	m := score.Gauss(s, 2)
	d := 2
	spec := DataSpec{Lo: -1, Hi: 1, Bits: 8, Dequant: "uniform", Repeats: 4}
	const n = 30
	raw := drawData(m, 2, n)
	x := make([]float64, n*d)
	ks := make([]float64, n*d)
	for i, v := range raw {
		k := math.Floor((v + 1) / 2 * 256)
		k = min(max(k, 0), 255)
		ks[i] = k
		x[i] = -1 + 2*k/255
	}
	cfg := Config{SDE: s, Score: m, Probe: "exact"}
	pts, err := EvaluateBPD(context.Background(), cfg, spec, 4, x, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, sd := s.Marginal(DefaultEps)
	w := 2.0 / 256
	for i, p := range pts {
		var logP float64
		for j := 0; j < d; j++ {
			mu := c * m.Means[0][j]
			st := math.Sqrt(c*c*m.Stds[0][j]*m.Stds[0][j] + sd*sd)
			b := -1 + w*ks[i*d+j]
			cdf := func(x float64) float64 { return 0.5 * math.Erfc(-(x-mu)/(st*math.Sqrt2)) }
			logP += math.Log(cdf(b+w) - cdf(b))
		}
		code := -logP / (float64(d) * math.Ln2)
		if math.Abs(p.BPD-code) > 2e-2 {
			t.Errorf("point %d: %.5f bits/dim dequantised, exact code length %.5f", i, p.BPD, code)
		}
		if !(p.BPDStdErr > 0) || p.NFE <= 0 {
			t.Errorf("point %d: standard error %v, NFE %d", i, p.BPDStdErr, p.NFE)
		}
	}
	// The dequantisation noise is the row's rng.Dequant stream: repeat 0 of
	// row 0 is at -1 + w (k + u).
	u := make([]float64, d)
	rng.FillUniform(rng.New(4, 0, rng.Dequant), u, 0, 1)
	xd := []float64{-1 + w*(ks[0]+u[0]), -1 + w*(ks[1]+u[1])}
	one, err := Evaluate(context.Background(), cfg, 4, xd, []int{0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	first, err := EvaluateBPD(context.Background(), cfg, DataSpec{Lo: -1, Hi: 1, Bits: 8, Dequant: "uniform"}, 4, x[:2], []int{0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first[0].LogP != one[0].LogP {
		t.Errorf("dequantised point: log p %v from EvaluateBPD, %v from Evaluate at the expected point", first[0].LogP, one[0].LogP)
	}
}

// TestBPDNoDequant: without dequantisation EvaluateBPD is Evaluate plus the
// unit conversion, bit for bit (same probe stream for repeat 0).
func TestBPDNoDequant(t *testing.T) {
	s := sde.NewVP()
	m := score.GMM8(s)
	x := []float64{0.5, -0.25, 1, 0.75}
	spec := DataSpec{Lo: -1, Hi: 1, Bits: 8}
	cfg := Config{SDE: s, Score: m}
	a, err := Evaluate(context.Background(), cfg, 9, x, []int{4, 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EvaluateBPD(context.Background(), cfg, spec, 9, x, []int{4, 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i].LogP != b[i].LogP || b[i].BPD != BitsPerDim(a[i].LogP, 2, spec) || a[i].NFE != b[i].NFE {
			t.Errorf("point %d: Evaluate %+v, EvaluateBPD %+v", i, a[i], b[i])
		}
	}
	if !strings.Contains(spec.String(), "no dequantisation") || !strings.Contains(spec.String(), "+ 7") {
		t.Errorf("spec description %q does not state the choice", spec.String())
	}
}

func TestBPDBadInput(t *testing.T) {
	s := sde.NewVP()
	cfg := Config{SDE: s, Score: score.GMM8(s)}
	grid := []float64{-1, 1}
	cases := []struct {
		name string
		spec DataSpec
		x    []float64
		want string
	}{
		{"bits", DataSpec{Lo: -1, Hi: 1, Bits: 0}, grid, "at least 1"},
		{"range", DataSpec{Lo: 1, Hi: -1, Bits: 8}, grid, "reversed"},
		{"repeats", DataSpec{Lo: -1, Hi: 1, Bits: 8, Dequant: "uniform", Repeats: -2}, grid, "at least 1"},
		{"repeats without dequant", DataSpec{Lo: -1, Hi: 1, Bits: 8, Repeats: 3}, grid, "same point"},
		{"dequant name", DataSpec{Lo: -1, Hi: 1, Bits: 8, Dequant: "gauss"}, grid, "none or uniform"},
		{"outside", DataSpec{Lo: -1, Hi: 1, Bits: 8}, []float64{0, 1.5}, "row 0 column 1 is 1.5, outside"},
		{"off grid", DataSpec{Lo: -1, Hi: 1, Bits: 8, Dequant: "uniform"}, []float64{0, 0.5}, "not on the 8-bit grid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := EvaluateBPD(context.Background(), cfg, c.spec, 1, c.x, nil, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestSummarise(t *testing.T) {
	s := Summarise([]float64{1, 2, 3, 4})
	// mean 2.5, sample variance 5/3, standard error sqrt(5/12)
	if s.N != 4 || s.Mean != 2.5 || math.Abs(s.StdErr-math.Sqrt(5.0/12)) > 1e-15 {
		t.Errorf("Summarise = %+v", s)
	}
	if s := Summarise([]float64{3}); s.Mean != 3 || !math.IsNaN(s.StdErr) {
		t.Errorf("one value: %+v", s)
	}
	if s := Summarise(nil); !math.IsNaN(s.Mean) || s.N != 0 {
		t.Errorf("no values: %+v", s)
	}
	// large offset: the two-pass form keeps the spread exact
	if s := Summarise([]float64{1e9 + 1, 1e9 + 2, 1e9 + 3, 1e9 + 4}); math.Abs(s.StdErr-math.Sqrt(5.0/12)) > 1e-9 {
		t.Errorf("offset values: %+v", s)
	}
}
