//go:build amd64 && !purego

#include "textflag.h"

// func expAVX2(dst, x *float64, n int, tab *expTable)
//
// For i < n (a multiple of 4): dst[i] = e^x[i], with the operations of
// expGeneric (exp.go) in the same order in every lane. The main loop does 8
// values (two independent groups of 4, interleaved so that one group's
// fused multiply-adds fill the other's latency), then one group of 4 if
// n%8 == 4. tab holds the constants in the order of expTab, 32 bytes each:
//
//	0 lo, 32 hi, 64 log2e, 96 magic, 128 ln2hi, 160 ln2lo, 192 bias, 224 one,
//	256 c12, 288 c10, 320 c8, 352 c6, 384 c4, 416 c2,
//	448 c13, 480 c11, 512 c9, 544 c7, 576 c5, 608 c3.
//
// Registers: Y11 lo, Y12 hi, Y13 log2e, Y14 magic, Y15 one; group A uses
// Y0-Y4, group B Y5-Y9 (x then r, t, r2 then 2^a, qe then 2^b, qo then p).
TEXT ·expAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ tab+24(FP), DX
	SHLQ $3, CX
	JZ   done
	VMOVUPD 0(DX), Y11   // lo
	VMOVUPD 32(DX), Y12  // hi
	VMOVUPD 64(DX), Y13  // log2e
	VMOVUPD 96(DX), Y14  // magic
	VMOVUPD 224(DX), Y15 // 1
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $~63, BX        // bytes in whole groups of 8 values
	JZ   four

loop8:
	VMOVUPD (SI)(AX*1), Y0 // x
	VMOVUPD (32)(SI)(AX*1), Y5
	VMAXPD Y0, Y11, Y0 // max(lo, x); a NaN x is kept
	VMAXPD Y5, Y11, Y5
	VMINPD Y0, Y12, Y0 // min(hi, x); a NaN x is kept
	VMINPD Y5, Y12, Y5
	VMOVAPD Y14, Y1
	VMOVAPD Y14, Y6
	VFMADD231PD Y13, Y0, Y1 // t = x log2e + magic, n in its low bits
	VFMADD231PD Y13, Y5, Y6
	VSUBPD Y14, Y1, Y2 // n = t - magic
	VSUBPD Y14, Y6, Y7
	VFNMADD231PD 128(DX), Y2, Y0 // r = x - n ln2hi (exact)
	VFNMADD231PD 128(DX), Y7, Y5
	VFNMADD231PD 160(DX), Y2, Y0 // r -= n ln2lo
	VFNMADD231PD 160(DX), Y7, Y5
	VMULPD Y0, Y0, Y2 // r2 = r r
	VMULPD Y5, Y5, Y7
	VMOVUPD 288(DX), Y3
	VMOVUPD 288(DX), Y8
	VFMADD231PD 256(DX), Y2, Y3 // qe = c12 r2 + c10
	VFMADD231PD 256(DX), Y7, Y8
	VMOVUPD 480(DX), Y4
	VMOVUPD 480(DX), Y9
	VFMADD231PD 448(DX), Y2, Y4 // qo = c13 r2 + c11
	VFMADD231PD 448(DX), Y7, Y9
	VFMADD213PD 320(DX), Y2, Y3 // qe = qe r2 + c8
	VFMADD213PD 320(DX), Y7, Y8
	VFMADD213PD 512(DX), Y2, Y4 // qo = qo r2 + c9
	VFMADD213PD 512(DX), Y7, Y9
	VFMADD213PD 352(DX), Y2, Y3 // c6
	VFMADD213PD 352(DX), Y7, Y8
	VFMADD213PD 544(DX), Y2, Y4 // c7
	VFMADD213PD 544(DX), Y7, Y9
	VFMADD213PD 384(DX), Y2, Y3 // c4
	VFMADD213PD 384(DX), Y7, Y8
	VFMADD213PD 576(DX), Y2, Y4 // c5
	VFMADD213PD 576(DX), Y7, Y9
	VFMADD213PD 416(DX), Y2, Y3 // c2
	VFMADD213PD 416(DX), Y7, Y8
	VFMADD213PD 608(DX), Y2, Y4 // c3
	VFMADD213PD 608(DX), Y7, Y9
	VFMADD213PD Y3, Y0, Y4 // q = qo r + qe
	VFMADD213PD Y8, Y5, Y9
	VFMADD213PD Y15, Y0, Y4 // q r + 1
	VFMADD213PD Y15, Y5, Y9
	VFMADD213PD Y15, Y0, Y4 // p = (q r + 1) r + 1 = e^r
	VFMADD213PD Y15, Y5, Y9
	VPSUBQ 192(DX), Y1, Y1 // m = bits(t) - bias = n + 2046
	VPSUBQ 192(DX), Y6, Y6
	VPSRLQ $1, Y1, Y2 // a + 1023, a = floor(n/2)
	VPSRLQ $1, Y6, Y7
	VPSUBQ Y2, Y1, Y1 // b + 1023, b = n - a
	VPSUBQ Y7, Y6, Y6
	VPSLLQ $52, Y2, Y2 // 2^a
	VPSLLQ $52, Y7, Y7
	VPSLLQ $52, Y1, Y1 // 2^b
	VPSLLQ $52, Y6, Y6
	VMULPD Y2, Y4, Y4 // p 2^a, exact
	VMULPD Y7, Y9, Y9
	VMULPD Y1, Y4, Y4 // p 2^a 2^b, one rounding
	VMULPD Y6, Y9, Y9
	VMOVUPD Y4, (DI)(AX*1)
	VMOVUPD Y9, (32)(DI)(AX*1)
	ADDQ $64, AX
	CMPQ AX, BX
	JB   loop8
	CMPQ AX, CX
	JAE  end

