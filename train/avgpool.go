package train

// Separable average pooling (dilation 1): the window sum is a row box-sum
// followed by a column box-sum and the in-bounds count is the product of
// the row and column counts, so both passes cost O(k) per output instead of
// O(k²) with per-element bounds checks. NB201 runs avg_pool_3x3 on many
// edges and a 2×2 pool in every residual block.

// window returns, for each output index, the first and one-past-last valid
// input index of its window.
func window(nOut, in, k, s, p int) (lo, hi []int) {
	lo, hi = make([]int, nOut), make([]int, nOut)
	for o := 0; o < nOut; o++ {
		a, b := o*s-p, o*s-p+k
		lo[o], hi[o] = max(a, 0), min(b, in)
	}
	return lo, hi
}

func avgPoolForwardSep[T float](g *convGeom, includePad bool, x, y []T) {
	HW, P := g.H*g.W, g.Ho*g.Wo
	ylo, yhi := window(g.Ho, g.H, g.KH, g.SH, g.PH)
	xlo, xhi := window(g.Wo, g.W, g.KW, g.SW, g.PW)
	parallelFor(g.B*g.C, workChunks(g.B*g.C), func(_, lo, hi int) {
		tmp := getScratch[T](g.H * g.Wo)
		defer putScratch(tmp)
		for bc := lo; bc < hi; bc++ {
			xc, yc := x[bc*HW:][:HW], y[bc*P:][:P]
			for r := 0; r < g.H; r++ {
				xr, tr := xc[r*g.W:][:g.W], tmp[r*g.Wo:][:g.Wo]
				for ox := 0; ox < g.Wo; ox++ {
					var s T
					for _, v := range xr[xlo[ox]:xhi[ox]] {
						s += v
					}
					tr[ox] = s
				}
			}
			for oy := 0; oy < g.Ho; oy++ {
				yr := yc[oy*g.Wo:][:g.Wo]
				clear(yr)
				for r := ylo[oy]; r < yhi[oy]; r++ {
					for ox, v := range tmp[r*g.Wo:][:g.Wo] {
						yr[ox] += v
					}
				}
				cy := T(yhi[oy] - ylo[oy])
				for ox := range yr {
					n := cy * T(xhi[ox]-xlo[ox])
					if includePad {
						n = T(g.KH * g.KW)
					}
					yr[ox] /= n
				}
			}
		}
	})
}

func avgPoolBackwardSep[T float](g *convGeom, includePad bool, gy, dx []T) {
	HW, P := g.H*g.W, g.Ho*g.Wo
	ylo, yhi := window(g.Ho, g.H, g.KH, g.SH, g.PH)
	xlo, xhi := window(g.Wo, g.W, g.KW, g.SW, g.PW)
	parallelFor(g.B*g.C, workChunks(g.B*g.C), func(_, lo, hi int) {
		tmp := getScratch[T](g.H * g.Wo)
		defer putScratch(tmp)
		for bc := lo; bc < hi; bc++ {
			gc, dc := gy[bc*P:][:P], dx[bc*HW:][:HW]
			clear(tmp)
			for oy := 0; oy < g.Ho; oy++ {
				gr := gc[oy*g.Wo:][:g.Wo]
				cy := T(yhi[oy] - ylo[oy])
				for r := ylo[oy]; r < yhi[oy]; r++ {
					tr := tmp[r*g.Wo:][:g.Wo]
					for ox, v := range gr {
						n := cy * T(xhi[ox]-xlo[ox])
						if includePad {
							n = T(g.KH * g.KW)
						}
						tr[ox] += v / n
					}
				}
			}
			clear(dc)
			for r := 0; r < g.H; r++ {
				dr, tr := dc[r*g.W:][:g.W], tmp[r*g.Wo:][:g.Wo]
				for ox, v := range tr {
					for ix := xlo[ox]; ix < xhi[ox]; ix++ {
						dr[ix] += v
					}
				}
			}
		}
	})
}
