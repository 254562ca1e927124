package sample

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/sdekit/sdekit/internal/rng"
)

// BrownianTree is a Noise whose increments come from one Brownian path per
// row, fixed by (seed, row) and queried by interval: W(t1) - W(t0) and the
// space-time Levy area H over [t0, t1] are the same numbers whatever the
// other queries, their order, the blocks and the workers. A run with 1000
// steps and one with 500 on the same seed therefore see the same path (the
// sum of two fine increments is the coarse one), which is what strong
// convergence measurements, step rejection and the strong order 1.5 methods
// (SRA1, ShARK) need. The prior draw and any Langevin draws, which belong to
// no time interval, come from the row's ordinary stream exactly as with
// Streams, so a run's prior does not depend on the choice of noise.
//
// # The virtual tree
//
// Per row, the path on [0, T] is a binary tree of dyadic intervals (Foster
// 2020, section 6; the virtual Brownian tree of diffrax, Kidger 2021,
// Jelincic et al. 2024; torchsde's BrownianInterval, Kidger et al. 2021,
// "Efficient and accurate gradients for neural SDEs", section 5). A node of
// length h holds, per dimension, the increment W and the space-time Levy area
//
//	H = (1/h) int_0^h (W(u) - (u/h) W) du      (W(u) measured from the node's start)
//
// so that W ~ N(0, h), H ~ N(0, h/12), independent (H is the mean of the
// Brownian bridge W(u) - (u/h) W, which is independent of W). The root
// [0, T] draws W = sqrt(T) z and H = sqrt(T/12) z' from normals 0..2d-1 of
// the row's key rng.NewKey(seed, row, rng.Brownian).
//
// Union rule. For adjacent intervals of lengths a and b (h = a + b) with
// (W1, H1) and (W2, H2): int_0^h W(u) du = a (H1 + W1/2) + b W1 + b (H2 + W2/2)
// (the integral of a path over an interval of length L from its own start
// is L (H + W/2); the second interval starts at height W1), and
// H = (1/h) int - W/2 gives
//
//	W = W1 + W2,   H = (a H1 + b H2 + (b W1 - a W2)/2) / h.            (U)
//
// With halves, a = b = h/2: H = (H1 + H2)/2 + (W1 - W2)/4.
//
// Split rule. The halves of a node are W1, W2 ~ N(0, h/2) and H1, H2 ~
// N(0, h/24), all independent. Write D = W1 - W2 ~ N(0, h), S = H1 + H2 and
// E = H1 - H2 ~ N(0, h/12): W, D, S, E are independent, and given (W, H)
// only D and S are constrained, by H = D/4 + S/2. Cov(D, H) = h/4 and
// Var H = h/12, so D | H ~ N(3H, h - (h/4)^2 (12/h)) = N(3H, h/4), and
// S = 2H - D/2. With z1, z2 standard normals, D = 3H + (sqrt(h)/2) z1,
// S = H/2 - (sqrt(h)/4) z1, E = sqrt(h/12) z2, and back to the halves:
//
//	W1 = W/2 + 3H/2 + (sqrt(h)/4) z1,        W2 = W - W1,
//	H1 = H/4 - (sqrt(h)/8) z1 + sqrt(h/48) z2,
//	H2 = H/4 - (sqrt(h)/8) z1 - sqrt(h/48) z2.                            (S)
//
// (Check: Var W1 = h/4 + 3h/16 + h/16 = h/2, Var H1 = h/192 + h/64 + h/48 =
// h/24, Cov(W1, H1) = h/32 - h/32 = 0, Cov(W1, W2) = Cov(H1, H2) = 0; and
// (U) applied to the halves returns (W, H).) The node at depth j, position
// p (heap index k = 2^j + p) draws z1 for dimension i as normal 2dk + i of
// the row's key and z2 as normal 2dk + d + i: 2 normals per dimension per
// split, at a counter that is a fixed function of the node, so a node's
// values are the same whichever query reaches it first.
//
// Below the leaves. The tree stops at depth Depth (leaves of length
// delta = T/2^Depth). Inside a leaf with (W, H) the path is its conditional
// mean given (W, H): Cov(W(u delta) - u W, H) = delta u(1-u)/2 and
// Var H = delta/12, so
//
//	W~(u delta) = u W + 6 u (1-u) H,   u in [0, 1],
//
// a quadratic whose own space-time area over the leaf is H. Over a piece
// [a, b] of the leaf (fractions) it has increment (b-a) W + 6 (b-a)(1-a-b) H
// and area (b-a)^2 H (a quadratic's deviation from its chord). Queries at
// any times are answered exactly for this path W~: it equals the Brownian
// path at every dyadic point of depth Depth, and between them it misses
// the bridge's conditional fluctuation, of variance
// delta (u(1-u) - 3 u^2 (1-u)^2) <= delta/12 at fraction u. So a point is off
// by at most sqrt(delta/12) in standard deviation (1.4e-6 sqrt(T) at the
// default depth 36), an increment over [s, t] has variance t - s minus at
// most delta/6, and everything is still one fixed continuous path: W adds
// and H obeys (U) over any points, to rounding.
//
// Queries. An interval [s, t] with s and t in different leaves is split at
// the midpoint of their lowest common ancestor: [s, m] is a suffix of its
// left child and [m, t] a prefix of its right child. The suffix is built
// from s's leaf upward by (U), adding the right siblings of the path's left
// turns; the prefix likewise from the left siblings of the right turns; (U)
// joins the two. Each row caches the root-to-leaf path of its last queried
// point (both children at every depth); a query descends only below the
// depth where its path leaves the cached one, so a sequential sweep of a
// dyadic grid of 2^k steps costs one split a step amortised, and a
// non-dyadic grid of n steps about Depth - log2(n) splits a step (the
// finger cannot reach below the grid's scale). Memory: (4 Depth + 8) d
// float64 per row of the block in flight (d the dimension), 1216 d bytes
// at the default depth; rows of finished blocks hold nothing.
type BrownianTree struct {
	// T is the end of the time interval [0, T]; Config.Validate sets it to
	// the SDE's T (BindTime).
	T float64
	// Depth is the number of dyadic levels below the root: leaves have
	// length T/2^Depth. 0 selects 36 (see defaultTreeDepth); at most 50.
	Depth int
}

