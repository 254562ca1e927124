package study

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

func mustSpecs(t *testing.T, list string) []Spec {
	t.Helper()
	sp, err := ParseSpecs(list)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestParseSpec(t *testing.T) {
	sp, err := ParseSpec("  ode   solver=heun  rtol=1e-3 ")
	if err != nil {
		t.Fatal(err)
	}
	if sp.Text != "ode solver=heun rtol=1e-3" || sp.Name != "ode" || len(sp.Options) != 2 || sp.Options["solver"] != "heun" {
		t.Errorf("got %+v", sp)
	}
	for _, bad := range []string{"", "  ", "ode solver", "ode =heun", "ode solver=heun solver=euler"} {
		if _, err := ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q): no error", bad)
		}
	}
	list := mustSpecs(t, "em; ode solver=euler ;ddim eta=0.5")
	if len(list) != 3 || list[1].Text != "ode solver=euler" || list[2].Options["eta"] != "0.5" {
		t.Errorf("ParseSpecs: %+v", list)
	}
	if _, err := ParseSpecs("em;;ode"); err == nil {
		t.Error("an empty spec between two semicolons: no error")
	}
}

// A sampler is stochastic when its samples depend on the noise after the
// prior draw.
func TestStochastic(t *testing.T) {
	cases := []struct {
		name string
		opts map[string]string
		want bool
	}{
		{"em", map[string]string{"steps": "10"}, true},
		{"pc", map[string]string{"steps": "10"}, true},
		{"ddpm", map[string]string{"steps": "50"}, true},
		{"ddim", map[string]string{"steps": "10", "eta": "1"}, true},
		{"ddim", map[string]string{"steps": "10"}, false},
		{"ode", map[string]string{"solver": "heun", "steps": "10"}, false},
		{"ode", nil, false},
	}
	for _, tc := range cases {
		cfg := gaussCfg(t, sde.NewVP(), 3, tc.name, tc.opts)
		got, err := Stochastic(context.Background(), cfg, 1, 3)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s %v: stochastic %v, want %v", tc.name, tc.opts, got, tc.want)
		}
	}
}

// The dop853 reference flow at rtol = atol = 1e-10 against the exact flow
// map on gauss:3: within 1e-8 (the tolerance's global error, a few times
// 1e-10 on values of order 1, with room for error growth over the solve).
func TestReferenceFlow(t *testing.T) {
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewVE()} {
		m := score.Gauss(s, 3)
		x0 := []float64{0.3, -1.2, 2, 1, 0, -0.5}
		for i := range x0 {
			x0[i] *= s.PriorStd()
		}
		eps, _ := sde.DefaultEps(s)
		got, err := referenceFlow(context.Background(), m, s, x0, s.T(), eps, 1)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, len(x0))
		if err := m.FlowTo(want, x0, s.T(), eps); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-8 {
				t.Errorf("%s value %d: dop853 %.12g, exact %.12g", s.Name(), i, got[i], want[i])
			}
		}
	}
}

