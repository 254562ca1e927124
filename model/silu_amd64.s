// AVX2 + FMA kernels for SiLU and its derivative; see silu_amd64.go.
// Constants are IEEE bit patterns replicated over the lanes of a YMM register.

//go:build amd64 && !purego

#include "textflag.h"
DATA silu32c<>+0(SB)/4, $0x80000000 // sign
DATA silu32c<>+4(SB)/4, $0x80000000 // sign
DATA silu32c<>+8(SB)/4, $0x80000000 // sign
DATA silu32c<>+12(SB)/4, $0x80000000 // sign
DATA silu32c<>+16(SB)/4, $0x80000000 // sign
DATA silu32c<>+20(SB)/4, $0x80000000 // sign
DATA silu32c<>+24(SB)/4, $0x80000000 // sign
DATA silu32c<>+28(SB)/4, $0x80000000 // sign
DATA silu32c<>+32(SB)/4, $0xc2ae0000 // lo
DATA silu32c<>+36(SB)/4, $0xc2ae0000 // lo
DATA silu32c<>+40(SB)/4, $0xc2ae0000 // lo
DATA silu32c<>+44(SB)/4, $0xc2ae0000 // lo
DATA silu32c<>+48(SB)/4, $0xc2ae0000 // lo
DATA silu32c<>+52(SB)/4, $0xc2ae0000 // lo
DATA silu32c<>+56(SB)/4, $0xc2ae0000 // lo
DATA silu32c<>+60(SB)/4, $0xc2ae0000 // lo
DATA silu32c<>+64(SB)/4, $0x42b00000 // hi
DATA silu32c<>+68(SB)/4, $0x42b00000 // hi
DATA silu32c<>+72(SB)/4, $0x42b00000 // hi
DATA silu32c<>+76(SB)/4, $0x42b00000 // hi
DATA silu32c<>+80(SB)/4, $0x42b00000 // hi
DATA silu32c<>+84(SB)/4, $0x42b00000 // hi
DATA silu32c<>+88(SB)/4, $0x42b00000 // hi
DATA silu32c<>+92(SB)/4, $0x42b00000 // hi
DATA silu32c<>+96(SB)/4, $0x3fb8aa3b // log2e
DATA silu32c<>+100(SB)/4, $0x3fb8aa3b // log2e
DATA silu32c<>+104(SB)/4, $0x3fb8aa3b // log2e
DATA silu32c<>+108(SB)/4, $0x3fb8aa3b // log2e
DATA silu32c<>+112(SB)/4, $0x3fb8aa3b // log2e
DATA silu32c<>+116(SB)/4, $0x3fb8aa3b // log2e
DATA silu32c<>+120(SB)/4, $0x3fb8aa3b // log2e
DATA silu32c<>+124(SB)/4, $0x3fb8aa3b // log2e
DATA silu32c<>+128(SB)/4, $0x4b400000 // magic
DATA silu32c<>+132(SB)/4, $0x4b400000 // magic
DATA silu32c<>+136(SB)/4, $0x4b400000 // magic
DATA silu32c<>+140(SB)/4, $0x4b400000 // magic
DATA silu32c<>+144(SB)/4, $0x4b400000 // magic
DATA silu32c<>+148(SB)/4, $0x4b400000 // magic
DATA silu32c<>+152(SB)/4, $0x4b400000 // magic
DATA silu32c<>+156(SB)/4, $0x4b400000 // magic
DATA silu32c<>+160(SB)/4, $0x3f317200 // ln2hi
DATA silu32c<>+164(SB)/4, $0x3f317200 // ln2hi
DATA silu32c<>+168(SB)/4, $0x3f317200 // ln2hi
DATA silu32c<>+172(SB)/4, $0x3f317200 // ln2hi
DATA silu32c<>+176(SB)/4, $0x3f317200 // ln2hi
DATA silu32c<>+180(SB)/4, $0x3f317200 // ln2hi
DATA silu32c<>+184(SB)/4, $0x3f317200 // ln2hi
DATA silu32c<>+188(SB)/4, $0x3f317200 // ln2hi
DATA silu32c<>+192(SB)/4, $0x35bfbe8e // ln2lo
DATA silu32c<>+196(SB)/4, $0x35bfbe8e // ln2lo
DATA silu32c<>+200(SB)/4, $0x35bfbe8e // ln2lo
DATA silu32c<>+204(SB)/4, $0x35bfbe8e // ln2lo
DATA silu32c<>+208(SB)/4, $0x35bfbe8e // ln2lo
DATA silu32c<>+212(SB)/4, $0x35bfbe8e // ln2lo
DATA silu32c<>+216(SB)/4, $0x35bfbe8e // ln2lo
DATA silu32c<>+220(SB)/4, $0x35bfbe8e // ln2lo
DATA silu32c<>+224(SB)/4, $0x3f800000 // one
DATA silu32c<>+228(SB)/4, $0x3f800000 // one
DATA silu32c<>+232(SB)/4, $0x3f800000 // one
DATA silu32c<>+236(SB)/4, $0x3f800000 // one
DATA silu32c<>+240(SB)/4, $0x3f800000 // one
DATA silu32c<>+244(SB)/4, $0x3f800000 // one
DATA silu32c<>+248(SB)/4, $0x3f800000 // one
DATA silu32c<>+252(SB)/4, $0x3f800000 // one
DATA silu32c<>+256(SB)/4, $0x39500d01 // c7
DATA silu32c<>+260(SB)/4, $0x39500d01 // c7
DATA silu32c<>+264(SB)/4, $0x39500d01 // c7
DATA silu32c<>+268(SB)/4, $0x39500d01 // c7
DATA silu32c<>+272(SB)/4, $0x39500d01 // c7
DATA silu32c<>+276(SB)/4, $0x39500d01 // c7
DATA silu32c<>+280(SB)/4, $0x39500d01 // c7
DATA silu32c<>+284(SB)/4, $0x39500d01 // c7
DATA silu32c<>+288(SB)/4, $0x3ab60b61 // c6
DATA silu32c<>+292(SB)/4, $0x3ab60b61 // c6
DATA silu32c<>+296(SB)/4, $0x3ab60b61 // c6
DATA silu32c<>+300(SB)/4, $0x3ab60b61 // c6
DATA silu32c<>+304(SB)/4, $0x3ab60b61 // c6
DATA silu32c<>+308(SB)/4, $0x3ab60b61 // c6
DATA silu32c<>+312(SB)/4, $0x3ab60b61 // c6
DATA silu32c<>+316(SB)/4, $0x3ab60b61 // c6
DATA silu32c<>+320(SB)/4, $0x3c088889 // c5
DATA silu32c<>+324(SB)/4, $0x3c088889 // c5
DATA silu32c<>+328(SB)/4, $0x3c088889 // c5
DATA silu32c<>+332(SB)/4, $0x3c088889 // c5
DATA silu32c<>+336(SB)/4, $0x3c088889 // c5
DATA silu32c<>+340(SB)/4, $0x3c088889 // c5
DATA silu32c<>+344(SB)/4, $0x3c088889 // c5
DATA silu32c<>+348(SB)/4, $0x3c088889 // c5
DATA silu32c<>+352(SB)/4, $0x3d2aaaab // c4
DATA silu32c<>+356(SB)/4, $0x3d2aaaab // c4
DATA silu32c<>+360(SB)/4, $0x3d2aaaab // c4
DATA silu32c<>+364(SB)/4, $0x3d2aaaab // c4
DATA silu32c<>+368(SB)/4, $0x3d2aaaab // c4
DATA silu32c<>+372(SB)/4, $0x3d2aaaab // c4
DATA silu32c<>+376(SB)/4, $0x3d2aaaab // c4
DATA silu32c<>+380(SB)/4, $0x3d2aaaab // c4
DATA silu32c<>+384(SB)/4, $0x3e2aaaab // c3
DATA silu32c<>+388(SB)/4, $0x3e2aaaab // c3
DATA silu32c<>+392(SB)/4, $0x3e2aaaab // c3
DATA silu32c<>+396(SB)/4, $0x3e2aaaab // c3
DATA silu32c<>+400(SB)/4, $0x3e2aaaab // c3
DATA silu32c<>+404(SB)/4, $0x3e2aaaab // c3
DATA silu32c<>+408(SB)/4, $0x3e2aaaab // c3
DATA silu32c<>+412(SB)/4, $0x3e2aaaab // c3
DATA silu32c<>+416(SB)/4, $0x3f000000 // c2
DATA silu32c<>+420(SB)/4, $0x3f000000 // c2
DATA silu32c<>+424(SB)/4, $0x3f000000 // c2
DATA silu32c<>+428(SB)/4, $0x3f000000 // c2
DATA silu32c<>+432(SB)/4, $0x3f000000 // c2
DATA silu32c<>+436(SB)/4, $0x3f000000 // c2
DATA silu32c<>+440(SB)/4, $0x3f000000 // c2
DATA silu32c<>+444(SB)/4, $0x3f000000 // c2
DATA silu32c<>+448(SB)/4, $0x4b3fff81 // expbias
DATA silu32c<>+452(SB)/4, $0x4b3fff81 // expbias
DATA silu32c<>+456(SB)/4, $0x4b3fff81 // expbias
DATA silu32c<>+460(SB)/4, $0x4b3fff81 // expbias
DATA silu32c<>+464(SB)/4, $0x4b3fff81 // expbias
DATA silu32c<>+468(SB)/4, $0x4b3fff81 // expbias
DATA silu32c<>+472(SB)/4, $0x4b3fff81 // expbias
DATA silu32c<>+476(SB)/4, $0x4b3fff81 // expbias
GLOBL silu32c<>(SB), RODATA|NOPTR, $480

