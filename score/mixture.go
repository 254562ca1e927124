package score

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sdekit/sdekit/internal/planar"
	"github.com/sdekit/sdekit/internal/vmath"
	"github.com/sdekit/sdekit/sde"
)

// Mixture is the exact score of a Gaussian mixture with diagonal covariances
// pushed through a forward SDE. It is immutable and safe for concurrent use.
type Mixture struct {
	SDE     sde.SDE
	Weights []float64   // K weights, summing to 1
	Means   [][]float64 // K x D
	Stds    [][]float64 // K x D, all > 0
	logW    []float64
	mu, sd2 []float64 // K x D, flat copies of Means and Stds^2 for the hot loops
	// lead[k] is the first component whose variances equal component k's
	// (k itself if none): fill computes 1/v and log det v once per group.
	lead   []int
	oneCov bool // every component has the same variances (gmm8, gauss:D)
	d      int
}

// NewMixture validates and returns the mixture oracle. Weights are normalised.
func NewMixture(s sde.SDE, weights []float64, means, stds [][]float64) (*Mixture, error) {
	k := len(weights)
	if k == 0 {
		return nil, fmt.Errorf("score: mixture has no components")
	}
	if len(means) != k || len(stds) != k {
		return nil, fmt.Errorf("score: mixture has %d weights, %d means and %d stds; give one of each per component", k, len(means), len(stds))
	}
	d := len(means[0])
	if d == 0 {
		return nil, fmt.Errorf("score: mixture component 0 has dimension 0")
	}
	var sum float64
	for i, w := range weights {
		if !(w > 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("score: mixture weight %d is %v; weights must be finite and > 0", i, w)
		}
		sum += w
		if len(means[i]) != d || len(stds[i]) != d {
			return nil, fmt.Errorf("score: mixture component %d has dimension %d/%d, want %d", i, len(means[i]), len(stds[i]), d)
		}
		for j := 0; j < d; j++ {
			if math.IsNaN(means[i][j]) || math.IsInf(means[i][j], 0) {
				return nil, fmt.Errorf("score: mixture component %d mean %d is %v", i, j, means[i][j])
			}
			if !(stds[i][j] > 0) || math.IsInf(stds[i][j], 0) {
				return nil, fmt.Errorf("score: mixture component %d std %d is %v; stds must be finite and > 0", i, j, stds[i][j])
			}
		}
	}
	m := &Mixture{SDE: s, Means: means, Stds: stds, d: d}
	m.Weights = make([]float64, k)
	m.logW = make([]float64, k)
	for i, w := range weights {
		m.Weights[i] = w / sum
		m.logW[i] = math.Log(w / sum)
		for j := 0; j < d; j++ {
			m.mu = append(m.mu, means[i][j])
			m.sd2 = append(m.sd2, stds[i][j]*stds[i][j])
		}
	}
	m.lead = make([]int, k)
	m.oneCov = true
	for i := range m.lead {
		m.lead[i] = i
		for l := 0; l < i; l++ {
			if slices.Equal(m.sd2[l*d:(l+1)*d], m.sd2[i*d:(i+1)*d]) {
				m.lead[i] = l
				break
			}
		}
		m.oneCov = m.oneCov && m.lead[i] == 0
	}
	return m, nil
}

// Dim returns the dimension D of the data.
func (m *Mixture) Dim() int { return m.d }

// K returns the number of components.
func (m *Mixture) K() int { return len(m.Weights) }

// logComponents fills r with log w_k + log N_k(x) (k = 1..K) and returns their
// maximum. The log-determinant is taken as a sum of logs of products of 8
// variances (no overflow for variances in [1e-38, 1e38]), so a row costs D/8
// logarithms per component rather than D.
func (m *Mixture) logComponents(r, x []float64, c, s float64) float64 {
	d := m.d
	c2, s2 := c*c, s*s
	mx := math.Inf(-1)
	for k := range r {
		sd2, mu := m.sd2[k*d:(k+1)*d], m.mu[k*d:(k+1)*d]
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
		l := m.logW[k] - 0.5*(q+ld+float64(d)*log2Pi)
		r[k] = l
		if l > mx {
			mx = l
		}
	}
	return mx
}

