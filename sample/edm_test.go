package sample

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// The oracle of the EDM samplers, written from the paper (Karras et al.
// 2022, eqs. 1 and 3, Algorithms 1 and 2) independently of edm.go. For one
// coordinate of Gaussian data N(mu, v0), x_hat = x/c(t) ~ N(mu, v0 + sigma^2)
// with sigma = s(t)/c(t), and the ideal denoiser is the posterior mean
//
//	D(x_hat; sigma) = E[x_0 | x_hat] = mu + v0/(v0 + sigma^2) (x_hat - mu),
//
// so the scaled ODE's slope (x_hat - D)/sigma is u sigma/(v0 + sigma^2) in
// u = x_hat - mu.

func edmSDEs() []sde.SDE {
	return []sde.SDE{sde.NewVP(), sde.NewSubVP(), sde.NewVE(), sde.NewEDM()}
}

// edmDenoise is the ideal denoiser of N(mu, v0) data at noise level sigma.
func edmDenoise(xh, mu, v0, sigma float64) float64 {
	return mu + v0/(v0+sigma*sigma)*(xh-mu)
}

// Every step of edm-euler is DDIM's deterministic update and every step of
// edm-heun Heun's trapezoidal rule in (x_hat, sigma), on gauss:3 with the
// exact score, for every SDE and the karras and t schedules. Each step of the
// sampler's own path (Trajectory with every state) is recomputed here from
// the previous state with the closed-form D:
//
//	Euler (DDIM, eta = 0): x_j = c_j D_i + s_j (x_i - c_i D_i)/s_i
//	Heun: x_hat' = x_hat_i + h d_i, x_hat_j = x_hat_i + h (d_i + d')/2,
//	      d = (x_hat - D(x_hat; sigma))/sigma, h = sigma_j - sigma_i
//
// Tolerance 1e-9 (1 + |x|): edm.go forms D as (x + s^2 score)/c, which at T
// on VP and sub-VP cancels about 6 digits (c^2 v0/v ~ 2e-6 for std 0.2),
// leaving D a relative error near 1e-10; the oracle's D does not cancel. A
// wrong coefficient moves a step by 1e-3 or more.
func TestEDMStepsByHand(t *testing.T) {
	const d, rows, steps = 3, 6, 12
	for _, s := range edmSDEs() {
		g := score.Gauss(s, d)
		for _, sch := range []string{ScheduleKarras, ScheduleT} {
			for _, heun := range []bool{false, true} {
				var smp Sampler = &EDMEuler{Grid: Grid{Schedule: sch}, Steps: steps}
				if heun {
					smp = &EDMHeun{Grid: Grid{Schedule: sch}, Steps: steps}
				}
				c := Config{SDE: s, Score: g, Sampler: smp, Workers: 1}
				times, states, err := Trajectory(context.Background(), c, 3, seq(rows), steps+1)
				if err != nil {
					t.Fatal(err)
				}
				if len(times) != steps+1 {
					t.Fatalf("%d states, want %d", len(times), steps+1)
				}
				worst := 0.0
				for k := 0; k < steps; k++ {
					ci, si := s.Marginal(times[k])
					cj, sj := s.Marginal(times[k+1])
					sgi, sgj := si/ci, sj/cj
					for r := 0; r < rows; r++ {
						for j := 0; j < d; j++ {
							mu, v0 := g.Means[0][j], g.Stds[0][j]*g.Stds[0][j]
							x := states[k][r*d+j]
							xh := x / ci
							Di := edmDenoise(xh, mu, v0, sgi)
							var want float64
							if !heun {
								want = cj*Di + sj*(x-ci*Di)/si
							} else {
								h := sgj - sgi
								di := (xh - Di) / sgi
								xp := xh + h*di
								dp := (xp - edmDenoise(xp, mu, v0, sgj)) / sgj
								want = cj * (xh + h*(di+dp)/2)
							}
							got := states[k+1][r*d+j]
							e := math.Abs(got-want) / (1 + math.Abs(want))
							worst = math.Max(worst, e)
							if e > 1e-9 {
								t.Fatalf("%s %s %s step %d row %d dim %d: %v, want %v", s.Name(), smp.Name(), sch, k, r, j, got, want)
							}
						}
					}
				}
				t.Logf("%s %s %s: worst relative step difference %.1e", s.Name(), smp.Name(), sch, worst)
			}
		}
	}
}

