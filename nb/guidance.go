package nb

import (
	"fmt"
	"image"
	"math"
	"strings"

	"gonum.org/v1/plot"

	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
	"github.com/sdekit/sdekit/viz"
)

// GuidanceRun is one guided sampling run on gmm8 toward one component.
type GuidanceRun struct {
	Sampler string
	Mode    string  // "cfg" (classifier-free, weight W) or "classifier" (exact classifier, scale 1 + W)
	W       float64 // the guidance weight (the classifier's scale is 1 + W)
	Nearest float64 // fraction of samples nearest c(eps) mu_k of the class
	Radius  float64 // mean of x . mu_k/|mu_k|: how far out along the component's direction
	RadVar  float64 // variance of that projection
	NFE     float64
	X       []float64 `json:"-"`
}

// GuidanceResult holds the runs of Guidance and their picture.
type GuidanceResult struct {
	Class        int
	N            int
	ExactRadius  float64 // c(eps) |mu_k|: the conditional marginal's mean projection
	ExactRadVar  float64 // c(eps)^2 0.25 + s(eps)^2: its variance
	Runs         []GuidanceRun
	Image        image.Image // a row per sampler and mode, a column per weight
	weights      []float64
	samplerNames []string
}

func (r *GuidanceResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gmm8 (vp), class %d, %d samples; conditional marginal: radius %.4f, variance %.4f\n", r.Class, r.N, r.ExactRadius, r.ExactRadVar)
	fmt.Fprintf(&b, "%-10s %-10s %5s %9s %9s %9s %7s\n", "sampler", "mode", "w", "nearest", "radius", "variance", "NFE")
	for _, u := range r.Runs {
		fmt.Fprintf(&b, "%-10s %-10s %5g %8.2f%% %9.4f %9.4f %7.1f\n", u.Sampler, u.Mode, u.W, 100*u.Nearest, u.Radius, u.RadVar, u.NFE)
	}
	return b.String()
}

// Run returns the run of a sampler, mode and weight (nil if none).
func (r *GuidanceResult) Run(sampler, mode string, w float64) *GuidanceRun {
	for i := range r.Runs {
		u := &r.Runs[i]
		if u.Sampler == sampler && u.Mode == mode && u.W == w {
			return u
		}
	}
	return nil
}

// Guidance samples gmm8 under VP toward component class with the exact
// conditional oracle: classifier-free guidance (score.NewCFG) at each
// weight w with each sampler (names of package sample, default options),
// and classifier guidance with the exact classifier at scale 1 + w with the
// first sampler (which equals CFG at w for the same sampler). It measures
// the fraction nearest the component, and the mean and variance of the
// samples projected on the component's direction.
func Guidance(class int, weights []float64, samplers []string, n int, seed uint64) *GuidanceResult {
	s := sde.NewVP()
	mc, err := score.NewMixtureClasses(score.GMM8(s), nil)
	if err != nil {
		panic("nb: " + err.Error())
	}
	check(class >= 0 && class < mc.Classes(), "nb: class %d is outside gmm8's 0..7", class)
	check(len(samplers) > 0 && len(weights) > 0 && n >= 2, "nb: Guidance needs samplers, weights and n >= 2")
	const eps = 1e-3 // VP's default
	c, sd := s.Marginal(eps)
	mu := mc.Mixture().Means[class]
	norm := math.Hypot(mu[0], mu[1])
	res := &GuidanceResult{Class: class, N: n, ExactRadius: c * norm, ExactRadVar: c*c*0.25 + sd*sd, weights: weights, samplerNames: samplers}
	type job struct {
		smp, mode string
		w         float64
	}
	var jobs []job
	for _, sp := range samplers {
		for _, w := range weights {
			jobs = append(jobs, job{sp, "cfg", w})
		}
	}
	for _, w := range weights {
		jobs = append(jobs, job{samplers[0], "classifier", w})
	}
	for _, j := range jobs {
		var g sde.Score
		if j.mode == "cfg" {
			g, err = score.NewCFG(mc, class, j.w)
		} else {
			g, err = score.NewClassifierGuided(mc.Mixture(), mc, class, 1+j.w)
		}
		if err != nil {
			panic("nb: " + err.Error())
		}
		smp, err := sample.New(j.smp)
		if err != nil {
			panic("nb: " + err.Error())
		}
		cfg := sample.Config{SDE: s, Score: g, Sampler: smp, Eps: eps}
		x, nfe, _ := generate(cfg, n, seed)
		u := GuidanceRun{Sampler: j.smp, Mode: j.mode, W: j.w, NFE: nfe, X: x}
		var sum, sum2 float64
		near := 0
		for i := 0; i < n; i++ {
			xi := x[2*i : 2*i+2]
			best, bd := 0, math.Inf(1)
			for k, m := range mc.Mixture().Means {
				if d := math.Hypot(xi[0]-c*m[0], xi[1]-c*m[1]); d < bd {
					best, bd = k, d
				}
			}
			if best == class {
				near++
			}
			p := (xi[0]*mu[0] + xi[1]*mu[1]) / norm
			sum += p
			sum2 += p * p
		}
		u.Nearest = float64(near) / float64(n)
		u.Radius = sum / float64(n)
		u.RadVar = (sum2 - float64(n)*u.Radius*u.Radius) / float64(n-1)
		res.Runs = append(res.Runs, u)
	}
	res.Image = res.picture()
	return res
}