four:
	VMOVUPD (SI)(AX*1), Y0 // x
	VMAXPD Y0, Y11, Y0 // max(lo, x); a NaN x is kept
	VMINPD Y0, Y12, Y0 // min(hi, x); a NaN x is kept
	VMOVAPD Y14, Y1
	VFMADD231PD Y13, Y0, Y1 // t = x log2e + magic, n in its low bits
	VSUBPD Y14, Y1, Y2 // n = t - magic
	VFNMADD231PD 128(DX), Y2, Y0 // r = x - n ln2hi (exact)
	VFNMADD231PD 160(DX), Y2, Y0 // r -= n ln2lo
	VMULPD Y0, Y0, Y2 // r2 = r r
	VMOVUPD 288(DX), Y3
	VFMADD231PD 256(DX), Y2, Y3 // qe = c12 r2 + c10
	VMOVUPD 480(DX), Y4
	VFMADD231PD 448(DX), Y2, Y4 // qo = c13 r2 + c11
	VFMADD213PD 320(DX), Y2, Y3 // qe = qe r2 + c8
	VFMADD213PD 512(DX), Y2, Y4 // qo = qo r2 + c9
	VFMADD213PD 352(DX), Y2, Y3 // c6
	VFMADD213PD 544(DX), Y2, Y4 // c7
	VFMADD213PD 384(DX), Y2, Y3 // c4
	VFMADD213PD 576(DX), Y2, Y4 // c5
	VFMADD213PD 416(DX), Y2, Y3 // c2
	VFMADD213PD 608(DX), Y2, Y4 // c3
	VFMADD213PD Y3, Y0, Y4 // q = qo r + qe
	VFMADD213PD Y15, Y0, Y4 // q r + 1
	VFMADD213PD Y15, Y0, Y4 // p = (q r + 1) r + 1 = e^r
	VPSUBQ 192(DX), Y1, Y1 // m = bits(t) - bias = n + 2046
	VPSRLQ $1, Y1, Y2 // a + 1023, a = floor(n/2)
	VPSUBQ Y2, Y1, Y1 // b + 1023, b = n - a
	VPSLLQ $52, Y2, Y2 // 2^a
	VPSLLQ $52, Y1, Y1 // 2^b
	VMULPD Y2, Y4, Y4 // p 2^a, exact
	VMULPD Y1, Y4, Y4 // p 2^a 2^b, one rounding
	VMOVUPD Y4, (DI)(AX*1)

end:
	VZEROUPPER

done:
	RET
