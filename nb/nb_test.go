package nb

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/data"
)

// checkImage fails unless img is w x h pixels and survives a PNG round trip.
func checkImage(t *testing.T, what string, img image.Image, w, h int) {
	t.Helper()
	if img == nil {
		t.Fatalf("%s: nil image", what)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("%s: image is %d x %d, want %d x %d", what, b.Dx(), b.Dy(), w, h)
	}
	back, err := png.Decode(bytes.NewReader(PNG(img)))
	if err != nil {
		t.Fatalf("%s: PNG round trip: %v", what, err)
	}
	if back.Bounds() != img.Bounds() {
		t.Errorf("%s: PNG round trip changed the bounds", what)
	}
}

func TestSchedules(t *testing.T) {
	checkImage(t, "Schedules", Schedules(), 1050, 330)
	tab := MarginalTable([]float64{0, 0.5, 1})
	if got := len(strings.Split(strings.TrimSpace(tab), "\n")); got != 4 {
		t.Errorf("MarginalTable has %d lines, want a header and 3 rows:\n%s", got, tab)
	}
	// VP at t = 1: c = exp(-(20 - 0.1)/4 - 0.05), the reference's closed form.
	if !strings.Contains(tab, "0.006572") {
		t.Errorf("MarginalTable lacks VP c(1) = 0.006572:\n%s", tab)
	}
}

func TestForward(t *testing.T) {
	times := []float64{0.1, 0.5, 1}
	for _, name := range SDENames {
		r := Forward(name, times, 500, 200, 3)
		checkImage(t, "Forward "+name, r.Image, 220*len(times), 440)
		if len(r.Stats) != len(times) {
			t.Fatalf("%s: %d stats for %d times", name, len(r.Stats), len(times))
		}
		for _, s := range r.Stats {
			if !finiteAll([]float64{s.M2Sim, s.M2SimSE, s.M2Exact, s.Z}) || !(s.M2SimSE > 0) {
				t.Errorf("%s t=%v: non-finite statistics %+v", name, s.T, s)
			}
		}
		// 200 Euler-Maruyama steps: the weak error in the second moment is
		// O(dt) relative, well under the Monte Carlo error of 500 particles,
		// so |z| > 4.5 would be a bug (chance < 1e-4 per test).
		if z := r.MaxAbsZ(); z > 4.5 {
			t.Errorf("%s: simulated moments %.1f standard errors from the closed form\n%v", name, z, r)
		}
		if !strings.Contains(r.String(), "closed form") {
			t.Errorf("%s: String lacks its header", name)
		}
	}
}

func TestDDPMSchedule(t *testing.T) {
	r := DDPMSchedule(1000)
	checkImage(t, "DDPMSchedule", r.Image, 1050, 330)
	// First order in 1/N; the fit over N = 30..10000 is within 0.05 of -1.
	if math.Abs(r.Slope+1) > 0.05 {
		t.Errorf("slope %v, want -1 +- 0.05", r.Slope)
	}
	for _, g := range r.Gaps {
		if g.N == 1000 {
			// DDPM's schedule exactly, up to rounding of the linspace.
			if math.Abs(g.BetaFirst-1e-4) > 1e-18 || math.Abs(g.BetaLast-0.02) > 1e-17 {
				t.Errorf("N = 1000: betas %v .. %v, want 1e-4 .. 0.02", g.BetaFirst, g.BetaLast)
			}
			if g.MaxAlphaBarGap > 1e-3 {
				t.Errorf("N = 1000: alpha-bar gap %v, want < 1e-3", g.MaxAlphaBarGap)
			}
		}
	}
}

func TestDDPMAgreement(t *testing.T) {
	r := DDPMAgreement([]int{30, 300}, 200, 1)
	checkImage(t, "DDPMAgreement", r.Image, 200*4+400, 280)
	for k, s := range r.Slopes {
		// Paired samples converge: RMS falls by a factor of 10^0.3 or more
		// over a decade of steps (observed slopes -0.7 .. -1.1).
		if !(s < -0.3) {
			t.Errorf("%s: slope %v, want < -0.3", k, s)
		}
	}
	if len(r.Runs) != 4 {
		t.Fatalf("%d runs at the largest step count, want 4", len(r.Runs))
	}
	for _, run := range r.Runs {
		if run.Metrics.ModeTV > 0.15 { // n = 200: the multinomial noise alone is about 0.06
			t.Errorf("%s: mode TV %v", run.Sampler, run.Metrics.ModeTV)
		}
	}
}

