package score

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"

	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/sde"
)

// lossCase is one valid (SDE, parameterisation, loss) combination.
type lossCase struct {
	sde   sde.SDE
	param Param
	cfg   LossConfig
}

func (c lossCase) String() string {
	s := c.sde.Name() + "/" + string(c.param) + "/" + c.cfg.Kind
	if c.cfg.Weighting != "" {
		s += "-" + c.cfg.Weighting
	}
	return s
}

func (c lossCase) loss(tb testing.TB) *Loss {
	tb.Helper()
	l, err := NewLoss(c.sde, c.param, c.cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// lossCases lists every valid combination: dsm with both weightings under
// every SDE and parameterisation, ddpm (VP, eps) and smld (VE, every
// parameterisation). Discrete losses use 100 levels to keep tables small.
func lossCases() []lossCase {
	var cs []lossCase
	for _, s := range sdes {
		for _, p := range Params {
			for _, w := range []string{WeightSigma2, WeightLikelihood} {
				cs = append(cs, lossCase{s, p, LossConfig{Kind: LossDSM, Weighting: w}})
			}
		}
	}
	cs = append(cs, lossCase{sde.NewVP(), ParamEps, LossConfig{Kind: LossDDPM, Levels: 100}})
	for _, p := range Params {
		cs = append(cs, lossCase{sde.NewVE(), p, LossConfig{Kind: LossSMLD, Levels: 100}})
	}
	return cs
}

// randBatch returns n rows of x0 ~ N(0, 4 I), z ~ N(0, I) and times from the loss.
func randBatch(l *Loss, n, d int, r *rand.Rand) (x0, t, z []float64) {
	x0, t, z = make([]float64, n*d), make([]float64, n), make([]float64, n*d)
	for i := range x0 {
		x0[i] = 2 * r.NormFloat64()
		z[i] = r.NormFloat64()
	}
	l.SampleTimes(t, r)
	return x0, t, z
}

// TestLossDefinition checks Eval against the loss written in score space,
// (1/n) sum_i lambda_i/2 |S_i + z_i/s_i|^2 with S = k(t) o (DDPM: the sum of
// squares of z - o without the 1/2), which is how the papers state it.
// Tolerance 1e-12 relative: the two differ only in rounding.
func TestLossDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n, d = 7, 3
	for _, c := range lossCases() {
		t.Run(c.String(), func(t *testing.T) {
			l := c.loss(t)
			_, tt, z := randBatch(l, n, d, r)
			out := make([]float64, n*d)
			for i := range out {
				out[i] = r.NormFloat64()
			}
			got := l.Eval(nil, out, tt, z)
			var want float64
			for i, ti := range tt {
				_, s := l.Marginal(ti)
				k := c.param.scale(s)
				lambda := s * s
				if c.cfg.Weighting == WeightLikelihood {
					g := c.sde.Diffusion(ti)
					lambda = g * g
				}
				for j := i * d; j < (i+1)*d; j++ {
					if c.cfg.Kind == LossDDPM {
						e := z[j] - out[j]
						want += e * e
						continue
					}
					e := k*out[j] + z[j]/s
					want += lambda / 2 * e * e
				}
			}
			want /= n
			if math.Abs(got-want) > 1e-12*math.Abs(want) {
				t.Errorf("Eval = %.17g, definition gives %.17g", got, want)
			}
		})
	}
}

// TestLossGradFD checks dLoss/d out against central differences. The loss
// is quadratic in out, so the central difference has no truncation error;
// with h = 1e-4 the rounding error is about eps |L| / h ~ 1e-12 |L|, and the
// tolerance is 1e-7 of the largest gradient component plus 1e-7 relative.
func TestLossGradFD(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n, d = 6, 2
	for _, c := range lossCases() {
		t.Run(c.String(), func(t *testing.T) {
			l := c.loss(t)
			_, tt, z := randBatch(l, n, d, r)
			out := make([]float64, n*d)
			for i := range out {
				out[i] = r.NormFloat64()
			}
			got := make([]float64, n*d)
			l.Eval(got, out, tt, z)
			want := fd.Gradient(nil, func(o []float64) float64 { return l.Eval(nil, o, tt, z) }, out,
				&fd.Settings{Formula: fd.Central, Step: 1e-4})
			scale := 0.0
			for _, v := range want {
				scale = max(scale, math.Abs(v))
			}
			for i := range got {
				if e := math.Abs(got[i] - want[i]); e > 1e-7*scale+1e-7*math.Abs(want[i]) {
					t.Errorf("dOut[%d] = %.12g, finite difference %.12g", i, got[i], want[i])
				}
			}
		})
	}
}

// TestLossPerturbAndTimes checks the training times and marginals of each
// kind: dsm times in [eps, T) with the SDE's marginal; ddpm times on the grid
// (i+1)/N with c^2 + s^2 = 1 (VP) and c = sqrt(alpha-bar_i); smld times on
// i/(N-1) with c = 1 and s = sigma(t) to 1e-12 (the geometric grid equals the
// continuous sigma at those times up to rounding). Perturb is c x0 + s z.
func TestLossPerturbAndTimes(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const n, d = 500, 2
	for _, c := range lossCases() {
		t.Run(c.String(), func(t *testing.T) {
			l := c.loss(t)
			x0, tt, z := randBatch(l, n, d, r)
			xt := make([]float64, n*d)
			l.Perturb(xt, x0, tt, z)
			for i, ti := range tt {
				cc, s := l.Marginal(ti)
				switch c.cfg.Kind {
				case LossDSM:
					if ti < l.Config().Eps || ti >= c.sde.T() {
						t.Fatalf("t = %v outside [eps, T)", ti)
					}
					wc, ws := c.sde.Marginal(ti)
					if cc != wc || s != ws {
						t.Fatalf("marginal at %v = (%v, %v), SDE gives (%v, %v)", ti, cc, s, wc, ws)
					}
				case LossDDPM:
					k := math.Round(ti * 100)
					if ti != k/100 || k < 1 || k > 100 {
						t.Fatalf("ddpm t = %v not on the grid (i+1)/N", ti)
					}
					if math.Abs(cc*cc+s*s-1) > 1e-14 {
						t.Fatalf("ddpm c^2 + s^2 = %v", cc*cc+s*s)
					}
				case LossSMLD:
					k := math.Round(ti * 99)
					if ti != k/99 || k < 0 || k > 99 {
						t.Fatalf("smld t = %v not on the grid i/(N-1)", ti)
					}
					_, ws := c.sde.Marginal(ti)
					if cc != 1 || math.Abs(s-ws) > 1e-12*ws {
						t.Fatalf("smld level at %v: (%v, %v), VE sigma(t) = %v", ti, cc, s, ws)
					}
				}
				// x_t is c x_0 + s z, rounded once per product and once
				// for the sum, or with one product fused into the sum (the
				// compiler may do either with GOAMD64=v3): equal within the
				// rounding of one product and the sum, 2^-52 (|c x_0| + |s z|).
				for j := i * d; j < (i+1)*d; j++ {
					want := cc*x0[j] + s*z[j]
					if tol := 0x1p-52 * (math.Abs(cc*x0[j]) + math.Abs(s*z[j])); math.Abs(xt[j]-want) > tol {
						t.Fatalf("x_t[%d] = %v, want %v", j, xt[j], want)
					}
				}
			}
		})
	}
}

func TestLossErrors(t *testing.T) {
	cases := []struct {
		s    sde.SDE
		p    Param
		cfg  LossConfig
		want string
	}{
		{sde.NewVE(), ParamSigma, LossConfig{Kind: LossDDPM}, "use -sde vp"},
		{sde.NewSubVP(), ParamEps, LossConfig{Kind: LossDDPM}, "use -sde vp"},
		{sde.NewVP(), ParamSigma, LossConfig{Kind: LossDDPM}, "eps parameterisation"},
		{sde.NewVP(), ParamEps, LossConfig{Kind: LossDDPM, Weighting: WeightLikelihood}, "no weighting"},
		{sde.NewVP(), ParamEps, LossConfig{Kind: LossSMLD}, "use -sde ve"},
		{sde.NewVE(), ParamSigma, LossConfig{Kind: LossSMLD, Levels: 1}, "at least 2"},
		{sde.NewVP(), ParamEps, LossConfig{Kind: "sm"}, "unknown loss"},
		{sde.NewVP(), ParamEps, LossConfig{Weighting: "uniform"}, "unknown weighting"},
		{sde.NewVP(), ParamEps, LossConfig{Eps: 2}, "eps"},
		{sde.NewVP(), "noise", LossConfig{}, "unknown parameterisation"},
		{&sde.VP{BetaMin: 1, BetaMax: 0.1}, ParamEps, LossConfig{}, "swap"},
	}
	for _, c := range cases {
		_, err := NewLoss(c.s, c.p, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewLoss(%s, %s, %+v) = %v, want an error containing %q", c.s.Name(), c.p, c.cfg, err, c.want)
		}
	}
}

// TestDSMMinimiserGaussian solves the DSM least-squares problem exactly for a
// model linear in x and compares the minimiser with the analytic score.
//
// Data: gauss:2 (mean 0.5 cos i, stds 0.2 and 0.8). At a fixed t, p_t is
// N(c mu, diag(v)), v = c^2 sigma0^2 + s^2, whose score (c mu - x)/v is linear
// in x, so the minimiser over o(x) = Theta [x; 1] of the population loss is
// the true score exactly, for every parameterisation and weighting. With M
// samples the loss is quadratic in Theta; its Hessian is recovered exactly
// from Eval's gradient (dL/dTheta = dOut^T [x, 1]) at unit probes and the
// minimiser solved for. The estimate differs from the true score by the OLS
// error, whose standard error at x is se_j(x) = sqrt(Var(-z_j/s | x_t))
// sqrt(phi^T (Phi^T Phi)^-1 phi), Var = (1 - s^2/v_j)/s^2. The bound is 5 se
// (about 300 comparisons; a 5-sigma excursion has probability 6e-7 each).
// This checks the target, the sign and the scaling of every
// parameterisation and the marginal each loss perturbs with.
func TestDSMMinimiserGaussian(t *testing.T) {
	const m, d, nf = 20000, 2, 3
	r := rand.New(rand.NewPCG(9, 10))
	for _, c := range lossCases() {
		c.cfg.Levels *= 10 // 1000 levels, the defaults of the papers
		t.Run(c.String(), func(t *testing.T) {
			l := c.loss(t)
			g := Gauss(c.sde, d)
			mu, sd0 := g.Means[0], g.Stds[0]
			var times []float64
			switch c.cfg.Kind {
			case LossDSM:
				times = []float64{0.05, 0.3, 0.8}
			case LossDDPM:
				times = []float64{50.0 / 1000, 300.0 / 1000, 800.0 / 1000}
			case LossSMLD:
				times = []float64{50.0 / 999, 300.0 / 999, 800.0 / 999}
			}
			for _, tm := range times {
				x0, tt, z, xt := make([]float64, m*d), make([]float64, m), make([]float64, m*d), make([]float64, m*d)
				for i := 0; i < m; i++ {
					g.SampleData(x0[i*d:(i+1)*d], r)
					tt[i] = tm
				}
				for i := range z {
					z[i] = r.NormFloat64()
				}
				l.Perturb(xt, x0, tt, z)
				phi := func(x []float64) []float64 { return []float64{x[0], x[1], 1} }
				out, dOut := make([]float64, m*d), make([]float64, m*d)
				grad := func(theta []float64) []float64 { // theta: d x nf row-major
					for i := 0; i < m; i++ {
						f := phi(xt[i*d:])
						for j := 0; j < d; j++ {
							var o float64
							for k := 0; k < nf; k++ {
								o += theta[j*nf+k] * f[k]
							}
							out[i*d+j] = o
						}
					}
					l.Eval(dOut, out, tt, z)
					gr := make([]float64, d*nf)
					for i := 0; i < m; i++ {
						f := phi(xt[i*d:])
						for j := 0; j < d; j++ {
							for k := 0; k < nf; k++ {
								gr[j*nf+k] += dOut[i*d+j] * f[k]
							}
						}
					}
					return gr
				}
				np := d * nf
				g0 := grad(make([]float64, np))
				h := mat.NewDense(np, np, nil)
				for q := 0; q < np; q++ {
					e := make([]float64, np)
					e[q] = 1
					gq := grad(e)
					for p := 0; p < np; p++ {
						h.Set(p, q, gq[p]-g0[p])
					}
				}
				var theta mat.VecDense
				if err := theta.SolveVec(h, mat.NewVecDense(np, g0)); err != nil {
					t.Fatal(err)
				}
				theta.ScaleVec(-1, &theta)
				// (Phi^T Phi)^-1 for the standard errors.
				ftf := mat.NewSymDense(nf, nil)
				for i := 0; i < m; i++ {
					f := phi(xt[i*d:])
					for a := 0; a < nf; a++ {
						for b := a; b < nf; b++ {
							ftf.SetSym(a, b, ftf.At(a, b)+f[a]*f[b])
						}
					}
				}
				var inv mat.Dense
				if err := inv.Inverse(ftf); err != nil {
					t.Fatal(err)
				}
				cc, s := l.Marginal(tm)
				alpha := c.param.unitScale(s)
				worst := 0.0
				for _, k0 := range []float64{-2, -1, 0, 1, 2} {
					for _, k1 := range []float64{-2, 0, 2} {
						x := make([]float64, d)
						v := make([]float64, d)
						for j := range x {
							v[j] = cc*cc*sd0[j]*sd0[j] + s*s
						}
						x[0] = cc*mu[0] + k0*math.Sqrt(v[0])
						x[1] = cc*mu[1] + k1*math.Sqrt(v[1])
						f := phi(x)
						lev := mat.Inner(mat.NewVecDense(nf, f), &inv, mat.NewVecDense(nf, f))
						for j := 0; j < d; j++ {
							var o float64
							for k := 0; k < nf; k++ {
								o += theta.AtVec(j*nf+k) * f[k]
							}
							est := alpha * o / s
							exact := (cc*mu[j] - x[j]) / v[j]
							se := math.Sqrt((1-s*s/v[j])/(s*s)) * math.Sqrt(lev)
							if e := math.Abs(est - exact); e > 5*se {
								t.Errorf("t = %v x = %v: score_%d = %.6g, exact %.6g (error %.3g, bound 5 se = %.3g)", tm, x, j, est, exact, e, 5*se)
							} else {
								worst = max(worst, e/se)
							}
						}
					}
				}
				t.Logf("t = %.4f: worst error %.2f standard errors", tm, worst)
			}
		})
	}
}

// tinyConfig is the network of the end-to-end gradient tests.
func tinyConfig(prec string) model.Config {
	return model.Config{Dim: 2, Hidden: []int{5, 4}, EmbedDim: 4, FourierScale: 2, Precision: prec, Seed: 3}
}

// mustMLP builds the MLP of a valid config (tests only: it panics).
func mustMLP(cfg model.Config) model.Trainable {
	net, err := model.NewTrainable(cfg)
	if err != nil {
		panic(err)
	}
	return net
}

// tinyMLP is the network of tinyConfig.
func tinyMLP(prec string) model.Trainable { return mustMLP(tinyConfig(prec)) }

// TestTrainingGradientFD checks the gradient the trainer uses, Backward of
// Eval's dLoss/d out after ForwardTrain on Perturb's x_t, against central
// differences of the loss in every parameter of a tiny float64 network,
// for every loss. The step h = 1e-6 balances truncation (h^2 |d3L| ~ 1e-12)
// and rounding (eps |L| / h ~ 1e-10 |L|); the tolerance is 1e-6 of the
// largest gradient component plus 1e-5 relative.
func TestTrainingGradientFD(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const n = 6
	for _, c := range lossCases() {
		t.Run(c.String(), func(t *testing.T) {
			l := c.loss(t)
			net, err := model.NewTrainable(tinyConfig(model.Float64))
			if err != nil {
				t.Fatal(err)
			}
			d := net.Dim()
			x0, tt, z := randBatch(l, n, d, r)
			xt := make([]float64, n*d)
			l.Perturb(xt, x0, tt, z)
			out, dOut := make([]float64, n*d), make([]float64, n*d)
			net.ZeroGrad()
			net.ForwardTrain(out, xt, tt)
			l.Eval(dOut, out, tt, z)
			net.Backward(dOut)
			got := append([]float64(nil), net.Grads()...)
			p0 := append([]float64(nil), net.Params()...)
			want := fd.Gradient(nil, func(p []float64) float64 {
				copy(net.Params(), p)
				net.SyncParams()
				net.Forward(out, xt, tt)
				return l.Eval(nil, out, tt, z)
			}, p0, &fd.Settings{Formula: fd.Central, Step: 1e-6})
			scale := 0.0
			for _, v := range want {
				scale = max(scale, math.Abs(v))
			}
			bad := 0
			for i := range got {
				if e := math.Abs(got[i] - want[i]); e > 1e-6*scale+1e-5*math.Abs(want[i]) {
					if bad++; bad <= 5 {
						t.Errorf("grad[%d] = %.10g, finite difference %.10g", i, got[i], want[i])
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d components outside the tolerance", bad, len(got))
			}
		})
	}
}

func ExampleLoss() {
	s := sde.NewVP()
	l, err := NewLoss(s, ParamEps, LossConfig{}) // dsm, lambda = sigma^2
	if err != nil {
		panic(err)
	}
	// One row at t = 0.5 whose eps-prediction is off by 0.1 in each coordinate.
	z := []float64{1, -1}
	out := []float64{1.1, -0.9}
	dOut := make([]float64, 2)
	fmt.Printf("loss %.4f, dLoss/dout %.2f\n", l.Eval(dOut, out, []float64{0.5}, z), dOut)
	// Output: loss 0.0100, dLoss/dout [0.10 0.10]
}
