package score

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sdekit/sdekit/sde"
)

// batch draws n rows of 2-D points around gmm8's ring at mixed times.
func guideBatch(n int, seed uint64) (x, ts []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	x, ts = make([]float64, 2*n), make([]float64, n)
	for i := range ts {
		ts[i] = []float64{1e-3, 0.05, 0.4, 1}[i%4]
		x[2*i], x[2*i+1] = 3*r.NormFloat64(), 3*r.NormFloat64()
	}
	return x, ts
}

// With w = 0 classifier-free guidance is the conditional score to the bit;
// with w != 0 it is (1 + w) s(x|c) - w s(x) up to rounding (1e-12
// relative: two products and a difference of scores of size up to ~1e2).
func TestCFGWeights(t *testing.T) {
	mc := threeClasses(t, sde.NewVP())
	x, ts := guideBatch(16, 4)
	n := len(ts)
	lab := func(l int) []int {
		ls := make([]int, n)
		for i := range ls {
			ls[i] = l
		}
		return ls
	}
	cond, uncond, got := make([]float64, 2*n), make([]float64, 2*n), make([]float64, 2*n)
	for c := 0; c < 3; c++ {
		mc.LabelScoreTo(cond, x, ts, lab(c))
		mc.LabelScoreTo(uncond, x, ts, lab(NullLabel))
		for _, w := range []float64{0, 1, 3, -0.5} {
			g, err := NewCFG(mc, c, w)
			if err != nil {
				t.Fatal(err)
			}
			g.ScoreTo(got, x, ts)
			for i := range got {
				want := (1+w)*cond[i] - w*uncond[i]
				if w == 0 && got[i] != cond[i] {
					t.Fatalf("class %d w=0 [%d]: %v is not the conditional score %v", c, i, got[i], cond[i])
				}
				if math.Abs(got[i]-want) > 1e-12*(1+math.Abs(cond[i])+math.Abs(uncond[i])) {
					t.Errorf("class %d w=%g [%d]: %v, want %v", c, w, i, got[i], want)
				}
			}
		}
	}
}