// NFE per row: edm-euler N, edm-heun and edm-sde 2N (no skipped correction:
// the grid ends at eps > 0, not at sigma = 0).
func TestEDMNFE(t *testing.T) {
	vp := sde.NewVP()
	for _, tc := range []struct {
		s    Sampler
		want int
	}{
		{&EDMEuler{Steps: 7}, 7},
		{&EDMHeun{Steps: 7}, 14},
		{&EDMStochastic{Steps: 7}, 14},
		{&EDMHeun{}, 2 * DefaultEDMSteps},
	} {
		c := Config{SDE: vp, Score: score.GMM8(vp), Sampler: tc.s}
		_, st := gen(t, &c, 1, 5)
		for _, v := range st.NFE {
			if v != tc.want {
				t.Errorf("%s: NFE %d, want %d", tc.s.Name(), v, tc.want)
			}
		}
	}
}

// edm-sde with churn 0 adds no noise and makes edm-heun's steps: the same
// rows bit for bit, for every SDE and schedule, whatever tmin and tmax.
func TestEDMSDEChurnZeroIsHeun(t *testing.T) {
	for _, s := range edmSDEs() {
		for _, sch := range []string{ScheduleKarras, ScheduleLogSNR} {
			heun := Config{SDE: s, Score: score.GMM8(s), Sampler: &EDMHeun{Grid: Grid{Schedule: sch}, Steps: 9}}
			sto := Config{SDE: s, Score: score.GMM8(s), Sampler: &EDMStochastic{Grid: Grid{Schedule: sch}, Steps: 9, Churn: new(0.0), TMin: new(0.0), TMax: math.Inf(1)}}
			a, _ := gen(t, &heun, 2, 40)
			b, _ := gen(t, &sto, 2, 40)
			if !slices.Equal(a, b) {
				t.Errorf("%s %s: edm-sde with churn 0 differs from edm-heun", s.Name(), sch)
			}
			// With churn the rows change (the sampler is not edm-heun in disguise).
			churned := Config{SDE: s, Score: score.GMM8(s), Sampler: &EDMStochastic{Grid: Grid{Schedule: sch}, Steps: 9}}
			c, _ := gen(t, &churned, 2, 40)
			if slices.Equal(a, c) {
				t.Errorf("%s %s: edm-sde with churn 40 equals edm-heun", s.Name(), sch)
			}
		}
	}
}

// recordNoise counts the Normals draws (the prior, then one per churned
// step) and records any Increment (edm-sde asks none: its churn is fresh
// noise, not a piece of the reverse path), checking each draw is closed by
// Next, for the churn-window test.
type recordNoise struct{ src *recordSource }

func (n recordNoise) NewSource(d int) NoiseSource {
	n.src.inner = Streams{}.NewSource(d)
	return n.src
}

type recordSource struct {
	inner   NoiseSource
	t0      []float64
	t1      []float64
	normals int
	open    bool
	bad     bool
}

func (s *recordSource) Start(seed uint64, rows []int) { s.inner.Start(seed, rows) }
func (s *recordSource) Normals(z []float64, a, c int) {
	if s.open {
		s.bad = true
	}
	s.open = true
	s.normals++
	s.inner.Normals(z, a, c)
}
func (s *recordSource) Increment(z []float64, a, c int, t0, t1 float64) {
	if s.open {
		s.bad = true
	}
	s.open = true
	s.t0, s.t1 = append(s.t0, t0), append(s.t1, t1)
	s.inner.Increment(z, a, c, t0, t1)
}
func (s *recordSource) Next() { s.open = false; s.inner.Next() }