// Frontier on gauss:2: one row per (spec, steps), one in all for the
// adaptive ODE; NFE per sample as the methods take it; the path error of a
// deterministic sampler is Order's error (the same samples, the same exact
// flow: equal to rounding, 1e-14 relative); KL exact for the affine
// samplers (Euler's against the hand recursion of
// TestOutputGaussianEulerFlow through OutputGaussian) and NaN for the
// langevin corrector.
func TestFrontierGauss(t *testing.T) {
	s := sde.NewVP()
	m := score.Gauss(s, 2)
	fc := FrontierConfig{SDE: s, Mixture: m, Specs: mustSpecs(t, "ode solver=euler; ode solver=heun; em; ode; pc corrector=langevin"),
		Steps: []int{5, 10}, Rows: 64, Seed: 1, Workers: 2}
	var calls int
	fc.Progress = func(done, total int) error {
		if done != calls || total != 9 {
			t.Errorf("progress %d of %d at call %d, want %d of 9", done, total, calls+1, calls)
		}
		calls++
		return nil
	}
	res, err := Frontier(context.Background(), fc)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 9 || calls != 10 {
		t.Fatalf("%d rows, %d progress calls; want 9 rows (2+2+2+1+2) and 10 calls (0 of 9 first)", len(res.Rows), calls)
	}
	type want struct {
		steps      int
		schedule   string
		nfe        float64
		stochastic bool
		kl         bool
	}
	wants := []want{{5, "t", 5, false, true}, {10, "t", 10, false, true}, {5, "t", 10, false, true}, {10, "t", 20, false, true},
		{5, "t", 5, true, true}, {10, "t", 10, true, true}, {0, "-", -1, false, false}, {5, "t", 10, true, false}, {10, "t", 20, true, false}}
	for i, w := range wants {
		r := res.Rows[i]
		if r.Steps != w.steps || r.Schedule != w.schedule || (w.nfe >= 0 && r.NFE != w.nfe) || r.Stochastic != w.stochastic {
			t.Errorf("row %d %s: steps %d schedule %s NFE %v stochastic %v; want %+v", i, r.Spec, r.Steps, r.Schedule, r.NFE, r.Stochastic, w)
		}
		if w.kl && !(r.KL > 0 && !math.IsInf(r.KL, 0)) {
			t.Errorf("row %d %s: KL %v, want a finite positive value", i, r.Spec, r.KL)
		}
		if r.Spec == "pc corrector=langevin" && !math.IsNaN(r.KL) {
			t.Errorf("row %d %s: KL %v, want NaN (not affine)", i, r.Spec, r.KL)
		}
		if !math.IsNaN(r.WeightErr) {
			t.Errorf("row %d: weight error %v for one component, want NaN", i, r.WeightErr)
		}
		if !(r.PathErr > 0) || math.IsNaN(r.SW2) || math.IsNaN(r.LogPGap) || !(r.VarRatio > 0) {
			t.Errorf("row %d %s: metrics %+v", i, r.Spec, r)
		}
	}
	if !(res.FlowKL > 0 && res.FlowKL < res.Rows[0].KL) {
		t.Errorf("flow KL %v: want > 0 and below Euler's at 5 steps (%v)", res.FlowKL, res.Rows[0].KL)
	}
	for i, tab := range []string{"euler", "heun"} {
		cfg := sample.Config{SDE: s, Score: m, Workers: 2}
		o, err := Order(context.Background(), cfg, func(n int) (sample.Sampler, error) {
			return sample.NewFromOptions("ode", map[string]string{"solver": tab, "steps": strconv.Itoa(n)})
		}, []int{5, 10}, 64, 1)
		if err != nil {
			t.Fatal(err)
		}
		for k := range o.Err {
			got := res.Rows[2*i+k].PathErr
			if math.Abs(got-o.Err[k]) > 1e-14*o.Err[k] {
				t.Errorf("%s at %d steps: path error %.17g, Order's %.17g", tab, o.Steps[k], got, o.Err[k])
			}
		}
	}
	// Euler's KL is that of its exact law.
	law, err := OutputGaussian(context.Background(), gaussCfg(t, s, 2, "ode", map[string]string{"solver": "euler", "steps": "5"}))
	if err != nil {
		t.Fatal(err)
	}
	dm, dv := DataGaussian(m)
	if kl := GaussianKL(law.Mean, law.Var, dm, dv); kl != res.Rows[0].KL {
		t.Errorf("Euler 5 steps: KL %v, from its law %v", res.Rows[0].KL, kl)
	}
}

// Frontier on gmm8: the reference is the dop853 flow; the mixture weight
// error is defined and KL is not; Heun's path error falls with the steps
// (second order: by about 4 from 10 to 20 steps, asserted only to fall by
// more than 2 to leave room for the pre-asymptotic regime).
func TestFrontierMixture(t *testing.T) {
	s := sde.NewVP()
	fc := FrontierConfig{SDE: s, Mixture: score.GMM8(s), Specs: mustSpecs(t, "ode solver=heun"),
		Steps: []int{10, 20}, Rows: 200, Seed: 1, Workers: 2}
	res, err := Frontier(context.Background(), fc)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 {
		t.Fatalf("%d rows, want 2", len(res.Rows))
	}
	a, b := res.Rows[0], res.Rows[1]
	if !(a.PathErr > 2*b.PathErr) {
		t.Errorf("Heun path error %.3g at 10 steps, %.3g at 20: want a fall by more than 2", a.PathErr, b.PathErr)
	}
	for _, r := range res.Rows {
		if math.IsNaN(r.WeightErr) || !math.IsNaN(r.KL) || r.NFE != float64(2*r.Steps) {
			t.Errorf("%+v: want a weight error, no KL and NFE 2 steps", r)
		}
	}
	if !(res.SW2Floor > 0) || !math.IsNaN(res.FlowKL) {
		t.Errorf("SW2 floor %v, flow KL %v", res.SW2Floor, res.FlowKL)
	}
}

