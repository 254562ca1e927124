package sde

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func all() []SDE { return []SDE{NewVP(), NewSubVP(), NewVE(), NewEDM()} }

// momentsByODE integrates the moment equations of the linear SDE from 0 to t
// with classic RK4: dm/dt = a(t) m (m is the mean scale c, m(0) = 1) and
// dv/dt = 2 a(t) v + g(t)^2 (v is s^2, v(0) = 0). This is an oracle built only
// from DriftCoef and Diffusion, so it checks Marginal against them.
func momentsByODE(s SDE, t float64, steps int) (m, v float64) {
	m, v = 1, 0
	h := t / float64(steps)
	f := func(tt, m, v float64) (float64, float64) {
		a, g := s.DriftCoef(tt), s.Diffusion(tt)
		return a * m, 2*a*v + g*g
	}
	for k := 0; k < steps; k++ {
		t0 := float64(k) * h
		k1m, k1v := f(t0, m, v)
		k2m, k2v := f(t0+h/2, m+h/2*k1m, v+h/2*k1v)
		k3m, k3v := f(t0+h/2, m+h/2*k2m, v+h/2*k2v)
		k4m, k4v := f(t0+h, m+h*k3m, v+h*k3v)
		m += h / 6 * (k1m + 2*k2m + 2*k3m + k4m)
		v += h / 6 * (k1v + 2*k2v + 2*k3v + k4v)
	}
	return m, v
}

// Marginal agrees with the moment ODE. RK4 with 4000 steps has global error
// O(h^4) ~ 1e-13 relative for these smooth coefficients; 1e-9 relative leaves
// room for the VE variance, which grows to 2500. For VE the ODE gives
// v = sigma(t)^2 - sigma_min^2 (v(0) = 0), while Marginal's std is sigma(t)
// (the reference does not subtract sigma_min), so we add sigma_min^2 back.
func TestMarginalAgainstMomentODE(t *testing.T) {
	for _, s := range all() {
		for _, tt := range []float64{1e-5, 1e-3, 0.01, 0.05, 0.1, 0.2, 0.37, 0.5, 0.8, 1} {
			m, v := momentsByODE(s, tt, 4000)
			if ve, ok := s.(*VE); ok {
				v += ve.SigmaMin * ve.SigmaMin
			}
			c, sd := s.Marginal(tt)
			if math.Abs(c-m) > 1e-9*math.Abs(m) {
				t.Errorf("%s t=%g: mean scale %v, ODE %v", s.Name(), tt, c, m)
			}
			if math.Abs(sd*sd-v) > 1e-9*v+1e-15 {
				t.Errorf("%s t=%g: variance %v, ODE %v", s.Name(), tt, sd*sd, v)
			}
		}
	}
}

// At t = 1e-5 the std must be accurate to double precision. The oracle is the
// series 1 - e^{2l} = -2l - 2l^2 - (4/3)l^3 - ..., which converges after a few
// terms for |l| ~ 5e-7. We also show the float32 evaluation of the reference
// (1 - exp(2 l) in float32) is off by more than 0.1 %: that is the error this
// package avoids.
func TestSmallTimeStd(t *testing.T) {
	for _, s := range []SDE{NewVP(), NewSubVP()} {
		const tt = 1e-5
		var l float64
		switch v := s.(type) {
		case *VP:
			l = v.LogMeanScale(tt)
		case *SubVP:
			l = v.LogMeanScale(tt)
		}
		x := 2 * l
		series := -(x + x*x/2 + x*x*x/6 + x*x*x*x/24) // 1 - e^x
		want := math.Sqrt(series)
		if s.Name() == "subvp" {
			want = series
		}
		_, got := s.Marginal(tt)
		if math.Abs(got-want) > 1e-12*want {
			t.Errorf("%s: std %v, series %v", s.Name(), got, want)
		}
		naive32 := 1 - float32(math.Exp(float64(float32(x))))
		naive := float64(naive32)
		if s.Name() == "vp" {
			naive = math.Sqrt(naive)
		}
		if rel := math.Abs(naive-want) / want; rel < 1e-3 {
			t.Errorf("%s: float32 naive std is only %.2g off; expected the cancellation error", s.Name(), rel)
		} else {
			t.Logf("%s at t=1e-5: float32 1-exp is %.2f%% off", s.Name(), 100*rel)
		}
	}
}