const log2Pi = 1.8378770664093453 // log(2 pi)

// resp fills r with the responsibilities of row x and returns log p_t(x)
// (log-sum-exp, with one vmath.Exp call for the K exponentials). With one
// component it skips the density entirely unless the log-density is wanted.
func (m *Mixture) resp(r, x []float64, c, s float64, wantLogP bool) float64 {
	if len(r) == 1 && !wantLogP {
		r[0] = 1
		return 0
	}
	mx := m.logComponents(r, x, c, s)
	for k := range r {
		r[k] -= mx
	}
	vmath.Exp(r, r)
	var sum float64
	for _, v := range r {
		sum += v
	}
	for k := range r {
		r[k] /= sum
	}
	return mx + math.Log(sum)
}

func (m *Mixture) check(n int, lens ...int) {
	for _, l := range lens {
		if l < n*m.d {
			panic(fmt.Sprintf("score: batch of %d rows needs %d values, got a slice of %d", n, n*m.d, l))
		}
	}
}

// timeCache holds what a row's score needs at one time t, component by
// component (index k*D + j): c mu_k, 1/v_k, 1/(2 v_k), and
// log w_k - log det(2 pi v_k)/2. Samplers evaluate whole batches at one t,
// so ScoreTo fills it once per run of rows with equal t rather than once per
// row. It also holds ScoreTo's scratch for a block of rows.
type timeCache struct {
	t, c, s float64
	cmu     []float64 // K x D
	inv     []float64 // K x D
	hinv    []float64 // K x D
	lz      []float64 // K
	hld     []float64 // K: log det(2 pi v_k)/2 (components that lead a group)
	r       []float64 // K: log-densities, then responsibilities
	row     []float64 // D: a spare row

	// ScoreTo's block of up to blockRows rows (K > 1 only), structure of
	// arrays: l[k*nb+i] is row i's log-weight of component k, then its
	// weight e^(l - max); xs[j*nb+i] is x[i][j].
	l, xs      []float64
	mx, z, acc []float64    // per row: max_k l; sum_k weights; a score sum
	perRow     [4][]float64 // rowsScore, planarScore: values per row (c, s, 1/v, ...)
}

// Every method takes its scratch (a timeCache) from cachePool and gives it
// back, so the oracle does not allocate in sampler and solver loops.

var cachePool sync.Pool

// blockBudget bounds ScoreTo's block scratch, (K + D + 7) values a row, to
// 16384 values (128 KiB, well inside L2), and maxBlock bounds the rows of a
// block: with 128 rows the per-block work (calls, loop set-up) is amortised
// and gmm8's block (17 KiB) stays in L1. Measured on gmm8 with the Go block
// path that preceded package planar (go test -run '^$' -bench MixtureScore
// ./score with maxBlock changed): 64 rows were about 10% slower, 256 no
// faster; not remeasured since.
const (
	blockBudget = 1 << 14
	maxBlock    = 128
)

// blockRows returns the rows ScoreTo handles at once for K > 1.
func (m *Mixture) blockRows() int {
	return min(maxBlock, max(1, blockBudget/(len(m.Weights)+m.d+7)))
}

func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