// picture draws a scatter per run: rows are samplers (CFG) then the
// classifier row, columns the weights.
func (r *GuidanceResult) picture() image.Image {
	var grid [][]*plot.Plot
	rows := append(append([]string(nil), r.samplerNames...), "classifier")
	for ri, name := range rows {
		var line []*plot.Plot
		for _, w := range r.weights {
			mode, smp := "cfg", name
			title := fmt.Sprintf("%s, CFG w = %g", name, w)
			if ri == len(rows)-1 {
				mode, smp = "classifier", r.samplerNames[0]
				title = fmt.Sprintf("%s, classifier scale %g", smp, 1+w)
			}
			u := r.Run(smp, mode, w)
			p := viz.NewPanel(title, "", "")
			viz.AddCloud(p, u.X[:2*min(r.N, 2000)], 2, ri)
			viz.Square(p, 6)
			line = append(line, p)
		}
		grid = append(grid, line)
	}
	return viz.Render(grid, 240*len(r.weights), 240*len(rows))
}

// GaussGuidanceRow compares, for one weight, the variances per coordinate
// of the tilted density, the exact laws of the probability flow and of the
// reverse SDE with the guided score, and samples of ode and em.
type GaussGuidanceRow struct {
	W                           float64
	Tilted, FlowLaw, SDELaw     [2]float64 // variances
	TiltedMean, FlowMean        [2]float64
	SDEMean                     [2]float64
	ODESamples, EMSamples       [2]float64 // sample variances
	ODESampleMean, EMSampleMean [2]float64
}

// GaussGuidanceResult is GaussianGuidance's table and picture.
type GaussGuidanceResult struct {
	N     int
	Rows  []GaussGuidanceRow
	Image image.Image // coordinate 0 at the largest weight: the three densities and the samples' histograms
}

func (r *GaussGuidanceResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cond N((1, -0.5), diag(0.5, 0.3)^2), uncond N(0, diag(1, 2)^2), VP, eps 1e-3, %d samples: variances\n", r.N)
	fmt.Fprintf(&b, "%4s %5s %10s %10s %10s %10s %10s\n", "w", "coord", "tilted", "flow law", "ode", "SDE law", "em")
	for _, u := range r.Rows {
		for j := 0; j < 2; j++ {
			fmt.Fprintf(&b, "%4g %5d %10.4g %10.4g %10.4g %10.4g %10.4g\n", u.W, j, u.Tilted[j], u.FlowLaw[j], u.ODESamples[j], u.SDELaw[j], u.EMSamples[j])
		}
	}
	return b.String()
}

