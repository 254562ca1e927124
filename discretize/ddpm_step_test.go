package discretize_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

func schedule(t *testing.T, n int) *discretize.DDPM {
	t.Helper()
	d, err := discretize.FromVP(sde.NewVP(), n)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// ScoreEps against the closed form for Gaussian data: eps = -s (c mu - x)/v
// with v = c^2 s0^2 + s^2 at t_i = (i+1)/N. Same arithmetic up to rounding:
// 1e-13 relative.
func TestScoreEpsClosedForm(t *testing.T) {
	vp := sde.NewVP()
	g := score.Gauss(vp, 3)
	e := discretize.NewScoreEps(g, vp, 1000)
	x := []float64{0.3, -1, 2, 0.1, 0.2, 0.3}
	idx := []int{0, 517}
	got := make([]float64, 6)
	e.EpsTo(got, x, idx)
	for r, i := range idx {
		c, s := vp.Marginal(float64(i+1) / 1000)
		for j := 0; j < 3; j++ {
			v := c*c*g.Stds[0][j]*g.Stds[0][j] + s*s
			want := -s * (c*g.Means[0][j] - x[r*3+j]) / v
			if math.Abs(got[r*3+j]-want) > 1e-13*math.Max(1, math.Abs(want)) {
				t.Errorf("row %d dim %d: eps %v want %v", r, j, got[r*3+j], want)
			}
		}
	}
	if e.Dim() != 3 {
		t.Errorf("Dim %d", e.Dim())
	}
	// Steady state: no allocation once the pool holds a buffer (with a score
	// that does not allocate itself).
	e2 := discretize.NewScoreEps(zeroScore{3}, vp, 1000)
	if a := testing.AllocsPerRun(100, func() { e2.EpsTo(got, x, idx) }); a != 0 {
		t.Errorf("EpsTo allocates %v times per call", a)
	}
}

// The mean of Algorithm 2 is the posterior mean of q(x_{i-1} | x_i, x_0)
// (DDPM eq. 7) at Tweedie's x_0 = (x_i - sqrt(1 - ab_i) eps)/sqrt(ab_i): the
// two forms agree to rounding (1e-12) at every step; beta-tilde_i is the
// posterior variance of eq. 7, and sigma is zero at i = 0.
func TestAncestralIsPosteriorMean(t *testing.T) {
	d := schedule(t, 1000)
	x, eps := 0.7, -1.3
	for _, i := range []int{0, 1, 10, 500, 999} {
		a, b, sigma := d.AncestralCoefs(i, discretize.Beta)
		ab := d.AlphaBars[i]
		abPrev := 1.0
		if i > 0 {
			abPrev = d.AlphaBars[i-1]
		}
		x0 := (x - math.Sqrt(1-ab)*eps) / math.Sqrt(ab)
		mu := math.Sqrt(abPrev)*d.Betas[i]/(1-ab)*x0 + math.Sqrt(d.Alphas[i])*(1-abPrev)/(1-ab)*x
		if got := a*x - b*eps; math.Abs(got-mu) > 1e-12 {
			t.Errorf("i=%d: mean %v, posterior mean %v", i, got, mu)
		}
		_, _, st := d.AncestralCoefs(i, discretize.BetaTilde)
		postVar := (1 - abPrev) / (1 - ab) * d.Betas[i]
		if i == 0 {
			if sigma != 0 || st != 0 {
				t.Errorf("i=0: sigma %v %v, want no noise", sigma, st)
			}
			continue
		}
		if math.Abs(st*st-postVar) > 1e-15 || math.Abs(sigma*sigma-d.Betas[i]) > 1e-15 {
			t.Errorf("i=%d: sigma^2 %v / %v want %v / %v", i, sigma*sigma, st*st, d.Betas[i], postVar)
		}
	}
}

// DDIM with eta = 0, written in xbar = x/sqrt(ab), is an Euler step in
// sigma = sqrt((1 - ab)/ab): xbar_j = xbar_i + (sigma_j - sigma_i) eps (DDIM eq.
// 14). Exact identity up to rounding (1e-12), for jumps of 1 and 37 steps and
// the final jump to x_0 (sigma = 0).
func TestDDIMIsEulerInSigma(t *testing.T) {
	d := schedule(t, 1000)
	sig := func(i int) float64 {
		if i < 0 {
			return 0
		}
		return math.Sqrt((1 - d.AlphaBars[i]) / d.AlphaBars[i])
	}
	ab := func(i int) float64 {
		if i < 0 {
			return 1
		}
		return d.AlphaBars[i]
	}
	x, eps := 0.4, 0.9
	for _, p := range [][2]int{{999, 998}, {600, 563}, {40, -1}, {0, -1}} {
		i, j := p[0], p[1]
		cx, ce, s := d.DDIMCoefs(i, j, 0)
		if s != 0 {
			t.Errorf("eta = 0 has noise %v", s)
		}
		got := (cx*x + ce*eps) / math.Sqrt(ab(j))
		want := x/math.Sqrt(ab(i)) + (sig(j)-sig(i))*eps
		if math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("%d -> %d: %v want %v", i, j, got, want)
		}
	}
}

