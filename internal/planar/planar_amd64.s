// AVX2 kernels of LogWeights and Scores; see planar.go. Each handles four
// rows at a time, one per lane, with the arithmetic of the Go loops in the
// same order and no fused multiply-add. States x come interleaved
// (x_0, x_1 of a row, then the next row): four rows are two registers,
// split into x_0 and x_1 by unpacking and a lane permutation, and the
// scores are interleaved back the same way.

//go:build amd64 && !purego

#include "textflag.h"

DATA planarOne<>+0(SB)/8, $1.0
GLOBL planarOne<>(SB), RODATA|NOPTR, $8
DATA planarHalf<>+0(SB)/8, $0.5
GLOBL planarHalf<>(SB), RODATA|NOPTR, $8
DATA planarNegInf<>+0(SB)/8, $0xfff0000000000000
GLOBL planarNegInf<>(SB), RODATA|NOPTR, $8

// func logWeightsAVX2(l, mx, inv0, inv1, c, s, x, mu, logW *float64, n, stride, K int, v0, v1 float64)
TEXT ·logWeightsAVX2(SB), NOSPLIT, $0-112
	MOVQ         l+0(FP), AX
	MOVQ         mx+8(FP), BX
	MOVQ         inv0+16(FP), SI
	MOVQ         inv1+24(FP), DI
	MOVQ         c+32(FP), CX
	MOVQ         s+40(FP), DX
	MOVQ         x+48(FP), R8
	MOVQ         n+72(FP), R12
	MOVQ         stride+80(FP), R13
	SHLQ         $3, R13                // bytes from one component's row of l to the next
	MOVQ         K+88(FP), R15
	SHLQ         $3, R15
	ADDQ         logW+64(FP), R15       // end of logW
	VBROADCASTSD v0+96(FP), Y13
	VBROADCASTSD v1+104(FP), Y12
	VBROADCASTSD planarOne<>(SB), Y15
	VBROADCASTSD planarHalf<>(SB), Y14
	VBROADCASTSD planarNegInf<>(SB), Y11
	XORQ         R11, R11               // row i

rows:
	CMPQ    R11, R12
	JGE     done
	VMOVUPD (CX)(R11*8), Y0   // c
	VMOVUPD (DX)(R11*8), Y7   // s
	VMULPD  Y0, Y0, Y8        // c^2
	VMULPD  Y7, Y7, Y7        // s^2
	VMULPD  Y13, Y8, Y9       // c^2 v0
	VADDPD  Y7, Y9, Y9        // v0
	VDIVPD  Y9, Y15, Y1       // 1/v0
	VMULPD  Y12, Y8, Y9       // c^2 v1
	VADDPD  Y7, Y9, Y9        // v1
	VDIVPD  Y9, Y15, Y2       // 1/v1
	VMOVUPD Y1, (SI)(R11*8)
	VMOVUPD Y2, (DI)(R11*8)
	VMULPD  Y14, Y1, Y1       // h0 = 1/(2 v0)
	VMULPD  Y14, Y2, Y2       // h1 = 1/(2 v1)

	VMOVUPD   (R8), Y7        // x0a x1a x0b x1b
	VMOVUPD   32(R8), Y8      // x0c x1c x0d x1d
	VUNPCKLPD Y8, Y7, Y3      // x0a x0c x0b x0d
	VUNPCKHPD Y8, Y7, Y4      // x1a x1c x1b x1d
	VPERMPD   $0xd8, Y3, Y3   // x0a x0b x0c x0d
	VPERMPD   $0xd8, Y4, Y4   // x1a x1b x1c x1d

	VMOVAPD Y11, Y5           // running max, -Inf
	VXORPD  Y6, Y6, Y6        // lanes where some l_k is NaN
	LEAQ    (AX)(R11*8), R14  // l[k*stride + i], k = 0
	MOVQ    mu+56(FP), R9
	MOVQ    logW+64(FP), R10

comps:
	VBROADCASTSD (R9), Y7
	VMULPD       Y7, Y0, Y7   // c mu_k0
	VSUBPD       Y7, Y3, Y7   // a0 = x0 - c mu_k0
	VMULPD       Y7, Y7, Y7   // a0^2
	VMULPD       Y1, Y7, Y7   // a0^2 h0
	VBROADCASTSD (R10), Y9
	VSUBPD       Y7, Y9, Y9   // log w_k - a0^2 h0
	VBROADCASTSD 8(R9), Y8
	VMULPD       Y8, Y0, Y8   // c mu_k1
	VSUBPD       Y8, Y4, Y8   // a1 = x1 - c mu_k1
	VMULPD       Y8, Y8, Y8   // a1^2
	VMULPD       Y2, Y8, Y8   // a1^2 h1
	VSUBPD       Y8, Y9, Y9   // l_k
	VMOVUPD      Y9, (R14)
	VCMPPD       $3, Y9, Y9, Y10 // l_k is NaN (unordered with itself)
	VORPD        Y10, Y6, Y6
	VMAXPD       Y9, Y5, Y5   // max(running, l_k)
	ADDQ         R13, R14
	ADDQ         $16, R9
	ADDQ         $8, R10
	CMPQ         R10, R15
	JNE          comps

	VORPD   Y6, Y5, Y5        // NaN (all bits set) where some l_k was NaN
	VMOVUPD Y5, (BX)(R11*8)
	ADDQ    $64, R8
	ADDQ    $4, R11
	JMP     rows

