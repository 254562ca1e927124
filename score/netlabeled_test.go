package score

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/sde"
)

func condMLP(classes int) model.Trainable {
	c := tinyConfig(model.Float64)
	c.Classes = classes
	return mustMLP(c)
}

// TestLabeledNetScale checks LabelScoreTo against its definition, the
// parameterisation's scale times the network's labelled output (VP, eps:
// -o/std(t)), and ScoreTo against NullLabel.
func TestLabeledNetScale(t *testing.T) {
	s := sde.NewVP()
	net := condMLP(8).(model.ConditionalTrainable)
	ln, err := NewLabeledNet(s, net, ParamEps)
	if err != nil {
		t.Fatal(err)
	}
	if ln.Classes() != 8 {
		t.Fatalf("Classes %d", ln.Classes())
	}
	x := []float64{0.1, -1, 2, 0.5, -0.3, 0.2}
	tt := []float64{0.1, 0.5, 0.9}
	labels := []int{3, NullLabel, 7}
	got, out := make([]float64, 6), make([]float64, 6)
	ln.LabelScoreTo(got, x, tt, labels)
	net.ForwardLabels(out, x, tt, labels)
	for i := range got {
		_, std := s.Marginal(tt[i/2])
		if want := out[i] * (-1 / std); got[i] != want {
			t.Errorf("score[%d] = %v, want o (-1/std) = %v", i, got[i], want)
		}
	}
	uncond, null := make([]float64, 6), make([]float64, 6)
	ln.ScoreTo(uncond, x, tt)
	ln.LabelScoreTo(null, x, tt, []int{NullLabel, NullLabel, NullLabel})
	for i := range uncond {
		if uncond[i] != null[i] {
			t.Fatalf("ScoreTo differs from NullLabel at %d", i)
		}
	}
	if _, err := NewLabeledNet(s, condMLP(0).(model.Conditional), ParamEps); err == nil {
		t.Error("an unconditional network made a LabeledNet")
	}
}

// TestConditionalTraining checks the conditional trainer: its data rows are
// those of the unconditional run of the same seed (labels come with the
// same draws), the dropout rate is p within binomial noise, a checkpoint
// round trip gives a LabeledNet, and a resumed run with another dropout is
// refused.
func TestConditionalTraining(t *testing.T) {
	const p, batch, steps = 0.25, 64, 40
	cfg := TrainConfig{SDE: sde.NewVP(), Data: data.GMM8{}, Model: condMLP(8), LabelDropout: p,
		Steps: steps, Batch: batch, Seed: 5, LR: 1e-2, EMA: 0.9}
	tr := mustTrainer(t, cfg)
	ucfg := cfg
	ucfg.Model, ucfg.LabelDropout = condMLP(0), 0
	utr := mustTrainer(t, ucfg)
	x0, ux0 := make([]float64, batch*2), make([]float64, batch*2)
	tt, z := make([]float64, batch), make([]float64, batch*2)
	labels := make([]int, batch)
	nulls := 0
	for k := 0; k < 50; k++ {
		tr.BatchLabels(k, x0, labels, tt, z)
		utr.Batch(k, ux0, tt, z)
		sameBits(t, "x0", x0, ux0)
		for i, y := range labels {
			if y == NullLabel {
				nulls++
				continue
			}
			// The label is the component nearest the point, except for the
			// rare point more than 1.5 (3 std) from its mean.
			mx, my := data.GMM8Mean(y)
			if math.Hypot(x0[2*i]-mx, x0[2*i+1]-my) > 2.5 {
				t.Errorf("step %d row %d: label %d but the point %v is far from its mean", k, i, y, x0[2*i:2*i+2])
			}
		}
	}
	// 3200 Bernoulli(0.25) draws: sd sqrt(3200 p (1-p)) = 24.5; allow 4 sd.
	if math.Abs(float64(nulls)-p*3200) > 4*24.5 {
		t.Errorf("%d null labels in 3200, want %v +- 98", nulls, p*3200)
	}
	if err := tr.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "c.ckpt")
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	ln, err := LoadLabeledNet(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := tr.LabeledScore()
	if err != nil {
		t.Fatal(err)
	}
	a, b := make([]float64, 4), make([]float64, 4)
	ln.LabelScoreTo(a, []float64{1, 2, 3, 4}, []float64{0.3, 0.6}, []int{1, NullLabel})
	want.LabelScoreTo(b, []float64{1, 2, 3, 4}, []float64{0.3, 0.6}, []int{1, NullLabel})
	sameBits(t, "loaded score", a, b)
	ck, _ := model.LoadCheckpoint(path)
	cfg.LabelDropout = 0.1
	cfg.Steps = 2 * steps
	if _, err := ResumeTrainer(cfg, ck); err == nil || !strings.Contains(err.Error(), "label dropout") {
		t.Errorf("resume with another dropout: %v", err)
	}
	// An unconditional checkpoint is not a LabeledNet.
	utr2 := mustTrainer(t, TrainConfig{SDE: sde.NewVP(), Data: data.GMM8{}, Model: condMLP(0), Steps: 1, Batch: 4})
	upath := filepath.Join(t.TempDir(), "u.ckpt")
	utr2.Save(upath)
	if _, err := LoadLabeledNet(upath, nil); err == nil || !strings.Contains(err.Error(), "unconditional") {
		t.Errorf("unconditional as labeled: %v", err)
	}
}

