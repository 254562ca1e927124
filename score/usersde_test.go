package score_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// edmVE is a user's own SDE, declared outside package sde: the
// variance-exploding SDE of Karras et al. 2022 (EDM) with sigma(t) = t,
//
//	dx = sqrt(2t) dw,   x_t | x_0 ~ N(x_0, t^2 I),   t in [0, sigma_max],
//
// so drift 0, g(t)^2 = d sigma^2/dt = 2t, c = 1, s(t) = t, prior N(0,
// sigma_max^2 I). It declares no Defaults, so the trainer uses the "eps"
// parameterisation.
type edmVE struct{ SigmaMax float64 }

const edmName = "edm-ve-test"

func (s *edmVE) Name() string                { return edmName }
func (s *edmVE) T() float64                  { return s.SigmaMax }
func (s *edmVE) DriftCoef(float64) float64   { return 0 }
func (s *edmVE) Diffusion(t float64) float64 { return math.Sqrt(2 * t) }
func (s *edmVE) Marginal(t float64) (float64, float64) {
	if !(t >= 0 && t <= s.SigmaMax) {
		panic(fmt.Sprintf("edmVE: t = %v outside [0, %v]", t, s.SigmaMax))
	}
	return 1, t
}
func (s *edmVE) PriorStd() float64 { return s.SigmaMax }
func (s *edmVE) Validate() error {
	if !(s.SigmaMax > 0) || math.IsInf(s.SigmaMax, 0) {
		return fmt.Errorf("edmVE: sigma_max = %v must be finite and > 0", s.SigmaMax)
	}
	return nil
}
func (s *edmVE) Params() map[string]float64 { return map[string]float64{"sigma_max": s.SigmaMax} }

// Registered once per test binary (Register panics on a second call, and
// -count=n reruns the tests in the same process).
func init() {
	sde.Register(edmName, func(p map[string]float64) (sde.SDE, error) {
		s := &edmVE{SigmaMax: 80}
		for k, v := range p {
			if k != "sigma_max" {
				return nil, fmt.Errorf("edmVE: no parameter %q", k)
			}
			s.SigmaMax = v
		}
		return s, nil
	})
}

// TestUserSDETrainSaveLoad: an SDE declared and registered by the user
// trains with NewTrainer, its checkpoint records it, and LoadNet(path, nil)
// rebuilds it: the loaded score equals the in-memory one bit for bit (the
// same weights, the same SDE, the same arithmetic).
func TestUserSDETrainSaveLoad(t *testing.T) {
	s := &edmVE{SigmaMax: 80}
	net, err := model.NewTrainable(model.Config{Dim: 2, Hidden: []int{16, 16}, EmbedDim: 8, FourierScale: 0.05, Precision: model.Float64, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	cfg := score.TrainConfig{
		SDE: s, Data: data.GMM8{},
		Model: net,
		Steps: 50, Batch: 32, EMA: 0.9, Seed: 7,
	}
	tr, err := score.NewTrainer(cfg)
	if err != nil {
		t.Fatalf("NewTrainer with a registered user SDE: %v", err)
	}
	if tr.Config().Param != score.ParamEps {
		t.Errorf("parameterisation %q; an SDE without sde.Defaults trains with eps", tr.Config().Param)
	}
	if err := tr.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "edm.ckpt")
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if raw := ck.Meta[score.MetaKey]; !strings.Contains(raw, `"sde":{"name":"edm-ve-test","sigma_max":80}`) {
		t.Errorf("checkpoint metadata %s does not record the SDE flat", raw)
	}
	loaded, err := score.LoadNet(path, nil)
	if err != nil {
		t.Fatalf("LoadNet: %v", err)
	}
	if got, ok := loaded.SDE().(*edmVE); !ok || *got != *s {
		t.Fatalf("loaded SDE %#v, want %#v", loaded.SDE(), s)
	}
	mem, err := tr.Score()
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{1, -2, 0.5, 3, -4, 0, 10, -30, 0.1, 0.2}
	ts := []float64{1e-3, 0.5, 7, 40, 80}
	a, b := make([]float64, len(x)), make([]float64, len(x))
	loaded.ScoreTo(a, x, ts)
	mem.ScoreTo(b, x, ts)
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) || math.IsNaN(a[i]) {
			t.Fatalf("score[%d]: loaded %v, in memory %v; want the same bits", i, a[i], b[i])
		}
	}

	// The same SDE passed explicitly is accepted; other parameters are not.
	if _, err := score.LoadNet(path, &edmVE{SigmaMax: 80}); err != nil {
		t.Errorf("LoadNet with the training SDE: %v", err)
	}
	if _, err := score.LoadNet(path, &edmVE{SigmaMax: 90}); err == nil || !strings.Contains(err.Error(), "the parameters differ") {
		t.Errorf("LoadNet with sigma_max 90: %v; want a parameter mismatch", err)
	}
}

