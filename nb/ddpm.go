package nb

import (
	"fmt"
	"image"
	"math"
	"strings"

	"gonum.org/v1/plot"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/sde"
	"github.com/sdekit/sdekit/viz"
)

// ScheduleGap is how far the N-step DDPM schedule of the VP SDE is from the
// continuous one.
type ScheduleGap struct {
	N int
	// BetaFirst and BetaLast are beta_0 and beta_{N-1} of the discrete chain.
	BetaFirst, BetaLast float64
	// MaxAlphaBarGap is max_i |alpha-bar_i - c(t_i)^2| with t_i = (i+1)/N.
	MaxAlphaBarGap float64
}

// ScheduleResult is what DDPMSchedule returns.
type ScheduleResult struct {
	N    int           // the schedule drawn
	Gaps []ScheduleGap // one per N in 30, 100, ..., 10000
	// Slope is the fitted log-log slope of MaxAlphaBarGap against N (first
	// order: -1).
	Slope float64
	// Image has three panels: N beta_i against beta(t_i); alpha-bar_i against
	// c(t_i)^2; the largest gap against N. 1050 x 330 pixels.
	Image image.Image
}

// String prints the gaps.
func (r *ScheduleResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "DDPM schedule of the VP SDE (beta_min 0.1, beta_max 20): beta_i = linspace(beta_min/N, beta_max/N, N)\n")
	fmt.Fprintf(&b, "%6s %12s %12s %22s\n", "N", "beta_0", "beta_N-1", "max|abar_i - c(t_i)^2|")
	for _, g := range r.Gaps {
		fmt.Fprintf(&b, "%6d %12.6g %12.6g %22.3g\n", g.N, g.BetaFirst, g.BetaLast, g.MaxAlphaBarGap)
	}
	fmt.Fprintf(&b, "fitted slope of the gap against N: %.3f (first order: -1)\n", r.Slope)
	return b.String()
}

// scheduleNs are the schedule lengths of the convergence panel.
var scheduleNs = []int{30, 100, 300, 1000, 3000, 10000}

// DDPMSchedule puts the N-step DDPM schedule of the reference VP SDE next to
// the continuous SDE: N beta_i against beta(t_i), alpha-bar_i against
// c(t_i)^2 = exp(-int_0^t beta), and the largest gap for N from 30 to 10000.
// With N = 1000 the betas are exactly DDPM's 1e-4 .. 0.02.
func DDPMSchedule(n int) *ScheduleResult {
	check(n >= 2, "DDPMSchedule needs N >= 2")
	vp := sde.NewVP()
	res := &ScheduleResult{N: n}
	gap := func(n int) (*discretize.DDPM, ScheduleGap) {
		d, err := discretize.FromVP(vp, n)
		check(err == nil, "%v", err)
		g := ScheduleGap{N: n, BetaFirst: d.Betas[0], BetaLast: d.Betas[n-1]}
		for i := 0; i < n; i++ {
			c, _ := vp.Marginal(d.Time(i))
			g.MaxAlphaBarGap = math.Max(g.MaxAlphaBarGap, math.Abs(d.AlphaBars[i]-c*c))
		}
		return d, g
	}
	var lx, ly []float64
	for _, k := range scheduleNs {
		_, g := gap(k)
		res.Gaps = append(res.Gaps, g)
		lx = append(lx, float64(k))
		ly = append(ly, g.MaxAlphaBarGap)
	}
	res.Slope = logSlope(lx, ly)

	d, _ := gap(n)
	t := make([]float64, n)
	nb, bc, ab, c2 := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		t[i] = d.Time(i)
		nb[i] = float64(n) * d.Betas[i]
		bc[i] = vp.Beta(t[i])
		ab[i] = d.AlphaBars[i]
		c, _ := vp.Marginal(t[i])
		c2[i] = c * c
	}
	p1 := viz.NewPanel(fmt.Sprintf("N beta_i (N = %d) and beta(t)", n), "t = (i+1)/N", "")
	viz.AddLine(p1, "beta(t), VP SDE", t, bc, 0, false)
	viz.AddLine(p1, "N beta_i, DDPM", t, nb, 1, true)
	p1.Legend.Top, p1.Legend.Left = true, true
	p2 := viz.NewPanel(fmt.Sprintf("alpha-bar_i (N = %d) and c(t)^2", n), "t = (i+1)/N", "")
	viz.AddLine(p2, "c(t)^2, VP SDE", t, c2, 0, false)
	viz.AddLine(p2, "alpha-bar_i, DDPM", t, ab, 1, true)
	p2.Legend.Top = true
	p3 := viz.NewPanel("max |alpha-bar_i - c(t_i)^2|", "N", "")
	viz.LogX(p3)
	viz.LogY(p3)
	viz.AddLine(p3, "", lx, ly, 0, false)
	viz.AddPoints(p3, fmt.Sprintf("slope %.2f", res.Slope), lx, ly, 0, 3)
	ref := make([]float64, len(lx))
	for i := range lx {
		ref[i] = ly[0] * lx[0] / lx[i]
	}
	viz.AddLine(p3, "1/N", lx, ref, 6, true)
	p3.Legend.Left = true
	res.Image = viz.Render([][]*plot.Plot{{p1, p2, p3}}, 1050, 330)
	return res
}

