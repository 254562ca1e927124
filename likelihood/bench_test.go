package likelihood

import (
	"context"
	"math"
	"testing"

	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// fastMixture evaluates the same exact Gaussian-mixture score as
// score.Mixture with fused loops: no logarithms for one component, K logs
// per row otherwise (score.Mixture takes D K logs per row per call). It
// exists to separate the cost of the likelihood machinery from the cost of
// the oracle in the benchmarks; TestFastMixture checks it against
// score.Mixture.
type fastMixture struct {
	m    *score.Mixture
	k, d int
	sd2  []float64 // K x D variances of p_0
	mu   []float64 // K x D
	logw []float64
}

func newFastMixture(m *score.Mixture) *fastMixture {
	f := &fastMixture{m: m, k: m.K(), d: m.Dim()}
	for k := 0; k < f.k; k++ {
		f.logw = append(f.logw, math.Log(m.Weights[k]))
		for j := 0; j < f.d; j++ {
			f.sd2 = append(f.sd2, m.Stds[k][j]*m.Stds[k][j])
			f.mu = append(f.mu, m.Means[k][j])
		}
	}
	return f
}

func (f *fastMixture) Dim() int { return f.d }

// resp fills r (K) with the responsibilities of row x at (c, s).
func (f *fastMixture) resp(r, x []float64, c, s float64) {
	if f.k == 1 {
		r[0] = 1
		return
	}
	c2, s2 := c*c, s*s
	mx := math.Inf(-1)
	for k := 0; k < f.k; k++ {
		sd2, mu := f.sd2[k*f.d:(k+1)*f.d], f.mu[k*f.d:(k+1)*f.d]
		// log det by products of 8 variances (no under/overflow for
		// variances in [1e-30, 1e30]): D/8 logs instead of D.
		var q, ld float64
		prod := 1.0
		for j, xj := range x {
			v := c2*sd2[j] + s2
			e := xj - c*mu[j]
			q += e * e / v
			prod *= v
			if j&7 == 7 {
				ld += math.Log(prod)
				prod = 1
			}
		}
		ld += math.Log(prod)
		r[k] = f.logw[k] - 0.5*(q+ld)
		mx = max(mx, r[k])
	}
	var sum float64
	for k := range r {
		r[k] = math.Exp(r[k] - mx)
		sum += r[k]
	}
	for k := range r {
		r[k] /= sum
	}
}

func (f *fastMixture) ScoreTo(dst, x, t []float64) {
	d := f.d
	var rb [16]float64
	r := rb[:f.k]
	for i, ti := range t {
		c, s := f.m.SDE.Marginal(ti)
		c2, s2 := c*c, s*s
		xi, out := x[i*d:(i+1)*d], dst[i*d:(i+1)*d]
		f.resp(r, xi, c, s)
		clear(out)
		for k, rk := range r {
			sd2, mu := f.sd2[k*d:(k+1)*d], f.mu[k*d:(k+1)*d]
			for j, xj := range xi {
				out[j] += rk * (c*mu[j] - xj) / (c2*sd2[j] + s2)
			}
		}
	}
}

func (f *fastMixture) VJPTo(dst, v, x, t []float64) {
	d := f.d
	var rb [16]float64
	r := rb[:f.k]
	for i, ti := range t {
		c, s := f.m.SDE.Marginal(ti)
		c2, s2 := c*c, s*s
		xi, vi, out := x[i*d:(i+1)*d], v[i*d:(i+1)*d], dst[i*d:(i+1)*d]
		if f.k == 1 {
			// J = -diag(1/v)
			for j := range out {
				out[j] = -vi[j] / (c2*f.sd2[j] + s2)
			}
			continue
		}
		f.resp(r, xi, c, s)
		// J = sum_k r_k (a_k a_k^T - diag(1/v_k)) - s s^T
		var sb [64]float64
		sc := sb[:d]
		clear(out)
		var vs float64
		for k, rk := range r {
			sd2, mu := f.sd2[k*d:(k+1)*d], f.mu[k*d:(k+1)*d]
			var va float64
			for j, xj := range xi {
				iv := 1 / (c2*sd2[j] + s2)
				a := (c*mu[j] - xj) * iv
				va += vi[j] * a
			}
			for j, xj := range xi {
				iv := 1 / (c2*sd2[j] + s2)
				a := (c*mu[j] - xj) * iv
				sc[j] += rk * a
				out[j] += rk * (va*a - vi[j]*iv)
			}
		}
		for j := range sc {
			vs += vi[j] * sc[j]
		}
		for j := range out {
			out[j] -= vs * sc[j]
		}
	}
}

// ScoreVJPTo is the fused score and VJP (FusedScore): one set of
// responsibilities per row serves both.
func (f *fastMixture) ScoreVJPTo(sdst, dst, v, x, t []float64) {
	d := f.d
	var rb [16]float64
	r := rb[:f.k]
	for i, ti := range t {
		c, s := f.m.SDE.Marginal(ti)
		c2, s2 := c*c, s*s
		xi, vi, out, so := x[i*d:(i+1)*d], v[i*d:(i+1)*d], dst[i*d:(i+1)*d], sdst[i*d:(i+1)*d]
		if f.k == 1 {
			for j, xj := range xi {
				iv := 1 / (c2*f.sd2[j] + s2)
				so[j] = (c*f.mu[j] - xj) * iv
				out[j] = -vi[j] * iv
			}
			continue
		}
		f.resp(r, xi, c, s)
		clear(out)
		clear(so)
		for k, rk := range r {
			sd2, mu := f.sd2[k*d:(k+1)*d], f.mu[k*d:(k+1)*d]
			var va float64
			for j, xj := range xi {
				va += vi[j] * (c*mu[j] - xj) / (c2*sd2[j] + s2)
			}
			for j, xj := range xi {
				iv := 1 / (c2*sd2[j] + s2)
				a := (c*mu[j] - xj) * iv
				so[j] += rk * a
				out[j] += rk * (va*a - vi[j]*iv)
			}
		}
		var vs float64
		for j := range so {
			vs += vi[j] * so[j]
		}
		for j := range out {
			out[j] -= vs * so[j]
		}
	}
}

func (f *fastMixture) TraceJacobianTo(dst, x, t []float64) {
	d := f.d
	var rb [16]float64
	r := rb[:f.k]
	for i, ti := range t {
		c, s := f.m.SDE.Marginal(ti)
		c2, s2 := c*c, s*s
		xi := x[i*d : (i+1)*d]
		var tr float64
		if f.k == 1 {
			for j := range xi {
				tr -= 1 / (c2*f.sd2[j] + s2)
			}
			dst[i] = tr
			continue
		}
		f.resp(r, xi, c, s)
		var sb [64]float64
		sc := sb[:d]
		for k, rk := range r {
			sd2, mu := f.sd2[k*d:(k+1)*d], f.mu[k*d:(k+1)*d]
			for j, xj := range xi {
				iv := 1 / (c2*sd2[j] + s2)
				a := (c*mu[j] - xj) * iv
				sc[j] += rk * a
				tr += rk * (a*a - iv)
			}
		}
		for _, v := range sc {
			tr -= v * v
		}
		dst[i] = tr
	}
}

// TestFastMixture: the benchmark oracle agrees with score.Mixture (score,
// VJP, trace) to 1e-10 relative: both are the same closed forms with
// different rounding.
func TestFastMixture(t *testing.T) {
	for _, name := range []string{"gmm8", "gauss:5"} {
		m, _ := score.Problem(name, sde.NewVP())
		f := newFastMixture(m)
		d := m.Dim()
		x := drawData(m, 1, 4)
		v := drawData(m, 2, 4)
		ts := []float64{1e-5, 0.1, 0.5, 1}
		a, b := make([]float64, 4*d), make([]float64, 4*d)
		check := func(what string, a, b []float64) {
			for i := range a {
				if math.Abs(a[i]-b[i]) > 1e-10*(math.Abs(a[i])+1e-3) {
					t.Errorf("%s %s[%d]: fast %v, score.Mixture %v", name, what, i, a[i], b[i])
				}
			}
		}
		f.ScoreTo(a, x, ts)
		m.ScoreTo(b, x, ts)
		check("score", a, b)
		f.VJPTo(a, v, x, ts)
		m.VJPTo(b, v, x, ts)
		check("vjp", a, b)
		f.TraceJacobianTo(a[:4], x, ts)
		m.TraceJacobianTo(b[:4], x, ts)
		check("trace", a[:4], b[:4])
		sa := make([]float64, 4*d)
		f.ScoreVJPTo(sa, a, v, x, ts)
		m.ScoreTo(b, x, ts)
		check("fused score", sa, b)
		m.VJPTo(b, v, x, ts)
		check("fused vjp", a, b)

		// Evaluate through the fused path agrees with the plain one (the
		// same numbers up to rounding, which at worst moves a step-size
		// decision: 1e-7 nats).
		s := m.SDE
		xs := drawData(m, 3, 20)
		pa, err := Evaluate(context.Background(), Config{SDE: s, Score: f, Probes: 2}, 1, xs, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := Evaluate(context.Background(), Config{SDE: s, Score: m, Probes: 2}, 1, xs, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range pa {
			if math.Abs(pa[i].LogP-pb[i].LogP) > 1e-7 || math.Abs(pa[i].LogPStdErr-pb[i].LogPStdErr) > 1e-7 {
				t.Errorf("%s point %d: fused %+v, plain %+v", name, i, pa[i], pb[i])
			}
		}
	}
}

// BenchmarkReference reproduces the reference settings of the issue: 1000
// points drawn from p_0, VP, eps = 1e-5, dopri5 at rtol = atol = 1e-5, one
// Rademacher probe (or the exact trace), Workers = NumCPU. One op is the
// whole run of 1000 points; it reports the mean NFE per point and the mean
// absolute error per point against the oracle's log p_eps. "oracle=score"
// uses score.Mixture, "oracle=fast" the fused benchmark oracle above.
// Reference (score_sde_pytorch, same settings): gauss:784 1.8 s, 50 NFE,
// 0.052 nats; gmm8 0.17 s, 86 NFE, 0.78 nats.
func BenchmarkReference(b *testing.B) {
	cases := []struct {
		name, prob, probe string
		joint             bool
	}{
		{"gauss784/rademacher", "gauss:784", "rademacher", false},
		{"gauss784/rademacher-joint", "gauss:784", "rademacher", true},
		{"gauss784/exact", "gauss:784", "exact", false},
		{"gmm8/rademacher", "gmm8", "rademacher", false},
		{"gmm8/rademacher-joint", "gmm8", "rademacher", true},
		{"gmm8/exact", "gmm8", "exact", false},
	}
	for _, c := range cases {
		for _, oracle := range []string{"score", "fast"} {
			b.Run(c.name+"/oracle="+oracle, func(b *testing.B) {
				vp := sde.NewVP()
				m, _ := score.Problem(c.prob, vp)
				var s VJPScore = m
				if oracle == "fast" {
					s = newFastMixture(m)
				}
				const n = 1000
				d := m.Dim()
				x := drawData(m, 1, n)
				exact := make([]float64, n)
				for i := range exact {
					exact[i] = m.LogProb(x[i*d:(i+1)*d], DefaultEps)
				}
				cfg := Config{SDE: vp, Score: s, Probe: c.probe, Joint: c.joint}
				var pts []Point
				b.ResetTimer()
				for b.Loop() {
					var err error
					pts, err = Evaluate(context.Background(), cfg, 1, x, nil, nil)
					if err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				var nfe, mae float64
				for i, p := range pts {
					nfe += float64(p.NFE)
					mae += math.Abs(p.LogP - exact[i])
				}
				b.ReportMetric(nfe/n, "nfe/point")
				b.ReportMetric(mae/n, "mae-nats")
			})
		}
	}
}

// BenchmarkDDPMBound: the discrete bound of gauss:64 with N = 1000 steps,
// 100 points (one op).
func BenchmarkDDPMBound(b *testing.B) {
	vp := sde.NewVP()
	m := score.Gauss(vp, 64)
	x := drawData(m, 1, 100)
	for b.Loop() {
		if _, err := DDPMBound(context.Background(), vp, m, 1000, "beta", x, 64, "gaussian"); err != nil {
			b.Fatal(err)
		}
	}
}