// TestUserSDENeedsRegistry: a user SDE that reports parameters but is not
// registered cannot be trained; the error says what to do.
func TestUserSDENeedsRegistry(t *testing.T) {
	_, err := score.NewTrainer(score.TrainConfig{SDE: unregistered{&edmVE{SigmaMax: 80}}, Data: data.GMM8{}, Steps: 1})
	if err == nil || !strings.Contains(err.Error(), "register the kind with sde.Register") || !strings.Contains(err.Error(), "unknown SDE \"unregistered\"") {
		t.Errorf("NewTrainer with an unregistered SDE: %v", err)
	}
	if _, err := score.SpecOf(unregistered{&edmVE{SigmaMax: 80}}); err == nil {
		t.Error("SpecOf of an unregistered SDE: no error")
	}
}

type unregistered struct{ *edmVE }

func (unregistered) Name() string { return "unregistered" }

// TestSDESpecOldJSON: checkpoints written before the registry stored the SDE
// as a flat object with omitempty parameters; they decode to the same SDE,
// a missing legacy key being 0 (the old writer's zero value), and the new
// encoding is the same flat shape with every parameter.
func TestSDESpecOldJSON(t *testing.T) {
	for _, c := range []struct {
		old  string
		want sde.SDE
		new  string
	}{
		{`{"name":"vp","beta_min":0.1,"beta_max":20}`, &sde.VP{BetaMin: 0.1, BetaMax: 20}, `{"name":"vp","beta_max":20,"beta_min":0.1}`},
		{`{"name":"subvp","beta_min":0.1,"beta_max":20}`, &sde.SubVP{BetaMin: 0.1, BetaMax: 20}, `{"name":"subvp","beta_max":20,"beta_min":0.1}`},
		{`{"name":"ve","sigma_min":0.01,"sigma_max":50}`, &sde.VE{SigmaMin: 0.01, SigmaMax: 50}, `{"name":"ve","sigma_max":50,"sigma_min":0.01}`},
		{`{"name":"vp","beta_max":7.5}`, &sde.VP{BetaMin: 0, BetaMax: 7.5}, `{"name":"vp","beta_max":7.5,"beta_min":0}`},
	} {
		ck := &model.Checkpoint{Meta: map[string]string{score.MetaKey: `{"format":1,"sde":` + c.old + `,"param":"eps","loss":{"kind":"dsm"},"data":"gmm8","seed":1,"batch":8,"steps":4}`}}
		meta, err := score.ReadMeta(ck)
		if err != nil {
			t.Fatalf("%s: %v", c.old, err)
		}
		s, err := meta.SDE.SDE()
		if err != nil {
			t.Fatalf("%s: %v", c.old, err)
		}
		if fmt.Sprintf("%T %v", s, s) != fmt.Sprintf("%T %v", c.want, c.want) {
			t.Errorf("%s decodes to %T %v, want %T %v", c.old, s, s, c.want, c.want)
		}
		if err := score.WriteMeta(ck, meta); err != nil {
			t.Fatal(err)
		}
		if raw := ck.Meta[score.MetaKey]; !strings.Contains(raw, `"sde":`+c.new+`,`) {
			t.Errorf("%s re-encodes as %s, want the sde entry %s", c.old, raw, c.new)
		}
	}
	ck := &model.Checkpoint{Meta: map[string]string{score.MetaKey: `{"format":1,"sde":{"name":"vp","beta_min":"x"},"param":"eps"}`}}
	if _, err := score.ReadMeta(ck); err == nil || !strings.Contains(err.Error(), "beta_min is not a number") {
		t.Errorf("a non-numeric parameter: %v", err)
	}
}
