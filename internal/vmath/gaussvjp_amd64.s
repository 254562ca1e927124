// AVX2 kernel of GaussVJP; see gaussvjp.go. Separate multiplies and adds
// (no FMA), so each value is the Go loop's.

//go:build amd64 && !purego

#include "textflag.h"

// func gaussVJPAVX2(out, score, v, x, sd2, mu *float64, n int, c, c2, s2 float64)
TEXT ·gaussVJPAVX2(SB), NOSPLIT, $0-80
	MOVQ         out+0(FP), DI
	MOVQ         score+8(FP), R9
	MOVQ         v+16(FP), SI
	MOVQ         x+24(FP), DX
	MOVQ         sd2+32(FP), R8
	MOVQ         mu+40(FP), R10
	MOVQ         n+48(FP), CX
	VBROADCASTSD c+56(FP), Y12
	VBROADCASTSD c2+64(FP), Y13
	VBROADCASTSD s2+72(FP), Y14
	VXORPD       Y11, Y11, Y11     // 0, for the negation
	MOVQ         $0x3ff0000000000000, AX
	MOVQ         AX, X10
	VBROADCASTSD X10, Y10          // 1.0

loop4:
	CMPQ    CX, $4
	JLT     tail
	VMULPD  (R8), Y13, Y0          // c2 sd2
	VADDPD  Y14, Y0, Y0            // + s2
	VDIVPD  Y0, Y10, Y0            // iv = 1 / (...)
	VMOVUPD (SI), Y1
	VSUBPD  Y1, Y11, Y1            // -v
	VMULPD  Y0, Y1, Y1             // -v iv
	VMOVUPD Y1, (DI)
	VMULPD  (R10), Y12, Y2         // c mu
	VSUBPD  (DX), Y2, Y2           // - x
	VMULPD  Y0, Y2, Y2             // * iv
	VMOVUPD Y2, (R9)
	ADDQ    $32, DI
	ADDQ    $32, R9
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, R8
	ADDQ    $32, R10
	SUBQ    $4, CX
	JMP     loop4

tail:
	TESTQ CX, CX
	JEQ   done

loop1:
	VMOVSD (R8), X0
	VMULSD X13, X0, X0
	VADDSD X14, X0, X0
	VDIVSD X0, X10, X0
	VMOVSD (SI), X1
	VSUBSD X1, X11, X1
	VMULSD X0, X1, X1
	VMOVSD X1, (DI)
	VMOVSD (R10), X2
	VMULSD X12, X2, X2
	VSUBSD (DX), X2, X2
	VMULSD X0, X2, X2
	VMOVSD X2, (R9)
	ADDQ   $8, DI
	ADDQ   $8, R9
	ADDQ   $8, SI
	ADDQ   $8, DX
	ADDQ   $8, R8
	ADDQ   $8, R10
	DECQ   CX
	JNE    loop1

done:
	VZEROUPPER
	RET
