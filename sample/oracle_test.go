package sample

import (
	"math"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/sde"
)

// This file is the test oracle for Gaussian data. For data N(mu, v0) in one
// dimension the exact score at time t is (c mu - x)/v with v = c^2 v0 + s^2,
// so every predictor, the annealed Langevin corrector, the denoising step and
// every fixed-step Runge-Kutta step of the probability flow maps x to
// A x + B + C z. Mean and variance then follow m' = A m + B,
// V' = A^2 V + C^2 exactly. The coefficients below are written again from
// the papers' formulas (Song et al. 2021 appendix E-G, Ho et al. 2020,
// Song and Ermon 2019), independently of linear.go, predictors.go and
// reference.go (the oracle reads only the samplers' options, through viewOf
// in sample_test.go); the Monte Carlo tests tie
// the package's samples to them. (The Langevin corrector with the
// signal-to-noise step rule is not affine: its step depends on |score(x)|.)

// aff is one affine step x' = A x + B + C z.
type aff struct{ A, B, C float64 }

func propagate(steps []aff, m, v float64) (float64, float64) {
	for _, s := range steps {
		m = s.A*m + s.B
		v = s.A*s.A*v + s.C*s.C
	}
	return m, v
}

// gaussDim is one dimension of Gaussian data under an SDE.
type gaussDim struct {
	s      sde.SDE
	mu, v0 float64
}

// cv returns c(t), s(t) and the marginal variance v(t) = c^2 v0 + s^2.
func (g gaussDim) cv(t float64) (c, s, v float64) {
	c, s = g.s.Marginal(t)
	return c, s, c*c*g.v0 + s*s
}

// predictor turns x' = px x + ps score + pz z into an affine step at time t.
func (g gaussDim) predictor(t, px, ps, pz float64) aff {
	c, _, v := g.cv(t)
	return aff{px - ps/v, ps * c * g.mu / v, pz}
}

// logc is log c(t), from LogMeanScale for VP and sub-VP (a route independent
// of Marginal) and 0 for VE.
func logc(s sde.SDE, t float64) float64 {
	switch v := s.(type) {
	case *sde.VP:
		return v.LogMeanScale(t)
	case *sde.SubVP:
		return v.LogMeanScale(t)
	}
	return 0
}

// variance2 returns s(t)^2 from first principles: 1 - c^2 (VP),
// (1 - c^2)^2 (sub-VP), sigma(t)^2 (VE).
func variance2(s sde.SDE, t float64) float64 {
	switch v := s.(type) {
	case *sde.VP:
		return -math.Expm1(2 * v.LogMeanScale(t))
	case *sde.SubVP:
		u := -math.Expm1(2 * v.LogMeanScale(t))
		return u * u
	case *sde.VE:
		return v.Sigma(t) * v.Sigma(t)
	}
	panic("unknown SDE")
}

