package likelihood

import "github.com/sdekit/sdekit/internal/vmath"

// field is the augmented probability-flow vector field
//
//	d/dt [x; delta_k] = [F(x, t); div_k F(x, t)],
//	F(x, t) = a(t) x - g(t)^2/2 s(x, t),
//	div_k F = a(t) D - g(t)^2/2 tr_k,
//
// where tr_k is the exact trace of ds/dx or the Hutchinson estimate
// v_k^T (ds/dx) v_k with the point's k-th fixed probe.
type field struct {
	p *plan
	// probes[q] holds probe q of every local row of the current solve,
	// row-major (chunk x D), so a contiguous block of rows reads it in place.
	probes [][]float64
	free   chan *scratch
}

// scratch is the per-call working memory of F. F may run concurrently on
// several ode workers, so each call takes a scratch from a free list and
// returns it; after warm-up (one scratch per concurrent caller, each grown to
// the largest block) F does not allocate.
type scratch struct {
	x, s, v, jv []float64 // m x D: positions, scores, probe, v^T J
	tr, ad, h   []float64 // m: trace (Hutchinson: v^T J v of a probe), a(t) D, g(t)^2/2
}

func newField(p *plan, chunk int) *field {
	f := &field{p: p, free: make(chan *scratch, p.cfg.Workers+1)}
	if p.probe != probeExact {
		f.probes = make([][]float64, p.k)
		for q := range f.probes {
			f.probes[q] = make([]float64, chunk*p.d)
		}
	}
	return f
}

func (f *field) get(m int) *scratch {
	var sc *scratch
	select {
	case sc = <-f.free:
	default:
		sc = &scratch{}
	}
	md := m * f.p.d
	if cap(sc.x) < md {
		sc.x = make([]float64, md)
		sc.s = make([]float64, md)
		sc.v = make([]float64, md)
		sc.jv = make([]float64, md)
	}
	if cap(sc.tr) < m {
		sc.tr = make([]float64, m)
		sc.ad = make([]float64, m)
		sc.h = make([]float64, m)
	}
	sc.x, sc.s, sc.v, sc.jv = sc.x[:md], sc.s[:md], sc.v[:md], sc.jv[:md]
	sc.tr, sc.ad, sc.h = sc.tr[:m], sc.ad[:m], sc.h[:m]
	return sc
}

func (f *field) put(sc *scratch) {
	select {
	case f.free <- sc:
	default:
	}
}

// probe returns probe q of the rows of a call: in place when the rows are
// contiguous, else gathered into buf.
func (f *field) probe(q int, rows []int, buf []float64) []float64 {
	d, m := f.p.d, len(rows)
	r0, r1 := rows[0], rows[m-1]
	if r1-r0 == m-1 {
		return f.probes[q][r0*d : (r1+1)*d]
	}
	for i, r := range rows {
		copy(buf[i*d:(i+1)*d], f.probes[q][r*d:(r+1)*d])
	}
	return buf[:m*d]
}

