package nb

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/sd15"
)

// SD15Result is the outcome of one Sohl-Dickstein 2015 experiment: the bound K
// computed two ways, the null log-likelihood, the true log-likelihood, all in
// bits, and a picture.
type SD15Result struct {
	Name        string
	T, Steps    int
	KKL, KTraj  sd15.Estimate // K by its KL terms and by forward trajectories
	Null        float64       // L_null, the log-likelihood under the prior alone
	True        sd15.Estimate // the true log-likelihood (exact for the heartbeat, quadrature for the Swiss roll)
	Inpaint     float64       // heartbeat: fraction of hidden bins filled correctly (NaN otherwise)
	TrainTime   time.Duration
	Image       image.Image
	PaperK      float64 // SD15 Table 1
	PaperKMinus float64 // SD15 Table 1: K - L_null
}

// String prints the numbers as a small table.
func (r *SD15Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: T = %d, %d training steps in %v\n", r.Name, r.T, r.Steps, r.TrainTime.Round(time.Millisecond))
	fmt.Fprintf(&b, "K (KL terms)       %v\n", r.KKL)
	fmt.Fprintf(&b, "K (trajectories)   %v\n", r.KTraj)
	fmt.Fprintf(&b, "true log-lik.      %v\n", r.True)
	fmt.Fprintf(&b, "L_null             %.4f bits, K - L_null = %.3f\n", r.Null, r.KKL.Mean-r.Null)
	fmt.Fprintf(&b, "SD15 Table 1       K = %.3f, K - L_null = %.3f\n", r.PaperK, r.PaperKMinus)
	if !math.IsNaN(r.Inpaint) {
		fmt.Fprintf(&b, "inpainting         %.3f of hidden bins right (prior alone: 0.68)\n", r.Inpaint)
	}
	return b.String()
}

// Heartbeat trains SD15's binary heartbeat model (binomial diffusion towards
// B(0.2), three sigmoid layers of 50 units, readouts tied by 10 temporal basis
// functions) with T steps for the given number of optimiser steps, and
// returns K, L_null and the inpainting accuracy with half the bins hidden. The
// picture shows eight held-out sequences: truth, what was observed (red:
// hidden) and the model's fill-in.
func Heartbeat(T, steps int, seed uint64) *SD15Result {
	check(T >= 2 && steps >= 1, "nb: Heartbeat(T = %d, steps = %d): need T >= 2 and steps >= 1", T, steps)
	h := sd15.NewHeartbeat()
	r := rng.New(seed, 0, rng.Data)
	m, err := sd15.NewBinaryModel(discretize.Binomial{T: T, P: h.OnesRate()}, h.Length, 10, r)
	check(err == nil, "nb: %v", err)
	data := func(dst []float64, r *rand.Rand) { h.Sequence(dst, r.IntN(h.Period)) }
	ctx := context.Background()
	start := time.Now()
	err = m.Train(ctx, data, sd15.TrainOptions{Steps: steps, Batch: 64, LR: 3e-3}, r)
	check(err == nil, "nb: %v", err)
	res := &SD15Result{Name: "binary heartbeat", T: T, Steps: steps, TrainTime: time.Since(start), PaperK: -2.414, PaperKMinus: 12.024}
	res.KKL, _ = m.EstimateK(ctx, data, 300, false, r)
	res.KTraj, _ = m.EstimateK(ctx, data, 2000, true, r)
	x := make([]float64, h.Length)
	h.Sequence(x, 0)
	res.Null = m.NullLogLikelihood(x)
	res.True = sd15.Estimate{Mean: h.LogLikelihood(), N: 1}
	res.Inpaint, _ = m.InpaintAccuracy(h, 500, 0.5, r)

	// Picture: 8 examples x (truth, observed, filled), one row of bins each.
	const ex = 8
	rows := make([][]float64, 0, 3*ex)
	w := m.Net.NewWork()
	for e := 0; e < ex; e++ {
		truth := make([]float64, h.Length)
		h.Sequence(truth, e%h.Period)
		known := make([]bool, h.Length)
		obs := make([]float64, h.Length)
		fill := make([]float64, h.Length)
		for j := range known {
			known[j] = r.Float64() >= 0.5
			obs[j] = 0.5
			if known[j] {
				obs[j] = truth[j]
			}
			fill[j] = truth[j]
		}
		m.Inpaint(fill, known, r, w)
		rows = append(rows, truth, obs, fill)
	}
	p := plot.New()
	p.Title.Text = "heartbeat inpainting, 8 examples: truth / observed (red: hidden) / filled"
	p.X.Label.Text = "bin"
	hm := plotter.NewHeatMap(matrix(rows), heatPalette())
	p.Add(hm)
	res.Image = render([][]*plot.Plot{{p}}, 800, 500)
	return res
}

// SwissRollSD15 trains SD15's Gaussian diffusion (T = 40) on the unit-variance
// Swiss roll with noise 0.5 and returns K against L_null and the true
// log-likelihood by quadrature; the picture shows data beside model samples.
func SwissRollSD15(steps int, seed uint64) *SD15Result {
	check(steps >= 1, "nb: SwissRollSD15(steps = %d): need steps >= 1", steps)
	sr := sd15.SwissRoll(0.5)
	r := rng.New(seed, 0, rng.Data)
	m, err := sd15.NewGaussianModel(2, 40, 1e-3, []int{64, 64}, 10, r)
	check(err == nil, "nb: %v", err)
	ctx := context.Background()
	start := time.Now()
	err = m.Train(ctx, sr.Draw, sd15.TrainOptions{Steps: steps, Batch: 256, LR: 1e-2}, r)
	check(err == nil, "nb: %v", err)
	res := &SD15Result{Name: "Swiss roll", T: 40, Steps: steps, TrainTime: time.Since(start), Inpaint: math.NaN(), PaperK: 2.35, PaperKMinus: 6.45}
	res.KKL, _ = m.EstimateK(ctx, sr.Draw, 2000, false, r)
	res.KTraj, _ = m.EstimateK(ctx, sr.Draw, 2000, true, r)
	res.True = sr.ExpectedLogLikelihood(2000, r)
	const n = 1500
	dataXY, modelXY := make([]float64, 2*n), make([]float64, 2*n)
	w := m.Net.NewWork()
	var null float64
	for i := 0; i < n; i++ {
		sr.Draw(dataXY[2*i:2*i+2], r)
		null += m.NullLogLikelihood(dataXY[2*i : 2*i+2])
		m.Sample(modelXY[2*i:2*i+2], r, w, nil)
	}
	res.Null = null / n
	left, right := newPlot("data", "x", "y"), newPlot("SD15 model samples (T = 40)", "x", "y")
	addCloud(left, dataXY, 2, 1)
	addCloud(right, modelXY, 2, 0)
	square(left, 2.5)
	square(right, 2.5)
	res.Image = render([][]*plot.Plot{{left, right}}, 800, 400)
	return res
}

// matrix is a rows x cols grid of values for a heat map, row 0 at the top.
type matrix [][]float64

func (g matrix) Dims() (c, r int)   { return len(g[0]), len(g) }
func (g matrix) Z(c, r int) float64 { return g[len(g)-1-r][c] }
func (g matrix) X(c int) float64    { return float64(c) }
func (g matrix) Y(r int) float64    { return float64(r) }
