package score

import (
	"fmt"
	"math"
)

// Classifier-free guidance with Gaussian conditional and unconditional
// densities is the one case where both the target and the sampler's output
// are closed forms (or a two-variable linear ODE). Per coordinate, with
// v_i = c^2 sd_i^2 + s^2 (i = 1 conditional, 0 unconditional),
//
//	s_w(x, t) = -P(t) x + c(t) Q(t),
//	P = (1 + w)/v_1 - w/v_0,   Q = (1 + w) mu_1/v_1 - w mu_0/v_0,
//
// so the tilted density p_t(x|c)^(1+w) p_t(x)^(-w) is N(c Q/P, 1/P) (when
// P > 0), and a sampler that follows dx = [a x - lambda g^2 s_w] dt +
// sqrt(2 lambda - 1) g dW backward from N(0, PriorStd^2) at T (lambda = 1/2:
// the probability flow, lambda = 1: the reverse SDE) has a Gaussian law
// whose mean m and variance V obey
//
//	dm/dt = (a + lambda g^2 P) m - lambda g^2 c Q,
//	dV/dt = 2 (a + lambda g^2 P) V - (2 lambda - 1) g^2.
//
// With w = 0, V = v_1 solves the second equation for both lambdas (the
// marginal's own dv/dt = 2 a v + g^2), and the law is the conditional
// marginal up to the prior's mismatch at T. With w != 0 neither law is the
// tilted density, and the flow's law differs from the SDE's.

// gaussPair returns the means and stds of a one-component conditional and
// unconditional mixture, checking they match.
func gaussPair(cond, uncond *Mixture) (mu1, sd1, mu0, sd0 []float64, err error) {
	if cond.K() != 1 || uncond.K() != 1 {
		return nil, nil, nil, nil, fmt.Errorf("score: the Gaussian guidance law needs one-component mixtures, got %d and %d components", cond.K(), uncond.K())
	}
	if cond.Dim() != uncond.Dim() {
		return nil, nil, nil, nil, fmt.Errorf("score: conditional dimension %d, unconditional %d", cond.Dim(), uncond.Dim())
	}
	return cond.Means[0], cond.Stds[0], uncond.Means[0], uncond.Stds[0], nil
}

// TiltedGaussian returns the mean and variance, per coordinate, of the
// classifier-free guidance target p_t(x|c)^(1+w) p_t(x)^(-w) (normalised)
// for Gaussian p_0(x|c) = cond and p_0(x) = uncond under cond's SDE, or an
// error when it is not normalisable (P <= 0 in some coordinate).
func TiltedGaussian(cond, uncond *Mixture, w, t float64) (mean, variance []float64, err error) {
	mu1, sd1, mu0, sd0, err := gaussPair(cond, uncond)
	if err != nil {
		return nil, nil, err
	}
	c, s := cond.SDE.Marginal(t)
	d := cond.Dim()
	mean, variance = make([]float64, d), make([]float64, d)
	for j := 0; j < d; j++ {
		p, q := tiltPQ(c, s, w, mu1[j], sd1[j], mu0[j], sd0[j])
		if !(p > 0) {
			return nil, nil, fmt.Errorf("score: the tilted density with w = %v is not normalisable in coordinate %d at t = %v (precision %v)", w, j, t, p)
		}
		mean[j], variance[j] = c*q/p, 1/p
	}
	return mean, variance, nil
}

// tiltPQ returns P and Q of the guided score -P x + c Q.
func tiltPQ(c, s, w, mu1, sd1, mu0, sd0 float64) (p, q float64) {
	v1 := c*c*sd1*sd1 + s*s
	v0 := c*c*sd0*sd0 + s*s
	return (1+w)/v1 - w/v0, (1+w)*mu1/v1 - w*mu0/v0
}

