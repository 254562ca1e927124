package sample_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// treeSource returns a started tree source on [0, T] for rows 0..n-1 of
// seed 7, dimension d.
func treeSource(t *testing.T, T float64, depth, d, n int) sample.AreaSource {
	t.Helper()
	src := sample.BrownianTree{T: T, Depth: depth}.NewSource(d)
	as, ok := src.(sample.AreaSource)
	if !ok {
		t.Fatalf("the Brownian tree's source is not an AreaSource")
	}
	as.Start(7, seqRows(n))
	return as
}

func seqRows(n int) []int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return rows
}

// ask returns the unnormalised W(t1) - W(t0) and H of the interval for all n
// rows (d values each), ending the draw.
func ask(src sample.AreaSource, n, d int, t0, t1 float64) (w, hh []float64) {
	w, hh = make([]float64, n*d), make([]float64, n*d)
	src.IncrementArea(w, hh, 0, n, t0, t1)
	src.Next()
	s := math.Sqrt(math.Abs(t1 - t0))
	for i := range w {
		w[i] *= s
		hh[i] *= s
	}
	return w, hh
}

// union is rule (U) of brownian.go, written again here: W and H of the
// concatenation of an interval of length a with (w1, h1) and one of length
// b with (w2, h2).
func union(a, w1, h1, b, w2, h2 float64) (w, h float64) {
	return w1 + w2, (a*h1 + b*h2 + (b*w1-a*w2)/2) / (a + b)
}

// Rule (U) against the closed form on a smooth path: for W(u) = c1 u + c2
// u^2 + c3 u^3, the space-time area over [s, t] is
// (1/L) int_s^t (W(u) - W(s) - (u-s)/L (W(t) - W(s))) du, L = t - s, which
// for a polynomial is exact in rational arithmetic; (U) must rebuild it
// from any two adjacent pieces of unequal lengths (1e-14: a few roundings
// of numbers of order 1).
func TestBrownianUnionRule(t *testing.T) {
	c1, c2, c3 := 0.7, -1.3, 2.1
	W := func(u float64) float64 { return c1*u + c2*u*u + c3*u*u*u }
	I := func(u float64) float64 { return c1*u*u/2 + c2*u*u*u/3 + c3*u*u*u*u/4 } // int_0^u W
	area := func(s, e float64) (float64, float64) {
		L := e - s
		w := W(e) - W(s)
		return w, (I(e)-I(s))/L - W(s) - w/2
	}
	for _, c := range [][3]float64{{0, 0.5, 1}, {0.1, 0.2, 0.9}, {0.3, 0.85, 0.9}, {-0.4, 0.05, 0.6}} {
		s, m, e := c[0], c[1], c[2]
		w1, h1 := area(s, m)
		w2, h2 := area(m, e)
		w, h := union(m-s, w1, h1, e-m, w2, h2)
		ww, wh := area(s, e)
		if math.Abs(w-ww) > 1e-14 || math.Abs(h-wh) > 1e-14 {
			t.Errorf("[%v, %v] split at %v: union (%v, %v), closed form (%v, %v)", s, e, m, w, h, ww, wh)
		}
	}
}