func (m *Mixture) getCache() *timeCache {
	kd, k := len(m.mu), len(m.Weights)
	tc, _ := cachePool.Get().(*timeCache)
	if tc == nil {
		tc = &timeCache{}
	}
	tc.cmu, tc.inv, tc.hinv = grow(tc.cmu, kd), grow(tc.inv, kd), grow(tc.hinv, kd)
	tc.lz, tc.hld, tc.r, tc.row = grow(tc.lz, k), grow(tc.hld, k), grow(tc.r, k), grow(tc.row, m.d)
	if k > 1 {
		b := m.blockRows()
		tc.l, tc.xs = grow(tc.l, k*b), grow(tc.xs, m.d*b)
		tc.mx, tc.z, tc.acc = grow(tc.mx, b), grow(tc.z, b), grow(tc.acc, b)
		for i := range tc.perRow {
			tc.perRow[i] = grow(tc.perRow[i], b)
		}
	}
	tc.t = math.NaN()
	return tc
}

func (m *Mixture) fill(tc *timeCache, t float64) {
	c, s := m.SDE.Marginal(t)
	tc.t, tc.c, tc.s = t, c, s
	// The conversions round each product, so that v is the same whether or
	// not the compiler fuses a*b + c (Go does on amd64 with GOAMD64=v3).
	c2, s2 := float64(c*c), float64(s*s)
	d, K := m.d, len(m.Weights)
	for k := 0; k < K; k++ {
		cmu, mu := tc.cmu[k*d:(k+1)*d], m.mu[k*d:(k+1)*d]
		for j, v := range mu {
			cmu[j] = c * v
		}
		inv, hinv := tc.inv[k*d:(k+1)*d], tc.hinv[k*d:(k+1)*d]
		if l := m.lead[k]; l != k {
			// same variances as component l: same 1/v and log det (a
			// loop: copy's call costs more than these few values)
			for j, v := range tc.inv[l*d : (l+1)*d] {
				inv[j], hinv[j] = v, 0.5*v
			}
			tc.lz[k] = m.logW[k] - tc.hld[l]
			continue
		}
		prod, ld := 1.0, 0.0
		for j, sd2 := range m.sd2[k*d : (k+1)*d] {
			v := float64(c2*sd2) + s2
			inv[j] = 1 / v
			hinv[j] = 0.5 * inv[j] // = 0.5 / v exactly
			prod *= v
			if j&7 == 7 {
				ld += math.Log(prod)
				prod = 1
			}
		}
		tc.lz[k], tc.hld[k] = m.logW[k], 0
		if !m.oneCov {
			// With one covariance for all components, log det v and
			// D log(2 pi) are the same in every log-weight and cancel in
			// the responsibilities: the samplers' per-row times (adaptive
			// ODE) then cost no logarithm.
			ld += math.Log(prod)
			tc.hld[k] = 0.5 * (ld + float64(d)*log2Pi)
			tc.lz[k] -= tc.hld[k]
		}
	}
}

// ScoreTo writes grad_x log p_t(x) for each row of x at time t[i] into dst.
// Responsibilities below e^-40 of the largest are set to zero: they change
// the normalising sum (>= 1) and the score by less than rounding, so this is
// exact in double precision.
//
// Rows are taken in runs of equal t (one run for a sampler's batch), and a
// run in blocks of up to blockRows rows, each evaluated a stage at a time
// over all its rows (log-weights, maxima, one vmath.Exp call, sums, scores)
// so that the inner loops are long, contiguous and free of bounds checks.
// Every row goes through the same operations whatever block it is in, so a
// row's score does not depend on its neighbours.
func (m *Mixture) ScoreTo(dst, x, t []float64) {
	n, d := len(t), m.d
	m.check(n, len(x), len(dst))
	tc := m.getCache()
	blk := m.blockRows()
	K := len(m.Weights)
	for i := 0; i < n; {
		e := runEnd(t, i)
		if K > 1 && e-i < minRun {
			// Rows with times of their own (an adaptive ODE solver's):
			// take up to blk of them at once.
			b := e
			for b < n && b-i < blk {
				if eb := runEnd(t, b); eb-b < minRun {
					b = eb
				} else {
					break
				}
			}
			b = min(b, i+blk)
			m.rowsScore(dst[i*d:b*d], x[i*d:b*d], t[i:b], tc)
			i = b
			continue
		}
		if ti := t[i]; ti != tc.t {
			m.fill(tc, ti)
		}
		if K == 1 {
			gaussScore(dst[i*d:e*d], x[i*d:e*d], tc.cmu[:d], tc.inv[:d])
		} else {
			for b := i; b < e; b += blk {
				nb := min(blk, e-b)
				m.blockScore(dst[b*d:(b+nb)*d], x[b*d:(b+nb)*d], nb, tc)
			}
		}
		i = e
	}
	cachePool.Put(tc)
}

