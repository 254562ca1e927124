package model

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/sdekit/sdekit/internal/gemm"
)

// float is the element type of a network's internal arithmetic.
type float interface{ ~float32 | ~float64 }

// kernels holds the precision-specific pieces of the network: the products
// (internal/gemm, or a BLAS through gonum's interface; see ownGemm) and the element-wise SiLU kernels (AVX2
// assembly on amd64, Go elsewhere and for the remainder of a row). The scalar
// float32 sigmoid rounds the float64 one: math32.Exp was measured at up to
// 1e-5 relative error (165 ulp) near its overflow. The implementations are
// zero-size types, so the generic core calls them without allocating.
type kernels[T float] interface {
	// gemm computes C = op(A) op(B) + beta C with op(A) m x k, op(B) k x n,
	// all row-major.
	gemm(transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)
	// native reports whether the BLAS is gonum's pure-Go implementation.
	native() bool
	// gemv computes y = op(A) x + beta y for the m x n row-major A.
	gemv(transA bool, m, n int, a []T, lda int, x []T, beta T, y []T)
	// biasSiLU sets, for the n x w row-major z: z += bias (per column),
	// s = sigmoid(z), a = z s.
	biasSiLU(z, s, a, bias []T, n, w int)
	// siluGrad multiplies d element-wise by SiLU'(z) = s (1 + z (1 - s)).
	siluGrad(d, z, s []T)
}

// Trainable.SetWorkers spreads a product over goroutines in tiles of C of at
// most nativeTileRows x nativeTileCols when the products run on
// internal/gemm or on gonum's BLAS, both single-threaded per call (a netlib
// BLAS runs its own threads). Every element of C is one ordered sum in
// internal/gemm, so there the tiling does not change results.
const (
	nativeTileRows = 64
	nativeTileCols = 192
)

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

type k64 struct{}

// ownGemm reports whether the matrix products run on internal/gemm: where
// the BLAS is gonum's pure-Go one and internal/gemm has its assembly
// kernels. Its portable kernels keep the same bits with math.FMA and an
// emulated float32 FMA, which made a training step 3.7x (float64) and 17x
// (float32) slower than with gonum's loops (BenchmarkTrainStep at width 64
// with -tags purego, measured while internal/gemm's Go kernels ran there,
// before this function existed: 41 and 12 against 151 and 212 steps/s; the
// kernels alone: go test -tags purego -run '^$' -bench . ./internal/gemm,
// cases gemm and gonumTiled), so without AVX2 and FMA gonum keeps the
// products.
func ownGemm(native bool) bool { return native && gemm.Kernel() == "avx2" }