// Algorithm 2's window: edm-sde churns at exactly the grid levels sigma_i in
// [S_tmin, S_tmax] below sigma(T), once each (VE's sigma_max = 50 = S_tmax
// is not churned: the clamp at sigma(T) leaves nothing to add), with a fresh
// normal draw after the prior's; it asks no Brownian increment. The amount
// of noise (sigma_hat = min(sigma_i (1 + gamma), sigma(T))) is checked by
// the exact moment recursion below.
func TestEDMSDEChurnWindow(t *testing.T) {
	for _, s := range edmSDEs() {
		for _, churn := range []float64{40, 3} {
			const steps = 18
			src := &recordSource{}
			smp := &EDMStochastic{Steps: steps, Churn: new(churn)}
			c := Config{SDE: s, Score: score.Gauss(s, 2), Sampler: smp, Noise: recordNoise{src}, Workers: 1}
			gen(t, &c, 1, 3)
			ts, err := ScheduleTimes(s, ScheduleKarras, DefaultRho, c.Eps, steps)
			if err != nil {
				t.Fatal(err)
			}
			gamma := math.Min(churn/steps, math.Sqrt2-1)
			sT := sde.Sigma(s, s.T())
			want := 0
			for _, ti := range ts[:steps] {
				sg := sde.Sigma(s, ti)
				if sg >= DefaultChurnTMin && sg <= DefaultChurnTMax && sg < sT {
					want++
				}
			}
			if src.bad || src.open {
				t.Errorf("%s: a draw was not followed by Next", s.Name())
			}
			if src.normals-1 != want || len(src.t0) != 0 {
				t.Errorf("%s churn %g: %d churn draws and %d increments, want %d and 0", s.Name(), churn, src.normals-1, len(src.t0), want)
			}
			t.Logf("%s churn %g: %d of %d steps churned, gamma %.3f", s.Name(), churn, want, steps, gamma)
		}
	}
}

// edmSDEMoments is the exact mean and variance of edm-sde's output for one
// coordinate of Gaussian data N(mu, v0) (the sampler is affine in x and z):
// in u = x_hat - mu a churn adds noise of variance S_noise^2 (sigma_hat^2 -
// sigma_i^2) and a Heun step from sigma_a to sigma_b multiplies u by
// 1 + h/2 (k_a + k_b (1 + h k_a)), k = sigma/(v0 + sigma^2), h = sigma_b -
// sigma_a. x = c(t) (mu + u).
func edmSDEMoments(s sde.SDE, ts []float64, mu, v0, gamma, tmin, tmax, noise float64) (m, v float64) {
	cT, _ := s.Marginal(ts[0])
	sT := sde.Sigma(s, ts[0])
	pv := s.PriorStd() * s.PriorStd()
	mu0, var0 := -mu, pv/(cT*cT) // x_T ~ N(0, prior^2): x_hat_T = x_T/c(T)
	kf := func(sg float64) float64 { return sg / (v0 + sg*sg) }
	for i := 0; i+1 < len(ts); i++ {
		sa := sde.Sigma(s, ts[i])
		if sa >= tmin && sa <= tmax {
			sh := math.Min(sa*(1+gamma), sT)
			var0 += noise * noise * (sh*sh - sa*sa)
			sa = sh
		}
		sb := sde.Sigma(s, ts[i+1])
		h := sb - sa
		ka, kb := kf(sa), kf(sb)
		A := 1 + h/2*(ka+kb*(1+h*ka))
		mu0, var0 = A*mu0, A*A*var0
	}
	ce, _ := s.Marginal(ts[len(ts)-1])
	return ce * (mu + mu0), ce * ce * var0
}