DATA silu64c<>+0(SB)/8, $0x8000000000000000 // sign
DATA silu64c<>+8(SB)/8, $0x8000000000000000 // sign
DATA silu64c<>+16(SB)/8, $0x8000000000000000 // sign
DATA silu64c<>+24(SB)/8, $0x8000000000000000 // sign
DATA silu64c<>+32(SB)/8, $0xc086200000000000 // lo
DATA silu64c<>+40(SB)/8, $0xc086200000000000 // lo
DATA silu64c<>+48(SB)/8, $0xc086200000000000 // lo
DATA silu64c<>+56(SB)/8, $0xc086200000000000 // lo
DATA silu64c<>+64(SB)/8, $0x4086280000000000 // hi
DATA silu64c<>+72(SB)/8, $0x4086280000000000 // hi
DATA silu64c<>+80(SB)/8, $0x4086280000000000 // hi
DATA silu64c<>+88(SB)/8, $0x4086280000000000 // hi
DATA silu64c<>+96(SB)/8, $0x3ff71547652b82fe // log2e
DATA silu64c<>+104(SB)/8, $0x3ff71547652b82fe // log2e
DATA silu64c<>+112(SB)/8, $0x3ff71547652b82fe // log2e
DATA silu64c<>+120(SB)/8, $0x3ff71547652b82fe // log2e
DATA silu64c<>+128(SB)/8, $0x4338000000000000 // magic
DATA silu64c<>+136(SB)/8, $0x4338000000000000 // magic
DATA silu64c<>+144(SB)/8, $0x4338000000000000 // magic
DATA silu64c<>+152(SB)/8, $0x4338000000000000 // magic
DATA silu64c<>+160(SB)/8, $0x3fe62e42fee00000 // ln2hi
DATA silu64c<>+168(SB)/8, $0x3fe62e42fee00000 // ln2hi
DATA silu64c<>+176(SB)/8, $0x3fe62e42fee00000 // ln2hi
DATA silu64c<>+184(SB)/8, $0x3fe62e42fee00000 // ln2hi
DATA silu64c<>+192(SB)/8, $0x3dea39ef35793c76 // ln2lo
DATA silu64c<>+200(SB)/8, $0x3dea39ef35793c76 // ln2lo
DATA silu64c<>+208(SB)/8, $0x3dea39ef35793c76 // ln2lo
DATA silu64c<>+216(SB)/8, $0x3dea39ef35793c76 // ln2lo
DATA silu64c<>+224(SB)/8, $0x3ff0000000000000 // one
DATA silu64c<>+232(SB)/8, $0x3ff0000000000000 // one
DATA silu64c<>+240(SB)/8, $0x3ff0000000000000 // one
DATA silu64c<>+248(SB)/8, $0x3ff0000000000000 // one
DATA silu64c<>+256(SB)/8, $0x3de6124613a86d09 // c13
DATA silu64c<>+264(SB)/8, $0x3de6124613a86d09 // c13
DATA silu64c<>+272(SB)/8, $0x3de6124613a86d09 // c13
DATA silu64c<>+280(SB)/8, $0x3de6124613a86d09 // c13
DATA silu64c<>+288(SB)/8, $0x3e21eed8eff8d898 // c12
DATA silu64c<>+296(SB)/8, $0x3e21eed8eff8d898 // c12
DATA silu64c<>+304(SB)/8, $0x3e21eed8eff8d898 // c12
DATA silu64c<>+312(SB)/8, $0x3e21eed8eff8d898 // c12
DATA silu64c<>+320(SB)/8, $0x3e5ae64567f544e4 // c11
DATA silu64c<>+328(SB)/8, $0x3e5ae64567f544e4 // c11
DATA silu64c<>+336(SB)/8, $0x3e5ae64567f544e4 // c11
DATA silu64c<>+344(SB)/8, $0x3e5ae64567f544e4 // c11
DATA silu64c<>+352(SB)/8, $0x3e927e4fb7789f5c // c10
DATA silu64c<>+360(SB)/8, $0x3e927e4fb7789f5c // c10
DATA silu64c<>+368(SB)/8, $0x3e927e4fb7789f5c // c10
DATA silu64c<>+376(SB)/8, $0x3e927e4fb7789f5c // c10
DATA silu64c<>+384(SB)/8, $0x3ec71de3a556c734 // c9
DATA silu64c<>+392(SB)/8, $0x3ec71de3a556c734 // c9
DATA silu64c<>+400(SB)/8, $0x3ec71de3a556c734 // c9
DATA silu64c<>+408(SB)/8, $0x3ec71de3a556c734 // c9
DATA silu64c<>+416(SB)/8, $0x3efa01a01a01a01a // c8
DATA silu64c<>+424(SB)/8, $0x3efa01a01a01a01a // c8
DATA silu64c<>+432(SB)/8, $0x3efa01a01a01a01a // c8
DATA silu64c<>+440(SB)/8, $0x3efa01a01a01a01a // c8
DATA silu64c<>+448(SB)/8, $0x3f2a01a01a01a01a // c7
DATA silu64c<>+456(SB)/8, $0x3f2a01a01a01a01a // c7
DATA silu64c<>+464(SB)/8, $0x3f2a01a01a01a01a // c7
DATA silu64c<>+472(SB)/8, $0x3f2a01a01a01a01a // c7
DATA silu64c<>+480(SB)/8, $0x3f56c16c16c16c17 // c6
DATA silu64c<>+488(SB)/8, $0x3f56c16c16c16c17 // c6
DATA silu64c<>+496(SB)/8, $0x3f56c16c16c16c17 // c6
DATA silu64c<>+504(SB)/8, $0x3f56c16c16c16c17 // c6
DATA silu64c<>+512(SB)/8, $0x3f81111111111111 // c5
DATA silu64c<>+520(SB)/8, $0x3f81111111111111 // c5
DATA silu64c<>+528(SB)/8, $0x3f81111111111111 // c5
DATA silu64c<>+536(SB)/8, $0x3f81111111111111 // c5
DATA silu64c<>+544(SB)/8, $0x3fa5555555555555 // c4
DATA silu64c<>+552(SB)/8, $0x3fa5555555555555 // c4
DATA silu64c<>+560(SB)/8, $0x3fa5555555555555 // c4
DATA silu64c<>+568(SB)/8, $0x3fa5555555555555 // c4
DATA silu64c<>+576(SB)/8, $0x3fc5555555555555 // c3
DATA silu64c<>+584(SB)/8, $0x3fc5555555555555 // c3
DATA silu64c<>+592(SB)/8, $0x3fc5555555555555 // c3
DATA silu64c<>+600(SB)/8, $0x3fc5555555555555 // c3
DATA silu64c<>+608(SB)/8, $0x3fe0000000000000 // c2
DATA silu64c<>+616(SB)/8, $0x3fe0000000000000 // c2
DATA silu64c<>+624(SB)/8, $0x3fe0000000000000 // c2
DATA silu64c<>+632(SB)/8, $0x3fe0000000000000 // c2
DATA silu64c<>+640(SB)/8, $0x4337fffffffffc01 // expbias
DATA silu64c<>+648(SB)/8, $0x4337fffffffffc01 // expbias
DATA silu64c<>+656(SB)/8, $0x4337fffffffffc01 // expbias
DATA silu64c<>+664(SB)/8, $0x4337fffffffffc01 // expbias
GLOBL silu64c<>(SB), RODATA|NOPTR, $672

