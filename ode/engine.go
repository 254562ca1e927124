package ode

import (
	"context"
	"math"
	"sync"

	"github.com/sdekit/sdekit/internal/vmath"
)

// ctrl is the step-size state of one controlled unit: a row, or the whole
// batch in Joint mode.
type ctrl struct {
	t        float64 // current time
	hAbs     float64 // |h| to try next
	e1, e2   float64 // error norms of the last two accepted steps
	rejected bool    // the current step has been rejected at least once
	nonFin   bool    // the last rejection was for a non-finite trial step
}

type rowState struct {
	ctrl
	h, tn      float64 // signed step and end time of the current attempt
	ssq5, ssq3 float64 // error sums of the current attempt
	bad        bool    // the trial state is not finite
	haveK1     bool    // k[0] holds f(t, y)
	k1bad      bool    // f(t, y) is not finite
	extras     bool    // the extra dense-output stages hold this step's values
	done       bool
	next       int // next output time
	st         Stats
	err        error
}

func (rs *rowState) fail(err error) {
	rs.done = true
	rs.err = err
}

const (
	failNone = iota
	failMaxSteps
	failUnderflow
	failNonFinite
)

// propose returns the signed step and end time of the next attempt of c.
// steps is the number of attempts so far, acc the number accepted.
func (s *Solver) propose(c *ctrl, steps, acc int) (h, tn float64, code int) {
	if s.fixed {
		if acc+1 >= s.nfix {
			tn = s.t1
		} else if g := s.opt.Grid; len(g) > 0 {
			tn = g[acc+1]
		} else {
			tn = s.t0 + float64(acc+1)*s.hfix
		}
		return tn - c.t, tn, failNone
	}
	if steps >= s.maxSteps {
		return 0, 0, failMaxSteps
	}
	minStep := max(s.opt.DtMin, 10*math.Abs(math.Nextafter(c.t, s.dir*math.Inf(1))-c.t))
	hAbs := c.hAbs
	if c.rejected {
		if !(hAbs >= minStep) {
			if c.nonFin {
				return 0, 0, failNonFinite
			}
			return 0, 0, failUnderflow
		}
	} else if !(hAbs >= minStep) {
		hAbs = minStep
	}
	hAbs = min(hAbs, s.dtMax)
	tn = c.t + s.dir*hAbs
	if s.dir*(tn-s.t1) > 0 {
		tn = s.t1
	}
	return tn - c.t, tn, failNone
}

// errNorm is the scaled RMS error norm of an attempt over N components.
func (s *Solver) errNorm(h, ssq5, ssq3 float64, N int) float64 {
	if s.ct.e3 == nil {
		return math.Abs(h) * math.Sqrt(ssq5/float64(N))
	}
	if ssq5 == 0 && ssq3 == 0 {
		return 0
	}
	return math.Abs(h) * ssq5 / math.Sqrt((ssq5+0.01*ssq3)*float64(N))
}

// decide accepts or rejects an adaptive attempt of step h with error norm
// err and updates c's step size and controller memory.
func (s *Solver) decide(c *ctrl, h, err float64, bad bool) bool {
	habs := math.Abs(h)
	p := &s.pid
	if !bad && err < 1 {
		fac := p.FacMax
		if err > 0 {
			// err^-b1 e1^-b2 e2^-b3 = exp(-(b1 ln err + b2 ln e1 + b3 ln e2)).
			l := s.b1 * math.Log(err)
			if s.b2 != 0 {
				l += s.b2 * math.Log(c.e1)
			}
			if s.b3 != 0 {
				l += s.b3 * math.Log(c.e2)
			}
			fac = p.Safety * math.Exp(-l)
			fac = min(max(fac, p.FacMin), p.FacMax)
		}
		if c.rejected {
			fac = min(1, fac)
		}
		c.hAbs = habs * fac
		c.e2, c.e1 = c.e1, max(err, 1e-4)
		c.rejected, c.nonFin = false, false
		return true
	}
	fac := p.FacMin
	c.nonFin = bad || math.IsNaN(err)
	if !c.nonFin {
		fac = max(p.FacMin, p.Safety*math.Exp(-math.Log(err)/s.ct.errK))
	}
	c.hAbs = habs * fac
	c.rejected = true
	return false
}