// minRun is the shortest run of rows with equal t that ScoreTo evaluates
// as a block at one time; shorter runs go through rowsScore.
const minRun = 8

// runEnd returns the end of the run of rows with t equal to t[i].
func runEnd(t []float64, i int) int {
	e := i + 1
	for e < len(t) && t[e] == t[i] {
		e++
	}
	return e
}

// rowsScore is ScoreTo for K > 1 on rows whose times may all differ (an
// adaptive ODE solver's rows, each at its own t), with the exps of the
// whole block in one vmath.Exp call. Each row goes through exactly the
// operations of blockScore at its own time, in the same
// order, so a row's score is the same bits whichever path it takes, and does
// not depend on its neighbours' times.
func (m *Mixture) rowsScore(dst, x, t []float64, tc *timeCache) {
	if m.d == 2 && m.oneCov {
		m.rowsScore2(dst, x, t, tc)
		return
	}
	d, K, nb := m.d, len(m.Weights), len(t)
	l, mx := tc.l[:K*nb], tc.mx[:nb]
	rc, rc2, rs2 := tc.perRow[0][:nb], tc.perRow[1][:nb], tc.perRow[2][:nb] // c, c^2, s^2
	// Pass 1: each row's constants (fill), log-weights and their maximum.
	for i, ti := range t {
		if ti != tc.t {
			m.fill(tc, ti)
		}
		rc[i], rc2[i], rs2[i] = tc.c, float64(tc.c*tc.c), float64(tc.s*tc.s)
		xi := x[i*d : (i+1)*d]
		top := math.Inf(-1)
		for k := 0; k < K; k++ {
			cmu, hinv := tc.cmu[k*d:(k+1)*d], tc.hinv[k*d:(k+1)*d]
			cmu, hinv = cmu[:len(xi)], hinv[:len(xi)]
			w := tc.lz[k]
			for j, v := range xi {
				e := v - cmu[j]
				w -= float64(float64(e*e) * hinv[j])
			}
			l[k*nb+i] = w
			top = max(top, w) // the value of blockScore's copy, then maxInto
		}
		mx[i] = top
	}
	weights(l, mx, nb, K)
	// Pass 2: sums and scores. 1/v is recomputed from the row's c^2 and s^2
	// as fill computes it (same bits); tc.inv is scratch from here on.
	inv := tc.inv[:K*d]
	for i := range t {
		c := rc[i]
		m.invAt(inv, rc2[i], rs2[i])
		xi, out := x[i*d:(i+1)*d], dst[i*d:(i+1)*d]
		z := l[i]
		for k := 1; k < K; k++ {
			z += l[k*nb+i]
		}
		iz := 1 / z
		for j, xj := range xi {
			s := l[i] * (float64(c*m.mu[j]) - xj) * inv[j]
			for k := 1; k < K; k++ {
				s += float64(float64(l[k*nb+i]*(float64(c*m.mu[k*d+j])-xj)) * inv[k*d+j])
			}
			out[j] = s * iz
		}
	}
	// tc stays valid for tc.t: invAt left in tc.inv what fill computed for
	// the last row, whose time is tc.t (the same operations, the same bits).
}

