//go:build amd64 && !purego

#include "textflag.h"

// Box-Muller kernels for normal.go; see normal_amd64.go. Each step turns
// pairs of words (w0, w1) into pairs of normals with exactly the operations
// of pairFromWords, in the same order and rounding: the same constants, FMA
// exactly where the Go code calls math.FMA, and otherwise separately rounded
// adds and multiplies (commuted operands give the same IEEE result). Steps
// may differ from the Go code where the result is provably the same: the
// AVX-512 kernels take k from an arithmetic shift and VCVTQQ2PD instead of
// the biased exponent trick AVX2 needs, and form g = 1-f as 2-(1+f) (both
// exact) by a masked subtraction instead of a blend.
//
// R8 points at normTab: constant i is 8 equal quadwords at 64*i(R8) (the
// AVX2 kernels read 32 bytes of it, the AVX-512 kernels broadcast one
// quadword), except LANEIDX, the lane order of the AVX-512 key kernel.

#define M1LO 0(R8)
#define M1HI 64(R8)
#define M2LO 128(R8)
#define M2HI 192(R8)
#define ONE 256(R8)
#define TWO 320(R8)
#define LOGBIAS 384(R8)
#define MANT 448(R8)
#define SQRTHALF 512(R8)
#define EXPMAGIC 576(R8)
#define EXPMAGICK 640(R8)
#define LC1 704(R8)
#define LC2 768(R8)
#define LC3 832(R8)
#define LC4 896(R8)
#define LC5 960(R8)
#define LC6 1024(R8)
#define LC7 1088(R8)
#define M2LN2HI 1152(R8)
#define M2LN2LO 1216(R8)
#define SIGN 1280(R8)
#define PIO2HI 1344(R8)
#define PIO2LO 1408(R8)
#define SIN3 1472(R8)
#define SIN5 1536(R8)
#define SIN7 1600(R8)
#define SIN9 1664(R8)
#define SIN11 1728(R8)
#define SIN13 1792(R8)
#define COS2 1856(R8)
#define COS4 1920(R8)
#define COS6 1984(R8)
#define COS8 2048(R8)
#define COS10 2112(R8)
#define COS12 2176(R8)
#define COS14 2240(R8)
#define M1 2304(R8)
#define M2 2368(R8)
#define LANEIDX 2432(R8)

// ---- AVX2 + FMA: 4 pairs per step in YMM registers ----

// z *= the constant with 32-bit halves lo, hi (mod 2^64), from three 32x32->64
// products: lo(z) lo + ((hi(z) lo + lo(z) hi) << 32). t0, t1, t2 are scratch.
#define MUL64(z, lo, hi, t0, t1, t2) \
	VPMULUDQ lo, z, t0 \
	; VPSRLQ $32, z, t1 \
	; VPMULUDQ lo, t1, t1 \
	; VPMULUDQ hi, z, t2 \
	; VPADDQ t2, t1, t1 \
	; VPSLLQ $32, t1, t1 \
	; VPADDQ t1, t0, z

// out = mix64(in), the SplitMix64 finaliser.
#define MIX(in, out, t0, t1, t2) \
	VPSRLQ $30, in, t0 \
	; VPXOR t0, in, out \
	; MUL64(out, M1LO, M1HI, t0, t1, t2) \
	; VPSRLQ $27, out, t0 \
	; VPXOR t0, out, out \
	; MUL64(out, M2LO, M2HI, t0, t1, t2) \
	; VPSRLQ $31, out, t0 \
	; VPXOR t0, out, out