// func siluRow32AVX2(z, s, a, b *float32, n int)
//
// For i < n (a multiple of 8): v = z[i] + b[i]; z[i] = v; s[i] = 1/(1 + exp(-v)); a[i] = v s[i].
// exp(u), u = -v clamped to [lo, hi]: u = k ln2 + r with k = round(u log2 e) (magic-number
// rounding, whose bits also give 2^k), exp(r) by its degree-7 Taylor polynomial.
TEXT ·siluRow32AVX2(SB), NOSPLIT, $0-40
	MOVQ z+0(FP), DI
	MOVQ s+8(FP), SI
	MOVQ a+16(FP), DX
	MOVQ b+24(FP), BX
	MOVQ n+32(FP), CX
	SHLQ $2, CX
	JZ silu32done
	VMOVUPS silu32c<>+0(SB), Y8
	VMOVUPS silu32c<>+32(SB), Y9
	VMOVUPS silu32c<>+64(SB), Y10
	VMOVUPS silu32c<>+96(SB), Y11
	VMOVUPS silu32c<>+128(SB), Y12
	VMOVUPS silu32c<>+224(SB), Y13
	XORQ AX, AX
silu32loop:
	VMOVUPS (DI)(AX*1), Y0
	VADDPS (BX)(AX*1), Y0, Y0 // v = z + b
	VMOVUPS Y0, (DI)(AX*1)
	VXORPS Y8, Y0, Y1 // u = -v
	VCMPPS $0x1e, Y10, Y1, Y6 // u > hi: exp(u) overflows, s = 0
	VMAXPS Y1, Y9, Y1 // max(lo, u), NaN u stays NaN
	VMINPS Y1, Y10, Y1
	VMOVAPS Y12, Y2
	VFMADD231PS Y11, Y1, Y2 // t = u log2e + magic
	VSUBPS Y12, Y2, Y3 // k = t - magic
	VFNMADD231PS silu32c<>+160(SB), Y3, Y1 // r = u - k ln2hi
	VFNMADD231PS silu32c<>+192(SB), Y3, Y1 // r -= k ln2lo
	VMOVUPS silu32c<>+256(SB), Y4
	VFMADD213PS silu32c<>+288(SB), Y1, Y4 // p = p r + 1/6!
	VFMADD213PS silu32c<>+320(SB), Y1, Y4 // p = p r + 1/5!
	VFMADD213PS silu32c<>+352(SB), Y1, Y4 // p = p r + 1/4!
	VFMADD213PS silu32c<>+384(SB), Y1, Y4 // p = p r + 1/3!
	VFMADD213PS silu32c<>+416(SB), Y1, Y4 // p = p r + 1/2!
	VFMADD213PS Y13, Y1, Y4 // p = p r + 1
	VFMADD213PS Y13, Y1, Y4 // p = p r + 1
	VPSUBD silu32c<>+448(SB), Y2, Y5 // k + bias in the exponent field
	VPSLLD $23, Y5, Y5 // 2^k
	VMULPS Y5, Y4, Y4 // e = exp(u)
	VADDPS Y13, Y4, Y4
	VDIVPS Y4, Y13, Y4 // s = 1/(1 + e)
	VANDNPS Y4, Y6, Y4 // s = 0 where u > hi
	VMOVUPS Y4, (SI)(AX*1)
	VMULPS Y4, Y0, Y4 // a = v s
	VMOVUPS Y4, (DX)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JB silu32loop
	VZEROUPPER