// The laws: for intervals that are nodes, that straddle nodes, that lie in
// one leaf of a shallow tree, and tiny ones, W/sqrt(h) ~ N(0, 1) and
// H/sqrt(h) ~ N(0, 1/12), uncorrelated. N = 40000 samples (20000 rows x 2
// dims, independent): the mean is within 4/sqrt(N) = 0.02 of 0, the
// variance within 4 sqrt(2/N) = 2.8% of its value, the correlation within
// 4/sqrt(N). (At the default depth 30 the approximation below the leaves
// shifts a variance by at most delta/(6h) < 2e-5 here; at depth 12, delta = 2.4e-4,
// only the intervals with h >= 0.01 are asked, where the shift is below
// 0.5%: shorter ones see the conditional-mean path inside the leaves, whose
// variance falls short of h by up to delta/(6h) or more within one leaf.)
func TestBrownianTreeLaw(t *testing.T) {
	const n, d = 20000, 2
	N := float64(n * d)
	for _, depth := range []int{0, 12} {
		src := treeSource(t, 1, depth, d, n)
		for _, iv := range [][2]float64{{0, 1}, {1, 0}, {0.25, 0.5}, {0.3, 0.7}, {0.5 - 1e-3, 0.5 + 2e-3}, {0.123, 0.1234}, {0.30001, 0.30002}, {0.9, 0.2}} {
			if h := math.Abs(iv[1] - iv[0]); depth == 12 && h < 0.01 {
				continue
			}
			h := math.Abs(iv[1] - iv[0])
			w, hh := ask(src, n, d, iv[0], iv[1])
			var mw, vw, vh, cwh float64
			for i := range w {
				x, y := w[i]/math.Sqrt(h), hh[i]/math.Sqrt(h)
				mw += x / N
				vw += x * x / N
				vh += 12 * y * y / N
				cwh += x * y * math.Sqrt(12) / N
			}
			if math.Abs(mw) > 4/math.Sqrt(N) || math.Abs(vw-1) > 4*math.Sqrt(2/N) || math.Abs(vh-1) > 4*math.Sqrt(2/N) || math.Abs(cwh) > 4/math.Sqrt(N) {
				t.Errorf("depth %d, [%v, %v]: mean W %.4f, var W/h %.4f, var 12H/h %.4f, corr %.4f; want 0, 1, 1, 0 within %.3f, %.3f, %.3f, %.3f",
					depth, iv[0], iv[1], mw, vw, vh, cwh, 4/math.Sqrt(N), 4*math.Sqrt(2/N), 4*math.Sqrt(2/N), 4/math.Sqrt(N))
			}
		}
	}
}

// Disjoint intervals are independent: the correlations of the W's and H's
// of [0.2, 0.3], [0.3, 0.45] (adjacent, sharing a point), [0.6, 0.61]
// (far) and the sibling nodes [0.75, 0.875], [0.875, 1] (the split rule (S))
// are within 4/sqrt(N) of 0, N = 40000.
func TestBrownianTreeDisjointIndependent(t *testing.T) {
	const n, d = 20000, 2
	N := float64(n * d)
	src := treeSource(t, 1, 0, d, n)
	ivs := [][2]float64{{0.2, 0.3}, {0.3, 0.45}, {0.6, 0.61}, {0.75, 0.875}, {0.875, 1}}
	var v [][]float64
	for _, iv := range ivs {
		w, hh := ask(src, n, d, iv[0], iv[1])
		for _, x := range [][]float64{w, hh} {
			s := 0.0
			for _, y := range x {
				s += y * y
			}
			s = math.Sqrt(s / N)
			y := make([]float64, len(x))
			for i := range x {
				y[i] = x[i] / s
			}
			v = append(v, y)
		}
	}
	for a := range v {
		for b := a + 1; b < len(v); b++ {
			if a/2 == b/2 {
				continue // W and H of one interval: TestBrownianTreeLaw
			}
			c := 0.0
			for i := range v[a] {
				c += v[a][i] * v[b][i] / N
			}
			if math.Abs(c) > 4/math.Sqrt(N) {
				t.Errorf("interval %v (%s) and %v (%s): correlation %.4f, want |c| < %.3f", ivs[a/2], "WH"[a%2:a%2+1], ivs[b/2], "WH"[b%2:b%2+1], c, 4/math.Sqrt(N))
			}
		}
	}
}

// Additivity: W(a, c) = W(a, b) + W(b, c) and H(a, c) = (U) of the two
// halves, for dyadic points and for any points (the tree answers for one
// fixed path, the conditional-mean path below the leaves), to rounding:
// each value is a sum over at most 2 x 30 nodes of a few roundings each of
// numbers below 10, so 1e-13 absolute.
func TestBrownianTreeAdditive(t *testing.T) {
	const n, d = 50, 3
	src := treeSource(t, 1, 0, d, n)
	for _, c := range [][3]float64{{0.25, 0.375, 0.5}, {0, 0.5, 1}, {0.125, 0.5, 0.8125}, {0.1, 0.37, 0.9}, {0.3, 0.30001, 0.3001}, {0.123456789, 0.5, 1}} {
		a, b, e := c[0], c[1], c[2]
		w1, h1 := ask(src, n, d, a, b)
		w2, h2 := ask(src, n, d, b, e)
		w, h := ask(src, n, d, a, e)
		for i := range w {
			uw, uh := union(b-a, w1[i], h1[i], e-b, w2[i], h2[i])
			if math.Abs(uw-w[i]) > 1e-13 || math.Abs(uh-h[i]) > 1e-13 {
				t.Fatalf("[%v, %v, %v] value %d: W %v vs %v + %v = %v; H %v vs (U) %v", a, b, e, i, w[i], w1[i], w2[i], uw, h[i], uh)
			}
		}
	}
}

