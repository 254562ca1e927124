package gemm

import (
	"math"
	"sync"
	"unsafe"
)

// float is the element type of a product.
type float interface{ ~float32 | ~float64 }

// Micro-tile shapes: the AVX2 kernels hold an MR x NR block of C in 12 ymm
// accumulators (two vectors per row), and so does the Go fallback.
const (
	dMR, dNR = 6, 8   // float64: 6 rows x 2 ymm of 4
	sMR, sNR = 6, 16  // float32: 6 rows x 2 ymm of 8
	zMR, zNR = 12, 32 // float32 with AVX-512: 12 rows x 2 zmm of 16
)

// Cache budgets (bytes) for a packed block of op(A) (mc x k, meant for L2)
// and of op(B) (k x nc, meant for L2/L3). k is never blocked, so the blocks
// shrink as k grows, down to one micro-panel each.
const (
	aBlockBytes = 256 << 10
	bBlockBytes = 1 << 20
)

// kernel computes one MR x NR tile: acc[i][j] = sum over p in increasing
// order of a[p*MR+i]*b[p*NR+j], one FMA chain per element starting from +0,
// then c[i*ldc+j] = alpha*acc (loadC false) or alpha*acc + beta*c[i*ldc+j]
// (loadC true), each product rounded before the sum.
type kernel[T float] func(k int, a, b, c []T, ldc int, alpha, beta T, loadC bool)

// useAsm selects the assembly kernels; tests clear it to run the Go ones.
// use512 selects, among them, the AVX-512 float32 kernel (which has twice
// the AVX2 kernel's throughput on cores with full-width AVX-512 units).
var (
	useAsm = haveAsm
	use512 = have512
)

// Kernel names the micro-kernels this machine runs: "avx2" (AVX2 + FMA
// assembly) or "go" (the portable loops; the same bits).
func Kernel() string {
	if useAsm {
		return "avx2"
	}
	return "go"
}

// Kernel32 names the float32 micro-kernel: "avx512" (12 x 32 tiles),
// "avx2" (6 x 16) or "go". All give the same bits.
func Kernel32() string {
	if useAsm && use512 {
		return "avx512"
	}
	return Kernel()
}

// work is the packing scratch of one call, recycled through a free list.
type work[T float] struct {
	a, b []T
	tile []T
}

// freeList keeps the scratch of finished calls for the next ones. Unlike a
// sync.Pool, whose per-processor slots cannot be taken by a goroutine on
// another processor and which a garbage collection empties, it holds on to
// every scratch it was given: once as many calls have run at once as ever
// will (the caller's worker count), no call allocates again. The lock is
// taken twice a call, nothing next to a product of any size.
type freeList[T float] struct {
	mu   sync.Mutex
	free []*work[T]
}

func (f *freeList[T]) get() *work[T] {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.free); n > 0 {
		w := f.free[n-1]
		f.free = f.free[:n-1]
		return w
	}
	return new(work[T])
}

func (f *freeList[T]) put(w *work[T]) {
	f.mu.Lock()
	f.free = append(f.free, w)
	f.mu.Unlock()
}

var (
	pool64 freeList[float64]
	pool32 freeList[float32]
)

