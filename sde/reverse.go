package sde

import "math"

// Score is the score of the marginal densities, grad_x log p_t(x), on a batch.
//
// x holds n = len(t) rows of Dim() values (row-major); row i is at time t[i].
// ScoreTo writes the n scores into dst. Implementations must be safe for
// concurrent calls that write disjoint dst.
type Score interface {
	Dim() int
	ScoreTo(dst, x, t []float64)
}

// ExactScore is implemented by scores that are the exact score of a known
// data density (score.Mixture): ForSDE returns the same density's exact
// score under another forward SDE, such as the marginals of a sampler's own
// discretisation (ChainVP for DDPM and DDIM).
type ExactScore interface {
	Score
	ForSDE(s SDE) (Score, error)
}

// ReverseDriftTo writes the drift of the reverse-time SDE,
// f(x, t) - g(t)^2 score, into dst for every row, given the score of those rows
// (which may alias dst).
func ReverseDriftTo(s SDE, dst, x, t, score []float64) {
	combine(s, dst, x, t, score, 1)
}

// ProbabilityFlowTo writes the probability-flow drift f(x, t) - g(t)^2 score / 2
// into dst for every row, given the score of those rows (which may alias dst).
func ProbabilityFlowTo(s SDE, dst, x, t, score []float64) {
	combine(s, dst, x, t, score, 0.5)
}

// combine writes a(t) x - w g(t)^2 score row by row.
func combine(s SDE, dst, x, t, score []float64, w float64) {
	n := len(t)
	if n == 0 {
		return
	}
	d := len(x) / n
	if len(x) != n*d || len(dst) < n*d || len(score) < n*d {
		panic("sde: batch shapes do not match len(t)")
	}
	// The built-in SDEs' coefficients are small methods that inline when
	// called on the concrete type; through the interface each row pays two
	// dynamic calls, which shows in low dimension, where a row is a few
	// values (docs/bench.md, "Where the time went", has the measurement and
	// its command). Other SDEs take the interface loop; the arithmetic is the
	// same in every branch.
	switch s := s.(type) {
	case *VP:
		for i, ti := range t {
			combineRow(dst, x, score, i*d, d, s.DriftCoef(ti), s.Diffusion(ti), w)
		}
	case *SubVP:
		for i, ti := range t {
			combineRow(dst, x, score, i*d, d, s.DriftCoef(ti), s.Diffusion(ti), w)
		}
	case *VE:
		for i, ti := range t {
			combineRow(dst, x, score, i*d, d, s.DriftCoef(ti), s.Diffusion(ti), w)
		}
	default:
		for i, ti := range t {
			combineRow(dst, x, score, i*d, d, s.DriftCoef(ti), s.Diffusion(ti), w)
		}
	}
}

// combineRow writes a x - w g^2 score for the row of d values at off.
func combineRow(dst, x, score []float64, off, d int, a, g, w float64) {
	wg2 := w * g * g
	dst, x, score = dst[off:off+d], x[off:off+d], score[off:off+d]
	for j, v := range x {
		dst[j] = a*v - wg2*score[j]
	}
}

// ProbabilityFlow is the probability-flow ODE of an SDE and a score, in the
// form ode.Func expects: F(dst, t, y, rows) writes dy/dt for every row.
type ProbabilityFlow struct {
	SDE   SDE
	Score Score
}

// F writes the probability-flow drift of every row of y into dst. It computes
// the score into dst and combines in place, so it needs no scratch memory and is
// safe for concurrent calls on disjoint dst.
func (p ProbabilityFlow) F(dst, t, y []float64, _ []int) {
	p.Score.ScoreTo(dst, y, t)
	ProbabilityFlowTo(p.SDE, dst, y, t, dst)
}

// The steps of the reverse-time SDE that the samplers take, all of the
// linear form x' = PX x + PS score(x, t) + PZ z (Song et al. 2021, section
// 4 and appendices E and F); package sample's predictors call these.

// Kernel returns the exact forward transition from t' to t > t' of an SDE
// with affine drift, x_t = A x_t' + B z: A = c(t)/c(t'), B^2 = s(t)^2 - A^2
// s(t')^2 (0 where rounding makes it negative, at t = t').
func Kernel(s SDE, t, tp float64) (A, B2 float64) {
	c, sd := s.Marginal(t)
	cp, sdp := s.Marginal(tp)
	A = c / cp
	B2 = sd*sd - A*A*sdp*sdp
	if B2 < 0 {
		B2 = 0
	}
	return A, B2
}

// ReverseEuler is Euler-Maruyama on the reverse-time SDE
// dx = [a(t) x - g(t)^2 score] dt + g(t) dw_bar from t over dt < 0:
// x' = (1 + a dt) x - g^2 dt score + g sqrt(-dt) z.
func ReverseEuler(s SDE, t, dt float64) Linear {
	a, g := s.DriftCoef(t), s.Diffusion(t)
	return Linear{PX: 1 + a*dt, PS: -g * g * dt, PZ: g * math.Sqrt(-dt)}
}

// ReverseEulerN is ReverseEuler with dt = -1/n in the reference code's
// arithmetic (f/n and g/sqrt(n), rounded as it rounds them).
func ReverseEulerN(s SDE, t float64, n int) Linear {
	fn := float64(n)
	a, g := s.DriftCoef(t), s.Diffusion(t)
	return Linear{PX: 1 - a/fn, PS: g * g / fn, PZ: g / math.Sqrt(fn)}
}

// ReverseDiffusion reverses the exact forward step from t' to t,
// x_t = A x_t' + B z (appendix E): x' = (2 - A) x + B^2 score + B z.
func ReverseDiffusion(s SDE, t, tp float64) Linear {
	A, B2 := Kernel(s, t, tp)
	return Linear{PX: 2 - A, PS: B2, PZ: math.Sqrt(B2)}
}

// Ancestral samples q(x_t' | x_t, x_0) at Tweedie's x_0 (appendix F):
// x' = (x + B^2 score)/A + sigma z with sigma^2 = B^2, or with posterior the
// posterior variance B^2 s(t')^2/s(t)^2.
func Ancestral(s SDE, t, tp float64, posterior bool) Linear {
	A, B2 := Kernel(s, t, tp)
	return ancestralStep(s, t, tp, A, B2, posterior)
}

func ancestralStep(s SDE, t, tp, A, B2 float64, posterior bool) Linear {
	v := B2
	if posterior {
		_, sd := s.Marginal(t)
		_, sdp := s.Marginal(tp)
		v = B2 * sdp * sdp / (sd * sd)
	}
	return Linear{PX: 1 / A, PS: B2 / A, PZ: math.Sqrt(v)}
}
