package model

import (
	"math"
	"sync/atomic"
	"unsafe"
)

// GroupNorm of the U-Net (Wu and He 2018), forward and backward. Per image
// and group of C/G channels, with mean m and 1/std r (biased variance),
//
//	z = (x - m) r gamma + beta = x A + B,  A = r gamma, B = beta - m A (per channel),
//	out = z, or SiLU(z) (the MLP's fused bias+SiLU kernel adds B),
//
// and only m and r are kept: backward recomputes z from x, which no later
// operation changes. Sums over pixels (the statistics, and backward's S1 =
// sum dz and S2 = sum dz x) are taken over blocks of gnBlock pixels in the
// network's precision and then added in float64. In float32 with AVX2 the
// per-row loops run on gnorm_amd64.s, which rounds every operation as the
// Go loops below do: the same bits.

// gnBlock is the number of pixels whose sums are taken in the network's
// precision before they are added in float64.
const gnBlock = 16

// gnAsmOn lets the float32 GroupNorm kernels of gnorm_amd64.s run where
// the CPU has AVX2; tests clear it to compare with the Go loops.
var gnAsmOn = true

// gnAsm reports whether the float32 kernels of gnorm_amd64.s serve rows of
// c channels in precision T.
func gnAsm[T float](c int) bool {
	var z T
	return unsafe.Sizeof(z) == 4 && useAVX2 && gnAsmOn && c%8 == 0
}

// gnStatsTo adds x[r][j] to s[j] and x[r][j]^2 to q[j] over the rows.
func gnStatsTo[T float](x []T, rows, c int, s, q []T) {
	if gnAsm[T](c) && rows > 0 {
		gnStats32(&as32(x)[0], rows, c, &as32(s)[0], &as32(q)[0])
		return
	}
	s, q = s[:c], q[:c]
	for r := 0; r < rows; r++ {
		for j, v := range x[r*c : (r+1)*c] {
			s[j] += v
			q[j] += T(v * v)
		}
	}
}

// colSumsTo adds to acc (float64) the column sums of the rows x w matrix
// a, in blocks of gnBlock rows summed in precision T (tmp: w scratch).
func colSumsTo[T float](acc []float64, a []T, rows, w int, tmp []T) {
	tmp = tmp[:w]
	for r0 := 0; r0 < rows; r0 += gnBlock {
		nr := min(gnBlock, rows-r0)
		clear(tmp)
		blk := a[r0*w : (r0+nr)*w]
		if gnAsm[T](w) {
			colSum32(&as32(blk)[0], nr, w, &as32(tmp)[0])
		} else {
			for r := 0; r < nr; r++ {
				for j, v := range blk[r*w : (r+1)*w] {
					tmp[j] += v
				}
			}
		}
		for j, v := range tmp {
			acc[j] += float64(v)
		}
	}
}

// gnScaleTo sets z[r][j] = x[r][j] a[j].
func gnScaleTo[T float](z, x, a []T, rows, c int) {
	if gnAsm[T](c) && rows > 0 {
		gnScale32(&as32(z)[0], &as32(x)[0], &as32(a)[0], rows, c)
		return
	}
	a = a[:c]
	for r := 0; r < rows; r++ {
		zr, xr := z[r*c:(r+1)*c], x[r*c:(r+1)*c]
		for j, v := range a {
			zr[j] = xr[j] * v
		}
	}
}

// gnBackTo sets, with z = x A + B recomputed, d = dy SiLU'(z) = dy (s (1 +
// z (1 - s))), and adds d to s1 and d x to s2.
func gnBackTo[T float](x, sg, dy, d, a, b []T, rows, c int, s1, s2 []T) {
	if gnAsm[T](c) && rows > 0 {
		gnBack32(&as32(x)[0], &as32(sg)[0], &as32(dy)[0], &as32(d)[0], &as32(a)[0], &as32(b)[0], rows, c, &as32(s1)[0], &as32(s2)[0])
		return
	}
	a, b, s1, s2 = a[:c], b[:c], s1[:c], s2[:c]
	for r := 0; r < rows; r++ {
		xr, sr, gr, dr := x[r*c:(r+1)*c], sg[r*c:(r+1)*c], dy[r*c:(r+1)*c], d[r*c:(r+1)*c]
		for j, v := range xr {
			z := T(v*a[j]) + b[j]
			e := sr[j]
			g := gr[j] * T(e*T(1+T(z*T(1-e))))
			dr[j] = g
			s1[j] += g
			s2[j] += T(g * v)
		}
	}
}

// gnDxTo sets (or adds to) dx = (P dz + Q (x - M)) + R per channel.
func gnDxTo[T float](dx, dz, x, p, q, m, r []T, rows, c int, add bool) {
	if gnAsm[T](c) && rows > 0 {
		ad := 0
		if add {
			ad = 1
		}
		gnDx32(&as32(dx)[0], &as32(dz)[0], &as32(x)[0], &as32(p)[0], &as32(q)[0], &as32(m)[0], &as32(r)[0], rows, c, ad)
		return
	}
	p, q, m, r = p[:c], q[:c], m[:c], r[:c]
	for i := 0; i < rows; i++ {
		xr, dr, gr := x[i*c:(i+1)*c], dz[i*c:(i+1)*c], dx[i*c:(i+1)*c]
		for j, v := range dr {
			u := T(T(p[j]*v)+T(q[j]*T(xr[j]-m[j]))) + r[j]
			if add {
				gr[j] += u
			} else {
				gr[j] = u
			}
		}
	}
}

