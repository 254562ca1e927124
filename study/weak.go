package study

import (
	"context"
	"fmt"
	"math"

	"github.com/sdekit/sdekit/internal/fit"
	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// The weak error of a stochastic sampler, exactly.
//
// On gauss:D an affine sampler's output is Gaussian with a mean and
// variance per coordinate that OutputGaussian computes exactly (impulse
// noise, no Monte Carlo). The continuous process the samplers discretise is
// the reverse SDE from the prior N(0, P^2 I) at T down to eps, whose law at
// eps is Gaussian too, in closed form (ReverseSDEGaussian). The weak error
// of a sampler at N steps is
//
//	e_N = max_j ( |mean_j - mean*_j| + |var_j - var*_j| ),
//
// the worst coordinate's error of the first two moments (for Gaussian
// outputs they are the whole law), and the weak order is the fitted slope
// of -log e_N against log N.
//
// Why not the data moments at t = 0: the reverse SDE stopped at eps > 0 and
// started from N(0, P^2) rather than p_T has a bias no step count removes:
// the cut-off adds s(eps)^2 to the variance (VP at eps = 1e-3: about 1e-4)
// and the prior's mismatch leaves c(T)-sized terms. WeakResult.Floor gives
// that distance from the limit to the data moments, so the two can be told
// apart: a sampler's error against the data stalls at the floor, its
// error against the limit keeps falling at its order.

// WeakResult is the exact weak error of a sampler for each step count.
type WeakResult struct {
	Steps []int
	// NFE is the number of score evaluations per row.
	NFE []float64
	// MeanErr and VarErr are max_j |mean_j - mean*_j| and max_j |var_j -
	// var*_j| against the limit law (ReverseSDEGaussian).
	MeanErr, VarErr []float64
	// Err is max_j (|mean_j - mean*_j| + |var_j - var*_j|).
	Err []float64
	// Order is the least-squares slope of -log Err against log Steps.
	Order float64
	// LimitMean and LimitVar are the limit law's moments per coordinate.
	LimitMean, LimitVar []float64
	// Floor is max_j (|mean*_j - data mean_j| + |var*_j - data var_j|): the
	// limit's own distance to the data moments (DataGaussian), the bias of
	// the cut-off and the prior.
	Floor float64
}

// ReverseSDEGaussian returns the law at eps of the reverse-time SDE of s
// with the exact score of the one-component mixture m, started from
// N(0, priorStd^2 I) at T = s.T(). The forward process has x_T = k x_eps +
// (independent Gaussian noise), k = c(T)/c(eps), so under it Cov(x_eps,
// x_T) = k v(eps) per coordinate (v(t) = c(t)^2 sd^2 + s(t)^2, the
// marginal variance); the pair is jointly Gaussian, so with f = k
// v(eps)/v(T)
//
//	E[x_eps | x_T] = c(eps) mu + f (x_T - c(T) mu),   Var[x_eps | x_T] = v(eps) - f^2 v(T).
//
// The reverse SDE with the exact score has this transition whatever its
// start (it is the time reversal of the forward process, Anderson 1982),
// so from x_T ~ N(0, P^2):
//
//	mean = c(eps) mu - f c(T) mu,   var = v(eps) + f^2 (P^2 - v(T)).
//
// With P^2 = v(T) (the exact p_T) this is the marginal at eps, as it must.
func ReverseSDEGaussian(m *score.Mixture, s sde.SDE, priorStd, eps float64) (mean, variance []float64) {
	cT, sT := s.Marginal(s.T())
	ce, se := s.Marginal(eps)
	d := m.Dim()
	mean, variance = make([]float64, d), make([]float64, d)
	for j := 0; j < d; j++ {
		mu, sd := m.Means[0][j], m.Stds[0][j]
		vT := cT*cT*sd*sd + sT*sT
		ve := ce*ce*sd*sd + se*se
		f := (cT / ce) * ve / vT
		mean[j] = ce*mu - f*cT*mu
		variance[j] = ve + f*f*(priorStd*priorStd-vT)
	}
	return mean, variance
}

// WeakOrder measures the exact weak error of the samplers mk(steps) for
// each of steps on cfg (its Sampler is ignored; its Score must be a
// one-component *score.Mixture, gauss:D; its Noise is replaced by
// OutputGaussian's impulses) against the law of the reverse SDE at eps
// (ReverseSDEGaussian). The sampler must be affine in its noise draws
// (fixed steps): an adaptive one is refused with ErrNotAffine.
func WeakOrder(ctx context.Context, cfg sample.Config, mk func(steps int) (sample.Sampler, error), steps []int) (WeakResult, error) {
	var res WeakResult
	m, ok := cfg.Score.(*score.Mixture)
	if !ok || m.K() != 1 {
		return res, fmt.Errorf("study: the weak order needs the exact score of one Gaussian (gauss:D)")
	}
	if len(steps) < 2 {
		return res, fmt.Errorf("study: the weak order needs at least two step counts, got %d", len(steps))
	}
	for i, n := range steps {
		c, err := withSampler(cfg, mk, n)
		if err != nil {
			return res, err
		}
		if i == 0 {
			res.LimitMean, res.LimitVar = ReverseSDEGaussian(m, c.SDE, c.SDE.PriorStd(), c.Eps)
			dm, dv := DataGaussian(m)
			for j := range dm {
				res.Floor = math.Max(res.Floor, math.Abs(res.LimitMean[j]-dm[j])+math.Abs(res.LimitVar[j]-dv[j]))
			}
		}
		law, err := OutputGaussian(ctx, c)
		if err != nil {
			return res, err
		}
		// One row with the run's own noise for the evaluation count.
		x := make([]float64, c.Dim)
		st, err := sample.Generate(ctx, c, 0, []int{0}, x, nil)
		if err != nil {
			return res, err
		}
		var em, ev, e float64
		for j := range law.Mean {
			a, b := math.Abs(law.Mean[j]-res.LimitMean[j]), math.Abs(law.Var[j]-res.LimitVar[j])
			em, ev, e = math.Max(em, a), math.Max(ev, b), math.Max(e, a+b)
		}
		res.Steps = append(res.Steps, n)
		res.NFE = append(res.NFE, float64(st.NFE[0]))
		res.MeanErr = append(res.MeanErr, em)
		res.VarErr = append(res.VarErr, ev)
		res.Err = append(res.Err, e)
	}
	res.Order = fit.Order(res.Steps, res.Err)
	return res, nil
}
