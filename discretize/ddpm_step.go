package discretize

import (
	"fmt"
	"math"
	"sync"

	"github.com/sdekit/sdekit/sde"
)

// ScoreEps is the epsilon-model of a score on a VP SDE:
// eps(x, i) = -std(t_i) score(x, t_i) with t_i = (i + 1)/N and std the
// marginal standard deviation of the SDE.
type ScoreEps struct {
	Score sde.Score
	SDE   sde.SDE
	N     int

	pool sync.Pool // *[]float64 scratch for the per-row times
}

// NewScoreEps returns the epsilon-model of score s on the SDE sd with an
// N-step schedule. It panics if s or sd is nil or n < 1.
func NewScoreEps(s sde.Score, sd sde.SDE, n int) *ScoreEps {
	if s == nil || sd == nil || n < 1 {
		panic(fmt.Sprintf("discretize: NewScoreEps needs a score, an SDE and N >= 1 (got N = %d)", n))
	}
	return &ScoreEps{Score: s, SDE: sd, N: n}
}

// Dim returns the dimension of the score.
func (e *ScoreEps) Dim() int { return e.Score.Dim() }

// EpsTo writes eps(x, i[k]) for every row k into dst. It does not allocate
// after the first calls.
func (e *ScoreEps) EpsTo(dst, x []float64, i []int) {
	n, d := len(i), e.Score.Dim()
	if len(x) < n*d || len(dst) < n*d {
		panic(fmt.Sprintf("discretize: EpsTo with %d rows of %d values needs %d values, got x %d and dst %d", n, d, n*d, len(x), len(dst)))
	}
	p, _ := e.pool.Get().(*[]float64)
	if p == nil {
		p = new([]float64)
	}
	if cap(*p) < n {
		*p = make([]float64, n)
	}
	t := (*p)[:n]
	for k, ik := range i {
		if ik < 0 || ik >= e.N {
			panic(fmt.Sprintf("discretize: EpsTo step %d outside 0..%d", ik, e.N-1))
		}
		t[k] = float64(ik+1) / float64(e.N)
	}
	e.Score.ScoreTo(dst[:n*d], x[:n*d], t)
	prev, std := -1.0, 0.0
	for k, tk := range t {
		if tk != prev {
			_, std = e.SDE.Marginal(tk)
			prev = tk
		}
		row := dst[k*d : (k+1)*d]
		for j := range row {
			row[j] *= -std
		}
	}
	e.pool.Put(p)
}

// Variance is the choice of sigma_i^2 in DDPM's Algorithm 2.
type Variance int

const (
	// Beta is sigma_i^2 = beta_i, the variance of the forward step.
	Beta Variance = iota
	// BetaTilde is sigma_i^2 = beta-tilde_i, the variance of q(x_{i-1} | x_i, x_0).
	BetaTilde
)

func (v Variance) String() string {
	switch v {
	case Beta:
		return "beta"
	case BetaTilde:
		return "beta-tilde"
	}
	return fmt.Sprintf("Variance(%d)", int(v))
}

// ParseVariance returns the Variance named "beta" or "beta-tilde".
func ParseVariance(s string) (Variance, error) {
	switch s {
	case "beta":
		return Beta, nil
	case "beta-tilde":
		return BetaTilde, nil
	}
	return 0, fmt.Errorf("discretize: unknown DDPM variance %q; use beta or beta-tilde", s)
}

func (d *DDPM) checkStep(i int) {
	if i < 0 || i >= len(d.Betas) {
		panic(fmt.Sprintf("discretize: step %d outside 0..%d", i, len(d.Betas)-1))
	}
}

// oneMinusAlphaBar returns 1 - alpha-bar_i, with alpha-bar_{-1} = 1.
func (d *DDPM) oneMinusAlphaBar(i int) float64 {
	if i < 0 {
		return 0
	}
	return 1 - d.AlphaBars[i]
}

func (d *DDPM) alphaBar(i int) float64 {
	if i < 0 {
		return 1
	}
	return d.AlphaBars[i]
}

// AncestralCoefs returns the coefficients of step i of Algorithm 2,
// x_{i-1} = a x_i - b eps + sigma z: a = 1/sqrt(alpha_i),
// b = beta_i / (sqrt(1 - alpha-bar_i) sqrt(alpha_i)), and sigma = 0 at i = 0.
func (d *DDPM) AncestralCoefs(i int, v Variance) (a, b, sigma float64) {
	d.checkStep(i)
	a = 1 / math.Sqrt(d.Alphas[i])
	b = d.Betas[i] / math.Sqrt(d.oneMinusAlphaBar(i)) * a
	if i > 0 {
		switch v {
		case Beta:
			sigma = math.Sqrt(d.Betas[i])
		case BetaTilde:
			sigma = math.Sqrt(d.BetaTilde(i))
		default:
			panic(fmt.Sprintf("discretize: unknown variance %d", int(v)))
		}
	}
	return a, b, sigma
}

