package sample

import (
	"fmt"
	"math"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/sde"
)

// referenceSteps reproduces score_sde_pytorch's loop: grid linspace(T, eps, N),
// at each point the corrector and then the predictor of its discretize() at
// index i = floor(t (N-1)/T) (the SDE's sde.ReferenceDiscretizer); with
// denoise the last predictor step drops its noise (the reference returns
// x_mean).
func referenceSteps(s sde.SDE, pred Predictor, n int, eps float64, denoise bool) ([]step, error) {
	rd, ok := s.(sde.ReferenceDiscretizer)
	if !ok {
		return nil, fmt.Errorf("sample: ReferenceDt needs an SDE with the reference code's discretisation (sde.ReferenceDiscretizer, as VP, sub-VP and VE have); %s has none", s.Name())
	}
	ts := discretize.Linspace(s.T(), eps, n)
	refs, err := rd.ReferenceSteps(ts, n)
	if err != nil {
		return nil, fmt.Errorf("sample: ReferenceDt with Steps = %d: %w", n, err)
	}
	fn := float64(n)
	_, none := pred.(NoPredictor)
	steps := make([]step, n)
	for k, t := range ts {
		_, sd := s.Marginal(t)
		st := step{T: t, Next: math.Max(t-1/fn, 0), Alpha: refs[k].Alpha, Std: sd, Predict: !none}
		if !none {
			if st.Linear, err = pred.Reference(s, &refs[k], t, n); err != nil {
				return nil, fmt.Errorf("sample: ReferenceDt with the %s predictor: %w", pred.Name(), err)
			}
		}
		steps[k] = st
	}
	if denoise && !none {
		steps[n-1].PZ = 0
	}
	return steps, nil
}

// referenceDenoise is the reference ODE sampler's denoising step: the
// reverse-diffusion predictor's mean at t = eps with the N-step discretisation.
func referenceDenoise(s sde.SDE, n int, eps float64) (step, error) {
	steps, err := referenceSteps(s, ReverseDiffusion{}, n, eps, false)
	if err != nil {
		return step{}, err
	}
	st := steps[len(steps)-1]
	st.PZ = 0
	st.Next = 0
	return st, nil
}
