package sde_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/sdekit/sdekit/sde"
)

// The oracle below is sample/plan.go's referenceSteps as it was before the
// reference discretisation moved into package sde (with discretize.FromVP,
// NewDDPM, BetaTilde, SMLDSigmas and Linspace of that time inlined), so that
// ReferenceSteps, DiscreteBetas and DiscreteSigmas are checked against the
// code they replace, bit for bit.

func oldLinspace(a, b float64, n int) []float64 {
	out := make([]float64, n)
	if n == 1 {
		out[0] = a
		return out
	}
	step := (b - a) / float64(n-1)
	for i := range out {
		out[i] = a + float64(i)*step
	}
	out[n-1] = b
	return out
}

type oldDDPM struct{ Betas, Alphas, AlphaBars []float64 }

func oldNewDDPM(betas []float64) (*oldDDPM, error) {
	d := &oldDDPM{Betas: append([]float64(nil), betas...), Alphas: make([]float64, len(betas)), AlphaBars: make([]float64, len(betas))}
	var logAB float64
	for i, b := range betas {
		if !(b > 0 && b < 1) {
			return nil, fmt.Errorf("beta_%d = %v", i, b)
		}
		d.Alphas[i] = 1 - b
		logAB += math.Log1p(-b)
		d.AlphaBars[i] = math.Exp(logAB)
	}
	return d, nil
}

func (d *oldDDPM) BetaTilde(i int) float64 {
	if i == 0 {
		return 0
	}
	return d.Betas[i] * (1 - d.AlphaBars[i-1]) / (1 - d.AlphaBars[i])
}

func oldFromVP(vp *sde.VP, n int) (*oldDDPM, error) {
	if n < 1 {
		return nil, fmt.Errorf("steps = %d", n)
	}
	if err := vp.Validate(); err != nil {
		return nil, err
	}
	if vp.BetaMax/float64(n) >= 1 {
		return nil, fmt.Errorf("beta_max/N = %v", vp.BetaMax/float64(n))
	}
	return oldNewDDPM(oldLinspace(vp.BetaMin/float64(n), vp.BetaMax/float64(n), n))
}

func oldSMLDSigmas(ve *sde.VE, n int) ([]float64, error) {
	if n < 2 {
		return nil, fmt.Errorf("steps = %d", n)
	}
	if err := ve.Validate(); err != nil {
		return nil, err
	}
	out := make([]float64, n)
	lr := math.Log(ve.SigmaMax / ve.SigmaMin)
	for i := range out {
		out[i] = ve.SigmaMin * math.Exp(lr*float64(i)/float64(n-1))
	}
	out[n-1] = ve.SigmaMax
	return out, nil
}

func oldKernel(s sde.SDE, t, tp float64) (A, B2 float64) {
	c, sd := s.Marginal(t)
	cp, sdp := s.Marginal(tp)
	A = c / cp
	B2 = sd*sd - A*A*sdp*sdp
	if B2 < 0 {
		B2 = 0
	}
	return A, B2
}

func oldAncestral(s sde.SDE, t, tp, A, B2 float64, variance string) (px, ps, pz float64) {
	px, ps = 1/A, B2/A
	v := B2
	if variance == "beta-tilde" {
		_, sd := s.Marginal(t)
		_, sdp := s.Marginal(tp)
		v = B2 * sdp * sdp / (sd * sd)
	}
	return px, ps, math.Sqrt(v)
}

type oldStep struct{ Alpha, PX, PS, PZ float64 }

// oldReferenceSteps is referenceSteps for one predictor ("reverse-diffusion"
// or "ancestral") and variance, on the times ts, without the Denoise and
// Euler-Maruyama parts (which stay in package sample).
func oldReferenceSteps(s sde.SDE, ts []float64, n int, predictor, variance string) ([]oldStep, error) {
	T := s.T()
	fn := float64(n)
	var ddpm *oldDDPM
	var smld []float64
	var err error
	switch v := s.(type) {
	case *sde.VP:
		ddpm, err = oldFromVP(v, n)
	case *sde.SubVP:
		ddpm, err = oldFromVP(&sde.VP{BetaMin: v.BetaMin, BetaMax: v.BetaMax}, n)
	case *sde.VE:
		smld, err = oldSMLDSigmas(v, max(n, 2))
	}
	if err != nil {
		return nil, err
	}
	steps := make([]oldStep, len(ts))
	for k, t := range ts {
		i := min(max(int(t*float64(n-1)/T), 0), n-1)
		st := oldStep{Alpha: 1}
		if ddpm != nil {
			st.Alpha = ddpm.Alphas[i]
		}
		a, g := s.DriftCoef(t), s.Diffusion(t)
		em := func() { st.PX, st.PS, st.PZ = 1-a/fn, g*g/fn, g/math.Sqrt(fn) }
		switch predictor {
		case "reverse-diffusion":
			switch v := s.(type) {
			case *sde.VP:
				b := ddpm.Betas[i]
				st.PX, st.PS, st.PZ = 2-math.Sqrt(1-b), b, math.Sqrt(b)
			case *sde.SubVP:
				em()
			case *sde.VE:
				sig := v.Sigma(t)
				adj := 0.0
				if i > 0 {
					adj = smld[i-1]
				}
				g2 := sig*sig - adj*adj
				st.PX, st.PS, st.PZ = 1, g2, math.Sqrt(g2)
			}
		case "ancestral":
			switch s.(type) {
			case *sde.VP:
				b := ddpm.Betas[i]
				sa := math.Sqrt(1 - b)
				st.PX, st.PS, st.PZ = 1/sa, b/sa, math.Sqrt(b)
				if variance == "beta-tilde" {
					st.PZ = math.Sqrt(ddpm.BetaTilde(i))
				}
			case *sde.SubVP:
				tp := math.Max(t-1/fn, 0)
				A, B2 := oldKernel(s, t, tp)
				st.PX, st.PS, st.PZ = oldAncestral(s, t, tp, A, B2, variance)
			case *sde.VE:
				sig := smld[i]
				adj := 0.0
				if i > 0 {
					adj = smld[i-1]
				}
				g2 := sig*sig - adj*adj
				st.PX, st.PS = 1, g2
				if variance == "beta-tilde" {
					st.PZ = math.Sqrt(adj * adj * g2 / (sig * sig))
				} else {
					st.PZ = math.Sqrt(g2)
				}
			}
		}
		steps[k] = st
	}
	return steps, nil
}

