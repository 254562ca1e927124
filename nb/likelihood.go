package nb

import (
	"context"
	"fmt"
	"image"
	"math"
	"strings"
	"time"

	"gonum.org/v1/plot"

	"github.com/sdekit/sdekit/likelihood"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
	"github.com/sdekit/sdekit/viz"
)

// HutchinsonRun is one Hutchinson estimator (probe distribution and number K
// of probes per point) compared point by point with the exact trace.
type HutchinsonRun struct {
	Probe string // "rademacher" or "gaussian"
	K     int    // probes per point, sharing one solve
	// Bias is the mean over points of (log p Hutchinson - log p exact trace)
	// and BiasSE its standard error; the estimator is unbiased, so
	// |Bias| is a few BiasSE at most.
	Bias, BiasSE float64
	// Std is the standard deviation over points of that difference (nats):
	// the spread a single point's estimate has. It falls like 1/sqrt(K).
	Std float64
	// MeanNFE is the mean number of evaluations of the augmented field per point.
	MeanNFE float64
	Seconds float64
	Err     []float64 // per point: log p Hutchinson - log p exact trace
}

// LikelihoodResult is what Likelihood returns.
type LikelihoodResult struct {
	Problem, SDE string
	D, N         int
	Eps          float64
	// Oracle is the exact log p_eps(x) of the mixture at each point; Exact is
	// the probability-flow ODE estimate with the exact trace.
	Oracle, Exact []float64
	// MaxAbsErr is max |Exact - Oracle| (nats), the error of the ODE solve.
	MaxAbsErr float64
	// BPDOracle and BPDExact are the mean bits/dim, -log p/(D ln 2), of the
	// points (continuous data: no quantisation offset), and BPDSE the
	// standard error of the mean over points.
	BPDOracle, BPDExact, BPDSE float64
	// NFE per point of the exact-trace run, and its mean, min and max.
	NFE                    []int
	MeanNFE                float64
	MinNFE, MaxNFE         int
	ExactSeconds           float64
	Hutchinson             []HutchinsonRun
	ProbeCounts            []int
	ImageCheck, ImageProbe image.Image
}

// String prints the comparison.
func (r *LikelihoodResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (D = %d) under %s, %d points from p_0, eps = %g, dopri5 rtol = atol = 1e-5\n", r.Problem, r.D, label(r.SDE), r.N, r.Eps)
	fmt.Fprintf(&b, "exact trace: max |log p_ODE - log p_eps| = %.3g nats; NFE per point mean %.1f, min %d, max %d (%.2f s)\n",
		r.MaxAbsErr, r.MeanNFE, r.MinNFE, r.MaxNFE, r.ExactSeconds)
	fmt.Fprintf(&b, "bits/dim = -log p/(D ln 2): oracle %.4f, ODE %.4f (+- %.3f over points)\n", r.BPDOracle, r.BPDExact, r.BPDSE)
	fmt.Fprintf(&b, "%-11s %3s %12s %10s %12s %9s\n", "probe", "K", "bias (nats)", "bias SE", "std (nats)", "mean NFE")
	for _, h := range r.Hutchinson {
		fmt.Fprintf(&b, "%-11s %3d %12.3g %10.3g %12.3g %9.1f\n", h.Probe, h.K, h.Bias, h.BiasSE, h.Std, h.MeanNFE)
	}
	return b.String()
}

// Hutch returns the Hutchinson run of a probe and K, or nil.
func (r *LikelihoodResult) Hutch(probe string, k int) *HutchinsonRun {
	for i := range r.Hutchinson {
		if r.Hutchinson[i].Probe == probe && r.Hutchinson[i].K == k {
			return &r.Hutchinson[i]
		}
	}
	return nil
}

// evaluate runs likelihood.Evaluate on all points and panics on an error.
func evaluate(cfg likelihood.Config, seed uint64, x []float64) ([]likelihood.Point, time.Duration) {
	t0 := time.Now()
	pts, err := likelihood.Evaluate(context.Background(), cfg, seed, x, nil, nil)
	if err != nil {
		panic(fmt.Sprintf("nb: likelihood (%s): %v", cfg.Probe, err))
	}
	return pts, time.Since(t0)
}