// edm-sde on gauss:3 with the exact score, n = 20000 rows, S_churn 40,
// S_tmin 0.05, S_tmax 50 (the defaults):
//
//   - at the default 18 steps (gamma at its cap sqrt(2) - 1) and S_noise
//     1.003, the sample mean and variance of each coordinate lie within 4
//     standard errors of the exact moment recursion of the scheme
//     (edmSDEMoments), which pins the churn's noise, its window and the Heun
//     steps down. The scheme itself is far from the data there: its variance
//     is 17-44% above p_eps's (logged; edm-heun's own is 6-21% above), so a
//     check against the data would fail by 15-30 SE;
//   - at 256 steps, the paper's step count for these churn parameters
//     (ImageNet-64, NFE 511 in the NVlabs/edm README; gamma = 40/256), and
//     S_noise = 1, the sample moments also lie within 4 SE of the target p_eps
//     = N(c mu, c^2 v0 + s^2): the sampler reproduces the data. There the
//     recursion's own distance to the target (its bias, 0.4-0.5% of the
//     variance) must be below 1 SE, so that the check is of the data and not
//     of luck. S_noise = 1 because S_noise > 1 offsets a trained denoiser's
//     loss of detail (section 4), which an exact score does not have: the
//     default 1.003 raises the variance by another 0.6% (1.003^2 - 1), which
//     the recursion at 256 steps shows as a ratio 1.009-1.012, 1 SE.
//
// The output is Gaussian, so SE(mean) = sqrt(V/n) and SE(var) = V sqrt(2/(n-1))
// with V the recursion's variance; 4 SE over 4 SDEs x 3 coordinates x 2
// moments x 3 comparisons leaves a false alarm below 1e-2 at any seed (the
// seed is fixed).
func TestEDMSDEMoments(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 4000
	}
	const d = 3
	for _, tc := range []struct {
		steps int
		noise float64
	}{{DefaultEDMSteps, DefaultNoiseScale}, {256, 1}} {
		steps, atTarget := tc.steps, tc.steps == 256
		for _, s := range edmSDEs() {
			g := score.Gauss(s, d)
			c := Config{SDE: s, Score: g, Sampler: &EDMStochastic{Steps: steps, NoiseScale: tc.noise}}
			x, _ := gen(t, &c, 7, n)
			ts, err := ScheduleTimes(s, ScheduleKarras, DefaultRho, c.Eps, steps)
			if err != nil {
				t.Fatal(err)
			}
			gamma := math.Min(DefaultChurn/float64(steps), math.Sqrt2-1)
			ce, se := s.Marginal(c.Eps)
			for j := 0; j < d; j++ {
				mu, v0 := g.Means[0][j], g.Stds[0][j]*g.Stds[0][j]
				rm, rv := edmSDEMoments(s, ts, mu, v0, gamma, DefaultChurnTMin, DefaultChurnTMax, tc.noise)
				tm, tv := ce*mu, ce*ce*v0+se*se
				sm, sv := colMoments(x, d, j)
				seM, seV := math.Sqrt(rv/float64(n)), rv*math.Sqrt(2/float64(n-1))
				refs := []struct {
					name string
					m, v float64
				}{{"recursion", rm, rv}}
				if atTarget {
					refs = append(refs, struct {
						name string
						m, v float64
					}{"target", tm, tv})
				}
				for _, ref := range refs {
					if zm, zv := (sm-ref.m)/seM, (sv-ref.v)/seV; math.Abs(zm) > 4 || math.Abs(zv) > 4 {
						t.Errorf("%d steps %s dim %d: sample mean %.5g var %.5g, %s %.5g %.5g (%.1f, %.1f SE)", steps, s.Name(), j, sm, sv, ref.name, ref.m, ref.v, zm, zv)
					}
				}
				bm, bv := (rm-tm)/seM, (rv-tv)/seV
				if atTarget && (math.Abs(bm) > 1 || math.Abs(bv) > 1) {
					t.Errorf("%d steps %s dim %d: the scheme's bias is %.2f SE in the mean, %.2f SE in the variance: the target check is not sharp", steps, s.Name(), j, bm, bv)
				}
				t.Logf("%d steps %s dim %d: sample - recursion %.2f, %.2f SE; recursion - target %.3f, %.3f SE (variance ratio %.4f)",
					steps, s.Name(), j, (sm-rm)/seM, (sv-rv)/seV, bm, bv, rv/tv)
			}
		}
	}
}