// recursion returns the affine steps of a sampler configuration (validated)
// on one Gaussian dimension. It covers em, pc with em, reverse-diffusion,
// ancestral or no predictor and ald or no corrector, ReferenceDt for em,
// Denoise, and ode with euler or heun.
func recursion(c Config, g gaussDim) []aff {
	s := g.s
	o := viewOf(c.Sampler)
	T, n := s.T(), o.steps
	var out []aff
	ald := func(t, alpha float64) {
		_, sd, v := g.cv(t)
		e := 2 * alpha * (o.snr * sd) * (o.snr * sd)
		cc, _, _ := g.cv(t)
		for range o.corrSteps {
			out = append(out, aff{1 - e/v, e * cc * g.mu / v, math.Sqrt(2 * e)})
		}
	}
	if o.kind == "ode" {
		h := (c.Eps - T) / float64(n)
		// f(t, x) = alpha(t) x + beta(t): a x - g^2/2 (c mu - x)/v
		f := func(t float64) (al, be float64) {
			cc, _, v := g.cv(t)
			gg := s.Diffusion(t)
			return s.DriftCoef(t) + gg*gg/(2*v), -gg * gg * cc * g.mu / (2 * v)
		}
		for k := 0; k < n; k++ {
			t := T + float64(k)*h
			a0, b0 := f(t)
			switch o.solver {
			case "euler":
				out = append(out, aff{1 + h*a0, h * b0, 0})
			case "heun":
				a1, b1 := f(t + h)
				out = append(out, aff{1 + h/2*(a0+a1+h*a1*a0), h / 2 * (b0 + a1*h*b0 + b1), 0})
			default:
				panic("recursion: fixed-step ode only")
			}
		}
	} else if o.referenceDt {
		if o.pred != "em" || o.corr != "none" {
			panic("recursion: ReferenceDt only for em")
		}
		ts := discretize.Linspace(T, c.Eps, n)
		for k, t := range ts {
			gg := s.Diffusion(t)
			pz := gg / math.Sqrt(float64(n))
			if o.denoise && k == n-1 {
				pz = 0
			}
			out = append(out, g.predictor(t, 1-s.DriftCoef(t)/float64(n), gg*gg/float64(n), pz))
		}
		return out
	} else {
		for k := 0; k < n; k++ {
			t := T - float64(k)*(T-c.Eps)/float64(n)
			tp := T - float64(k+1)*(T-c.Eps)/float64(n)
			if k == n-1 {
				tp = c.Eps
			}
			// exact kernel of the forward SDE from t' to t: A = c/c', B^2 = s^2 - A^2 s'^2
			A := math.Exp(logc(s, t) - logc(s, tp))
			B2 := variance2(s, t) - A*A*variance2(s, tp)
			if o.corr == "ald" {
				ald(t, A*A)
			}
			switch o.pred {
			case "em":
				dt := tp - t
				gg := s.Diffusion(t)
				out = append(out, g.predictor(t, 1+s.DriftCoef(t)*dt, -gg*gg*dt, gg*math.Sqrt(-dt)))
			case "reverse-diffusion":
				out = append(out, g.predictor(t, 2-A, B2, math.Sqrt(B2)))
			case "ancestral":
				v := B2
				tilde := o.variance == VarianceBetaTilde || (o.variance == "" && s.Name() == "ve")
				if tilde {
					v = B2 * variance2(s, tp) / variance2(s, t)
				}
				out = append(out, g.predictor(t, 1/A, B2/A, math.Sqrt(v)))
			}
		}
	}
	if o.denoise {
		cc, sd, v := g.cv(c.Eps)
		// x0 = (x + s^2 (c mu - x)/v)/c
		out = append(out, aff{(1 - sd*sd/v) / cc, sd * sd * g.mu / v, 0})
	}
	return out
}

// limit returns the mean and variance of the continuous-time process that a
// sampler discretises, at time eps, started from the prior N(0, P^2) at T
// instead of p_T. With delta = m - c mu and Delta = V - v the deviations from
// the exact marginal:
//
//   - reverse SDE: d delta/dt = (a + g^2/v) delta = (log v - log c)' delta, so
//     delta(eps) = delta(T) (v(eps)/v(T)) (c(T)/c(eps)), and Delta scales with the
//     square of the same factor;
//   - probability flow: the flow map is x_eps = c_eps mu + sqrt(v_eps/v_T)(x_T - c_T mu).
//
// Denoising applies Tweedie's map at eps afterwards.
func limit(c Config, g gaussDim) (m, v float64) {
	s := g.s
	P := s.PriorStd()
	cT, _, vT := g.cv(s.T())
	ce, se, ve := g.cv(c.Eps)
	o := viewOf(c.Sampler)
	if o.kind == "ode" {
		k := math.Sqrt(ve / vT)
		m, v = ce*g.mu-k*cT*g.mu, k*k*P*P
	} else {
		f := (ve / vT) * (cT / ce)
		m = ce*g.mu + (-cT*g.mu)*f
		v = ve + (P*P-vT)*f*f
	}
	if o.denoise {
		a := (1 - se*se/ve) / ce
		m, v = a*m+se*se*g.mu/ve, a*a*v
	}
	return m, v
}