// logSlope fits log y = a + b log x by least squares and returns b.
func logSlope(x, y []float64) float64 {
	var sx, sy, sxx, sxy, n float64
	for i := range x {
		if !(x[i] > 0 && y[i] > 0) {
			continue
		}
		a, b := math.Log(x[i]), math.Log(y[i])
		sx += a
		sy += b
		sxx += a * a
		sxy += a * b
		n++
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}

// PathGap is the root-mean-square distance between the samples of two
// samplers driven by the same seed (so the same prior draw and, for the
// stochastic ones, the same noise sequence), at one step count.
type PathGap struct {
	A, B  string
	Steps int
	RMS   float64
}

// AgreementResult is what DDPMAgreement returns.
type AgreementResult struct {
	N     int
	Seed  uint64
	Steps []int
	Gaps  []PathGap
	// Slopes maps "A vs B" to the fitted log-log slope of RMS against steps.
	Slopes map[string]float64
	// Runs holds the metrics of each sampler at the largest step count.
	Runs []SamplerRun
	// Image: samples of each sampler at the largest step count (200 x 200 a
	// panel), then the RMS distances against the step count.
	Image image.Image
}

// String prints the distances and the metrics.
func (r *AgreementResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gmm8 under VP, exact score, n = %d, seed %d; same seed => same prior draw and noise per row\n", r.N, r.Seed)
	fmt.Fprintf(&b, "%-16s", "RMS |x_A - x_B|")
	for _, s := range r.Steps {
		fmt.Fprintf(&b, " %9d", s)
	}
	fmt.Fprintf(&b, " %8s\n", "slope")
	for _, pair := range agreementPairs {
		key := pair[0] + " vs " + pair[1]
		fmt.Fprintf(&b, "%-16s", key)
		for _, g := range r.Gaps {
			if g.A == pair[0] && g.B == pair[1] {
				fmt.Fprintf(&b, " %9.3g", g.RMS)
			}
		}
		fmt.Fprintf(&b, " %8.2f\n", r.Slopes[key])
	}
	fmt.Fprintf(&b, "\nat %d steps:\n", r.Steps[len(r.Steps)-1])
	for _, run := range r.Runs {
		fmt.Fprintf(&b, "%-5s NFE %6.0f  %v\n", run.Sampler, run.NFE, run.Metrics)
	}
	return b.String()
}

// agreementPairs are the sampler pairs DDPMAgreement compares.
var agreementPairs = [][2]string{{"ddpm", "rd"}, {"ddpm", "em"}, {"ddim", "ode"}}

// DDPMAgreement runs DDPM's ancestral sampler, the reverse-diffusion
// predictor and reverse-SDE Euler-Maruyama with the same seed (the same prior
// draw and the same noise for every row), and DDIM (eta = 0) against an
// accurate probability-flow solve, on gmm8 with the exact VP score, at each
// step count; it reports how far apart the paired samples end up. DDPM and
// the reverse-diffusion predictor agree to first order in beta (score SDE
// App. E); DDIM is Euler on the probability flow in another variable (DDIM
// Prop. 1). Step counts above 1000 are skipped for DDIM (its DDPM schedule
// has 1000 steps).
func DDPMAgreement(steps []int, n int, seed uint64) *AgreementResult {
	check(n >= 2 && len(steps) > 0, "DDPMAgreement needs n >= 2 and step counts")
	s := mustSDE("vp")
	m := mustProblem("gmm8", s)
	ref := mixtureRef(m)
	res := &AgreementResult{N: n, Seed: seed, Steps: steps, Slopes: map[string]float64{}}
	// The probability-flow reference: dopri5 at tight tolerances.
	cfg := samplerConfig("ode rtol=1e-8 atol=1e-8", s, m, 0)
	xode, _, _ := generate(cfg, n, seed)
	last := steps[len(steps)-1]
	for _, st := range steps {
		xs := map[string][]float64{"ode": xode}
		for _, sp := range []string{"ddpm", "rd", "em", "ddim"} {
			if sp == "ddim" && st > 1000 {
				continue
			}
			spec := sp
			if sp == "rd" { // the reverse-diffusion predictor alone
				spec = "pc corrector=none"
			}
			x, nfe, el := generate(samplerConfig(spec, s, m, st), n, seed)
			xs[sp] = x
			if st == last {
				res.Runs = append(res.Runs, SamplerRun{Sampler: sp, Steps: st, NFE: nfe, Seconds: el.Seconds(), Metrics: ref.compare(x), X: x})
			}
		}
		for _, pair := range agreementPairs {
			a, b := xs[pair[0]], xs[pair[1]]
			if a == nil || b == nil {
				continue
			}
			res.Gaps = append(res.Gaps, PathGap{A: pair[0], B: pair[1], Steps: st, RMS: rms(a, b, m.Dim())})
		}
	}
	var panels []*plot.Plot
	for _, run := range res.Runs {
		p := viz.NewPanel(fmt.Sprintf("%s, %d steps", run.Sampler, run.Steps), "", "")
		viz.AddCloud(p, run.X, 2, 0)
		viz.Square(p, 6)
		panels = append(panels, p)
	}
	pg := viz.NewPanel("paired samples: RMS distance", "steps", "")
	viz.LogX(pg)
	viz.LogY(pg)
	for k, pair := range agreementPairs {
		key := pair[0] + " vs " + pair[1]
		var x, y []float64
		for _, g := range res.Gaps {
			if g.A == pair[0] && g.B == pair[1] {
				x = append(x, float64(g.Steps))
				y = append(y, g.RMS)
			}
		}
		res.Slopes[key] = logSlope(x, y)
		viz.AddLine(pg, "", x, y, k, false)
		viz.AddPoints(pg, fmt.Sprintf("%s (slope %.2f)", key, res.Slopes[key]), x, y, k, 3)
	}
	pg.Legend.Left = true
	panels = append(panels, pg)
	res.Image = viz.Render([][]*plot.Plot{panels}, 200*(len(panels)-1)+400, 280)
	return res
}

// rms returns sqrt(mean over rows of |a_i - b_i|^2).
func rms(a, b []float64, d int) float64 {
	var ss float64
	for i := range a {
		ss += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(ss / float64(len(a)/d))
}
