package sd15

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
)

// The documented defaults (the command line's), per experiment; NoBasis and
// explicit values survive; out-of-range fields are errors that name them.
func TestExperimentDefaults(t *testing.T) {
	hb, err := Experiment{}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if want := (Experiment{Name: "heartbeat", T: 2000, Steps: 30000, Batch: 64, LR: 3e-3, Basis: 20, Noise: 0.5, Width: 64, Eval: 400, Inpaint: 1000, Segments: 1}); hb != want {
		t.Errorf("heartbeat defaults %+v, want %+v", hb, want)
	}
	sr, err := Experiment{Name: "swissroll", Basis: NoBasis, Seed: 7}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if want := (Experiment{Name: "swissroll", T: 40, Steps: 30000, Batch: 256, LR: 1e-2, Basis: NoBasis, Noise: 0.5, Width: 64, Eval: 4000, Inpaint: 1000, Seed: 7, Segments: 1}); sr != want {
		t.Errorf("swissroll defaults %+v, want %+v", sr, want)
	}
	for _, c := range []struct {
		e    Experiment
		want string
	}{
		{Experiment{Name: "nope"}, `"nope": use heartbeat or swissroll`},
		{Experiment{T: 1}, "T = 1"},
		{Experiment{Steps: -1}, "must be positive"},
		{Experiment{LR: math.Inf(1)}, "learning rate"},
		{Experiment{Basis: -2}, "NoBasis"},
		{Experiment{Noise: -1}, "noise"},
	} {
		if _, err := c.e.WithDefaults(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one containing %q", c.e, err, c.want)
		}
		if _, err := Run(context.Background(), c.e, nil); err == nil {
			t.Errorf("%+v: Run ran", c.e)
		}
	}
}

// Run at a tiny budget fills every number of both experiments, is
// reproducible from the seed, and an error from progress stops it.
func TestRun(t *testing.T) {
	for _, name := range []string{"heartbeat", "swissroll"} {
		e := Experiment{Name: name, T: 10, Steps: 100, Eval: 20, Inpaint: 20, Seed: 3}
		var calls int
		a, err := Run(context.Background(), e, func(step int, loss float64) error { calls++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if calls != 1 {
			t.Errorf("%s: progress called %d times in 100 steps, want 1", name, calls)
		}
		if a.KKL.N != 20 || a.True.N == 0 || math.IsNaN(a.Null) || (a.Binary == nil) != (name != "heartbeat") {
			t.Errorf("%s: result %+v", name, a)
		}
		if name == "heartbeat" && (a.KTraj.N != 200 || a.Hidden == 0 || !(a.InpaintAccuracy >= 0)) {
			t.Errorf("heartbeat: %d trajectories (want 200), %d hidden bins, accuracy %v", a.KTraj.N, a.Hidden, a.InpaintAccuracy)
		}
		b, _ := Run(context.Background(), e, nil)
		if a.KKL != b.KKL || a.KTraj != b.KTraj || a.Null != b.Null {
			t.Errorf("%s: two runs of seed 3 differ: %v %v", name, a.KKL, b.KKL)
		}
		stop := errors.New("stop")
		if _, err := Run(context.Background(), e, func(int, float64) error { return stop }); !errors.Is(err, stop) {
			t.Errorf("%s: progress error gives %v", name, err)
		}
	}
}