// Bad options are OptionErrors naming the option: from Configure (text) and
// from Prepare (the fields).
func TestEDMOptionErrors(t *testing.T) {
	vp := sde.NewVP()
	for _, tc := range []struct {
		sampler string
		values  map[string]string
		option  string
		want    string
	}{
		{"edm-sde", map[string]string{"churn": "-1"}, "churn", "must be finite and >= 0"},
		{"edm-sde", map[string]string{"churn": "many"}, "churn", `"many" is not a number`},
		{"edm-sde", map[string]string{"churn": "inf"}, "churn", "must be finite and >= 0"},
		{"edm-sde", map[string]string{"noise-scale": "-0.5"}, "noise-scale", "must be finite and > 0"},
		{"edm-sde", map[string]string{"noise-scale": "0"}, "noise-scale", "0: give a value > 0"},
		{"edm-sde", map[string]string{"tmin": "2", "tmax": "1"}, "tmax", "must be >= tmin = 2"},
		{"edm-sde", map[string]string{"tmin": "-1"}, "tmin", "must be finite and >= 0"},
		{"edm-sde", map[string]string{"tmin": "100"}, "tmax", "must be >= tmin = 100"},
		{"edm-euler", map[string]string{"steps": "-3"}, "steps", "use N >= 1"},
		{"edm-heun", map[string]string{"rho": "-7"}, "rho", "must be finite and > 0"},
		{"edm-heun", map[string]string{"schedule": "cosine"}, "schedule", `"cosine" is unknown`},
		{"edm-euler", map[string]string{"eta": "1"}, "eta", "does not apply to sampler edm-euler"},
		{"edm-heun", map[string]string{"churn": "1"}, "churn", "does not apply to sampler edm-heun"},
	} {
		s, err := NewFromOptions(tc.sampler, tc.values)
		if err == nil {
			c := Config{SDE: vp, Score: score.GMM8(vp), Sampler: s}
			err = c.Validate()
		}
		var oe *OptionError
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &oe) || oe.Option != tc.option || oe.Sampler != tc.sampler {
			t.Errorf("%s %v: error %v, want an OptionError for option %s with %q", tc.sampler, tc.values, err, tc.option, tc.want)
		}
	}
	// Churn 0 and tmin 0 are values of their own, not the defaults.
	s, err := NewFromOptions("edm-sde", map[string]string{"churn": "0", "tmin": "0", "tmax": "inf"})
	if err != nil {
		t.Fatal(err)
	}
	c := Config{SDE: vp, Score: score.GMM8(vp), Sampler: s}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if e := s.(*EDMStochastic); *e.Churn != 0 || *e.TMin != 0 || !math.IsInf(e.TMax, 1) {
		t.Errorf("churn 0, tmin 0, tmax inf became %v, %v, %v", *e.Churn, *e.TMin, e.TMax)
	}
	// Defaults are written into the zero fields.
	e := &EDMStochastic{}
	c = Config{SDE: vp, Score: score.GMM8(vp), Sampler: e}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if e.Steps != 18 || e.Schedule != ScheduleKarras || e.Rho != 7 || *e.Churn != 40 || *e.TMin != 0.05 || e.TMax != 50 || e.NoiseScale != 1.003 {
		t.Errorf("defaults: %+v (churn %v, tmin %v)", e, *e.Churn, *e.TMin)
	}
	if got, want := e.Describe(), "18 steps, karras rho 7, churn 40 (gamma 0.414) for sigma in [0.05, 50], noise scale 1.003"; got != want {
		t.Errorf("Describe: %q, want %q", got, want)
	}
}

