package main

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/sdekit/sdekit/ode"
	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/sde"
	"github.com/sdekit/sdekit/viz"
)

// stepRows is the number of rows whose step sizes -plot-steps draws, and
// maxStepAttempts the most step attempts it follows per row.
const (
	stepRows        = 8
	maxStepAttempts = 400
)

// stepSizes returns, for each of the starting states y0 (rows of d values at
// time t0), the start time and size of every accepted step of the adaptive
// solve of the probability flow from t0 to t1.
//
// The ode package reports per-row counts, not the steps themselves, so the
// steps are recovered exactly from the time each row reaches when it is
// stopped after k step attempts (Options.MaxSteps = k): the solve is
// deterministic and per row, so the first k attempts of a longer solve are
// the same, and t_k - t_(k-1) is the k-th step (zero for a rejected one).
// That costs about K^2/2 attempts for K steps, which is why only a few rows
// and at most maxStepAttempts attempts are followed.
func stepSizes(ctx context.Context, cfg sample.Config, pf *sample.ProbabilityFlow, y0 []float64, d int, t0, t1 float64) (ts, hs [][]float64, err error) {
	tb, err := ode.TableauByName(pf.Solver)
	if err != nil {
		return nil, nil, err
	}
	n := len(y0) / d
	ts, hs = make([][]float64, n), make([][]float64, n)
	f := sde.ProbabilityFlow{SDE: cfg.SDE, Score: cfg.Score}.F
	if !tb.Adaptive() {
		h := (t1 - t0) / float64(pf.Steps)
		for i := range ts {
			for k := 0; k < pf.Steps; k++ {
				ts[i] = append(ts[i], t0+float64(k)*h)
				hs[i] = append(hs[i], h)
			}
		}
		return ts, hs, nil
	}
	prev := make([]float64, n)
	for i := range prev {
		prev[i] = t0
	}
	done := make([]bool, n)
	for k := 1; k <= maxStepAttempts; k++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		res, err := ode.Solve(ctx, f, d, t0, t1, y0, ode.Options{Tableau: tb, RTol: pf.RTol, ATol: pf.ATol, Controller: pf.Controller, MaxSteps: k})
		if err != nil && !errors.Is(err, ode.ErrMaxSteps) {
			return nil, nil, fmt.Errorf("-plot-steps: the probability-flow solve failed: %v", err)
		}
		all := true
		for i := range done {
			if done[i] {
				continue
			}
			if h := res.T[i] - prev[i]; h != 0 {
				ts[i] = append(ts[i], prev[i])
				hs[i] = append(hs[i], h)
				prev[i] = res.T[i]
			}
			if res.Errs == nil || res.Errs[i] == nil {
				done[i] = true
			} else {
				all = false
			}
		}
		if all {
			break
		}
	}
	return ts, hs, nil
}

// stepsFigure draws the step size against t for the first rows of the run
// and the histogram of evaluations per sample.
func stepsFigure(ctx context.Context, cfg sample.Config, pf *sample.ProbabilityFlow, seed uint64, sh shard, rows int, nfes []float64, w, h int) (*viz.Figure, error) {
	m := min(stepRows, rows)
	idx := rowsOf(nil, sh, 0, m)
	times, states, err := sample.Trajectory(ctx, cfg, seed, idx, 2)
	if err != nil {
		return nil, sampleErr(ctx, err)
	}
	// The state at the prior end (t = T) is where the solve starts.
	k := 0
	for j := range times {
		if times[j] > times[k] {
			k = j
		}
	}
	t0, t1 := times[k], cfg.Eps
	if len(times) > 1 {
		t1 = math.Min(times[0], times[len(times)-1])
	}
	ts, hs, err := stepSizes(ctx, cfg, pf, states[k], cfg.Dim, t0, t1)
	if err != nil {
		return nil, err
	}
	fig := viz.NewFigure(1, 2).SetSize(w, h)
	fig.Plots[0][0] = viz.StepSizes(ts, hs, fmt.Sprintf("%s rtol %g atol %g: first %d samples", pf.Solver, pf.RTol, pf.ATol, m))
	fig.Plots[0][1] = viz.Histogram(nfes, viz.HistogramOptions{Title: "score evaluations per sample", XLabel: "NFE", Integer: true})
	return fig, nil
}
