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
// Per row, the path on [0, T] is a binary tree of dyadic intervals: the
// virtual Brownian tree (Li, Wong, Chen and Duvenaud 2020, "Scalable
// gradients for stochastic differential equations"), with the space-time
// Levy area carried in every node as in diffrax's VirtualBrownianTree
// (Jelincic, Foster and Kidger 2024, "Single-seed generation of Brownian
// paths and integrals for adaptive and high order SDE solvers"; Foster 2020,
// "Numerical approximations for stochastic differential equations", thesis,
// Definition 4.2.1 for H and Theorem 6.1.6 for the midpoint split) and a
// per-row cache in the spirit of torchsde's BrownianInterval (Kidger, Foster,
// Li and Lyons 2021, "Efficient and accurate gradients for neural SDEs",
// section 5). A node of length h holds, per dimension, the increment W and
// the space-time Levy area
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
// by at most sqrt(delta/12) in standard deviation (8.8e-6 sqrt(T) at the
// default depth 30), an increment over [s, t] has variance t - s minus at
// most delta/6, and everything is still one fixed continuous path: W adds
// and H obeys (U) over any points, to rounding. (diffrax instead draws the
// bridge inside the leaf from the leaf's key, which makes the law at one
// point exact but not the joint law of two points in one leaf, and the
// increments no longer add; the conditional mean keeps them adding.)
//
// Rounding: diffrax forms H(s, t) from running integrals t H(0, t) at both
// ends, whose difference cancels badly for short intervals late in [0, T];
// here every union joins two adjacent pieces of the interval itself, so the
// rounding stays relative to the interval's own W and H.
//
// Queries. An interval [s, t] with s and t in different leaves is split at
// the midpoint of their lowest common ancestor: [s, m] is a suffix of its
// left child and [m, t] a prefix of its right child. The suffix is built
// from s's leaf upward by (U), adding the right siblings of the path's left
// turns; the prefix likewise from the left siblings of the right turns; (U)
// joins the two. A point that starts a node (a dyadic point) needs the tree
// only down to that node, not to the leaves. Each row caches the path of
// its last queried point (both children of every node on it): a query
// splits only below the depth where its path leaves the cached one, so a
// sequential sweep of a dyadic grid of 2^k steps costs about one split
// (2 normals a dimension) a step, and a sweep of a non-dyadic grid of n
// steps about Depth - log2(n) splits a step: every grid point has its own
// path below the grid's scale, which no cache can share. (Streams draws
// 1 normal a dimension a step; BenchmarkBrownianTree measures the ratio.)
// Measured (go test -run '^$' -bench BrownianTree ./sample; 128 rows x 64
// dimensions, a shared 2-core machine): Streams 0.6 ns a value, the tree
// at depth 30 about 6 ns on the dyadic sweep and 75 ns on the 1000-step
// uniform one. Memory: (4 Depth + 8) d float64 per row of the blocks in
// flight (d the dimension), 1024 d bytes at the default depth; a finished
// block's rows hold nothing, so a run of 1e6 rows needs only
// Workers x Block of them (at d = 2, 256 rows a block: 512 KiB a worker).
type BrownianTree struct {
	// T is the end of the time interval [0, T]; Config.Validate sets it to
	// the SDE's T (BindTime).
	T float64
	// Depth is the number of dyadic levels below the root: leaves have
	// length T/2^Depth. 0 selects 30 (see defaultTreeDepth); at most 50.
	Depth int
}

// defaultTreeDepth: leaves of delta = T/2^30 (9.3e-10 at T = 1) put the
// tree's approximation (a point off by at most sqrt(delta/12), 8.8e-6
// sqrt(T) in standard deviation) below anything a study can see: a step of
// h has its variance short by at most delta/(6h), 1.6e-4 at h = 1e-6 T (an
// adaptive step near eps), 1e-5 at the 16000 steps of a strong order
// reference and 1.6e-7 at 1000 steps, under the Monte Carlo error of a
// variance from 1e6 rows (1.4e-3). Each further level costs one split a
// step on a non-dyadic grid (2 normals a dimension, about as much again in
// arithmetic: 30 levels make a 1000-step sweep about 20 splits a step) and
// 4 d float64 a row, for a gain no study measures.
const defaultTreeDepth = 30