// The EDM SDE with edm-heun at the paper's 18 steps on gmm8: the RMS
// distance of each sample to its own prior draw carried by the exact
// probability flow (the ode sampler, dopri5 at rtol = atol = 1e-10, 704
// evaluations per row; its RMS distance to DOP853 at 1e-12 is 1e-10), over
// 200 rows. The bound 0.05 is about 1%
// of gmm8's radius 4 and a tenth of its component std 0.5: "small" in
// Karras' sense (18 steps reach FID parity with many-step solvers). The
// figure is logged for docs/samplers.md.
func TestEDMHeunGMM8(t *testing.T) {
	s := sde.NewEDM()
	m := score.GMM8(s)
	const rows = 200
	run := func(smp Sampler) []float64 {
		c := Config{SDE: s, Score: m, Sampler: smp}
		x, _ := gen(t, &c, 5, rows)
		return x
	}
	ref := run(&ProbabilityFlow{RTol: 1e-10, ATol: 1e-10})
	for _, tc := range []struct {
		s     Sampler
		bound float64
	}{
		{&EDMHeun{}, 0.05},
		{&EDMEuler{}, math.Inf(1)},
		{&EDMHeun{Steps: 36}, math.Inf(1)},
		{&EDMHeun{Grid: Grid{Schedule: ScheduleT}}, math.Inf(1)},
	} {
		x := run(tc.s)
		var ss float64
		for i := range x {
			ss += (x[i] - ref[i]) * (x[i] - ref[i])
		}
		e := math.Sqrt(ss / float64(len(x)))
		if e > tc.bound {
			t.Errorf("%s: RMS error %.3g against the exact flow, want <= %g", tc.s.(Describer).Describe(), e, tc.bound)
		}
		t.Logf("edm gmm8 %s %s: RMS error %.3g against the flow", tc.s.Name(), tc.s.(Describer).Describe(), e)
	}
}

// edm-sde's rows are bit for bit the same whatever the other rows of the
// call, Workers and Block (its churn noise comes from each row's stream),
// and the steps of all three samplers allocate nothing: Generate with 400
// steps allocates at most 8 times more than with 40 (the allowance of
// TestNoAllocationPerStep; one allocation per step would add 360).
func TestEDMRowsAndAllocations(t *testing.T) {
	s := sde.NewVE()
	full := Config{SDE: s, Score: score.GMM8(s), Sampler: &EDMStochastic{Steps: 12}, Workers: 1, Block: 4}
	x, _ := gen(t, &full, 21, 30)
	rows := []int{29, 3, 17, 8, 12}
	p := Config{SDE: s, Score: score.GMM8(s), Sampler: &EDMStochastic{Steps: 12}, Workers: 2, Block: 1}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	y := make([]float64, len(rows)*2)
	if _, err := Generate(context.Background(), p, 21, rows, y, nil); err != nil {
		t.Fatal(err)
	}
	for k, r := range rows {
		if y[2*k] != x[2*r] || y[2*k+1] != x[2*r+1] {
			t.Errorf("row %d: %v in the full run, %v in a shard", r, x[2*r:2*r+2], y[2*k:2*k+2])
		}
	}
	if raceEnabled {
		return // the race detector makes sync.Pool drop items
	}
	for _, mk := range []func(n int) Sampler{
		func(n int) Sampler { return &EDMEuler{Steps: n} },
		func(n int) Sampler { return &EDMHeun{Steps: n} },
		func(n int) Sampler { return &EDMStochastic{Steps: n} },
	} {
		allocs := func(n int) float64 {
			c := Config{SDE: s, Score: gaussScore{s: s, d: 4, mu: 0.1, v0: 0.5, nanRow: -1}, Sampler: mk(n), Workers: 1, Block: 16}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			x := make([]float64, 40*4)
			return testing.AllocsPerRun(3, func() {
				if _, err := Generate(context.Background(), c, 1, seq(40), x, nil); err != nil {
					t.Fatal(err)
				}
			})
		}
		if a40, a400 := allocs(40), allocs(400); a400 > a40+8 {
			t.Errorf("%s: %v allocations with 40 steps, %v with 400", mk(1).Name(), a40, a400)
		}
	}
}
