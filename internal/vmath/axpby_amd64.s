// AVX2 kernel of Axpby; see axpby.go.

//go:build amd64 && !purego

#include "textflag.h"

// func axpbyAVX2(dst, x, y *float64, n int, a, b float64)
TEXT ·axpbyAVX2(SB), NOSPLIT, $0-48
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSD a+32(FP), Y14
	VBROADCASTSD b+40(FP), Y15

loop8:
	CMPQ    CX, $8
	JLT     loop4
	VMULPD  (SI), Y14, Y0
	VMULPD  32(SI), Y14, Y1
	VMULPD  (DX), Y15, Y2
	VMULPD  32(DX), Y15, Y3
	VADDPD  Y2, Y0, Y0
	VADDPD  Y3, Y1, Y1
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	SUBQ    $8, CX
	JMP     loop8

loop4:
	CMPQ    CX, $4
	JLT     tail
	VMULPD  (SI), Y14, Y0
	VMULPD  (DX), Y15, Y2
	VADDPD  Y2, Y0, Y0
	VMOVUPD Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $4, CX

tail:
	TESTQ CX, CX
	JEQ   done

loop1:
	VMULSD (SI), X14, X0
	VMULSD (DX), X15, X2
	VADDSD X2, X0, X0
	VMOVSD X0, (DI)
	ADDQ   $8, SI
	ADDQ   $8, DX
	ADDQ   $8, DI
	DECQ   CX
	JNE    loop1

done:
	VZEROUPPER
	RET