func TestConditionalTrainConfigErrors(t *testing.T) {
	base := TrainConfig{SDE: sde.NewVP(), Steps: 1}
	for _, c := range []struct {
		data  data.Source
		model model.Trainable
		p     float64
		msg   string
	}{
		{data.NewMoons(), condMLP(8), 0, "moons has no class labels"},
		{data.GMM8{}, condMLP(4), 0, "8 classes but the network 4"},
		{data.GMM8{}, condMLP(0), 0.1, "not conditional"},
		{data.GMM8{}, condMLP(8), 1, "LabelDropout"},
	} {
		cfg := base
		cfg.Data, cfg.Model, cfg.LabelDropout = c.data, c.model, c.p
		if _, err := NewTrainer(cfg); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %q", c.msg, err, c.msg)
		}
	}
}

// TestClassifierTraining trains a small clean classifier on gmm8, whose
// components are 3.06 apart with std 0.5 (Bayes accuracy above 99.8 %),
// and a noise-conditional one, and checks held-out accuracy: at least 95 %
// for the clean one at t = 0 and for the noise-conditional one at t = 0.05
// (VP: std 0.11, the classes still nearly separate). 400 steps of batch 128
// reach about 99 %; 95 % leaves room for another BLAS's rounding. The
// checkpoint round trip and the errors of the wrong kind of file are
// checked too.
func TestClassifierTraining(t *testing.T) {
	for _, clean := range []bool{true, false} {
		c, err := model.NewClassifier(model.ClassifierConfig{Dim: 2, Classes: 8, Hidden: []int{32, 32}, FourierScale: 1, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewClassifierTrainer(ClassifierTrainConfig{SDE: sde.NewVP(), Clean: clean, Data: data.GMM8{},
			Model: c, Steps: 400, Batch: 128, LR: 1e-2, EMA: 0.95, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Run(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "c.ckpt")
		if err := tr.Save(path); err != nil {
			t.Fatal(err)
		}
		g, err := LoadClassifier(path, 2, sde.NewVP())
		if err != nil {
			t.Fatal(err)
		}
		const n = 2000
		x, y := make([]float64, 2*n), make([]int, n)
		data.GMM8{}.SampleLabeled(x, y, n, rand.New(rand.NewPCG(99, 1)))
		tt := make([]float64, n)
		if !clean {
			for i := range tt {
				tt[i] = 0.05
			}
		}
		pred := make([]int, n)
		g.PredictTo(pred, x, tt)
		right := 0
		for i := range pred {
			if pred[i] == y[i] {
				right++
			}
		}
		acc := float64(right) / n
		t.Logf("clean %v: held-out accuracy %.4f", clean, acc)
		if acc < 0.95 {
			t.Errorf("clean %v: accuracy %.4f < 0.95", clean, acc)
		}
		if _, err := LoadClassifier(path, 3, nil); err == nil || !strings.Contains(err.Error(), "dimension 2") {
			t.Errorf("wrong dimension: %v", err)
		}
		if !clean {
			if _, err := LoadClassifier(path, 2, sde.NewVE()); err == nil || !strings.Contains(err.Error(), "SDE") {
				t.Errorf("wrong SDE: %v", err)
			}
		}
		if _, err := LoadNet(path, nil); err == nil || !strings.Contains(err.Error(), "holds a classifier") {
			t.Errorf("classifier as score: %v", err)
		}
	}
	// A score network's checkpoint given as a classifier.
	utr := mustTrainer(t, TrainConfig{SDE: sde.NewVP(), Data: data.GMM8{}, Model: condMLP(0), Steps: 1, Batch: 4})
	upath := filepath.Join(t.TempDir(), "u.ckpt")
	utr.Save(upath)
	if _, err := LoadClassifier(upath, 2, nil); err == nil || !strings.Contains(err.Error(), "holds a score network") {
		t.Errorf("score as classifier: %v", err)
	}
	_, err := NewClassifierTrainer(ClassifierTrainConfig{SDE: sde.NewVP(), Data: data.GMM8{}, Steps: 1,
		Model: func() *model.Classifier {
			c, _ := model.NewClassifier(model.ClassifierConfig{Dim: 2, Classes: 4, Hidden: []int{4}})
			return c
		}()})
	if err == nil || !strings.Contains(err.Error(), "8 classes but the classifier 4") {
		t.Errorf("too few classes: %v", err)
	}
}