silu32done:
	RET

// func siluGrad32AVX2(d, z, s *float32, n int)
//
// For i < n (a multiple of 8): d[i] *= s[i] (1 + z[i] (1 - s[i])).
TEXT ·siluGrad32AVX2(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ z+8(FP), DX
	MOVQ s+16(FP), SI
	MOVQ n+24(FP), CX
	SHLQ $2, CX
	JZ grad32done
	VMOVUPS silu32c<>+224(SB), Y13
	XORQ AX, AX
grad32loop:
	VMOVUPS (SI)(AX*1), Y0 // s
	VSUBPS Y0, Y13, Y1 // 1 - s
	VMOVUPS (DX)(AX*1), Y2 // z
	VFMADD213PS Y13, Y2, Y1 // z (1 - s) + 1
	VMULPS Y0, Y1, Y1 // s (1 + z (1 - s))
	VMULPS (DI)(AX*1), Y1, Y1
	VMOVUPS Y1, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JB grad32loop
	VZEROUPPER
grad32done:
	RET

// func siluRow64AVX2(z, s, a, b *float64, n int)
//
// For i < n (a multiple of 4): v = z[i] + b[i]; z[i] = v; s[i] = 1/(1 + exp(-v)); a[i] = v s[i].
// exp(u), u = -v clamped to [lo, hi]: u = k ln2 + r with k = round(u log2 e) (magic-number
// rounding, whose bits also give 2^k), exp(r) by its degree-13 Taylor polynomial.
TEXT ·siluRow64AVX2(SB), NOSPLIT, $0-40
	MOVQ z+0(FP), DI
	MOVQ s+8(FP), SI
	MOVQ a+16(FP), DX
	MOVQ b+24(FP), BX
	MOVQ n+32(FP), CX
	SHLQ $3, CX
	JZ silu64done
	VMOVUPS silu64c<>+0(SB), Y8
	VMOVUPS silu64c<>+32(SB), Y9
	VMOVUPS silu64c<>+64(SB), Y10
	VMOVUPS silu64c<>+96(SB), Y11
	VMOVUPS silu64c<>+128(SB), Y12
	VMOVUPS silu64c<>+224(SB), Y13
	XORQ AX, AX
silu64loop:
	VMOVUPD (DI)(AX*1), Y0
	VADDPD (BX)(AX*1), Y0, Y0 // v = z + b
	VMOVUPD Y0, (DI)(AX*1)
	VXORPD Y8, Y0, Y1 // u = -v
	VCMPPD $0x1e, Y10, Y1, Y6 // u > hi: exp(u) overflows, s = 0
	VMAXPD Y1, Y9, Y1 // max(lo, u), NaN u stays NaN
	VMINPD Y1, Y10, Y1
	VMOVAPD Y12, Y2
	VFMADD231PD Y11, Y1, Y2 // t = u log2e + magic
	VSUBPD Y12, Y2, Y3 // k = t - magic
	VFNMADD231PD silu64c<>+160(SB), Y3, Y1 // r = u - k ln2hi
	VFNMADD231PD silu64c<>+192(SB), Y3, Y1 // r -= k ln2lo
	VMOVUPD silu64c<>+256(SB), Y4
	VFMADD213PD silu64c<>+288(SB), Y1, Y4 // p = p r + 1/12!
	VFMADD213PD silu64c<>+320(SB), Y1, Y4 // p = p r + 1/11!
	VFMADD213PD silu64c<>+352(SB), Y1, Y4 // p = p r + 1/10!
	VFMADD213PD silu64c<>+384(SB), Y1, Y4 // p = p r + 1/9!
	VFMADD213PD silu64c<>+416(SB), Y1, Y4 // p = p r + 1/8!
	VFMADD213PD silu64c<>+448(SB), Y1, Y4 // p = p r + 1/7!
	VFMADD213PD silu64c<>+480(SB), Y1, Y4 // p = p r + 1/6!
	VFMADD213PD silu64c<>+512(SB), Y1, Y4 // p = p r + 1/5!
	VFMADD213PD silu64c<>+544(SB), Y1, Y4 // p = p r + 1/4!
	VFMADD213PD silu64c<>+576(SB), Y1, Y4 // p = p r + 1/3!
	VFMADD213PD silu64c<>+608(SB), Y1, Y4 // p = p r + 1/2!
	VFMADD213PD Y13, Y1, Y4 // p = p r + 1
	VFMADD213PD Y13, Y1, Y4 // p = p r + 1
	VPSUBQ silu64c<>+640(SB), Y2, Y5 // k + bias in the exponent field
	VPSLLQ $52, Y5, Y5 // 2^k
	VMULPD Y5, Y4, Y4 // e = exp(u)
	VADDPD Y13, Y4, Y4
	VDIVPD Y4, Y13, Y4 // s = 1/(1 + e)
	VANDNPD Y4, Y6, Y4 // s = 0 where u > hi
	VMOVUPD Y4, (SI)(AX*1)
	VMULPD Y4, Y0, Y4 // a = v s
	VMOVUPD Y4, (DX)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JB silu64loop
	VZEROUPPER
silu64done:
	RET

// func siluGrad64AVX2(d, z, s *float64, n int)
//
// For i < n (a multiple of 4): d[i] *= s[i] (1 + z[i] (1 - s[i])).
TEXT ·siluGrad64AVX2(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ z+8(FP), DX
	MOVQ s+16(FP), SI
	MOVQ n+24(FP), CX
	SHLQ $3, CX
	JZ grad64done
	VMOVUPS silu64c<>+224(SB), Y13
	XORQ AX, AX
grad64loop:
	VMOVUPD (SI)(AX*1), Y0 // s
	VSUBPD Y0, Y13, Y1 // 1 - s
	VMOVUPD (DX)(AX*1), Y2 // z
	VFMADD213PD Y13, Y2, Y1 // z (1 - s) + 1
	VMULPD Y0, Y1, Y1 // s (1 + z (1 - s))
	VMULPD (DI)(AX*1), Y1, Y1
	VMOVUPD Y1, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JB grad64loop
	VZEROUPPER
grad64done:
	RET