// zeroScore is a score that is 0 everywhere and allocates nothing.
type zeroScore struct{ d int }

func (z zeroScore) Dim() int { return z.d }
func (z zeroScore) ScoreTo(dst, x, t []float64) {
	for i := range dst[:len(t)*z.d] {
		dst[i] = 0
	}
}

// DDIM with eta = 1 from step i to i-1 is DDPM's step with sigma^2 =
// beta-tilde_i: the coefficients agree to rounding (1e-12 relative) at every
// step of a 1000-step schedule, and so do the steps themselves with the same
// eps and z. Every chain is a composition of these steps drawing noise only
// where sigma > 0 (not at i = 0 for either), so DDIM with eta = 1 on the full
// sequence is DDPM with beta-tilde.
func TestDDIMEta1IsDDPMBetaTilde(t *testing.T) {
	d := schedule(t, 1000)
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }
	x, eps, z := []float64{0.7, -2}, []float64{-1.3, 0.4}, []float64{0.25, -1.1}
	y1, y2 := make([]float64, 2), make([]float64, 2)
	for i := 0; i < d.N(); i++ {
		a, b, s := d.AncestralCoefs(i, discretize.BetaTilde)
		cx, ce, sd := d.DDIMCoefs(i, i-1, 1)
		if !near(cx, a) || !near(ce, -b) || !near(sd, s) {
			t.Fatalf("i=%d: DDIM (%v, %v, %v), DDPM beta-tilde (%v, %v, %v)", i, cx, ce, sd, a, -b, s)
		}
		if (s == 0) != (i == 0) || (sd == 0) != (i == 0) {
			t.Fatalf("i=%d: sigma %v / %v; only step 0 is noise-free", i, s, sd)
		}
		d.AncestralStepTo(y1, x, eps, z, i, discretize.BetaTilde)
		d.DDIMStepTo(y2, x, eps, z, i, i-1, 1)
		for k := range y1 {
			if !near(y2[k], y1[k]) {
				t.Fatalf("i=%d value %d: DDIM step %v, DDPM step %v", i, k, y2[k], y1[k])
			}
		}
	}
}

// affine is a step x' = A x + B + C z in one dimension.
type affine struct{ A, B, C float64 }

// moments propagates the mean and variance of N(0, 1) through the steps.
func moments(steps []affine) (m, v float64) {
	m, v = 0, 1
	for _, s := range steps {
		m = s.A*m + s.B
		v = s.A*s.A*v + s.C*s.C
	}
	return m, v
}

