package sample

import (
	"fmt"
	"math"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/sde"
)

// step is one grid point of the em and pc samplers: Corrections corrector
// steps at time T, then (if Predict) the predictor
//
//	x' = PX x + PS score(x, T) + PZ z,   z ~ N(0, I) (drawn only when PZ != 0).
//
// Every predictor of the package, and the final Tweedie denoising step, has
// this form; only the coefficients differ.
type step struct {
	T          float64 // time of the score evaluations
	Next       float64 // time of the state after the step (a label for trajectories)
	Alpha      float64 // Langevin alpha (1 - beta_i for VP, 1 for VE)
	Std        float64 // marginal standard deviation at T (annealed Langevin)
	PX, PS, PZ float64
	Predict    bool
}

// trueGrid returns t_k = T - k (T - eps)/N, k = 0..N, with t_N = eps exactly.
func trueGrid(T, eps float64, n int) []float64 {
	g := make([]float64, n+1)
	for k := range g {
		g[k] = T + float64(k)*(eps-T)/float64(n)
	}
	g[n] = eps
	return g
}

// kernel returns the exact forward transition from t' to t > t' of a linear
// SDE, x_t = A x_t' + B z: A = c(t)/c(t'), B^2 = s(t)^2 - A^2 s(t')^2.
func kernel(s sde.SDE, t, tp float64) (A, B2 float64) {
	c, sd := s.Marginal(t)
	cp, sdp := s.Marginal(tp)
	A = c / cp
	B2 = sd*sd - A*A*sdp*sdp
	if B2 < 0 { // rounding at t = t'
		B2 = 0
	}
	return A, B2
}

// ancestral returns the coefficients of the ancestral step from t to t' for
// the exact kernel (A, B2) of the SDE: the mean of q(x_t' | x_t, x_0) at
// Tweedie's x_0, (x + B^2 score)/A, and the variance B^2 ("beta") or the
// posterior variance B^2 s(t')^2 / s(t)^2 ("beta-tilde").
func ancestral(s sde.SDE, t, tp, A, B2 float64, variance string) (px, ps, pz float64) {
	px, ps = 1/A, B2/A
	v := B2
	if variance == VarianceBetaTilde {
		_, sd := s.Marginal(t)
		_, sdp := s.Marginal(tp)
		v = B2 * sdp * sdp / (sd * sd)
	}
	return px, ps, math.Sqrt(v)
}

// ancestralVariance returns the ancestral predictor's variance choice: the
// configured one, or the reference's (beta for VP and sub-VP, the posterior
// beta-tilde for VE).
func ancestralVariance(c *Config) string {
	if c.DDPMVariance != "" {
		return c.DDPMVariance
	}
	if c.SDE.Name() == "ve" {
		return VarianceBetaTilde
	}
	return VarianceBeta
}

// tweedie is the final denoising step at t: x0 = (x + s^2 score)/c.
func tweedie(s sde.SDE, t float64) step {
	c, sd := s.Marginal(t)
	return step{T: t, Next: 0, PX: 1 / c, PS: sd * sd / c, Predict: true}
}

// buildSteps returns the em/pc plan of a validated config, and the number of
// score evaluations each row makes.
func buildSteps(c *Config) ([]step, int, error) {
	var steps []step
	var err error
	if c.ReferenceDt {
		steps, err = referenceSteps(c)
	} else {
		steps = gridSteps(c)
	}
	if err != nil {
		return nil, 0, err
	}
	nfe := 0
	corr := 0
	if c.Corrector != None {
		corr = c.CorrectorSteps
	}
	for k := range steps {
		if k < c.Steps {
			nfe += corr
		}
		if steps[k].Predict {
			nfe++
		}
	}
	return steps, nfe, nil
}

// gridSteps: N steps on the true grid from T to eps, then the optional
// Tweedie step.
func gridSteps(c *Config) []step {
	s := c.SDE
	g := trueGrid(s.T(), c.Eps, c.Steps)
	steps := make([]step, c.Steps, c.Steps+1)
	variance := ancestralVariance(c)
	for k := range steps {
		t, tp := g[k], g[k+1]
		A, B2 := kernel(s, t, tp)
		_, sd := s.Marginal(t)
		st := step{T: t, Next: tp, Alpha: A * A, Std: sd, Predict: c.Predictor != None}
		switch c.Predictor {
		case PredictorEM:
			dt := tp - t
			a, gg := s.DriftCoef(t), s.Diffusion(t)
			st.PX, st.PS, st.PZ = 1+a*dt, -gg*gg*dt, gg*math.Sqrt(-dt)
		case PredictorReverseDiffusion:
			st.PX, st.PS, st.PZ = 2-A, B2, math.Sqrt(B2)
		case PredictorAncestral:
			st.PX, st.PS, st.PZ = ancestral(s, t, tp, A, B2, variance)
		}
		steps[k] = st
	}
	if c.Denoise {
		steps = append(steps, tweedie(s, c.Eps))
	}
	return steps
}

