package sde

import "math"

// The half log signal-to-noise ratio lambda(t) = log(c(t)/s(t)) of the
// marginal x_t ~ N(c(t) x_0, s(t)^2 I) (Lu et al. 2022, DPM-Solver, section
// 3.1; Kingma et al. 2021 use 2 lambda). Every SDE here has an affine drift,
// so its marginal is fixed by c and s, and lambda falls from +Inf at t = 0 to
// lambda(T): the exponential-integrator samplers (DPM-Solver, UniPC) step in
// lambda, the EDM samplers in sigma = exp(-lambda) = s/c, and the schedules
// space their grids in either.

// LogSNRInverter is implemented by SDEs that invert lambda(t) in closed
// form (VP, sub-VP, VE, EDM). Others are inverted by bisection (TimeAtLogSNR).
type LogSNRInverter interface {
	// TimeAtLogSNR returns the t with lambda(t) = lambda, for lambda in
	// [lambda(T), +Inf).
	TimeAtLogSNR(lambda float64) float64
}

// LogSNR returns lambda(t) = log c(t) - log s(t) (+Inf at s = 0).
func LogSNR(s SDE, t float64) float64 {
	c, sd := s.Marginal(t)
	return math.Log(c) - math.Log(sd)
}

// Sigma returns the noise level s(t)/c(t) = exp(-lambda(t)) of x_t/c(t): the
// sigma of Karras et al.'s scaled ODE.
func Sigma(s SDE, t float64) float64 {
	c, sd := s.Marginal(t)
	return sd / c
}

// TimeAtLogSNR returns the time t in [0, T] with lambda(t) = lambda: in
// closed form through LogSNRInverter, else by bisection on [0, T] (lambda
// decreases in t for every diffusion that adds noise; 200 halvings reach the
// float64 resolution of t). A lambda above lambda(0) gives 0, below lambda(T)
// gives T.
func TimeAtLogSNR(s SDE, lambda float64) float64 {
	T := s.T()
	if inv, ok := s.(LogSNRInverter); ok {
		return math.Min(math.Max(inv.TimeAtLogSNR(lambda), 0), T)
	}
	lo, hi := 0.0, T
	if LogSNR(s, hi) >= lambda {
		return hi
	}
	for range 200 {
		mid := 0.5 * (lo + hi)
		if mid <= lo || mid >= hi {
			break
		}
		if LogSNR(s, mid) > lambda {
			lo = mid
		} else {
			hi = mid
		}
	}
	return 0.5 * (lo + hi)
}

// vpLogMeanAt returns the t >= 0 with log c(t) = -L (L >= 0) for a linear
// beta(t): 0.25 (bmax - bmin) t^2 + 0.5 bmin t = L, solved in the form that
// does not cancel when bmax = bmin.
func vpTimeAtLogMean(L, bmin, bmax float64) float64 {
	a := 0.25 * (bmax - bmin)
	b := 0.5 * bmin
	return 2 * L / (b + math.Sqrt(b*b+4*a*L))
}

// TimeAtLogSNR inverts lambda(t) for VP: c^2 = sigmoid(2 lambda), so
// -log c = log1p(exp(-2 lambda))/2.
func (s *VP) TimeAtLogSNR(lambda float64) float64 {
	return vpTimeAtLogMean(0.5*softplus(-2*lambda), s.BetaMin, s.BetaMax)
}

// TimeAtLogSNR inverts lambda(t) for sub-VP, where s = 1 - c^2: with
// e = exp(lambda), c solves e c^2 + c - e = 0, c = 2e/(1 + sqrt(1 + 4e^2)).
func (s *SubVP) TimeAtLogSNR(lambda float64) float64 {
	var L float64 // -log c
	if lambda > 0 {
		// c = 2/(1/e + sqrt(1/e^2 + 4)): stable for large e.
		ie := math.Exp(-lambda)
		L = math.Log(0.5 * (ie + math.Sqrt(ie*ie+4)))
	} else {
		e := math.Exp(lambda)
		L = -math.Log(2*e) + math.Log1p(math.Sqrt(1+4*e*e))
	}
	return vpTimeAtLogMean(math.Max(L, 0), s.BetaMin, s.BetaMax)
}

// TimeAtLogSNR inverts lambda(t) = -log sigma(t) for VE.
func (s *VE) TimeAtLogSNR(lambda float64) float64 {
	return (-lambda - math.Log(s.SigmaMin)) / math.Log(s.SigmaMax/s.SigmaMin)
}

// softplus returns log(1 + e^x) without overflow.
func softplus(x float64) float64 {
	if x > 30 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}