// chainRecursion returns the affine steps of a chain on Gaussian data with
// mean mu and variance v0 in one dimension, written from the papers' formulas
// (not from the package's coefficient functions): eps(x, i) = Ae x + Be from
// the exact score of the chain's own marginal N(sqrt(ab_i) mu, ab_i v0 +
// 1 - ab_i) (onChain), or of the SDE's at t_i = (i+1)/N.
func chainRecursion(d *discretize.DDPM, mu, v0 float64, ddim bool, eta float64, seq []int, tilde, onChain bool) []affine {
	vp := sde.NewVP()
	n := d.N()
	var out []affine
	for k := len(seq) - 1; k >= 0; k-- {
		i := seq[k]
		c, s := vp.Marginal(float64(i+1) / float64(n))
		if onChain {
			c, s = math.Sqrt(d.AlphaBars[i]), math.Sqrt(1-d.AlphaBars[i])
		}
		v := c*c*v0 + s*s
		ae, be := s/v, -s*c*mu/v
		ab := d.AlphaBars[i]
		var cx, ce, sig float64
		if ddim {
			abj := 1.0
			if k > 0 {
				abj = d.AlphaBars[seq[k-1]]
			}
			sig = eta * math.Sqrt((1-abj)/(1-ab)*(1-ab/abj))
			cx = math.Sqrt(abj / ab)
			ce = math.Sqrt(math.Max(1-abj-sig*sig, 0)) - cx*math.Sqrt(1-ab)
		} else {
			cx = 1 / math.Sqrt(d.Alphas[i])
			ce = -d.Betas[i] / math.Sqrt(1-ab) / math.Sqrt(d.Alphas[i])
			if i > 0 {
				sig = math.Sqrt(d.Betas[i])
				if tilde {
					sig = math.Sqrt(d.Betas[i] * (1 - d.AlphaBars[i-1]) / (1 - ab))
				}
			}
		}
		out = append(out, affine{cx + ce*ae, ce * be, sig})
	}
	return out
}

