package sd15

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/internal/rng"
)

// OracleResult is the outcome of RunOracle, in bits per sequence.
type OracleResult struct {
	Experiment Experiment
	Heartbeat  Heartbeat
	Bound      OracleBound
	// KTraj is K of the oracle kernel estimated from 10 Eval forward
	// trajectories, the estimator trained models are measured with; it must
	// agree with Bound.K within its standard error.
	KTraj Estimate
	// True and Null: log2(1/Period) and L_null, as in Result.
	True, Null float64
}

// RunOracle computes the exact bound of the best factorised reverse kernel
// for the heartbeat on e's chain (e.T steps towards B(OnesRate)) and checks
// it against the trajectory estimate. Only the heartbeat has an oracle; the
// training fields of e are unused. eval, if not nil, reports the phases as
// in RunEval.
func RunOracle(ctx context.Context, e Experiment, eval func(phase string, done, total int)) (*OracleResult, error) {
	e, err := e.WithDefaults()
	if err != nil {
		return nil, err
	}
	if e.Name != "heartbeat" {
		return nil, fmt.Errorf("sd15: experiment %q has no exact oracle (only the heartbeat's data are a finite set); use heartbeat", e.Name)
	}
	h := NewHeartbeat()
	o, err := NewHeartbeatOracle(h, discretize.Binomial{T: e.T, P: h.OnesRate()})
	if err != nil {
		return nil, err
	}
	res := &OracleResult{Experiment: e, Heartbeat: h, True: h.LogLikelihood()}
	if eval != nil {
		eval("exact bound", 0, 1)
	}
	res.Bound = o.Bound()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := rng.New(e.Seed, 0, rng.Data)
	data := func(dst []float64, r *rand.Rand) { h.Sequence(dst, r.IntN(h.Period)) }
	if res.KTraj, err = o.EstimateK(ctx, counted(eval, "K by trajectories", 10*e.Eval, data), 10*e.Eval, true, r); err != nil {
		return nil, err
	}
	x := make([]float64, h.Length)
	h.Sequence(x, 0)
	m := BinaryModel{Chain: o.Chain, D: h.Length}
	res.Null = m.NullLogLikelihood(x)
	return res, nil
}