// maxTreeDepth keeps the leaf index exact in float64 (53 bits) with room
// for the fraction, and the node counters 2 d k below 2^64 for d up to
// 2^12 (see NewSource).
const maxTreeDepth = 50

// BindTime returns the tree on [0, T]. It panics on a Depth out of range
// (in Config.Validate's goroutine, before any worker starts).
func (b BrownianTree) BindTime(T float64) Noise {
	b.depth()
	b.T = T
	return b
}

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

	// path holds the cached paths of the block's n rows, level by level
	// (so a level's work over the rows runs through contiguous memory):
	// the roots' W and H (2d a row), then for depth j = 1..depth the two
	// children of each row's path node at depth j-1 (left W, left H, right
	// W, right H: 4d a row). See at.
	path []float64
	n    int
	// The cached path of row r leads to leaf pos[r] and is valid down to
	// depth dep[r] (-1: nothing cached, the root not drawn).
	pos  []uint64
	dep  []int
	from []int // per row, during a descend: the first depth to split
	z    []float64
	acc  []float64 // per row: lo-side W, H, hi-side W, H (d each)
}

func (s *treeSource) Start(seed uint64, rows []int) {
	n := len(rows)
	if cap(s.keys) < n {
		s.keys = make([]rng.Key, n)
		s.tkeys = make([]rng.Key, n)
		s.pos = make([]uint64, n)
		s.dep = make([]int, n)
		s.from = make([]int, n)
		s.path = make([]float64, n*(2+4*s.depth)*s.d)
		s.z = make([]float64, n*2*s.d)
		s.acc = make([]float64, n*4*s.d)
	}
	s.keys, s.tkeys, s.pos, s.dep, s.from = s.keys[:n], s.tkeys[:n], s.pos[:n], s.dep[:n], s.from[:n]
	for r, row := range rows {
		s.keys[r] = rng.NewKey(seed, row, rng.Sampling)
		s.tkeys[r] = rng.NewKey(seed, row, rng.Brownian)
		s.dep[r] = -1
	}
	s.n = n
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
// fraction u in [0, 1] of the leaf before the point (u = 1 only for T).
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

// bound returns the depth of the largest node that starts at pt (pt a
// node boundary, u = 0), or depth for a point inside a leaf.
func (s *treeSource) bound(pt point) int {
	if pt.u != 0 {
		return s.depth
	}
	return s.depth - min(bits.TrailingZeros64(pt.m), s.depth)
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
		s.descend(a, c, lo.m, s.depth)
		ua, ub := lo.u, hi.u
		fw, fh := (ub-ua)*(1-ua-ub)*6, (ub-ua)*(ub-ua)
		for r := a; r < c; r++ {
			o := s.at(s.depth, lo.m, r)
			lw, lh := s.path[o:o+d], s.path[o+d:o+2*d]
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
	// The children of the lowest common ancestor are at depth cd: [lo, mid]
	// is a suffix of the left one, [mid, hi] a prefix of the right one.
	cd := s.depth - bits.Len64(lo.m^hi.m) + 1
	// The first-asked point first, so the cache ends at t1, where a
	// sequential sweep's next query starts.
	if sign < 0 {
		s.prefix(a, c, hi, cd)
		s.suffix(a, c, lo, cd)
	} else {
		s.suffix(a, c, lo, cd)
		s.prefix(a, c, hi, cd)
	}
	// Lengths in leaves: from lo to the end of its depth-cd node, and from
	// the start of hi's (mid) to hi.
	k := s.depth - cd
	mid := hi.m >> k << k
	ls := float64(mid-lo.m) - lo.u
	lp := float64(hi.m-mid) + hi.u
	al, be := ls/(ls+lp), lp/(ls+lp)
	for r := a; r < c; r++ {
		acc := s.acc[r*4*d : (r+1)*4*d]
		sw, sh, pw, ph := acc[:d], acc[d:2*d], acc[2*d:3*d], acc[3*d:4*d]
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

// at returns where W of row r's node at depth j on the path to leaf m
// lies in path (its H follows, then, for j >= 1, the other child of the
// same parent, or before it, the left one).
func (s *treeSource) at(j int, m uint64, r int) int {
	d := s.d
	if j == 0 {
		return r * 2 * d
	}
	o := s.n*2*d + ((j-1)*s.n+r)*4*d
	if m>>(s.depth-j)&1 == 1 {
		o += 2 * d
	}
	return o
}

// descend makes the cached path of rows a..c-1 lead to leaf m down to
// depth e: it keeps the part shared with the cached point and splits the
// nodes below it.
func (s *treeSource) descend(a, c int, m uint64, e int) {
	d := s.d
	jmin, jmax := e, 0
	for r := a; r < c; r++ {
		if s.dep[r] < 0 {
			p := s.path[r*2*d : (r+1)*2*d]
			z := s.z[r*2*d : (r+1)*2*d]
			s.tkeys[r].Normals(z, 0)
			for i := range d {
				p[i] = s.rootW * z[i]
				p[d+i] = s.rootH * z[d+i]
			}
			s.pos[r], s.dep[r] = m, 0
		}
		// j: the depth down to which the cached path is also m's.
		j := s.dep[r]
		if x := s.pos[r] ^ m; x != 0 {
			j = min(j, s.depth-bits.Len64(x))
		}
		if j >= e {
			j = e // the cached path covers the target: keep it as it is
		} else {
			s.pos[r], s.dep[r] = m, e
		}
		s.from[r] = j
		jmin, jmax = min(jmin, j), max(jmax, j)
	}
	for j := jmin; j < e; j++ {
		k := uint64(1)<<j + m>>(s.depth-j) // heap index of the node split
		n0 := 2 * uint64(d) * k
		cw, c1, c2 := s.cw[j], s.ch1[j], s.ch2[j]
		if j >= jmax {
			// Every row splits: one draw and one loop for all.
			rng.NormalsRows(s.z[a*2*d:c*2*d], 2*d, s.tkeys[a:c], n0)
			s.split(j, m, a, c, cw, c1, c2)
			continue
		}
		for r := a; r < c; r++ {
			if j >= s.from[r] {
				s.tkeys[r].Normals(s.z[r*2*d:(r+1)*2*d], n0)
				s.split(j, m, r, r+1, cw, c1, c2)
			}
		}
	}
}

// split writes the children (left W, left H, right W, right H) of the path
// nodes at depth j of rows a..c-1 by (S), from the normals in the rows' z
// (z1 then z2) and the coefficients sqrt(h)/4, sqrt(h)/8, sqrt(h/48) of
// their length h.
func (s *treeSource) split(j int, m uint64, a, c int, cw, c1, c2 float64) {
	d := s.d
	o, os := s.at(j, m, a), 4*d // the nodes, row by row
	if j == 0 {
		os = 2 * d
	}
	q := s.n*2*d + (j*s.n+a)*4*d // their children
	z := s.z[a*2*d : c*2*d]
	for zo := 0; zo < len(z); zo, o, q = zo+2*d, o+os, q+4*d {
		pw, ph := s.path[o:o+d], s.path[o+d:o+2*d]
		z1, z2 := z[zo:zo+d], z[zo+d:zo+2*d]
		out := s.path[q : q+4*d]
		lw, lh, rw, rh := out[:d], out[d:2*d], out[2*d:3*d], out[3*d:4*d]
		ph, z1, z2, lw, lh, rw, rh = ph[:len(pw)], z1[:len(pw)], z2[:len(pw)], lw[:len(pw)], lh[:len(pw)], rw[:len(pw)], rh[:len(pw)]
		for i := range pw {
			wl := 0.5*pw[i] + 1.5*ph[i] + cw*z1[i]
			base := 0.25*ph[i] - c1*z1[i]
			e := c2 * z2[i]
			lw[i], rw[i] = wl, pw[i]-wl
			lh[i], rh[i] = base+e, base-e
		}
	}
}

// suffix writes into the lo-side accumulators of rows a..c-1 the W and H
// of the part of the depth-cd node containing pt that lies after pt: the
// part of pt's leaf after it (or, when pt starts a node of depth e <= the
// leaves, that whole node), joined by (U) to the right siblings of the
// path's left turns, bottom up.
func (s *treeSource) suffix(a, c int, pt point, cd int) {
	d := s.d
	u := pt.u
	e := max(s.bound(pt), cd)
	s.descend(a, c, pt.m, e)
	l := math.Ldexp(1, s.depth-e)
	fw, fh := 1.0, 1.0
	if e == s.depth {
		l = 1 - u
		fw, fh = -6*(1-u)*u, (1-u)*(1-u)
	}
	for r := a; r < c; r++ {
		acc := s.acc[r*4*d : r*4*d+2*d]
		aw, ah := acc[:d], acc[d:2*d]
		o := s.at(e, pt.m, r)
		nw, nh := s.path[o:o+d], s.path[o+d:o+2*d]
		if e == s.depth {
			nw, nh, ah = nw[:len(aw)], nh[:len(aw)], ah[:len(aw)]
			for i := range aw {
				aw[i] = (1-u)*nw[i] + fw*nh[i]
				ah[i] = fh * nh[i]
			}
		} else {
			copy(aw, nw)
			copy(ah, nh)
		}
	}
	for j := e; j > cd; j-- {
		if pt.m>>(s.depth-j)&1 == 1 {
			continue // a right child: nothing of its parent lies after it
		}
		b := math.Ldexp(1, s.depth-j)
		al, be := l/(l+b), b/(l+b)
		o := s.at(j, pt.m, a) + 2*d // the right siblings, 4d apart
		for r := a; r < c; r, o = r+1, o+4*d {
			acc := s.acc[r*4*d : r*4*d+2*d]
			aw, ah := acc[:d], acc[d:2*d]
			sw, sh := s.path[o:o+d], s.path[o+d:o+2*d]
			ah, sw, sh = ah[:len(aw)], sw[:len(aw)], sh[:len(aw)]
			for i := range aw {
				ah[i] = al*ah[i] + be*sh[i] + (be*aw[i]-al*sw[i])/2
				aw[i] += sw[i]
			}
		}
		l += b
	}
}

// prefix writes into the hi-side accumulators of rows a..c-1 the W and H
// of the part of the depth-cd node containing pt that lies before pt: the
// part of pt's leaf before it (nothing when pt starts a node; all of the
// depth-cd node for pt = T), joined by (U) to the left siblings of the
// path's right turns, bottom up.
func (s *treeSource) prefix(a, c int, pt point, cd int) {
	d := s.d
	u := pt.u
	e := max(s.bound(pt), cd)
	whole := u == 1 // pt = T: the depth-cd node is all before it
	if whole {
		e = cd
	}
	s.descend(a, c, pt.m, e)
	l := u
	fw, fh := 6*u*(1-u), u*u
	switch {
	case whole:
		l = math.Ldexp(1, s.depth-e)
	case e < s.depth:
		l = 0
	}
	for r := a; r < c; r++ {
		acc := s.acc[r*4*d+2*d : (r+1)*4*d]
		aw, ah := acc[:d], acc[d:2*d]
		o := s.at(e, pt.m, r)
		nw, nh := s.path[o:o+d], s.path[o+d:o+2*d]
		switch {
		case whole:
			copy(aw, nw)
			copy(ah, nh)
		case e < s.depth:
			clear(aw)
			clear(ah)
		default:
			nw, nh, ah = nw[:len(aw)], nh[:len(aw)], ah[:len(aw)]
			for i := range aw {
				aw[i] = u*nw[i] + fw*nh[i]
				ah[i] = fh * nh[i]
			}
		}
	}
	for j := e; j > cd; j-- {
		if pt.m>>(s.depth-j)&1 == 0 {
			continue // a left child: nothing of its parent lies before it
		}
		b := math.Ldexp(1, s.depth-j)
		al, be := b/(l+b), l/(l+b)
		o := s.at(j, pt.m, a) - 2*d // the left siblings, 4d apart
		for r := a; r < c; r, o = r+1, o+4*d {
			acc := s.acc[r*4*d+2*d : (r+1)*4*d]
			aw, ah := acc[:d], acc[d:2*d]
			sw, sh := s.path[o:o+d], s.path[o+d:o+2*d]
			if l == 0 {
				copy(aw, sw)
				copy(ah, sh)
				continue
			}
			ah, sw, sh = ah[:len(aw)], sw[:len(aw)], sh[:len(aw)]
			for i := range aw {
				ah[i] = al*sh[i] + be*ah[i] + (be*sw[i]-al*aw[i])/2
				aw[i] = sw[i] + aw[i]
			}
		}
		l += b
	}
}