// From w0 in Y0 and w1 in Y1 of the pairs in lanes [a b c d], BOXMULLER
// leaves Y0 = [xa ya xc yc] and Y1 = [xb yb xd yd]. Uses Y0-Y11.
#define BOXMULLER \
	/* radius: u1 = 2 - (1 + m 2^-52), m = w0 >> 12 */ \
	VPSRLQ $12, Y0, Y2 \
	; VPOR ONE, Y2, Y2 \
	; VMOVUPD TWO, Y3 \
	; VSUBPD Y2, Y3, Y2 \
	/* t = bits(u1) - logBias, e = t >> 52 = k + 64, f, kd */ \
	; VPSUBQ LOGBIAS, Y2, Y3 \
	; VPSRLQ $52, Y3, Y4 \
	; VPAND MANT, Y3, Y3 \
	; VPADDQ SQRTHALF, Y3, Y3 \
	; VSUBPD ONE, Y3, Y3 \
	; VPOR EXPMAGIC, Y4, Y4 \
	; VSUBPD EXPMAGICK, Y4, Y4 \
	/* s = f/(2+f), z = s^2, z2 = z^2 */ \
	; VADDPD TWO, Y3, Y5 \
	; VDIVPD Y5, Y3, Y5 \
	; VMULPD Y5, Y5, Y6 \
	; VMULPD Y6, Y6, Y7 \
	/* p by Estrin (LC7, a3, a2, a1) */ \
	; VMOVUPD LC6, Y9 \
	; VFMADD213PD LC5, Y6, Y9 \
	; VMOVUPD LC7, Y8 \
	; VFMADD213PD Y9, Y7, Y8 \
	; VMOVUPD LC4, Y9 \
	; VFMADD213PD LC3, Y6, Y9 \
	; VFMADD213PD Y9, Y7, Y8 \
	; VMOVUPD LC2, Y9 \
	; VFMADD213PD LC1, Y6, Y9 \
	; VFMADD213PD Y9, Y7, Y8 \
	/* q = f f, rq = p z - q, w = s rq + kd m2Ln2Lo, v = (q + w) - (f + f) */ \
	; VMULPD Y3, Y3, Y9 \
	; VFMSUB213PD Y9, Y6, Y8 \
	; VMULPD M2LN2LO, Y4, Y10 \
	; VFMADD213PD Y10, Y5, Y8 \
	; VADDPD Y8, Y9, Y8 \
	; VADDPD Y3, Y3, Y9 \
	; VSUBPD Y9, Y8, Y8 \
	/* radius = sqrt(kd m2Ln2Hi + v) in Y8 */ \
	; VFMADD231PD M2LN2HI, Y4, Y8 \
	; VSQRTPD Y8, Y8 \
	/* direction: f = bits 61..10 of w1 as a fraction, g = bit 61 ? 1-f : f */ \
	; VPSLLQ $2, Y1, Y2 \
	; VPSRLQ $12, Y2, Y3 \
	; VPOR ONE, Y3, Y3 \
	; VSUBPD ONE, Y3, Y3 \
	; VMOVUPD ONE, Y4 \
	; VSUBPD Y3, Y4, Y4 \
	; VBLENDVPD Y2, Y4, Y3, Y3 \
	; VMULPD Y3, Y3, Y4 \
	; VMULPD Y4, Y4, Y5 \
	/* sin((pi/2) g) in Y6 */ \
	; VMOVUPD SIN13, Y6 \
	; VFMADD213PD SIN11, Y4, Y6 \
	; VMOVUPD SIN9, Y7 \
	; VFMADD213PD SIN7, Y4, Y7 \
	; VFMADD213PD Y7, Y5, Y6 \
	; VMOVUPD SIN5, Y7 \
	; VFMADD213PD SIN3, Y4, Y7 \
	; VFMADD213PD Y7, Y5, Y6 \
	; VFMADD213PD PIO2LO, Y4, Y6 \
	; VMULPD Y3, Y6, Y6 \
	; VFMADD231PD PIO2HI, Y3, Y6 \
	/* cos((pi/2) g) in Y11: Q, h = 1 + w cos2, e = w cos2 + (1 - h), h + (w2 Q + e) */ \
	; VMOVUPD COS6, Y7 \
	; VFMADD213PD COS4, Y4, Y7 \
	; VMOVUPD COS10, Y9 \
	; VFMADD213PD COS8, Y4, Y9 \
	; VMOVUPD COS14, Y11 \
	; VFMADD213PD COS12, Y4, Y11 \
	; VFMADD213PD Y9, Y5, Y11 \
	; VFMADD213PD Y7, Y5, Y11 \
	; VMOVUPD COS2, Y7 \
	; VFMADD213PD ONE, Y4, Y7 \
	; VMOVUPD ONE, Y9 \
	; VSUBPD Y7, Y9, Y9 \
	; VFMADD231PD COS2, Y4, Y9 \
	; VFMADD231PD Y11, Y5, Y9 \
	; VADDPD Y9, Y7, Y11 \
	/* swap on bit62^bit61; sign of cos bit63^bit62, of sin bit63 */ \
	; VPSLLQ $1, Y1, Y4 \
	; VPXOR Y2, Y4, Y5 \
	; VBLENDVPD Y5, Y6, Y11, Y9 \
	; VBLENDVPD Y5, Y11, Y6, Y10 \
	; VPXOR Y1, Y4, Y4 \
	; VPAND SIGN, Y4, Y4 \
	; VXORPD Y4, Y9, Y9 \
	; VPAND SIGN, Y1, Y1 \
	; VXORPD Y1, Y10, Y10 \
	/* x = r cos, y = r sin, interleaved */ \
	; VMULPD Y8, Y9, Y9 \
	; VMULPD Y8, Y10, Y10 \
	; VUNPCKLPD Y10, Y9, Y0 \
	; VUNPCKHPD Y10, Y9, Y1