// rowsScore2 is rowsScore for D = 2 and one covariance (gmm8): the
// marginals of the rows' times in one batch, then the kernels of package
// planar (four rows a register) for 1/v and the log-weights with their
// maxima, and for the sums and the scores, with the exps between them as in
// every other path. blockScore sends gmm8 at one time through planarScore
// too, so the two paths give the same bits.
func (m *Mixture) rowsScore2(dst, x, t []float64, tc *timeCache) {
	nb := len(t)
	c, s := tc.perRow[0][:nb], tc.perRow[1][:nb]
	sde.MarginalsTo(m.SDE, c, s, t)
	m.planarScore(dst, x, c, s, tc)
}

// planarScore is the score of a block of rows of a planar one-covariance
// mixture (gmm8) whose row i has marginal scale c[i] and std s[i].
func (m *Mixture) planarScore(dst, x, c, s []float64, tc *timeCache) {
	K, nb := len(m.Weights), len(c)
	l, mx := tc.l[:K*nb], tc.mx[:nb]
	inv0, inv1 := tc.perRow[2][:nb], tc.perRow[3][:nb]
	planar.LogWeights(l, mx, inv0, inv1, c, s, x, m.mu, m.logW, nb, m.sd2[0], m.sd2[1])
	weights(l, mx, nb, K)
	planar.Scores(dst, l, c, inv0, inv1, x, m.mu, nb)
}

// invAt writes 1/v_kj = 1/(c^2 sd_kj^2 + s^2) into inv as fill does: for
// the first component of each group of equal variances, copied to the rest.
func (m *Mixture) invAt(inv []float64, c2, s2 float64) {
	d := m.d
	for k, lead := range m.lead {
		row := inv[k*d : (k+1)*d]
		if lead != k {
			for j, v := range inv[lead*d : (lead+1)*d] {
				row[j] = v
			}
			continue
		}
		for j, sd2 := range m.sd2[k*d : (k+1)*d] {
			row[j] = 1 / (float64(c2*sd2) + s2)
		}
	}
}

// gaussScore writes (c mu - x) / v for the rows of x (one component), a
// row at a time through vmath.SubMul (AVX2: about 0.2 ns a coordinate, the
// unrolled Go loop 0.45: go test -run '^$' -bench SubMul ./internal/vmath).
func gaussScore(dst, x, cmu, inv []float64) {
	d := len(cmu)
	for o := 0; o+d <= len(x); o += d {
		vmath.SubMul(dst[o:o+d], cmu, x[o:o+d], inv)
	}
}

// blockScore is ScoreTo for K > 1 on nb rows at one time (tc filled).
//
// Each stage is a loop over the block's rows in its own small function,
// kept out of line so that the registers of each loop are allocated on
// their own. The arithmetic of each row is that of the row-by-row formula,
// in the same order, except for exp (vmath.Exp, within 1 ulp of math.Exp)
// and the final division, done as a product with 1/z. Here and in rowsScore
// every product that meets an addition is converted to float64, which keeps
// the compiler from fusing the two into a multiply-add (it would with
// GOAMD64=v3): the one-time and per-row paths then give the same bits on
// every build.
func (m *Mixture) blockScore(dst, x []float64, nb int, tc *timeCache) {
	if m.d == 2 && m.oneCov {
		// gmm8: the kernels of rowsScore2, every row at the block's time.
		c, s := tc.perRow[0][:nb], tc.perRow[1][:nb]
		for i := range c {
			c[i], s[i] = tc.c, tc.s
		}
		m.planarScore(dst, x, c, s, tc)
		return
	}
	d, K := m.d, len(m.Weights)
	l, xs := tc.l[:K*nb], tc.xs[:d*nb]
	mx, z := tc.mx[:nb], tc.z[:nb]
	for j := 0; j < d; j++ {
		gather(xs[j*nb:(j+1)*nb], x[j:], d)
	}
	// Log-weights l_k = lz_k - sum_j (x_j - c mu_kj)^2 / (2 v_kj), summed
	// over j in order, and their maximum over k.
	for k := 0; k < K; k++ {
		lk := l[k*nb : (k+1)*nb]
		cmu, hinv := tc.cmu[k*d:(k+1)*d], tc.hinv[k*d:(k+1)*d]
		quadFirst(lk, xs[:nb], tc.lz[k], cmu[0], hinv[0])
		for j := 1; j < d; j++ {
			quadNext(lk, xs[j*nb:(j+1)*nb], cmu[j], hinv[j])
		}
		if k == 0 {
			copy(mx, lk)
		} else {
			maxInto(mx, lk)
		}
	}
	weights(l, mx, nb, K)
	// z = sum_k r_k, then score_j = sum_k r_k (c mu_kj - x_j) / v_kj / z.
	copy(z, l[:nb])
	for k := 1; k < K; k++ {
		addInto(z, l[k*nb:(k+1)*nb])
	}
	invert(z)
	acc := tc.acc[:nb]
	for j := 0; j < d; j++ {
		xj := xs[j*nb : (j+1)*nb]
		scoreFirst(acc, l[:nb], xj, tc.cmu[j], tc.inv[j])
		for k := 1; k < K; k++ {
			scoreNext(acc, l[k*nb:(k+1)*nb], xj, tc.cmu[k*d+j], tc.inv[k*d+j])
		}
		scatter(dst[j:], acc, z, d)
	}
}

