package study

import (
	"context"
	"fmt"

	"github.com/sdekit/sdekit/internal/fit"
	"github.com/sdekit/sdekit/sample"
)

// StrongRefFactor is how many times more steps the reference run of
// StrongOrder takes: its own error is then 16^-p of the coarse run's (for
// p = 1, 6%; for p = 1.5, 1.6%), which moves the fitted slope by less than
// the spread of the fit itself.
const StrongRefFactor = 16

// StrongResult is StrongOrder's answer: OrderResult's fields, with Err the
// RMS over rows and coordinates of x_N - x_ref, the sample with N steps
// against the same sampler with StrongRefFactor*N steps on the same Brownian
// path (same seed, rows and Noise), and NFE that of the N-step run.
type StrongResult = OrderResult

// StrongOrder measures the strong error of the samplers mk(steps) for each
// of steps on cfg (its Sampler is ignored), over `rows` rows of the given
// seed: each run is compared with mk(StrongRefFactor*steps) on the same
// rows, seed and Noise. The comparison means something only when the two
// runs see one Brownian path, so cfg.Noise must answer W(t1) - W(t0) for any
// interval consistently (a Brownian tree); nil selects the sampler's own
// default, and Streams (whose increments do not depend on the interval, so
// two step counts see unrelated paths) is refused. Any score works: the
// reference is the sampler itself, not an exact solution.
//
// For a method of strong order p, Err ~ C N^-p: Euler-Maruyama on additive
// noise p = 1, SRA1 and ShARK p = 1.5.
func StrongOrder(ctx context.Context, cfg sample.Config, mk func(steps int) (sample.Sampler, error), steps []int, rows int, seed uint64) (StrongResult, error) {
	var res StrongResult
	if len(steps) < 2 {
		return res, fmt.Errorf("study: the strong order needs at least two step counts, got %d", len(steps))
	}
	if rows < 1 {
		return res, fmt.Errorf("study: rows = %d; use >= 1", rows)
	}
	for _, n := range steps {
		if n < 1 {
			return res, fmt.Errorf("study: step count %d; use >= 1", n)
		}
	}
	idx := firstRows(rows)
	run := func(n int) ([]float64, sample.Stats, error) {
		c, err := withSampler(cfg, mk, n)
		if err != nil {
			return nil, sample.Stats{}, err
		}
		if _, ok := c.Noise.(sample.Streams); ok {
			return nil, sample.Stats{}, fmt.Errorf("study: the strong order of %s needs one Brownian path for every step count; Streams draws unrelated paths (use a Brownian tree for Config.Noise)", c.Sampler.Name())
		}
		x := make([]float64, rows*c.Dim)
		st, err := sample.Generate(ctx, c, seed, idx, x, nil)
		return x, st, err
	}
	for _, n := range steps {
		x, st, err := run(n)
		if err != nil {
			return res, err
		}
		ref, _, err := run(StrongRefFactor * n)
		if err != nil {
			return res, err
		}
		res.add(n, meanNFE(st), rmsDiff(x, ref))
	}
	res.Order = fit.Order(res.Steps, res.Err)
	return res, nil
}
