package study

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
)

// The exact output law of a sampler on Gaussian data.
//
// With the exact score of one diagonal Gaussian N(mu, diag sd^2) the score
// of p_t is affine in x and acts coordinate by coordinate,
//
//	score_j(x, t) = -(x_j - c(t) mu_j) / (c(t)^2 sd_j^2 + s(t)^2),
//
// and every step of the fixed-step samplers (Euler-Maruyama, the PC
// predictors, ALD, DDPM, DDIM, Runge-Kutta tableaux, the exponential
// integrators) is a combination of the state, scores and noise with
// coefficients that depend on the grid only. The sample is then an affine
// function of the row's noise draws z_0 (the prior draw) .. z_{K-1}:
//
//	x_j = b_j + sum_k G_kj z_kj,
//
// and, the draws being independent standard normals, x_j ~ N(b_j,
// sum_k G_kj^2) exactly: no sampling noise. b is the sample of the all-zero
// noise and G_k the change of the sample when draw k alone is 1 (a draw is
// everything a row's noise source returns between two Next calls; the prior
// draw is draw 0 and the driver scales it by PriorStd, so G_0 includes
// PriorStd).
//
// What is not affine: a step size chosen from the state (adaptive ODE
// solvers' error control, the langevin corrector's norms of z and score),
// or coordinates that mix. OutputGaussian checks affinity by predicting the
// sample of pseudo-random draws from b and G and comparing with the run:
// ErrNotAffine when they disagree.

// ErrNotAffine is the error of OutputGaussian for a sampler whose sample is
// not an affine function of its noise draws, coordinate by coordinate.
var ErrNotAffine = errors.New("study: the sampler is not affine in its noise draws on Gaussian data (adaptive steps or norm-based step sizes), so its output law is not an exact Gaussian")

// GaussLaw is the exact law of a sampler's output on gauss:D: coordinate j
// is N(Mean[j], Var[j]), the coordinates independent.
type GaussLaw struct {
	Mean, Var []float64
	// Draws is the number of noise draws of a row, the prior draw included.
	Draws int
}

// affineTol bounds |sample - (b + sum_k G_k w_k)| relative to
// |b| + sum_k |G_k w_k| for an affine sampler. Each sample is a sum of
// O(steps) rounded terms, and the prediction adds Draws differences of two
// samples: the rounding is about Draws * steps * 2^-52 <= 1e-9 for the
// 1000-step chains, far below 1e-7. A sampler that is not affine (a
// step size from the norms of z and the score) misses by O(1).
const affineTol = 1e-7

// probeRows is the number of rows of pseudo-random draws the affinity
// check runs.
const probeRows = 2

// OutputGaussian returns the exact output law of the sampler of cfg on the
// exact score of one diagonal Gaussian (gauss:D, cfg.Score a one-component
// *score.Mixture). It runs the sampler on Draws + 1 + probeRows rows with
// deterministic noise (cfg.Noise is replaced), and returns ErrNotAffine
// (wrapped) when the sampler is not affine in its draws.
func OutputGaussian(ctx context.Context, cfg sample.Config) (GaussLaw, error) {
	var law GaussLaw
	m, ok := cfg.Score.(*score.Mixture)
	if !ok || m.K() != 1 {
		return law, fmt.Errorf("study: the exact output law needs the exact score of one Gaussian (gauss:D)")
	}
	pn := &probeNoise{}
	cfg.Noise = pn
	if err := cfg.Validate(); err != nil {
		return law, err
	}
	d := cfg.Dim
	lockstep := false
	if plan, err := cfg.Sampler.Prepare(&cfg); err != nil {
		return law, err
	} else if l, ok := plan.(sample.Lockstepper); ok {
		lockstep = l.Lockstep()
	}
	// Row 0: all draws zero, which gives b and, through the highest draw
	// index asked for, the number of draws K.
	b := make([]float64, d)
	if _, err := sample.Generate(ctx, cfg, 0, []int{0}, b, nil); err != nil {
		return law, err
	}
	k := int(pn.max.Load()) + 1
	pn.impulses = k
	// Rows 1..K: draw r-1 is 1, the others 0. Rows K+1..: pseudo-random.
	n := k + probeRows
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i + 1
	}
	x := make([]float64, n*d)
	if lockstep {
		// The rows of a lockstep plan interact (a shared step size): run
		// each alone, as row 0 was.
		for i, r := range rows {
			if _, err := sample.Generate(ctx, cfg, 0, []int{r}, x[i*d:(i+1)*d], nil); err != nil {
				return law, err
			}
		}
	} else if _, err := sample.Generate(ctx, cfg, 0, rows, x, nil); err != nil {
		return law, err
	}
	if int(pn.max.Load())+1 != k {
		return law, fmt.Errorf("%w: the number of draws depends on their values (%d with zero noise, %d otherwise)", ErrNotAffine, k, pn.max.Load()+1)
	}
	g := x[:k*d]
	for i := 0; i < k; i++ {
		for j := 0; j < d; j++ {
			g[i*d+j] -= b[j]
		}
	}
	for p := 0; p < probeRows; p++ {
		got := x[(k+p)*d : (k+p+1)*d]
		row := k + 1 + p
		for j := 0; j < d; j++ {
			pred, scale := b[j], math.Abs(b[j])
			for i := 0; i < k; i++ {
				t := g[i*d+j] * probeValue(row, i, j)
				pred += t
				scale += math.Abs(t)
			}
			if !(math.Abs(got[j]-pred) <= affineTol*scale) {
				return law, fmt.Errorf("%w: coordinate %d of a probe row is %.17g, the affine prediction %.17g", ErrNotAffine, j, got[j], pred)
			}
		}
	}
	law = GaussLaw{Mean: b, Var: make([]float64, d), Draws: (k-1)/2 + 1} // k slots, two a draw
	for i := 0; i < k; i++ {
		for j := 0; j < d; j++ {
			law.Var[j] += g[i*d+j] * g[i*d+j]
		}
	}
	return law, nil
}