// worker owns a contiguous chunk of rows and the scratch for them.
type worker struct {
	s         *Solver
	lo, hi    int
	act, sub  []int
	acc, live []int
	tb        []float64 // times of the rows of the current list
	hb        []float64 // steps of the rows of the attempt list (set by stages)
	t0b, tnb  []float64 // start and end times of the same (set by stages)
	kt, kt3   []kterm   // terms with their stage slices resolved
	py, pd    []float64 // packed rows for non-contiguous blocks
	w         []float64 // interpolation weights
	nbad      int       // rows whose f(t,y) turned non-finite
	cancelled bool
	cmd       chan int
}

func (w *worker) prepare() {
	m := w.hi - w.lo
	if cap(w.act) < m {
		w.act = make([]int, 0, m)
		w.sub = make([]int, 0, m)
		w.acc = make([]int, 0, m)
		w.live = make([]int, 0, m)
		w.tb = make([]float64, m)
		w.hb = make([]float64, m)
		w.t0b = make([]float64, m)
		w.tnb = make([]float64, m)
	}
	w.tb = w.tb[:cap(w.tb)]
	w.hb = w.hb[:cap(w.hb)]
	w.t0b = w.t0b[:cap(w.t0b)]
	w.tnb = w.tnb[:cap(w.tnb)]
	if nt := w.s.ct.maxTerms(); cap(w.kt) < nt {
		w.kt = make([]kterm, nt)
		w.kt3 = make([]kterm, nt)
	}
	if nw := w.s.ct.s + w.s.ct.nx; len(w.w) < nw {
		w.w = make([]float64, nw)
	}
	w.nbad = 0
	w.cancelled = false
}

// eval calls f for the rows of list (ascending) in blocks; the time of
// list[p] is w.tb[p], its input row is in (row layout) and its derivative
// goes to out (row layout).
func (w *worker) eval(list []int, in, out []float64) {
	s := w.s
	d := s.dim
	blk := s.opt.Block
	if blk <= 0 {
		blk = len(list)
	}
	for b0 := 0; b0 < len(list); b0 += blk {
		b1 := min(b0+blk, len(list))
		rows := list[b0:b1]
		ts := w.tb[b0:b1]
		r0, r1 := rows[0], rows[len(rows)-1]
		if r1-r0 == len(rows)-1 {
			s.f(out[r0*d:(r1+1)*d], ts, in[r0*d:(r1+1)*d], rows)
			continue
		}
		m := len(rows) * d
		if cap(w.py) < m {
			c := w.hi - w.lo
			if s.opt.Block > 0 {
				c = min(c, s.opt.Block)
			}
			c *= d
			w.py = make([]float64, c)
			w.pd = make([]float64, c)
		}
		py, pd := w.py[:m], w.pd[:m]
		pack(py, in, rows, d)
		s.f(pd, ts, py, rows)
		unpack(out, pd, rows, d)
	}
}

// pack copies row rows[p] of src (row layout) to row p of dst, a run of
// consecutive rows at a time.
func pack(dst, src []float64, rows []int, d int) {
	for p := 0; p < len(rows); {
		r, q := rows[p], runEnd(rows, p)
		m := (q - p) * d
		copyVals(dst[p*d:p*d+m], src[r*d:r*d+m])
		p = q
	}
}

// unpack copies row p of src to row rows[p] of dst (row layout), a run of
// consecutive rows at a time.
func unpack(dst, src []float64, rows []int, d int) {
	for p := 0; p < len(rows); {
		r, q := rows[p], runEnd(rows, p)
		m := (q - p) * d
		copyVals(dst[r*d:r*d+m], src[p*d:p*d+m])
		p = q
	}
}

// runEnd returns the end of the run of consecutive rows that starts at
// rows[p].
func runEnd(rows []int, p int) int {
	r, q := rows[p], p+1
	for q < len(rows) && rows[q] == r+q-p {
		q++
	}
	return q
}

// copyVals is copy without the call for short spans.
func copyVals(dst, src []float64) {
	if len(src) >= longRow {
		copy(dst, src)
		return
	}
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = v
	}
}

// copyRow copies row values dst[o:o+d] = src[o:o+d], without the call
// to copy for short rows.
func copyRow(dst, src []float64, o, d int) {
	src = src[o : o+d]
	if d >= longRow {
		copy(dst[o:o+d], src)
		return
	}
	dst = dst[o : o+len(src)]
	for i, v := range src {
		dst[i] = v
	}
}

// maxTerms is the length of the longest linear combination of stages.
func (ct *compiled) maxTerms() int {
	m := max(len(ct.b), len(ct.e), len(ct.e3))
	for _, a := range ct.a {
		m = max(m, len(a))
	}
	for _, a := range ct.ax {
		m = max(m, len(a))
	}
	return m
}

