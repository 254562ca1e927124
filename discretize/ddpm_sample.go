package discretize

import (
	"context"
	"fmt"
)

// This file is the only DDPM/DDIM sampling loop outside package sample, and
// nothing in the library calls it: the library's loop is sample.Generate
// (Sampler "ddpm" or "ddim"), which runs the step functions of ddpm_step.go.
// It stays only while sample's TestChainsMatchDiscretize uses it as an
// independent reference; when that test carries its own loop over
// AncestralStepTo and DDIMStepTo, delete this file.

// EpsModel predicts the noise eps(x, i) of DDPM step i (DDPM's t = i + 1) for
// a batch: x and dst hold len(i) rows of Dim() values, row k at step i[k].
// Implementations must be safe for concurrent calls that write disjoint dst.
type EpsModel interface {
	Dim() int
	EpsTo(dst, x []float64, i []int)
}

// ChainOptions selects the chain that Sample runs.
//
// Deprecated: use sample.Config (Sampler "ddpm" or "ddim").
type ChainOptions struct {
	// DDIM selects DDIM on Seq with Eta; otherwise DDPM's Algorithm 2 on every
	// step with Variance.
	DDIM     bool
	Eta      float64
	Seq      []int // increasing indices of 0..N-1; nil => every step
	Variance Variance
}

// Noise is a row's stream of standard normal draws. *rand.Rand is one, and so
// is rng.NormalStream, the streams of package sample.
type Noise interface {
	NormFloat64() float64
}

// Sample runs the chain on the rows of x in place: x holds x_{N-1} (DDPM's
// x_T, drawn from N(0, I) by the caller) on entry and x_0 on return. Row k
// draws its noise from rs[k], D values per step that has noise, in step
// order. ctx is checked once per step. It returns the number of model
// evaluations per row.
//
// Deprecated: the library's sampling loop is sample.Generate with
// sample.Config{Sampler: "ddpm"} or "ddim"; this one is kept only as a
// test reference (see the top of this file).
func (d *DDPM) Sample(ctx context.Context, m EpsModel, x []float64, rs []Noise, opt ChainOptions) (int, error) {
	n := len(rs)
	dim := m.Dim()
	if n == 0 {
		return 0, nil
	}
	if len(x) != n*dim {
		panic(fmt.Sprintf("discretize: Sample with %d generators and dimension %d needs %d values, got %d", n, dim, n*dim, len(x)))
	}
	seq := opt.Seq
	if seq == nil {
		seq = make([]int, d.N())
		for k := range seq {
			seq[k] = k
		}
	}
	for k, i := range seq {
		d.checkStep(i)
		if k > 0 && i <= seq[k-1] {
			return 0, fmt.Errorf("discretize: the step sequence must increase (%d after %d)", i, seq[k-1])
		}
	}
	if !opt.DDIM && len(seq) != d.N() {
		return 0, fmt.Errorf("discretize: DDPM ancestral sampling runs every step; use DDIM for a subsequence")
	}
	eps := make([]float64, len(x))
	z := make([]float64, len(x))
	idx := make([]int, n)
	for k := len(seq) - 1; k >= 0; k-- {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("discretize: sampling stopped: %w", context.Cause(ctx))
		}
		i := seq[k]
		j := -1
		if k > 0 {
			j = seq[k-1]
		}
		for r := range idx {
			idx[r] = i
		}
		m.EpsTo(eps, x, idx)
		var sigma float64
		if opt.DDIM {
			_, _, sigma = d.DDIMCoefs(i, j, opt.Eta)
		} else {
			_, _, sigma = d.AncestralCoefs(i, opt.Variance)
		}
		if sigma != 0 {
			for r, g := range rs {
				row := z[r*dim : (r+1)*dim]
				for c := range row {
					row[c] = g.NormFloat64()
				}
			}
		}
		if opt.DDIM {
			d.DDIMStepTo(x, x, eps, z, i, j, opt.Eta)
		} else {
			d.AncestralStepTo(x, x, eps, z, i, opt.Variance)
		}
	}
	return len(seq), nil
}