// A fine Euler-Maruyama run of the forward SDE from x_0 = 1.5 matches Marginal
// within 4 standard errors at t in {0.05, 0.1, 0.2, 0.5, 1}. n = 20000 paths;
// the step size 1e-3 gives a weak error O(h) that is below one standard error
// for these moments (checked: halving the step changes nothing visible).
func TestForwardMonteCarlo(t *testing.T) {
	const n, x0 = 20000, 1.5
	checks := []float64{0.05, 0.1, 0.2, 0.5, 1}
	for _, s := range all() {
		r := rand.New(rand.NewPCG(1, 2))
		x := make([]float64, n)
		for i := range x {
			x[i] = x0
		}
		const steps = 1000
		h := 1.0 / steps
		next := 0
		for k := 0; k < steps; k++ {
			tk := float64(k) * h
			a, g := s.DriftCoef(tk), s.Diffusion(tk)
			sq := g * math.Sqrt(h)
			for i := range x {
				x[i] += a*x[i]*h + sq*r.NormFloat64()
			}
			tt := float64(k+1) * h
			if next < len(checks) && math.Abs(tt-checks[next]) < h/2 {
				c, sd := s.Marginal(checks[next])
				var m, v float64
				for _, xi := range x {
					m += xi
				}
				m /= n
				for _, xi := range x {
					v += (xi - m) * (xi - m)
				}
				v /= n - 1
				wantVar := sd * sd
				if ve, ok := s.(*VE); ok {
					wantVar -= ve.SigmaMin * ve.SigmaMin // the path starts at a point
				}
				seM := math.Sqrt(wantVar / n)
				seV := wantVar * math.Sqrt(2.0/(n-1))
				if math.Abs(m-c*x0) > 4*seM {
					t.Errorf("%s t=%g: mean %v want %v (se %.2g)", s.Name(), checks[next], m, c*x0, seM)
				}
				if math.Abs(v-wantVar) > 4*seV {
					t.Errorf("%s t=%g: var %v want %v (se %.2g)", s.Name(), checks[next], v, wantVar, seV)
				}
				next++
			}
		}
		if next != len(checks) {
			t.Fatalf("%s: checked %d times", s.Name(), next)
		}
	}
}

// The sub-VP marginal variance c^2 v0 + s^2 never exceeds VP's, for data
// variances 0.25 and 1 (exact inequality, no tolerance beyond rounding).
func TestSubVPBelowVP(t *testing.T) {
	vp, sub := NewVP(), NewSubVP()
	for _, v0 := range []float64{0.25, 1} {
		for k := 0; k <= 1000; k++ {
			tt := float64(k) / 1000
			c1, s1 := vp.Marginal(tt)
			c2, s2 := sub.Marginal(tt)
			if c2*c2*v0+s2*s2 > c1*c1*v0+s1*s1+1e-15 {
				t.Fatalf("v0=%g t=%g: sub-VP variance above VP", v0, tt)
			}
		}
	}
}

func TestPriorLogProb(t *testing.T) {
	ve := NewVE()
	x := []float64{1, -2, 3}
	want := 0.0
	for _, v := range x {
		want += -0.5*math.Log(2*math.Pi*2500) - v*v/5000
	}
	if got := PriorLogProb(ve, x); math.Abs(got-want) > 1e-12 {
		t.Errorf("VE prior log prob %v want %v", got, want)
	}
}

