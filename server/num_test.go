package server

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nbquery/nbquery/index"
)

// TestAppendNum: the fast float writer agrees with index.FormatFloat.
func TestAppendNum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 91.60666665, 1e15, 9999999999999998, 1e16, 1e-4, 9.9e-5, 0.1 + 0.2, math.NaN(), math.Inf(1), math.Inf(-1), 123456789.125}
	for range 10000 {
		vals = append(vals, math.Float64frombits(r.Uint64()), r.NormFloat64()*math.Pow(10, float64(r.IntN(40)-20)))
	}
	for _, v := range vals {
		if got, want := string(appendNum(nil, v)), index.FormatFloat(v); got != want {
			t.Fatalf("appendNum(%v) = %s, want %s", v, got, want)
		}
	}
}
