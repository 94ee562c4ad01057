//go:build !noasm

package predictors

import "golang.org/x/sys/cpu"

// haveAdamAsm reports whether adamAsm may run (AVX enabled by CPU and OS).
var haveAdamAsm = cpu.X86.HasAVX

// adamAsm is adamStep's float64 loop over len(p) elements, a multiple of
// 4, with c = {b1, 1-b1, b2, 1-b2, lr, eps}.
//
//go:noescape
func adamAsm(p, g, m, v []float64, c *[6]float64)