// checkRows panics unless x, eps and dst hold the same whole number of rows
// and z holds as many values when it is used.
func checkRows(dst, x, eps, z []float64, useZ bool) {
	if len(dst) != len(x) || len(eps) != len(x) || (useZ && len(z) != len(x)) {
		panic(fmt.Sprintf("discretize: step with dst %d, x %d, eps %d, z %d values; they must match", len(dst), len(x), len(eps), len(z)))
	}
}

// AncestralStepTo writes x_{i-1} of Algorithm 2 into dst (which may alias x)
// for every row: dst = (x - beta_i/sqrt(1 - alpha-bar_i) eps)/sqrt(alpha_i) +
// sigma_i z. z holds standard normal draws, as many as x; it is not read at
// i = 0 (and may be nil there).
func (d *DDPM) AncestralStepTo(dst, x, eps, z []float64, i int, v Variance) {
	a, b, sigma := d.AncestralCoefs(i, v)
	checkRows(dst, x, eps, z, sigma != 0)
	if sigma == 0 {
		for k := range dst {
			dst[k] = a*x[k] - b*eps[k]
		}
		return
	}
	for k := range dst {
		dst[k] = a*x[k] - b*eps[k] + sigma*z[k]
	}
}

// DDIMCoefs returns the coefficients of the DDIM step from index i to index
// j < i (j = -1 for the final x_0), x_j = cx x_i + ce eps + sigma z.
func (d *DDPM) DDIMCoefs(i, j int, eta float64) (cx, ce, sigma float64) {
	d.checkStep(i)
	if j >= i || j < -1 {
		panic(fmt.Sprintf("discretize: DDIM step from %d to %d; the target must lie in -1..%d", i, j, i-1))
	}
	if !(eta >= 0) || math.IsInf(eta, 0) {
		panic(fmt.Sprintf("discretize: DDIM eta = %v must be finite and >= 0", eta))
	}
	abI, abJ := d.alphaBar(i), d.alphaBar(j)
	omI, omJ := d.oneMinusAlphaBar(i), d.oneMinusAlphaBar(j)
	// 1 - abI/abJ = 1 - prod_{j<k<=i} alpha_k, from the betas without cancellation.
	var l float64
	for k := j + 1; k <= i; k++ {
		l += math.Log1p(-d.Betas[k])
	}
	ratio := -math.Expm1(l)
	sigma = eta * math.Sqrt(omJ/omI*ratio)
	rest := omJ - sigma*sigma
	if rest < 0 {
		if rest < -1e-12*omJ {
			panic(fmt.Sprintf("discretize: DDIM eta = %v gives sigma^2 = %v above 1 - alpha-bar = %v", eta, sigma*sigma, omJ))
		}
		rest = 0
	}
	cx = math.Sqrt(abJ / abI)
	ce = math.Sqrt(rest) - cx*math.Sqrt(omI)
	return cx, ce, sigma
}

// DDIMStepTo writes the DDIM step from x_i to x_j (j < i, j = -1 for x_0) into
// dst (which may alias x). z holds standard normal draws; it is read only when
// sigma > 0 (eta > 0 and j >= 0).
func (d *DDPM) DDIMStepTo(dst, x, eps, z []float64, i, j int, eta float64) {
	cx, ce, sigma := d.DDIMCoefs(i, j, eta)
	checkRows(dst, x, eps, z, sigma != 0)
	if sigma == 0 {
		for k := range dst {
			dst[k] = cx*x[k] + ce*eps[k]
		}
		return
	}
	for k := range dst {
		dst[k] = cx*x[k] + ce*eps[k] + sigma*z[k]
	}
}

// DDIMSequence returns S indices of 0..N-1, increasing and evenly spaced,
// from 0 to N-1 inclusive: tau_k = round(k (N-1)/(S-1)). S = 1 gives {N-1}
// (one jump from the prior to x_0); S = N gives every step.
func DDIMSequence(n, s int) ([]int, error) {
	if n < 1 || s < 1 || s > n {
		return nil, fmt.Errorf("discretize: a DDIM sequence of %d steps out of %d; use 1 <= S <= N", s, n)
	}
	seq := make([]int, s)
	if s == 1 {
		seq[0] = n - 1
		return seq, nil
	}
	for k := range seq {
		seq[k] = int(math.Round(float64(k) * float64(n-1) / float64(s-1)))
	}
	return seq, nil
}