// kterm is a term with its stage slice looked up: v * k.
type kterm struct {
	k []float64
	v float64
}

// resolve looks up the stage slices of terms once for a loop over many
// rows; dst is scratch of at least len(terms).
func (s *Solver) resolve(dst []kterm, terms []term) []kterm {
	dst = dst[:len(terms)]
	for i, tm := range terms {
		dst[i] = kterm{s.k[tm.j], tm.v}
	}
	return dst
}

// The linear combinations of stages sum_j v_j k_j[i] below keep every
// component's sum in a register and add the terms in order, so a component
// gets the same bits whichever helper computes it. They take two or four
// components (of one row or of two rows) per pass over the terms: the
// sums are independent, so they overlap, and each term is loaded once for
// all of them. Every product is converted to float64, which keeps the
// compiler from fusing it with the addition (it would with GOAMD64=v3), so
// the bits do not depend on the build. kt is not empty.

// sum1 returns sum_j v_j k_j[i].
func sum1(kt []kterm, i int) float64 {
	a := kt[0].v * kt[0].k[i]
	for _, t := range kt[1:] {
		a += float64(t.v * t.k[i])
	}
	return a
}

// sum2 is sum1 at i and j.
func sum2(kt []kterm, i, j int) (a, b float64) {
	t0 := &kt[0]
	a, b = t0.v*t0.k[i], t0.v*t0.k[j]
	for _, t := range kt[1:] {
		a += float64(t.v * t.k[i])
		b += float64(t.v * t.k[j])
	}
	return a, b
}

// sum4 is sum1 at i, i+1, j and j+1.
func sum4(kt []kterm, i, j int) (a0, a1, b0, b1 float64) {
	t0 := &kt[0]
	a0, a1 = t0.v*t0.k[i], t0.v*t0.k[i+1]
	b0, b1 = t0.v*t0.k[j], t0.v*t0.k[j+1]
	for _, t := range kt[1:] {
		a0 += float64(t.v * t.k[i])
		a1 += float64(t.v * t.k[i+1])
		b0 += float64(t.v * t.k[j])
		b1 += float64(t.v * t.k[j+1])
	}
	return a0, a1, b0, b1
}

// longRow is the row length from which lincomb's passes over the row beat
// the sums in registers, and copy's call costs less than a loop. The
// crossover was measured on dy/dt = -y for d = 1..785 with both forms
// forced (a throwaway benchmark); on the long side go test -run '^$'
// -bench DormandPrinceStep3072 ./ode was 40% slower with the registers.
const longRow = 16

// lincomb writes acc = sum_j v_j k_j[o:o+len(acc)], one pass over the row
// per term; the same bits as sum1 for each component.
func lincomb(acc []float64, kt []kterm, o int) {
	d := len(acc)
	k0 := kt[0].k[o : o+d]
	v0 := kt[0].v
	for x := range acc {
		acc[x] = v0 * k0[x]
	}
	for _, t := range kt[1:] {
		// acc += v k, each product rounded (vmath's AVX2 kernel: the same
		// bits as the Go loop, four values an instruction)
		vmath.AddMul(acc, t.k[o:o+d], t.v)
	}
}

// combineRows writes dst[row r] = y[r] + hs[p] * sum_j v_j k_j[r] for each
// row r = list[p], summing the terms in order. It runs over the rows of
// list with the stage slices looked up once: rows shorter than longRow two
// at a time with the sums in registers (sum4), longer ones one at a time
// with a pass over the row per term (lincomb).
func (w *worker) combineRows(dst []float64, list []int, hs []float64, terms []term) {
	s := w.s
	d := s.dim
	y := s.y
	if len(terms) == 0 {
		for _, r := range list {
			copyRow(dst, y, r*d, d)
		}
		return
	}
	kt := s.resolve(w.kt, terms)
	hs = hs[:len(list)]
	if d >= longRow {
		for p, r := range list {
			o, h := r*d, hs[p]
			acc := dst[o : o+d]
			lincomb(acc, kt, o)
			for x, v := range y[o : o+d] {
				acc[x] = v + float64(h*acc[x])
			}
		}
		return
	}
	// Rows of even length end after the pairs of components; odd ones
	// take their last component alone.
	de, odd := d&^1, d&1 != 0
	p := 0
	for ; p+1 < len(list); p += 2 {
		o, q := list[p]*d, list[p+1]*d
		h, g := hs[p], hs[p+1]
		for x := 0; x < de; x += 2 {
			i, j := o+x, q+x
			a0, a1, b0, b1 := sum4(kt, i, j)
			dst[i], dst[i+1] = y[i]+float64(h*a0), y[i+1]+float64(h*a1)
			dst[j], dst[j+1] = y[j]+float64(g*b0), y[j+1]+float64(g*b1)
		}
		if odd {
			i, j := o+de, q+de
			a, b := sum2(kt, i, j)
			dst[i], dst[j] = y[i]+float64(h*a), y[j]+float64(g*b)
		}
	}
	if p < len(list) {
		o, h := list[p]*d, hs[p]
		for x := 0; x < de; x += 2 {
			i := o + x
			a0, a1 := sum2(kt, i, i+1)
			dst[i], dst[i+1] = y[i]+float64(h*a0), y[i+1]+float64(h*a1)
		}
		if odd {
			i := o + de
			dst[i] = y[i] + float64(h*sum1(kt, i))
		}
	}
}