done:
	VZEROUPPER
	RET

// func scoresAVX2(dst, r, c, inv0, inv1, x, mu *float64, n, stride, K int)
TEXT ·scoresAVX2(SB), NOSPLIT, $0-80
	MOVQ         dst+0(FP), DI
	MOVQ         r+8(FP), AX
	MOVQ         c+16(FP), CX
	MOVQ         inv0+24(FP), SI
	MOVQ         inv1+32(FP), DX
	MOVQ         x+40(FP), R8
	MOVQ         n+56(FP), R12
	MOVQ         stride+64(FP), R13
	SHLQ         $3, R13
	MOVQ         K+72(FP), R10
	SHLQ         $4, R10
	ADDQ         mu+48(FP), R10         // end of mu
	VBROADCASTSD planarOne<>(SB), Y15
	XORQ         R11, R11

srows:
	CMPQ      R11, R12
	JGE       sdone
	VMOVUPD   (CX)(R11*8), Y0 // c
	VMOVUPD   (SI)(R11*8), Y1 // 1/v0
	VMOVUPD   (DX)(R11*8), Y2 // 1/v1
	VMOVUPD   (R8), Y8
	VMOVUPD   32(R8), Y9
	VUNPCKLPD Y9, Y8, Y3
	VUNPCKHPD Y9, Y8, Y4
	VPERMPD   $0xd8, Y3, Y3   // x0 of the four rows
	VPERMPD   $0xd8, Y4, Y4   // x1
	LEAQ      (AX)(R11*8), R14
	MOVQ      mu+48(FP), R9

	// k = 0 sets the sums
	VMOVUPD      (R14), Y8    // r_0
	VMOVAPD      Y8, Y5       // z
	VBROADCASTSD (R9), Y9
	VMULPD       Y9, Y0, Y9   // c mu_00
	VSUBPD       Y3, Y9, Y9   // c mu_00 - x0
	VMULPD       Y9, Y8, Y9   // r (c mu - x0)
	VMULPD       Y1, Y9, Y6   // s0
	VBROADCASTSD 8(R9), Y10
	VMULPD       Y10, Y0, Y10
	VSUBPD       Y4, Y10, Y10
	VMULPD       Y10, Y8, Y10
	VMULPD       Y2, Y10, Y7  // s1
	ADDQ         R13, R14
	ADDQ         $16, R9
	CMPQ         R9, R10
	JEQ          sfinish

scomps:
	VMOVUPD      (R14), Y8    // r_k
	VADDPD       Y8, Y5, Y5   // z += r_k
	VBROADCASTSD (R9), Y9
	VMULPD       Y9, Y0, Y9
	VSUBPD       Y3, Y9, Y9
	VMULPD       Y9, Y8, Y9
	VMULPD       Y1, Y9, Y9
	VADDPD       Y9, Y6, Y6   // s0 += r_k (c mu_k0 - x0) / v0
	VBROADCASTSD 8(R9), Y10
	VMULPD       Y10, Y0, Y10
	VSUBPD       Y4, Y10, Y10
	VMULPD       Y10, Y8, Y10
	VMULPD       Y2, Y10, Y10
	VADDPD       Y10, Y7, Y7  // s1 += ...
	ADDQ         R13, R14
	ADDQ         $16, R9
	CMPQ         R9, R10
	JNE          scomps

sfinish:
	VDIVPD     Y5, Y15, Y5    // 1/z
	VMULPD     Y5, Y6, Y6     // score_0
	VMULPD     Y5, Y7, Y7     // score_1
	VUNPCKLPD  Y7, Y6, Y8     // s0a s1a s0c s1c
	VUNPCKHPD  Y7, Y6, Y9     // s0b s1b s0d s1d
	VPERM2F128 $0x20, Y9, Y8, Y10 // s0a s1a s0b s1b
	VPERM2F128 $0x31, Y9, Y8, Y11 // s0c s1c s0d s1d
	VMOVUPD    Y10, (DI)
	VMOVUPD    Y11, 32(DI)
	ADDQ       $64, DI
	ADDQ       $64, R8
	ADDQ       $4, R11
	JMP        srows

sdone:
	VZEROUPPER
	RET
