package likelihood

import (
	"context"
	"fmt"
	"math"

	"github.com/sdekit/sdekit/internal/rng"
)

// DataSpec declares how the data were quantised, which fixes the bits/dim
// offset and the dequantisation.
//
// The data are Bits-bit integers k in {0, ..., 2^Bits - 1} stored as
// x = Lo + (Hi - Lo) k/(2^Bits - 1), so Lo and Hi are the extreme values (8-bit
// images scaled to [-1, 1]: Lo = -1, Hi = 1). Each integer owns the bin
// [Lo + (Hi - Lo) k/2^Bits, Lo + (Hi - Lo)(k+1)/2^Bits): the bins tile
// [Lo, Hi) with width (Hi - Lo)/2^Bits, the convention of the score-SDE code
// ((255 x + u)/256 for images in [0, 1]).
type DataSpec struct {
	Lo, Hi float64
	// Bits is the bit depth (>= 1; at most 52 so that the grid is exact).
	Bits int
	// Dequant is "none" (evaluate at the data as given; "" means "none") or
	// "uniform" (evaluate at Lo + (Hi - Lo)(k + u)/2^Bits with u ~ U[0, 1)^D).
	Dequant string
	// Repeats is the number of dequantisation draws per point (0 means 1).
	// It must be 1 with Dequant "none".
	Repeats int
}

func (d DataSpec) repeats() int {
	if d.Repeats == 0 {
		return 1
	}
	return d.Repeats
}

// Validate reports whether the declaration makes sense.
func (d DataSpec) Validate() error {
	switch {
	case math.IsNaN(d.Lo) || math.IsNaN(d.Hi) || math.IsInf(d.Lo, 0) || math.IsInf(d.Hi, 0):
		return fmt.Errorf("likelihood: data range [%v, %v] must be finite; declare it, for example -1,1", d.Lo, d.Hi)
	case d.Lo >= d.Hi:
		return fmt.Errorf("likelihood: data range [%v, %v] is empty or reversed; give the low end first, for example -1,1", d.Lo, d.Hi)
	case d.Bits < 1:
		return fmt.Errorf("likelihood: bits = %d; the bit depth must be at least 1 (8 for images)", d.Bits)
	case d.Bits > 52:
		return fmt.Errorf("likelihood: bits = %d; at most 52 bits are representable in float64 data", d.Bits)
	case d.Repeats < 0:
		return fmt.Errorf("likelihood: dequantisation repeats = %d; use at least 1", d.Repeats)
	}
	switch d.Dequant {
	case "", "none":
		if d.Repeats > 1 {
			return fmt.Errorf("likelihood: %d repeats without dequantisation would evaluate the same point again; use dequant uniform, or more Hutchinson probes", d.Repeats)
		}
	case "uniform":
	default:
		return fmt.Errorf("likelihood: unknown dequantisation %q; use none or uniform", d.Dequant)
	}
	return nil
}

// Offset returns the bits/dim offset Bits - log2(Hi - Lo): 7 for 8-bit data in
// [-1, 1], 8 for 8-bit data in [0, 1] (the score-SDE convention).
//
// Derivation: the bin of integer k has width w = (Hi - Lo)/2^Bits per
// coordinate, so its probability is P(k) = integral of p over a box of volume
// w^D, and by Jensen
//
//	-log2 P(k) <= E_u[-log2 p(x(k, u))] - D log2 w,
//
// that is, per dimension, -log2 p/D + Bits - log2(Hi - Lo).
func (d DataSpec) Offset() float64 {
	return float64(d.Bits) - math.Log2(d.Hi-d.Lo)
}

// String states the convention, for run records and output headers.
func (d DataSpec) String() string {
	dq := "no dequantisation (log p at the data as given: not a bound on a code length; can be negative)"
	if d.Dequant == "uniform" {
		dq = fmt.Sprintf("uniform dequantisation within each bin of width (hi - lo)/2^bits, %d repeat(s)", d.repeats())
	}
	return fmt.Sprintf("%d-bit data on [%g, %g], %s; bpd = -log p_eps(x)/(D ln 2) + %g (offset = bits - log2(hi - lo))",
		d.Bits, d.Lo, d.Hi, dq, d.Offset())
}

// BitsPerDim converts a log-density in nats of a point with d coordinates to
// bits per dimension: -logp/(d ln 2) + spec.Offset().
func BitsPerDim(logp float64, d int, spec DataSpec) float64 {
	if d < 1 {
		panic(fmt.Sprintf("likelihood: BitsPerDim with dimension %d", d))
	}
	return -logp/(float64(d)*math.Ln2) + spec.Offset()
}

// BPDPoint is the bits/dim of one data point.
type BPDPoint struct {
	// BPD is the mean over the repeats of BitsPerDim(log p_eps) at the
	// dequantised points.
	BPD float64
	// BPDStdErr is its standard error: over the repeats when there are
	// several (the spread then holds both the dequantisation and the probe
	// noise, each repeat having its own probes); with one repeat and no
	// dequantisation, over the Hutchinson probes (0 for the exact trace, NaN
	// for one probe); NaN for one dequantised repeat.
	BPDStdErr float64
	// LogP and LogPStdErr are the same in nats of log p_eps.
	LogP, LogPStdErr float64
	// NFE, Accepted and Rejected are totals over the repeats.
	NFE, Accepted, Rejected int
}

