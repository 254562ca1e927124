package sample

import (
	"github.com/sdekit/sdekit/internal/vmath"
	"github.com/sdekit/sdekit/sde"
)

// step is one grid point of the em and pc samplers: corrector steps at time
// T, then (if Predict) the predictor
//
//	x' = PX x + PS score(x, T) + PZ z,   z ~ N(0, I) (drawn only when PZ != 0).
//
// Every predictor of the package, and the final Tweedie denoising step, has
// this form; only the coefficients differ.
type step struct {
	T     float64 // time of the score evaluations
	Next  float64 // time of the state after the step (a label for trajectories)
	Alpha float64 // Langevin alpha (1 - beta_i for VP, 1 for VE)
	Std   float64 // marginal standard deviation at T (annealed Langevin)
	sde.Linear
	Predict bool
}

// tweedie is the final denoising step at t: x0 = (x + s^2 score)/c.
func tweedie(s sde.SDE, t float64) step {
	c, sd := s.Marginal(t)
	return step{T: t, Next: 0, Linear: sde.Linear{PX: 1 / c, PS: sd * sd / c}, Predict: true}
}

// update writes x <- pz z + (ps s + px x) (z unused when nil; vmath.LinComb
// rounds it as two fused multiply-adds after px x) and returns a sum that is
// non-zero exactly when a new value is not finite.
func update(x []float64, px, ps, pz float64, s, z []float64) float64 {
	if vmath.LinComb(x, px, s, ps, z, pz) {
		return 0
	}
	return 1
}

// linearStep applies the linear step st to rows a..c-1 of the block's x:
// the score at st.T into sc, the step's Brownian increment into z (when
// st.PZ != 0; the caller ends the draw with Noise.Next), then the update. It
// returns a sum that is non-zero exactly when a new value is not finite.
func linearStep(b *Block, x, sc, z []float64, st *step, a, c int) float64 {
	d := b.D
	b.ScoreAt(sc, x, st.T, a, c)
	var zr []float64
	if st.PZ != 0 {
		b.Noise.Increment(z, a, c, st.T, st.Next)
		zr = z[a*d : c*d]
	}
	return update(x[a*d:c*d], st.PX, st.PS, st.PZ, sc[a*d:c*d], zr)
}

// langevinStep is the Langevin corrector's step size 2 alpha (snr |z| / |score|)^2
// (Song et al. 2021, Algorithm 5); no step when the score vanishes.
func langevinStep(alpha, snr, zNorm, sNorm float64) float64 {
	if sNorm == 0 {
		return 0
	}
	r := snr * zNorm / sNorm
	return 2 * alpha * r * r
}