// normForward: see the top of this file; the images run over the workers.
func (c *unetCore[T, K]) normForward(o *unetOp, oi int) {
	c.eachImage(o, oi, false, false)
}

// normForwardImage is normForward for image i, with worker w's scratch.
func (c *unetCore[T, K]) normForwardImage(o *unetOp, oi, i, w int) {
	var kern K
	X, Y := &c.t[o.in], &c.t[o.out]
	C, hw := X.c, X.h*X.w
	gamma := c.params[o.wOff : o.wOff+C]
	beta := c.params[o.bOff : o.bOff+C]
	xi := X.v[i*hw*C : (i+1)*hw*C]
	c.normStats(o, oi, i, w, xi, hw)
	a, b := c.normAffine(oi, i, w, gamma, beta)
	yi := Y.v[i*hw*C : (i+1)*hw*C]
	z := yi
	if o.silu {
		z = c.zs[i*hw*C : (i+1)*hw*C]
	}
	gnScaleTo(z, xi, a, hw, C)
	if o.silu {
		kern.biasSiLU(z, c.aux[oi][1][i*hw*C:(i+1)*hw*C], yi, b, hw, C)
		return
	}
	for p := 0; p < hw; p++ {
		zr := z[p*C : (p+1)*C]
		for j, v := range b {
			zr[j] += v
		}
	}
}

// gnScratch is one worker's scratch for GroupNorm: float64 sums and
// per-channel coefficients.
type gnScratch[T float] struct {
	acc            []float64
	na, nb, nm, nr []T
}

// imgJob runs a GroupNorm over the images, one image at a time per worker.
type imgJob[T float, K kernels[T]] struct {
	c         *unetCore[T, K]
	o         *unetOp
	oi        int
	back, add bool
	next, ids atomic.Int64
}

func (j *imgJob[T, K]) run() {
	w := int(j.ids.Add(1)) - 1
	for {
		i := int(j.next.Add(1)) - 1
		if i >= j.c.n {
			return
		}
		if j.back {
			j.c.normBackwardImage(j.o, j.oi, i, w, j.add)
		} else {
			j.c.normForwardImage(j.o, j.oi, i, w)
		}
	}
}

// eachImage runs the GroupNorm o forward or backward on every image, over
// the workers. Each image's results are computed as without workers.
func (c *unetCore[T, K]) eachImage(o *unetOp, oi int, back, add bool) {
	if need := c.par.count(); len(c.gs) < need {
		maxC := len(c.gs[0].na)
		for len(c.gs) < need {
			c.gs = append(c.gs, newGNScratch[T](maxC))
		}
	}
	j := c.img
	j.c, j.o, j.oi, j.back, j.add = c, o, oi, back, add
	j.next.Store(0)
	j.ids.Store(0)
	if c.par.pool == nil || c.n == 1 {
		j.run()
	} else {
		c.par.pool.do(j, c.n)
	}
	j.c, j.o = nil, nil
}

func newGNScratch[T float](maxC int) gnScratch[T] {
	return gnScratch[T]{acc: make([]float64, 2*maxC), na: make([]T, maxC), nb: make([]T, maxC), nm: make([]T, maxC), nr: make([]T, maxC)}
}

// normStats stores the mean and 1/std of each group of image i (rows xi).
func (c *unetCore[T, K]) normStats(o *unetOp, oi, i, w int, xi []T, hw int) {
	C, G := c.t[o.in].c, c.cfg.Groups
	cg := C / G
	sc := &c.gs[w]
	s, q := sc.acc[:C], sc.acc[C:2*C]
	clear(s)
	clear(q)
	ts, tq := sc.nm[:C], sc.nr[:C]
	for p0 := 0; p0 < hw; p0 += gnBlock {
		rows := min(gnBlock, hw-p0)
		clear(ts)
		clear(tq)
		gnStatsTo(xi[p0*C:(p0+rows)*C], rows, C, ts, tq)
		for j := range s {
			s[j] += float64(ts[j])
			q[j] += float64(tq[j])
		}
	}
	cnt := float64(hw * cg)
	st := c.stats[oi][2*i*G : 2*(i+1)*G]
	for gr := 0; gr < G; gr++ {
		var sg, qg float64
		for j := gr * cg; j < (gr+1)*cg; j++ {
			sg += s[j]
			qg += q[j]
		}
		mean := sg / cnt
		v := max(0, qg/cnt-mean*mean)
		st[2*gr], st[2*gr+1] = mean, 1/math.Sqrt(v+GroupNormEps)
	}
}

