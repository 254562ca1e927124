package sde

import (
	"fmt"
	"github.com/sdekit/sdekit/internal/vmath"
	"math"
	"math/rand/v2"
)

// SDE is a forward diffusion with linear drift f(x, t) = DriftCoef(t) x and
// scalar diffusion g(t), on the time interval [0, T()].
type SDE interface {
	// Name identifies the kind: "vp", "subvp", "ve" or a name given to
	// Register. A checkpoint records it, and New builds the kind from it.
	Name() string
	// T is the end time of the forward process.
	T() float64
	// DriftCoef returns a(t), with drift f(x, t) = a(t) x.
	DriftCoef(t float64) float64
	// Diffusion returns g(t).
	Diffusion(t float64) float64
	// Marginal returns the mean scale c(t) and standard deviation s(t) of
	// x_t given x_0: x_t ~ N(c(t) x_0, s(t)^2 I).
	Marginal(t float64) (meanScale, std float64)
	// PriorStd is the standard deviation of the prior N(0, PriorStd^2 I).
	PriorStd() float64
	// Validate reports whether the parameters make sense.
	Validate() error
}

// PriorSample fills dst (one row) with a draw from the prior of s.
func PriorSample(s SDE, dst []float64, r *rand.Rand) {
	sd := s.PriorStd()
	for i := range dst {
		dst[i] = sd * r.NormFloat64()
	}
}

// PriorLogProb returns the log-density of one row x under the prior of s.
func PriorLogProb(s SDE, x []float64) float64 {
	sd := s.PriorStd()
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	d := float64(len(x))
	return -0.5*d*math.Log(2*math.Pi*sd*sd) - 0.5*ss/(sd*sd)
}

// checkTime panics with a package-prefixed message when t is outside [0, T]:
// asking for a marginal outside the process is a programmer error.
func checkTime(t, T float64) {
	if !(t >= 0 && t <= T) {
		panic(fmt.Sprintf("sde: t = %v outside [0, %v]", t, T))
	}
}

// VP is the variance-preserving SDE with a linear beta(t).
type VP struct {
	BetaMin, BetaMax float64
}

// NewVP returns the VP SDE with the reference defaults beta_min = 0.1, beta_max = 20.
func NewVP() *VP { return &VP{BetaMin: 0.1, BetaMax: 20} }

func (s *VP) Name() string { return "vp" }
func (s *VP) T() float64   { return 1 }

// Beta returns beta(t) = beta_min + t (beta_max - beta_min).
func (s *VP) Beta(t float64) float64 { return s.BetaMin + t*(s.BetaMax-s.BetaMin) }

// LogMeanScale returns log c(t).
func (s *VP) LogMeanScale(t float64) float64 { return logMeanScale(t, s.BetaMin, s.BetaMax) }

// logMeanScale is log c(t) = -t^2 (beta_max - beta_min)/4 - t beta_min/2,
// VP's and sub-VP's.
func logMeanScale(t, bmin, bmax float64) float64 {
	return -0.25*t*t*(bmax-bmin) - 0.5*t*bmin
}

func (s *VP) DriftCoef(t float64) float64 { return -0.5 * s.Beta(t) }
func (s *VP) Diffusion(t float64) float64 { return math.Sqrt(s.Beta(t)) }

func (s *VP) Marginal(t float64) (float64, float64) {
	checkTime(t, 1)
	lc := s.LogMeanScale(t)
	c, v := meanVar(lc, expIfNeeded(lc))
	return c, math.Sqrt(v)
}

// expIfNeeded is e^lc where meanVar uses it (from vmath.Exp1, the same bits
// as vmath.Exp), and 0 where it does not.
func expIfNeeded(lc float64) float64 {
	if lc > -0.35 {
		return 0
	}
	return vmath.Exp1(lc)
}

// meanVar returns c = e^lc and v = 1 - c^2 (VP's variance, sub-VP's std)
// with one exponential rather than exp and expm1: the score of a sampler
// whose rows each have their own time (the adaptive ODE) evaluates this once
// per row and stage. Near c = 1 (lc > -0.35), E = e^lc - 1 gives c = 1 + E
// and v = -E (2 + E) without cancellation (about 1 ulp each, as exp(lc) and
// -expm1(2 lc) were); below, c^2 < 0.5, so 1 - c^2 loses less than a bit.
// e is e^lc from vmath's exponential (unused when lc > -0.35), so that
// marginalsTo, which takes the exponentials of many times in one vmath.Exp
// call, gives the same bits as Marginal.
func meanVar(lc, e float64) (c, v float64) {
	if lc > -0.35 {
		m1 := vmath.Expm1Small(lc)
		return 1 + m1, -m1 * (2 + m1)
	}
	return e, 1 - e*e
}

// marginalsTo writes the means c(t_i) and (VP: sqrt) variances of VP or
// sub-VP for many times: log c(t_i) for all, one vmath.Exp call, then
// meanVar row by row. log c is formed inline from beta_min and beta_max
// (a function value's call would not be).
func marginalsTo(c, std, t []float64, bmin, bmax float64, sqrt bool) {
	if len(c) < len(t) || len(std) < len(t) {
		panic("sde: MarginalsTo: c or std is shorter than t")
	}
	c, std = c[:len(t)], std[:len(t)]
	for i, ti := range t {
		checkTime(ti, 1)
		c[i] = logMeanScale(ti, bmin, bmax)
	}
	vmath.Exp(std, c)
	for i, lc := range c {
		m, v := meanVar(lc, std[i])
		if sqrt {
			v = math.Sqrt(v)
		}
		c[i], std[i] = m, v
	}
}

