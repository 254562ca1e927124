// AVX2 kernels of the U-Net's GroupNorm in float32 (unet_gnorm.go): rows of
// c floats (c a multiple of 8), per-channel vectors of c. The loops run over
// 8-channel columns (outer) and rows (inner), so each channel's sums run
// over the rows in order, and every operation is a separate rounded
// multiply or add: the bits of the Go loops they replace.

//go:build amd64 && !purego

#include "textflag.h"

// func gnStats32(x *float32, rows, c int, s, q *float32)
// s[j] += x[r][j], q[j] += x[r][j]*x[r][j] for r = 0..rows-1.
TEXT ·gnStats32(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ rows+8(FP), R8
	MOVQ c+16(FP), R10
	SHLQ $2, R10
	MOVQ s+24(FP), DI
	MOVQ q+32(FP), DX
	XORQ BX, BX

stj:
	CMPQ    BX, R10
	JGE     stdone
	VMOVUPS (DI)(BX*1), Y0
	VMOVUPS (DX)(BX*1), Y1
	LEAQ    (SI)(BX*1), AX
	MOVQ    R8, CX

str:
	TESTQ   CX, CX
	JEQ     stend
	VMOVUPS (AX), Y2
	VADDPS  Y2, Y0, Y0
	VMULPS  Y2, Y2, Y3
	VADDPS  Y3, Y1, Y1
	ADDQ    R10, AX
	DECQ    CX
	JMP     str

stend:
	VMOVUPS Y0, (DI)(BX*1)
	VMOVUPS Y1, (DX)(BX*1)
	ADDQ    $32, BX
	JMP     stj

stdone:
	VZEROUPPER
	RET

// func gnScale32(z, x, a *float32, rows, c int)
// z[r][j] = x[r][j] * a[j].
TEXT ·gnScale32(SB), NOSPLIT, $0-40
	MOVQ z+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ a+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ c+32(FP), R10
	SHLQ $2, R10
	XORQ BX, BX

scj:
	CMPQ    BX, R10
	JGE     scdone
	VMOVUPS (DX)(BX*1), Y0
	LEAQ    (SI)(BX*1), AX
	LEAQ    (DI)(BX*1), R9
	MOVQ    R8, CX

scr:
	TESTQ   CX, CX
	JEQ     scend
	VMULPS  (AX), Y0, Y1
	VMOVUPS Y1, (R9)
	ADDQ    R10, AX
	ADDQ    R10, R9
	DECQ    CX
	JMP     scr

scend:
	ADDQ $32, BX
	JMP  scj

scdone:
	VZEROUPPER
	RET

// func gnBack32(x, s, dy, d, a, b *float32, rows, c int, s1, s2 *float32)
// z = x*a + b, g = dy * (s * (1 + z*(1 - s))), d = g, s1 += g, s2 += g*x.
TEXT ·gnBack32(SB), NOSPLIT, $0-80
	MOVQ x+0(FP), SI
	MOVQ s+8(FP), R11
	MOVQ dy+16(FP), R12
	MOVQ d+24(FP), R13
	MOVQ rows+48(FP), R8
	MOVQ c+56(FP), R10
	SHLQ $2, R10
	MOVL $0x3f800000, AX
	VMOVD AX, X15
	VBROADCASTSS X15, Y15
	XORQ BX, BX

gbj:
	CMPQ    BX, R10
	JGE     gbdone
	MOVQ    a+32(FP), AX
	VMOVUPS (AX)(BX*1), Y0
	MOVQ    b+40(FP), AX
	VMOVUPS (AX)(BX*1), Y1
	MOVQ    s1+64(FP), AX
	VMOVUPS (AX)(BX*1), Y2
	MOVQ    s2+72(FP), AX
	VMOVUPS (AX)(BX*1), Y3
	MOVQ    BX, DX
	MOVQ    R8, CX

gbr:
	TESTQ   CX, CX
	JEQ     gbend
	VMOVUPS (SI)(DX*1), Y4   // x
	VMOVUPS (R11)(DX*1), Y5  // s
	VMULPS  Y0, Y4, Y6       // x*a
	VADDPS  Y1, Y6, Y6       // z
	VSUBPS  Y5, Y15, Y7      // 1 - s
	VMULPS  Y7, Y6, Y7       // z*(1-s)
	VADDPS  Y15, Y7, Y7      // 1 + ...
	VMULPS  Y7, Y5, Y7       // s*(...)
	VMULPS  (R12)(DX*1), Y7, Y7 // g = dy*(...)
	VMOVUPS Y7, (R13)(DX*1)
	VADDPS  Y7, Y2, Y2
	VMULPS  Y4, Y7, Y8
	VADDPS  Y8, Y3, Y3
	ADDQ    R10, DX
	DECQ    CX
	JMP     gbr

gbend:
	MOVQ    s1+64(FP), AX
	VMOVUPS Y2, (AX)(BX*1)
	MOVQ    s2+72(FP), AX
	VMOVUPS Y3, (AX)(BX*1)
	ADDQ    $32, BX
	JMP     gbj

gbdone:
	VZEROUPPER
	RET

// func gnDx32(dx, dz, x, p, q, m, r *float32, rows, c, add int)
// v = (p*dz + q*(x - m)) + r; dx = v, or dx += v when add != 0.
TEXT ·gnDx32(SB), NOSPLIT, $0-80
	MOVQ dx+0(FP), DI
	MOVQ dz+8(FP), R11
	MOVQ x+16(FP), SI
	MOVQ rows+56(FP), R8
	MOVQ c+64(FP), R10
	SHLQ $2, R10
	MOVQ add+72(FP), R12
	XORQ BX, BX

dxj:
	CMPQ    BX, R10
	JGE     dxdone
	MOVQ    p+24(FP), AX
	VMOVUPS (AX)(BX*1), Y0
	MOVQ    q+32(FP), AX
	VMOVUPS (AX)(BX*1), Y1
	MOVQ    m+40(FP), AX
	VMOVUPS (AX)(BX*1), Y2
	MOVQ    r+48(FP), AX
	VMOVUPS (AX)(BX*1), Y3
	MOVQ    BX, DX
	MOVQ    R8, CX

dxr:
	TESTQ   CX, CX
	JEQ     dxend
	VMULPS  (R11)(DX*1), Y0, Y4 // p*dz
	VMOVUPS (SI)(DX*1), Y5
	VSUBPS  Y2, Y5, Y5          // x - m
	VMULPS  Y5, Y1, Y5          // q*(x-m)
	VADDPS  Y5, Y4, Y4
	VADDPS  Y3, Y4, Y4          // + r
	TESTQ   R12, R12
	JEQ     dxstore
	VADDPS  (DI)(DX*1), Y4, Y4

dxstore:
	VMOVUPS Y4, (DI)(DX*1)
	ADDQ    R10, DX
	DECQ    CX
	JMP     dxr

dxend:
	ADDQ $32, BX
	JMP  dxj

dxdone:
	VZEROUPPER
	RET

// func colSum32(x *float32, rows, c int, s *float32)
// s[j] += x[r][j] for r = 0..rows-1.
TEXT ·colSum32(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ rows+8(FP), R8
	MOVQ c+16(FP), R10
	SHLQ $2, R10
	MOVQ s+24(FP), DI
	XORQ BX, BX

csj:
	CMPQ    BX, R10
	JGE     csdone
	VMOVUPS (DI)(BX*1), Y0
	LEAQ    (SI)(BX*1), AX
	MOVQ    R8, CX

csr:
	TESTQ   CX, CX
	JEQ     csend
	VADDPS  (AX), Y0, Y0
	ADDQ    R10, AX
	DECQ    CX
	JMP     csr

csend:
	VMOVUPS Y0, (DI)(BX*1)
	ADDQ    $32, BX
	JMP     csj

csdone:
	VZEROUPPER
	RET
