// Training losses.
//
// Every loss here is a denoising score-matching loss (Vincent 2011): for a
// data row x_0, a time t and noise z ~ N(0, I), the perturbed point is
// x_t = c x_0 + s z with (c, s) the marginal mean scale and std at t, the
// conditional score is grad log p(x_t | x_0) = -z/s, and the network's score
// S(x_t, t) = k(t) o(x_t, t) (see Param) is regressed onto it. Per row,
//
//	l = (lambda(t)/2) sum_j (S_j + z_j/s)^2 = (omega/2) sum_j (alpha o_j + z_j)^2,
//
// with alpha = s k(t) (-1 for eps, +1 for sigma, s for score) and
// omega = lambda(t)/s^2, and the batch loss is the mean of l over the rows.
// Its gradient with respect to the network output is
//
//	dL/do_ij = (1/n) omega_i alpha_i (alpha_i o_ij + z_ij).
//
// The losses differ in how t is drawn, which marginal they use and lambda:
//
//	dsm, weighting sigma2      t ~ U(eps, T), (c, s) = SDE.Marginal(t), lambda = s^2, omega = 1
//	                           (score SDE eq. 7 with the weighting its experiments use;
//	                           for eps: l = |z - o|^2 / 2)
//	dsm, weighting likelihood  as above with lambda = g(t)^2, omega = g^2/s^2 (Song, Durkan,
//	                           Murray, Ermon 2021: the loss bounds the negative log-likelihood)
//	ddpm (L_simple)            i ~ U{0..N-1}, t = (i+1)/N, c = sqrt(abar_i), s = sqrt(1 - abar_i)
//	                           of discretize.FromVP(vp, N); l = sum_j (z_j - o_j)^2 (DDPM Alg. 1,
//	                           no 1/2, omega = 2); eps-prediction only, VP only
//	smld (NCSN)                i ~ U{0..N-1}, sigma_i geometric from sigma_min to sigma_max
//	                           (discretize.SMLDSigmas), t = i/(N-1) so sigma_i = sigma(t), c = 1,
//	                           s = sigma_i, lambda = sigma_i^2 (Song and Ermon 2019); VE only
//
// The 1/2 and the sum over dimensions follow the score SDE reference with
// reduce_mean = False (its default for continuous training); DDPM's loss is the
// sum of Algorithm 1 (the reference's DDPM configs take the mean over
// dimensions instead, which only rescales it by 1/D). The network sees the
// continuous time t in all cases: DDPM's index i as t = (i+1)/N (so a
// sinusoidal embedding with TimeScale N sees i+1) and SMLD's level as
// t = i/(N-1).
//
// At the optimum the network's score is the true score of p_t, E[-z/s | x_t]
// (for ddpm and smld at the trained levels only). Sampling with a
// ddpm-trained network as a VP score uses -o/s(t) with the continuous s(t),
// which differs from the discrete sqrt(1 - abar_i) by O(1/N) (see
// sdesample schedule).

package score

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/sde"
)

// Loss kinds and weightings, as named on the command line.
const (
	LossDSM  = "dsm"
	LossDDPM = "ddpm"
	LossSMLD = "smld"

	WeightSigma2     = "sigma2"
	WeightLikelihood = "likelihood"
)

// Defaults of LossConfig.
const (
	DefaultTrainEps = 1e-5 // smallest training time (score SDE reference)
	DefaultLevels   = 1000 // discrete levels of ddpm and smld
)

// LossConfig selects a training loss.
type LossConfig struct {
	Kind      string  `json:"kind"`                // "dsm" (default), "ddpm" or "smld"
	Weighting string  `json:"weighting,omitempty"` // dsm: "sigma2" (default) or "likelihood"
	Eps       float64 `json:"eps,omitempty"`       // dsm: t ~ U(Eps, T); default 1e-5
	Levels    int     `json:"levels,omitempty"`    // ddpm and smld: N; default 1000
}