// gather sets dst[i] = src[i*stride].
//
//go:noinline
func gather(dst, src []float64, stride int) {
	if len(dst) == 0 {
		return
	}
	src = src[:(len(dst)-1)*stride+1]
	for i := range dst {
		dst[i] = src[i*stride]
	}
}

// scatter sets dst[i*stride] = a[i] * b[i].
//
//go:noinline
func scatter(dst, a, b []float64, stride int) {
	if len(a) == 0 {
		return
	}
	dst = dst[:(len(a)-1)*stride+1]
	b = b[:len(a)]
	for i, v := range a {
		dst[i*stride] = v * b[i]
	}
}

// quadFirst sets l[i] = lz - (x[i] - c)^2 h.
//
//go:noinline
func quadFirst(l, x []float64, lz, c, h float64) {
	x = x[:len(l)]
	for i, v := range x {
		e := v - c
		l[i] = lz - float64(float64(e*e)*h)
	}
}

// quadNext sets l[i] -= (x[i] - c)^2 h.
//
//go:noinline
func quadNext(l, x []float64, c, h float64) {
	x = x[:len(l)]
	for i, v := range x {
		e := v - c
		l[i] -= float64(float64(e*e) * h)
	}
}

// maxInto sets mx[i] = max(mx[i], l[i]) (NaN if either is NaN).
//
//go:noinline
func maxInto(mx, l []float64) {
	l = l[:len(mx)]
	for i, v := range l {
		mx[i] = max(mx[i], v)
	}
}

// weights replaces the K x nb log-weights l by e^(l - mx), exactly 0 where
// l - mx <= -40 (or is NaN; vmath.ShiftCut marks them -Inf and
// vmath.Exp(-Inf) = 0), with one vmath.Exp call for the block.
func weights(l, mx []float64, nb, K int) {
	for k := 0; k < K; k++ {
		vmath.ShiftCut(l[k*nb:(k+1)*nb], mx, -40)
	}
	vmath.Exp(l, l)
}

// addInto sets z[i] += r[i].
//
//go:noinline
func addInto(z, r []float64) {
	r = r[:len(z)]
	for i, v := range r {
		z[i] += v
	}
}

// invert sets z[i] = 1 / z[i].
//
//go:noinline
func invert(z []float64) {
	for i, v := range z {
		z[i] = 1 / v
	}
}

// scoreFirst sets acc[i] = r[i] (c - x[i]) iv.
//
//go:noinline
func scoreFirst(acc, r, x []float64, c, iv float64) {
	r, x = r[:len(acc)], x[:len(acc)]
	for i, v := range x {
		acc[i] = r[i] * (c - v) * iv
	}
}

