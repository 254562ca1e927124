//go:build amd64 && !purego

#include "textflag.h"

// func adamAVX2(p, grad, m, v *float64, n int, c *[8]float64)
//
// The Adam update of adamScalar (adam.go) on 4 lanes, n a multiple of 4, with
// c = [scale, beta1, 1-beta1, beta2, 1-beta2, stepSize, 1/sqrt(1-beta2^t), eps].
// Every operation is a separately rounded IEEE multiply, add, divide or square
// root in the same order as adamScalar, so both give identical bits.
TEXT ·adamAVX2(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), BX
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), R8
	SHLQ $3, CX
	JZ adamdone
	VBROADCASTSD 0(R8), Y8   // scale
	VBROADCASTSD 8(R8), Y9   // beta1
	VBROADCASTSD 16(R8), Y10 // 1 - beta1
	VBROADCASTSD 24(R8), Y11 // beta2
	VBROADCASTSD 32(R8), Y12 // 1 - beta2
	VBROADCASTSD 40(R8), Y13 // stepSize
	VBROADCASTSD 48(R8), Y14 // 1/sqrt(1 - beta2^t)
	VBROADCASTSD 56(R8), Y15 // eps
	XORQ AX, AX
adamloop:
	VMULPD (SI)(AX*1), Y8, Y0 // g = grad scale
	VMULPD (DX)(AX*1), Y9, Y1 // beta1 m
	VMULPD Y0, Y10, Y2        // (1 - beta1) g
	VADDPD Y2, Y1, Y1         // m
	VMOVUPD Y1, (DX)(AX*1)
	VMULPD Y0, Y0, Y3         // g g
	VMULPD Y3, Y12, Y3        // (1 - beta2) g g
	VMULPD (BX)(AX*1), Y11, Y4 // beta2 v
	VADDPD Y3, Y4, Y4         // v
	VMOVUPD Y4, (BX)(AX*1)
	VSQRTPD Y4, Y5
	VMULPD Y14, Y5, Y5
	VADDPD Y15, Y5, Y5        // sqrt(v)/sqrt(1 - beta2^t) + eps
	VMULPD Y1, Y13, Y6        // stepSize m
	VDIVPD Y5, Y6, Y6
	VMOVUPD (DI)(AX*1), Y7
	VSUBPD Y6, Y7, Y7
	VMOVUPD Y7, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JB adamloop
	VZEROUPPER
adamdone:
	RET
