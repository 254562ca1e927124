package gemm

import (
	"math/rand/v2"
	"testing"
)

// TestConvTile32 checks ConvTile32 against Sgemm on the explicit im2col
// rows (row r, column t*k + p = a[offs[t] + r*lda + p]) times b, bit for
// bit, with the assembly kernel and with the portable loops.
func TestConvTile32(t *testing.T) {
	defer func(a, z bool) { useAsm, use512 = a, z }(useAsm, use512)
	rng := rand.New(rand.NewPCG(11, 12))
	for _, asm := range []bool{false, true} {
		if asm && !have512 {
			continue
		}
		useAsm, use512 = asm, asm
		for _, k := range []int{1, 3, 16, 33, 64} {
			for _, taps := range []int{1, 9} {
				lda := k + rng.IntN(5)
				offs := make([]int, taps)
				for i := range offs {
					offs[i] = rng.IntN(200)
				}
				a := make([]float32, 200+12*lda+k)
				for i := range a {
					a[i] = float32(rng.NormFloat64())
				}
				b := make([]float32, taps*k*ConvNR)
				for i := range b {
					b[i] = float32(rng.NormFloat64())
				}
				cols := make([]float32, ConvMR*taps*k)
				for r := 0; r < ConvMR; r++ {
					for tp, o := range offs {
						copy(cols[r*taps*k+tp*k:r*taps*k+(tp+1)*k], a[o+r*lda:o+r*lda+k])
					}
				}
				want := make([]float32, ConvMR*ConvNR)
				Sgemm(false, false, ConvMR, ConvNR, taps*k, 1, cols, taps*k, b, ConvNR, 0, want, ConvNR)
				got := make([]float32, ConvMR*ConvNR)
				ConvTile32(got, ConvNR, a, lda, offs, k, b, nil)
				for i := range got {
					if !sameBits(got[i], want[i]) {
						t.Fatalf("asm=%v k=%d taps=%d: c[%d] = %v, gemm on im2col %v", asm, k, taps, i, got[i], want[i])
					}
				}
				// With a bias: gemm with beta = 1 onto C holding it.
				bias := make([]float32, ConvNR)
				for i := range bias {
					bias[i] = float32(rng.NormFloat64())
				}
				for i := range want {
					want[i] = bias[i%ConvNR]
				}
				Sgemm(false, false, ConvMR, ConvNR, taps*k, 1, cols, taps*k, b, ConvNR, 1, want, ConvNR)
				ConvTile32(got, ConvNR, a, lda, offs, k, b, bias)
				for i := range got {
					if !sameBits(got[i], want[i]) {
						t.Fatalf("asm=%v k=%d taps=%d with bias: c[%d] = %v, gemm %v", asm, k, taps, i, got[i], want[i])
					}
				}
				// Into a wider matrix (row stride 45): the tile's columns
				// only, the rest untouched.
				const ldc = 45
				wide := make([]float32, ConvMR*ldc)
				for i := range wide {
					wide[i] = -7
				}
				ConvTile32(wide, ldc, a, lda, offs, k, b, bias)
				for r := 0; r < ConvMR; r++ {
					for j := 0; j < ldc; j++ {
						g := wide[r*ldc+j]
						if j < ConvNR && !sameBits(g, want[r*ConvNR+j]) || j >= ConvNR && g != -7 {
							t.Fatalf("asm=%v k=%d taps=%d ldc=%d: c(%d,%d) = %v", asm, k, taps, ldc, r, j, g)
						}
					}
				}
			}
		}
	}
}

// TestTileTN32 checks TileTN32 against Sgemm with transA on the same
// strided A and B, bit for bit, with the assembly kernel and the Go loops.
func TestTileTN32(t *testing.T) {
	defer func(a, z bool) { useAsm, use512 = a, z }(useAsm, use512)
	rng := rand.New(rand.NewPCG(13, 14))
	for _, asm := range []bool{false, true} {
		if asm && !have512 {
			continue
		}
		useAsm, use512 = asm, asm
		for _, k := range []int{1, 5, 100, 1000} {
			lda, ldb := ConvMR+rng.IntN(20), ConvNR+rng.IntN(40)
			a := make([]float32, k*lda)
			b := make([]float32, k*ldb)
			for i := range a {
				a[i] = float32(rng.NormFloat64())
			}
			for i := range b {
				b[i] = float32(rng.NormFloat64())
			}
			want := make([]float32, ConvMR*ConvNR)
			Sgemm(true, false, ConvMR, ConvNR, k, 1, a, lda, b, ldb, 0, want, ConvNR)
			got := make([]float32, ConvMR*ConvNR)
			TileTN32(got, a, lda, b, ldb, k)
			for i := range got {
				if !sameBits(got[i], want[i]) {
					t.Fatalf("asm=%v k=%d: c[%d] = %v, Sgemm %v", asm, k, i, got[i], want[i])
				}
			}
		}
	}
}