// defaultTreeDepth: leaves of T/2^36 (1.5e-11 at T = 1) put the tree's
// approximation (a point off by at most sqrt(delta/12), 1.4e-6 sqrt(T)) far
// below any step a sampler takes: even a step of 1e-9 T sees a relative
// variance error below delta/(6 h) = 2.4e-3, and at the steps of practice
// (1e-5 T and up) below 3e-7, under the Monte Carlo error of any study.
// Deeper levels cost time on non-dyadic grids (one split per level below
// the step's scale) and memory (4 d float64 per level and row) for nothing
// measurable.
const defaultTreeDepth = 36

// maxTreeDepth keeps the leaf index exact in float64 (53 bits) with room
// for the fraction, and the node counters 2 d k below 2^64 for d up to
// 2^12 (see NewSource).
const maxTreeDepth = 50

// BindTime returns the tree on [0, T].
func (b BrownianTree) BindTime(T float64) Noise { b.T = T; return b }

func (b BrownianTree) depth() int {
	switch {
	case b.Depth == 0:
		return defaultTreeDepth
	case b.Depth < 0 || b.Depth > maxTreeDepth:
		panic(fmt.Sprintf("sample: BrownianTree.Depth = %d; use 1..%d levels, or 0 for %d", b.Depth, maxTreeDepth, defaultTreeDepth))
	}
	return b.Depth
}

// NewSource returns a tree source for rows of dimension d. It panics if T
// is not positive and finite (a tree not bound to a run: Config.Validate
// binds it), or if d is so large that the node counters would wrap.
func (b BrownianTree) NewSource(d int) NoiseSource {
	depth := b.depth()
	if !(b.T > 0) || math.IsInf(b.T, 0) {
		panic(fmt.Sprintf("sample: BrownianTree.T = %v; the tree needs the run's end time T > 0 (Config.Validate sets it)", b.T))
	}
	// Node counters: 2d k + 2d <= 2d 2^(depth+1) must not pass 2^64.
	if d < 1 || bits.Len64(uint64(d)) > 62-depth {
		panic(fmt.Sprintf("sample: BrownianTree of depth %d cannot serve dimension %d; use a depth of at most %d", depth, d, 62-bits.Len64(uint64(d))))
	}
	s := &treeSource{d: d, depth: depth, T: b.T,
		cw: make([]float64, depth), ch1: make([]float64, depth), ch2: make([]float64, depth),
		rootW: math.Sqrt(b.T), rootH: math.Sqrt(b.T / 12)}
	for j := range depth {
		sh := math.Sqrt(math.Ldexp(b.T, -j)) // sqrt of the length of a node at depth j
		s.cw[j], s.ch1[j], s.ch2[j] = sh/4, sh/8, sh/math.Sqrt(48)
	}
	s.stride = (2 + 4*depth) * d
	return s
}

