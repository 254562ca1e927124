package likelihood

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/sde"
)

// BoundTerms is the discrete variational bound of DDPM for one data point, in
// bits per dimension (nats / (D ln 2); no offset: with the discrete decoder it
// is a code length of the 8-bit data, with the Gaussian decoder a bound on
// -log of a density in the data's own units).
type BoundTerms struct {
	LT    float64 // L_T = KL(q(x_N | x_0) || N(0, I))
	Lt    float64 // sum over t = 2..N of L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)) at a drawn x_t
	L0    float64 // L_0 = -log p(x_0 | x_1) at a drawn x_1
	Total float64 // LT + Lt + L0
}

// BoundConfig configures EvaluateBound.
type BoundConfig struct {
	// VP gives the DDPM schedule through its DiscreteBetas: for sde.VP,
	// beta_i = linspace(beta_min/N, beta_max/N, N).
	VP sde.BetaGrid
	// Score is read as an epsilon-model: eps(x, i) = -sqrt(1 - alpha-bar_i)
	// score(x, t_i), t_i = (i+1)/N.
	Score sde.Score
	// N is the number of steps (DDPM: 1000).
	N int
	// Variance is the reverse-kernel variance sigma_t^2: "beta" (beta_t) or
	// "beta-tilde" (the posterior variance; at t = 1, where it is 0,
	// beta-tilde_2 is used, as in Ho et al.'s code).
	Variance string
	// Decoder is "discrete" (8-bit data on [-1, 1], Ho et al. eq. 13) or
	// "gaussian" (the continuous density N(x_0; mu(x_1, 1), sigma_1^2 I)).
	Decoder string
	// Workers is the number of goroutines (0: runtime.NumCPU()); results do
	// not depend on it.
	Workers int
}

// DDPMBound is EvaluateBound with seed 0 and rows 0..n-1 (x holds n rows of d
// values; d must equal s.Dim()).
func DDPMBound(ctx context.Context, vp sde.BetaGrid, s sde.Score, n int, variance string, x []float64, d int, decoder string) ([]BoundTerms, error) {
	if s == nil {
		panic("likelihood: DDPMBound with a nil score")
	}
	if d != s.Dim() {
		return nil, fmt.Errorf("likelihood: the data rows have dimension %d but the score has %d; check that the data matches the model", d, s.Dim())
	}
	return EvaluateBound(ctx, BoundConfig{VP: vp, Score: s, N: n, Variance: variance, Decoder: decoder}, 0, x, nil, nil)
}

// boundKernel holds the schedule and the per-step constants of the bound.
type boundKernel struct {
	d          int
	n          int
	ab, omab   []float64 // alpha-bar_i and 1 - alpha-bar_i
	beta, alph []float64
	sig2       []float64 // sigma_i^2
	discrete   bool
}

func newBoundKernel(cfg BoundConfig) (*boundKernel, error) {
	if cfg.VP == nil {
		panic("likelihood: BoundConfig.VP is nil")
	}
	if cfg.Score == nil {
		panic("likelihood: BoundConfig.Score is nil")
	}
	sched, err := discretize.FromVP(cfg.VP, cfg.N)
	if err != nil {
		return nil, fmt.Errorf("likelihood: %w", err)
	}
	n := cfg.N
	k := &boundKernel{d: cfg.Score.Dim(), n: n, ab: make([]float64, n), omab: make([]float64, n),
		beta: sched.Betas, alph: sched.Alphas, sig2: make([]float64, n)}
	var lab float64
	for i, b := range sched.Betas {
		lab += math.Log1p(-b)
		k.ab[i] = math.Exp(lab)
		k.omab[i] = -math.Expm1(lab)
	}
	btilde := func(i int) float64 { return k.beta[i] * k.omab[i-1] / k.omab[i] }
	switch cfg.Variance {
	case "beta":
		copy(k.sig2, k.beta)
	case "beta-tilde":
		if n < 2 {
			return nil, fmt.Errorf("likelihood: the beta-tilde variance needs at least 2 steps")
		}
		for i := 1; i < n; i++ {
			k.sig2[i] = btilde(i)
		}
		k.sig2[0] = k.sig2[1]
	default:
		return nil, fmt.Errorf("likelihood: unknown reverse variance %q; use beta or beta-tilde", cfg.Variance)
	}
	switch cfg.Decoder {
	case "discrete":
		k.discrete = true
	case "gaussian":
	default:
		return nil, fmt.Errorf("likelihood: unknown decoder %q; use discrete (8-bit data on [-1, 1]) or gaussian", cfg.Decoder)
	}
	return k, nil
}