// GaussianKL returns KL(N(m1, diag v1) || N(m2, diag v2)) in nats,
//
//	sum_j [ v1_j/v2_j - 1 - log(v1_j/v2_j) + (m1_j - m2_j)^2 / v2_j ] / 2,
//
// with r - 1 - log r computed as u - log1p(u), u = r - 1, which keeps its
// relative accuracy when r is near 1 (a good sampler's variance ratio).
// A zero variance v1 gives +Inf.
func GaussianKL(m1, v1, m2, v2 []float64) float64 {
	if len(v1) != len(m1) || len(m2) != len(m1) || len(v2) != len(m1) {
		panic(fmt.Sprintf("study: GaussianKL of lengths %d, %d, %d, %d", len(m1), len(v1), len(m2), len(v2)))
	}
	var kl float64
	for j := range m1 {
		u := v1[j]/v2[j] - 1
		e := m1[j] - m2[j]
		kl += 0.5 * (u - math.Log1p(u) + e*e/v2[j])
	}
	return kl
}

// DataGaussian returns the mean and per-coordinate variance of p_0 of a
// one-component mixture: N(c(0) mu, c(0)^2 sd^2 + s(0)^2), what the
// samplers target (metrics.MixtureMoments at t = 0; VE adds sigma_min^2).
func DataGaussian(m *score.Mixture) (mean, variance []float64) {
	c, s := m.SDE.Marginal(0)
	d := m.Dim()
	mean, variance = make([]float64, d), make([]float64, d)
	for j := 0; j < d; j++ {
		mean[j] = c * m.Means[0][j]
		variance[j] = c*c*m.Stds[0][j]*m.Stds[0][j] + s*s
	}
	return mean, variance
}

// FlowGaussian returns the law of the exact probability flow from t0 to t1
// of the prior N(0, priorStd^2 I) at t0 on a one-component mixture: the
// flow map is affine (score.Mixture.FlowTo), x -> b + r x per coordinate,
// so the law is N(b, r^2 priorStd^2).
func FlowGaussian(m *score.Mixture, priorStd, t0, t1 float64) (mean, variance []float64, err error) {
	d := m.Dim()
	x := make([]float64, 2*d)
	for j := 0; j < d; j++ {
		x[d+j] = 1
	}
	y := make([]float64, 2*d)
	if err := m.FlowTo(y, x, t0, t1); err != nil {
		return nil, nil, err
	}
	mean, variance = y[:d], make([]float64, d)
	for j := 0; j < d; j++ {
		r := y[d+j] - y[j]
		variance[j] = r * r * priorStd * priorStd
	}
	return mean, variance, nil
}

// probeNoise is the deterministic noise of OutputGaussian: by global row
// index, row 0 draws zeros, rows 1..impulses draw 1 at draw row-1 and 0
// elsewhere, later rows the pseudo-random values probeValue. It records the
// highest draw index any source was asked for.
type probeNoise struct {
	impulses int
	max      atomic.Int64
}

func (p *probeNoise) NewSource(d int) sample.NoiseSource { return &probeSource{p: p, d: d} }

type probeSource struct {
	p    *probeNoise
	d    int
	rows []int
	draw int
}

func (s *probeSource) Start(_ uint64, rows []int) {
	s.rows = append(s.rows[:0], rows...)
	s.draw = 0
}

// A draw (between two Next calls) has two slots of normals: the first
// answers Normals, Increment and IncrementArea's w, the second
// IncrementArea's hh (a standard normal over sqrt(12)). The impulse index
// of slot p of draw k is 2k + p; a slot no sampler asks for has gain 0.
func (s *probeSource) Normals(z []float64, a, c int) { s.fill(z, a, c, 2*s.draw, 1) }

func (s *probeSource) Increment(z []float64, a, c int, _, _ float64) {
	s.fill(z, a, c, 2*s.draw, 1)
}

// IncrementArea makes the 1.5 methods' draws impulses too.
func (s *probeSource) IncrementArea(w, hh []float64, a, c int, _, _ float64) {
	s.fill(w, a, c, 2*s.draw, 1)
	s.fill(hh, a, c, 2*s.draw+1, 1/math.Sqrt(12))
}

func (s *probeSource) Next() { s.draw++ }

func (s *probeSource) fill(z []float64, a, c, slot int, scale float64) {
	for {
		old := s.p.max.Load()
		if int64(slot) <= old || s.p.max.CompareAndSwap(old, int64(slot)) {
			break
		}
	}
	for r := a; r < c; r++ {
		g, row := s.rows[r], z[r*s.d:(r+1)*s.d]
		for j := range row {
			switch {
			case g == 0:
				row[j] = 0
			case g <= s.p.impulses:
				row[j] = 0
				if slot == g-1 {
					row[j] = scale
				}
			default:
				row[j] = scale * probeValue(g, slot, j)
			}
		}
	}
}

// probeValue is a fixed pseudo-random value in [-sqrt 3, sqrt 3) for row,
// draw and coordinate: the SplitMix64 finaliser of their combination
// (Steele, Lea and Flood 2014). Only its being a fixed, varied number
// matters: the affinity check compares a run with its prediction.
func probeValue(row, draw, j int) float64 {
	z := uint64(row)*0x9e3779b97f4a7c15 ^ uint64(draw)*0xbf58476d1ce4e5b9 ^ uint64(j)*0x94d049bb133111eb
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	u := float64(z>>11) / (1 << 53)
	return math.Sqrt(3) * (2*u - 1)
}