// F is the ode.Func of the augmented state: len(t) rows of D+K values.
func (f *field) F(dst, t, y []float64, rows []int) {
	p := f.p
	d, k := p.d, p.k
	w := d + k
	m := len(t)
	if m == 0 {
		return
	}
	sc := f.get(m)
	for i := 0; i < m; i++ {
		copy(sc.x[i*d:(i+1)*d], y[i*w:i*w+d])
	}
	hutch := p.probe != probeExact
	var v0 []float64
	fusedTrace := !hutch && p.fusedT != nil
	switch {
	case hutch && p.fused != nil:
		// one pass gives the score and the first probe's product
		v0 = f.probe(0, rows, sc.v)
		p.fused.ScoreVJPTo(sc.s, sc.jv, v0, sc.x, t)
	case fusedTrace:
		// one pass gives the score and the exact trace
		p.fusedT.ScoreTraceTo(sc.s, sc.tr, sc.x, t)
	default:
		p.cfg.Score.ScoreTo(sc.s, sc.x, t)
	}
	dd := float64(d)
	for i, ti := range t {
		a := p.cfg.SDE.DriftCoef(ti)
		g := p.cfg.SDE.Diffusion(ti)
		h := 0.5 * g * g
		out := dst[i*w : i*w+d]
		// a x - h s, as a x + (-h) s: the same bits
		vmath.Axpby(out, a, sc.x[i*d:(i+1)*d], -h, sc.s[i*d:(i+1)*d])
		sc.ad[i], sc.h[i] = a*dd, h
	}
	switch {
	case hutch:
		// Hutchinson: tr(J) ~ v^T J v with the point's fixed probes.
		for q := 0; q < k; q++ {
			v := v0
			if q > 0 || v == nil {
				v = f.probe(q, rows, sc.v)
				p.cfg.Score.VJPTo(sc.jv, v, sc.x, t)
			}
			dotRows(sc.tr, v, sc.jv, d) // tr holds the products here
			for i := 0; i < m; i++ {
				dst[i*w+d+q] = sc.ad[i] - sc.h[i]*sc.tr[i]
			}
		}
	case fusedTrace || p.tracer != nil:
		if !fusedTrace {
			p.tracer.TraceJacobianTo(sc.tr, sc.x, t)
		}
		for i := 0; i < m; i++ {
			dst[i*w+d] = sc.ad[i] - sc.h[i]*sc.tr[i]
		}
	default:
		// tr(J) = sum_j e_j^T J e_j: D products with unit vectors.
		clear(sc.tr)
		clear(sc.v)
		for j := 0; j < d; j++ {
			for i := 0; i < m; i++ {
				sc.v[i*d+j] = 1
			}
			p.cfg.Score.VJPTo(sc.jv, sc.v, sc.x, t)
			for i := 0; i < m; i++ {
				sc.tr[i] += sc.jv[i*d+j]
				sc.v[i*d+j] = 0
			}
		}
		for i := 0; i < m; i++ {
			dst[i*w+d] = sc.ad[i] - sc.h[i]*sc.tr[i]
		}
	}
	f.put(sc)
}

// dotRows sets e[i] = v_i . u_i for the len(e) rows of dimension d of v and
// u, each summed left to right. The sum of one row is a chain of dependent
// additions whose latency, not the arithmetic, bounds it; four rows are
// summed at once so their chains overlap, which gives each row the same bits
// as a plain loop (TestDotRowsBits) in about half the time at D = 784
// (`go test -run '^$' -bench DotRows ./likelihood`: 14.5 against 28.4 us for
// 64 rows on the project's 2-core machine).
func dotRows(e, v, u []float64, d int) {
	m := len(e)
	i := 0
	for ; i+4 <= m; i += 4 {
		v0, v1, v2, v3 := v[i*d:(i+1)*d], v[(i+1)*d:(i+2)*d], v[(i+2)*d:(i+3)*d], v[(i+3)*d:(i+4)*d]
		u0, u1, u2, u3 := u[i*d:(i+1)*d], u[(i+1)*d:(i+2)*d], u[(i+2)*d:(i+3)*d], u[(i+3)*d:(i+4)*d]
		u0, u1, u2, u3 = u0[:len(v0)], u1[:len(v0)], u2[:len(v0)], u3[:len(v0)]
		v1, v2, v3 = v1[:len(v0)], v2[:len(v0)], v3[:len(v0)]
		var e0, e1, e2, e3 float64
		for j := range v0 {
			e0 += v0[j] * u0[j]
			e1 += v1[j] * u1[j]
			e2 += v2[j] * u2[j]
			e3 += v3[j] * u3[j]
		}
		e[i], e[i+1], e[i+2], e[i+3] = e0, e1, e2, e3
	}
	for ; i < m; i++ {
		vi, ui := v[i*d:(i+1)*d], u[i*d:(i+1)*d]
		ui = ui[:len(vi)]
		var s float64
		for j, vj := range vi {
			s += vj * ui[j]
		}
		e[i] = s
	}
}