// priorTerm returns L_T in nats for the data row x0.
func (k *boundKernel) priorTerm(x0 []float64) float64 {
	ab := k.ab[k.n-1]
	l1 := math.Log1p(-ab) // accurate when alpha-bar_N is tiny
	var kl float64
	for _, x := range x0 {
		kl += 0.5 * (ab*(x*x-1) - l1)
	}
	return kl
}

// term returns the bound term of step i (DDPM t = i+1) in nats, for the data
// row x0, the state xt drawn from q(x_t | x_0) and the score at (xt, t_i):
// L_0 (the decoder) for i = 0, L_{i} (a Gaussian KL) otherwise. The model
// mean is mu = (x_t - beta/sqrt(1 - alpha-bar) eps)/sqrt(alpha) =
// (x_t + beta score)/sqrt(alpha).
func (k *boundKernel) term(i int, x0, xt, sc []float64) float64 {
	b, ra := k.beta[i], math.Sqrt(k.alph[i])
	s2 := k.sig2[i]
	if i == 0 {
		if k.discrete {
			sd := math.Sqrt(s2)
			var l float64
			for j, x := range x0 {
				mu := (xt[j] + b*sc[j]) / ra
				l -= discreteLogProb(x, mu, sd)
			}
			return l
		}
		var l float64
		for j, x := range x0 {
			mu := (xt[j] + b*sc[j]) / ra
			e := x - mu
			l += 0.5 * (math.Log(2*math.Pi*s2) + e*e/s2)
		}
		return l
	}
	// posterior q(x_{t-1} | x_t, x_0) = N(c0 x_0 + ct x_t, beta-tilde)
	c0 := math.Sqrt(k.ab[i-1]) * b / k.omab[i]
	ct := ra * k.omab[i-1] / k.omab[i]
	bt := b * k.omab[i-1] / k.omab[i]
	r := bt / s2
	var quad float64
	for j, x := range x0 {
		e := c0*x + ct*xt[j] - (xt[j]+b*sc[j])/ra
		quad += e * e
	}
	return 0.5 * (float64(len(x0))*(r-1-math.Log(r)) + quad/s2)
}

// discreteLogProb is log of the N(mu, sd^2) mass of the 8-bit bin of x in
// [-1, 1]: [x - 1/255, x + 1/255], opened to -inf at x = -1 and +inf at x = 1
// (Ho et al. 2020, eq. 13).
func discreteLogProb(x, mu, sd float64) float64 {
	const half = 1.0 / 255
	lo, hi := (x-half-mu)/sd, (x+half-mu)/sd
	switch {
	case x <= -1+half/2:
		return logPhi(hi)
	case x >= 1-half/2:
		return logPhi(-lo)
	case lo > 0:
		// both ends in the upper tail: Phi(-lo) - Phi(-hi), relative to Phi(-lo)
		a, b := logPhi(-lo), logPhi(-hi)
		return a + math.Log1p(-math.Exp(b-a))
	default:
		a, b := logPhi(hi), logPhi(lo)
		return a + math.Log1p(-math.Exp(b-a))
	}
}

// logPhi returns log Phi(z) for the standard normal CDF, accurate in the far
// lower tail where Phi underflows.
func logPhi(z float64) float64 {
	if z > -30 {
		return math.Log(0.5 * math.Erfc(-z/math.Sqrt2))
	}
	return logPhiTail(z)
}

// logPhiTail is log Phi(z) for z << 0 by Laplace's continued fraction for
// the Mills ratio, Phi(z) = phi(z)/f, f = a + 1/(a + 2/(a + 3/(a + ...))),
// a = -z, evaluated bottom-up; 40 levels are exact to rounding for a >= 20.
func logPhiTail(z float64) float64 {
	a := -z
	f := a
	for n := 40; n >= 1; n-- {
		f = a + float64(n)/f
	}
	return -0.5*a*a - 0.5*math.Log(2*math.Pi) - math.Log(f)
}