// func normalsKeysAVX2(dst *float64, keys *Key, nk int, p uint64, n, stride int, tab *[tabLen][8]uint64)
//
// Pairs p, ..., p+n-1 of keys[0:nk], n a positive multiple of 4, row r to
// dst + 8 r stride bytes. Per row, lanes hold pairs [p, p+2, p+1, p+3] so
// that BOXMULLER's unpacking writes them in order: Y14 holds their w0
// counters Seed + 2(p+j) Gamma, Y12 Gamma (the w1 counters are one Gamma
// on), Y13 the step 8 Gamma. The counters go from general registers to Y14
// by register moves, not through memory: a vector load of four scalar
// stores cannot be forwarded and would wait for the stores to retire, that
// is for the whole previous row, so rows could not overlap.
TEXT ·normalsKeysAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ keys+8(FP), SI
	MOVQ nk+16(FP), R11
	MOVQ p+24(FP), R12
	MOVQ n+32(FP), R13
	MOVQ stride+40(FP), R10
	MOVQ tab+48(FP), R8
	SHLQ $1, R12
	SHLQ $3, R10
keysrow2:
	MOVQ 8(SI), BX
	MOVQ R12, CX
	IMULQ BX, CX
	ADDQ 0(SI), CX
	ADDQ BX, BX
	LEAQ (CX)(BX*2), AX
	VMOVQ CX, X14
	VPINSRQ $1, AX, X14, X14
	ADDQ BX, CX
	LEAQ (CX)(BX*2), AX
	VMOVQ CX, X15
	VPINSRQ $1, AX, X15, X15
	VINSERTI128 $1, X15, Y14, Y14
	VPBROADCASTQ 8(SI), Y12
	VPSLLQ $3, Y12, Y13
	MOVQ DI, AX
	MOVQ R13, CX
keysloop2:
	VPADDQ Y12, Y14, Y15
	MIX(Y14, Y0, Y2, Y3, Y4)
	MIX(Y15, Y1, Y5, Y6, Y7)
	VPADDQ Y13, Y14, Y14
	BOXMULLER
	VMOVUPD Y0, 0(AX)
	VMOVUPD Y1, 32(AX)
	ADDQ $64, AX
	SUBQ $4, CX
	JNZ keysloop2
	ADDQ $16, SI
	ADDQ R10, DI
	DECQ R11
	JNZ keysrow2
	VZEROUPPER
	RET

// func normalsRowsAVX2(dst *float64, keys *Key, p uint64, n int, tab *[tabLen][8]uint64)
//
// Pair p of keys[0:n], n a positive multiple of 4. Two loads give
// [S0 G0 S1 G1] and [S2 G2 S3 G3]; unpacking gives Seed and Gamma of rows
// [0 2 1 3], so BOXMULLER writes rows 0, 1 then 2, 3. Y12 and Y13 hold the
// 32-bit halves of 2p.
TEXT ·normalsRowsAVX2(SB), NOSPLIT, $16-40
	MOVQ dst+0(FP), DI
	MOVQ keys+8(FP), SI
	MOVQ p+16(FP), AX
	MOVQ n+24(FP), DX
	MOVQ tab+32(FP), R8
	SHLQ $1, AX
	MOVQ AX, 0(SP)
	MOVQ AX, BX
	SHRQ $32, BX
	MOVQ BX, 8(SP)
	VPBROADCASTQ 0(SP), Y12
	VPBROADCASTQ 8(SP), Y13
rowsloop2:
	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	VPUNPCKLQDQ Y1, Y0, Y10
	VPUNPCKHQDQ Y1, Y0, Y11
	VMOVDQU Y11, Y4
	MUL64(Y4, Y12, Y13, Y5, Y6, Y7)
	VPADDQ Y10, Y4, Y4
	VPADDQ Y11, Y4, Y5
	MIX(Y4, Y0, Y2, Y3, Y6)
	MIX(Y5, Y1, Y7, Y8, Y9)
	BOXMULLER
	VMOVUPD Y0, 0(DI)
	VMOVUPD Y1, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $4, DX
	JNZ rowsloop2
	VZEROUPPER
	RET