// subset sets w.sub to the rows of list whose state satisfies keep, in
// order, and returns it.
func (w *worker) subset(list []int, keep func(*rowState) bool) []int {
	sub := w.sub[:0]
	for _, r := range list {
		if keep(&w.s.rs[r]) {
			sub = append(sub, r)
		}
	}
	w.sub = sub
	return sub
}

// stage0 evaluates f(t, y) for the rows of list that lack it.
func (w *worker) stage0(list []int) {
	s := w.s
	d := s.dim
	sub := w.subset(list, func(rs *rowState) bool { return !rs.haveK1 })
	if len(sub) == 0 {
		return
	}
	for p, r := range sub {
		rs := &s.rs[r]
		w.tb[p] = rs.t
		rs.st.NFE++
	}
	w.eval(sub, s.y, s.k[0])
	for _, r := range sub {
		rs := &s.rs[r]
		rs.haveK1 = true
		if !finite(s.k[0][r*d : (r+1)*d]) {
			rs.k1bad = true
			w.nbad++
		}
	}
}

// stages evaluates stages 1..s-1 of the current attempt of every row of
// list, and keeps the rows' steps in w.hb for errors.
func (w *worker) stages(list []int) {
	s := w.s
	ct := s.ct
	// Gather the rows' times and steps once: the stage loops then read
	// short contiguous arrays instead of the row states. Every row of list
	// evaluates all s-1 stages, so its NFE is counted here in one go.
	m := len(list)
	w.gather(list, ct.s-1)
	for si := 1; si < ct.s; si++ {
		in := s.ytmp
		if ct.tab.FSAL && si == ct.s-1 {
			in = s.ynew
		}
		w.stageTimes(m, ct.c[si])
		w.combineRows(in, list, w.hb, ct.a[si])
		w.eval(list, in, s.k[si])
	}
}

// gather copies the steps, start and end times of the rows of list into
// w.hb, w.t0b and w.tnb, and counts nfe evaluations for each row.
func (w *worker) gather(list []int, nfe int) {
	m := len(list)
	hb, t0b, tnb := w.hb[:m], w.t0b[:m], w.tnb[:m]
	for p, r := range list {
		rs := &w.s.rs[r]
		hb[p], t0b[p], tnb[p] = rs.h, rs.t, rs.tn
		rs.st.NFE += nfe
	}
}

// stageTimes sets the times of the first m rows of the attempt list to
// t + c h (the end time tn when c = 1, as tn may differ from t + h).
func (w *worker) stageTimes(m int, c float64) {
	tb, t0b, hb := w.tb[:m], w.t0b[:m], w.hb[:m]
	if c == 1 {
		copy(tb, w.tnb[:m])
		return
	}
	for p := range tb {
		tb[p] = t0b[p] + c*hb[p]
	}
}

// errors computes y_new (unless FSAL did) and the error sums of every row of
// list, the list of the last call of stages.
func (w *worker) errors(list []int) {
	s := w.s
	if !s.ct.tab.FSAL {
		w.combineRows(s.ynew, list, w.hb, s.ct.b)
	}
	d := s.dim
	if s.fixed {
		for _, r := range list {
			s.rs[r].bad = !finite(s.ynew[r*d : (r+1)*d])
		}
		return
	}
	ct := s.ct
	ke := s.resolve(w.kt, ct.e)
	var ke3 []kterm
	if ct.e3 != nil {
		ke3 = s.resolve(w.kt3, ct.e3)
	}
	if d >= longRow {
		for _, r := range list {
			w.errorRowLong(r, ke, ke3)
		}
		return
	}
	w.errorRows(list, ke, ke3)
}

