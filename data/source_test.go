package data

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// moments returns the sample mean and the sample covariance (row-major
// D x D, divided by n) of x, together with the standard error of each:
// sqrt(var/n) for the mean and the standard deviation of the products
// (x_i - m_i)(x_j - m_j) over sqrt(n) for the covariance.
func moments(x []float64, n, d int) (mean, meanSE, cov, covSE []float64) {
	mean = make([]float64, d)
	for i := range n {
		for j := range d {
			mean[j] += x[i*d+j]
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	cov = make([]float64, d*d)
	sq := make([]float64, d*d)
	for i := range n {
		for a := range d {
			for b := range d {
				p := (x[i*d+a] - mean[a]) * (x[i*d+b] - mean[b])
				cov[a*d+b] += p
				sq[a*d+b] += p * p
			}
		}
	}
	covSE = make([]float64, d*d)
	meanSE = make([]float64, d)
	for k := range cov {
		cov[k] /= float64(n)
		covSE[k] = math.Sqrt((sq[k]/float64(n) - cov[k]*cov[k]) / float64(n))
	}
	for j := range d {
		meanSE[j] = math.Sqrt(cov[j*d+j] / float64(n))
	}
	return mean, meanSE, cov, covSE
}

type momentSource interface {
	Source
	Mean() []float64
	Cov() []float64
}

// TestToyMoments compares sample moments of every toy source with its
// closed-form Mean and Cov. Tolerance: 4 standard errors (estimated from
// the sample); with a fixed seed the test is deterministic, and a wrong
// formula of relative size > ~1% fails at n = 200000.
func TestToyMoments(t *testing.T) {
	const n = 200000
	sources := []momentSource{
		GMM8{}, NewSwissRoll(), NewSwissRoll().Standardized(), SwissRoll{Noise: 0, Scale: 1},
		NewCheckerboard(), Checkerboard{Cells: 6, HalfWidth: 1.5}, NewMoons(), Moons{Noise: 0},
	}
	for si, src := range sources {
		t.Run(src.Name(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(42, uint64(si)))
			x := make([]float64, n*src.Dim())
			src.Sample(x, n, r)
			mean, meanSE, cov, covSE := moments(x, n, src.Dim())
			for j, m := range src.Mean() {
				if math.Abs(mean[j]-m) > 4*meanSE[j] {
					t.Errorf("%+v mean[%d] = %.5g, want %.5g +- 4*%.2g", src, j, mean[j], m, meanSE[j])
				}
			}
			for k, c := range src.Cov() {
				if math.Abs(cov[k]-c) > 4*covSE[k] {
					t.Errorf("%+v cov[%d] = %.5g, want %.5g +- 4*%.2g", src, k, cov[k], c, covSE[k])
				}
			}
		})
	}
}

// TestGMM8Moments checks gmm8 against moments derived by hand, with
// standard errors from the closed forms too. With m = 4 (cos a_k, sin a_k),
// a_k = 2 pi k/8, and x = m + 0.5 z:
//
//	E[x] = 0;  E[x1^2] = 16 E[cos^2 a] + 0.25 = 8 + 0.25
//	E[x1^4] = 256 E[cos^4 a] + 6 (8)(0.25) + 3 (0.0625) = 96 + 12 + 0.1875
//	  so Var(x1^2) = 108.1875 - 8.25^2 = 40.125
//	E[x1^2 x2^2] = 256 E[cos^2 a sin^2 a] + 0.25 (8 + 8) + 0.0625 = 32 + 4 + 0.0625
//	  so Var(x1 x2) = 36.0625
//
// (E cos^4 over the 8 angles is 3/8, E cos^2 sin^2 is 1/8.) Tolerance 4
// standard errors; the mean's estimation error enters the variance estimate
// only at O(1/n).
func TestGMM8Moments(t *testing.T) {
	const n = 200000
	r := rand.New(rand.NewPCG(7, 8))
	x := make([]float64, 2*n)
	GMM8{}.Sample(x, n, r)
	mean, _, cov, _ := moments(x, n, 2)
	fn := float64(n)
	checks := []struct {
		what      string
		got, want float64
		se        float64
	}{
		{"mean x1", mean[0], 0, math.Sqrt(8.25 / fn)},
		{"mean x2", mean[1], 0, math.Sqrt(8.25 / fn)},
		{"var x1", cov[0], 8.25, math.Sqrt(40.125 / fn)},
		{"var x2", cov[3], 8.25, math.Sqrt(40.125 / fn)},
		{"cov x1 x2", cov[1], 0, math.Sqrt(36.0625 / fn)},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 4*c.se {
			t.Errorf("%s = %.5g, want %.5g +- 4*%.2g", c.what, c.got, c.want, c.se)
		}
	}
	if got := (GMM8{}).Cov(); got[0] != 8.25 || got[3] != 8.25 || got[1] != 0 {
		t.Errorf("GMM8.Cov() = %v, want diag(8.25, 8.25)", got)
	}
}

func TestGMM8Components(t *testing.T) {
	const n = 80000
	x := make([]float64, 2*n)
	comp := make([]int, n)
	GMM8{}.SampleLabeled(x, comp, n, rand.New(rand.NewPCG(3, 4)))
	var count [8]int
	for i, k := range comp {
		count[k]++
		mx, my := GMM8Mean(k)
		// A point 7 std from its mean has probability exp(-49/2) ~ 2e-11.
		if math.Hypot(x[2*i]-mx, x[2*i+1]-my) > 7*GMM8Std {
			t.Fatalf("row %d: (%g, %g) is far from the mean of its component %d", i, x[2*i], x[2*i+1], k)
		}
	}
	// Pearson chi-square with 7 degrees of freedom; 24.32 is its 0.999 quantile.
	var chi2 float64
	e := float64(n) / 8
	for _, c := range count {
		chi2 += (float64(c) - e) * (float64(c) - e) / e
	}
	if chi2 > 24.32 {
		t.Errorf("component counts %v: chi2 = %.1f > 24.32 (p < 0.001)", count, chi2)
	}
	// Sample and SampleLabeled make the same draws.
	y := make([]float64, 2*n)
	GMM8{}.Sample(y, n, rand.New(rand.NewPCG(3, 4)))
	if !slices.Equal(x, y) {
		t.Error("Sample and SampleLabeled differ for the same seed")
	}
	// The means are exactly the reference ones.
	for k := range 8 {
		mx, my := GMM8Mean(k)
		a := 2 * math.Pi * float64(k) / 8
		if mx != 4*math.Cos(a) || my != 4*math.Sin(a) {
			t.Errorf("mean %d = (%v, %v)", k, mx, my)
		}
	}
}

func TestSwissRollAngles(t *testing.T) {
	const n = 100000
	s := SwissRoll{Noise: 0, Scale: 0.2}
	x := make([]float64, 2*n)
	s.Sample(x, n, rand.New(rand.NewPCG(5, 6)))
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	for i := range n {
		// Without noise |p| = Scale theta and p/|p| = (cos theta, sin theta).
		th := math.Hypot(x[2*i], x[2*i+1]) / s.Scale
		// Tolerance 1e-12 relative: a few roundings of theta.
		if th < SwissRollThetaMin*(1-1e-12) || th > SwissRollThetaMax*(1+1e-12) {
			t.Fatalf("row %d: theta = %v outside [1.5 pi, 4.5 pi]", i, th)
		}
		sn, cs := math.Sincos(th)
		if math.Abs(x[2*i]/(s.Scale*th)-cs) > 1e-9 || math.Abs(x[2*i+1]/(s.Scale*th)-sn) > 1e-9 {
			t.Fatalf("row %d: direction does not match theta = %v", i, th)
		}
		lo, hi, sum = min(lo, th), max(hi, th), sum+th
	}
	// theta ~ U[1.5 pi, 4.5 pi]: mean 3 pi, std 3 pi/sqrt(12); 4 standard
	// errors. The extremes of n uniforms fall within 20/n of the range ends
	// with probability 1 - 2 exp(-20).
	w := SwissRollThetaMax - SwissRollThetaMin
	if se := w / math.Sqrt(12*n); math.Abs(sum/n-3*math.Pi) > 4*se {
		t.Errorf("mean theta = %v, want 3 pi +- 4*%.2g", sum/n, se)
	}
	if lo-SwissRollThetaMin > 20*w/n || SwissRollThetaMax-hi > 20*w/n {
		t.Errorf("theta range [%v, %v] does not reach [1.5 pi, 4.5 pi]", lo, hi)
	}
	if c := NewSwissRoll().Standardized().Cov(); math.Abs((c[0]+c[3])/2-1) > 1e-14 {
		t.Errorf("Standardized: average variance %v, want 1", (c[0]+c[3])/2)
	}
}

func TestCheckerboardSupport(t *testing.T) {
	const n = 50000
	c := NewCheckerboard()
	x := make([]float64, 2*n)
	c.Sample(x, n, rand.New(rand.NewPCG(9, 9)))
	var count [4][4]int
	for i := range n {
		if !c.Dark(x[2*i], x[2*i+1]) {
			t.Fatalf("row %d: (%g, %g) not on a dark square", i, x[2*i], x[2*i+1])
		}
		count[int((x[2*i]+4)/2)][int((x[2*i+1]+4)/2)]++
	}
	// 8 dark squares, equally likely: chi-square, 7 degrees of freedom.
	var chi2 float64
	e := float64(n) / 8
	for i := range 4 {
		for j := range 4 {
			if (i+j)%2 == 0 {
				chi2 += (float64(count[i][j]) - e) * (float64(count[i][j]) - e) / e
			}
		}
	}
	if chi2 > 24.32 {
		t.Errorf("square counts %v: chi2 = %.1f > 24.32 (p < 0.001)", count, chi2)
	}
	// Closed form for the 4 x 4 board on [-4, 4]^2 (see Cov): Var = 64/12, Cov = 1.
	if got, want := c.Cov(), []float64{16.0 / 3, 1, 1, 16.0 / 3}; !slices.EqualFunc(got, want, func(a, b float64) bool { return math.Abs(a-b) < 1e-14 }) {
		t.Errorf("Cov() = %v, want %v", got, want)
	}
	if c.Dark(-3, 3) || !c.Dark(-3, -3) || !c.Dark(3, 3) || c.Dark(4, 0) {
		t.Error("Dark: wrong squares")
	}
}

func TestMoonsShape(t *testing.T) {
	const n = 20000
	x := make([]float64, 2*n)
	Moons{}.Sample(x, n, rand.New(rand.NewPCG(1, 1)))
	var upper int
	for i := range n {
		px, py := x[2*i], x[2*i+1]
		// Without noise a point lies on the unit circle (y >= 0) or on the
		// unit circle about (1, 1/2) (y <= 1/2); tolerance 1e-12.
		onUpper := math.Abs(math.Hypot(px, py)-1) < 1e-12 && py >= 0
		onLower := math.Abs(math.Hypot(px-1, py-0.5)-1) < 1e-12 && py <= 0.5
		if !onUpper && !onLower {
			t.Fatalf("row %d: (%g, %g) on neither moon", i, px, py)
		}
		if onUpper {
			upper++
		}
	}
	// Binomial(n, 1/2): 4 standard errors.
	if d := math.Abs(float64(upper) - n/2); d > 4*math.Sqrt(n/4.0) {
		t.Errorf("%d of %d on the upper moon", upper, n)
	}
}

func TestDigits(t *testing.T) {
	pix, labels, n, d, err := Digits()
	if err != nil {
		t.Fatal(err)
	}
	if n != 1797 || d != 64 || len(pix) != n*d || len(labels) != n {
		t.Fatalf("n = %d, d = %d, len(pix) = %d, len(labels) = %d", n, d, len(pix), len(labels))
	}
	for i, v := range pix {
		if v != math.Trunc(v) || v < 0 || v > 16 {
			t.Fatalf("pixel %d = %v, want an integer in 0..16", i, v)
		}
	}
	var count [10]int
	for _, l := range labels {
		count[l]++ // panics if outside 0..9
	}
	// Class counts of scikit-learn's load_digits().
	if want := [10]int{178, 182, 177, 183, 181, 182, 181, 179, 174, 180}; count != want {
		t.Errorf("class counts %v, want %v", count, want)
	}
	// The first image (a 0) as scikit-learn gives it.
	first := []float64{0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0, 0, 4, 12, 0, 0, 8, 8, 0,
		0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0, 0, 2, 14, 5, 10, 12, 0, 0, 0, 0, 6, 13, 10, 0, 0, 0}
	if !slices.Equal(pix[:64], first) || labels[0] != 0 {
		t.Error("first image differs from scikit-learn's")
	}
	pix[0] = 99 // a copy: must not change the embedded data
	if p2, _, _, _, _ := Digits(); p2[0] != 0 {
		t.Error("Digits returns shared storage")
	}
}

func TestDigitsScaling(t *testing.T) {
	const n = 500
	tests := []struct {
		src    DigitsSource
		lo, hi float64 // values in [lo, hi] (closed) or [lo, hi) (dequantised)
		levels float64 // without dequantisation, (x - lo)*levels is an integer 0..16
	}{
		{DigitsSource{Scaling: DigitsSymmetric}, -1, 1, 8},
		{DigitsSource{Scaling: DigitsUnit}, 0, 1, 16},
		{DigitsSource{Scaling: DigitsRaw}, 0, 16, 1},
		{DigitsSource{Scaling: DigitsSymmetric, Dequantize: true}, -1, 1, 0},
		{DigitsSource{Scaling: DigitsUnit, Dequantize: true}, 0, 1, 0},
		{DigitsSource{Scaling: DigitsRaw, Dequantize: true}, 0, 17, 0},
	}
	for _, tc := range tests {
		t.Run(tc.src.Scaling.String(), func(t *testing.T) {
			x := make([]float64, n*64)
			tc.src.Sample(x, n, rand.New(rand.NewPCG(2, 3)))
			var frac float64
			for _, v := range x {
				if v < tc.lo || v > tc.hi || (tc.src.Dequantize && v == tc.hi) {
					t.Fatalf("value %v outside the range [%v, %v]", v, tc.lo, tc.hi)
				}
				if tc.levels > 0 {
					// Tolerance 1e-12: one rounding of v/8 - 1 and the multiplication.
					if k := (v - tc.lo) * tc.levels; math.Abs(k-math.Round(k)) > 1e-12 {
						t.Fatalf("value %v is not a pixel level", v)
					}
				} else {
					k := (v - tc.lo) / (tc.hi - tc.lo) * 17
					frac += k - math.Floor(k)
				}
			}
			if tc.levels == 0 {
				// u ~ U[0, 1): mean 1/2, std 1/sqrt(12); 4 standard errors.
				m := frac / float64(len(x))
				if math.Abs(m-0.5) > 4/math.Sqrt(12*float64(len(x))) {
					t.Errorf("mean dequantisation offset %v, want 1/2", m)
				}
			}
		})
	}
}

func TestEmpirical(t *testing.T) {
	tab := &Table{N: 4, D: 2, X: []float64{0, 0, 1, 10, 2, 20, 3, 30}, Name: "pts.csv"}
	e, err := NewEmpirical(tab)
	if err != nil {
		t.Fatal(err)
	}
	if e.Name() != "pts.csv" || e.Dim() != 2 {
		t.Fatalf("Name %q Dim %d", e.Name(), e.Dim())
	}
	const n = 40000
	x := make([]float64, 2*n)
	e.Sample(x, n, rand.New(rand.NewPCG(1, 2)))
	var count [4]int
	for i := range n {
		k := int(x[2*i])
		if x[2*i+1] != 10*float64(k) {
			t.Fatalf("row %d = (%v, %v) is not a table row", i, x[2*i], x[2*i+1])
		}
		count[k]++
	}
	// Chi-square, 3 degrees of freedom; 16.27 is its 0.999 quantile.
	var chi2 float64
	for _, c := range count {
		chi2 += (float64(c) - n/4) * (float64(c) - n/4) / (n / 4)
	}
	if chi2 > 16.27 {
		t.Errorf("row counts %v: chi2 %.1f > 16.27", count, chi2)
	}
	if _, err := NewEmpirical(&Table{N: 0, D: 2, Name: "e.csv"}); err == nil || err.Error() != "data: e.csv: no rows" {
		t.Errorf("empty table: %v", err)
	}
}

func TestByName(t *testing.T) {
	dims := map[string]int{"gmm8": 2, "swissroll": 2, "checkerboard": 2, "moons": 2, "digits": 64, "digits-train": 64, "digits-test": 64}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			s, err := ByName(name)
			if err != nil {
				t.Fatal(err)
			}
			if s.Name() != name || s.Dim() != dims[name] {
				t.Fatalf("Name %q Dim %d", s.Name(), s.Dim())
			}
			// Reproducible from the seed; Sample does not allocate.
			a := make([]float64, 64*s.Dim())
			b := make([]float64, 64*s.Dim())
			s.Sample(a, 64, rand.New(rand.NewPCG(1, 2)))
			s.Sample(b, 64, rand.New(rand.NewPCG(1, 2)))
			if !slices.Equal(a, b) {
				t.Fatal("same seed, different samples")
			}
			r := rand.New(rand.NewPCG(1, 2))
			if allocs := testing.AllocsPerRun(20, func() { s.Sample(a, 64, r) }); allocs != 0 {
				t.Errorf("Sample allocates %v times per call", allocs)
			}
		})
	}
	_, err := ByName("gmm9")
	const want = `data: unknown source "gmm9"; valid names: gmm8, swissroll, checkerboard, moons, digits, digits-train, digits-test`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pts.npy")
	if err := Save(path, &Table{N: 2, D: 3, X: []float64{1, 2, 3, 4, 5, 6}}); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != path || s.Dim() != 3 {
		t.Errorf("Name %q Dim %d", s.Name(), s.Dim())
	}
	if s, err := Open("moons"); err != nil || s.Name() != "moons" {
		t.Errorf("Open(moons) = %v, %v", s, err)
	}
	_, err = Open("pts.txt")
	const want = `data: unknown source "pts.txt"; use one of gmm8, swissroll, checkerboard, moons, digits, digits-train, digits-test, or a file ending in .csv or .npy`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if _, err := Open(filepath.Join(dir, "none.csv")); err == nil {
		t.Error("missing file opened")
	}
	os.Remove(path)
}