// GaussianGuidance is the tractable case of classifier-free guidance:
// Gaussian p_0(x|c) and p_0(x) (score.GaussianClasses), where the target
// p_t(x|c)^(1+w) p_t(x)^(-w) and each sampler's exact output law are
// Gaussians in closed form or by a linear ODE (score.TiltedGaussian,
// score.GuidedGaussianLaw). It samples with ode and em (1000 steps) at each
// weight and returns the variances side by side.
func GaussianGuidance(weights []float64, n int, seed uint64) *GaussGuidanceResult {
	s := sde.NewVP()
	const eps = 1e-3
	cond, _ := score.NewMixture(s, []float64{1}, [][]float64{{1, -0.5}}, [][]float64{{0.5, 0.3}})
	uncond, _ := score.NewMixture(s, []float64{1}, [][]float64{{0, 0}}, [][]float64{{1, 2}})
	model, err := score.GaussianClasses(cond, uncond)
	if err != nil {
		panic("nb: " + err.Error())
	}
	res := &GaussGuidanceResult{N: n}
	var last []float64
	var lastRow GaussGuidanceRow
	for _, w := range weights {
		g, err := score.NewCFG(model, 0, w)
		if err != nil {
			panic("nb: " + err.Error())
		}
		u := GaussGuidanceRow{W: w}
		tm, tv, err := score.TiltedGaussian(cond, uncond, w, eps)
		if err != nil {
			panic("nb: " + err.Error())
		}
		fm, fv, _ := score.GuidedGaussianLaw(cond, uncond, w, eps, false, 16000)
		sm, sv, _ := score.GuidedGaussianLaw(cond, uncond, w, eps, true, 16000)
		copy(u.Tilted[:], tv)
		copy(u.TiltedMean[:], tm)
		copy(u.FlowLaw[:], fv)
		copy(u.FlowMean[:], fm)
		copy(u.SDELaw[:], sv)
		copy(u.SDEMean[:], sm)
		for _, name := range []string{"ode", "em"} {
			smp, _ := sample.New(name)
			x, _, _ := generate(sample.Config{SDE: s, Score: g, Sampler: smp, Eps: eps}, n, seed)
			for j := 0; j < 2; j++ {
				m, v := colMoments(x, 2, j)
				if name == "ode" {
					u.ODESamples[j], u.ODESampleMean[j] = v, m
				} else {
					u.EMSamples[j], u.EMSampleMean[j] = v, m
				}
			}
			if name == "ode" {
				last = x
			}
		}
		lastRow = u
		res.Rows = append(res.Rows, u)
	}
	res.Image = gaussPicture(lastRow, last, n)
	return res
}

// colMoments returns the mean and variance of column j of rows of d.
func colMoments(x []float64, d, j int) (m, v float64) {
	n := len(x) / d
	for i := 0; i < n; i++ {
		m += x[i*d+j]
	}
	m /= float64(n)
	for i := 0; i < n; i++ {
		v += (x[i*d+j] - m) * (x[i*d+j] - m)
	}
	return m, v / float64(n-1)
}

// gaussPicture draws coordinate 0's tilted density and the flow's and the
// SDE's exact laws, with the histogram of the ode samples.
func gaussPicture(u GaussGuidanceRow, x []float64, n int) image.Image {
	p := viz.NewPanel(fmt.Sprintf("Gaussian CFG, w = %g, coordinate 0", u.W), "x0", "density")
	col := make([]float64, n)
	for i := range col {
		col[i] = x[2*i]
	}
	viz.AddHist(p, "ode samples", col, 50, 0)
	xs := make([]float64, 300)
	for i := range xs {
		xs[i] = u.TiltedMean[0] - 1.6 + 3.2*float64(i)/299
	}
	dens := func(m, v float64) []float64 {
		ys := make([]float64, len(xs))
		for i, t := range xs {
			ys[i] = math.Exp(-0.5*(t-m)*(t-m)/v) / math.Sqrt(2*math.Pi*v)
		}
		return ys
	}
	viz.AddLine(p, "tilted p^(1+w) p^(-w)", xs, dens(u.TiltedMean[0], u.Tilted[0]), 1, true)
	viz.AddLine(p, "probability flow's law", xs, dens(u.FlowMean[0], u.FlowLaw[0]), 2, false)
	viz.AddLine(p, "reverse SDE's law", xs, dens(u.SDEMean[0], u.SDELaw[0]), 3, false)
	return viz.Render([][]*plot.Plot{{p}}, 700, 450)
}