// WithDefaults fills in the zero fields that apply to the kind and clears
// those that do not.
func (c LossConfig) WithDefaults() LossConfig {
	if c.Kind == "" {
		c.Kind = LossDSM
	}
	if c.Kind == LossDSM {
		if c.Weighting == "" {
			c.Weighting = WeightSigma2
		}
		if c.Eps == 0 {
			c.Eps = DefaultTrainEps
		}
		c.Levels = 0
	} else {
		if c.Levels == 0 {
			c.Levels = DefaultLevels
		}
		c.Eps = 0
	}
	return c
}

// Loss is a denoising score-matching loss bound to an SDE and a
// parameterisation. It is immutable and safe for concurrent use.
type Loss struct {
	cfg   LossConfig
	sde   sde.SDE
	param Param
	lik   bool
	// discrete losses: mean scale and std of each level
	c, s []float64
}

// NewLoss returns the loss cfg describes for networks with parameterisation p
// under s. ddpm needs an SDE with a DDPM chain (sde.BetaGrid: VP) and
// p = eps; smld needs one with an SMLD chain (sde.SigmaGrid: VE).
func NewLoss(s sde.SDE, p Param, cfg LossConfig) (*Loss, error) {
	cfg = cfg.WithDefaults()
	if _, err := ParseParam(string(p)); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	l := &Loss{cfg: cfg, sde: s, param: p}
	switch cfg.Kind {
	case LossDSM:
		switch cfg.Weighting {
		case WeightSigma2:
		case WeightLikelihood:
			l.lik = true
		default:
			return nil, fmt.Errorf("score: unknown weighting %q; use sigma2 or likelihood", cfg.Weighting)
		}
		if !(cfg.Eps > 0 && cfg.Eps < s.T()) {
			return nil, fmt.Errorf("score: training eps = %v must lie in (0, %v)", cfg.Eps, s.T())
		}
	case LossDDPM:
		vp, ok := s.(sde.BetaGrid)
		if !ok {
			return nil, fmt.Errorf("score: the ddpm loss is the discrete VP chain, and the %s SDE has none (it is not an sde.BetaGrid); use -sde vp or the dsm loss", s.Name())
		}
		if p != ParamEps {
			return nil, fmt.Errorf("score: the ddpm loss trains a noise predictor; use the eps parameterisation, not %s", p)
		}
		if cfg.Weighting != "" && cfg.Weighting != WeightSigma2 {
			return nil, fmt.Errorf("score: the ddpm loss has no weighting option (got %q); likelihood weighting needs the dsm loss", cfg.Weighting)
		}
		d, err := discretize.FromVP(vp, cfg.Levels)
		if err != nil {
			return nil, fmt.Errorf("score: %w", err)
		}
		l.c = make([]float64, d.N())
		l.s = make([]float64, d.N())
		for i, ab := range d.AlphaBars {
			l.c[i] = math.Sqrt(ab)
			l.s[i] = math.Sqrt(1 - ab)
		}
	case LossSMLD:
		ve, ok := s.(sde.SigmaGrid)
		if !ok {
			return nil, fmt.Errorf("score: the smld loss is the discrete VE chain, and the %s SDE has none (it is not an sde.SigmaGrid); use -sde ve or the dsm loss", s.Name())
		}
		if cfg.Weighting != "" && cfg.Weighting != WeightSigma2 {
			return nil, fmt.Errorf("score: the smld loss has no weighting option (got %q); likelihood weighting needs the dsm loss", cfg.Weighting)
		}
		sig, err := discretize.SMLDSigmas(ve, cfg.Levels)
		if err != nil {
			return nil, fmt.Errorf("score: %w", err)
		}
		l.s = sig
		l.c = make([]float64, len(sig))
		for i := range l.c {
			l.c[i] = 1
		}
	default:
		return nil, fmt.Errorf("score: unknown loss %q; use dsm, ddpm or smld", cfg.Kind)
	}
	return l, nil
}

// Config returns the loss configuration, defaults filled in.
func (l *Loss) Config() LossConfig { return l.cfg }

// Param returns the parameterisation the loss was built for.
func (l *Loss) Param() Param { return l.param }