// Likelihood draws n points from p_0 of a reference problem ("gmm8",
// "gauss:D"), computes log p_eps by the probability-flow ODE (dopri5, rtol =
// atol = 1e-5, eps = 1e-5) with the exact trace and with Hutchinson
// estimators (Rademacher and Gaussian probes, K = 1, 4 and 16 probes per
// point), and compares them with the mixture's exact log p_eps. ImageCheck
// shows ODE against oracle and the NFE per point; ImageProbe the Hutchinson
// errors and their spread against K.
func Likelihood(problem, sdeName string, n int, seed uint64) *LikelihoodResult {
	check(n >= 2, "Likelihood needs n >= 2")
	s := mustSDE(sdeName)
	m := mustProblem(problem, s)
	d := m.Dim()
	x := drawData(m, n, seed)
	res := &LikelihoodResult{Problem: problem, SDE: sdeName, D: d, N: n, Eps: likelihood.DefaultEps, ProbeCounts: []int{1, 4, 16}}

	res.Oracle = make([]float64, n)
	for i := range res.Oracle {
		res.Oracle[i] = m.LogProb(x[i*d:(i+1)*d], res.Eps)
	}
	base := likelihood.Config{SDE: s, Score: m}
	cfg := base
	cfg.Probe = "exact"
	pts, el := evaluate(cfg, seed, x)
	res.ExactSeconds = el.Seconds()
	res.Exact = make([]float64, n)
	res.NFE = make([]int, n)
	res.MinNFE = math.MaxInt
	bo, be := make([]float64, n), make([]float64, n)
	scale := float64(d) * math.Ln2
	for i, p := range pts {
		res.Exact[i] = p.LogP
		res.NFE[i] = p.NFE
		res.MeanNFE += float64(p.NFE) / float64(n)
		res.MinNFE, res.MaxNFE = min(res.MinNFE, p.NFE), max(res.MaxNFE, p.NFE)
		res.MaxAbsErr = math.Max(res.MaxAbsErr, math.Abs(p.LogP-res.Oracle[i]))
		bo[i], be[i] = -res.Oracle[i]/scale, -p.LogP/scale
	}
	res.BPDOracle, _ = meanSE(bo)
	res.BPDExact, res.BPDSE = meanSE(be)

	for _, probe := range []string{"rademacher", "gaussian"} {
		for _, k := range res.ProbeCounts {
			cfg := base
			cfg.Probe, cfg.Probes = probe, k
			pts, el := evaluate(cfg, seed, x)
			h := HutchinsonRun{Probe: probe, K: k, Seconds: el.Seconds(), Err: make([]float64, n)}
			for i, p := range pts {
				h.Err[i] = p.LogP - res.Exact[i]
				h.MeanNFE += float64(p.NFE) / float64(n)
			}
			h.Bias, h.BiasSE = meanSE(h.Err)
			h.Std = h.BiasSE * math.Sqrt(float64(n))
			res.Hutchinson = append(res.Hutchinson, h)
		}
	}
	res.ImageCheck = res.checkImage()
	res.ImageProbe = res.probeImage()
	return res
}

func (r *LikelihoodResult) checkImage() image.Image {
	p1 := viz.NewPanel(fmt.Sprintf("%s, %s: error of the ODE log p_eps", r.Problem, label(r.SDE)), "exact log p_eps(x) (mixture oracle)", "log p_ODE - log p_eps (nats)")
	diff := make([]float64, len(r.Oracle))
	for i := range diff {
		diff[i] = r.Exact[i] - r.Oracle[i]
	}
	viz.AddPoints(p1, "", r.Oracle, diff, 0, 1.5)
	p2 := viz.NewPanel("evaluations per point (exact trace)", "NFE", "fraction")
	nfe := make([]float64, len(r.NFE))
	for i, v := range r.NFE {
		nfe[i] = float64(v)
	}
	viz.AddHist(p2, "", nfe, intBins(r.NFE), 0)
	return viz.Render([][]*plot.Plot{{p1, p2}}, 760, 340)
}

// intBins returns a number of histogram bins that puts each distinct value of
// v (integers on a lattice, such as NFE counts) in its own bin.
func intBins(v []int) int {
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	g := 0
	for _, x := range v {
		g = gcd(g, x-lo)
	}
	if g == 0 {
		return 1
	}
	return min((hi-lo)/g+1, 60)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (r *LikelihoodResult) probeImage() image.Image {
	p1 := viz.NewPanel("Hutchinson error, K = 1", "log p Hutchinson - log p exact trace (nats)", "density")
	for k, probe := range []string{"rademacher", "gaussian"} {
		if h := r.Hutch(probe, 1); h != nil {
			viz.AddHist(p1, fmt.Sprintf("%s (std %.3g)", probe, h.Std), h.Err, 30, k)
		}
	}
	p1.Legend.Top = true
	p2 := viz.NewPanel("spread of the estimate", "probes per point K", "std over points (nats)")
	viz.LogX(p2)
	viz.LogY(p2)
	for k, probe := range []string{"rademacher", "gaussian"} {
		var x, y []float64
		for _, h := range r.Hutchinson {
			if h.Probe == probe {
				x = append(x, float64(h.K))
				y = append(y, h.Std)
			}
		}
		viz.AddLine(p2, "", x, y, k, false)
		viz.AddPoints(p2, probe, x, y, k, 3)
		if probe == "gaussian" && len(y) > 0 {
			ref := make([]float64, len(x))
			for i := range x {
				ref[i] = y[0] / math.Sqrt(x[i]/x[0])
			}
			viz.AddLine(p2, "1/sqrt(K)", x, ref, 6, true)
		}
	}
	p2.Legend.Top = true
	return viz.Render([][]*plot.Plot{{p1, p2}}, 760, 340)
}

// compile-time checks that the oracle has what the likelihood needs.
var (
	_ likelihood.VJPScore   = (*score.Mixture)(nil)
	_ likelihood.TraceScore = (*score.Mixture)(nil)
	_ sde.Score             = (*score.Mixture)(nil)
)