// H against a direct refinement: H of [0.2, 0.7] and of [0.37, 0.3701]
// rebuilt by (U) from 256 equal pieces, each queried from the tree (1e-13,
// as TestBrownianTreeAdditive: the folds add 256 roundings of order
// sqrt(h) at most).
func TestBrownianTreeRefinement(t *testing.T) {
	const n, d, k = 20, 2, 256
	src := treeSource(t, 1, 0, d, n)
	for _, iv := range [][2]float64{{0.2, 0.7}, {0.37, 0.3701}} {
		lo, hi := iv[0], iv[1]
		w, h := ask(src, n, d, lo, hi)
		aw, ah := make([]float64, n*d), make([]float64, n*d)
		prev := lo
		for j := 1; j <= k; j++ {
			next := lo + (hi-lo)*float64(j)/k
			pw, ph := ask(src, n, d, prev, next)
			for i := range aw {
				aw[i], ah[i] = union(prev-lo, aw[i], ah[i], next-prev, pw[i], ph[i])
			}
			prev = next
		}
		for i := range w {
			if math.Abs(aw[i]-w[i]) > 1e-13 || math.Abs(ah[i]-h[i]) > 1e-13 {
				t.Fatalf("[%v, %v] value %d: tree (%v, %v), from %d pieces (%v, %v)", lo, hi, i, w[i], h[i], k, aw[i], ah[i])
			}
		}
	}
}

// The same intervals give the same bits whatever came before, in any
// order, for rows in any block and row range of a call.
func TestBrownianTreeQueryOrder(t *testing.T) {
	const d = 3
	ivs := [][2]float64{{1, 0.999}, {0.999, 0.5}, {0.3, 0.31}, {0.5, 0.25}, {0.123, 0.9}, {0.25, 0.2500001}, {0, 1}}
	rows := []int{4, 9, 2, 17, 5}
	type key struct {
		iv  int
		row int
	}
	want := map[key][]float64{}
	src := sample.BrownianTree{T: 1}.NewSource(d).(sample.AreaSource)
	src.Start(11, rows)
	for k, iv := range ivs {
		w, hh := make([]float64, len(rows)*d), make([]float64, len(rows)*d)
		src.IncrementArea(w, hh, 0, len(rows), iv[0], iv[1])
		src.Next()
		for r, row := range rows {
			want[key{k, row}] = append(slices.Clone(w[r*d:(r+1)*d]), hh[r*d:(r+1)*d]...)
		}
	}
	// Reversed, with other queries between, other blocks, one row at a time
	// and as Increment (W only).
	rows2 := []int{17, 3, 4, 5, 9, 2}
	src2 := sample.BrownianTree{T: 1}.NewSource(d).(sample.AreaSource)
	src2.Start(11, rows2)
	for k := len(ivs) - 1; k >= 0; k-- {
		iv := ivs[k]
		for r, row := range rows2 {
			if row == 3 {
				continue
			}
			junk := make([]float64, len(rows2)*d)
			src2.Increment(junk, r, r+1, 0.77*float64(k)/7, 0.1+0.11*float64(r))
			src2.Next()
			w, hh := make([]float64, len(rows2)*d), make([]float64, len(rows2)*d)
			src2.IncrementArea(w, hh, r, r+1, iv[0], iv[1])
			src2.Next()
			z := make([]float64, len(rows2)*d)
			src2.Increment(z, r, r+1, iv[0], iv[1])
			src2.Next()
			got := append(slices.Clone(w[r*d:(r+1)*d]), hh[r*d:(r+1)*d]...)
			if !slices.Equal(got, want[key{k, row}]) || !slices.Equal(z[r*d:(r+1)*d], w[r*d:(r+1)*d]) {
				t.Errorf("interval %v, row %d: %v, then %v; first asked %v", iv, row, got, z[r*d:(r+1)*d], want[key{k, row}])
			}
		}
	}
}

