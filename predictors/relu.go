package predictors

import "math"

// The ReLU kernels below select through the bit pattern, which the compiler
// turns into a conditional move: about half of a layer's pre-activations
// are negative in no predictable order, and a branch per element cost the
// paper MLP's prediction more than a tenth of its time in mispredictions.
// They compute exactly what the branching loops computed (v < 0 becomes
// +0; -0 and NaN pass through).

// addBias adds the intercept b to every row of z (rows of len(b)) and, if
// relu, replaces the negative sums by zero.
func addBias[F float32 | float64](z, b []F, relu bool) {
	switch z := any(z).(type) {
	case []float64:
		addBias64(z, any(b).([]float64), relu)
	case []float32:
		addBias32(z, any(b).([]float32), relu)
	}
}

func addBias64(z, b []float64, relu bool) {
	for r := 0; r+len(b) <= len(z); r += len(b) {
		zr := z[r : r+len(b)]
		if !relu {
			for j, v := range zr {
				zr[j] = v + b[j]
			}
			continue
		}
		for j, v := range zr {
			v += b[j]
			u := math.Float64bits(v)
			if v < 0 {
				u = 0
			}
			zr[j] = math.Float64frombits(u)
		}
	}
}

func addBias32(z, b []float32, relu bool) {
	for r := 0; r+len(b) <= len(z); r += len(b) {
		zr := z[r : r+len(b)]
		if !relu {
			for j, v := range zr {
				zr[j] = v + b[j]
			}
			continue
		}
		for j, v := range zr {
			v += b[j]
			u := math.Float32bits(v)
			if v < 0 {
				u = 0
			}
			zr[j] = math.Float32frombits(u)
		}
	}
}

// reluGrad zeroes the entries of the back-propagated gradient da whose
// activation a is not positive.
func reluGrad[F float32 | float64](da, a []F) {
	switch da := any(da).(type) {
	case []float64:
		a := any(a).([]float64)[:len(da)]
		for i, v := range a {
			u := math.Float64bits(da[i])
			if v <= 0 {
				u = 0
			}
			da[i] = math.Float64frombits(u)
		}
	case []float32:
		a := any(a).([]float32)[:len(da)]
		for i, v := range a {
			u := math.Float32bits(da[i])
			if v <= 0 {
				u = 0
			}
			da[i] = math.Float32frombits(u)
		}
	}
}
