package score

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/likelihood"
	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/sde"
)

// resumeCases cover both precisions, every loss and the optimiser options
// that carry state (warm-up, clipping, EMA).
func resumeCases() []TrainConfig {
	small := func(prec string) model.Trainable {
		c := tinyConfig(prec)
		c.Hidden = []int{16, 16}
		return mustMLP(c)
	}
	return []TrainConfig{
		{SDE: sde.NewVP(), Model: small(model.Float64), EMA: 0.99, Warmup: 7, ClipNorm: 1},
		{SDE: sde.NewVP(), Model: small(model.Float32), EMA: 0.9},
		{SDE: sde.NewSubVP(), Model: small(model.Float64), Loss: LossConfig{Weighting: WeightLikelihood}, ClipNorm: 0.5},
		{SDE: sde.NewVE(), Model: small(model.Float64), Param: ParamScore, EMA: 0.99},
		{SDE: sde.NewVP(), Model: small(model.Float64), Loss: LossConfig{Kind: LossDDPM}, EMA: 0.99},
		{SDE: sde.NewVE(), Model: small(model.Float32), Loss: LossConfig{Kind: LossSMLD}, EMA: 0.99},
	}
}

func caseName(c TrainConfig) string {
	l := c.Loss.WithDefaults()
	prec := model.Float64
	if _, ok := c.Model.(*model.MLP32); ok {
		prec = model.Float32
	}
	return fmt.Sprintf("%s/%s/%s-%s/%s", c.SDE.Name(), c.Param, l.Kind, l.Weighting, prec)
}

func mustTrainer(t *testing.T, cfg TrainConfig) *Trainer {
	t.Helper()
	tr, err := NewTrainer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func sameBits(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
			t.Fatalf("%s[%d] = %v, want %v (bit for bit)", what, i, got[i], want[i])
		}
	}
}

// sameState compares two checkpoints field by field, bit for bit.
func sameState(t *testing.T, got, want *model.Checkpoint) {
	t.Helper()
	if got.Step != want.Step {
		t.Fatalf("step %d, want %d", got.Step, want.Step)
	}
	sameBits(t, "params", got.Params, want.Params)
	sameBits(t, "buffers", got.Buffers, want.Buffers)
	if (got.Adam == nil) != (want.Adam == nil) || (got.EMA == nil) != (want.EMA == nil) {
		t.Fatalf("optimiser or EMA present in one checkpoint only")
	}
	if a, b := got.Adam, want.Adam; a != nil {
		if a.T != b.T || a.LR != b.LR || a.Warmup != b.Warmup || a.ClipNorm != b.ClipNorm {
			t.Fatalf("Adam %+v, want %+v", a, b)
		}
		sameBits(t, "Adam M", a.M, b.M)
		sameBits(t, "Adam V", a.V, b.V)
	}
	if a, b := got.EMA, want.EMA; a != nil {
		if a.NumUpdates != b.NumUpdates || a.Decay != b.Decay {
			t.Fatalf("EMA %d updates decay %v, want %d, %v", a.NumUpdates, a.Decay, b.NumUpdates, b.Decay)
		}
		sameBits(t, "EMA shadow", a.Shadow, b.Shadow)
	}
	if got.Meta[MetaKey] != want.Meta[MetaKey] {
		t.Fatalf("metadata %s, want %s", got.Meta[MetaKey], want.Meta[MetaKey])
	}
}