// errorRowLong is errorRows for one long row, with the error estimates
// formed by lincomb in the row's slice of ytmp (free after the stages);
// the same bits.
func (w *worker) errorRowLong(r int, ke, ke3 []kterm) {
	s := w.s
	d := s.dim
	atol, rtol := s.opt.ATol, s.opt.RTol
	o := r * d
	yn := s.ynew[o : o+d]
	y := s.y[o : o+d]
	e := s.ytmp[o : o+d]
	var ssq5, ssq3, chk float64
	lincomb(e, ke, o)
	for x, v := range yn {
		chk += v - v
		q := e[x] / (atol + rtol*max(math.Abs(y[x]), math.Abs(v)))
		ssq5 += q * q
	}
	if ke3 != nil {
		lincomb(e, ke3, o)
		for x, v := range yn {
			q := e[x] / (atol + rtol*max(math.Abs(y[x]), math.Abs(v)))
			ssq3 += q * q
		}
	}
	rs := &s.rs[r]
	rs.ssq5, rs.ssq3 = ssq5, ssq3
	rs.bad = chk != 0 || math.IsNaN(ssq5) || math.IsNaN(ssq3)
}

// errorRows computes the error sums of the rows of list (shorter than
// longRow), the error estimates e = ke (and e3 = ke3, if not nil) two
// components at a time with the sums in registers (sum2).
// The sums of squares run over a row's components in order.
func (w *worker) errorRows(list []int, ke, ke3 []kterm) {
	s := w.s
	d := s.dim
	atol, rtol := s.opt.ATol, s.opt.RTol
	y, yn := s.y, s.ynew
	de, odd := d&^1, d&1 != 0
	for _, r := range list {
		var ssq5, ssq3, chk float64
		o := r * d
		for x := 0; x < de; x += 2 {
			i := o + x
			v0, v1 := yn[i], yn[i+1]
			chk += v0 - v0
			chk += v1 - v1
			sc0 := atol + rtol*max(math.Abs(y[i]), math.Abs(v0))
			sc1 := atol + rtol*max(math.Abs(y[i+1]), math.Abs(v1))
			e0, e1 := sum2(ke, i, i+1)
			q := e0 / sc0
			ssq5 += q * q
			q = e1 / sc1
			ssq5 += q * q
			if ke3 != nil {
				e0, e1 = sum2(ke3, i, i+1)
				q = e0 / sc0
				ssq3 += q * q
				q = e1 / sc1
				ssq3 += q * q
			}
		}
		if odd {
			i := o + de
			v := yn[i]
			chk += v - v
			sc := atol + rtol*max(math.Abs(y[i]), math.Abs(v))
			q := sum1(ke, i) / sc
			ssq5 += q * q
			if ke3 != nil {
				q = sum1(ke3, i) / sc
				ssq3 += q * q
			}
		}
		rs := &s.rs[r]
		rs.ssq5, rs.ssq3 = ssq5, ssq3
		rs.bad = chk != 0 || math.IsNaN(ssq5) || math.IsNaN(ssq3)
	}
}

// finish completes the accepted attempts of the rows of list: dense output,
// the next step's f(t, y), and the move to the new state.
func (w *worker) finish(list []int) {
	s := w.s
	ct := s.ct
	d := s.dim
	n := s.n
	times := s.times
	if len(times) > 0 {
		sub := w.sub[:0]
		for _, r := range list {
			rs := &s.rs[r]
			if rs.next < len(times) && s.dir*(times[rs.next]-rs.tn) < 0 {
				sub = append(sub, r)
				rs.extras = ct.nx > 0
			}
		}
		w.sub = sub
		if len(sub) > 0 {
			// The extra stages of the continuous extension, as stages does
			// (errors has used w.hb already).
			w.gather(sub, ct.nx)
			for e := 0; e < ct.nx; e++ {
				si := ct.s + e
				w.stageTimes(len(sub), ct.c[si])
				in := s.ynew
				if si != ct.f1 {
					in = s.ytmp
					w.combineRows(in, sub, w.hb, ct.ax[e])
				}
				w.eval(sub, in, s.k[si])
			}
		}
	}
	for _, r := range list {
		rs := &s.rs[r]
		off := r * d
		for rs.next < len(times) && s.dir*(times[rs.next]-rs.tn) <= 0 {
			j := rs.next
			dst := s.dense[(j*n+r)*d : (j*n+r+1)*d]
			if times[j] == rs.tn {
				copy(dst, s.ynew[off:off+d])
			} else {
				w.interpolate(dst, r, (times[j]-rs.t)/rs.h, rs.h)
			}
			rs.next++
		}
		switch {
		case ct.tab.FSAL:
			copyRow(s.k[0], s.k[ct.s-1], off, d)
			rs.haveK1 = true
		case rs.extras && ct.f1 >= 0:
			copyRow(s.k[0], s.k[ct.f1], off, d)
			rs.haveK1 = true
		default:
			rs.haveK1 = false
		}
		rs.extras = false
		copyRow(s.y, s.ynew, off, d)
		rs.t = rs.tn
		if rs.t == s.t1 {
			rs.done = true
		} else if rs.haveK1 && !finite(s.k[0][off:off+d]) {
			rs.k1bad = true
			w.nbad++
		}
	}
}

