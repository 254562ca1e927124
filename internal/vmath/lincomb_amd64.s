// AVX2 + FMA kernel of LinComb; see lincomb.go.

//go:build amd64 && !purego

#include "textflag.h"

// func linCombAVX2(x, s, z *float64, n int, px, ps, pz float64) float64
// x[i] = fma(pz, z[i], fma(ps, s[i], px*x[i])); returns sum of (x[i]-x[i]).
TEXT ·linCombAVX2(SB), NOSPLIT, $0-64
	MOVQ         x+0(FP), DI
	MOVQ         s+8(FP), SI
	MOVQ         z+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSD px+32(FP), Y0
	VBROADCASTSD ps+40(FP), Y1
	VBROADCASTSD pz+48(FP), Y2
	VXORPD       Y3, Y3, Y3
	VXORPD       Y4, Y4, Y4

loop8:
	CMPQ        CX, $8
	JLT         loop4
	VMULPD      (DI), Y0, Y5
	VMULPD      32(DI), Y0, Y6
	VFMADD231PD (SI), Y1, Y5
	VFMADD231PD 32(SI), Y1, Y6
	VFMADD231PD (DX), Y2, Y5
	VFMADD231PD 32(DX), Y2, Y6
	VMOVUPD     Y5, (DI)
	VMOVUPD     Y6, 32(DI)
	VSUBPD      Y5, Y5, Y7
	VSUBPD      Y6, Y6, Y8
	VADDPD      Y7, Y3, Y3
	VADDPD      Y8, Y4, Y4
	ADDQ        $64, DI
	ADDQ        $64, SI
	ADDQ        $64, DX
	SUBQ        $8, CX
	JMP         loop8

loop4:
	CMPQ        CX, $4
	JLT         tail
	VMULPD      (DI), Y0, Y5
	VFMADD231PD (SI), Y1, Y5
	VFMADD231PD (DX), Y2, Y5
	VMOVUPD     Y5, (DI)
	VSUBPD      Y5, Y5, Y7
	VADDPD      Y7, Y3, Y3
	ADDQ        $32, DI
	ADDQ        $32, SI
	ADDQ        $32, DX
	SUBQ        $4, CX

tail:
	VADDPD       Y4, Y3, Y3
	TESTQ        CX, CX
	JEQ          done

loop1:
	VMOVSD      (DI), X5
	VMULSD      X0, X5, X5
	VMOVSD      (SI), X6
	VFMADD231SD X1, X6, X5
	VMOVSD      (DX), X6
	VFMADD231SD X2, X6, X5
	VMOVSD      X5, (DI)
	VSUBSD      X5, X5, X7
	VADDPD      Y7, Y3, Y3
	ADDQ        $8, DI
	ADDQ        $8, SI
	ADDQ        $8, DX
	DECQ        CX
	JNE         loop1

done:
	VEXTRACTF128 $1, Y3, X4
	VADDPD       X4, X3, X3
	VHADDPD      X3, X3, X3
	VZEROUPPER
	MOVSD        X3, ret+56(FP)
	RET
