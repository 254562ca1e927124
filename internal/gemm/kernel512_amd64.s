//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 float32 micro-kernel: a 12 x 32 tile of C in 24 zmm accumulators
// (two vectors of 16 per row), two zmm of B and rotating broadcasts of A.
// The arithmetic is that of skern6x16 (kernel_amd64.s), per element: an FMA
// chain over p from +0, then c = alpha*acc or alpha*acc + beta*c with both
// products rounded, so the bits are the same whatever the kernel.

#define ZROW(off, bc, acc0, acc1) \
	VBROADCASTSS off(SI), bc; \
	VFMADD231PS  Z0, bc, acc0; \
	VFMADD231PS  Z1, bc, acc1

// Row update c = acc + beta*c (acc already scaled by alpha), Z1 = beta.
#define ZSTOREB(acc0, acc1) \
	VMULPS  (DX), Z1, Z2; \
	VADDPS  Z2, acc0, acc0; \
	VMULPS  64(DX), Z1, Z3; \
	VADDPS  Z3, acc1, acc1; \
	VMOVUPS acc0, (DX); \
	VMOVUPS acc1, 64(DX); \
	ADDQ    R8, DX

#define ZSTORE(acc0, acc1) \
	VMOVUPS acc0, (DX); \
	VMOVUPS acc1, 64(DX); \
	ADDQ    R8, DX

// func skern12x32(k int, a, b, c *float32, ldc int, alpha, beta float32, load int)
TEXT ·skern12x32(SB), NOSPLIT, $0-56
	MOVQ   k+0(FP), CX
	MOVQ   a+8(FP), SI
	MOVQ   b+16(FP), DI
	MOVQ   c+24(FP), DX
	MOVQ   ldc+32(FP), R8
	SHLQ   $2, R8
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	VXORPS Z8, Z8, Z8
	VXORPS Z9, Z9, Z9
	VXORPS Z10, Z10, Z10
	VXORPS Z11, Z11, Z11
	VXORPS Z12, Z12, Z12
	VXORPS Z13, Z13, Z13
	VXORPS Z14, Z14, Z14
	VXORPS Z15, Z15, Z15
	VXORPS Z16, Z16, Z16
	VXORPS Z17, Z17, Z17
	VXORPS Z18, Z18, Z18
	VXORPS Z19, Z19, Z19
	VXORPS Z20, Z20, Z20
	VXORPS Z21, Z21, Z21
	VXORPS Z22, Z22, Z22
	VXORPS Z23, Z23, Z23
	VXORPS Z24, Z24, Z24
	VXORPS Z25, Z25, Z25
	VXORPS Z26, Z26, Z26
	VXORPS Z27, Z27, Z27
	TESTQ  CX, CX
	JEQ    zstore

zloop:
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z1
	ZROW(0, Z2, Z4, Z5)
	ZROW(4, Z3, Z6, Z7)
	ZROW(8, Z28, Z8, Z9)
	ZROW(12, Z29, Z10, Z11)
	ZROW(16, Z30, Z12, Z13)
	ZROW(20, Z31, Z14, Z15)
	ZROW(24, Z2, Z16, Z17)
	ZROW(28, Z3, Z18, Z19)
	ZROW(32, Z28, Z20, Z21)
	ZROW(36, Z29, Z22, Z23)
	ZROW(40, Z30, Z24, Z25)
	ZROW(44, Z31, Z26, Z27)
	ADDQ    $48, SI
	ADDQ    $128, DI
	DECQ    CX
	JNZ     zloop

zstore:
	VBROADCASTSS alpha+40(FP), Z0
	VMULPS       Z0, Z4, Z4
	VMULPS       Z0, Z5, Z5
	VMULPS       Z0, Z6, Z6
	VMULPS       Z0, Z7, Z7
	VMULPS       Z0, Z8, Z8
	VMULPS       Z0, Z9, Z9
	VMULPS       Z0, Z10, Z10
	VMULPS       Z0, Z11, Z11
	VMULPS       Z0, Z12, Z12
	VMULPS       Z0, Z13, Z13
	VMULPS       Z0, Z14, Z14
	VMULPS       Z0, Z15, Z15
	VMULPS       Z0, Z16, Z16
	VMULPS       Z0, Z17, Z17
	VMULPS       Z0, Z18, Z18
	VMULPS       Z0, Z19, Z19
	VMULPS       Z0, Z20, Z20
	VMULPS       Z0, Z21, Z21
	VMULPS       Z0, Z22, Z22
	VMULPS       Z0, Z23, Z23
	VMULPS       Z0, Z24, Z24
	VMULPS       Z0, Z25, Z25
	VMULPS       Z0, Z26, Z26
	VMULPS       Z0, Z27, Z27
	MOVQ         load+48(FP), AX
	TESTQ        AX, AX
	JEQ          znobeta
	VBROADCASTSS beta+44(FP), Z1
	ZSTOREB(Z4, Z5)
	ZSTOREB(Z6, Z7)
	ZSTOREB(Z8, Z9)
	ZSTOREB(Z10, Z11)
	ZSTOREB(Z12, Z13)
	ZSTOREB(Z14, Z15)
	ZSTOREB(Z16, Z17)
	ZSTOREB(Z18, Z19)
	ZSTOREB(Z20, Z21)
	ZSTOREB(Z22, Z23)
	ZSTOREB(Z24, Z25)
	ZSTOREB(Z26, Z27)
	VZEROUPPER
	RET

znobeta:
	ZSTORE(Z4, Z5)
	ZSTORE(Z6, Z7)
	ZSTORE(Z8, Z9)
	ZSTORE(Z10, Z11)
	ZSTORE(Z12, Z13)
	ZSTORE(Z14, Z15)
	ZSTORE(Z16, Z17)
	ZSTORE(Z18, Z19)
	ZSTORE(Z20, Z21)
	ZSTORE(Z22, Z23)
	ZSTORE(Z24, Z25)
	ZSTORE(Z26, Z27)
	VZEROUPPER
	RET
