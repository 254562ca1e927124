package gemm

// Benchmarks on the MLP's shapes against gonum's pure-Go BLAS:
//
//	go test -run '^$' -bench . ./internal/gemm
//
// "gonum" is one gonum call (it spreads products of 4 or more 64 x 64
// blocks over goroutines, so it may use every core); "gonumTiled" cuts C
// into the 64 x 192 tiles that model/kernels.go uses to keep gonum serial;
// "gemm" is this package (always serial).

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

type benchShape struct {
	tA, tB  bool
	m, n, k int
}

func benchShapes() []benchShape {
	var s []benchShape
	for _, w := range []int{64, 128, 256} {
		for tr := 0; tr < 4; tr++ {
			s = append(s, benchShape{tr&1 != 0, tr&2 != 0, 512, w, w})
		}
		// Weight gradient: op(A) = X^T (w x 512), op(B) = dZ (512 x w).
		s = append(s, benchShape{true, false, w, w, 512})
	}
	return s
}

func tn(t bool) string {
	if t {
		return "T"
	}
	return "N"
}

func gflops(b *testing.B, sh benchShape, d time.Duration) {
	b.ReportMetric(2*float64(sh.m*sh.n*sh.k)*float64(b.N)/d.Seconds()/1e9, "GFLOPS")
}

func bt(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

func benchOne[T float](b *testing.B, sh benchShape, impl string) {
	rng := rand.New(rand.NewPCG(1, 1))
	lda, ldb := sh.k, sh.n
	if sh.tA {
		lda = sh.m
	}
	if sh.tB {
		ldb = sh.k
	}
	a, bb, c := make([]T, sh.m*sh.k), make([]T, sh.k*sh.n), make([]T, sh.m*sh.n)
	for i := range a {
		a[i] = T(rng.NormFloat64())
	}
	for i := range bb {
		bb[i] = T(rng.NormFloat64())
	}
	var f func()
	switch a := any(a).(type) {
	case []float64:
		bb, c := any(bb).([]float64), any(c).([]float64)
		switch impl {
		case "gemm":
			f = func() { Dgemm(sh.tA, sh.tB, sh.m, sh.n, sh.k, 1, a, lda, bb, ldb, 0, c, sh.n) }
		case "gonum":
			f = func() {
				gonum.Implementation{}.Dgemm(bt(sh.tA), bt(sh.tB), sh.m, sh.n, sh.k, 1, a, lda, bb, ldb, 0, c, sh.n)
			}
		case "gonumTiled":
			f = func() {
				tiles(sh, lda, ldb, func(mt, nt, aOff, bOff, cOff int) {
					gonum.Implementation{}.Dgemm(bt(sh.tA), bt(sh.tB), mt, nt, sh.k, 1, a[aOff:], lda, bb[bOff:], ldb, 0, c[cOff:], sh.n)
				})
			}
		}
	case []float32:
		bb, c := any(bb).([]float32), any(c).([]float32)
		switch impl {
		case "gemm":
			f = func() { Sgemm(sh.tA, sh.tB, sh.m, sh.n, sh.k, 1, a, lda, bb, ldb, 0, c, sh.n) }
		case "gonum":
			f = func() {
				gonum.Implementation{}.Sgemm(bt(sh.tA), bt(sh.tB), sh.m, sh.n, sh.k, 1, a, lda, bb, ldb, 0, c, sh.n)
			}
		case "gonumTiled":
			f = func() {
				tiles(sh, lda, ldb, func(mt, nt, aOff, bOff, cOff int) {
					gonum.Implementation{}.Sgemm(bt(sh.tA), bt(sh.tB), mt, nt, sh.k, 1, a[aOff:], lda, bb[bOff:], ldb, 0, c[cOff:], sh.n)
				})
			}
		}
	}
	f()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		f()
	}
	gflops(b, sh, time.Since(start))
}

// tiles visits the 64 x 192 tiles of C as model/kernels.go does.
func tiles(sh benchShape, lda, ldb int, f func(mt, nt, aOff, bOff, cOff int)) {
	for i0 := 0; i0 < sh.m; i0 += 64 {
		mt := min(64, sh.m-i0)
		aOff := i0 * lda
		if sh.tA {
			aOff = i0
		}
		for j0 := 0; j0 < sh.n; j0 += 192 {
			nt := min(192, sh.n-j0)
			bOff := j0
			if sh.tB {
				bOff = j0 * ldb
			}
			f(mt, nt, aOff, bOff, i0*sh.n+j0)
		}
	}
}

func benchAll[T float](b *testing.B) {
	for _, sh := range benchShapes() {
		name := fmt.Sprintf("%s%s_m%d_n%d_k%d", tn(sh.tA), tn(sh.tB), sh.m, sh.n, sh.k)
		for _, impl := range []string{"gemm", "gonum", "gonumTiled"} {
			b.Run(name+"/"+impl, func(b *testing.B) { benchOne[T](b, sh, impl) })
		}
	}
}

func BenchmarkDgemm(b *testing.B) { benchAll[float64](b) }
func BenchmarkSgemm(b *testing.B) { benchAll[float32](b) }