// EvaluateBPD dequantises the points as spec declares, evaluates log p_eps by
// Evaluate, and converts to bits/dim.
//
// Uniform dequantisation of point rows[p], repeat r, takes D values u from
// the stream rng.New(seed, rows[p], rng.Dequant) (repeat 0 first, D values per
// repeat) and evaluates at Lo + (Hi - Lo)(k + u)/2^Bits, k the point's integer.
// Repeat r uses block r of the point's probe stream (repeat 0 is the probe
// Evaluate uses), so repeats have independent probes. The data must lie in
// [Lo, Hi] and, for uniform dequantisation, on the grid
// Lo + (Hi - Lo) k/(2^Bits - 1) (within 1e-6 of a grid step).
func EvaluateBPD(ctx context.Context, cfg Config, spec DataSpec, seed uint64, x []float64, rows []int, progress func(done int) error) ([]BPDPoint, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	p, err := newPlan(cfg)
	if err != nil {
		return nil, err
	}
	d := p.d
	rows, err = checkData(x, rows, d)
	if err != nil {
		return nil, err
	}
	levels := math.Exp2(float64(spec.Bits)) - 1
	span := spec.Hi - spec.Lo
	uniform := spec.Dequant == "uniform"
	for q, r := range rows {
		for j, v := range x[q*d : (q+1)*d] {
			if v < spec.Lo || v > spec.Hi {
				return nil, fmt.Errorf("likelihood: data row %d column %d is %v, outside the declared range [%v, %v]; rescale the data or declare its range", r, j, v, spec.Lo, spec.Hi)
			}
			if uniform {
				k := (v - spec.Lo) / span * levels
				if math.Abs(k-math.Round(k)) > 1e-6 {
					return nil, fmt.Errorf("likelihood: data row %d column %d is %v, not on the %d-bit grid of [%v, %v]; quantise the data, or use dequant none", r, j, v, spec.Bits, spec.Lo, spec.Hi)
				}
			}
		}
	}
	nr := spec.repeats()
	n := len(rows)
	jobs := x
	jrows, jrep := rows, []int(nil)
	if uniform {
		jobs = make([]float64, n*nr*d)
		jrows = make([]int, n*nr)
		jrep = make([]int, n*nr)
		u := make([]float64, d)
		width := span / math.Exp2(float64(spec.Bits))
		st := rng.NewStream(seed, 0, rng.Dequant)
		for q, r := range rows {
			st.Reset(seed, r, rng.Dequant)
			for rep := 0; rep < nr; rep++ {
				rng.FillUniform(st.R, u, 0, 1)
				job := q*nr + rep
				jrows[job], jrep[job] = r, rep
				dst := jobs[job*d : (job+1)*d]
				for j, v := range x[q*d : (q+1)*d] {
					k := math.Round((v - spec.Lo) / span * levels)
					dst[j] = spec.Lo + width*(k+u[j])
				}
			}
		}
	}
	pts := make([]Point, len(jrows))
	var prog func(int) error
	if progress != nil {
		prog = func(done int) error { return progress(done / nr) }
	}
	err = p.run(ctx, seed, jobs, jrows, jrep, pts, prog)
	out := make([]BPDPoint, n)
	for q := range out {
		out[q] = bpdOf(pts[q*nr:(q+1)*nr], d, spec)
	}
	return out, err
}

// bpdOf combines the repeats of one point.
func bpdOf(reps []Point, d int, spec DataSpec) BPDPoint {
	var b BPDPoint
	lp := make([]float64, len(reps))
	for i, pt := range reps {
		lp[i] = pt.LogP
		b.NFE += pt.NFE
		b.Accepted += pt.Accepted
		b.Rejected += pt.Rejected
	}
	s := Summarise(lp)
	b.LogP, b.LogPStdErr = s.Mean, s.StdErr
	if len(reps) == 1 {
		// One repeat: the probe spread is all there is to report; with
		// dequantisation noise unmeasured the error is unknown.
		b.LogPStdErr = reps[0].LogPStdErr
		if spec.Dequant == "uniform" {
			b.LogPStdErr = math.NaN()
		}
	}
	scale := float64(d) * math.Ln2
	b.BPD = BitsPerDim(b.LogP, d, spec)
	b.BPDStdErr = b.LogPStdErr / scale
	return b
}

// Summary is the mean of n values and its standard error.
type Summary struct {
	Mean, StdErr float64
	N            int
}

// Summarise returns the mean and the standard error sd/sqrt(n) (sample
// standard deviation with n - 1) of values; StdErr is NaN for fewer than two
// values and Mean is NaN for none. NaN values propagate.
func Summarise(values []float64) Summary {
	n := len(values)
	s := Summary{N: n, Mean: math.NaN(), StdErr: math.NaN()}
	if n == 0 {
		return s
	}
	var sum float64
	for _, v := range values {
		sum += v
	}
	s.Mean = sum / float64(n)
	if n < 2 {
		return s
	}
	var ss, c float64
	for _, v := range values {
		e := v - s.Mean
		ss += e * e
		c += e
	}
	// corrected two-pass algorithm (Chan, Golub and LeVeque 1983)
	ss -= c * c / float64(n)
	s.StdErr = math.Sqrt(ss / float64(n-1) / float64(n))
	return s
}