// treeSource is one worker's trees: the Streams part (keys, drawn, width:
// the prior and Langevin normals, counted as Streams counts them) and, per
// row of the block, the cached path of the row's last queried point.
type treeSource struct {
	d, depth int
	T        float64
	// Split coefficients per depth j: sqrt(h)/4, sqrt(h)/8, sqrt(h/48), h = T/2^j.
	cw, ch1, ch2 []float64
	rootW, rootH float64

	keys  []rng.Key // rng.Sampling, as Streams
	drawn uint64
	width uint64
	tkeys []rng.Key // rng.Brownian

	// path holds, per row, stride values: the root's W and H (d each), then
	// for depth j = 1..depth the two children of the path's node at depth
	// j-1: left W, left H, right W, right H (d each).
	path   []float64
	stride int
	pos    []uint64 // leaf index of the cached point, per row
	from   []int    // per row, during a descend: the first depth to split
	have   []bool   // whether the row's path is cached
	z      []float64
	acc    []float64 // per row: s-side W, H, t-side W, H (d each)
}

func (s *treeSource) Start(seed uint64, rows []int) {
	n := len(rows)
	if cap(s.keys) < n {
		s.keys = make([]rng.Key, n)
		s.tkeys = make([]rng.Key, n)
		s.pos = make([]uint64, n)
		s.have = make([]bool, n)
		s.from = make([]int, n)
		s.path = make([]float64, n*s.stride)
		s.z = make([]float64, n*2*s.d)
		s.acc = make([]float64, n*4*s.d)
	}
	s.keys, s.tkeys, s.pos, s.have, s.from = s.keys[:n], s.tkeys[:n], s.pos[:n], s.have[:n], s.from[:n]
	for r, row := range rows {
		s.keys[r] = rng.NewKey(seed, row, rng.Sampling)
		s.tkeys[r] = rng.NewKey(seed, row, rng.Brownian)
		s.have[r] = false
	}
	s.drawn, s.width = 0, uint64(s.d)
}

// Normals are the row's stream, as Streams gives them, at the same counters
// (Next advances them by the widths Streams would use), so the prior and the
// Langevin draws are the same as with Streams.
func (s *treeSource) Normals(z []float64, a, c int) {
	rng.NormalsRows(z[a*s.d:c*s.d], s.d, s.keys[a:c], s.drawn)
}

func (s *treeSource) Next() { s.drawn += s.width; s.width = uint64(s.d) }

// Increment writes (W(t1) - W(t0))/sqrt|t1 - t0| of the tree.
func (s *treeSource) Increment(z []float64, a, c int, t0, t1 float64) {
	s.query(z, nil, a, c, t0, t1)
}

// IncrementArea writes (W(t1) - W(t0))/sqrt(h) and H/sqrt(h) of the tree.
func (s *treeSource) IncrementArea(w, hh []float64, a, c int, t0, t1 float64) {
	s.query(w, hh, a, c, t0, t1)
	s.width = 2 * uint64(s.d) // as Streams, so later Normals stay in step
}

// point is a query time located in the leaves: leaf index m and the
// fraction u in [0, 1] of the leaf before the point.
type point struct {
	m uint64
	u float64
}

func (s *treeSource) locate(t float64) point {
	if !(t >= 0 && t <= s.T) {
		panic(fmt.Sprintf("sample: Brownian tree query at t = %v, outside the tree's interval [0, %v]", t, s.T))
	}
	x := math.Ldexp(t/s.T, s.depth) // exact scaling of the rounded t/T
	m := math.Floor(x)
	n := uint64(1) << s.depth
	if uint64(m) >= n { // t = T: the end of the last leaf
		return point{n - 1, 1}
	}
	return point{uint64(m), x - m}
}