// Dgemm computes C = alpha op(A) op(B) + beta C for row-major float64
// matrices, with op(A) m x k and op(B) k x n; op(X) is X, or its transpose
// when transX is set (then A is stored k x m, B n x k). When beta is 0, C is
// not read. It panics, naming the argument, on bad sizes or short slices.
func Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	gemm(&pool64, dkernGo, dkernAsm, dMR, dNR, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Sgemm is Dgemm for float32; products and sums are rounded to float32
// (single-precision FMA chains).
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if useAsm && use512 {
		gemm(&pool32, skernGo, skernAsm512, zMR, zNR, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gemm(&pool32, skernGo, skernAsm, sMR, sNR, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemm is Dgemm and Sgemm: the checks, the trivial cases, then drive with
// the precision's micro-kernel (MR x NR) and scratch.
func gemm[T float](pool *freeList[T], goKern, asmKern kernel[T], MR, NR int, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if !check(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc) {
		return
	}
	if k == 0 || alpha == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	kern := goKern
	if useAsm {
		kern = asmKern
	}
	w := pool.get()
	drive(w, kern, MR, NR, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	pool.put(w)
}

// check validates the arguments as BLAS does and reports whether there is
// anything to compute.
func check(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) bool {
	if m < 0 {
		panic("gemm: m < 0")
	}
	if n < 0 {
		panic("gemm: n < 0")
	}
	if k < 0 {
		panic("gemm: k < 0")
	}
	rowA, colA := m, k
	if transA {
		rowA, colA = k, m
	}
	rowB, colB := k, n
	if transB {
		rowB, colB = n, k
	}
	if lda < max(1, colA) {
		panic("gemm: bad lda")
	}
	if ldb < max(1, colB) {
		panic("gemm: bad ldb")
	}
	if ldc < max(1, n) {
		panic("gemm: bad ldc")
	}
	if m == 0 || n == 0 {
		return false
	}
	if la < lda*(rowA-1)+colA {
		panic("gemm: insufficient length of a")
	}
	if lb < ldb*(rowB-1)+colB {
		panic("gemm: insufficient length of b")
	}
	if lc < ldc*(m-1)+n {
		panic("gemm: insufficient length of c")
	}
	return true
}

// scale sets C = beta C (C = 0 when beta is 0), the whole product when
// alpha or k is 0; A and B are not read then, as in BLAS.
func scale[T float](m, n int, beta T, c []T, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// grow returns s resized to n, reallocated only when too small.
func grow[T float](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// drive is the GotoBLAS/BLIS loop nest (Goto and van de Geijn 2008) without
// k blocking: for each block of nc columns of op(B), packed into k x NR
// micro-panels, and each block of mc rows of op(A), packed into MR x k
// micro-panels, the kernel runs over the NR-column panels (outer, so a B
// micro-panel stays in L1) and the MR-row panels (inner). Edge tiles are
// computed in full from zero-padded panels into a scratch tile, and only
// their valid part is written to C.
func drive[T float](w *work[T], kern kernel[T], MR, NR int, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	var zero T
	sz := int(unsafe.Sizeof(zero))
	mc := max(MR, aBlockBytes/(sz*k)/MR*MR)
	mc = min(mc, (m+MR-1)/MR*MR)
	nc := max(NR, bBlockBytes/(sz*k)/NR*NR)
	nc = min(nc, (n+NR-1)/NR*NR)
	w.a = grow(w.a, mc*k)
	w.b = grow(w.b, nc*k)
	w.tile = grow(w.tile, MR*NR)
	tile := w.tile
	loadC := beta != 0
	for jc := 0; jc < n; jc += nc {
		ncur := min(nc, n-jc)
		packB(w.b, transB, b, ldb, k, jc, ncur, NR)
		for ic := 0; ic < m; ic += mc {
			mcur := min(mc, m-ic)
			packA(w.a, transA, a, lda, k, ic, mcur, MR)
			for jr := 0; jr < ncur; jr += NR {
				nr := min(NR, ncur-jr)
				bp := w.b[jr*k : (jr+NR)*k]
				for ir := 0; ir < mcur; ir += MR {
					mr := min(MR, mcur-ir)
					ap := w.a[ir*k : (ir+MR)*k]
					ci := (ic+ir)*ldc + jc + jr
					if mr == MR && nr == NR {
						kern(k, ap, bp, c[ci:ci+(MR-1)*ldc+NR], ldc, alpha, beta, loadC)
						continue
					}
					// Edge tile: raw sums (alpha 1 is exact), then the same
					// update as the kernel's on the valid part only.
					kern(k, ap, bp, tile, NR, 1, 0, false)
					for i := 0; i < mr; i++ {
						cr := c[ci+i*ldc : ci+i*ldc+nr]
						tr := tile[i*NR : i*NR+nr]
						if loadC {
							for j, t := range tr {
								cr[j] = T(alpha*t) + T(beta*cr[j])
							}
						} else {
							for j, t := range tr {
								cr[j] = T(alpha * t)
							}
						}
					}
				}
			}
		}
	}
}

// packA packs rows i0..i0+mc of op(A) into MR x k micro-panels, panel q at
// dst[q*MR*k:], element (r, p) at p*MR + r, rows past mc zero.
func packA[T float](dst []T, trans bool, a []T, lda, k, i0, mc, MR int) {
	for ir := 0; ir < mc; ir += MR {
		mr := min(MR, mc-ir)
		d := dst[ir*k : (ir+MR)*k]
		if mr == 6 && MR == 6 {
			packA6(d, trans, a, lda, k, i0+ir)
			continue
		}
		if mr == 12 && MR == 12 {
			packA12(d, trans, a, lda, k, i0+ir)
			continue
		}
		// op(A)[i][p] is a[p*lda+i] (trans: rows of the panel run across
		// a's rows) or a[i*lda+p].
		packPanels(d, trans, a, lda, k, i0+ir, mr, MR)
	}
}

// packA6 packs a full 6-row panel, rows i..i+5 of op(A).
func packA6[T float](d []T, trans bool, a []T, lda, k, i int) {
	d = d[:6*k]
	if trans {
		for p := 0; p < k; p++ {
			s := a[p*lda+i : p*lda+i+6 : p*lda+i+6]
			dp := d[p*6 : p*6+6 : p*6+6]
			dp[0], dp[1], dp[2], dp[3], dp[4], dp[5] = s[0], s[1], s[2], s[3], s[4], s[5]
		}
		return
	}
	r0 := a[i*lda : i*lda+k]
	r1 := a[(i+1)*lda : (i+1)*lda+k]
	r2 := a[(i+2)*lda : (i+2)*lda+k]
	r3 := a[(i+3)*lda : (i+3)*lda+k]
	r4 := a[(i+4)*lda : (i+4)*lda+k]
	r5 := a[(i+5)*lda : (i+5)*lda+k]
	for p := range r0 {
		dp := d[p*6 : p*6+6 : p*6+6]
		dp[0], dp[1], dp[2], dp[3], dp[4], dp[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
	}
}

// packA12 packs a full 12-row panel, rows i..i+11 of op(A) (the float32
// AVX-512 kernel's panels): twelve row streams read in step and each panel
// row written whole, where packPanels' generic loop writes one value every
// 12 (packing was 35 % of a network likelihood's time, two thirds of it
// packA: the profile and its command are in docs/bench.md, "Networks").
func packA12[T float](d []T, trans bool, a []T, lda, k, i int) {
	d = d[:12*k]
	if trans {
		for p := 0; p < k; p++ {
			copy(d[p*12:p*12+12], a[p*lda+i:p*lda+i+12])
		}
		return
	}
	r0, r1, r2, r3 := a[i*lda:i*lda+k], a[(i+1)*lda:(i+1)*lda+k], a[(i+2)*lda:(i+2)*lda+k], a[(i+3)*lda:(i+3)*lda+k]
	r4, r5, r6, r7 := a[(i+4)*lda:(i+4)*lda+k], a[(i+5)*lda:(i+5)*lda+k], a[(i+6)*lda:(i+6)*lda+k], a[(i+7)*lda:(i+7)*lda+k]
	r8, r9, r10, r11 := a[(i+8)*lda:(i+8)*lda+k], a[(i+9)*lda:(i+9)*lda+k], a[(i+10)*lda:(i+10)*lda+k], a[(i+11)*lda:(i+11)*lda+k]
	// the same length as r0, so the compiler drops the bounds checks below
	r1, r2, r3, r4, r5 = r1[:len(r0)], r2[:len(r0)], r3[:len(r0)], r4[:len(r0)], r5[:len(r0)]
	r6, r7, r8, r9, r10, r11 = r6[:len(r0)], r7[:len(r0)], r8[:len(r0)], r9[:len(r0)], r10[:len(r0)], r11[:len(r0)]
	for p, v := range r0 {
		dp := d[p*12 : p*12+12 : p*12+12]
		dp[0], dp[1], dp[2], dp[3] = v, r1[p], r2[p], r3[p]
		dp[4], dp[5], dp[6], dp[7] = r4[p], r5[p], r6[p], r7[p]
		dp[8], dp[9], dp[10], dp[11] = r8[p], r9[p], r10[p], r11[p]
	}
}

// packB packs columns j0..j0+nc of op(B) into k x NR micro-panels, panel q
// at dst[q*NR*k:], element (p, j) at p*NR + j, columns past nc zero.
// op(B)[p][j] is b[p*ldb+j] (not trans: the panel's rows run across b's
// rows) or b[j*ldb+p].
func packB[T float](dst []T, trans bool, b []T, ldb, k, j0, nc, NR int) {
	packPanels(dst, !trans, b, ldb, k, j0, nc, NR)
}

// packPanels packs lines j0..j0+n of a matrix (rows of op(A) or columns of
// op(B)) into k x W micro-panels, panel q at dst[q*W*k:], element p of line
// j at p*W + j, lines past n zero. Element p of line j is src[p*ld+j] when
// across (the lines run across src's rows, so a panel row is a contiguous
// copy) and src[j*ld+p] otherwise.
func packPanels[T float](dst []T, across bool, src []T, ld, k, j0, n, W int) {
	for jr := 0; jr < n; jr += W {
		nr := min(W, n-jr)
		d := dst[jr*k : (jr+W)*k]
		if across {
			off := j0 + jr
			if nr == W {
				for p := 0; p < k; p++ {
					copy(d[p*W:p*W+W], src[p*ld+off:p*ld+off+W])
				}
				continue
			}
			for p := 0; p < k; p++ {
				s := src[p*ld+off : p*ld+off+nr]
				dp := d[p*W : p*W+W]
				for j, v := range s {
					dp[j] = v
				}
				for j := nr; j < W; j++ {
					dp[j] = 0
				}
			}
			continue
		}
		for j := 0; j < nr; j++ {
			line := src[(j0+jr+j)*ld : (j0+jr+j)*ld+k]
			for p, v := range line {
				d[p*W+j] = v
			}
		}
		for j := nr; j < W; j++ {
			for p := 0; p < k; p++ {
				d[p*W+j] = 0
			}
		}
	}
}

// dkernGo is the Go float64 kernel: the assembly one's arithmetic, with
// math.FMA for VFMADD231PD.
func dkernGo(k int, a, b, c []float64, ldc int, alpha, beta float64, loadC bool) {
	var acc [dMR * dNR]float64
	a = a[:k*dMR]
	b = b[:k*dNR]
	for p := 0; p < k; p++ {
		ap := a[p*dMR : p*dMR+dMR]
		bp := b[p*dNR : p*dNR+dNR]
		for i, ai := range ap {
			row := acc[i*dNR : i*dNR+dNR]
			for j, bj := range bp {
				row[j] = math.FMA(ai, bj, row[j])
			}
		}
	}
	for i := 0; i < dMR; i++ {
		cr := c[i*ldc : i*ldc+dNR]
		row := acc[i*dNR : i*dNR+dNR]
		if loadC {
			for j, t := range row {
				cr[j] = float64(alpha*t) + float64(beta*cr[j])
			}
		} else {
			for j, t := range row {
				cr[j] = float64(alpha * t)
			}
		}
	}
}

// skernGo is the Go float32 kernel: the assembly one's arithmetic, with
// fma32 for VFMADD231PS.
func skernGo(k int, a, b, c []float32, ldc int, alpha, beta float32, loadC bool) {
	var acc [sMR * sNR]float32
	a = a[:k*sMR]
	b = b[:k*sNR]
	for p := 0; p < k; p++ {
		ap := a[p*sMR : p*sMR+sMR]
		bp := b[p*sNR : p*sNR+sNR]
		for i, ai := range ap {
			row := acc[i*sNR : i*sNR+sNR]
			for j, bj := range bp {
				row[j] = fma32(ai, bj, row[j])
			}
		}
	}
	for i := 0; i < sMR; i++ {
		cr := c[i*ldc : i*ldc+sNR]
		row := acc[i*sNR : i*sNR+sNR]
		if loadC {
			for j, t := range row {
				cr[j] = float32(alpha*t) + float32(beta*cr[j])
			}
		} else {
			for j, t := range row {
				cr[j] = float32(alpha * t)
			}
		}
	}
}

// fma32 returns x*y + z rounded once to float32, as VFMADD231PS does.
//
// float32(math.FMA(float64(x), float64(y), float64(z))) is NOT that: x*y is
// exact in float64, but the sum is rounded to 53 bits and then to 24, and
// the first rounding can land exactly on a float32 midpoint (for example
// x*y = 1 + 2^-47, z = 2^24 gives 2^24 instead of 2^24 + 2; see the tests).
// Instead the sum is computed exactly as s + e (TwoSum, exact since x*y and
// z are float64 values far from overflow), s is rounded to odd with e as the
// sticky bit, and the round-to-odd 53-bit value rounds to nearest float32
// correctly because 53 >= 24 + 2 (Boldo and Melquiond 2008, "Emulation of a
// FMA and correctly rounded sums: proved algorithms using rounding to odd").
func fma32(x, y, z float32) float32 {
	p := float64(float64(x) * float64(y)) // exact: 24+24 bits <= 53
	zz := float64(z)
	s := p + zz
	if s-s != 0 { // Inf or NaN: no rounding subtleties
		return float32(s)
	}
	bv := s - p
	e := (p - (s - bv)) + (zz - bv)
	if e != 0 {
		u := math.Float64bits(s)
		if u&1 == 0 {
			// s is not 0 here (a sum rounding to 0 is exact). Step to the
			// odd neighbour on the side of the exact value.
			if (e > 0) == (s > 0) {
				u++
			} else {
				u--
			}
			s = math.Float64frombits(u)
		}
	}
	return float32(s)
}
