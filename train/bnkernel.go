package train

import "math"

// BNState holds one batch-norm layer's running statistics. Train-mode and
// eval-mode graphs share one *BNState, so switching modes never resets the
// statistics (gorgonia's BatchNormOp.SetTraining(true) does: bug 7).
type BNState struct {
	Mean, Var []float64 // running statistics, PyTorch semantics
	Momentum  float64   // weight of the batch statistic (PyTorch 0.1)
	Eps       float64
}

// NewBNState returns running statistics for c channels (mean 0, var 1).
func NewBNState(c int, momentum, eps float64) *BNState {
	s := &BNState{Mean: make([]float64, c), Var: make([]float64, c), Momentum: momentum, Eps: eps}
	for i := range s.Var {
		s.Var[i] = 1
	}
	return s
}

// bnForwardTrain normalises with batch statistics, updates the running
// statistics (unbiased variance, as PyTorch) and stores x̂ and 1/σ.
func bnForwardTrain[T float](x, gamma, beta, y, xhat []T, invstd []float64, st *BNState, B, C, HW int) {
	n := B * HW
	parallelFor(C, min(C, 16), func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			var s float64
			for b := 0; b < B; b++ {
				for _, v := range x[(b*C+c)*HW:][:HW] {
					s += float64(v)
				}
			}
			mean := s / float64(n)
			var ss float64
			for b := 0; b < B; b++ {
				for _, v := range x[(b*C+c)*HW:][:HW] {
					d := float64(v) - mean
					ss += d * d
				}
			}
			vr := ss / float64(n)
			is := 1 / math.Sqrt(vr+st.Eps)
			invstd[c] = is
			g, bt := gamma[c], beta[c]
			for b := 0; b < B; b++ {
				off := (b*C + c) * HW
				xs, ys, hs := x[off:][:HW], y[off:][:HW], xhat[off:][:HW]
				for k, v := range xs {
					h := T((float64(v) - mean) * is)
					hs[k] = h
					ys[k] = g*h + bt
				}
			}
			unbiased := vr
			if n > 1 {
				unbiased = ss / float64(n-1)
			}
			st.Mean[c] = (1-st.Momentum)*st.Mean[c] + st.Momentum*mean
			st.Var[c] = (1-st.Momentum)*st.Var[c] + st.Momentum*unbiased
		}
	})
}

// bnForwardEval normalises with the running statistics.
func bnForwardEval[T float](x, gamma, beta, y, xhat []T, invstd []float64, st *BNState, B, C, HW int) {
	for c := 0; c < C; c++ {
		invstd[c] = 1 / math.Sqrt(st.Var[c]+st.Eps)
	}
	parallelFor(B*C, min(B*C, 16), func(_, lo, hi int) {
		for bc := lo; bc < hi; bc++ {
			c := bc % C
			m, is := st.Mean[c], invstd[c]
			g, bt := gamma[c], beta[c]
			xs, ys, hs := x[bc*HW:][:HW], y[bc*HW:][:HW], xhat[bc*HW:][:HW]
			for k, v := range xs {
				h := T((float64(v) - m) * is)
				hs[k] = h
				ys[k] = g*h + bt
			}
		}
	})
}

// bnParamGrads returns dβ = Σ gy and dγ = Σ gy·x̂ per channel.
func bnParamGrads[T float](gy, xhat, dgamma, dbeta []T, B, C, HW int) {
	parallelFor(C, min(C, 16), func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			var sg, sgh float64
			for b := 0; b < B; b++ {
				off := (b*C + c) * HW
				hs := xhat[off:][:HW]
				for k, g := range gy[off:][:HW] {
					sg += float64(g)
					sgh += float64(g) * float64(hs[k])
				}
			}
			if dgamma != nil {
				dgamma[c] = T(sgh)
			}
			if dbeta != nil {
				dbeta[c] = T(sg)
			}
		}
	})
}

// bnBackwardData overwrites dx. In training mode the batch statistics depend
// on x: dx = γ/σ·(gy − mean(gy) − x̂·mean(gy·x̂)); in eval mode dx = γ/σ·gy.
func bnBackwardData[T float](gy, xhat, gamma, dx []T, invstd []float64, training bool, B, C, HW int) {
	n := float64(B * HW)
	parallelFor(C, min(C, 16), func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			var mg, mgh float64
			if training {
				for b := 0; b < B; b++ {
					off := (b*C + c) * HW
					hs := xhat[off:][:HW]
					for k, g := range gy[off:][:HW] {
						mg += float64(g)
						mgh += float64(g) * float64(hs[k])
					}
				}
				mg /= n
				mgh /= n
			}
			k0 := float64(gamma[c]) * invstd[c]
			for b := 0; b < B; b++ {
				off := (b*C + c) * HW
				hs, ds := xhat[off:][:HW], dx[off:][:HW]
				for k, g := range gy[off:][:HW] {
					ds[k] = T(k0 * (float64(g) - mg - float64(hs[k])*mgh))
				}
			}
		}
	})
}
