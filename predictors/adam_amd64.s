//go:build !noasm

#include "textflag.h"

// func adamAsm(p, g, m, v []float64, c *[6]float64)
//
// For each i, as adamStep's Go loop (no fused multiply-add, same order):
//	m[i] = b1*m[i] + (1-b1)*g[i]
//	v[i] = b2*v[i] + ((1-b2)*g[i])*g[i]
//	p[i] = p[i] - (lr*m[i]) / (sqrt(v[i]) + eps)
TEXT ·adamAsm(SB), NOSPLIT, $0-104
	MOVQ p_base+0(FP), DI
	MOVQ p_len+8(FP), CX
	MOVQ g_base+24(FP), SI
	MOVQ m_base+48(FP), R8
	MOVQ v_base+72(FP), R9
	MOVQ c+96(FP), AX
	VBROADCASTSD 0(AX), Y8   // b1
	VBROADCASTSD 8(AX), Y9   // 1-b1
	VBROADCASTSD 16(AX), Y10 // b2
	VBROADCASTSD 24(AX), Y11 // 1-b2
	VBROADCASTSD 32(AX), Y12 // lr
	VBROADCASTSD 40(AX), Y13 // eps
	SHRQ $2, CX
	JZ   done
	XORQ BX, BX

loop:
	VMOVUPD (SI)(BX*8), Y0     // g
	VMULPD  (R8)(BX*8), Y8, Y1 // b1*m
	VMULPD  Y0, Y9, Y2         // (1-b1)*g
	VADDPD  Y2, Y1, Y1         // m
	VMOVUPD Y1, (R8)(BX*8)
	VMULPD  (R9)(BX*8), Y10, Y3 // b2*v
	VMULPD  Y0, Y11, Y4         // (1-b2)*g
	VMULPD  Y0, Y4, Y4          // ((1-b2)*g)*g
	VADDPD  Y4, Y3, Y3          // v
	VMOVUPD Y3, (R9)(BX*8)
	VSQRTPD Y3, Y5
	VADDPD  Y13, Y5, Y5         // sqrt(v)+eps
	VMULPD  Y1, Y12, Y6         // lr*m
	VDIVPD  Y5, Y6, Y6          // (lr*m)/(sqrt(v)+eps)
	VMOVUPD (DI)(BX*8), Y7
	VSUBPD  Y6, Y7, Y7          // p - step
	VMOVUPD Y7, (DI)(BX*8)
	ADDQ    $4, BX
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET
