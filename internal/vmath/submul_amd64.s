// AVX2 kernel of SubMul; see submul.go.

//go:build amd64 && !purego

#include "textflag.h"

// func subMulAVX2(dst, a, x, b *float64, n int)
TEXT ·subMulAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ b+24(FP), R8
	MOVQ n+32(FP), CX

loop8:
	CMPQ    CX, $8
	JLT     loop4
	VMOVUPD (SI), Y0
	VMOVUPD 32(SI), Y1
	VSUBPD  (DX), Y0, Y0
	VSUBPD  32(DX), Y1, Y1
	VMULPD  (R8), Y0, Y0
	VMULPD  32(R8), Y1, Y1
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, R8
	ADDQ    $64, DI
	SUBQ    $8, CX
	JMP     loop8

loop4:
	CMPQ    CX, $4
	JLT     tail
	VMOVUPD (SI), Y0
	VSUBPD  (DX), Y0, Y0
	VMULPD  (R8), Y0, Y0
	VMOVUPD Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, R8
	ADDQ    $32, DI
	SUBQ    $4, CX

tail:
	TESTQ CX, CX
	JEQ   done

loop1:
	VMOVSD (SI), X0
	VSUBSD (DX), X0, X0
	VMULSD (R8), X0, X0
	VMOVSD X0, (DI)
	ADDQ   $8, SI
	ADDQ   $8, DX
	ADDQ   $8, R8
	ADDQ   $8, DI
	DECQ   CX
	JNE    loop1

done:
	VZEROUPPER
	RET
