// AVX2 + FMA3 micro-kernels of gemm.go; see the kernel type there.

//go:build amd64 && !purego

#include "textflag.h"

// One k step of row r: broadcast a[r], two FMAs into the row's accumulators.
// Y0, Y1 hold the k step's row of the B panel.
#define DROW(off, bc, acc0, acc1) \
	VBROADCASTSD off(SI), bc; \
	VFMADD231PD  Y0, bc, acc0; \
	VFMADD231PD  Y1, bc, acc1

#define SROW(off, bc, acc0, acc1) \
	VBROADCASTSS off(SI), bc; \
	VFMADD231PS  Y0, bc, acc0; \
	VFMADD231PS  Y1, bc, acc1

// Row update c = acc + beta*c (acc already scaled by alpha), Y1 = beta.
#define DSTOREB(acc0, acc1) \
	VMULPD  (DX), Y1, Y2; \
	VADDPD  Y2, acc0, acc0; \
	VMULPD  32(DX), Y1, Y3; \
	VADDPD  Y3, acc1, acc1; \
	VMOVUPD acc0, (DX); \
	VMOVUPD acc1, 32(DX); \
	ADDQ    R8, DX

#define SSTOREB(acc0, acc1) \
	VMULPS  (DX), Y1, Y2; \
	VADDPS  Y2, acc0, acc0; \
	VMULPS  32(DX), Y1, Y3; \
	VADDPS  Y3, acc1, acc1; \
	VMOVUPS acc0, (DX); \
	VMOVUPS acc1, 32(DX); \
	ADDQ    R8, DX

#define DSTORE(acc0, acc1) \
	VMOVUPD acc0, (DX); \
	VMOVUPD acc1, 32(DX); \
	ADDQ    R8, DX

#define SSTORE(acc0, acc1) \
	VMOVUPS acc0, (DX); \
	VMOVUPS acc1, 32(DX); \
	ADDQ    R8, DX

// func dkern6x8(k int, a, b, c *float64, ldc int, alpha, beta float64, load int)
TEXT ·dkern6x8(SB), NOSPLIT, $0-64
	MOVQ   k+0(FP), CX
	MOVQ   a+8(FP), SI
	MOVQ   b+16(FP), DI
	MOVQ   c+24(FP), DX
	MOVQ   ldc+32(FP), R8
	SHLQ   $3, R8
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
	VXORPD Y12, Y12, Y12
	VXORPD Y13, Y13, Y13
	VXORPD Y14, Y14, Y14
	VXORPD Y15, Y15, Y15
	TESTQ  CX, CX
	JEQ    dstore

dloop:
	VMOVUPD (DI), Y0
	VMOVUPD 32(DI), Y1
	DROW(0, Y2, Y4, Y5)
	DROW(8, Y3, Y6, Y7)
	DROW(16, Y2, Y8, Y9)
	DROW(24, Y3, Y10, Y11)
	DROW(32, Y2, Y12, Y13)
	DROW(40, Y3, Y14, Y15)
	ADDQ    $48, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     dloop

dstore:
	VBROADCASTSD alpha+40(FP), Y0
	VMULPD       Y0, Y4, Y4
	VMULPD       Y0, Y5, Y5
	VMULPD       Y0, Y6, Y6
	VMULPD       Y0, Y7, Y7
	VMULPD       Y0, Y8, Y8
	VMULPD       Y0, Y9, Y9
	VMULPD       Y0, Y10, Y10
	VMULPD       Y0, Y11, Y11
	VMULPD       Y0, Y12, Y12
	VMULPD       Y0, Y13, Y13
	VMULPD       Y0, Y14, Y14
	VMULPD       Y0, Y15, Y15
	MOVQ         load+56(FP), AX
	TESTQ        AX, AX
	JEQ          dnobeta
	VBROADCASTSD beta+48(FP), Y1
	DSTOREB(Y4, Y5)
	DSTOREB(Y6, Y7)
	DSTOREB(Y8, Y9)
	DSTOREB(Y10, Y11)
	DSTOREB(Y12, Y13)
	DSTOREB(Y14, Y15)
	VZEROUPPER
	RET

dnobeta:
	DSTORE(Y4, Y5)
	DSTORE(Y6, Y7)
	DSTORE(Y8, Y9)
	DSTORE(Y10, Y11)
	DSTORE(Y12, Y13)
	DSTORE(Y14, Y15)
	VZEROUPPER
	RET

// func skern6x16(k int, a, b, c *float32, ldc int, alpha, beta float32, load int)
TEXT ·skern6x16(SB), NOSPLIT, $0-56
	MOVQ   k+0(FP), CX
	MOVQ   a+8(FP), SI
	MOVQ   b+16(FP), DI
	MOVQ   c+24(FP), DX
	MOVQ   ldc+32(FP), R8
	SHLQ   $2, R8
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	TESTQ  CX, CX
	JEQ    sstore

sloop:
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	SROW(0, Y2, Y4, Y5)
	SROW(4, Y3, Y6, Y7)
	SROW(8, Y2, Y8, Y9)
	SROW(12, Y3, Y10, Y11)
	SROW(16, Y2, Y12, Y13)
	SROW(20, Y3, Y14, Y15)
	ADDQ    $24, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     sloop

sstore:
	VBROADCASTSS alpha+40(FP), Y0
	VMULPS       Y0, Y4, Y4
	VMULPS       Y0, Y5, Y5
	VMULPS       Y0, Y6, Y6
	VMULPS       Y0, Y7, Y7
	VMULPS       Y0, Y8, Y8
	VMULPS       Y0, Y9, Y9
	VMULPS       Y0, Y10, Y10
	VMULPS       Y0, Y11, Y11
	VMULPS       Y0, Y12, Y12
	VMULPS       Y0, Y13, Y13
	VMULPS       Y0, Y14, Y14
	VMULPS       Y0, Y15, Y15
	MOVQ         load+48(FP), AX
	TESTQ        AX, AX
	JEQ          snobeta
	VBROADCASTSS beta+44(FP), Y1
	SSTOREB(Y4, Y5)
	SSTOREB(Y6, Y7)
	SSTOREB(Y8, Y9)
	SSTOREB(Y10, Y11)
	SSTOREB(Y12, Y13)
	SSTOREB(Y14, Y15)
	VZEROUPPER
	RET

snobeta:
	SSTORE(Y4, Y5)
	SSTORE(Y6, Y7)
	SSTORE(Y8, Y9)
	SSTORE(Y10, Y11)
	SSTORE(Y12, Y13)
	SSTORE(Y14, Y15)
	VZEROUPPER
	RET
