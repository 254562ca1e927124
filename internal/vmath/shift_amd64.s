// AVX2 kernel of ShiftCut; see shift.go.

//go:build amd64 && !purego

#include "textflag.h"

DATA shiftNegInf<>+0(SB)/8, $0xfff0000000000000
GLOBL shiftNegInf<>(SB), RODATA|NOPTR, $8

// func shiftCutAVX2(l, m *float64, n int, cut float64)
// n is a multiple of 4.
TEXT ·shiftCutAVX2(SB), NOSPLIT, $0-32
	MOVQ         l+0(FP), DI
	MOVQ         m+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSD cut+24(FP), Y4
	VBROADCASTSD shiftNegInf<>(SB), Y5

loop:
	TESTQ     CX, CX
	JEQ       done
	VMOVUPD   (DI), Y0
	VSUBPD    (SI), Y0, Y0    // e = l - m
	VCMPPD    $0x1e, Y4, Y0, Y1 // e > cut, ordered (false for NaN)
	VBLENDVPD Y1, Y0, Y5, Y2  // keep e where the compare holds, else -Inf
	VMOVUPD   Y2, (DI)
	ADDQ      $32, DI
	ADDQ      $32, SI
	SUBQ      $4, CX
	JMP       loop

done:
	VZEROUPPER
	RET