// scoreNext sets acc[i] += r[i] (c - x[i]) iv.
//
//go:noinline
func scoreNext(acc, r, x []float64, c, iv float64) {
	r, x = r[:len(acc)], x[:len(acc)]
	for i, v := range x {
		acc[i] += float64(float64(r[i]*(c-v)) * iv)
	}
}

// LogProb returns log p_t(x) for one row x.
func (m *Mixture) LogProb(x []float64, t float64) float64 {
	m.check(1, len(x))
	c, s := m.SDE.Marginal(t)
	sc := m.getCache()
	defer cachePool.Put(sc)
	return m.resp(sc.r, x[:m.d], c, s, true)
}

// LogProbTo writes log p_t(x) of each row into dst (len(t) values).
func (m *Mixture) LogProbTo(dst, x, t []float64) {
	m.check(len(t), len(x))
	sc := m.getCache()
	defer cachePool.Put(sc)
	for i, ti := range t {
		c, s := m.SDE.Marginal(ti)
		dst[i] = m.resp(sc.r, x[i*m.d:(i+1)*m.d], c, s, true)
	}
}

// TraceJacobianTo writes tr(d score/dx) of each row into dst (len(t) values).
func (m *Mixture) TraceJacobianTo(dst, x, t []float64) {
	n, d := len(t), m.d
	m.check(n, len(x))
	sc := m.getCache()
	defer cachePool.Put(sc)
	for i, ti := range t {
		c, s := m.SDE.Marginal(ti)
		c2, s2 := c*c, s*s
		xi := x[i*d : (i+1)*d]
		m.resp(sc.r, xi, c, s, false)
		var tr, sc2 float64
		for j := 0; j < d; j++ {
			var sj float64
			for k, rk := range sc.r {
				iv := 1 / (c2*m.sd2[k*d+j] + s2)
				a := (c*m.mu[k*d+j] - xi[j]) * iv
				sj += rk * a
				tr += rk * (a*a - iv)
			}
			sc2 += sj * sj
		}
		dst[i] = tr - sc2
	}
}

// VJPTo writes v^T (d score/dx) for each row into dst (the Jacobian is
// symmetric, so this is also J v). v, x and dst hold len(t) rows.
func (m *Mixture) VJPTo(dst, v, x, t []float64) {
	m.ScoreVJPTo(nil, dst, v, x, t)
}