func (s *treeSource) query(w, hh []float64, a, c int, t0, t1 float64) {
	d := s.d
	h := math.Abs(t1 - t0)
	p0, p1 := s.locate(t0), s.locate(t1)
	if h == 0 {
		clear(w[a*d : c*d])
		if hh != nil {
			clear(hh[a*d : c*d])
		}
		return
	}
	lo, hi := p0, p1
	sign := 1.0
	if t1 < t0 {
		lo, hi = p1, p0
		sign = -1
	}
	scale := 1 / math.Sqrt(h)
	if lo.m == hi.m {
		s.descend(a, c, lo.m)
		ua, ub := lo.u, hi.u
		fw, fh := (ub-ua)*(1-ua-ub)*6, (ub-ua)*(ub-ua)
		for r := a; r < c; r++ {
			lw, lh := s.node(r, s.depth, lo.m)
			out := w[r*d : (r+1)*d]
			for i := range out {
				out[i] = sign * ((ub-ua)*lw[i] + fw*lh[i]) * scale
			}
			if hh != nil {
				out := hh[r*d : (r+1)*d]
				for i := range out {
					out[i] = fh * lh[i] * scale
				}
			}
		}
		return
	}
	// The children of the lowest common ancestor are at depth cd.
	cd := s.depth - bits.Len64(lo.m^hi.m) + 1
	// Accumulate the first-queried point first, so the cache ends at t1,
	// where a sequential sweep's next query starts.
	first, second := p0, p1
	if sign < 0 {
		s.descend(a, c, first.m)
		s.prefix(a, c, first, cd) // t0 is hi
		s.descend(a, c, second.m)
		s.suffix(a, c, second, cd)
	} else {
		s.descend(a, c, first.m)
		s.suffix(a, c, first, cd)
		s.descend(a, c, second.m)
		s.prefix(a, c, second, cd)
	}
	// The suffix of lo (length ls leaves) joined by (U) to the prefix of hi.
	// Lengths in leaves: from lo to the end of its depth-cd node, and from
	// the start of hi's depth-cd node (the midpoint mid) to hi.
	k := s.depth - cd
	mid := hi.m >> k << k
	ls := float64(mid-lo.m) - lo.u
	lp := float64(hi.m-mid) + hi.u
	al, be := ls/(ls+lp), lp/(ls+lp)
	for r := a; r < c; r++ {
		acc := s.acc[r*4*d : (r+1)*4*d]
		sw, sh, pw, ph := acc[:d], acc[d:2*d], acc[2*d:3*d], acc[3*d:]
		out := w[r*d : (r+1)*d]
		for i := range out {
			out[i] = sign * (sw[i] + pw[i]) * scale
		}
		if hh != nil {
			out := hh[r*d : (r+1)*d]
			for i := range out {
				out[i] = (al*sh[i] + be*ph[i] + (be*sw[i]-al*pw[i])/2) * scale
			}
		}
	}
}

// node returns W and H of the node at depth j on the cached path of row r
// (which must lead to leaf m).
func (s *treeSource) node(r, j int, m uint64) (w, h []float64) {
	d := s.d
	p := s.path[r*s.stride : (r+1)*s.stride]
	if j == 0 {
		return p[:d], p[d : 2*d]
	}
	off := (2 + 4*(j-1)) * d
	if m>>(s.depth-j)&1 == 1 {
		off += 2 * d
	}
	return p[off : off+d], p[off+d : off+2*d]
}

// sibling returns W and H of the other child at depth j >= 1.
func (s *treeSource) sibling(r, j int, m uint64) (w, h []float64) {
	return s.node(r, j, m^1<<(s.depth-j))
}