// TestResumeBitExact trains N = 30 steps without interruption, and again
// with a checkpoint written every 10 steps and a simulated crash at step 17;
// resuming from the file (step 10) and training to N gives bit for bit the
// parameters, Adam moments and EMA of the uninterrupted run.
func TestResumeBitExact(t *testing.T) {
	const n = 30
	for _, base := range resumeCases() {
		base.Data, base.Steps, base.Batch, base.Seed, base.LR = data.GMM8{}, n, 16, 42, 1e-2
		t.Run(caseName(base), func(t *testing.T) {
			whole := mustTrainer(t, base)
			if err := whole.Run(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			want, err := whole.Checkpoint()
			if err != nil {
				t.Fatal(err)
			}

			path := filepath.Join(t.TempDir(), "run.ckpt")
			cfg := base
			cfg.CheckpointEvery, cfg.CheckpointPath = 10, path
			crash := errors.New("crash")
			err = mustTrainer(t, cfg).Run(context.Background(), func(p TrainProgress) error {
				if p.Step == 17 {
					return crash
				}
				return nil
			})
			if !errors.Is(err, crash) {
				t.Fatalf("Run = %v, want the progress callback's error", err)
			}
			ck, err := model.LoadCheckpoint(path)
			if err != nil {
				t.Fatal(err)
			}
			if ck.Step != 10 {
				t.Fatalf("checkpoint at step %d, want 10", ck.Step)
			}
			cfg.Data = data.GMM8{} // a fresh source object is fine
			resumed, err := ResumeTrainer(cfg, ck)
			if err != nil {
				t.Fatal(err)
			}
			if err := resumed.Run(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			got, err := resumed.Checkpoint()
			if err != nil {
				t.Fatal(err)
			}
			sameState(t, got, want)
		})
	}
}

// TestCheckpointRoundTrip saves a trainer's state and loads it back: every
// field is bit-identical, and the loaded score is the trainer's.
func TestCheckpointRoundTrip(t *testing.T) {
	for _, base := range resumeCases() {
		base.Data, base.Steps, base.Batch, base.Seed = data.GMM8{}, 5, 8, 3
		t.Run(caseName(base), func(t *testing.T) {
			tr := mustTrainer(t, base)
			if err := tr.Run(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "m.ckpt")
			if err := tr.Save(path); err != nil {
				t.Fatal(err)
			}
			got, err := model.LoadCheckpoint(path)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := tr.Checkpoint()
			sameState(t, got, want)
			meta, err := ReadMeta(got)
			if err != nil {
				t.Fatal(err)
			}
			if meta.Data != "gmm8" || meta.Seed != 3 || meta.Batch != 8 || !sameSDE(meta.SDE, mustSpec(t, base.SDE)) {
				t.Errorf("metadata %+v", meta)
			}
			a, err := LoadNet(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := tr.Score()
			x, tt := []float64{1, 2, -3, 0.5, 0, 0}, []float64{0.01, 0.5, 1}
			sa, sb := make([]float64, 6), make([]float64, 6)
			a.ScoreTo(sa, x, tt)
			b.ScoreTo(sb, x, tt)
			sameBits(t, "score", sa, sb)
		})
	}
}

func TestResumeMismatch(t *testing.T) {
	base := TrainConfig{SDE: sde.NewVP(), Data: data.GMM8{}, Model: tinyMLP(model.Float64), Steps: 4, Batch: 8, EMA: 0.9, Seed: 1}
	tr := mustTrainer(t, base)
	if err := tr.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	ck, _ := tr.Checkpoint()
	change := []struct {
		edit func(*TrainConfig)
		want string
	}{
		{func(c *TrainConfig) { c.Seed = 2 }, "the seed is 1 in the checkpoint but 2 now"},
		{func(c *TrainConfig) { c.LR = 1e-3 }, "learning rate"},
		{func(c *TrainConfig) { c.Batch = 16 }, "batch size"},
		{func(c *TrainConfig) { c.EMA = 0.99 }, "EMA decay"},
		{func(c *TrainConfig) { c.SDE = sde.NewSubVP() }, "the SDE"},
		{func(c *TrainConfig) { c.Param = ParamSigma }, "parameterisation"},
		{func(c *TrainConfig) { c.Loss.Weighting = WeightLikelihood }, "the loss"},
		{func(c *TrainConfig) { c.Data = data.NewMoons() }, "the data is gmm8 in the checkpoint but moons now"},
		{func(c *TrainConfig) {
			m := tinyConfig(model.Float64)
			m.Hidden = []int{5, 5}
			c.Model = mustMLP(m)
		}, "the network is mlp"},
		{func(c *TrainConfig) { c.Model = tinyMLP(model.Float32) }, `"precision":"float32"`},
		{func(c *TrainConfig) { c.Steps = 3 }, "beyond Steps = 3"},
	}
	for _, c := range change {
		cfg := base
		c.edit(&cfg)
		_, err := ResumeTrainer(cfg, ck)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ResumeTrainer: %v; want an error containing %q", err, c.want)
		}
	}
	// Steps may grow.
	cfg := base
	cfg.Steps = 8
	if _, err := ResumeTrainer(cfg, ck); err != nil {
		t.Errorf("resume with more steps: %v", err)
	}
}

// nanSource is gmm8 that writes a NaN into its k-th batch (1-based).
type nanSource struct {
	data.GMM8
	k, calls int
}

func (s *nanSource) Sample(dst []float64, n int, r *rand.Rand) {
	s.GMM8.Sample(dst, n, r)
	if s.calls++; s.calls == s.k {
		dst[3] = math.NaN()
	}
}

func TestNonFinite(t *testing.T) {
	src := &nanSource{k: 6}
	tr := mustTrainer(t, TrainConfig{SDE: sde.NewVP(), Data: src, Model: tinyMLP(model.Float64), Steps: 10, Batch: 8, Seed: 1})
	err := tr.Run(context.Background(), nil)
	var nf *NonFiniteError
	if !errors.As(err, &nf) || nf.Step != 6 || nf.What != "loss" {
		t.Fatalf("Run = %v; want a NonFiniteError at step 6", err)
	}
	if tr.Step() != 5 {
		t.Errorf("after the failure Step() = %d, want 5", tr.Step())
	}
	if !strings.Contains(err.Error(), "step 6: loss is NaN") {
		t.Errorf("message %q", err)
	}
	// A diverging learning rate is caught too, whichever comes first.
	tr = mustTrainer(t, TrainConfig{SDE: sde.NewVE(), Param: ParamScore, Data: data.GMM8{}, Model: tinyMLP(model.Float64), Steps: 2000, Batch: 8, LR: 1e200, Seed: 1})
	err = tr.Run(context.Background(), nil)
	if !errors.As(err, &nf) {
		t.Fatalf("LR 1e200: Run = %v; want a NonFiniteError", err)
	}
	t.Logf("LR 1e200: %v", err)
}

func TestRunStops(t *testing.T) {
	tr := mustTrainer(t, TrainConfig{SDE: sde.NewVP(), Data: data.GMM8{}, Model: tinyMLP(model.Float64), Steps: 10, Batch: 4})
	ctx, cancel := context.WithCancel(context.Background())
	err := tr.Run(ctx, func(p TrainProgress) error {
		if p.Step == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || tr.Step() != 3 {
		t.Errorf("Run = %v at step %d; want context.Canceled at step 3", err, tr.Step())
	}
}

// noParams is an SDE that does not report its parameters (embedding the
// interface promotes only the SDE methods).
type noParams struct{ sde.SDE }

// misnamed reports VP's name and parameters but is another type: a
// checkpoint would rebuild it as a *sde.VP.
type misnamed struct{ *sde.VP }

func mustSpec(t *testing.T, s sde.SDE) SDESpec {
	t.Helper()
	sp, err := SpecOf(s)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestTrainConfigErrors(t *testing.T) {
	ok := TrainConfig{SDE: sde.NewVP(), Data: data.GMM8{}, Model: tinyMLP(model.Float64), Steps: 1}
	cases := []struct {
		edit func(*TrainConfig)
		want string
	}{
		{func(c *TrainConfig) { c.SDE = nil }, "SDE is nil"},
		{func(c *TrainConfig) { c.Data = nil }, "Data is nil"},
		{func(c *TrainConfig) { c.Steps = 0 }, "at least 1 step"},
		{func(c *TrainConfig) { c.Batch = -1 }, "Batch"},
		{func(c *TrainConfig) { c.LR = math.NaN() }, "learning rate"},
		{func(c *TrainConfig) { c.EMA = 1 }, "EMA decay"},
		{func(c *TrainConfig) { c.Model = mustMLP(model.Config{Dim: 3}) }, "dimension 3 but the data gmm8 has 2"},
		{func(c *TrainConfig) { c.Model = nil }, "Model is nil"},
		{func(c *TrainConfig) { c.CheckpointEvery = 5 }, "CheckpointPath is empty"},
		{func(c *TrainConfig) { c.Loss.Kind = LossSMLD }, "use -sde ve"},
		{func(c *TrainConfig) { c.Param = "x" }, "unknown parameterisation"},
		{func(c *TrainConfig) { c.SDE = noParams{sde.NewVP()} }, "does not report its parameters, so a checkpoint could not record it; implement Params"},
		{func(c *TrainConfig) { c.SDE = misnamed{sde.NewVP()} }, "is called \"vp\", but sde.New(\"vp\") builds a *sde.VP; give it a name of its own"},
	}
	for _, c := range cases {
		cfg := ok
		c.edit(&cfg)
		_, err := NewTrainer(cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewTrainer: %v; want an error containing %q", err, c.want)
		}
	}
}

// TestTrainStepAllocs: a training step allocates nothing of its own after
// warm-up (the network's kernels may; their allocations are reported).
func TestTrainStepAllocs(t *testing.T) {
	tr := mustTrainer(t, TrainConfig{SDE: sde.NewVP(), Data: data.GMM8{}, Model: tinyMLP(model.Float64), Steps: 1000, Batch: 32, EMA: 0.9})
	tr.TrainStep()
	a := testing.AllocsPerRun(50, func() {
		if _, _, err := tr.TrainStep(); err != nil {
			t.Fatal(err)
		}
	})
	if a > 0 {
		t.Errorf("TrainStep allocates %v times per step", a)
	}
}

// gmm8Run is the training run of TestGMM8EndToEnd: VP, dsm with
// lambda = sigma^2, eps-prediction, 3 x 64 float64 MLP with 32 Fourier
// features of scale 1, batch 256, Adam 5e-3, EMA 0.99, 3000 steps.
func gmm8Run() TrainConfig {
	return TrainConfig{SDE: sde.NewVP(), Data: data.GMM8{},
		Model: mustMLP(model.Config{Dim: 2, Hidden: []int{64, 64, 64}, FourierScale: 1, Seed: 1}),
		Steps: 3000, Batch: 256, LR: 5e-3, EMA: 0.99, Seed: 1}
}

// TestGMM8EndToEnd trains on gmm8 and checks the model against the exact
// mixture:
//
//   - 4000 samples from the reverse SDE (Euler-Maruyama, 500 steps) with the
//     trained score: each component's share (nearest component under p_0) is
//     within 0.03 of 1/8. Sampling noise alone is sd sqrt(1/8 7/8 / 4000) =
//     0.0052, so 0.03 leaves 0.015 for the model after a 3-sigma excursion;
//     the run gives a largest deviation of about 0.015.
//   - probability-flow log-likelihood (dopri5, rtol = atol = 1e-5, exact
//     trace, eps = 1e-5) of 200 held-out points from p_0 against the exact
//     log p_eps of score.GMM8: mean error within 0.25 nats and mean absolute
//     error below 0.5 nats (the run gives about -0.09 and 0.28; the exact
//     score gives errors of the solver tolerance, 1e-4).
func TestGMM8EndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network (about 20 s); skipped with -short")
	}
	ctx := context.Background()
	cfg := gmm8Run()
	tr := mustTrainer(t, cfg)
	if err := tr.Run(ctx, nil); err != nil {
		t.Fatal(err)
	}
	net, err := tr.Score()
	if err != nil {
		t.Fatal(err)
	}
	m := GMM8(cfg.SDE)

	const n = 4000
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	x := make([]float64, n*2)
	if _, err := sample.Generate(ctx, sample.Config{SDE: cfg.SDE, Score: net, Sampler: &sample.EulerMaruyama{Steps: 500}}, 7, rows, x, nil); err != nil {
		t.Fatal(err)
	}
	counts := make([]float64, 8)
	for i := 0; i < n; i++ {
		counts[m.Component(x[2*i:2*i+2], 0)]++
	}
	worst := 0.0
	for k := range counts {
		counts[k] /= n
		worst = max(worst, math.Abs(counts[k]-0.125))
	}
	t.Logf("component weights %.4f, largest deviation from 1/8 %.4f", counts, worst)
	if worst > 0.03 {
		t.Errorf("a component weight is %.4f away from 1/8, want <= 0.03", worst)
	}

	const np = 200
	xp := make([]float64, np*2)
	r := rng.New(2, 0, rng.Data) // held out: the trainer's streams have another purpose
	for i := 0; i < np; i++ {
		m.SampleData(xp[2*i:2*i+2], r)
	}
	pts, err := likelihood.Evaluate(ctx, likelihood.Config{SDE: cfg.SDE, Score: net, Probe: "exact"}, 1, xp, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var bias, mae float64
	for i, p := range pts {
		e := p.LogP - m.LogProb(xp[2*i:2*i+2], likelihood.DefaultEps)
		bias += e
		mae += math.Abs(e)
	}
	bias /= np
	mae /= np
	t.Logf("log-likelihood error over %d held-out points: mean %.4f nats, mean absolute %.4f nats", np, bias, mae)
	if math.Abs(bias) > 0.25 || mae > 0.5 {
		t.Errorf("log p error: mean %.4f (want within 0.25), mean absolute %.4f (want below 0.5)", bias, mae)
	}
}

// TestDigitsBPD is not a test but the reproducible measurement of the
// bits/dim of a model trained on the 8x8 digits. It runs only when
// SDEKIT_DIGITS_MODEL names a checkpoint (from sdesample train -data digits
// -dequant uniform ...):
//
//	SDEKIT_DIGITS_MODEL=digits.ckpt go test ./score -run TestDigitsBPD -v -timeout 1h
//
// Each of the 1797 images (SDEKIT_DIGITS_N to use fewer) is uniformly
// dequantised once, 2(v + u)/17 - 1 (seed 1), and its log p_eps by the
// probability flow (dopri5, rtol = atol = 1e-5, one Rademacher probe,
// eps = 1e-5) gives bpd = -(log p + 64 log(2/17))/(64 ln 2), the data
// package's formula for 17 levels on [-1, 1]. It logs the mean, the median,
// the mean of the best 99% and the five worst images (a probability-flow
// trajectory that leaves the typical set at large t is amplified by the VP
// drift, which dominates the plain mean).
func TestDigitsBPD(t *testing.T) {
	path := os.Getenv("SDEKIT_DIGITS_MODEL")
	if path == "" {
		t.Skip("set SDEKIT_DIGITS_MODEL to a checkpoint trained on digits")
	}
	net, err := LoadNet(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := data.DigitsN
	if v := os.Getenv("SDEKIT_DIGITS_N"); v != "" {
		fmt.Sscan(v, &n)
	}
	pix, _, _, d, err := data.Digits()
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, n*d)
	for i := 0; i < n; i++ {
		r := rng.New(1, i, rng.Dequant)
		for j := 0; j < d; j++ {
			x[i*d+j] = 2*(pix[i*d+j]+r.Float64())/data.DigitsLevels - 1
		}
	}
	pts, err := likelihood.Evaluate(context.Background(), likelihood.Config{SDE: net.SDE(), Score: net}, 1, x, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sum, sum2, nfe float64
	bpd := make([]float64, n)
	for i, p := range pts {
		b := -(p.LogP + float64(d)*math.Log(2.0/data.DigitsLevels)) / (float64(d) * math.Ln2)
		bpd[i] = b
		sum += b
		sum2 += b * b
		nfe += float64(p.NFE)
	}
	mean := sum / float64(n)
	se := math.Sqrt((sum2/float64(n) - mean*mean) / float64(n))
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(bpd[a], bpd[b]) })
	t.Logf("digits: %d images, %.4f +- %.4f bits/dim, median %.4f (17 levels; uniform on the levels is log2 17 = %.4f), mean NFE %.0f",
		n, mean, se, bpd[order[n/2]], math.Log2(17), nfe/float64(n))
	keep := n - n/100
	var trimmed float64
	for _, i := range order[:keep] {
		trimmed += bpd[i]
	}
	t.Logf("mean of the best %d (99%%): %.4f bits/dim", keep, trimmed/float64(keep))
	for _, i := range order[max(0, n-5):] {
		p := pts[i]
		t.Logf("worst: image %d: %.4g bits/dim (log p %.6g = prior %.6g + delta %.6g, NFE %d)", i, bpd[i], p.LogP, p.PriorLogP, p.Delta, p.NFE)
	}
}

// ExampleTrainer builds an MLP, trains it as a score network on gmm8,
// saves the checkpoint (which records the network's kind and config, the
// SDE and the parameterisation) and loads it back as a score for the
// samplers and the likelihood.
func ExampleTrainer() {
	net, err := model.NewTrainable(model.Config{Dim: 2, Hidden: []int{32, 32}, FourierScale: 1, Seed: 1})
	if err != nil {
		panic(err)
	}
	tr, err := NewTrainer(TrainConfig{
		SDE:   sde.NewVP(),
		Data:  data.GMM8{},
		Model: net, // any model.Trainable of a registered kind
		Steps: 200, Batch: 128, LR: 5e-3, EMA: 0.99, Seed: 1,
	})
	if err != nil {
		panic(err)
	}
	if err := tr.Run(context.Background(), nil); err != nil {
		panic(err) // a *NonFiniteError names the step
	}
	dir, err := os.MkdirTemp("", "score")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "gmm8.ckpt")
	if err := tr.Save(path); err != nil {
		panic(err)
	}
	loaded, err := LoadNet(path, nil) // the network, SDE and parameterisation come from the file
	if err != nil {
		panic(err)
	}
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s network, %d steps, SDE %s, param %s\n", ck.Kind, ck.Step, loaded.SDE().Name(), loaded.Param())

	// The loaded score is the trainer's (EMA weights), bit for bit.
	inMemory, err := tr.Score()
	if err != nil {
		panic(err)
	}
	x, t := []float64{1, -2, 0.5, 3}, []float64{0.3, 0.9}
	a, b := make([]float64, 4), make([]float64, 4)
	inMemory.ScoreTo(a, x, t)
	loaded.ScoreTo(b, x, t)
	fmt.Println("loaded score equals the trainer's:", slices.Equal(a, b))

	const n = 100
	samples := make([]float64, 2*n)
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	if _, err := sample.Generate(context.Background(), sample.Config{SDE: loaded.SDE(), Score: loaded, Sampler: &sample.EulerMaruyama{Steps: 100}}, 1, rows, samples, nil); err != nil {
		panic(err)
	}
	fmt.Println("samples:", n, "all finite:", !slices.ContainsFunc(samples, func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }))
	// Output:
	// mlp network, 200 steps, SDE vp, param eps
	// loaded score equals the trainer's: true
	// samples: 100 all finite: true
}

// The divergence guard: a learning rate of 10 makes the loss explode
// (issue 22: a running mean of 3e11, exit 0); Run stops with a
// DivergedError naming the step and the ratio. The same run at a sane rate
// trains to the end (the guard never trips on a falling loss), and +Inf
// turns the guard off.
func TestDivergenceGuard(t *testing.T) {
	mk := func(lr, diverge float64, steps int) *Trainer {
		t.Helper()
		vp := sde.NewVP()
		net, err := model.NewTrainable(model.Config{Dim: 2, Hidden: []int{32, 32}, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewTrainer(TrainConfig{SDE: vp, Data: data.GMM8{}, Model: net, Steps: steps, Batch: 64, LR: lr, Seed: 1, Diverge: diverge})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	err := mk(10, 0, 2000).Run(context.Background(), nil)
	var de *DivergedError
	var nf *NonFiniteError
	switch {
	case errors.As(err, &de):
		if de.Mean <= DefaultDiverge*de.Best {
			t.Errorf("diverged with mean %v and best %v: not past the factor", de.Mean, de.Best)
		}
		t.Logf("lr 10: %v", err)
	case errors.As(err, &nf):
		t.Logf("lr 10: %v (non-finite before the mean exploded)", err)
	default:
		t.Fatalf("lr 10 trained 2000 steps: %v", err)
	}
	if err := mk(2e-3, 0, 600).Run(context.Background(), nil); err != nil {
		t.Errorf("lr 2e-3: %v", err)
	}
	if _, err := NewTrainer(TrainConfig{SDE: sde.NewVP(), Data: data.GMM8{}, Model: mk(1e-3, 0, 1).Model(), Steps: 1, Diverge: 0.5}); err == nil {
		t.Error("Diverge = 0.5 accepted")
	}
}
