package study

import (
	"context"
	"fmt"
	"math"

	"github.com/sdekit/sdekit/internal/fit"
	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
)

// OrderResult is the global error of a sampler for each step count.
type OrderResult struct {
	Steps []int
	// NFE is the mean number of score evaluations per row.
	NFE []float64
	// Err is the error of each run: for Order, the RMS over rows and
	// coordinates of x - flow(x_T), the sample's distance to the exact flow
	// map of its own prior draw (StrongResult and WeakOrder say theirs).
	Err []float64
	// Order is the least-squares slope of -log Err against log Steps.
	Order float64
}

// Order measures the global error of the samplers mk(steps) for each of
// steps on cfg (its Sampler is ignored; its Score must be a one-component
// *score.Mixture), over `rows` rows of the given seed. The sampler must be
// deterministic: a stochastic sampler's samples are not a function of the
// prior draw.
func Order(ctx context.Context, cfg sample.Config, mk func(steps int) (sample.Sampler, error), steps []int, rows int, seed uint64) (OrderResult, error) {
	var res OrderResult
	m, ok := cfg.Score.(*score.Mixture)
	if !ok || m.K() != 1 {
		return res, fmt.Errorf("study: the order needs the exact score of one Gaussian (gauss:D)")
	}
	if len(steps) < 2 {
		return res, fmt.Errorf("study: the order needs at least two step counts, got %d", len(steps))
	}
	if rows < 1 {
		return res, fmt.Errorf("study: rows = %d; use >= 1", rows)
	}
	idx := firstRows(rows)
	for _, n := range steps {
		c, err := withSampler(cfg, mk, n)
		if err != nil {
			return res, err
		}
		times, states, st, err := sample.TrajectoryStats(ctx, c, seed, idx, 2)
		if err != nil {
			return res, err
		}
		prior, x := states[0], states[len(states)-1]
		exact := make([]float64, len(prior))
		if err := m.FlowTo(exact, prior, times[0], times[len(times)-1]); err != nil {
			return res, err
		}
		res.add(n, meanNFE(st), rmsDiff(x, exact))
	}
	res.Order = fit.Order(res.Steps, res.Err)
	return res, nil
}

// add appends one step count's point.
func (r *OrderResult) add(steps int, nfe, err float64) {
	r.Steps = append(r.Steps, steps)
	r.NFE = append(r.NFE, nfe)
	r.Err = append(r.Err, err)
}

// rmsDiff is the RMS over rows and coordinates of a - b: the error measure
// of Order, StrongOrder and the frontier's path error.
func rmsDiff(a, b []float64) float64 {
	var ss float64
	for i := range a {
		d := a[i] - b[i]
		ss += d * d
	}
	return math.Sqrt(ss / float64(len(a)))
}

// meanNFE is the mean number of score evaluations per row of a run.
func meanNFE(st sample.Stats) float64 {
	var nfe float64
	for _, v := range st.NFE {
		nfe += float64(v)
	}
	return nfe / float64(len(st.NFE))
}

// firstRows returns the row indices 0..n-1.
func firstRows(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// withSampler returns cfg with the sampler mk(steps), validated: one point
// of Order, StrongOrder and WeakOrder.
func withSampler(cfg sample.Config, mk func(steps int) (sample.Sampler, error), steps int) (sample.Config, error) {
	s, err := mk(steps)
	if err != nil {
		return cfg, err
	}
	cfg.Sampler = s
	return cfg, cfg.Validate()
}