// MarginalsTo writes Marginal(t[i]) into c[i], std[i] for every i, bit for
// bit, faster than a loop of Marginal calls (see the package's MarginalsTo).
func (s *VP) MarginalsTo(c, std, t []float64) { marginalsTo(c, std, t, s.BetaMin, s.BetaMax, true) }

func (s *VP) PriorStd() float64 { return 1 }

func (s *VP) Validate() error { return validateBeta(s.BetaMin, s.BetaMax) }

func validateBeta(lo, hi float64) error {
	switch {
	case !(lo >= 0) || math.IsInf(lo, 0):
		return fmt.Errorf("sde: beta_min = %v must be finite and >= 0", lo)
	case !(hi > 0) || math.IsInf(hi, 0):
		return fmt.Errorf("sde: beta_max = %v must be finite and > 0", hi)
	case lo > hi:
		return fmt.Errorf("sde: beta_min = %v is larger than beta_max = %v; swap them", lo, hi)
	}
	return nil
}

// SubVP is the sub-VP SDE: the VP drift with a smaller diffusion, whose
// marginal variance never exceeds VP's.
type SubVP struct {
	BetaMin, BetaMax float64
}

// NewSubVP returns the sub-VP SDE with the reference defaults beta_min = 0.1, beta_max = 20.
func NewSubVP() *SubVP { return &SubVP{BetaMin: 0.1, BetaMax: 20} }

func (s *SubVP) Name() string { return "subvp" }
func (s *SubVP) T() float64   { return 1 }

// Beta returns beta(t) = beta_min + t (beta_max - beta_min).
func (s *SubVP) Beta(t float64) float64 { return s.BetaMin + t*(s.BetaMax-s.BetaMin) }

// LogMeanScale returns log c(t), the same as VP's.
func (s *SubVP) LogMeanScale(t float64) float64 { return logMeanScale(t, s.BetaMin, s.BetaMax) }

func (s *SubVP) DriftCoef(t float64) float64 { return -0.5 * s.Beta(t) }

// Diffusion returns g(t) = sqrt(beta(t) (1 - c(t)^4)), evaluated with expm1.
func (s *SubVP) Diffusion(t float64) float64 {
	return math.Sqrt(s.Beta(t) * -math.Expm1(4*s.LogMeanScale(t)))
}

func (s *SubVP) Marginal(t float64) (float64, float64) {
	checkTime(t, 1)
	lc := s.LogMeanScale(t)
	return meanVar(lc, expIfNeeded(lc))
}

// MarginalsTo writes Marginal(t[i]) into c[i], std[i] for every i, bit for
// bit, faster than a loop of Marginal calls (see the package's MarginalsTo).
func (s *SubVP) MarginalsTo(c, std, t []float64) { marginalsTo(c, std, t, s.BetaMin, s.BetaMax, false) }

func (s *SubVP) PriorStd() float64 { return 1 }

func (s *SubVP) Validate() error { return validateBeta(s.BetaMin, s.BetaMax) }

// VE is the variance-exploding SDE with a geometric sigma(t).
type VE struct {
	SigmaMin, SigmaMax float64
}

// NewVE returns the VE SDE with the reference CIFAR-10 defaults sigma_min = 0.01, sigma_max = 50.
func NewVE() *VE { return &VE{SigmaMin: 0.01, SigmaMax: 50} }

func (s *VE) Name() string { return "ve" }
func (s *VE) T() float64   { return 1 }

// Sigma returns sigma(t) = sigma_min (sigma_max/sigma_min)^t.
func (s *VE) Sigma(t float64) float64 {
	return s.SigmaMin * math.Exp(t*math.Log(s.SigmaMax/s.SigmaMin))
}

func (s *VE) DriftCoef(float64) float64 { return 0 }

// Diffusion returns g(t) = sigma(t) sqrt(2 ln(sigma_max/sigma_min)).
func (s *VE) Diffusion(t float64) float64 {
	return s.Sigma(t) * math.Sqrt(2*math.Log(s.SigmaMax/s.SigmaMin))
}

func (s *VE) Marginal(t float64) (float64, float64) {
	checkTime(t, 1)
	return 1, s.Sigma(t)
}

func (s *VE) PriorStd() float64 { return s.SigmaMax }

func (s *VE) Validate() error {
	switch {
	case !(s.SigmaMin > 0) || math.IsInf(s.SigmaMin, 0):
		return fmt.Errorf("sde: sigma_min = %v must be finite and > 0", s.SigmaMin)
	case math.IsNaN(s.SigmaMax) || math.IsInf(s.SigmaMax, 0):
		return fmt.Errorf("sde: sigma_max = %v must be finite", s.SigmaMax)
	case s.SigmaMin >= s.SigmaMax:
		return fmt.Errorf("sde: sigma_min = %v must be below sigma_max = %v", s.SigmaMin, s.SigmaMax)
	}
	return nil
}

// MarginalBatcher is implemented by SDEs that evaluate Marginal for many
// times in one call, with the same results bit for bit (VP and sub-VP: one
// vectorised exponential for the whole batch). A score whose rows each have
// their own time (the adaptive probability-flow ODE's) calls it through
// MarginalsTo.
type MarginalBatcher interface {
	MarginalsTo(c, std, t []float64)
}

// MarginalsTo writes s.Marginal(t[i]) into c[i] and std[i] for every i,
// through s's MarginalBatcher if it has one.
func MarginalsTo(s SDE, c, std, t []float64) {
	if b, ok := s.(MarginalBatcher); ok {
		b.MarginalsTo(c, std, t)
		return
	}
	if len(c) < len(t) || len(std) < len(t) {
		panic("sde: MarginalsTo: c or std is shorter than t")
	}
	for i, ti := range t {
		c[i], std[i] = s.Marginal(ti)
	}
}
