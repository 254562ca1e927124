//go:build amd64 && !purego

package rng

import (
	"math"

	"golang.org/x/sys/cpu"
)

// The kernels of normal_amd64.s compute Box-Muller pairs with the exact
// operation sequence of pairFromWords (normal.go): the same constants, the
// same roundings, FMA exactly where the Go code calls math.FMA. The AVX2
// kernels do 4 pairs per step and emulate the 64-bit multiplies of the
// SplitMix64 finaliser from 32-bit VPMULUDQ products; the AVX-512 kernels do
// 16 (two groups of 8 lanes) with VPMULLQ. Integer steps are exact, so every
// path gives the same bits. Build with -tags purego to use the scalar Go
// definition everywhere.
var (
	useAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	useAVX512 = useAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ
)

// Indices into normTab; the assembly uses the same numbers times 64 (see the
// #defines at the top of normal_amd64.s).
const (
	tabM1Lo      = 0 // low and high 32 bits of mixMul1 for VPMULUDQ
	tabM1Hi      = 1
	tabM2Lo      = 2
	tabM2Hi      = 3
	tabOne       = 4
	tabTwo       = 5
	tabLogBias   = 6
	tabMant      = 7
	tabSqrtHalf  = 8
	tabExpMagic  = 9
	tabExpMagicK = 10
	tabLC1       = 11 // logC1 ... logC7 at 11 ... 17
	tabM2Ln2Hi   = 18
	tabM2Ln2Lo   = 19
	tabSign      = 20
	tabPio2Hi    = 21
	tabPio2Lo    = 22
	tabSin3      = 23 // sin3 ... sin13 at 23 ... 28
	tabCos2      = 29 // cos2 ... cos14 at 29 ... 35
	tabM1        = 36 // the full 64-bit multipliers for VPMULLQ
	tabM2        = 37
	tabLaneIdx   = 38 // lane order of the AVX-512 key kernel
	tabLen       = 39
)

// normTab holds every constant of the kernels, each repeated in 8 lanes so
// the instructions can take it as a full-width memory operand (the AVX2
// kernels read the first 32 bytes of each 64-byte row).
var normTab = func() (t [tabLen][8]uint64) {
	set := func(i int, v uint64) { t[i] = [8]uint64{v, v, v, v, v, v, v, v} }
	setF := func(i int, v float64) { set(i, math.Float64bits(v)) }
	set(tabM1Lo, mixMul1&0xffffffff)
	set(tabM1Hi, mixMul1>>32)
	set(tabM2Lo, mixMul2&0xffffffff)
	set(tabM2Hi, mixMul2>>32)
	set(tabM1, mixMul1)
	set(tabM2, mixMul2)
	set(tabOne, oneBits)
	setF(tabTwo, 2)
	set(tabLogBias, logBias)
	set(tabMant, mant52)
	set(tabSqrtHalf, sqrtHalf)
	set(tabExpMagic, expMagic)
	setF(tabExpMagicK, expMagicK)
	for j, c := range []float64{logC1, logC2, logC3, logC4, logC5, logC6, logC7} {
		setF(tabLC1+j, c)
	}
	setF(tabM2Ln2Hi, m2Ln2Hi)
	setF(tabM2Ln2Lo, m2Ln2Lo)
	set(tabSign, signBit)
	setF(tabPio2Hi, pio2Hi)
	setF(tabPio2Lo, pio2Lo)
	for j, c := range []float64{sin3, sin5, sin7, sin9, sin11, sin13} {
		setF(tabSin3+j, c)
	}
	for j, c := range []float64{cos2, cos4, cos6, cos8, cos10, cos12, cos14} {
		setF(tabCos2+j, c)
	}
	// Lane i of an AVX-512 key step holds pair p + t[tabLaneIdx][i], so
	// that unpacking the x and y vectors yields the pairs in memory order.
	t[tabLaneIdx] = [8]uint64{0, 4, 1, 5, 2, 6, 3, 7}
	return t
}()