// A tree of depth 12 and one of depth 20 share the nodes down to depth 12;
// at a non-dyadic point tau the shallow tree's W(tau) is the conditional
// mean of the deep one's, and their difference has variance
// v(12) - v(20), v(D) = delta (u(1-u) - 3 u^2 (1-u)^2) at the fraction u
// of tau in its leaf of length delta = 2^-D (the stated error of the
// approximation below the leaves). N = 40000 samples: the sample variance
// is within 4 sqrt(2/N) = 2.8% of that. At dyadic points of depth 12 the
// two trees agree to rounding (1e-13).
func TestBrownianTreeDepthError(t *testing.T) {
	const n, d = 20000, 2
	N := float64(n * d)
	v := func(tau float64, depth int) float64 {
		x := math.Ldexp(tau, depth)
		u := x - math.Floor(x)
		return math.Ldexp(u*(1-u)-3*u*u*(1-u)*(1-u), -depth)
	}
	s12, s20 := treeSource(t, 1, 12, d, n), treeSource(t, 1, 20, d, n)
	for _, tau := range []float64{0.3, 0.70001, 0.5 + 0.3/4096} {
		a, _ := ask(s12, n, d, 0, tau)
		b, _ := ask(s20, n, d, 0, tau)
		want := v(tau, 12) - v(tau, 20)
		got := 0.0
		for i := range a {
			got += (a[i] - b[i]) * (a[i] - b[i]) / N
		}
		if math.Abs(got/want-1) > 4*math.Sqrt(2/N) {
			t.Errorf("tau = %v: variance of W12 - W20 %.4g, want %.4g within %.1f%%", tau, got, want, 400*math.Sqrt(2/N))
		}
	}
	for _, tau := range []float64{0.5, 1234.0 / 4096, 1} {
		a, ha := ask(s12, n, d, 0.25, tau)
		b, hb := ask(s20, n, d, 0.25, tau)
		for i := range a {
			if math.Abs(a[i]-b[i]) > 1e-13 || math.Abs(ha[i]-hb[i]) > 1e-13 {
				t.Fatalf("dyadic [0.25, %v], value %d: depth 12 (%v, %v), depth 20 (%v, %v)", tau, i, a[i], ha[i], b[i], hb[i])
			}
		}
	}
}

// recordingTree wraps a BrownianTree and records row 0's increments
// (unnormalised) with their intervals: one worker, one block.
type recordingTree struct {
	sample.BrownianTree
	mu  sync.Mutex
	rec [][3]float64 // t0, t1, W(t1) - W(t0) of row 0, dimension 0
}

func (r *recordingTree) BindTime(T float64) sample.Noise {
	r.BrownianTree.T = T
	return r
}

func (r *recordingTree) NewSource(d int) sample.NoiseSource {
	return &recordingSource{NoiseSource: r.BrownianTree.NewSource(d), r: r}
}

type recordingSource struct {
	sample.NoiseSource
	r *recordingTree
}

func (s *recordingSource) Increment(z []float64, a, c int, t0, t1 float64) {
	s.NoiseSource.Increment(z, a, c, t0, t1)
	if a == 0 {
		s.r.mu.Lock()
		s.r.rec = append(s.r.rec, [3]float64{t0, t1, z[0] * math.Sqrt(math.Abs(t1-t0))})
		s.r.mu.Unlock()
	}
}