func TestValidateAndNames(t *testing.T) {
	cases := []struct {
		s    SDE
		want string
	}{
		{&VP{BetaMin: -1, BetaMax: 20}, "beta_min = -1 must be finite and >= 0"},
		{&VP{BetaMin: 30, BetaMax: 20}, "larger than beta_max"},
		{&SubVP{BetaMin: 0.1, BetaMax: math.NaN()}, "beta_max = NaN"},
		{&VE{SigmaMin: 50, SigmaMax: 50}, "sigma_min = 50 must be below sigma_max = 50"},
		{&VE{SigmaMin: 0, SigmaMax: 50}, "sigma_min = 0 must be finite and > 0"},
	}
	for _, c := range cases {
		err := c.s.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%#v: error %v, want %q", c.s, err, c.want)
		}
	}
	for _, s := range all() {
		if err := s.Validate(); err != nil {
			t.Errorf("default %s: %v", s.Name(), err)
		}
	}
	if _, err := ByName("vpp"); err == nil || !strings.Contains(err.Error(), "use one of edm, subvp, ve, vp") {
		t.Errorf("ByName: %v", err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "sde: t = 1.5") {
			t.Errorf("Marginal(1.5) did not panic clearly: %v", r)
		}
	}()
	NewVP().Marginal(1.5)
}

type constScore struct{ v float64 }

func (c constScore) Dim() int { return 1 }
func (c constScore) ScoreTo(dst, x, t []float64) {
	for i := range t {
		dst[i] = c.v
	}
}

// The reverse and probability-flow drifts against hand computation for VP at t = 0.5.
func TestReverseDrifts(t *testing.T) {
	s := NewVP()
	x, tt := []float64{2}, []float64{0.5}
	b := s.Beta(0.5)
	dst := make([]float64, 1)
	ReverseDriftTo(s, dst, x, tt, []float64{3})
	if want := -0.5*b*2 - b*3; math.Abs(dst[0]-want) > 1e-12 {
		t.Errorf("reverse drift %v want %v", dst[0], want)
	}
	ProbabilityFlow{SDE: s, Score: constScore{3}}.F(dst, tt, x, nil)
	if want := -0.5*b*2 - 0.5*b*3; math.Abs(dst[0]-want) > 1e-12 {
		t.Errorf("PF drift %v want %v", dst[0], want)
	}
}

// meanVar (one exp or expm1) agrees with the two-call formulas exp(lc) and
// -expm1(2 lc), each within about 1 ulp of the truth, to 4 ulp relative
// (1 + 1 for the references, about 1 + 1 for meanVar) over the whole range
// of VP times, both sides of the branch at lc = -0.35, and at tiny lc where
// v ~ -2 lc is the quantity that cancellation would ruin.
func TestMeanVar(t *testing.T) {
	const tol = 4 * 0x1p-52
	worstC, worstV := 0.0, 0.0
	check := func(lc float64) {
		c, v := meanVar(lc, expIfNeeded(lc))
		wc, wv := math.Exp(lc), -math.Expm1(2*lc)
		ec, ev := math.Abs(c-wc)/wc, math.Abs(v-wv)/wv
		worstC, worstV = max(worstC, ec), max(worstV, ev)
		if ec > tol || ev > tol {
			t.Errorf("lc = %v: c %v (exp %v), v %v (-expm1 %v)", lc, c, wc, v, wv)
		}
	}
	for i := 1; i <= 200000; i++ {
		check(-6 * float64(i) / 200000)
	}
	for _, lc := range []float64{-1e-300, -1e-12, -5e-7, -0.35, math.Nextafter(-0.35, 0), -0.3500001, -30} {
		check(lc)
	}
	t.Logf("max relative difference: c %.2g, v %.2g (ulp 2.2e-16)", worstC, worstV)
}

// MarginalsTo gives Marginal's bits for every time, for VP, sub-VP (one
// vectorised exponential) and VE (the loop), on times that cross meanVar's
// branch, in batches of every length 0..13 (the vector kernel's tails).
func TestMarginalsTo(t *testing.T) {
	for _, s := range []SDE{NewVP(), NewSubVP(), NewVE()} {
		for n := 0; n <= 13; n++ {
			ts := make([]float64, n)
			for i := range ts {
				ts[i] = 1e-5 + float64(i*i)/169
			}
			c, std := make([]float64, n), make([]float64, n)
			MarginalsTo(s, c, std, ts)
			for i, ti := range ts {
				wc, ws := s.Marginal(ti)
				if c[i] != wc || std[i] != ws {
					t.Fatalf("%s t = %v: MarginalsTo %v %v, Marginal %v %v", s.Name(), ti, c[i], std[i], wc, ws)
				}
			}
		}
	}
}