// ---- AVX-512 (F, DQ): 16 pairs per step in ZMM registers ----
//
// A step runs two independent groups of 8 lanes, A in Z0-Z11 (K1, K2) and B
// in Z16-Z27 (K3, K4), stage by stage (A's stage, then B's): the divide,
// polynomial and square-root chains are long, and two of them in one window
// of the out-of-order core kept it about 25% busier than one. Z29-Z31 hold
// SIGN, 2 and 1 for the whole call; other constants are broadcast from
// memory. Blends take their mask from sign bits (VPMOVQ2M), and each sign
// flip is one VPTERNLOGQ computing a ^ (b & SIGN) (truth table 0x78).
//
// The stages below compute BOXMULLER on 8 lanes: from w0 in r0 and w1 in r1
// of lanes [a b c d e f g h] they leave r0 = [xa ya xc yc xe ye xg yg] and
// r1 = [xb yb xd yd xf yf xh yh], using r0-r11, ka and kb.

// out = mix64(in), the products by VPMULLQ; in may be out.
#define MIX512(in, out, t0) \
	VPSRLQ $30, in, t0 \
	; VPXORQ t0, in, out \
	; VPMULLQ.BCST M1, out, out \
	; VPSRLQ $27, out, t0 \
	; VPXORQ t0, out, out \
	; VPMULLQ.BCST M2, out, out \
	; VPSRLQ $31, out, t0 \
	; VPXORQ t0, out, out

// RADIUS1: u1 = 2 - (1 + m 2^-52), m = w0 >> 12; t = bits(u1) - sqrtHalf as a signed
// number; k = t >> 52 (arithmetic), kd = float(k); f; s = f/(2+f).
#define RADIUS1(r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, ka, kb) \
	VPSRLQ $12, r0, r2 \
	; VPORQ Z31, r2, r2 \
	; VSUBPD r2, Z30, r2 \
	; VPSUBQ.BCST SQRTHALF, r2, r3 \
	; VPSRAQ $52, r3, r4 \
	; VCVTQQ2PD r4, r4 \
	; VPANDQ.BCST MANT, r3, r3 \
	; VPADDQ.BCST SQRTHALF, r3, r3 \
	; VSUBPD Z31, r3, r3 \
	; VADDPD Z30, r3, r5 \
	; VDIVPD r5, r3, r5

// RADIUS2: z = s^2, z2 = z^2, p by Estrin (LC7, pieces a3 .. a1).
#define RADIUS2(r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, ka, kb) \
	VMULPD r5, r5, r6 \
	; VMULPD r6, r6, r7 \
	; VBROADCASTSD LC6, r9 \
	; VFMADD213PD.BCST LC5, r6, r9 \
	; VBROADCASTSD LC7, r8 \
	; VFMADD213PD r9, r7, r8 \
	; VBROADCASTSD LC4, r9 \
	; VFMADD213PD.BCST LC3, r6, r9 \
	; VFMADD213PD r9, r7, r8 \
	; VBROADCASTSD LC2, r9 \
	; VFMADD213PD.BCST LC1, r6, r9 \
	; VFMADD213PD r9, r7, r8

// RADIUS3: q = f f, rq = p z - q, w = s rq + kd m2Ln2Lo,
// v = (q + w) - (f + f), radius = sqrt(kd m2Ln2Hi + v) in r8.
#define RADIUS3(r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, ka, kb) \
	VMULPD r3, r3, r9 \
	; VFMSUB213PD r9, r6, r8 \
	; VMULPD.BCST M2LN2LO, r4, r10 \
	; VFMADD213PD r10, r5, r8 \
	; VADDPD r8, r9, r8 \
	; VADDPD r3, r3, r9 \
	; VSUBPD r9, r8, r8 \
	; VFMADD231PD.BCST M2LN2HI, r4, r8 \
	; VSQRTPD r8, r8

