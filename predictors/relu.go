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
	for r := 0; r+len(b) <= len(z); r += len(b) {
		zr := z[r : r+len(b)]
		if !relu {
			for j, v := range zr {
				zr[j] = v + b[j]
			}
			continue
		}
		// One kernel per type: Go has no generic float-to-bits conversion.
		switch zr := any(zr).(type) {
		case []float64:
			addReLU64(zr, any(b).([]float64))
		case []float32:
			addReLU32(zr, any(b).([]float32))
		}
	}
}

func addReLU64(z, b []float64) {
	b = b[:len(z)]
	for j, v := range z {
		v += b[j]
		u := math.Float64bits(v)
		if v < 0 {
			u = 0
		}
		z[j] = math.Float64frombits(u)
	}
}

func addReLU32(z, b []float32) {
	b = b[:len(z)]
	for j, v := range z {
		v += b[j]
		u := math.Float32bits(v)
		if v < 0 {
			u = 0
		}
		z[j] = math.Float32frombits(u)
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