// Classifier guidance with the exact classifier: scale 1 is the
// conditional score, scale gamma is CFG with w = gamma - 1 (the same
// densities: p_t(x) p_t(c|x)^gamma is proportional to
// p_t(x|c)^gamma p_t(x)^(1-gamma)). Rounding only: 1e-12 relative to the
// sizes of the scores combined.
func TestClassifierGuidanceIsConditional(t *testing.T) {
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewVE()} {
		mc := threeClasses(t, s)
		x, ts := guideBatch(16, 5)
		n := len(ts)
		su := make([]float64, 2*n)
		mc.ScoreTo(su, x, ts)
		for c := 0; c < 3; c++ {
			for _, gamma := range []float64{1, 2.5} {
				cg, err := NewClassifierGuided(mc.Mixture(), mc, c, gamma)
				if err != nil {
					t.Fatal(err)
				}
				cfg, _ := NewCFG(mc, c, gamma-1)
				got, want := make([]float64, 2*n), make([]float64, 2*n)
				cg.ScoreTo(got, x, ts)
				cfg.ScoreTo(want, x, ts)
				for i := range got {
					if math.Abs(got[i]-want[i]) > 1e-12*(1+gamma*(math.Abs(want[i])+math.Abs(su[i]))) {
						t.Errorf("%s class %d scale %g [%d]: classifier guidance %v, CFG %v", s.Name(), c, gamma, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// ForSDE re-bases guided exact scores: the result is the guided score of
// the mixture under the new SDE (bit for bit, the same arithmetic), and
// stays exact. A Labeled that is not a mixture's classes (here
// GaussianClasses) gives a guided score that does not claim to be exact.
func TestGuidedForSDE(t *testing.T) {
	mc := threeClasses(t, sde.NewVP())
	to := sde.NewSubVP()
	mc2, err := mc.ForSDE(to)
	if err != nil {
		t.Fatal(err)
	}
	x, ts := guideBatch(8, 6)
	cfg, _ := NewCFG(mc, 2, 1.5)
	cg, _ := NewClassifierGuided(mc.Mixture(), mc, 1, 2)
	want1, _ := NewCFG(mc2.(*MixtureClasses), 2, 1.5)
	want2, _ := NewClassifierGuided(mc2.(*MixtureClasses).Mixture(), mc2.(*MixtureClasses), 1, 2)
	for i, pair := range [][2]sde.Score{{cfg, want1}, {cg, want2}} {
		ex, ok := pair[0].(sde.ExactScore)
		if !ok {
			t.Fatalf("guided score %d is not an sde.ExactScore", i)
		}
		re, err := ex.ForSDE(to)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := re.(sde.ExactScore); !ok {
			t.Errorf("guided score %d re-based is no longer exact", i)
		}
		got, want := make([]float64, 16), make([]float64, 16)
		re.ScoreTo(got, x, ts)
		pair[1].ScoreTo(want, x, ts)
		for j := range got {
			if got[j] != want[j] {
				t.Errorf("guided score %d [%d]: re-based %v, built under the new SDE %v", i, j, got[j], want[j])
			}
		}
	}
	g1 := Gauss(sde.NewVP(), 2)
	g0, _ := NewMixture(sde.NewVP(), []float64{1}, [][]float64{{0, 0}}, [][]float64{{1, 1}})
	gl, err := GaussianClasses(g1, g0)
	if err != nil {
		t.Fatal(err)
	}
	net, _ := NewCFG(gl, 0, 1)
	if _, ok := net.(sde.ExactScore); ok {
		t.Error("CFG of a Labeled that has no ForSDE claims to be exact")
	}
	if _, ok := net.(interface{ VJPTo(dst, v, x, t []float64) }); ok {
		t.Error("CFG of a Labeled without a VJP offers one")
	}
}

// The exact guided scores' VJPs against central differences of ScoreTo
// along v. Step 1e-5 on scores of size ~1 to 1e2 with third derivatives
// up to ~1e4 near t = 1e-3: truncation ~1e-6, rounding ~1e-9; tolerance
// 1e-5 relative to the VJP's size plus 1e-5.
func TestGuidedVJP(t *testing.T) {
	mc := threeClasses(t, sde.NewVP())
	x, ts := guideBatch(8, 7)
	r := rand.New(rand.NewPCG(1, 8))
	v := make([]float64, len(x))
	for i := range v {
		v[i] = r.NormFloat64()
	}
	cfg, _ := NewCFG(mc, 0, 2)
	cg, _ := NewClassifierGuided(mc.Mixture(), mc, 2, 3)
	const h = 1e-5
	for i, g := range []sde.Score{cfg, cg} {
		vj := g.(interface{ VJPTo(dst, v, x, t []float64) })
		got := make([]float64, len(x))
		vj.VJPTo(got, v, x, ts)
		xp, xm := make([]float64, len(x)), make([]float64, len(x))
		for j := range x {
			xp[j], xm[j] = x[j]+h*v[j], x[j]-h*v[j]
		}
		sp, sm := make([]float64, len(x)), make([]float64, len(x))
		g.ScoreTo(sp, xp, ts)
		g.ScoreTo(sm, xm, ts)
		for j := range got {
			want := (sp[j] - sm[j]) / (2 * h) // J v = v^T J (J symmetric)
			if math.Abs(got[j]-want) > 1e-5*(1+math.Abs(want)) {
				t.Errorf("guided score %d [%d]: VJP %v, finite differences %v", i, j, got[j], want)
			}
		}
	}
}

// Guided scores in a sampler's loop do not allocate after warm-up.
func TestGuidanceNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so allocations are not counted")
	}
	mc, _ := NewMixtureClasses(GMM8(sde.NewVP()), nil)
	cfg, _ := NewCFG(mc, 3, 2)
	cg, _ := NewClassifierGuided(mc.Mixture(), mc, 3, 2)
	x, dst, ts := make([]float64, 2*64), make([]float64, 2*64), make([]float64, 64)
	for i := range ts {
		ts[i] = 0.5
	}
	for _, g := range []sde.Score{cfg, cg} {
		g.ScoreTo(dst, x, ts)
		if a := testing.AllocsPerRun(50, func() { g.ScoreTo(dst, x, ts) }); a != 0 {
			t.Errorf("%T.ScoreTo allocates %v times per call", g, a)
		}
	}
}

// Bad guidance input is an error, not a panic.
func TestGuidanceBadInput(t *testing.T) {
	mc, _ := NewMixtureClasses(GMM8(sde.NewVP()), nil)
	for _, c := range []int{-1, 8} {
		if _, err := NewCFG(mc, c, 1); err == nil {
			t.Errorf("CFG class %d of 8 accepted", c)
		}
		if _, err := NewClassifierGuided(mc.Mixture(), mc, c, 1); err == nil {
			t.Errorf("classifier guidance class %d of 8 accepted", c)
		}
	}
	if _, err := NewCFG(mc, 0, math.NaN()); err == nil {
		t.Error("CFG weight NaN accepted")
	}
	if _, err := NewClassifierGuided(Gauss(sde.NewVP(), 3), mc, 0, 1); err == nil {
		t.Error("a 2-D classifier on 3-D data accepted")
	}
	if _, err := NewCFG(nil, 0, 1); err == nil {
		t.Error("CFG without a model accepted")
	}
}

// The moment equations of GuidedGaussianLaw against VE's closed form. With
// f = 0 and g^2 = d sigma^2/dt the flow's variance obeys d log V / du =
// P(u) in u = sigma^2, so V(eps) = V(T) ((a_1 + u_eps)/(a_1 + U))^(1+w)
// ((a_0 + U)/(a_0 + u_eps))^w with a_i = sd_i^2 and U = sigma_max^2.
// RK4 with 16000 steps: relative error 2.2e-12 measured, tolerance 1e-11
// (the doc's claim; 4000 steps give 5.8e-10, fourth order).
// With w = 0 both laws equal the conditional marginal at eps up to the
// prior's mismatch at T, which is below 1e-2 relative for VP (c(T)^2 ~ 4e-5
// of the mean, |v(T) - 1| ~ 4e-5 of the variance, contracted further by the
// flow).
func TestGuidedGaussianLaw(t *testing.T) {
	ve := sde.NewVE()
	cond, _ := NewMixture(ve, []float64{1}, [][]float64{{1, -0.5}}, [][]float64{{0.5, 0.3}})
	uncond, _ := NewMixture(ve, []float64{1}, [][]float64{{0, 0}}, [][]float64{{1, 2}})
	const w, eps = 2.0, 1e-5
	_, v, err := GuidedGaussianLaw(cond, uncond, w, eps, false, 16000)
	if err != nil {
		t.Fatal(err)
	}
	_, sT := ve.Marginal(ve.T())
	_, se := ve.Marginal(eps)
	U, ue := sT*sT, se*se
	for j, sds := range [][2]float64{{0.5, 1}, {0.3, 2}} {
		a1, a0 := sds[0]*sds[0], sds[1]*sds[1]
		want := ve.PriorStd() * ve.PriorStd() * math.Pow((a1+ue)/(a1+U), 1+w) * math.Pow((a0+U)/(a0+ue), w)
		if math.Abs(v[j]-want) > 1e-11*want {
			t.Errorf("VE flow variance [%d]: %v, closed form %v", j, v[j], want)
		}
	}
	vp := sde.NewVP()
	c1, _ := NewMixture(vp, []float64{1}, [][]float64{{1, -0.5}}, [][]float64{{0.5, 0.3}})
	c0, _ := NewMixture(vp, []float64{1}, [][]float64{{0, 0}}, [][]float64{{1, 2}})
	c, sd := vp.Marginal(1e-3)
	for _, stoch := range []bool{false, true} {
		m, v, err := GuidedGaussianLaw(c1, c0, 0, 1e-3, stoch, 4000)
		if err != nil {
			t.Fatal(err)
		}
		for j := range m {
			wm, wv := c*c1.Means[0][j], c*c*c1.Stds[0][j]*c1.Stds[0][j]+sd*sd
			if math.Abs(m[j]-wm) > 1e-2*math.Abs(wm) || math.Abs(v[j]-wv) > 1e-2*wv {
				t.Errorf("VP w=0 stochastic=%v [%d]: law N(%v, %v), conditional marginal N(%v, %v)", stoch, j, m[j], v[j], wm, wv)
			}
		}
	}
}