// gemm runs on internal/gemm where ownGemm allows, else on the installed
// BLAS (gonum's, or netlib's under the netlib build tag).
func (k64) gemm(transA, transB bool, m, n, k int, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if ownGemm((k64{}).native()) {
		gemm.Dgemm(transA, transB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
		return
	}
	impl := blas64.Implementation()
	ta, tb := trans(transA), trans(transB)
	if !(k64{}).native() {
		impl.Dgemm(ta, tb, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
		return
	}
	serialTiles(transA, transB, m, n, lda, ldb, ldc, func(mt, nt, aOff, bOff, cOff int) {
		impl.Dgemm(ta, tb, mt, nt, k, 1, a[aOff:], lda, b[bOff:], ldb, beta, c[cOff:], ldc)
	})
}

// serialTiles calls f for the tiles of C of at most nativeTileRows x
// nativeTileCols, with the offsets of the tile's first row of op(A), first
// column of op(B) and first element of C. Called tile by tile, gonum's
// native gemm stays on its serial path: it goes parallel (spawning
// goroutines and allocating on every call) once a product covers 4 or more
// 64 x 64 blocks of C.
func serialTiles(transA, transB bool, m, n, lda, ldb, ldc int, f func(mt, nt, aOff, bOff, cOff int)) {
	for i0 := 0; i0 < m; i0 += nativeTileRows {
		mt := min(nativeTileRows, m-i0)
		aOff := i0 * lda
		if transA {
			aOff = i0
		}
		for j0 := 0; j0 < n; j0 += nativeTileCols {
			nt := min(nativeTileCols, n-j0)
			bOff := j0
			if transB {
				bOff = j0 * ldb
			}
			f(mt, nt, aOff, bOff, i0*ldc+j0)
		}
	}
}

func (k64) native() bool {
	_, ok := blas64.Implementation().(gonum.Implementation)
	return ok
}

func (k64) gemv(transA bool, m, n int, a []float64, lda int, x []float64, beta float64, y []float64) {
	blas64.Implementation().Dgemv(trans(transA), m, n, 1, a, lda, x, 1, beta, y, 1)
}

func (k64) biasSiLU(z, s, a, bias []float64, n, w int) {
	bias = bias[:w]
	m := 0
	if useAVX2 {
		m = w &^ 3
	}
	for i := 0; i < n; i++ {
		zr := z[i*w : (i+1)*w]
		sr := s[i*w : (i+1)*w]
		ar := a[i*w : (i+1)*w]
		if m > 0 {
			siluRow64AVX2(&zr[0], &sr[0], &ar[0], &bias[0], m)
		}
		for j := m; j < w; j++ {
			v := zr[j] + bias[j]
			e := 1 / (1 + math.Exp(-v))
			zr[j] = v
			sr[j] = e
			ar[j] = v * e
		}
	}
}

func (k64) siluGrad(d, z, s []float64) {
	z = z[:len(d)]
	s = s[:len(d)]
	m := 0
	if useAVX2 {
		m = len(d) &^ 3
		if m > 0 {
			siluGrad64AVX2(&d[0], &z[0], &s[0], m)
		}
	}
	for i := m; i < len(d); i++ {
		e := s[i]
		d[i] *= e * (1 + z[i]*(1-e))
	}
}

type k32 struct{}

func (k32) gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if ownGemm((k32{}).native()) {
		gemm.Sgemm(transA, transB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
		return
	}
	impl := blas32.Implementation()
	ta, tb := trans(transA), trans(transB)
	if !(k32{}).native() {
		impl.Sgemm(ta, tb, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
		return
	}
	serialTiles(transA, transB, m, n, lda, ldb, ldc, func(mt, nt, aOff, bOff, cOff int) {
		impl.Sgemm(ta, tb, mt, nt, k, 1, a[aOff:], lda, b[bOff:], ldb, beta, c[cOff:], ldc)
	})
}

func (k32) native() bool {
	_, ok := blas32.Implementation().(gonum.Implementation)
	return ok
}

func (k32) gemv(transA bool, m, n int, a []float32, lda int, x []float32, beta float32, y []float32) {
	blas32.Implementation().Sgemv(trans(transA), m, n, 1, a, lda, x, 1, beta, y, 1)
}

func (k32) biasSiLU(z, s, a, bias []float32, n, w int) {
	bias = bias[:w]
	m := 0
	if useAVX2 {
		m = w &^ 7
	}
	for i := 0; i < n; i++ {
		zr := z[i*w : (i+1)*w]
		sr := s[i*w : (i+1)*w]
		ar := a[i*w : (i+1)*w]
		if m > 0 {
			siluRow32AVX2(&zr[0], &sr[0], &ar[0], &bias[0], m)
		}
		for j := m; j < w; j++ {
			v := zr[j] + bias[j]
			e := float32(1 / (1 + math.Exp(-float64(v))))
			zr[j] = v
			sr[j] = e
			ar[j] = v * e
		}
	}
}

func (k32) siluGrad(d, z, s []float32) {
	z = z[:len(d)]
	s = s[:len(d)]
	m := 0
	if useAVX2 {
		m = len(d) &^ 7
		if m > 0 {
			siluGrad32AVX2(&d[0], &z[0], &s[0], m)
		}
	}
	for i := m; i < len(d); i++ {
		e := s[i]
		d[i] *= e * (1 + z[i]*(1-e))
	}
}

// BLAS names the BLAS implementations the networks use, for run records:
// "internal/gemm (avx2)" when gonum's pure-Go BLAS is installed and sdekit's
// own kernels do its matrix products (gonum still does the matrix-vector
// products), "gonum" when gonum does all; otherwise the Go types installed with
// blas64.Use and blas32.Use (netlib.Implementation under the netlib build tag).
func BLAS() string {
	name := func(v any) string {
		switch v.(type) {
		case gonum.Implementation:
			if ownGemm(true) {
				return "internal/gemm (avx2)"
			}
			return "gonum"
		}
		return fmt.Sprintf("%T", v)
	}
	n64, n32 := name(blas64.Implementation()), name(blas32.Implementation())
	if n64 == n32 {
		return n64
	}
	return "float64: " + n64 + ", float32: " + n32
}