// Euler-Maruyama with 1000 steps and with 500 on the same seed see one
// Brownian path: each coarse increment is the sum of the two fine ones over
// its halves. The grids are T = 1 down to eps = 1e-3 in uniform steps, not
// dyadic: the tree answers for its one path (exact Brownian motion at the
// points of depth 30, the conditional mean between them), so the sums agree
// to rounding all the same (1e-14: two roundings of increments of order
// 0.03 and the fine grid's times equal to the coarse ones only where the
// grid's arithmetic makes them so, checked first). With T = 1 and 2^k
// steps every grid point is a node boundary and the path is the Brownian
// motion itself there.
func TestBrownianTreeSharedPath(t *testing.T) {
	vp := sde.NewVP()
	g := score.Gauss(vp, 2)
	run := func(steps int) [][3]float64 {
		rt := &recordingTree{}
		c := sample.Config{SDE: vp, Score: g, Sampler: &sample.EulerMaruyama{Steps: steps}, Workers: 1, Block: 4, Noise: rt}
		if _, err := sample.Generate(context.Background(), c, 3, []int{5, 6, 7}, make([]float64, 6), nil); err != nil {
			t.Fatal(err)
		}
		return rt.rec
	}
	fine, coarse := run(1000), run(500)
	if len(fine) != 1000 || len(coarse) != 500 {
		t.Fatalf("%d and %d increments recorded, want 1000 and 500", len(fine), len(coarse))
	}
	for k, c := range coarse {
		f0, f1 := fine[2*k], fine[2*k+1]
		if f0[0] != c[0] || f1[1] != c[1] || f0[1] != f1[0] {
			t.Fatalf("step %d: coarse [%v, %v], fine [%v, %v] + [%v, %v]: the grids do not nest", k, c[0], c[1], f0[0], f0[1], f1[0], f1[1])
		}
		if math.Abs(f0[2]+f1[2]-c[2]) > 1e-14 {
			t.Fatalf("step %d [%v, %v]: coarse W %v, fine %v + %v = %v", k, c[0], c[1], c[2], f0[2], f1[2], f0[2]+f1[2])
		}
	}
}

// Through Generate with Euler-Maruyama on the tree, rows are bit for bit
// the same under 1 and 2 workers and blocks of 3 and 64 rows, and for a
// subset of the rows; and the tree's run differs from the Streams run
// while its prior is the Streams prior.
func TestBrownianTreeGenerate(t *testing.T) {
	vp := sde.NewVP()
	g := score.Gauss(vp, 3)
	const n = 10
	gen := func(workers, block int, rows []int, noise sample.Noise) []float64 {
		c := sample.Config{SDE: vp, Score: g, Sampler: &sample.EulerMaruyama{Steps: 40}, Workers: workers, Block: block, Noise: noise}
		x := make([]float64, 3*len(rows))
		if _, err := sample.Generate(context.Background(), c, 9, rows, x, nil); err != nil {
			t.Fatal(err)
		}
		return x
	}
	want := gen(1, 3, seqRows(n), sample.BrownianTree{})
	for _, wb := range [][2]int{{2, 3}, {1, 64}, {2, 64}} {
		if got := gen(wb[0], wb[1], seqRows(n), sample.BrownianTree{}); !slices.Equal(got, want) {
			t.Errorf("workers %d, block %d: rows differ from workers 1, block 3", wb[0], wb[1])
		}
	}
	sub := gen(2, 3, []int{7, 2}, sample.BrownianTree{})
	if !slices.Equal(sub[:3], want[21:24]) || !slices.Equal(sub[3:], want[6:9]) {
		t.Errorf("rows 7 and 2 alone differ from the full run")
	}
	if slices.Equal(gen(1, 3, seqRows(n), nil), want) {
		t.Errorf("the tree gives the Streams rows")
	}

	// The prior: the first recorded state of a trajectory.
	prior := func(noise sample.Noise) []float64 {
		c := sample.Config{SDE: vp, Score: g, Sampler: &sample.EulerMaruyama{Steps: 40}, Workers: 2, Block: 3, Noise: noise}
		_, states, err := sample.Trajectory(context.Background(), c, 9, seqRows(n), 2)
		if err != nil {
			t.Fatal(err)
		}
		return states[0]
	}
	if !slices.Equal(prior(sample.BrownianTree{}), prior(nil)) {
		t.Errorf("the prior draw depends on the noise")
	}
}