// Every spec is checked at every step count before any run: the errors
// name the spec and wrap the sample package's error.
func TestFrontierSpecErrors(t *testing.T) {
	s := sde.NewVE()
	cases := []struct {
		specs string
		check func(error) bool
	}{
		{"em; nosuch", func(err error) bool { return err != nil }},
		{"em; ode solver=nosuch", func(err error) bool { var oe *sample.OptionError; return errors.As(err, &oe) }},
		{"em; ode bogus=1", func(err error) bool { var oe *sample.OptionError; return errors.As(err, &oe) }},
		{"em; ddpm", func(err error) bool { var ue *sample.UnsupportedSDEError; return errors.As(err, &ue) }},
		{"em steps=x", func(err error) bool { var oe *sample.OptionError; return errors.As(err, &oe) }},
		{"ode solver=heun steps=0", func(err error) bool { var oe *sample.OptionError; return errors.As(err, &oe) }},
	}
	for _, tc := range cases {
		progressed := false
		fc := FrontierConfig{SDE: s, Mixture: score.Gauss(s, 2), Specs: mustSpecs(t, tc.specs), Steps: []int{5}, Rows: 8, Seed: 1, Workers: 1,
			Progress: func(int, int) error { progressed = true; return nil }}
		_, err := Frontier(context.Background(), fc)
		var se *SpecError
		if !errors.As(err, &se) || !tc.check(err) {
			t.Errorf("%q: err = %v, want a *SpecError of the right kind", tc.specs, err)
		}
		if progressed {
			t.Errorf("%q: a run happened before the error", tc.specs)
		}
	}
}

// A spec that sets steps runs once at that count; one whose count changes
// nothing (the adaptive ODE) runs once as choosing its own steps.
func TestFrontierPinnedSteps(t *testing.T) {
	s := sde.NewVP()
	fc := FrontierConfig{SDE: s, Mixture: score.Gauss(s, 2), Specs: mustSpecs(t, "ode solver=heun steps=7; ode steps=50; em steps=3"),
		Steps: []int{5, 10}, Rows: 16, Seed: 1, Workers: 1}
	res, err := Frontier(context.Background(), fc)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 3 {
		t.Fatalf("%d rows, want 3", len(res.Rows))
	}
	want := []struct {
		steps    int
		schedule string
	}{{7, "t"}, {0, "-"}, {3, "t"}}
	for i, w := range want {
		if r := res.Rows[i]; r.Steps != w.steps || r.Schedule != w.schedule {
			t.Errorf("%s: steps %d schedule %s, want %d %s", r.Spec, r.Steps, r.Schedule, w.steps, w.schedule)
		}
	}
	if r := res.Rows[0]; r.NFE != 14 {
		t.Errorf("Heun at 7 steps: NFE %v, want 14", r.NFE)
	}
}

// noise=NAME in a spec sets the run's noise, not a sampler option: "em
// noise=streams" is em as it is, and an unknown noise is the spec's error.
func TestSpecNoise(t *testing.T) {
	vp := sde.NewVP()
	base := sample.Config{SDE: vp, Score: score.Gauss(vp, 2), Workers: 1}
	sp, err := ParseSpec("em noise=streams")
	if err != nil {
		t.Fatal(err)
	}
	c, err := frontierConfig(base, sp, 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Noise.(sample.Streams); !ok {
		t.Errorf("noise %T, want Streams", c.Noise)
	}
	sp, _ = ParseSpec("em noise=pink")
	if _, err := frontierConfig(base, sp, 10); err == nil || !strings.Contains(err.Error(), `unknown noise "pink"`) {
		t.Errorf("noise=pink: %v", err)
	}
}

// A spec's noise=tree reaches the run (Frontier once ran every spec with the
// base noise, so "em noise=tree" gave em's streams bits): the two specs'
// samples differ.
func TestFrontierSpecNoise(t *testing.T) {
	vp := sde.NewVP()
	fc := FrontierConfig{SDE: vp, Mixture: score.Gauss(vp, 2), Specs: mustSpecs(t, "em;em noise=tree"),
		Steps: []int{64}, Rows: 50, Seed: 1, Workers: 1}
	res, err := Frontier(context.Background(), fc)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || res.Rows[0].SW2 == res.Rows[1].SW2 {
		t.Errorf("em and em noise=tree gave the same samples: %+v", res.Rows)
	}
}
