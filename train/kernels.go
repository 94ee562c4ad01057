package train

import (
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// Plain-Go NCHW kernels behind the custom gorgonia ops. They are hand-written
// because gorgonia v0.9.18 either lacks the op (depthwise conv, a global
// average pool with a gradient, a straight-through indicator), has it wrong
// (AveragePool2D divides by the input width, MaxPool2D panics on NaN windows),
// or implements it with many full-size temporaries (Conv2d's im2col plus
// transposes, BatchNorm's broadcasts). Matrix products go through gonum's
// BLAS interface (blas32/blas64), so an OpenBLAS build only swaps the
// implementation (see blas_openblas.go).

// float is the element type of every kernel: float32 for training, float64
// for finite-difference checks.
type float interface{ ~float32 | ~float64 }

// gemm computes C = alpha·op(A)·op(B) + beta·C for row-major A, B, C.
func gemm[T float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	if BLASBackend == "gonum" && (m > gemmTile || n > gemmTile) {
		// gonum's SGEMM spawns a goroutine per 64×64 block of C when C has
		// 4+ blocks; the kernels already run one GEMM per image on their own
		// workers, so issue the same 64×64 tiles serially instead (about
		// 10× fewer allocations per training step).
		for i := 0; i < m; i += gemmTile {
			mi := min(gemmTile, m-i)
			var ai []T
			if tA {
				ai = a[i:]
			} else {
				ai = a[i*lda:]
			}
			for j := 0; j < n; j += gemmTile {
				nj := min(gemmTile, n-j)
				var bj []T
				if tB {
					bj = b[j*ldb:]
				} else {
					bj = b[j:]
				}
				gemm(tA, tB, mi, nj, k, alpha, ai, lda, bj, ldb, beta, c[i*ldc+j:], ldc)
			}
		}
		return
	}
	switch a := any(a).(type) {
	case []float32:
		blas32.Implementation().Sgemm(ta, tb, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		blas64.Implementation().Dgemm(ta, tb, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

// gemmTile is the C tile size below which gonum's SGEMM stays serial.
const gemmTile = 64

// parallelFor runs fn over [0,n) split into fixed chunks. The partition
// depends only on n and chunks, never on the CPU count, so reductions done
// per chunk and summed in chunk order are bit-reproducible.
func parallelFor(n, chunks int, fn func(chunk, lo, hi int)) {
	if chunks > n {
		chunks = n
	}
	if chunks <= 1 {
		if n > 0 {
			fn(0, 0, n)
		}
		return
	}
	workers := runtime.GOMAXPROCS(0)
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for c := 0; c < chunks; c++ {
		lo, hi := c*n/chunks, (c+1)*n/chunks
		wg.Add(1)
		sem <- struct{}{}
		go func(c, lo, hi int) {
			defer func() { <-sem; wg.Done() }()
			fn(c, lo, hi)
		}(c, lo, hi)
	}
	wg.Wait()
}

// workChunks is the partition for per-image work whose results do not
// depend on the partition (forward and data-gradient passes).
func workChunks(n int) int { return min(n, 2*runtime.GOMAXPROCS(0)) }

var scratch32, scratch64 sync.Pool

// getScratch returns a buffer of n elements (contents undefined) from a pool;
// im2col buffers are large and short-lived, so reuse saves most of the
// allocation and zeroing.
func getScratch[T float](n int) []T {
	var p *sync.Pool
	var zero T
	if _, ok := any(zero).(float32); ok {
		p = &scratch32
	} else {
		p = &scratch64
	}
	if v := p.Get(); v != nil {
		if b := *(v.(*[]T)); cap(b) >= n {
			return b[:n]
		}
	}
	return make([]T, n)
}

func putScratch[T float](b []T) {
	if b == nil {
		return
	}
	var zero T
	if _, ok := any(zero).(float32); ok {
		scratch32.Put(&b)
	} else {
		scratch64.Put(&b)
	}
}

// reduceChunks is the fixed number of partial sums used for batch reductions.
const reduceChunks = 4

// convGeom describes a 2-D convolution or pooling window over NCHW data.
type convGeom struct {
	B, C, H, W int // input
	KH, KW     int
	SH, SW     int
	PH, PW     int
	DH, DW     int
	Ho, Wo     int // output spatial size
	Cout       int // output channels (conv only)
	pointwise  bool
}

func outSize(in, k, s, p, d int) int { return (in+2*p-d*(k-1)-1)/s + 1 }

func (g *convGeom) finish() {
	g.Ho = outSize(g.H, g.KH, g.SH, g.PH, g.DH)
	g.Wo = outSize(g.W, g.KW, g.SW, g.PW, g.DW)
	g.pointwise = g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PH == 0 && g.PW == 0
}

// validRange returns the output indices [lo,hi) whose input index
// o*s - p + off lies inside [0,in).
func validRange(nOut, in, s, p, off int) (lo, hi int) {
	// o*s >= p-off
	num := p - off
	if num <= 0 {
		lo = 0
	} else {
		lo = (num + s - 1) / s
	}
	// o*s <= in-1+p-off
	num = in - 1 + p - off
	if num < 0 {
		return 0, 0
	}
	hi = num/s + 1
	if hi > nOut {
		hi = nOut
	}
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

// im2col writes the (C·KH·KW, Ho·Wo) patch matrix of one image.
func im2col[T float](g *convGeom, x, col []T) {
	P := g.Ho * g.Wo
	for c := 0; c < g.C; c++ {
		xc := x[c*g.H*g.W:]
		for i := 0; i < g.KH; i++ {
			for j := 0; j < g.KW; j++ {
				row := col[((c*g.KH+i)*g.KW+j)*P:][:P]
				xlo, xhi := validRange(g.Wo, g.W, g.SW, g.PW, j*g.DW)
				for oy := 0; oy < g.Ho; oy++ {
					r := row[oy*g.Wo:][:g.Wo]
					iy := oy*g.SH - g.PH + i*g.DH
					if iy < 0 || iy >= g.H {
						clear(r)
						continue
					}
					xr := xc[iy*g.W:][:g.W]
					clear(r[:xlo])
					clear(r[xhi:])
					ix := xlo*g.SW - g.PW + j*g.DW
					if xhi <= xlo {
						continue // the tap lies in the padding (kernel wider than the padded input)
					}
					if g.SW == 1 {
						copy(r[xlo:xhi], xr[ix:])
						continue
					}
					for ox := xlo; ox < xhi; ox++ {
						r[ox] = xr[ix]
						ix += g.SW
					}
				}
			}
		}
	}
}

// col2im accumulates a patch matrix back into one image (dx += ...).
func col2im[T float](g *convGeom, col, dx []T) {
	P := g.Ho * g.Wo
	for c := 0; c < g.C; c++ {
		dc := dx[c*g.H*g.W:]
		for i := 0; i < g.KH; i++ {
			for j := 0; j < g.KW; j++ {
				row := col[((c*g.KH+i)*g.KW+j)*P:][:P]
				xlo, xhi := validRange(g.Wo, g.W, g.SW, g.PW, j*g.DW)
				for oy := 0; oy < g.Ho; oy++ {
					iy := oy*g.SH - g.PH + i*g.DH
					if iy < 0 || iy >= g.H {
						continue
					}
					r := row[oy*g.Wo:][:g.Wo]
					dr := dc[iy*g.W:][:g.W]
					ix := xlo*g.SW - g.PW + j*g.DW
					for ox := xlo; ox < xhi; ox++ {
						dr[ix] += r[ox]
						ix += g.SW
					}
				}
			}
		}
	}
}

// convForward computes y (B,Cout,Ho,Wo) = conv(x (B,C,H,W), w (Cout,C,KH,KW)).
func convForward[T float](g *convGeom, x, w, y []T) {
	CK, P := g.C*g.KH*g.KW, g.Ho*g.Wo
	parallelFor(g.B, workChunks(g.B), func(_, lo, hi int) {
		var col []T
		if !g.pointwise {
			col = getScratch[T](CK * P)
			defer putScratch(col)
		}
		for b := lo; b < hi; b++ {
			xb := x[b*g.C*g.H*g.W:][:g.C*g.H*g.W]
			src := xb
			if !g.pointwise {
				im2col(g, xb, col)
				src = col
			}
			gemm(false, false, g.Cout, P, CK, 1, w, CK, src, P, 0, y[b*g.Cout*P:][:g.Cout*P], P)
		}
	})
}

// convBackwardData computes dx = conv^T(gy, w) (overwrites dx).
func convBackwardData[T float](g *convGeom, w, gy, dx []T) {
	CK, P := g.C*g.KH*g.KW, g.Ho*g.Wo
	parallelFor(g.B, workChunks(g.B), func(_, lo, hi int) {
		var col []T
		if !g.pointwise {
			col = getScratch[T](CK * P)
			defer putScratch(col)
		}
		for b := lo; b < hi; b++ {
			dxb := dx[b*g.C*g.H*g.W:][:g.C*g.H*g.W]
			gyb := gy[b*g.Cout*P:][:g.Cout*P]
			if g.pointwise {
				gemm(true, false, CK, P, g.Cout, 1, w, CK, gyb, P, 0, dxb, P)
				continue
			}
			gemm(true, false, CK, P, g.Cout, 1, w, CK, gyb, P, 0, col, P)
			clear(dxb)
			col2im(g, col, dxb)
		}
	})
}

// convBackwardFilter computes dw = Σ_b gy_b · col_b^T (overwrites dw).
func convBackwardFilter[T float](g *convGeom, x, gy, dw []T) {
	CK, P := g.C*g.KH*g.KW, g.Ho*g.Wo
	chunks := min(reduceChunks, g.B)
	parts := make([][]T, chunks)
	parallelFor(g.B, chunks, func(c, lo, hi int) {
		part := make([]T, len(dw))
		var col []T
		if !g.pointwise {
			col = getScratch[T](CK * P)
			defer putScratch(col)
		}
		for b := lo; b < hi; b++ {
			xb := x[b*g.C*g.H*g.W:][:g.C*g.H*g.W]
			src := xb
			if !g.pointwise {
				im2col(g, xb, col)
				src = col
			}
			gemm(false, true, g.Cout, CK, P, 1, gy[b*g.Cout*P:][:g.Cout*P], P, src, P, 1, part, CK)
		}
		parts[c] = part
	})
	copy(dw, parts[0])
	for _, p := range parts[1:] {
		for i, v := range p {
			dw[i] += v
		}
	}
}

// depthwiseForward: y[b,c] = Σ_ij w[c,i,j]·x[b,c,shifted]; w is (C,1,KH,KW).
func depthwiseForward[T float](g *convGeom, x, w, y []T) {
	HW, P, K := g.H*g.W, g.Ho*g.Wo, g.KH*g.KW
	parallelFor(g.B*g.C, min(g.B*g.C, 16), func(_, lo, hi int) {
		for bc := lo; bc < hi; bc++ {
			c := bc % g.C
			xc, yc, wc := x[bc*HW:][:HW], y[bc*P:][:P], w[c*K:][:K]
			clear(yc)
			for i := 0; i < g.KH; i++ {
				ylo, yhi := validRange(g.Ho, g.H, g.SH, g.PH, i*g.DH)
				for j := 0; j < g.KW; j++ {
					wv := wc[i*g.KW+j]
					xlo, xhi := validRange(g.Wo, g.W, g.SW, g.PW, j*g.DW)
					for oy := ylo; oy < yhi; oy++ {
						iy := oy*g.SH - g.PH + i*g.DH
						xr, yr := xc[iy*g.W:][:g.W], yc[oy*g.Wo:][:g.Wo]
						ix := xlo*g.SW - g.PW + j*g.DW
						if xhi <= xlo {
							break // the tap lies in the padding for every output column
						}
						if g.SW == 1 {
							xs := xr[ix : ix+xhi-xlo]
							ys := yr[xlo:xhi]
							for k, v := range xs {
								ys[k] += wv * v
							}
							continue
						}
						for ox := xlo; ox < xhi; ox++ {
							yr[ox] += wv * xr[ix]
							ix += g.SW
						}
					}
				}
			}
		}
	})
}

// depthwiseBackwardData overwrites dx with the gradient w.r.t. x.
func depthwiseBackwardData[T float](g *convGeom, w, gy, dx []T) {
	HW, P, K := g.H*g.W, g.Ho*g.Wo, g.KH*g.KW
	parallelFor(g.B*g.C, min(g.B*g.C, 16), func(_, lo, hi int) {
		for bc := lo; bc < hi; bc++ {
			c := bc % g.C
			dc, gc, wc := dx[bc*HW:][:HW], gy[bc*P:][:P], w[c*K:][:K]
			clear(dc)
			for i := 0; i < g.KH; i++ {
				ylo, yhi := validRange(g.Ho, g.H, g.SH, g.PH, i*g.DH)
				for j := 0; j < g.KW; j++ {
					wv := wc[i*g.KW+j]
					xlo, xhi := validRange(g.Wo, g.W, g.SW, g.PW, j*g.DW)
					for oy := ylo; oy < yhi; oy++ {
						iy := oy*g.SH - g.PH + i*g.DH
						dr, gr := dc[iy*g.W:][:g.W], gc[oy*g.Wo:][:g.Wo]
						ix := xlo*g.SW - g.PW + j*g.DW
						for ox := xlo; ox < xhi; ox++ {
							dr[ix] += wv * gr[ox]
							ix += g.SW
						}
					}
				}
			}
		}
	})
}

// depthwiseBackwardFilter overwrites dw; parallel over channels, each summing
// the batch in order, so the result is reproducible.
func depthwiseBackwardFilter[T float](g *convGeom, x, gy, dw []T) {
	HW, P, K := g.H*g.W, g.Ho*g.Wo, g.KH*g.KW
	parallelFor(g.C, min(g.C, 16), func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			wc := dw[c*K:][:K]
			clear(wc)
			for b := 0; b < g.B; b++ {
				bc := b*g.C + c
				xc, gc := x[bc*HW:][:HW], gy[bc*P:][:P]
				for i := 0; i < g.KH; i++ {
					ylo, yhi := validRange(g.Ho, g.H, g.SH, g.PH, i*g.DH)
					for j := 0; j < g.KW; j++ {
						xlo, xhi := validRange(g.Wo, g.W, g.SW, g.PW, j*g.DW)
						var s T
						for oy := ylo; oy < yhi; oy++ {
							iy := oy*g.SH - g.PH + i*g.DH
							xr, gr := xc[iy*g.W:][:g.W], gc[oy*g.Wo:][:g.Wo]
							ix := xlo*g.SW - g.PW + j*g.DW
							for ox := xlo; ox < xhi; ox++ {
								s += gr[ox] * xr[ix]
								ix += g.SW
							}
						}
						wc[i*g.KW+j] += s
					}
				}
			}
		}
	})
}

// poolForward computes max or average pooling. Average pooling divides by the
// number of in-bounds elements (PyTorch count_include_pad=False) unless
// includePad. Max pooling ignores NaN unless the whole window is NaN, in
// which case the output is NaN (gorgonia's MaxPool2D panics there).
func poolForward[T float](g *convGeom, isMax, includePad bool, x, y []T) {
	if !isMax && g.DH == 1 && g.DW == 1 {
		avgPoolForwardSep(g, includePad, x, y)
		return
	}
	HW, P := g.H*g.W, g.Ho*g.Wo
	parallelFor(g.B*g.C, min(g.B*g.C, 16), func(_, lo, hi int) {
		for bc := lo; bc < hi; bc++ {
			xc, yc := x[bc*HW:][:HW], y[bc*P:][:P]
			for oy := 0; oy < g.Ho; oy++ {
				for ox := 0; ox < g.Wo; ox++ {
					idx := poolArgmax(g, xc, oy, ox)
					if isMax {
						if idx < 0 {
							yc[oy*g.Wo+ox] = T(math.NaN())
						} else {
							yc[oy*g.Wo+ox] = xc[idx]
						}
						continue
					}
					var s T
					n := 0
					for i := 0; i < g.KH; i++ {
						iy := oy*g.SH - g.PH + i*g.DH
						if iy < 0 || iy >= g.H {
							continue
						}
						for j := 0; j < g.KW; j++ {
							ix := ox*g.SW - g.PW + j*g.DW
							if ix < 0 || ix >= g.W {
								continue
							}
							s += xc[iy*g.W+ix]
							n++
						}
					}
					if includePad {
						n = g.KH * g.KW
					}
					yc[oy*g.Wo+ox] = s / T(n)
				}
			}
		}
	})
}

// poolArgmax returns the flat index of the window maximum ignoring NaN, or -1
// when the window has no non-NaN element.
func poolArgmax[T float](g *convGeom, xc []T, oy, ox int) int {
	best := -1
	var bv T
	for i := 0; i < g.KH; i++ {
		iy := oy*g.SH - g.PH + i*g.DH
		if iy < 0 || iy >= g.H {
			continue
		}
		for j := 0; j < g.KW; j++ {
			ix := ox*g.SW - g.PW + j*g.DW
			if ix < 0 || ix >= g.W {
				continue
			}
			v := xc[iy*g.W+ix]
			if v != v {
				continue
			}
			if best < 0 || v > bv {
				best, bv = iy*g.W+ix, v
			}
		}
	}
	return best
}

// poolBackward overwrites dx with the pooling gradient.
func poolBackward[T float](g *convGeom, isMax, includePad bool, x, gy, dx []T) {
	if !isMax && g.DH == 1 && g.DW == 1 {
		avgPoolBackwardSep(g, includePad, gy, dx)
		return
	}
	HW, P := g.H*g.W, g.Ho*g.Wo
	parallelFor(g.B*g.C, min(g.B*g.C, 16), func(_, lo, hi int) {
		for bc := lo; bc < hi; bc++ {
			xc, gc, dc := x[bc*HW:][:HW], gy[bc*P:][:P], dx[bc*HW:][:HW]
			clear(dc)
			for oy := 0; oy < g.Ho; oy++ {
				for ox := 0; ox < g.Wo; ox++ {
					gv := gc[oy*g.Wo+ox]
					if isMax {
						if idx := poolArgmax(g, xc, oy, ox); idx >= 0 {
							dc[idx] += gv
						}
						continue
					}
					n := 0
					for i := 0; i < g.KH; i++ {
						iy := oy*g.SH - g.PH + i*g.DH
						if iy < 0 || iy >= g.H {
							continue
						}
						for j := 0; j < g.KW; j++ {
							ix := ox*g.SW - g.PW + j*g.DW
							if ix >= 0 && ix < g.W {
								n++
							}
						}
					}
					if includePad {
						n = g.KH * g.KW
					}
					gv /= T(n)
					for i := 0; i < g.KH; i++ {
						iy := oy*g.SH - g.PH + i*g.DH
						if iy < 0 || iy >= g.H {
							continue
						}
						for j := 0; j < g.KW; j++ {
							ix := ox*g.SW - g.PW + j*g.DW
							if ix >= 0 && ix < g.W {
								dc[iy*g.W+ix] += gv
							}
						}
					}
				}
			}
		}
	})
}
