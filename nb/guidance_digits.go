package nb

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
	"github.com/sdekit/sdekit/viz"
)

// DigitsGuidanceOptions are the settings of DigitsGuidance; the zero value
// of a field selects the default written next to it. The defaults are a
// notebook's budget (tens of seconds on two cores); docs/guidance.md has the
// full-budget runs (a 256 x 3 network for 30000 steps).
type DigitsGuidanceOptions struct {
	// The conditional score network (VP, label dropout for classifier-free guidance).
	Hidden       []int   // MLP widths, default 256, 256, 256
	Steps        int     // optimiser steps, default 3000
	Batch        int     // rows per step, default 128
	LR           float64 // Adam learning rate, default 1e-3 (100 warm-up steps)
	EMA          float64 // EMA decay of the sampling weights, default 0.99
	LabelDropout float64 // probability of the null label, default 0.1
	Precision    string  // "float32" (default) or "float64"

	// The clean classifier that judges the samples (x_0 only, t = 0).
	ClassifierHidden []int // default 128, 128
	ClassifierSteps  int   // default 1000
	ClassifierBatch  int   // default 128

	// Classifier guidance: a noise-conditional classifier (trained on x_t
	// at t ~ U(eps, 1) under VP) guides the network's unconditional score,
	// s(x) + gamma grad log p_t(k | x), at each scale gamma, with the last
	// sampler. NoisyClassifierSteps < 0 leaves it out.
	NoisyClassifierHidden []int     // default 128, 128
	NoisyClassifierSteps  int       // default 3000
	Scales                []float64 // gamma, default 1, 2, 4

	// Sampling.
	Weights      []float64 // guidance weights w, default 0, 1, 2, 4
	PerClass     int       // samples per digit and weight, default 20
	Samplers     []string  // sampler specs (see samplerConfig), default "dpmpp-2m", "em"
	SamplerSteps []int     // their step counts, default 25, 100
	Seed         uint64    // default 1
}

