package metrics

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// Hand-computed moments of four 2-D points: exact up to rounding (1e-15).
func TestMomentsByHand(t *testing.T) {
	x := []float64{0, 0, 2, 0, 0, 4, 2, 4} // mean (1, 2); deviations (+-1, +-2) independent
	m, c := Covariance(x, 2)
	want := []float64{4.0 / 3, 0, 0, 16.0 / 3} // sums of squares 4 and 16 over n-1 = 3
	if m[0] != 1 || m[1] != 2 {
		t.Fatalf("mean %v", m)
	}
	for i := range want {
		if math.Abs(c[i]-want[i]) > 1e-15 {
			t.Fatalf("cov %v want %v", c, want)
		}
	}
	if e := MeanError(x, 2, []float64{4, 6}); math.Abs(e-5) > 1e-15 {
		t.Errorf("MeanError %v want 5", e)
	}
	// C_hat - C = diag(1/3, 4/3) for C = diag(1, 4): |.|_F / |C|_F = sqrt(17/9)/sqrt(17) = 1/3.
	if e := CovarianceError(x, 2, []float64{1, 0, 0, 4}); math.Abs(e-1.0/3) > 1e-15 {
		t.Errorf("CovarianceError %v want 1/3", e)
	}
	if r := VarianceRatio(x, 2, []float64{1, 4}); math.Abs(r[0]-4.0/3) > 1e-15 || math.Abs(r[1]-4.0/3) > 1e-15 {
		t.Errorf("VarianceRatio %v", r)
	}
}

// MixtureMoments at t = 0 agrees with DataMoments on the diagonal (exact up to
// rounding; the mixtures have no SDE smoothing at t = 0 under VP) and with the
// covariance of 200000 exact draws of an asymmetric mixture within 4 standard
// errors (SE of a covariance entry <= sqrt(C_aa C_bb + C_ab^2)/sqrt(n)).
func TestMixtureMoments(t *testing.T) {
	vp := sde.NewVP()
	m3 := mix3(vp)
	for _, m := range []*score.Mixture{score.GMM8(vp), score.Gauss(vp, 3), m3} {
		mean, cov := MixtureMoments(m, 0)
		dm, dv := m.DataMoments()
		d := m.Dim()
		for j := 0; j < d; j++ {
			if math.Abs(mean[j]-dm[j]) > 1e-13 || math.Abs(cov[j*d+j]-dv[j]) > 1e-12 {
				t.Errorf("dim %d: %v %v vs DataMoments %v %v", j, mean[j], cov[j*d+j], dm[j], dv[j])
			}
		}
	}
	const n = 200000
	r := rand.New(rand.NewPCG(1, 1))
	d := m3.Dim()
	x := make([]float64, n*d)
	for i := 0; i < n; i++ {
		m3.SampleData(x[i*d:(i+1)*d], r)
	}
	mean, cov := MixtureMoments(m3, 0)
	_, c := Covariance(x, d)
	for a := 0; a < d; a++ {
		for b := 0; b < d; b++ {
			se := math.Sqrt((cov[a*d+a]*cov[b*d+b] + cov[a*d+b]*cov[a*d+b]) / n)
			// fourth moments of a mixture exceed the Gaussian ones; 3x the Gaussian SE covers them here
			if math.Abs(c[a*d+b]-cov[a*d+b]) > 4*3*se {
				t.Errorf("cov[%d][%d] = %v, exact %v (se %.2g)", a, b, c[a*d+b], cov[a*d+b], se)
			}
		}
	}
	if e := MeanError(x, d, mean); e > 4*math.Sqrt((cov[0]+cov[4]+cov[8])/n) {
		t.Errorf("mean error %v", e)
	}
	// Under VE at t = 0 the smoothing sigma_min^2 is added to the variance.
	ve := sde.NewVE()
	_, cv := MixtureMoments(score.Gauss(ve, 1), 0)
	if want := 0.04 + 1e-4; math.Abs(cv[0]-want) > 1e-15 {
		t.Errorf("VE variance %v want %v", cv[0], want)
	}
}

func mix3(s sde.SDE) *score.Mixture {
	m, err := score.NewMixture(s, []float64{0.2, 0.5, 0.3},
		[][]float64{{1, -1, 0.5}, {-2, 0.3, 0}, {0.1, 2, -1}},
		[][]float64{{0.3, 0.5, 1}, {0.8, 0.2, 0.4}, {0.5, 0.5, 0.5}})
	if err != nil {
		panic(err)
	}
	return m
}

func draw(m *score.Mixture, n int, r *rand.Rand) []float64 {
	d := m.Dim()
	x := make([]float64, n*d)
	for i := 0; i < n; i++ {
		m.SampleData(x[i*d:(i+1)*d], r)
	}
	return x
}