func TestSamplers(t *testing.T) {
	r := Samplers("gmm8", "vp", []string{"em", "ddim", "ode"}, []int{20, 200}, 400, 1)
	checkImage(t, "Samplers", r.Image, 400, 600)
	checkImage(t, "MetricPlot", r.MetricPlot(), 1000, 380)
	if len(r.Runs) != 5 { // ode runs once
		t.Fatalf("%d runs, want 5", len(r.Runs))
	}
	for _, run := range r.Runs {
		m := run.Metrics
		if !finiteAll([]float64{m.MeanErr, m.CovErr, m.ModeTV, m.LogProbGap, m.LogProbGapSE, m.SlicedW2, m.SlicedW2Floor,
			m.Energy, m.EnergyFloor, m.HistTV, m.HistTVFloor, run.NFE}) {
			t.Errorf("%s/%d: non-finite metrics %v", run.Sampler, run.Steps, m)
		}
		if len(run.X) != 2*400 {
			t.Errorf("%s/%d: %d values, want 800", run.Sampler, run.Steps, len(run.X))
		}
	}
	// At 200 steps the exact score gives p_0 up to the sampling noise of 400
	// points (mode TV noise about 0.04, relative covariance noise about 0.07).
	for _, sp := range []string{"em", "ddim"} {
		m := r.Run(sp, 200).Metrics
		if m.ModeTV > 0.12 || m.CovErr > 0.25 {
			t.Errorf("%s at 200 steps: %v", sp, m)
		}
	}
	if nfe := r.Run("em", 200).NFE; nfe != 200 {
		t.Errorf("em at 200 steps: NFE %v, want 200", nfe)
	}
	if r.Run("ode", 0) == nil {
		t.Errorf("the adaptive ode run is missing")
	}
	x := Sample("gauss:3", "ve", "em", 50, 10, 1)
	if len(x) != 30 || !finiteAll(x) {
		t.Errorf("Sample gauss:3: %v", x)
	}
	checkImage(t, "Scatter", Scatter(x, 3, "x", 0, 200), 200, 200)
}

func TestMetricsOracles(t *testing.T) {
	ref := mixtureRef(mustProblem("gmm8", mustSDE("vp")))
	// gmm8: mean 0, covariance (16/2 + 0.25) I = 8.25 I.
	want := []float64{8.25, 0, 0, 8.25}
	for i, v := range ref.cov {
		if math.Abs(v-want[i]) > 1e-12 {
			t.Errorf("gmm8 covariance %v, want %v", ref.cov, want)
			break
		}
	}
	x := ref.draw(300, 9)
	if d := histTV(x, x, 2); d != 0 {
		t.Errorf("histTV of a sample with itself = %v", d)
	}
	// Moving every point out of the reference's box puts all mass in the
	// overflow bin: TV 1.
	y := append([]float64(nil), x...)
	for i := range y {
		y[i] += 1000
	}
	if d := histTV(y, x, 2); math.Abs(d-1) > 1e-12 { // sums of 1/n: rounding only
		t.Errorf("histTV of disjoint samples = %v, want 1", d)
	}
	m := ref.compare(x)
	if !(m.SlicedW2Floor > 0) || !(m.EnergyFloor > 0) || !(m.HistTVFloor > 0) || m.ModeTV > 0.15 ||
		math.Abs(m.LogProbGap) > 5*m.LogProbGapSE {
		t.Errorf("an exact sample: %v", m)
	}
	if !strings.Contains(m.String(), "mode TV") {
		t.Errorf("String of mixture metrics lacks the mode TV: %v", m)
	}
}