// normalsKeysAVX2 writes pairs p, ..., p+n-1 of keys[r] to
// dst[r*stride : r*stride+2n], x then y, for r < nk: one call draws the same
// pairs for a block of rows, which NormalsRows uses for long rows, and nk = 1
// serves Normals. n must be a positive multiple of 4, nk positive.
//
//go:noescape
func normalsKeysAVX2(dst *float64, keys *Key, nk int, p uint64, n, stride int, tab *[tabLen][8]uint64)

// normalsRowsAVX2 writes pair p of keys[r] to dst[2r], dst[2r+1] for
// r < n; n must be a positive multiple of 4.
//
//go:noescape
func normalsRowsAVX2(dst *float64, keys *Key, p uint64, n int, tab *[tabLen][8]uint64)

// The same kernels on AVX-512 registers, with VPMULLQ for the 64-bit
// products, 16 pairs (two groups of 8 lanes) per step; n must be a positive
// multiple of 16.
//
//go:noescape
func normalsKeysAVX512(dst *float64, keys *Key, nk int, p uint64, n, stride int, tab *[tabLen][8]uint64)

//go:noescape
func normalsRowsAVX512(dst *float64, keys *Key, p uint64, n int, tab *[tabLen][8]uint64)

// keyStep returns the number of pairs one step of this machine's key kernel
// computes (keyKernel's n must be a multiple of it), or 0 if there is none.
func keyStep() int {
	switch {
	case useAVX512:
		return 16
	case useAVX2:
		return 4
	}
	return 0
}

// keyKernel writes pairs p, ..., p+n-1 of k to dst[0 : 2n]. The kernels are
// called directly (not through a func value) so that escape analysis keeps
// the callers' scratch arrays (and k) on the stack.
func keyKernel(dst *float64, k Key, p uint64, n int) {
	keysKernel(dst, &k, 1, p, n, 0)
}

// keysKernel writes pairs p, ..., p+n-1 of keys[r] to
// dst[r*stride : r*stride+2n] for r < nk.
func keysKernel(dst *float64, keys *Key, nk int, p uint64, n, stride int) {
	if useAVX512 {
		normalsKeysAVX512(dst, keys, nk, p, n, stride, &normTab)
	} else {
		normalsKeysAVX2(dst, keys, nk, p, n, stride, &normTab)
	}
}

// rowKernel writes pair p of keys[r] to dst[2r], dst[2r+1] for r < n.
func rowKernel(dst *float64, keys *Key, p uint64, n int) {
	if useAVX512 {
		normalsRowsAVX512(dst, keys, p, n, &normTab)
	} else {
		normalsRowsAVX2(dst, keys, p, n, &normTab)
	}
}

// rowLaneMax is the longest row NormalsRows serves with one row per lane:
// below two kernel steps of pairs, per-key lanes would leave much of a step
// unused for every row.
func rowLaneMax() int {
	return max(2*keyStep()-1, 1)
}

// kernelPaths names the code paths this machine can run, fastest first; the
// tests run each of them against the scalar definition.
func kernelPaths() []string {
	var p []string
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		if cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ {
			p = append(p, "avx512")
		}
		p = append(p, "avx2")
	}
	return append(p, "go")
}

// selectPath switches the kernels to the named path (one of kernelPaths)
// and returns a function that restores the previous choice. For tests only:
// it is not safe while other goroutines draw normals.
func selectPath(name string) (restore func()) {
	a2, a512 := useAVX2, useAVX512
	useAVX2, useAVX512 = name == "avx2" || name == "avx512", name == "avx512"
	return func() { useAVX2, useAVX512 = a2, a512 }
}

// Kernel names the code path this build and CPU use (for sdesample version).
func Kernel() string {
	switch {
	case useAVX512:
		return "avx-512"
	case useAVX2:
		return "avx2+fma"
	}
	return "go"
}
