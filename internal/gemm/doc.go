// Package gemm is a small deterministic matrix product for the shapes of the
// model package's MLP (batch 512, widths 2..256): Dgemm and Sgemm compute
//
//	C = alpha op(A) op(B) + beta C
//
// for row-major matrices with exactly the semantics of BLAS row-major gemm
// (gonum's blas.Dgemm/Sgemm with NoTrans/Trans): op(A) is m x k, op(B) is
// k x n, A is stored k x m when transA (lda >= m) and m x k otherwise
// (lda >= k), likewise B; beta == 0 overwrites C without reading it (NaN
// there is ignored); alpha == 0 or k == 0 reduce to C = beta C without
// reading A and B. Bad arguments panic with a message naming them, as BLAS.
// Calls are serial (the caller parallelises over tiles of C) and do not
// allocate in steady state: the packing scratch comes from a free list that
// keeps one scratch per call that ever ran at once.
//
// # Algorithm
//
// The loop nest is GotoBLAS/BLIS's (K. Goto and R. van de Geijn, "Anatomy of
// high-performance matrix multiplication", ACM TOMS 34(3), 2008; F. Van Zee
// and R. van de Geijn, "BLIS: A Framework for Rapidly Instantiating BLAS
// Functionality", ACM TOMS 41(3), 2015): blocks of nc columns of op(B) are
// packed into k x NR micro-panels, blocks of mc rows of op(A) into MR x k
// micro-panels, so the micro-kernel reads both with unit stride whatever the
// transposes; the kernel then runs over the B micro-panels (outer loop, one
// stays in L1) and the A micro-panels (inner loop, the A block stays in L2).
// The micro-tiles are
//
//	float64: MR x NR = 6 x 8  (12 ymm accumulators, 2 ymm of B, 2 broadcasts)
//	float32: MR x NR = 6 x 16 (the same registers, 8 lanes each)
//
//	float32 with AVX-512: MR x NR = 12 x 32 (24 zmm accumulators, 2 zmm of B)
//
// written in Go assembly for AVX2 + FMA3 (kernel_amd64.s) and AVX-512F
// (kernel512_amd64.s), chosen at run time with golang.org/x/sys/cpu; a Go
// kernel with the same arithmetic runs elsewhere, without those
// instructions, or with the purego build tag. On cores with full-width
// AVX-512 units (AMD Zen 5, the development machine) the 12 x 32 kernel has
// twice the AVX2 kernel's peak; Kernel32 names the float32 kernel in use. Edge
// tiles (m or n not multiples of MR, NR) use zero-padded panels and a
// scratch tile, and only the valid part is written to C.
//
// # Determinism
//
// k is never split: every element of C is one FMA chain over p = 0..k-1 in
// increasing order starting from +0, acc = fma(a_ip, b_pj, acc), followed by
// c = alpha*acc (beta == 0) or c = alpha*acc + beta*c, both products rounded
// before the sum. The bits of C(i, j) therefore depend only on row i of
// op(A), column j of op(B), alpha, beta and the old C(i, j): not on m, n,
// the tile or block the element falls in, or how the caller cuts C into
// calls. The Go kernels give the same bits as the assembly ones: float64
// uses math.FMA; float32 uses fma32, an exact single-rounding float32 FMA
// (TwoSum plus rounding to odd). The obvious
// float32(math.FMA(float64(x), float64(y), float64(z))) is not one: it
// rounds twice and differs from VFMADD231PS in rare cases (the tests hold
// one). Both properties are tested (sub-tile calls vs a full call, assembly
// vs Go kernels, fma32 vs VFMADD231PS on a million inputs).
//
// # Convolution tiles
//
// ConvTile32 and TileTN32 are micro-kernels for convolutions on NHWC images
// that read their A operand in place instead of packing it: ConvTile32
// sums, for 12 consecutive rows of a zero-padded image grid, the products
// of the rows shifted by each tap's offset with that tap's weights (a
// direct 3x3 convolution without an im2col matrix), and TileTN32 computes
// A^T B for A and B read with row strides (a convolution's weight gradient
// per tap). With few output channels (32 in the model package's U-Net) an
// im2col element feeds only 32 multiply-adds, so copying it into an im2col
// matrix and then into packed panels cost as much as the products. Both
// keep the FMA chain of gemm on the corresponding im2col rows, so their
// results equal Sgemm's bit for bit (tested, assembly and Go loops); the
// assembly is AVX-512 only (conv512_amd64.s, tn512_amd64.s), HaveConvTile32
// reports it, and the model package falls back to im2col and gemm elsewhere.
//
// Scratch is about k*(mc + nc) elements, with mc*k*size <= 256 KiB and
// nc*k*size <= 1 MiB while k is small enough, one micro-panel each beyond.
//
// # Speed
//
// go test -run '^$' -bench . ./internal/gemm on the 2-core AMD EPYC
// (AVX2/FMA/AVX-512, about 2.6 GHz) development machine, GFLOPS, one call
// of this package (serial) vs one call of gonum v0.17 (which may use both
// cores on these sizes) and gonum cut into model/kernels.go's serial
// 64 x 192 tiles (run to run noise is about 10-15%):
//
//	float64              gemm  gonum  gonum tiled
//	NN 512x64x64         32.4    9.0    5.7
//	TT 512x64x64         32.1    5.1    3.0
//	TN 64x64x512         27.2    5.7    5.6
//	NN 512x128x128       36.6   10.5    6.7
//	TT 512x128x128       35.2    1.0    2.2
//	TN 128x128x512       33.7    1.0    6.7
//	NN 512x256x256       40.2   11.8    9.4
//	NT 512x256x256       51.6    9.5   10.2
//	TN 256x256x512       48.1    8.7    9.6
//
//	float32
//	NN 512x64x64         81.3   13.8   10.9
//	NT 512x64x64         50.3   15.7    8.9
//	TN 64x64x512         50.0    9.0    9.9
//	NN 512x128x128       73.4   15.8   11.2
//	TN 128x128x512       62.2    2.1   11.2
//	NN 512x256x256       74.4   16.2   11.3
//	TT 512x256x256       79.0    3.9    2.4
//	TN 256x256x512       76.5    7.1   11.6
//
// (shapes are op m x n x k; the letters are transA, transB.)
package gemm