func (o DigitsGuidanceOptions) withDefaults() DigitsGuidanceOptions {
	if len(o.Hidden) == 0 {
		o.Hidden = []int{256, 256, 256}
	}
	if o.Steps == 0 {
		o.Steps = 3000
	}
	if o.Batch == 0 {
		o.Batch = 128
	}
	if o.LR == 0 {
		o.LR = 1e-3
	}
	if o.EMA == 0 {
		o.EMA = 0.99
	}
	if o.LabelDropout == 0 {
		o.LabelDropout = 0.1
	}
	if o.Precision == "" {
		o.Precision = model.Float32
	}
	if len(o.ClassifierHidden) == 0 {
		o.ClassifierHidden = []int{128, 128}
	}
	if o.ClassifierSteps == 0 {
		o.ClassifierSteps = 1000
	}
	if o.ClassifierBatch == 0 {
		o.ClassifierBatch = 128
	}
	if len(o.NoisyClassifierHidden) == 0 {
		o.NoisyClassifierHidden = []int{128, 128}
	}
	if o.NoisyClassifierSteps == 0 {
		o.NoisyClassifierSteps = 3000
	}
	if len(o.Scales) == 0 {
		o.Scales = []float64{1, 2, 4}
	}
	if len(o.Weights) == 0 {
		o.Weights = []float64{0, 1, 2, 4}
	}
	if o.PerClass == 0 {
		o.PerClass = 20
	}
	if len(o.Samplers) == 0 {
		o.Samplers = []string{"dpmpp-2m", "em"}
		if len(o.SamplerSteps) == 0 {
			o.SamplerSteps = []int{25, 100}
		}
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o
}

// DigitsGuidanceRun is the classifier's verdict on the samples of one
// sampler and weight.
type DigitsGuidanceRun struct {
	Sampler  string
	Steps    int
	Mode     string // "cfg" (weight W) or "classifier" (noise-conditional classifier, scale W)
	W        float64
	PerClass [10]float64 // share of digit k's samples the classifier calls k
	Mean     float64     // mean of PerClass
	NFE      float64     // guided-score evaluations per sample (each is two network passes: s(x | k) and s(x))
	X        []float64   `json:"-"` // PerClass samples of digit 0, then of 1, ..., clipped to [-1, 1]
}

// DigitsGuidanceResult is what DigitsGuidance measured.
type DigitsGuidanceResult struct {
	Options           DigitsGuidanceOptions
	Params            int     // trainable parameters of the conditional network
	FinalLoss         float64 // mean batch loss of the last 5 % of steps
	TrainSeconds      float64
	ClassifierSeconds float64
	SampleSeconds     float64
	// NoisyClassifierSeconds is the noise-conditional classifier's training
	// time, NoisyHeldOut its accuracy on digits-test at t = eps (NaN
	// without classifier guidance).
	NoisyClassifierSeconds float64
	NoisyHeldOut           float64
	// HeldOut is the clean classifier's accuracy on digits-test (359 images
	// never trained on), HeldOutPerClass its per-digit accuracy.
	HeldOut         float64
	HeldOutPerClass [10]float64
	Runs            []DigitsGuidanceRun
	// Image has one panel per weight: a row per digit, PerClass samples
	// (at most 10 shown) across, ink black on white.
	Image image.Image
}

// Run returns the run of a sampler, mode ("cfg" or "classifier") and
// weight or scale (nil if none).
func (r *DigitsGuidanceResult) Run(sampler, mode string, w float64) *DigitsGuidanceRun {
	for i := range r.Runs {
		if u := r.Runs[i]; u.Sampler == sampler && u.Mode == mode && u.W == w {
			return &r.Runs[i]
		}
	}
	return nil
}

func (r *DigitsGuidanceResult) String() string {
	o := r.Options
	var b strings.Builder
	fmt.Fprintf(&b, "conditional MLP %v (%s, %d parameters), %d steps of %d, lr %g, EMA %g, label dropout %g: %.1f s, final loss %.4g\n",
		o.Hidden, o.Precision, r.Params, o.Steps, o.Batch, o.LR, o.EMA, o.LabelDropout, r.TrainSeconds, r.FinalLoss)
	fmt.Fprintf(&b, "clean classifier %v, %d steps of %d: %.1f s; held-out accuracy on digits-test %.4f\n",
		o.ClassifierHidden, o.ClassifierSteps, o.ClassifierBatch, r.ClassifierSeconds, r.HeldOut)
	fmt.Fprintf(&b, "%d samples per digit, clipped to [-1, 1], classified: the share called the intended digit (%.1f s)\n", o.PerClass, r.SampleSeconds)
	if o.NoisyClassifierSteps > 0 {
		fmt.Fprintf(&b, "noise-conditional classifier %v, %d steps of %d: %.1f s; held-out accuracy at t = %g %.4f\n",
			o.NoisyClassifierHidden, o.NoisyClassifierSteps, o.ClassifierBatch, r.NoisyClassifierSeconds, trainEps, r.NoisyHeldOut)
	}
	fmt.Fprintf(&b, "%-10s %-10s %4s %5s", "sampler", "guidance", "w", "NFE")
	for k := 0; k < 10; k++ {
		fmt.Fprintf(&b, " %5d", k)
	}
	fmt.Fprintf(&b, " %6s\n", "mean")
	for _, u := range r.Runs {
		mode := "CFG w"
		if u.Mode == "classifier" {
			mode = "cls gamma"
		}
		fmt.Fprintf(&b, "%-10s %-10s %4g %5.0f", u.Sampler, mode, u.W, u.NFE)
		for _, a := range u.PerClass {
			fmt.Fprintf(&b, " %5.2f", a)
		}
		fmt.Fprintf(&b, " %6.3f\n", u.Mean)
	}
	return b.String()
}

// DigitsGuidance trains a conditional MLP score on digits-train under VP
// with label dropout (one network for s(x | k) and s(x), Ho & Salimans
// 2022), trains a clean classifier on digits-train and measures it on
// digits-test, then samples PerClass images of each digit at each guidance
// weight w with classifier-free guidance, (1 + w) s(x | k) - w s(x)
// (score.NewCFG), clips them to the data range and reports the share the
// classifier assigns to the intended digit. Digit k's samples use the rows
// 0..PerClass-1 of seed Seed + k at every weight, so a column of the
// picture is one starting point guided more and more. Unless
// NoisyClassifierSteps < 0 it then trains a noise-conditional classifier
// and samples with classifier guidance of the network's unconditional
// score, s(x) + gamma grad log p_t(k | x) (score.NewClassifierGuided, Dhariwal
// & Nichol 2021), judged by the same clean classifier.
func DigitsGuidance(opt DigitsGuidanceOptions) *DigitsGuidanceResult {
	opt = opt.withDefaults()
	check(len(opt.Samplers) == len(opt.SamplerSteps), "DigitsGuidance: %d samplers but %d step counts", len(opt.Samplers), len(opt.SamplerSteps))
	check(opt.PerClass >= 1 && opt.Steps >= 1 && opt.ClassifierSteps >= 1, "DigitsGuidance needs PerClass, Steps and ClassifierSteps >= 1")
	check(opt.LabelDropout > 0 && opt.LabelDropout < 1, "DigitsGuidance: LabelDropout %v must lie in (0, 1): guidance needs the unconditional score", opt.LabelDropout)
	train, err := data.ByName("digits-train")
	check(err == nil, "%v", err)
	res := &DigitsGuidanceResult{Options: opt, NoisyHeldOut: math.NaN()}

	// The conditional score network.
	s := mustSDE("vp")
	net, err := model.NewTrainable(model.Config{Dim: data.DigitsDim, Hidden: opt.Hidden, FourierScale: 1,
		Precision: opt.Precision, Classes: 10, Seed: opt.Seed})
	check(err == nil, "%v", err)
	tr, err := score.NewTrainer(score.TrainConfig{SDE: s, Data: train, Model: net, LabelDropout: opt.LabelDropout,
		Steps: opt.Steps, Batch: opt.Batch, LR: opt.LR, EMA: opt.EMA, Seed: opt.Seed, Warmup: min(100, opt.Steps/10)})
	check(err == nil, "%v", err)
	res.Params = tr.Model().NumParams()
	var losses []float64
	t0 := time.Now()
	err = tr.Run(context.Background(), func(p score.TrainProgress) error {
		losses = append(losses, p.Loss)
		return nil
	})
	res.TrainSeconds = time.Since(t0).Seconds()
	check(err == nil, "training: %v", err)
	res.FinalLoss, _ = meanSE(losses[len(losses)-max(1, len(losses)/20):])
	ln, err := tr.LabeledScore()
	check(err == nil, "%v", err)

	// The clean classifier and its held-out accuracy.
	cls, secs := trainDigitsClassifier(train.(data.LabeledSource), nil, opt.ClassifierHidden, opt.ClassifierSteps, opt.ClassifierBatch, opt.Seed)
	res.ClassifierSeconds = secs
	test, err := data.DigitsSource{Scaling: data.DigitsSymmetric, Split: data.DigitsTest}.Table()
	check(err == nil, "%v", err)
	res.HeldOut, res.HeldOutPerClass = classAccuracy(cls, 0, test.X, test.Labels)

	// Guided samples of each digit at each weight.
	t0 = time.Now()
	for si, spec := range opt.Samplers {
		for _, w := range opt.Weights {
			cfg := func(k int) (sde.Score, error) { return score.NewCFG(ln, k, w) }
			u := guidedDigits(s, cfg, cls, spec, opt.SamplerSteps[si], opt)
			u.Mode, u.W = "cfg", w
			res.Runs = append(res.Runs, u)
		}
	}
	res.SampleSeconds = time.Since(t0).Seconds()

	// Classifier guidance of the unconditional score s(x) (the null label).
	if opt.NoisyClassifierSteps > 0 {
		noisy, secs := trainDigitsClassifier(train.(data.LabeledSource), s, opt.NoisyClassifierHidden, opt.NoisyClassifierSteps, opt.ClassifierBatch, opt.Seed)
		res.NoisyClassifierSeconds = secs
		res.NoisyHeldOut, _ = classAccuracy(noisy, trainEps, test.X, test.Labels)
		grad := score.NewClassifierGrad(noisy, score.ClassifierMeta{Format: 1, Data: "digits-train"})
		last := len(opt.Samplers) - 1
		t0 = time.Now()
		for _, gamma := range opt.Scales {
			cg := func(k int) (sde.Score, error) { return score.NewClassifierGuided(ln, grad, k, gamma) }
			u := guidedDigits(s, cg, cls, opt.Samplers[last], opt.SamplerSteps[last], opt)
			u.Mode, u.W = "classifier", gamma
			res.Runs = append(res.Runs, u)
		}
		res.SampleSeconds += time.Since(t0).Seconds()
	}
	res.Image = res.picture()
	return res
}

// trainEps is the smallest time the noise-conditional classifier was
// trained at (score.DefaultTrainEps): its held-out accuracy on clean images
// is measured there.
const trainEps = score.DefaultTrainEps

// guidedDigits samples opt.PerClass images of each digit k with the score
// guide(k) and the sampler, clips them to [-1, 1] and classifies them with
// cls.
func guidedDigits(s sde.SDE, guide func(k int) (sde.Score, error), cls *model.Classifier, spec string, steps int, opt DigitsGuidanceOptions) DigitsGuidanceRun {
	u := DigitsGuidanceRun{Sampler: spec, Steps: steps, X: make([]float64, 0, 10*opt.PerClass*data.DigitsDim)}
	labels := make([]int, 0, 10*opt.PerClass)
	for k := 0; k < 10; k++ {
		g, err := guide(k)
		check(err == nil, "%v", err)
		x, nfe, _ := generate(samplerConfig(spec, s, g, steps), opt.PerClass, opt.Seed+uint64(k))
		for i, v := range x {
			x[i] = math.Max(-1, math.Min(1, v))
		}
		u.X = append(u.X, x...)
		u.NFE += nfe / 10
		for i := 0; i < opt.PerClass; i++ {
			labels = append(labels, k)
		}
	}
	_, u.PerClass = classAccuracy(cls, 0, u.X, labels)
	for _, a := range u.PerClass {
		u.Mean += a / 10
	}
	return u
}

// trainDigitsClassifier trains a classifier of the given widths on src:
// clean (x_0 at t = 0) when s is nil, else noise-conditional on x_t under
// s (no EMA). It returns the classifier and the training time.
func trainDigitsClassifier(src data.LabeledSource, s sde.SDE, hidden []int, steps, batch int, seed uint64) (*model.Classifier, float64) {
	c, err := model.NewClassifier(model.ClassifierConfig{Dim: data.DigitsDim, Classes: 10, Hidden: hidden,
		FourierScale: 1, Seed: seed})
	check(err == nil, "%v", err)
	ct, err := score.NewClassifierTrainer(score.ClassifierTrainConfig{SDE: s, Clean: s == nil, Data: src, Model: c,
		Steps: steps, Batch: batch, LR: score.DefaultClassifierLR, Seed: seed})
	check(err == nil, "%v", err)
	t0 := time.Now()
	err = ct.Run(context.Background(), nil)
	check(err == nil, "classifier training: %v", err)
	return ct.Inference(), time.Since(t0).Seconds()
}

// classAccuracy classifies the rows of x at time t (0 for a clean
// classifier) and returns the overall accuracy against labels and the
// accuracy within each digit (NaN for a digit with no rows).
func classAccuracy(c *model.Classifier, t float64, x []float64, labels []int) (all float64, per [10]float64) {
	n := len(labels)
	pred := make([]int, n)
	ts := make([]float64, n)
	for i := range ts {
		ts[i] = t
	}
	c.Predict(pred, x, ts)
	var hit, cnt [10]int
	right := 0
	for i, p := range pred {
		cnt[labels[i]]++
		if p == labels[i] {
			hit[labels[i]]++
			right++
		}
	}
	for k := range per {
		per[k] = math.NaN()
		if cnt[k] > 0 {
			per[k] = float64(hit[k]) / float64(cnt[k])
		}
	}
	return float64(right) / float64(n), per
}

// digitPad is the grey of the lines between digits: darker than the white
// background (-1) so that neighbouring images stay apart.
const digitPad = 170

// picture draws a row of panels per sampler, a panel per weight, and a
// last row for classifier guidance.
func (r *DigitsGuidanceResult) picture() image.Image {
	cols := min(r.Options.PerClass, 10)
	panel := func(u *DigitsGuidanceRun) *plot.Plot {
		title := fmt.Sprintf("%s, CFG w = %g: %.0f %%", u.Sampler, u.W, 100*u.Mean)
		if u.Mode == "classifier" {
			title = fmt.Sprintf("%s, classifier gamma = %g: %.0f %%", u.Sampler, u.W, 100*u.Mean)
		}
		p := viz.NewPanel(title, "", "")
		img := digitRows(u.X, r.Options.PerClass, cols, 3)
		b := img.Bounds()
		p.Add(plotter.NewImage(img, 0, 0, float64(b.Dx()), float64(b.Dy())))
		p.HideAxes()
		return p
	}
	var grid [][]*plot.Plot
	for _, spec := range r.Options.Samplers {
		var line []*plot.Plot
		for _, w := range r.Options.Weights {
			line = append(line, panel(r.Run(spec, "cfg", w)))
		}
		grid = append(grid, line)
	}
	ncol := len(r.Options.Weights)
	if r.Options.NoisyClassifierSteps > 0 {
		ncol = max(ncol, len(r.Options.Scales))
		line := make([]*plot.Plot, ncol)
		for i, g := range r.Options.Scales {
			line[i] = panel(r.Run(r.Options.Samplers[len(r.Options.Samplers)-1], "classifier", g))
		}
		grid = append(grid, line)
	}
	for i := range grid {
		for len(grid[i]) < ncol {
			grid[i] = append(grid[i], nil)
		}
	}
	return viz.Render(grid, 260*ncol, 290*len(grid))
}

// digitRows draws 8 x 8 images in [-1, 1] (pixel -1 white, 1 black, the
// level 127.5 (1 - v) rounded): rows of per images each (one row per
// digit), the first cols of each row, every pixel a scale x scale block, a
// grey (digitPad) line of one pixel around and between the images.
func digitRows(x []float64, per, cols, scale int) image.Image {
	const side = 8
	d := side * side
	rows := len(x) / (per * d)
	cell := side*scale + 1
	img := image.NewGray(image.Rect(0, 0, cols*cell+1, rows*cell+1))
	for i := range img.Pix {
		img.Pix[i] = digitPad
	}
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			im := x[(r*per+c)*d : (r*per+c+1)*d]
			for py := 0; py < side; py++ {
				for px := 0; px < side; px++ {
					v := math.Max(-1, math.Min(1, im[py*side+px]))
					g := color.Gray{Y: uint8(math.Round(127.5 * (1 - v)))}
					for dy := 0; dy < scale; dy++ {
						for dx := 0; dx < scale; dx++ {
							img.SetGray(1+c*cell+px*scale+dx, 1+r*cell+py*scale+dy, g)
						}
					}
				}
			}
		}
	}
	return img
}
