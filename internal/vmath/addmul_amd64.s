// AVX2 kernel of AddMul; see addmul.go. VMULPD then VADDPD: each product is
// rounded before the sum, as in the Go loop (no FMA).

//go:build amd64 && !purego

#include "textflag.h"

// func addMulAVX2(acc, k *float64, n int, v float64)
TEXT ·addMulAVX2(SB), NOSPLIT, $0-32
	MOVQ         acc+0(FP), DI
	MOVQ         k+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSD v+24(FP), Y15

loop8:
	CMPQ    CX, $8
	JLT     loop4
	VMULPD  (SI), Y15, Y0
	VMULPD  32(SI), Y15, Y1
	VADDPD  (DI), Y0, Y0
	VADDPD  32(DI), Y1, Y1
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $8, CX
	JMP     loop8

loop4:
	CMPQ    CX, $4
	JLT     tail
	VMULPD  (SI), Y15, Y0
	VADDPD  (DI), Y0, Y0
	VMOVUPD Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $4, CX

tail:
	TESTQ CX, CX
	JEQ   done

loop1:
	VMOVSD (SI), X0
	VMULSD X15, X0, X0
	VADDSD (DI), X0, X0
	VMOVSD X0, (DI)
	ADDQ   $8, SI
	ADDQ   $8, DI
	DECQ   CX
	JNE    loop1

done:
	VZEROUPPER
	RET