// Every chain is affine in x for Gaussian data, so its output moments follow
// the exact recursion above. The library's loop (sample.Generate with the ddpm
// and ddim samplers, which run AncestralStepTo and DDIMStepTo with ScoreEps)
// draws 20000 rows of gauss:3 (stds 0.2, 0.5, 0.8) with a coarse schedule N =
// 100 (where the chain's moments differ visibly from the data's); they must
// match the recursion within 4 standard errors per dimension: SE(mean) =
// sqrt(v/n), SE(var) = v sqrt(2/(n-1)) (the output is Gaussian). Each
// case runs on the chain's own marginals (the default for an exact score)
// and on the SDE's (eps-marginal sde), against the recursion of its own
// eps; N = 100 puts the two recursions' variances 4-7% apart, many standard
// errors, so a case run on the wrong marginals fails.
func TestChainMomentsMatchRecursion(t *testing.T) {
	const n, dim, N = 20000, 3, 100
	d := schedule(t, N)
	vp := sde.NewVP()
	g := score.Gauss(vp, dim)
	seq20, _ := discretize.DDIMSequence(N, 20)
	full, _ := discretize.DDIMSequence(N, N)
	cases := []struct {
		name  string
		cfg   sample.Config
		seq   []int
		ddim  bool
		tilde bool
	}{
		{"ddpm beta", sample.Config{Sampler: &sample.DDPM{Steps: N, Variance: "beta"}}, full, false, false},
		{"ddpm beta-tilde", sample.Config{Sampler: &sample.DDPM{Steps: N, Variance: "beta-tilde"}}, full, false, true},
		{"ddim eta=0 S=20", sample.Config{Sampler: &sample.DDIM{Steps: 20, DDPMSteps: N}}, seq20, true, false},
		{"ddim eta=0.5 S=20", sample.Config{Sampler: &sample.DDIM{Steps: 20, DDPMSteps: N, Eta: 0.5}}, seq20, true, false},
		{"ddim eta=1 S=100", sample.Config{Sampler: &sample.DDIM{Steps: N, DDPMSteps: N, Eta: 1}}, full, true, false},
	}
	for _, tc := range cases[:len(cases):len(cases)] {
		switch s := tc.cfg.Sampler.(type) {
		case *sample.DDPM:
			c := *s
			c.Marginal = sample.MarginalSDE
			tc.cfg.Sampler = &c
		case *sample.DDIM:
			c := *s
			c.Marginal = sample.MarginalSDE
			tc.cfg.Sampler = &c
		}
		tc.name += " sde-marginals"
		cases = append(cases, tc)
	}
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	for _, tc := range cases {
		tc.cfg.SDE, tc.cfg.Score = vp, g
		onChain := !strings.HasSuffix(tc.name, "sde-marginals")
		var eta float64
		if dd, ok := tc.cfg.Sampler.(*sample.DDIM); ok {
			eta = dd.Eta
		}
		x := make([]float64, n*dim)
		st, err := sample.Generate(context.Background(), tc.cfg, 11, rows, x, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.NFE[0] != len(tc.seq) {
			t.Errorf("%s: %d evaluations per row, want %d", tc.name, st.NFE[0], len(tc.seq))
		}
		for j := 0; j < dim; j++ {
			mu, v0 := g.Means[0][j], g.Stds[0][j]*g.Stds[0][j]
			wm, wv := moments(chainRecursion(d, mu, v0, tc.ddim, eta, tc.seq, tc.tilde, onChain))
			var sm, sv float64
			for i := 0; i < n; i++ {
				sm += x[i*dim+j]
			}
			sm /= n
			for i := 0; i < n; i++ {
				sv += (x[i*dim+j] - sm) * (x[i*dim+j] - sm)
			}
			sv /= n - 1
			if math.Abs(sm-wm) > 4*math.Sqrt(wv/n) || math.Abs(sv-wv) > 4*wv*math.Sqrt(2.0/(n-1)) {
				t.Errorf("%s dim %d: sample mean %.5f var %.5f, recursion %.5f %.5f", tc.name, j, sm, sv, wm, wv)
			}
			if j == 0 {
				t.Logf("%s dim 0: recursion var %.5f, data var %.5f", tc.name, wv, v0)
			}
		}
	}
}

// limits returns the moments at t = 0 of the continuous processes the chains
// discretise, started from N(0, 1) at T = 1 instead of p_T (one dimension,
// data N(mu, v0), VP marginal c, s at T, v_T = c^2 v0 + s^2):
//
//   - reverse SDE (DDPM): the deviation from the exact marginal, delta = m - c mu,
//     obeys d delta/dt = (a + g^2/v) delta = (d log v - d log c) delta, so
//     delta_0 = delta_T c_T v0/v_T with delta_T = -c_T mu; the variance deviation
//     shrinks with the square of that factor: dV_0 = (1 - v_T)(c_T v0/v_T)^2.
//   - probability-flow ODE (DDIM, eta = 0): the flow map is
//     x_0 = mu + sqrt(v0/v_T)(x_T - c_T mu), so the mean is mu - sqrt(v0/v_T) c_T mu
//     and the variance v0/v_T: a deterministic sampler keeps the prior mismatch.
func limits(mu, v0 float64) (sdeMean, sdeVar, odeMean, odeVar float64) {
	c, s := sde.NewVP().Marginal(1)
	vT := c*c*v0 + s*s
	f := c * v0 / vT
	sdeMean = mu - c*mu*f
	sdeVar = v0 + (1-vT)*f*f
	k := math.Sqrt(v0 / vT)
	odeMean, odeVar = mu-k*c*mu, k*k
	return sdeMean, sdeVar, odeMean, odeVar
}

// As N grows each chain's recursion converges to its continuous limit at
// t = 0 (limits): the discretisation error of these first-order chains is
// O(1/N), and beta-tilde's variance deficit sum_i beta_i^2/(1 - alpha-bar_i) is
// O(log N / N). We require the error (|mean error| + relative variance error,
// for the std-0.2 dimension where the effect is largest) to fall at least 5x
// per 10x in N (10x is first order; 5x leaves room for the log) and to be
// below 6e-3 at N = 10000. The DDPM limit is the data itself to 1e-6 (the
// reverse SDE forgets the prior); DDIM's is not (the mean keeps 6.6e-4 of the
// prior mismatch), which the test also checks.
func TestChainRecursionConverges(t *testing.T) {
	mu, v0 := 0.5, 0.04
	sm, sv, om, ov := limits(mu, v0)
	if math.Abs(sm-mu) > 1e-6 || math.Abs(sv-v0) > 1e-6 {
		t.Errorf("reverse-SDE limit %v %v is not the data", sm, sv)
	}
	if math.Abs(om-mu) < 5e-4 {
		t.Errorf("probability-flow limit mean %v should keep the prior mismatch", om)
	}
	for _, name := range []string{"beta", "beta-tilde", "ddim"} {
		lm, lv := sm, sv
		if name == "ddim" {
			lm, lv = om, ov
		}
		prev := math.Inf(1)
		for _, N := range []int{100, 1000, 10000} {
			d := schedule(t, N)
			full, _ := discretize.DDIMSequence(N, N)
			m, v := moments(chainRecursion(d, mu, v0, name == "ddim", 0, full, name == "beta-tilde", false))
			err := math.Abs(v-lv)/lv + math.Abs(m-lm)
			t.Logf("%s N=%d: mean %.6f var %.6f (limit %.6f %.6f), error %.2e", name, N, m, v, lm, lv, err)
			if err > prev/5 {
				t.Errorf("%s N=%d: error %.3g did not fall 5x from %.3g", name, N, err, prev)
			}
			prev = err
		}
		if prev > 6e-3 {
			t.Errorf("%s: error %.3g at N = 10000", name, prev)
		}
	}
}

func TestDDIMSequence(t *testing.T) {
	for _, c := range []struct{ n, s int }{{1000, 50}, {1000, 1000}, {10, 3}, {7, 1}, {1, 1}} {
		seq, err := discretize.DDIMSequence(c.n, c.s)
		if err != nil {
			t.Fatal(err)
		}
		if len(seq) != c.s || seq[len(seq)-1] != c.n-1 || (c.s > 1 && seq[0] != 0) {
			t.Errorf("N=%d S=%d: %v", c.n, c.s, seq)
		}
		for k := 1; k < len(seq); k++ {
			if seq[k] <= seq[k-1] {
				t.Errorf("N=%d S=%d: not increasing: %v", c.n, c.s, seq)
			}
		}
	}
	for _, c := range []struct{ n, s int }{{10, 11}, {10, 0}, {0, 1}} {
		if _, err := discretize.DDIMSequence(c.n, c.s); err == nil || !strings.Contains(err.Error(), "1 <= S <= N") {
			t.Errorf("N=%d S=%d: %v", c.n, c.s, err)
		}
	}
}

func TestStepErrors(t *testing.T) {
	d := schedule(t, 100)
	vp := sde.NewVP()
	m := discretize.NewScoreEps(score.Gauss(vp, 2), vp, 100)
	if v, err := discretize.ParseVariance("beta-tilde"); err != nil || v != discretize.BetaTilde || v.String() != "beta-tilde" {
		t.Errorf("ParseVariance: %v %v", v, err)
	}
	if _, err := discretize.ParseVariance("small"); err == nil || !strings.Contains(err.Error(), "use beta or beta-tilde") {
		t.Errorf("ParseVariance(small): %v", err)
	}
	for name, f := range map[string]func(){
		"step range":  func() { d.AncestralCoefs(100, discretize.Beta) },
		"ddim target": func() { d.DDIMCoefs(5, 5, 0) },
		"ddim eta":    func() { d.DDIMCoefs(5, 4, -1) },
		"shapes": func() {
			d.AncestralStepTo(make([]float64, 2), make([]float64, 3), make([]float64, 3), nil, 0, discretize.Beta)
		},
		"noise len": func() {
			d.AncestralStepTo(make([]float64, 2), make([]float64, 2), make([]float64, 2), nil, 5, discretize.Beta)
		},
		"eps step": func() { m.EpsTo(make([]float64, 2), make([]float64, 2), []int{100}) },
	} {
		func() {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "discretize: ") {
					t.Errorf("%s: panic %v, want a discretize: message", name, r)
				}
			}()
			f()
		}()
	}
}