// SampleTimes fills t with training times drawn with r: U(eps, T) for dsm,
// the time of a uniformly drawn level for ddpm and smld (one r.IntN each).
func (l *Loss) SampleTimes(t []float64, r *rand.Rand) {
	switch l.cfg.Kind {
	case LossDSM:
		lo, hi := l.cfg.Eps, l.sde.T()
		for i := range t {
			t[i] = lo + (hi-lo)*r.Float64()
		}
	case LossDDPM:
		n := len(l.s)
		for i := range t {
			t[i] = float64(r.IntN(n)+1) / float64(n)
		}
	case LossSMLD:
		n := len(l.s)
		for i := range t {
			t[i] = float64(r.IntN(n)) / float64(n-1)
		}
	}
}

// level returns the discrete level of a time drawn by SampleTimes.
func (l *Loss) level(t float64) int {
	n := len(l.s)
	var i int
	var ti float64
	if l.cfg.Kind == LossDDPM {
		i = int(math.Round(t*float64(n))) - 1
		ti = float64(i+1) / float64(n)
	} else {
		i = int(math.Round(t * float64(n-1)))
		ti = float64(i) / float64(n-1)
	}
	if i < 0 || i >= n || ti != t {
		panic(fmt.Sprintf("score: the %s loss has no level at t = %v (use times from SampleTimes)", l.cfg.Kind, t))
	}
	return i
}

// Marginal returns the mean scale and std the loss uses at time t: the SDE's
// marginal for dsm, the level's for ddpm and smld.
func (l *Loss) Marginal(t float64) (meanScale, std float64) {
	if l.cfg.Kind == LossDSM {
		return l.sde.Marginal(t)
	}
	i := l.level(t)
	return l.c[i], l.s[i]
}

// coef returns omega and alpha of a row at time t.
func (l *Loss) coef(t float64) (omega, alpha float64) {
	_, s := l.Marginal(t)
	alpha = l.param.unitScale(s)
	switch {
	case l.cfg.Kind == LossDDPM:
		omega = 2
	case l.lik:
		g := l.sde.Diffusion(t)
		omega = (g / s) * (g / s)
	default:
		omega = 1
	}
	return omega, alpha
}

func checkRows(op string, n, d int, s ...[]float64) {
	for _, v := range s {
		if len(v) != n*d {
			panic(fmt.Sprintf("score: Loss.%s: slice of %d values for %d rows of dimension %d", op, len(v), n, d))
		}
	}
}

// Perturb writes x_t = c x_0 + s z for every row (n = len(t) rows of
// D = len(x0)/n values).
func (l *Loss) Perturb(xt, x0, t, z []float64) {
	n := len(t)
	if n == 0 {
		panic("score: Loss.Perturb: empty batch")
	}
	d := len(x0) / n
	checkRows("Perturb", n, d, xt, x0, z)
	for i, ti := range t {
		c, s := l.Marginal(ti)
		for j := i * d; j < (i+1)*d; j++ {
			xt[j] = c*x0[j] + s*z[j]
		}
	}
}

// Eval returns the batch loss for network outputs out at (x_t, t) (x_t from
// Perturb with the same z) and, if dOut is not nil, writes dLoss/d out into it.
func (l *Loss) Eval(dOut, out, t, z []float64) float64 {
	n := len(t)
	if n == 0 {
		panic("score: Loss.Eval: empty batch")
	}
	d := len(out) / n
	checkRows("Eval", n, d, out, z)
	if dOut != nil {
		checkRows("Eval", n, d, dOut)
	}
	inv := 1 / float64(n)
	var total float64
	for i, ti := range t {
		omega, alpha := l.coef(ti)
		var ss float64
		g := inv * omega * alpha
		for j := i * d; j < (i+1)*d; j++ {
			r := alpha*out[j] + z[j]
			ss += r * r
			if dOut != nil {
				dOut[j] = g * r
			}
		}
		total += 0.5 * omega * ss
	}
	return total * inv
}