// same compares bit patterns, so that -0 != +0 and NaN == NaN of the same bits.
func same(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

// TestReferenceStepsMatchOldCode: for each built-in SDE (reference and small
// parameters, so that N = 1 and 2 have a valid DDPM chain), several N and two
// eps, the grid linspace(T, eps, N) and some extra times, ReferenceSteps gives
// bit for bit (==, no tolerance: the same floating-point operations in the
// same order) what referenceSteps computed, and fails where it failed.
func TestReferenceStepsMatchOldCode(t *testing.T) {
	sdes := []sde.SDE{
		sde.NewVP(), &sde.VP{BetaMin: 0.1, BetaMax: 0.9}, &sde.VP{BetaMin: 0, BetaMax: 5},
		sde.NewSubVP(), &sde.SubVP{BetaMin: 0.1, BetaMax: 0.9},
		sde.NewVE(), &sde.VE{SigmaMin: 0.002, SigmaMax: 1},
	}
	ns := []int{1, 2, 3, 7, 21, 100, 1000}
	for _, s := range sdes {
		rd := s.(sde.ReferenceDiscretizer)
		for _, n := range ns {
			for _, eps := range []float64{1e-3, 1e-5} {
				name := fmt.Sprintf("%s%v/N=%d/eps=%g", s.Name(), s.(sde.Parameterized).Params(), n, eps)
				t.Run(name, func(t *testing.T) {
					ts := append(oldLinspace(s.T(), eps, n), 0, s.T(), 0.5, 1e-7)
					got, err := rd.ReferenceSteps(ts, n)
					rev, errOld := oldReferenceSteps(s, ts, n, "reverse-diffusion", "beta")
					if (err != nil) != (errOld != nil) {
						t.Fatalf("error %v, the old code's %v", err, errOld)
					}
					if err != nil {
						return
					}
					anc, _ := oldReferenceSteps(s, ts, n, "ancestral", "beta")
					til, _ := oldReferenceSteps(s, ts, n, "ancestral", "beta-tilde")
					if len(got) != len(ts) {
						t.Fatalf("%d steps for %d times", len(got), len(ts))
					}
					for k, g := range got {
						check := func(what string, l sde.Linear, o oldStep) {
							if !same(l.PX, o.PX) || !same(l.PS, o.PS) || !same(l.PZ, o.PZ) {
								t.Errorf("t = %v: %s %+v, the old code's {PX:%v PS:%v PZ:%v}", ts[k], what, l, o.PX, o.PS, o.PZ)
							}
						}
						if !same(g.Alpha, rev[k].Alpha) || !same(g.Alpha, anc[k].Alpha) {
							t.Errorf("t = %v: alpha %v, the old code's %v", ts[k], g.Alpha, rev[k].Alpha)
						}
						check("reverse diffusion", g.Reverse, rev[k])
						check("ancestral (beta)", g.Ancestral, anc[k])
						check("ancestral (beta-tilde)", g.AncestralTilde, til[k])
					}
				})
			}
		}
	}
}

// TestDiscreteGridsMatchOldCode: DiscreteBetas and DiscreteSigmas are the
// grids discretize.FromVP and SMLDSigmas built, bit for bit, and fail where
// they failed.
func TestDiscreteGridsMatchOldCode(t *testing.T) {
	for _, vp := range []*sde.VP{sde.NewVP(), {BetaMin: 0.1, BetaMax: 0.9}, {BetaMin: 3, BetaMax: 1}} {
		for _, n := range []int{0, 1, 2, 20, 21, 1000, 4096} {
			got, err := vp.DiscreteBetas(n)
			old, errOld := oldFromVP(vp, n)
			if (err != nil) != (errOld != nil) {
				t.Fatalf("vp %+v N = %d: error %v, the old code's %v", vp, n, err, errOld)
			}
			if err != nil {
				continue
			}
			for i := range got {
				if !same(got[i], old.Betas[i]) {
					t.Fatalf("vp %+v N = %d: beta_%d = %v, the old code's %v", vp, n, i, got[i], old.Betas[i])
				}
			}
		}
	}
	for _, ve := range []*sde.VE{sde.NewVE(), {SigmaMin: 0.002, SigmaMax: 80}, {SigmaMin: 1, SigmaMax: 1}} {
		for _, n := range []int{0, 1, 2, 3, 1000} {
			got, err := ve.DiscreteSigmas(n)
			old, errOld := oldSMLDSigmas(ve, n)
			if (err != nil) != (errOld != nil) {
				t.Fatalf("ve %+v N = %d: error %v, the old code's %v", ve, n, err, errOld)
			}
			for i := range got {
				if !same(got[i], old[i]) {
					t.Fatalf("ve %+v N = %d: sigma_%d = %v, the old code's %v", ve, n, i, got[i], old[i])
				}
			}
		}
	}
}