// EvaluateBound computes the DDPM variational bound L_T + sum L_{t-1} + L_0
// (Ho et al. 2020, eq. 5) per point, in bits/dim, for the score read as an
// epsilon-model on the DDPM schedule of cfg.VP with N steps.
//
// Each L_{t-1} is the closed-form Gaussian KL at one x_t drawn from
// q(x_t | x_0): an unbiased one-sample estimate of the expectation over x_t.
// Point rows[p] draws its noise from rng.New(seed, rows[p], rng.Sampling), D
// values per step in the order t = 1, ..., N, so a point does not depend on
// its batch. The context is checked once per step; progress reports finished
// points after each group.
func EvaluateBound(ctx context.Context, cfg BoundConfig, seed uint64, x []float64, rows []int, progress func(done int) error) ([]BoundTerms, error) {
	k, err := newBoundKernel(cfg)
	if err != nil {
		return nil, err
	}
	d := k.d
	rows, err = checkData(x, rows, d)
	if err != nil {
		return nil, err
	}
	if k.discrete {
		for q, r := range rows {
			for j, v := range x[q*d : (q+1)*d] {
				g := (v + 1) * 127.5
				if v < -1 || v > 1 || math.Abs(g-math.Round(g)) > 1e-6 {
					return nil, fmt.Errorf("likelihood: data row %d column %d is %v, not an 8-bit value on [-1, 1] ((k - 127.5)/127.5); the discrete decoder needs quantised data: quantise it, or use the gaussian decoder", r, j, v)
				}
			}
		}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	workers := cfg.Workers
	if workers < 0 {
		return nil, fmt.Errorf("likelihood: workers = %d; use 0 for one per CPU", workers)
	}
	if workers == 0 {
		workers = runtime.NumCPU()
	}
	n := len(rows)
	out := make([]BoundTerms, n)
	chunk := max(chunkRows, 64*workers)
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		nw := max(1, min(workers, hi-lo))
		var wg sync.WaitGroup
		errs := make([]error, nw)
		for w := 0; w < nw; w++ {
			a, b := lo+w*(hi-lo)/nw, lo+(w+1)*(hi-lo)/nw
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[w] = k.run(ctx, cfg.Score, seed, x[a*d:b*d], rows[a:b], out[a:b])
			}()
		}
		wg.Wait()
		for _, e := range errs {
			if e != nil {
				return out, e
			}
		}
		if progress != nil {
			if err := progress(hi); err != nil {
				return out, fmt.Errorf("likelihood: stopped after %d of %d points: %w", hi, n, err)
			}
		}
	}
	return out, nil
}

// run evaluates the bound for a block of points.
func (k *boundKernel) run(ctx context.Context, s sde.Score, seed uint64, x []float64, rows []int, out []BoundTerms) error {
	d, m := k.d, len(rows)
	streams := make([]*rng.Stream, m)
	for p, r := range rows {
		streams[p] = rng.NewStream(seed, r, rng.Sampling)
	}
	xt := make([]float64, m*d)
	sc := make([]float64, m*d)
	ts := make([]float64, m)
	lt := make([]float64, m)
	for i := 0; i < k.n; i++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("likelihood: bound stopped at step %d of %d: %w", i+1, k.n, context.Cause(ctx))
		}
		ra, rs := math.Sqrt(k.ab[i]), math.Sqrt(k.omab[i])
		for p := range rows {
			row := xt[p*d : (p+1)*d]
			rng.FillNormal(streams[p].R, row)
			for j, x0 := range x[p*d : (p+1)*d] {
				row[j] = ra*x0 + rs*row[j]
			}
			ts[p] = float64(i+1) / float64(k.n)
		}
		s.ScoreTo(sc, xt, ts)
		for p := range rows {
			v := k.term(i, x[p*d:(p+1)*d], xt[p*d:(p+1)*d], sc[p*d:(p+1)*d])
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("likelihood: data row %d: the bound term at t = %d is %v; check the score there", rows[p], i+1, v)
			}
			if i == 0 {
				out[p].L0 = v
			} else {
				lt[p] += v
			}
		}
	}
	scale := float64(d) * math.Ln2
	for p := range rows {
		o := &out[p]
		o.LT = k.priorTerm(x[p*d:(p+1)*d]) / scale
		o.Lt = lt[p] / scale
		o.L0 /= scale
		o.Total = o.LT + o.Lt + o.L0
	}
	return nil
}