// LogProbGap is within 4 of its own standard errors of 0 for exact draws, and
// clearly negative (beyond 10 SE) for draws spread by 1.5 about the mean. For
// the Gaussian, draws shrunk by 0.5 give a clearly positive gap (beyond 10
// SE); for mixtures shrinking toward the global mean moves mass between the
// modes, so no sign is asserted. Gaussian case: closed-form entropy;
// mixtures: Monte Carlo with 20000 draws.
func TestLogProbGap(t *testing.T) {
	vp := sde.NewVP()
	r := rand.New(rand.NewPCG(2, 2))
	for name, m := range map[string]*score.Mixture{"gauss:4": score.Gauss(vp, 4), "gmm8": score.GMM8(vp), "mix3": mix3(vp)} {
		x := draw(m, 20000, r)
		g, se := LogProbGap(m, x, 20000, r)
		if math.Abs(g) > 4*se {
			t.Errorf("%s exact draws: gap %v (se %v)", name, g, se)
		}
		mean, _ := MixtureMoments(m, 0)
		for _, f := range []float64{1.5, 0.5} {
			y := append([]float64(nil), x...)
			for i := range y {
				j := i % m.Dim()
				y[i] = mean[j] + f*(y[i]-mean[j])
			}
			g, se := LogProbGap(m, y, 20000, r)
			if (f > 1 && g > -10*se) || (f < 1 && name == "gauss:4" && g < 10*se) {
				t.Errorf("%s scaled by %v: gap %v (se %v)", name, f, g, se)
			}
		}
	}
	// The closed form for one component against its own Monte Carlo: the
	// Gaussian path must equal what the mixture path would estimate.
	m := score.Gauss(vp, 3)
	x := draw(m, 1, r)
	g1, _ := LogProbGap(m, x, 0, nil)
	two, err := score.NewMixture(vp, []float64{1, 1}, [][]float64{m.Means[0], m.Means[0]}, [][]float64{m.Stds[0], m.Stds[0]})
	if err != nil {
		t.Fatal(err)
	}
	g2, se2 := LogProbGap(two, x, 200000, r)
	if math.Abs(g1-g2) > 4*se2 {
		t.Errorf("closed form %v, Monte Carlo %v (se %v)", g1, g2, se2)
	}
}

// 1-D W2 on small samples by hand. a = {0, 1}, b = {0, 1, 2}: quantile
// functions differ by 0 on (0,1/3), 1 on (1/2,2/3)... computed piecewise:
// (0,1/3): 0-0; (1/3,1/2): 0-1; (1/2,2/3): 1-1; (2/3,1): 1-2 ->
// 1/6 * 1 + 1/3 * 1 = 1/2. Exact up to rounding.
func TestW2Sorted1D(t *testing.T) {
	if w := W2Sorted1D([]float64{0, 1}, []float64{0, 1, 2}); math.Abs(w-0.5) > 1e-15 {
		t.Errorf("W2^2 = %v want 1/2", w)
	}
	if w := W2Sorted1D([]float64{1, 2, 3}, []float64{1, 2, 3}); w != 0 {
		t.Errorf("W2 of equal samples %v", w)
	}
	if w := W2Sorted1D([]float64{0, 1}, []float64{3, 4}); math.Abs(w-9) > 1e-15 {
		t.Errorf("shift by 3: W2^2 = %v want 9", w)
	}
}

// SlicedW2 of N(m, I) against N(0, I) in d = 4 with |m| = 2 tends to
// |m|/sqrt(d) = 1. With 20000 points per sample and 200 projections the
// estimate is within 0.05 (the sampling error of 1-D W2 between two samples of
// 20000 is about 0.02, and the projection average has relative error
// sqrt(Var((theta.m)^2))/E/sqrt(200) ~ 0.06 on the square, 0.03 on the root).
// Two samples of the same distribution give below 0.05.
func TestSlicedW2(t *testing.T) {
	const n, d = 20000, 4
	r := rand.New(rand.NewPCG(3, 3))
	x := make([]float64, n*d)
	y := make([]float64, n*d)
	z := make([]float64, n*d)
	for i := range x {
		x[i] = r.NormFloat64()
		y[i] = r.NormFloat64()
		z[i] = r.NormFloat64()
		if i%d == 0 {
			z[i] += 2
		}
	}
	if s := SlicedW2(x, z, d, 200, r); math.Abs(s-1) > 0.05 {
		t.Errorf("shifted: SW2 = %v want about 1", s)
	}
	if s := SlicedW2(x, y, d, 200, r); s > 0.05 {
		t.Errorf("same distribution: SW2 = %v", s)
	}
	if s := SlicedW2(x, x, d, 10, r); s != 0 {
		t.Errorf("identical samples: SW2 = %v", s)
	}
}