// interpolate writes row r of the continuous extension at theta.
func (w *worker) interpolate(dst []float64, r int, theta, h float64) {
	s := w.s
	ct := s.ct
	d := s.dim
	for _, i := range ct.iterms {
		row := ct.interp[i]
		p := 0.0
		for q := len(row) - 1; q >= 0; q-- {
			p = p*theta + row[q]
		}
		w.w[i] = p * theta
	}
	off := r * d
	y := s.y[off : off+d]
	for x := range dst {
		dst[x] = 0
	}
	for _, i := range ct.iterms {
		ki := s.k[i][off : off+d]
		v := w.w[i]
		for x := range dst {
			dst[x] += v * ki[x]
		}
	}
	for x, v := range y {
		dst[x] = v + h*dst[x]
	}
}

// initSums evaluates f(t0, y0) for the rows of list and the sums of
// Hairer's initial step: ssq5 = sum (y/sc)^2, ssq3 = sum (f/sc)^2, with
// sc = atol + rtol |y|.
func (w *worker) initSums(list []int) {
	s := w.s
	d := s.dim
	w.stage0(list)
	atol, rtol := s.opt.ATol, s.opt.RTol
	for _, r := range list {
		rs := &s.rs[r]
		if rs.k1bad {
			continue
		}
		y := s.y[r*d : (r+1)*d]
		f := s.k[0][r*d : (r+1)*d]
		var s0, s1 float64
		for x := range y {
			sc := atol + math.Abs(y[x])*rtol
			s0 += (y[x] / sc) * (y[x] / sc)
			s1 += (f[x] / sc) * (f[x] / sc)
		}
		rs.ssq5, rs.ssq3 = s0, s1
	}
}

// initProbe evaluates f1 = f(t0 + h0 dir, y0 + h0 dir f0) with h0 = rs.h
// (into k[1]) and sets rs.ssq5 = sum ((f1-f0)/sc)^2.
func (w *worker) initProbe(list []int) {
	s := w.s
	d := s.dim
	sub := w.subset(list, func(rs *rowState) bool { return !rs.k1bad })
	if len(sub) == 0 {
		return
	}
	for p, r := range sub {
		rs := &s.rs[r]
		h := rs.h * s.dir
		w.tb[p], w.hb[p] = rs.t+h, h
		rs.st.NFE++
	}
	w.combineRows(s.ytmp, sub, w.hb, oneTerm)
	w.eval(sub, s.ytmp, s.k[1])
	atol, rtol := s.opt.ATol, s.opt.RTol
	for _, r := range sub {
		rs := &s.rs[r]
		off := r * d
		y := s.y[off : off+d]
		f0, f1 := s.k[0][off:off+d], s.k[1][off:off+d]
		var s2 float64
		for x := range y {
			sc := atol + math.Abs(y[x])*rtol
			v := (f1[x] - f0[x]) / sc
			s2 += v * v
		}
		rs.ssq5 = s2
	}
}

// h0 and h1 of Hairer's initial step (HNW I, II.4), as in scipy's
// select_initial_step, from the norms d0 = ||y0||, d1 = ||f0||.
func (s *Solver) initH0(d0, d1 float64) float64 {
	h0 := 0.01 * d0 / d1
	if d0 < 1e-5 || d1 < 1e-5 || math.IsNaN(h0) {
		h0 = 1e-6
	}
	return min(h0, s.span)
}

