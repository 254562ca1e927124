package nb

import (
	"strings"
	"testing"
)

// digitRows against hand-computed pixels: two digits of two images each,
// scale 1, so the picture is 2*(8+1)+1 = 19 pixels square with grey lines
// at 0, 9 and 18; level(v) = round(127.5 (1 - v)).
func TestDigitRows(t *testing.T) {
	x := make([]float64, 4*64)
	for i := range x {
		x[i] = -1 // background: white
	}
	x[0] = 1         // digit row 0, image 0, pixel (0, 0): black
	x[64+9] = 0      // row 0, image 1, pixel (1, 1): 127.5 rounds to 128
	x[2*64+63] = 3   // row 1, image 0, pixel (7, 7): clipped to 1, black
	x[3*64+8] = -0.5 // row 1, image 1, pixel (1, 0): 191.25 rounds to 191
	img := digitRows(x, 2, 2, 1)
	if b := img.Bounds(); b.Dx() != 19 || b.Dy() != 19 {
		t.Fatalf("picture is %v, want 19 x 19", b)
	}
	want := map[[2]int]uint8{
		{1, 1}: 0, {11, 2}: 128, {8, 17}: 0, {10, 11}: 191, // the set pixels (x, y)
		{2, 1}: 255, {17, 17}: 255, // background
		{0, 0}: digitPad, {9, 5}: digitPad, {5, 18}: digitPad, // lines
	}
	for p, g := range want {
		r, _, _, _ := img.At(p[0], p[1]).RGBA()
		if uint8(r>>8) != g {
			t.Errorf("pixel (%d, %d) = %d, want %d", p[0], p[1], r>>8, g)
		}
	}
}

// DigitsGuidance at a small budget (a 128 x 128 network for 1500 steps, a
// 64 clean classifier for 400 steps and a 64 noise-conditional one for
// 1000, 10 samples per digit at w = 0 and 3 with 10 dpmpp-2m steps and 50
// Euler-Maruyama steps, classifier guidance at gamma = 4; about 3 s): the
// plumbing and the picture, and checks that fail when the pieces are wired
// wrongly. The classifiers' held-out accuracy must reach 0.85 (the run
// gives 0.95 clean, 0.94 noise-conditional at t = eps; chance is 0.1, and a
// classifier fed the wrong split, scaling, labels or time stays far
// below). Classifier guidance at gamma = 4 must reach 0.5 (the run: 0.97). Guidance at w = 3 must beat chance clearly, mean
// accuracy >= 0.6 (the runs give 0.85 and more): the samples of a
// label-blind or mis-labelled network would be judged right about 10 % of
// the time. And w = 3 must beat w = 0 by 0.15 with dpmpp-2m (the run: 0.50
// to 0.85; 100 samples each, so a standard error of about 0.05 a mean):
// guidance that does not reach the sampler changes nothing.
func TestDigitsGuidance(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two networks; skipped with -short")
	}
	o := DigitsGuidanceOptions{Hidden: []int{128, 128}, Steps: 1500, ClassifierHidden: []int{64}, ClassifierSteps: 400,
		Weights: []float64{0, 3}, PerClass: 10, Samplers: []string{"dpmpp-2m", "em"}, SamplerSteps: []int{10, 50},
		NoisyClassifierHidden: []int{64}, NoisyClassifierSteps: 1000, Scales: []float64{4}}
	r := DigitsGuidance(o)
	t.Logf("\n%v", r)
	if r.HeldOut < 0.85 {
		t.Errorf("held-out accuracy %.3f < 0.85", r.HeldOut)
	}
	if len(r.Runs) != 5 || r.Run("em", "classifier", 4) == nil || r.Run("em", "cfg", 3) == nil || r.Run("dpmpp-2m", "cfg", 0) == nil {
		t.Fatalf("%d runs, want dpmpp-2m and em at w = 0 and 3", len(r.Runs))
	}
	for _, smp := range []string{"dpmpp-2m", "em"} {
		if u := r.Run(smp, "cfg", 3); u.Mean < 0.6 {
			t.Errorf("%s w = 3: mean accuracy %.2f < 0.6", smp, u.Mean)
		}
	}
	if a, b := r.Run("dpmpp-2m", "cfg", 0).Mean, r.Run("dpmpp-2m", "cfg", 3).Mean; b < a+0.15 {
		t.Errorf("dpmpp-2m: mean accuracy %.2f at w = 0, %.2f at w = 3: guidance should add at least 0.15", a, b)
	}
	for _, u := range r.Runs {
		if len(u.X) != 10*10*64 {
			t.Fatalf("%s w = %g: %d values, want %d", u.Sampler, u.W, len(u.X), 10*10*64)
		}
		for _, v := range u.X {
			if !(v >= -1 && v <= 1) {
				t.Fatalf("%s w = %g: sample value %v outside [-1, 1]", u.Sampler, u.W, v)
			}
		}
	}
	if u := r.Run("em", "classifier", 4); u.Mean < 0.5 {
		t.Errorf("classifier guidance at gamma = 4: mean accuracy %.2f < 0.5", u.Mean)
	}
	if r.NoisyHeldOut < 0.85 {
		t.Errorf("noise-conditional classifier: held-out accuracy at t = eps %.3f < 0.85", r.NoisyHeldOut)
	}
	checkImage(t, "digits guidance", r.Image, 520, 870) // two CFG rows and the classifier row of 260 x 290 panels
	if s := r.String(); !strings.Contains(s, "held-out accuracy") || !strings.Contains(s, "dpmpp-2m") {
		t.Errorf("table:\n%s", s)
	}
	for k, a := range r.HeldOutPerClass {
		if !(a >= 0 && a <= 1) {
			t.Errorf("held-out accuracy of digit %d: %v (every digit is in digits-test)", k, a)
		}
	}
}