func TestLikelihood(t *testing.T) {
	r := Likelihood("gmm8", "vp", 40, 1)
	checkImage(t, "Likelihood check", r.ImageCheck, 760, 340)
	checkImage(t, "Likelihood probe", r.ImageProbe, 760, 340)
	// dopri5 at 1e-5 on gmm8: the ODE's log p_eps is within 0.01 nats of the
	// mixture's exact value (observed 2e-3).
	if r.MaxAbsErr > 0.01 {
		t.Errorf("max |log p_ODE - log p_eps| = %v", r.MaxAbsErr)
	}
	if math.Abs(r.BPDExact-r.BPDOracle) > 0.01 {
		t.Errorf("bits/dim %v, oracle %v", r.BPDExact, r.BPDOracle)
	}
	if len(r.Hutchinson) != 6 {
		t.Fatalf("%d Hutchinson runs, want 6", len(r.Hutchinson))
	}
	for _, h := range r.Hutchinson {
		if !finiteAll([]float64{h.Bias, h.BiasSE, h.Std, h.MeanNFE}) || !(h.Std > 0) {
			t.Errorf("%s K=%d: %+v", h.Probe, h.K, h)
		}
	}
	// Rademacher probes are never worse than Gaussian ones on the same points.
	if r.Hutch("rademacher", 1).Std > r.Hutch("gaussian", 1).Std {
		t.Errorf("Rademacher spread %v above Gaussian %v", r.Hutch("rademacher", 1).Std, r.Hutch("gaussian", 1).Std)
	}
	// A diagonal Gaussian has a diagonal score Jacobian: Rademacher is exact.
	g := Likelihood("gauss:4", "subvp", 20, 2)
	if s := g.Hutch("rademacher", 1).Std; s > 1e-9 {
		t.Errorf("gauss:4 Rademacher spread %v, want 0", s)
	}
}

func TestTrain(t *testing.T) {
	r := TrainSwissRoll(TrainOptions{Steps: 300, Hidden: []int{32, 32}})
	checkImage(t, "loss", r.Image, 560, 300)
	if len(r.Loss) != 300 || !finiteAll(r.Loss) {
		t.Fatalf("loss: %d values, finite %v", len(r.Loss), finiteAll(r.Loss))
	}
	first, _ := meanSE(r.Loss[:30])
	last, _ := meanSE(r.Loss[270:])
	if !(last < first) {
		t.Errorf("loss did not fall: first 30 steps %v, last 30 %v", first, last)
	}
	if !strings.Contains(r.String(), "Swiss roll") {
		t.Errorf("String: %s", r)
	}
	s := r.Sample("em", 30, 100, 2)
	checkImage(t, "samples", s.Image, 600, 300)
	if len(s.X) != 200 || !finiteAll(s.X) || s.NFE != 30 {
		t.Errorf("samples: %d values, NFE %v", len(s.X), s.NFE)
	}
	ll := r.LogLikelihood(10, 3)
	if !finiteAll([]float64{ll.LogP, ll.LogPSE, ll.BPD, ll.Gaussian, ll.MeanNFE}) {
		t.Errorf("likelihood: %v", ll)
	}
	d := r.Density(6)
	checkImage(t, "density", d.Image, 600, 300)
	if len(d.LogP) != 36 || !finiteAll(d.LogP) {
		t.Errorf("density: %v", d.LogP)
	}
}

// The SD15 helpers at small budgets: finite numbers, the two estimates of K
// within 4 combined standard errors of each other, K below the true
// log-likelihood (3 SE), and pictures of the stated size.
func TestSD15Helpers(t *testing.T) {
	for _, res := range []*SD15Result{Heartbeat(50, 300, 1), SwissRollSD15(300, 1)} {
		for _, v := range []float64{res.KKL.Mean, res.KKL.StdErr, res.KTraj.Mean, res.KTraj.StdErr, res.True.Mean, res.True.StdErr, res.Null} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s: a non-finite estimate: %v", res.Name, res)
			}
		}
		se := math.Hypot(res.KKL.StdErr, res.KTraj.StdErr)
		if math.Abs(res.KKL.Mean-res.KTraj.Mean) > 4*se {
			t.Errorf("%s: K %v by KL terms, %v by trajectories", res.Name, res.KKL, res.KTraj)
		}
		if res.KKL.Mean > res.True.Mean+3*math.Hypot(res.KKL.StdErr, res.True.StdErr) {
			t.Errorf("%s: K %v above the true log-likelihood %v", res.Name, res.KKL, res.True)
		}
		if b := res.Image.Bounds(); b.Dx() != 800 {
			t.Errorf("%s: image %v", res.Name, b)
		}
		if !strings.Contains(res.String(), "K - L_null") {
			t.Errorf("%s: String() = %q", res.Name, res.String())
		}
	}
}