// Normals are the Streams normals at the same counters, whatever the
// increments asked between them (the prior, then Langevin draws).
func TestBrownianTreeNormalsAsStreams(t *testing.T) {
	const n, d = 5, 3
	tree := treeSource(t, 1, 0, d, n)
	st := sample.Streams{}.NewSource(d).(sample.AreaSource)
	st.Start(7, seqRows(n))
	z1, z2 := make([]float64, n*d), make([]float64, n*d)
	h1, h2 := make([]float64, n*d), make([]float64, n*d)
	for k := range 6 {
		tree.Normals(z1, 0, n)
		st.Normals(z2, 0, n)
		if !slices.Equal(z1, z2) {
			t.Fatalf("draw %d: tree Normals %v, Streams %v", k, z1, z2)
		}
		tree.Next()
		st.Next()
		t0, t1 := 1-0.1*float64(k), 0.9-0.1*float64(k)
		if k%2 == 0 {
			tree.Increment(z1, 0, n, t0, t1)
			st.Increment(z2, 0, n, t0, t1)
		} else {
			tree.IncrementArea(z1, h1, 0, n, t0, t1)
			st.IncrementArea(z2, h2, 0, n, t0, t1)
		}
		tree.Next()
		st.Next()
	}
}

// A query outside [0, T] is a programmer error: it panics, naming the
// interval.
func TestBrownianTreeOutside(t *testing.T) {
	src := treeSource(t, 2, 0, 1, 1)
	z := make([]float64, 1)
	for _, iv := range [][2]float64{{2, 2.5}, {-0.1, 1}, {1, math.NaN()}} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, "[0, 2]") {
					t.Errorf("query %v: panic %q, want a message naming [0, 2]", iv, msg)
				}
			}()
			src.Increment(z, 0, 1, iv[0], iv[1])
		}()
	}
}

// Validate binds the tree to the SDE's T.
func TestBrownianTreeBind(t *testing.T) {
	ve := sde.NewVE()
	c := sample.Config{SDE: ve, Score: score.Gauss(ve, 2), Noise: sample.BrownianTree{Depth: 20}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.Noise.(sample.BrownianTree); got.T != ve.T() || got.Depth != 20 {
		t.Errorf("bound tree %+v, want T = %v, depth 20", got, ve.T())
	}
}

// On a dyadic grid (T = 1, 1024 and 512 steps from 1 to 0) every grid
// point is a node boundary, where the tree is the Brownian motion itself
// (no approximation below the leaves): the coarse increments are the sums
// of the fine ones, W and H by (U), to rounding (1e-14 for values of order
// 0.03-0.1).
func TestBrownianTreeSharedDyadic(t *testing.T) {
	const n, d = 20, 2
	fine, coarse := treeSource(t, 1, 0, d, n), treeSource(t, 1, 0, d, n)
	for k := range 512 {
		t0, tm, t1 := 1-float64(2*k)/1024, 1-float64(2*k+1)/1024, 1-float64(2*k+2)/1024
		w1, h1 := ask(fine, n, d, t0, tm)
		w2, h2 := ask(fine, n, d, tm, t1)
		w, h := ask(coarse, n, d, t0, t1)
		for i := range w {
			// Reverse time: W(t1) - W(t0) = -(W over [t1, t0]); H as it is,
			// the pieces in increasing time: [t1, tm] then [tm, t0].
			uw, uh := union(tm-t1, -w2[i], h2[i], t0-tm, -w1[i], h1[i])
			if math.Abs(-uw-w[i]) > 1e-14 || math.Abs(uh-h[i]) > 1e-14 {
				t.Fatalf("step %d value %d: coarse (%v, %v), from the fine steps (%v, %v)", k, i, w[i], h[i], -uw, uh)
			}
		}
	}
}

// The source allocates per block (Start), never per query.
func TestBrownianTreeNoAlloc(t *testing.T) {
	const n, d = 8, 3
	src := treeSource(t, 1, 0, d, n)
	w, hh := make([]float64, n*d), make([]float64, n*d)
	k := 0
	allocs := testing.AllocsPerRun(100, func() {
		t0, t1 := 1-float64(k)*1e-3, 1-float64(k+1)*1e-3
		src.IncrementArea(w, hh, 0, n, t0, t1)
		src.Next()
		src.Increment(w, 2, 5, 0.3, t1)
		src.Next()
		k++
	})
	if allocs != 0 {
		t.Errorf("%v allocations a query", allocs)
	}
}