func (s *Solver) initH1(h0, d1, d2 float64) float64 {
	var h1 float64
	if d1 <= 1e-15 && d2 <= 1e-15 {
		h1 = max(1e-6, h0*1e-3)
	} else {
		h1 = math.Pow(0.01/max(d1, d2), 1/s.ct.errK)
	}
	h := min(100*h0, h1, s.span, s.dtMax)
	if !(h > 0) {
		h = h0
	}
	return h
}

var oneTerm = []term{{0, 1}}

// runRows solves every row as its own problem: each worker runs its chunk.
func (s *Solver) runRows(ctx context.Context) {
	if len(s.ws) == 1 {
		s.ws[0].runRows(ctx)
	} else {
		var wg sync.WaitGroup
		for _, w := range s.ws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.runRows(ctx)
			}()
		}
		wg.Wait()
	}
	for _, w := range s.ws {
		if w.cancelled {
			s.cancelled = true
		}
	}
}

func (w *worker) failRow(r, code int) {
	rs := &w.s.rs[r]
	switch code {
	case failMaxSteps:
		rs.fail(&RowError{Row: r, T: rs.t, Err: ErrMaxSteps})
	case failUnderflow:
		rs.fail(&RowError{Row: r, T: rs.t, Err: ErrStepUnderflow})
	default:
		rs.fail(&NonFiniteError{Row: r, T: rs.t})
	}
}

// dropBad fails the rows of list whose f(t,y) is not finite and returns
// the others.
func (w *worker) dropBad(list []int) []int {
	if w.nbad == 0 {
		return list
	}
	out := list[:0]
	for _, r := range list {
		if w.s.rs[r].k1bad {
			w.failRow(r, failNonFinite)
			continue
		}
		out = append(out, r)
	}
	w.nbad = 0
	return out
}

func (w *worker) runRows(ctx context.Context) {
	s := w.s
	d := s.dim
	act := w.act[:0]
	for r := w.lo; r < w.hi; r++ {
		if !s.rs[r].done {
			act = append(act, r)
		}
	}
	if !s.fixed && s.opt.Dt0 == 0 && len(act) > 0 {
		w.initSums(act)
		act = w.dropBad(act)
		for _, r := range act {
			rs := &s.rs[r]
			rs.h = s.initH0(math.Sqrt(rs.ssq5/float64(d)), math.Sqrt(rs.ssq3/float64(d)))
			rs.hAbs = math.Sqrt(rs.ssq3 / float64(d)) // d1, kept for initH1
		}
		w.initProbe(act)
		for _, r := range act {
			rs := &s.rs[r]
			d2 := math.Sqrt(rs.ssq5/float64(d)) / rs.h
			rs.hAbs = s.initH1(rs.h, rs.hAbs, d2)
		}
	}
	live := w.live[:0] // rows not done, ascending
	for r := w.lo; r < w.hi; r++ {
		if !s.rs[r].done {
			live = append(live, r)
		}
	}
	for {
		if ctx.Err() != nil {
			w.cancelled = true
			return
		}
		act = w.act[:0]
		n := 0
		for _, r := range live {
			rs := &s.rs[r]
			if rs.done {
				continue
			}
			live[n] = r
			n++
			h, tn, code := s.propose(&rs.ctrl, rs.st.Steps, rs.st.Accepted)
			if code != failNone {
				w.failRow(r, code)
				continue
			}
			rs.h, rs.tn = h, tn
			act = append(act, r)
		}
		live = live[:n]
		if len(act) == 0 {
			return
		}
		w.stage0(act)
		act = w.dropBad(act)
		w.stages(act)
		w.errors(act)
		acc := w.acc[:0]
		for _, r := range act {
			rs := &s.rs[r]
			rs.st.Steps++
			if s.fixed {
				if rs.bad {
					rs.fail(&NonFiniteError{Row: r, T: rs.tn})
					continue
				}
				rs.st.Accepted++
				acc = append(acc, r)
				continue
			}
			if s.decide(&rs.ctrl, rs.h, s.errNorm(rs.h, rs.ssq5, rs.ssq3, d), rs.bad) {
				rs.st.Accepted++
				acc = append(acc, r)
			} else {
				rs.st.Rejected++
			}
		}
		w.acc = acc
		w.finish(acc)
		w.dropBad(acc)
	}
}

// Joint mode: one controller for the whole batch; workers run the phases
// on their chunks and the coordinator reduces in row order.
const (
	phaseInitSums = iota
	phaseInitProbe
	phaseAttempt
	phaseFinish
)