// referenceSteps reproduces score_sde_pytorch's loop: grid linspace(T, eps, N),
// at each point the corrector and then the predictor of its discretize() at
// index i = floor(t (N-1)/T); Euler-Maruyama with dt = -1/N. With Denoise the
// last predictor step drops its noise (the reference returns x_mean). Where
// the reference has no formula (sub-VP ancestral and Langevin alpha) the
// sub-VP uses its exact kernel over [t - 1/N, t] and the VP alphas of the same
// beta schedule.
func referenceSteps(c *Config) ([]step, error) {
	s := c.SDE
	n := c.Steps
	T := s.T()
	ts := discretize.Linspace(T, c.Eps, n)
	fn := float64(n)
	var ddpm *discretize.DDPM
	var smld []float64
	var err error
	switch v := s.(type) {
	case *sde.VP:
		ddpm, err = discretize.FromVP(v, n)
	case *sde.SubVP:
		ddpm, err = discretize.FromVP(&sde.VP{BetaMin: v.BetaMin, BetaMax: v.BetaMax}, n)
	case *sde.VE:
		smld, err = discretize.SMLDSigmas(v, max(n, 2))
	default:
		return nil, fmt.Errorf("sample: Config.ReferenceDt needs a VP, sub-VP or VE SDE, not %T", s)
	}
	if err != nil {
		return nil, fmt.Errorf("sample: Config.ReferenceDt with Steps = %d: %w", n, err)
	}
	variance := ancestralVariance(c)
	steps := make([]step, n)
	for k, t := range ts {
		i := min(max(int(t*float64(n-1)/T), 0), n-1)
		_, sd := s.Marginal(t)
		st := step{T: t, Next: math.Max(t-1/fn, 0), Alpha: 1, Std: sd, Predict: c.Predictor != None}
		if ddpm != nil {
			st.Alpha = ddpm.Alphas[i]
		}
		a, g := s.DriftCoef(t), s.Diffusion(t)
		em := func() { st.PX, st.PS, st.PZ = 1-a/fn, g*g/fn, g/math.Sqrt(fn) }
		switch c.Predictor {
		case PredictorEM:
			em()
		case PredictorReverseDiffusion:
			switch v := s.(type) {
			case *sde.VP:
				b := ddpm.Betas[i]
				st.PX, st.PS, st.PZ = 2-math.Sqrt(1-b), b, math.Sqrt(b)
			case *sde.SubVP: // the generic SDE.discretize: f dt, g sqrt(dt)
				em()
			case *sde.VE:
				sig := v.Sigma(t)
				adj := 0.0
				if i > 0 {
					adj = smld[i-1]
				}
				g2 := sig*sig - adj*adj
				st.PX, st.PS, st.PZ = 1, g2, math.Sqrt(g2)
			}
		case PredictorAncestral:
			switch s.(type) {
			case *sde.VP:
				b := ddpm.Betas[i]
				sa := math.Sqrt(1 - b)
				st.PX, st.PS, st.PZ = 1/sa, b/sa, math.Sqrt(b)
				if variance == VarianceBetaTilde {
					st.PZ = math.Sqrt(ddpm.BetaTilde(i))
				}
			case *sde.SubVP:
				tp := math.Max(t-1/fn, 0)
				A, B2 := kernel(s, t, tp)
				st.PX, st.PS, st.PZ = ancestral(s, t, tp, A, B2, variance)
			case *sde.VE:
				sig := smld[i]
				adj := 0.0
				if i > 0 {
					adj = smld[i-1]
				}
				g2 := sig*sig - adj*adj
				st.PX, st.PS = 1, g2
				if variance == VarianceBetaTilde {
					st.PZ = math.Sqrt(adj * adj * g2 / (sig * sig))
				} else {
					st.PZ = math.Sqrt(g2)
				}
			}
		}
		steps[k] = st
	}
	if c.Denoise && c.Predictor != None {
		steps[n-1].PZ = 0
	}
	return steps, nil
}

// referenceDenoise is the reference ODE sampler's denoising step: the
// reverse-diffusion predictor's mean at t = eps with the N-step discretisation.
func referenceDenoise(c *Config) (step, error) {
	cc := *c
	cc.Predictor = PredictorReverseDiffusion
	cc.Denoise = false
	cc.ReferenceDt = true
	steps, err := referenceSteps(&cc)
	if err != nil {
		return step{}, err
	}
	st := steps[len(steps)-1]
	st.PZ = 0
	st.Next = 0
	return st, nil
}