// ANGLE1: f = bits 61..10 of w1 as a fraction, g = (bit 61 ? 1-f : f), w = g^2,
// w2 = w^2; r2 keeps w1 << 2 for ANGLE4. With y = 1+f in r4, f = y - 1 and,
// in the lanes of bit 61 (a merge-masked subtraction), 1-f = 2 - y; both
// are exact, so this is the Go code's g.
#define ANGLE1(r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, ka, kb) \
	VPSLLQ $2, r1, r2 \
	; VPSRLQ $12, r2, r4 \
	; VPORQ Z31, r4, r4 \
	; VPMOVQ2M r2, ka \
	; VSUBPD Z31, r4, r3 \
	; VSUBPD r4, Z30, ka, r3 \
	; VMULPD r3, r3, r4 \
	; VMULPD r4, r4, r5

// ANGLE2: sin((pi/2) g) in r6.
#define ANGLE2(r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, ka, kb) \
	VBROADCASTSD SIN13, r6 \
	; VFMADD213PD.BCST SIN11, r4, r6 \
	; VBROADCASTSD SIN9, r7 \
	; VFMADD213PD.BCST SIN7, r4, r7 \
	; VFMADD213PD r7, r5, r6 \
	; VBROADCASTSD SIN5, r7 \
	; VFMADD213PD.BCST SIN3, r4, r7 \
	; VFMADD213PD r7, r5, r6 \
	; VFMADD213PD.BCST PIO2LO, r4, r6 \
	; VMULPD r3, r6, r6 \
	; VFMADD231PD.BCST PIO2HI, r3, r6

// ANGLE3: cos((pi/2) g) in r11: Q by Estrin, h = 1 + w cos2 in r7, its
// rounding error e = w cos2 + (1 - h), then h + (w2 Q + e).
#define ANGLE3(r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, ka, kb) \
	VBROADCASTSD COS6, r7 \
	; VFMADD213PD.BCST COS4, r4, r7 \
	; VBROADCASTSD COS10, r9 \
	; VFMADD213PD.BCST COS8, r4, r9 \
	; VBROADCASTSD COS14, r11 \
	; VFMADD213PD.BCST COS12, r4, r11 \
	; VFMADD213PD r9, r5, r11 \
	; VFMADD213PD r7, r5, r11 \
	; VBROADCASTSD COS2, r7 \
	; VFMADD213PD Z31, r4, r7 \
	; VSUBPD r7, Z31, r9 \
	; VFMADD231PD.BCST COS2, r4, r9 \
	; VFMADD231PD r11, r5, r9 \
	; VADDPD r9, r7, r11

// ANGLE4: swap on bit62^bit61, sign of cos bit63^bit62 and of sin bit63;
// x = r cos, y = r sin; r0 = [xa ya xc yc ...], r1 = [xb yb xd yd ...].
#define ANGLE4(r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, ka, kb) \
	VPSLLQ $1, r1, r4 \
	; VPXORQ r2, r4, r5 \
	; VPMOVQ2M r5, kb \
	; VBLENDMPD r6, r11, kb, r9 \
	; VBLENDMPD r11, r6, kb, r10 \
	; VPXORQ r1, r4, r4 \
	; VPTERNLOGQ $0x78, Z29, r4, r9 \
	; VPTERNLOGQ $0x78, Z29, r1, r10 \
	; VMULPD r8, r9, r9 \
	; VMULPD r8, r10, r10 \
	; VUNPCKLPD r10, r9, r0 \
	; VUNPCKHPD r10, r9, r1

#define BOXMULLER512X2 \
	RADIUS1(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, K1, K2) \
	; RADIUS1(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, K3, K4) \
	; RADIUS2(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, K1, K2) \
	; RADIUS2(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, K3, K4) \
	; RADIUS3(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, K1, K2) \
	; RADIUS3(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, K3, K4) \
	; ANGLE1(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, K1, K2) \
	; ANGLE1(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, K3, K4) \
	; ANGLE2(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, K1, K2) \
	; ANGLE2(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, K3, K4) \
	; ANGLE3(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, K1, K2) \
	; ANGLE3(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, K3, K4) \
	; ANGLE4(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, K1, K2) \
	; ANGLE4(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, K3, K4)

#define LOADCONST512 \
	VPBROADCASTQ SIGN, Z29 \
	; VBROADCASTSD TWO, Z30 \
	; VBROADCASTSD ONE, Z31