// GuidedGaussianLaw returns the mean and variance, per coordinate, of the
// exact law at time eps of a sampler with the classifier-free guided score
// of Gaussian cond and uncond (both under cond's SDE), started from the
// prior N(0, PriorStd^2) at T: the probability flow (stochastic false) or
// the reverse-time SDE (stochastic true), without discretisation error.
// The moment equations above are integrated with classical Runge-Kutta on
// steps uniform in t (steps of them). The error falls as steps^-4: on VE
// (sigma from 0.01 to 50) against its closed form for the variance, 4000
// steps are within 6e-10 relative and 16000 within 3e-12.
func GuidedGaussianLaw(cond, uncond *Mixture, w, eps float64, stochastic bool, steps int) (mean, variance []float64, err error) {
	mu1, sd1, mu0, sd0, err := gaussPair(cond, uncond)
	if err != nil {
		return nil, nil, err
	}
	s := cond.SDE
	if !(eps > 0 && eps < s.T()) {
		return nil, nil, fmt.Errorf("score: eps = %v must lie in (0, T = %v)", eps, s.T())
	}
	if steps < 1 {
		return nil, nil, fmt.Errorf("score: %d steps; use at least 1", steps)
	}
	lambda := 0.5
	if stochastic {
		lambda = 1
	}
	d := cond.Dim()
	mean, variance = make([]float64, d), make([]float64, d)
	for j := 0; j < d; j++ {
		// f returns (dm/dt, dV/dt) at time t.
		f := func(t, m, v float64) (float64, float64) {
			c, sd := s.Marginal(t)
			a, g := s.DriftCoef(t), s.Diffusion(t)
			g2 := g * g
			p, q := tiltPQ(c, sd, w, mu1[j], sd1[j], mu0[j], sd0[j])
			k := a + lambda*g2*p
			return k*m - lambda*g2*c*q, 2*k*v - (2*lambda-1)*g2
		}
		m, v := 0.0, s.PriorStd()*s.PriorStd()
		h := -(s.T() - eps) / float64(steps)
		for i := 0; i < steps; i++ {
			t := s.T() + float64(i)*h
			m1, v1 := f(t, m, v)
			m2, v2 := f(t+h/2, m+h/2*m1, v+h/2*v1)
			m3, v3 := f(t+h/2, m+h/2*m2, v+h/2*v2)
			m4, v4 := f(t+h, m+h*m3, v+h*v3)
			m += h / 6 * (m1 + 2*m2 + 2*m3 + m4)
			v += h / 6 * (v1 + 2*v2 + 2*v3 + v4)
		}
		if math.IsNaN(m) || math.IsNaN(v) || !(v > 0) {
			return nil, nil, fmt.Errorf("score: the guided moment equations broke down in coordinate %d (mean %v, variance %v); use more steps", j, m, v)
		}
		mean[j], variance[j] = m, v
	}
	return mean, variance, nil
}

// GaussianClasses returns a Labeled score with one class whose conditional
// density is cond and whose unconditional density (NullLabel) is uncond,
// both one-component mixtures under the same SDE: the model of
// GuidedGaussianLaw, for testing guidance where its law is known. (A
// MixtureClasses is the model whose unconditional density is the mixture
// of its classes; here uncond is free.)
func GaussianClasses(cond, uncond *Mixture) (Labeled, error) {
	if _, _, _, _, err := gaussPair(cond, uncond); err != nil {
		return nil, err
	}
	return gaussClasses{cond, uncond}, nil
}

type gaussClasses struct{ cond, uncond *Mixture }

func (g gaussClasses) Dim() int                    { return g.cond.Dim() }
func (g gaussClasses) Classes() int                { return 1 }
func (g gaussClasses) ScoreTo(dst, x, t []float64) { g.uncond.ScoreTo(dst, x, t) }
func (g gaussClasses) LabelScoreTo(dst, x, t []float64, labels []int) {
	d := g.cond.Dim()
	for i := 0; i < len(t); {
		e := i + 1
		for e < len(t) && labels[e] == labels[i] {
			e++
		}
		m := g.cond
		switch labels[i] {
		case NullLabel:
			m = g.uncond
		case 0:
		default:
			panic(fmt.Sprintf("score: label %d is outside the one class 0 (or NullLabel)", labels[i]))
		}
		m.ScoreTo(dst[i*d:e*d], x[i*d:e*d], t[i:e])
		i = e
	}
}