// descend makes the cached path of rows a..c-1 lead to leaf m: it keeps the
// part shared with the cached point and splits the nodes below it.
func (s *treeSource) descend(a, c int, m uint64) {
	d := s.d
	jmin, jmax := s.depth, 0
	for r := a; r < c; r++ {
		j := s.depth
		if !s.have[r] {
			p := s.path[r*s.stride : r*s.stride+2*d]
			z := s.z[r*2*d : (r+1)*2*d]
			s.tkeys[r].Normals(z, 0)
			for i := range d {
				p[i] = s.rootW * z[i]
				p[d+i] = s.rootH * z[d+i]
			}
			s.have[r] = true
			j = 0
		} else if x := s.pos[r] ^ m; x != 0 {
			j = s.depth - bits.Len64(x)
		}
		jmin, jmax = min(jmin, j), max(jmax, j)
		s.pos[r], s.from[r] = m, j
	}
	if jmin == s.depth {
		return
	}
	for j := jmin; j < s.depth; j++ {
		k := uint64(1)<<j + m>>(s.depth-j) // heap index of the node split
		n0 := 2 * uint64(d) * k
		if j >= jmax {
			rng.NormalsRows(s.z[a*2*d:c*2*d], 2*d, s.tkeys[a:c], n0)
		}
		for r := a; r < c; r++ {
			if j < s.from[r] {
				continue
			}
			z := s.z[r*2*d : (r+1)*2*d]
			if j < jmax {
				s.tkeys[r].Normals(z, n0)
			}
			s.split(r, j, m, z)
		}
	}
}

// split draws the children of row r's path node at depth j (on the way to
// leaf m) by (S), from the normals z.
func (s *treeSource) split(r, j int, m uint64, z []float64) {
	d := s.d
	pw, ph := s.node(r, j, m)
	p := s.path[r*s.stride : (r+1)*s.stride]
	off := (2 + 4*j) * d
	lw, lh, rw, rh := p[off:off+d], p[off+d:off+2*d], p[off+2*d:off+3*d], p[off+3*d:off+4*d]
	cw, c1, c2 := s.cw[j], s.ch1[j], s.ch2[j]
	z1, z2 := z[:d], z[d:2*d]
	for i := range d {
		wl := 0.5*pw[i] + 1.5*ph[i] + cw*z1[i]
		base := 0.25*ph[i] - c1*z1[i]
		e := c2 * z2[i]
		lw[i], rw[i] = wl, pw[i]-wl
		lh[i], rh[i] = base+e, base-e
	}
}

// suffix writes into the s-side accumulators of rows a..c-1 the W and H of
// the part of the depth-cd node containing pt that lies after pt.
func (s *treeSource) suffix(a, c int, pt point, cd int) {
	d := s.d
	u := pt.u
	fw, fh := -6*(1-u)*u, (1-u)*(1-u)
	for r := a; r < c; r++ {
		acc := s.acc[r*4*d : r*4*d+2*d]
		aw, ah := acc[:d], acc[d:]
		lw, lh := s.node(r, s.depth, pt.m)
		for i := range d {
			aw[i] = (1-u)*lw[i] + fw*lh[i]
			ah[i] = fh * lh[i]
		}
		l := 1 - u
		for j := s.depth; j > cd; j-- {
			if pt.m>>(s.depth-j)&1 == 1 {
				continue // a right child: nothing of its parent lies after it
			}
			b := math.Ldexp(1, s.depth-j)
			al, be := l/(l+b), b/(l+b)
			sw, sh := s.sibling(r, j, pt.m)
			for i := range d {
				ah[i] = al*ah[i] + be*sh[i] + (be*aw[i]-al*sw[i])/2
				aw[i] += sw[i]
			}
			l += b
		}
	}
}

// prefix writes into the t-side accumulators of rows a..c-1 the W and H of
// the part of the depth-cd node containing pt that lies before pt.
func (s *treeSource) prefix(a, c int, pt point, cd int) {
	d := s.d
	u := pt.u
	fw, fh := 6*u*(1-u), u*u
	for r := a; r < c; r++ {
		acc := s.acc[r*4*d+2*d : (r+1)*4*d]
		aw, ah := acc[:d], acc[d:]
		lw, lh := s.node(r, s.depth, pt.m)
		for i := range d {
			aw[i] = u*lw[i] + fw*lh[i]
			ah[i] = fh * lh[i]
		}
		l := u
		for j := s.depth; j > cd; j-- {
			if pt.m>>(s.depth-j)&1 == 0 {
				continue // a left child: nothing of its parent lies before it
			}
			b := math.Ldexp(1, s.depth-j)
			al, be := b/(l+b), l/(l+b)
			sw, sh := s.sibling(r, j, pt.m)
			for i := range d {
				ah[i] = al*sh[i] + be*ah[i] + (be*sw[i]-al*aw[i])/2
				aw[i] = sw[i] + aw[i]
			}
			l += b
		}
	}
}