// func normalsKeysAVX512(dst *float64, keys *Key, nk int, p uint64, n, stride int, tab *[tabLen][8]uint64)
//
// Pairs p, ..., p+n-1 of keys[0:nk], n a positive multiple of 16, row r to
// dst + 8 r stride bytes. Per row, group A holds pairs p + [0 4 1 5 2 6 3 7]
// (LANEIDX), so that the unpacking in ANGLE4 writes them in order, and B the
// same plus 8. Z28 holds 2p + 2 LANEIDX for the whole call; per row, Z14 and
// Z15 hold the w0 counters Seed + (2p + 2 LANEIDX) Gamma of A and B, Z12
// Gamma (the w1 counters are one Gamma on), Z13 the step 32 Gamma.
TEXT ·normalsKeysAVX512(SB), NOSPLIT, $8-56
	MOVQ dst+0(FP), DI
	MOVQ keys+8(FP), SI
	MOVQ nk+16(FP), R11
	MOVQ p+24(FP), R12
	MOVQ n+32(FP), R13
	MOVQ stride+40(FP), R10
	MOVQ tab+48(FP), R8
	LOADCONST512
	SHLQ $1, R12
	SHLQ $3, R10
	MOVQ R12, 0(SP)
	VMOVDQU64 LANEIDX, Z28
	VPADDQ Z28, Z28, Z28
	VPADDQ.BCST 0(SP), Z28, Z28
keysrow512:
	VPBROADCASTQ 8(SI), Z12
	VPMULLQ Z28, Z12, Z14
	VPADDQ.BCST 0(SI), Z14, Z14
	VPSLLQ $4, Z12, Z13
	VPADDQ Z13, Z14, Z15
	VPADDQ Z13, Z13, Z13
	MOVQ DI, AX
	MOVQ R13, CX
keysloop512:
	VPADDQ Z12, Z14, Z1
	VPADDQ Z12, Z15, Z17
	MIX512(Z14, Z0, Z2)
	MIX512(Z15, Z16, Z18)
	MIX512(Z1, Z1, Z3)
	MIX512(Z17, Z17, Z19)
	VPADDQ Z13, Z14, Z14
	VPADDQ Z13, Z15, Z15
	BOXMULLER512X2
	VMOVUPD Z0, 0(AX)
	VMOVUPD Z1, 64(AX)
	VMOVUPD Z16, 128(AX)
	VMOVUPD Z17, 192(AX)
	ADDQ $256, AX
	SUBQ $16, CX
	JNZ keysloop512
	ADDQ $16, SI
	ADDQ R10, DI
	DECQ R11
	JNZ keysrow512
	VZEROUPPER
	RET

// func normalsRowsAVX512(dst *float64, keys *Key, p uint64, n int, tab *[tabLen][8]uint64)
//
// Pair p of keys[0:n], n a positive multiple of 16; group A takes rows 0-7,
// B rows 8-15. Two loads give the keys of rows 0-3 and 4-7; unpacking gives
// Seed and Gamma of rows [0 4 1 5 2 6 3 7], so ANGLE4 writes rows 0-3 then
// 4-7. Z12 holds 2p.
TEXT ·normalsRowsAVX512(SB), NOSPLIT, $8-40
	MOVQ dst+0(FP), DI
	MOVQ keys+8(FP), SI
	MOVQ p+16(FP), AX
	MOVQ n+24(FP), DX
	MOVQ tab+32(FP), R8
	LOADCONST512
	SHLQ $1, AX
	MOVQ AX, 0(SP)
	VPBROADCASTQ 0(SP), Z12
rowsloop512:
	VMOVDQU64 0(SI), Z0
	VMOVDQU64 64(SI), Z1
	VMOVDQU64 128(SI), Z16
	VMOVDQU64 192(SI), Z17
	VPUNPCKLQDQ Z1, Z0, Z10
	VPUNPCKHQDQ Z1, Z0, Z11
	VPUNPCKLQDQ Z17, Z16, Z26
	VPUNPCKHQDQ Z17, Z16, Z27
	VPMULLQ Z12, Z11, Z4
	VPMULLQ Z12, Z27, Z20
	VPADDQ Z10, Z4, Z4
	VPADDQ Z26, Z20, Z20
	VPADDQ Z11, Z4, Z5
	VPADDQ Z27, Z20, Z21
	MIX512(Z4, Z0, Z2)
	MIX512(Z20, Z16, Z18)
	MIX512(Z5, Z1, Z3)
	MIX512(Z21, Z17, Z19)
	BOXMULLER512X2
	VMOVUPD Z0, 0(DI)
	VMOVUPD Z1, 64(DI)
	VMOVUPD Z16, 128(DI)
	VMOVUPD Z17, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $16, DX
	JNZ rowsloop512
	VZEROUPPER
	RET