func (w *worker) do(phase int) {
	switch phase {
	case phaseInitSums:
		w.initSums(w.act)
	case phaseInitProbe:
		w.initProbe(w.act)
	case phaseAttempt:
		w.stage0(w.act)
		if w.nbad == 0 {
			w.stages(w.act)
			w.errors(w.act)
		}
	case phaseFinish:
		w.finish(w.act)
	}
}

func (w *worker) loop(done chan<- struct{}) {
	for ph := range w.cmd {
		w.do(ph)
		done <- struct{}{}
	}
}

func (s *Solver) parallel(phase int) {
	for _, w := range s.ws[1:] {
		w.cmd <- phase
	}
	s.ws[0].do(phase)
	for range s.ws[1:] {
		<-s.done
	}
}

// firstBad returns the lowest row whose f(t,y) is not finite, or -1.
func (s *Solver) firstBad() int {
	for _, w := range s.ws {
		if w.nbad > 0 {
			for r := w.lo; r < w.hi; r++ {
				if s.rs[r].k1bad {
					return r
				}
			}
		}
	}
	return -1
}

func (s *Solver) failAll(err error) {
	s.jointFail = err
	for r := range s.rs {
		s.rs[r].fail(err)
	}
}

func (s *Solver) runJoint(ctx context.Context) {
	n, d := s.n, s.dim
	for r := range s.rs {
		if s.rs[r].err != nil { // a non-finite initial state stops the batch
			s.failAll(s.rs[r].err)
			return
		}
	}
	if len(s.ws) > 1 {
		if s.done == nil {
			s.done = make(chan struct{})
		}
		for _, w := range s.ws[1:] {
			w.cmd = make(chan int)
			go w.loop(s.done)
		}
		defer func() {
			for _, w := range s.ws[1:] {
				close(w.cmd)
			}
		}()
	}
	for _, w := range s.ws {
		w.act = w.act[:0]
		for r := w.lo; r < w.hi; r++ {
			w.act = append(w.act, r)
		}
	}
	c := &s.jc
	*c = ctrl{t: s.t0, hAbs: s.opt.Dt0, e1: 1, e2: 1}
	N := float64(n * d)
	if s.opt.Dt0 == 0 {
		s.parallel(phaseInitSums)
		if r := s.firstBad(); r >= 0 {
			s.failAll(&NonFiniteError{Row: r, T: s.t0})
			return
		}
		var s0, s1 float64
		for r := range s.rs {
			s0 += s.rs[r].ssq5
			s1 += s.rs[r].ssq3
		}
		d1 := math.Sqrt(s1 / N)
		h0 := s.initH0(math.Sqrt(s0/N), d1)
		for r := range s.rs {
			s.rs[r].h = h0
		}
		s.parallel(phaseInitProbe)
		var s2 float64
		for r := range s.rs {
			s2 += s.rs[r].ssq5
		}
		c.hAbs = s.initH1(h0, d1, math.Sqrt(s2/N)/h0)
	}
	steps := 0
	for c.t != s.t1 {
		if ctx.Err() != nil {
			s.cancelled = true
			return
		}
		h, tn, code := s.propose(c, steps, 0)
		switch code {
		case failMaxSteps:
			s.failAll(&RowError{Row: -1, T: c.t, Err: ErrMaxSteps})
			return
		case failUnderflow:
			s.failAll(&RowError{Row: -1, T: c.t, Err: ErrStepUnderflow})
			return
		case failNonFinite:
			s.failAll(&NonFiniteError{Row: s.jlastBad, T: c.t})
			return
		}
		for r := range s.rs {
			s.rs[r].h, s.rs[r].tn = h, tn
		}
		s.parallel(phaseAttempt)
		if r := s.firstBad(); r >= 0 {
			s.failAll(&NonFiniteError{Row: r, T: c.t})
			return
		}
		var ssq5, ssq3 float64
		bad := false
		for r := range s.rs {
			rs := &s.rs[r]
			ssq5 += rs.ssq5
			ssq3 += rs.ssq3
			if rs.bad && !bad {
				bad = true
				s.jlastBad = r
			}
		}
		steps++
		ok := s.decide(c, h, s.errNorm(h, ssq5, ssq3, n*d), bad)
		for r := range s.rs {
			st := &s.rs[r].st
			st.Steps++
			if ok {
				st.Accepted++
			} else {
				st.Rejected++
			}
		}
		if !ok {
			continue
		}
		s.parallel(phaseFinish)
		c.t = tn
		if c.t != s.t1 {
			if r := s.firstBad(); r >= 0 {
				s.failAll(&NonFiniteError{Row: r, T: c.t})
				return
			}
		}
	}
}