// Energy distance: by hand for point masses, 0 for identical samples, and the
// closed form for 1-D normals embedded in 2-D (second coordinate 0):
// for N(0,1) vs N(mu,1), E|X-Y| = E|W|, W ~ N(mu, 2), with
// E|W| = s sqrt(2/pi) exp(-mu^2/(2 s^2)) + mu (1 - 2 Phi(-mu/s)), s = sqrt 2, and
// E|X-X'| = 2/sqrt(pi). With 3000 points per sample the V-statistic's sampling
// error is about 0.01 for this distance; we allow 0.03.
func TestEnergyDistance(t *testing.T) {
	if e := EnergyDistance2D([]float64{0, 0}, []float64{3, 4}); math.Abs(e-10) > 1e-14 {
		t.Errorf("point masses: %v want 10", e)
	}
	x := []float64{0, 0, 1, 0, 5, 5}
	if e := EnergyDistance2D(x, []float64{5, 5, 0, 0, 1, 0}); math.Abs(e) > 1e-14 {
		t.Errorf("same set: %v", e)
	}
	const n = 3000
	r := rand.New(rand.NewPCG(4, 4))
	for _, mu := range []float64{0, 0.5, 1} {
		a := make([]float64, 2*n)
		b := make([]float64, 2*n)
		for i := 0; i < n; i++ {
			a[2*i] = r.NormFloat64()
			b[2*i] = mu + r.NormFloat64()
		}
		s := math.Sqrt2
		ew := s*math.Sqrt(2/math.Pi)*math.Exp(-mu*mu/(2*s*s)) + mu*(1-2*0.5*math.Erfc(mu/s/math.Sqrt2))
		want := 2*ew - 2*2/math.Sqrt(math.Pi)
		if e := EnergyDistance2D(a, b); math.Abs(e-want) > 0.03 || e < 0 {
			t.Errorf("mu = %v: energy distance %v want %v", mu, e, want)
		}
		// the general-d path agrees with the 2-D fast path (rounding only)
		if e1, e2 := EnergyDistance(a[:200], b[:200], 2), energyGeneric(a[:200], b[:200]); math.Abs(e1-e2) > 1e-12 {
			t.Errorf("2-D path %v, generic %v", e1, e2)
		}
	}
}

// energyGeneric treats 2-D data as 1 x 2 rows of a d = 2 problem through the
// generic loop by padding to d = 3 with zeros.
func energyGeneric(a, b []float64) float64 {
	pad := func(v []float64) []float64 {
		out := make([]float64, 0, len(v)/2*3)
		for i := 0; i < len(v); i += 2 {
			out = append(out, v[i], v[i+1], 0)
		}
		return out
	}
	return EnergyDistance(pad(a), pad(b), 3)
}

// ComponentWeights of exact draws are within 4 SE of the true weights, for
// gmm8 and for the overlapping, unequal mix3. A sample drawn only from
// component 1 of mix3 gets weight near 1 there (more than 0.9).
func TestComponentWeights(t *testing.T) {
	vp := sde.NewVP()
	r := rand.New(rand.NewPCG(5, 5))
	for name, m := range map[string]*score.Mixture{"gmm8": score.GMM8(vp), "mix3": mix3(vp)} {
		x := draw(m, 20000, r)
		w, se := ComponentWeights(m, x)
		for k := range w {
			if math.Abs(w[k]-m.Weights[k]) > 4*se[k] {
				t.Errorf("%s component %d: %v want %v (se %v)", name, k, w[k], m.Weights[k], se[k])
			}
		}
	}
	m := mix3(vp)
	one := make([]float64, 3000)
	for i := range one {
		one[i] = m.Means[1][i%3] + m.Stds[1][i%3]*r.NormFloat64()
	}
	if w, _ := ComponentWeights(m, one); w[1] < 0.9 {
		t.Errorf("component 1 only: weights %v", w)
	}
}

func TestShapePanics(t *testing.T) {
	for name, f := range map[string]func(){
		"ragged":     func() { Mean([]float64{1, 2, 3}, 2) },
		"empty":      func() { Mean(nil, 2) },
		"mean len":   func() { MeanError([]float64{1, 2}, 2, []float64{1}) },
		"no proj":    func() { SlicedW2([]float64{1}, []float64{1}, 1, 0, rand.New(rand.NewPCG(1, 1))) },
		"mc missing": func() { LogProbGap(score.GMM8(sde.NewVP()), []float64{1, 1}, 0, nil) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