// normAffine returns the per-channel A = r gamma and B = beta - m A of
// image i (in worker w's scratch na and nb).
func (c *unetCore[T, K]) normAffine(oi, i, w int, gamma, beta []T) (a, b []T) {
	C, G := len(gamma), c.cfg.Groups
	cg := C / G
	st := c.stats[oi][2*i*G : 2*(i+1)*G]
	a, b = c.gs[w].na[:C], c.gs[w].nb[:C]
	for j := range a {
		mean, rstd := st[2*(j/cg)], st[2*(j/cg)+1]
		aj := rstd * float64(gamma[j])
		a[j] = T(aj)
		b[j] = T(float64(beta[j]) - mean*aj)
	}
	return a, b
}

// normBackward: dz = dout (times SiLU'(z), z recomputed as in forward);
// with xhat = (x - m) r and per-channel sums S1 = sum dz, S2 = sum dz x over
// the image's pixels: dbeta += S1, dgamma += r (S2 - m S1), and with
// g = dz gamma, m1 = mean(g), m2 = mean(g xhat) over the group,
// dx = r (g - m1 - xhat m2) = (r gamma) dz - r^2 m2 (x - m) - r m1.
func (c *unetCore[T, K]) normBackward(o *unetOp, oi int) {
	X := &c.t[o.in]
	C, G := X.c, c.cfg.Groups
	cg := C / G
	add := X.gset
	if X.need {
		X.gset = true
	}
	c.eachImage(o, oi, true, add)
	if c.grad == nil {
		return
	}
	// The parameter gradients, image by image in order.
	gg, gb := c.grad[o.wOff:o.wOff+C], c.grad[o.bOff:o.bOff+C]
	for i := 0; i < c.n; i++ {
		st := c.stats[oi][2*i*G : 2*(i+1)*G]
		s1, s2 := c.gsum[2*i*C:(2*i+1)*C], c.gsum[(2*i+1)*C:(2*i+2)*C]
		for j := range gg {
			mean, rstd := st[2*(j/cg)], st[2*(j/cg)+1]
			gb[j] += T(s1[j])
			gg[j] += T(rstd * (s2[j] - mean*s1[j]))
		}
	}
}

// normBackwardImage is normBackward for image i with worker w's scratch:
// it leaves S1 and S2 in c.gsum and writes (add: adds) dx.
func (c *unetCore[T, K]) normBackwardImage(o *unetOp, oi, i, w int, add bool) {
	X, Y := &c.t[o.in], &c.t[o.out]
	C, hw, G := X.c, X.h*X.w, c.cfg.Groups
	cg := C / G
	cnt := float64(hw * cg)
	gamma := c.params[o.wOff : o.wOff+C]
	beta := c.params[o.bOff : o.bOff+C]
	sc := &c.gs[w]
	s1, s2 := c.gsum[2*i*C:(2*i+1)*C], c.gsum[(2*i+1)*C:(2*i+2)*C]
	t1, t2 := sc.nm[:C], sc.nr[:C]
	xi := X.v[i*hw*C : (i+1)*hw*C]
	dz := Y.g[i*hw*C : (i+1)*hw*C]
	st := c.stats[oi][2*i*G : 2*(i+1)*G]
	clear(s1)
	clear(s2)
	if o.silu {
		a, b := c.normAffine(oi, i, w, gamma, beta)
		sg := c.aux[oi][1][i*hw*C : (i+1)*hw*C]
		d := c.dz[i*hw*C : (i+1)*hw*C]
		for p0 := 0; p0 < hw; p0 += gnBlock {
			rows := min(gnBlock, hw-p0)
			clear(t1)
			clear(t2)
			lo, hi := p0*C, (p0+rows)*C
			gnBackTo(xi[lo:hi], sg[lo:hi], dz[lo:hi], d[lo:hi], a, b, rows, C, t1, t2)
			for j := range s1 {
				s1[j] += float64(t1[j])
				s2[j] += float64(t2[j])
			}
		}
		dz = d
	} else {
		for p := 0; p < hw; p++ {
			xr := xi[p*C : (p+1)*C]
			for j, v := range dz[p*C : (p+1)*C] {
				f := float64(v)
				s1[j] += f
				s2[j] += f * float64(xr[j])
			}
		}
	}
	if !X.need {
		return
	}
	// Per channel: P = r gamma, Q = -r^2 m2, M = m, R = -r m1.
	pc, qc, mc, rc := sc.na[:C], sc.nb[:C], sc.nm[:C], sc.nr[:C]
	for gr := 0; gr < G; gr++ {
		mean, rstd := st[2*gr], st[2*gr+1]
		var m1, m2 float64
		for j := gr * cg; j < (gr+1)*cg; j++ {
			gj := float64(gamma[j])
			m1 += gj * s1[j]
			m2 += gj * rstd * (s2[j] - mean*s1[j])
		}
		m1 /= cnt
		m2 /= cnt
		for j := gr * cg; j < (gr+1)*cg; j++ {
			pc[j] = T(rstd * float64(gamma[j]))
			qc[j] = T(-rstd * rstd * m2)
			mc[j] = T(mean)
			rc[j] = T(-rstd * m1)
		}
	}
	gnDxTo(X.g[i*hw*C:(i+1)*hw*C], dz, xi, pc, qc, mc, rc, hw, C, add)
}
