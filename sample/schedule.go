package sample

import (
	"fmt"
	"math"

	"github.com/sdekit/sdekit/sde"
)

// The time grids of the fixed-step samplers. A grid of n steps is n+1 times
// from T down to eps, spaced in one of four ways:
//
//	t          uniform in t (Song et al. 2021; DDPM's own spacing for VP)
//	logsnr     uniform in lambda = log(c/s) (DPM-Solver's "logSNR", Lu et
//	           al. 2022, section 3.3)
//	karras     sigma_i = (sigma_max^(1/rho) + i/n (sigma_min^(1/rho) -
//	           sigma_max^(1/rho)))^rho with sigma = s/c (Karras et al. 2022,
//	           eq. 5; rho = 7)
//	quadratic  sqrt(t) uniform (DPM-Solver's "time_quadratic")
//
// logsnr and karras are spaced in the noise level, so they work for every
// SDE through lambda(t) and its inverse (sde.TimeAtLogSNR); the ends are
// exactly T and eps.
const (
	ScheduleT         = "t"
	ScheduleLogSNR    = "logsnr"
	ScheduleKarras    = "karras"
	ScheduleQuadratic = "quadratic"
)

// Schedules lists the schedule names.
var Schedules = []string{ScheduleT, ScheduleLogSNR, ScheduleKarras, ScheduleQuadratic}

// DefaultRho is Karras et al.'s rho.
const DefaultRho = 7

// Grid is the time-grid choice of a fixed-step sampler (embedded in its
// type).
type Grid struct {
	// Schedule is one of Schedules; "" selects the sampler's default.
	Schedule string
	// Rho is the karras schedule's exponent; 0 selects 7.
	Rho float64
}

// gridOptions returns the options schedule and rho, with def the sampler's
// default schedule.
func (g *Grid) gridOptions(def string) []Option {
	return []Option{
		{Name: "schedule", Default: def, Usage: "time grid of a fixed-step sampler: t (uniform in t), logsnr (uniform in log-SNR), karras (Karras et al.'s rho schedule) or quadratic (uniform in sqrt t)", Set: func(s string) error {
			if !validSchedule(s) {
				return fmt.Errorf("%q is unknown; use t, logsnr, karras or quadratic", s)
			}
			g.Schedule = s
			return nil
		}},
		FloatOption(&g.Rho, "rho", DefaultRho, "exponent rho of -schedule karras"),
	}
}

func validSchedule(s string) bool {
	for _, n := range Schedules {
		if s == n {
			return true
		}
	}
	return false
}

// prepareGrid fills the defaults (only into zero fields) and checks them;
// field is the embedding sampler's Go name for errors.
func (g *Grid) prepareGrid(s Sampler, field, def string) error {
	if g.Schedule == "" {
		g.Schedule = def
	}
	if !validSchedule(g.Schedule) {
		return optionErrorf(s, field+".Schedule", "schedule", g.Schedule, "unknown schedule; use t, logsnr, karras or quadratic")
	}
	if g.Rho == 0 {
		g.Rho = DefaultRho
	}
	if !(g.Rho > 0) || math.IsInf(g.Rho, 0) {
		return optionErrorf(s, field+".Rho", "rho", g.Rho, "must be finite and > 0 (0 selects %d)", DefaultRho)
	}
	return nil
}

// Times returns the n+1 times of an n-step grid from s.T() down to eps.
func (g *Grid) Times(s sde.SDE, eps float64, n int) ([]float64, error) {
	return ScheduleTimes(s, g.Schedule, g.Rho, eps, n)
}

// ScheduleTimes returns the n+1 times of schedule name with n steps from
// s.T() down to eps (rho: the karras exponent). The times fall strictly.
func ScheduleTimes(s sde.SDE, name string, rho, eps float64, n int) ([]float64, error) {
	T := s.T()
	if n < 1 {
		return nil, fmt.Errorf("sample: a grid needs at least 1 step, got %d", n)
	}
	if !(eps > 0 && eps < T) {
		return nil, fmt.Errorf("sample: the grid's end eps = %v must lie in (0, T = %v)", eps, T)
	}
	ts := make([]float64, n+1)
	frac := func(i int) float64 { return float64(i) / float64(n) }
	switch name {
	case ScheduleT:
		// T + i (eps - T)/n: the rounding of the first wave's grid, so
		// that runs and records from before schedules existed keep their bits.
		for i := range ts {
			ts[i] = T + float64(i)*(eps-T)/float64(n)
		}
	case ScheduleQuadratic:
		a, b := math.Sqrt(T), math.Sqrt(eps)
		for i := range ts {
			r := a + frac(i)*(b-a)
			ts[i] = r * r
		}
	case ScheduleLogSNR:
		la, lb := sde.LogSNR(s, T), sde.LogSNR(s, eps)
		for i := range ts {
			ts[i] = sde.TimeAtLogSNR(s, la+frac(i)*(lb-la))
		}
	case ScheduleKarras:
		if !(rho > 0) || math.IsInf(rho, 0) {
			return nil, fmt.Errorf("sample: rho = %v must be finite and > 0", rho)
		}
		a, b := math.Pow(sde.Sigma(s, T), 1/rho), math.Pow(sde.Sigma(s, eps), 1/rho)
		for i := range ts {
			sg := math.Pow(a+frac(i)*(b-a), rho)
			ts[i] = sde.TimeAtLogSNR(s, -math.Log(sg))
		}
	default:
		return nil, fmt.Errorf("sample: unknown schedule %q; use t, logsnr, karras or quadratic", name)
	}
	ts[0], ts[n] = T, eps
	for i := 1; i <= n; i++ {
		if !(ts[i] < ts[i-1]) {
			return nil, fmt.Errorf("sample: the %s grid of %d steps from %v to %v does not fall strictly at step %d (%v then %v); use fewer steps or another schedule", name, n, T, eps, i, ts[i-1], ts[i])
		}
	}
	return ts, nil
}

// marginalGrid holds, for each time of a grid, the marginal's mean factor
// alpha = c(t), its std sigma = s(t) and lambda = log(alpha/sigma): what the
// exponential integrators (DPM-Solver, UniPC) and the EDM samplers need.
type marginalGrid struct {
	t, alpha, sigma, lambda []float64
}

func newMarginalGrid(s sde.SDE, ts []float64) marginalGrid {
	n := len(ts)
	g := marginalGrid{t: ts, alpha: make([]float64, n), sigma: make([]float64, n), lambda: make([]float64, n)}
	for i, t := range ts {
		g.alpha[i], g.sigma[i] = s.Marginal(t)
		g.lambda[i] = math.Log(g.alpha[i]) - math.Log(g.sigma[i])
	}
	return g
}

// predictTo evaluates the model once at time t for rows a..c-1 of the block
// in one of the two forms of the exponential integrators: with data, the
// data prediction x0 = (x + sigma^2 score)/alpha (Tweedie's formula); else
// the noise prediction eps = -sigma score. score is scratch of x's size. It
// does not count the evaluation (the plan adds its NFE per step).
func predictTo(b *Block, dst, score, x []float64, t, alpha, sigma float64, data bool, a, c int) {
	b.ScoreAt(score, x, t, a, c)
	lo, hi := a*b.D, c*b.D
	if data {
		s2, ia := sigma*sigma, 1/alpha
		for i := lo; i < hi; i++ {
			dst[i] = (x[i] + s2*score[i]) * ia
		}
		return
	}
	for i := lo; i < hi; i++ {
		dst[i] = -sigma * score[i]
	}
}