// Guidance on gmm8 with the exact oracle: every run at least 99 % nearest
// the class (the target), classifier guidance at scale 1 + w lands
// where CFG at w does (the same score up to rounding, the same draws: the
// projections agree to 1e-6), and w = 0 matches the conditional marginal's
// projection within 4 standard errors of 1000 samples.
func TestGuidance(t *testing.T) {
	r := Guidance(2, []float64{0, 2}, []string{"ode", "em"}, 1000, 1)
	if len(r.Runs) != 6 {
		t.Fatalf("%d runs, want 6", len(r.Runs))
	}
	for _, u := range r.Runs {
		if u.Nearest < 0.99 {
			t.Errorf("%s %s w=%g: %.3f nearest", u.Sampler, u.Mode, u.W, u.Nearest)
		}
	}
	for _, w := range []float64{0, 2} {
		a, b := r.Run("ode", "cfg", w), r.Run("ode", "classifier", w)
		if math.Abs(a.Radius-b.Radius) > 1e-6 || math.Abs(a.RadVar-b.RadVar) > 1e-6 {
			t.Errorf("w=%g: CFG radius %v var %v, classifier %v %v", w, a.Radius, a.RadVar, b.Radius, b.RadVar)
		}
	}
	u := r.Run("em", "cfg", 0)
	if math.Abs(u.Radius-r.ExactRadius) > 4*math.Sqrt(r.ExactRadVar/1000) {
		t.Errorf("em w=0 radius %v, exact %v", u.Radius, r.ExactRadius)
	}
	checkImage(t, "guidance", r.Image, 480, 720)
	if !strings.Contains(r.String(), "classifier") {
		t.Errorf("table: %s", r)
	}
}

// The Gaussian case: samples follow the exact laws, not the tilted density
// (score's TestCFGSamplesGuidedLawNotTilted is the full test; here the
// notebook's numbers: ode's and em's variances within 5 standard errors of
// 2000 samples of their laws).
func TestGaussianGuidance(t *testing.T) {
	r := GaussianGuidance([]float64{1}, 2000, 1)
	u := r.Rows[0]
	for j := 0; j < 2; j++ {
		se := math.Sqrt(2.0 / 1999)
		if math.Abs(u.ODESamples[j]-u.FlowLaw[j]) > 5*se*u.FlowLaw[j] || math.Abs(u.EMSamples[j]-u.SDELaw[j]) > 5*se*u.SDELaw[j] {
			t.Errorf("[%d]: ode %v (law %v), em %v (law %v)", j, u.ODESamples[j], u.FlowLaw[j], u.EMSamples[j], u.SDELaw[j])
		}
	}
	checkImage(t, "gaussian guidance", r.Image, 700, 450)
}

// TestLatent runs the latent notebook's helper on a small budget: the
// picture has its four rows of 16 digits, the samples are finite, and the
// held-out reconstruction error is below half the error of the best
// constant reconstruction (each pixel's held-out mean, i.e. the pixels'
// variance), which an autoencoder that learned nothing would not beat.
func TestLatent(t *testing.T) {
	res := Latent(8, 300, 200, 32, 1)
	checkImage(t, "latent", res.Image, 16*9*8, 4*9*8)
	for i, v := range res.Samples {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("decoded sample value %d is %v", i, v)
		}
	}
	test, _ := data.ByName("digits-test")
	tab, _ := test.(data.DigitsSource).Table()
	var variance float64
	for j := 0; j < 64; j++ {
		var m, m2 float64
		for i := 0; i < tab.N; i++ {
			v := tab.X[i*64+j]
			m += v
			m2 += v * v
		}
		m /= float64(tab.N)
		variance += m2/float64(tab.N) - m*m
	}
	variance /= 64
	if res.RecTest > variance/2 {
		t.Errorf("held-out reconstruction error %.3f per pixel, want below half the pixel variance %.3f", res.RecTest, variance)
	}
	t.Logf("%v\npixel variance %.3f", res, variance)
}