// ScoreVJPTo writes the score into sdst (unless sdst is nil) and v^T (d
// score/dx) into dst, sharing one computation of the responsibilities per row.
func (m *Mixture) ScoreVJPTo(sdst, dst, v, x, t []float64) {
	n, d := len(t), m.d
	m.check(n, len(x), len(v), len(dst))
	if sdst != nil {
		m.check(n, len(sdst))
	}
	sc := m.getCache()
	defer cachePool.Put(sc)
	tmp := sc.row // the score row when the caller does not want it
	for i, ti := range t {
		c, s := m.SDE.Marginal(ti)
		c2, s2 := c*c, s*s
		xi, vi, out := x[i*d:(i+1)*d], v[i*d:(i+1)*d], dst[i*d:(i+1)*d]
		if len(sc.r) == 1 {
			// J = -diag(1/v): no responsibilities, no logarithms; the
			// divisions four at a time (vmath.GaussVJP, the Go loop's bits).
			so := tmp
			if sdst != nil {
				so = sdst[i*d : (i+1)*d]
			}
			vmath.GaussVJP(out, so, vi, xi, m.sd2[:d], m.mu[:d], c, float64(c2), float64(s2))
			continue
		}
		m.resp(sc.r, xi, c, s, false)
		// J = sum_k r_k (a_k a_k^T - diag(1/v_k)) - score score^T; the score
		// accumulates in sdst's row or in tmp.
		so := tmp
		if sdst != nil {
			so = sdst[i*d : (i+1)*d]
		}
		clear(so)
		clear(out)
		for k, rk := range sc.r {
			if rk == 0 {
				continue
			}
			sd2, mu := m.sd2[k*d:(k+1)*d], m.mu[k*d:(k+1)*d]
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

// SampleData draws one row from p_0 (the mixture itself, at t = 0 without the
// SDE's smoothing) into dst, and returns the component it came from.
func (m *Mixture) SampleData(dst []float64, r *rand.Rand) int {
	u := r.Float64()
	k := len(m.Weights) - 1
	for i, w := range m.Weights {
		if u < w {
			k = i
			break
		}
		u -= w
	}
	for j := 0; j < m.d; j++ {
		dst[j] = m.Means[k][j] + m.Stds[k][j]*r.NormFloat64()
	}
	return k
}

// Component returns the most probable component of row x under p_t.
func (m *Mixture) Component(x []float64, t float64) int {
	sc := m.getCache()
	defer cachePool.Put(sc)
	c, s := m.SDE.Marginal(t)
	m.resp(sc.r, x[:m.d], c, s, true)
	best := 0
	for k, rk := range sc.r {
		if rk > sc.r[best] {
			best = k
		}
	}
	return best
}

// DataMoments returns the exact mean and (diagonal of the) covariance of p_0.
func (m *Mixture) DataMoments() (mean, variance []float64) {
	mean = make([]float64, m.d)
	second := make([]float64, m.d)
	for k, w := range m.Weights {
		for j := 0; j < m.d; j++ {
			mu, sd := m.Means[k][j], m.Stds[k][j]
			mean[j] += w * mu
			second[j] += w * (mu*mu + sd*sd)
		}
	}
	variance = make([]float64, m.d)
	for j := range variance {
		variance[j] = second[j] - mean[j]*mean[j]
	}
	return mean, variance
}

// GMM8 returns the gmm8 reference problem under s.
func GMM8(s sde.SDE) *Mixture {
	w := make([]float64, 8)
	mu := make([][]float64, 8)
	sd := make([][]float64, 8)
	for k := range w {
		a := 2 * math.Pi * float64(k) / 8
		w[k] = 1
		mu[k] = []float64{4 * math.Cos(a), 4 * math.Sin(a)}
		sd[k] = []float64{0.5, 0.5}
	}
	m, err := NewMixture(s, w, mu, sd)
	if err != nil {
		panic(err)
	}
	return m
}

// Gauss returns the gauss:D reference problem under s: one diagonal Gaussian
// with mean_i = 0.5 cos(i) and std_i = 0.2 + 0.6 i/(D-1) (std 0.2 when D = 1).
func Gauss(s sde.SDE, d int) *Mixture {
	if d < 1 {
		panic("score: gauss dimension must be >= 1")
	}
	mu := make([]float64, d)
	sd := make([]float64, d)
	for i := range mu {
		mu[i] = 0.5 * math.Cos(float64(i))
		sd[i] = 0.2
		if d > 1 {
			sd[i] += 0.6 * float64(i) / float64(d-1)
		}
	}
	m, err := NewMixture(s, []float64{1}, [][]float64{mu}, [][]float64{sd})
	if err != nil {
		panic(err)
	}
	return m
}

// Problem returns a built-in exact problem by name: "gmm8" or "gauss:D".
func Problem(name string, s sde.SDE) (*Mixture, error) {
	if name == "gmm8" {
		return GMM8(s), nil
	}
	if rest, ok := strings.CutPrefix(name, "gauss:"); ok {
		d, err := strconv.Atoi(rest)
		if err != nil || d < 1 || d > 1<<20 {
			return nil, fmt.Errorf("score: problem %q: the dimension after gauss: must be a whole number from 1 to 1048576", name)
		}
		return Gauss(s, d), nil
	}
	return nil, fmt.Errorf("score: unknown problem %q; use gmm8 or gauss:D (for example gauss:64)", name)
}
