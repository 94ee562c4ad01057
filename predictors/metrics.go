package predictors

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// KendallTau returns Kendall's tau-b between x and y, with ties handled as in
// scipy.stats.kendalltau (Knight's O(n log n) algorithm). It returns NaN when
// either input is constant or shorter than 2. It panics if the lengths differ.
func KendallTau(x, y []float64) float64 {
	n := len(x)
	if len(y) != n {
		panic(fmt.Sprintf("predictors: KendallTau: len(x) = %d, len(y) = %d", n, len(y)))
	}
	if n < 2 {
		return math.NaN()
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	// Sort by x then y.
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmpF(x[a], x[b]); c != 0 {
			return c
		}
		return cmpF(y[a], y[b])
	})
	// Pairs tied in x (t1) and tied in both (t3).
	var tx, txy int64
	for i := 0; i < n; {
		j := i + 1
		for j < n && x[idx[j]] == x[idx[i]] {
			j++
		}
		tx += pairs(j - i)
		for k := i; k < j; {
			l := k + 1
			for l < j && y[idx[l]] == y[idx[k]] {
				l++
			}
			txy += pairs(l - k)
			k = l
		}
		i = j
	}
	// Merge sort by y, counting swaps (discordant pairs).
	buf := make([]int, n)
	swaps := mergeCount(idx, buf, y)
	var ty int64
	for i := 0; i < n; {
		j := i + 1
		for j < n && y[idx[j]] == y[idx[i]] {
			j++
		}
		ty += pairs(j - i)
		i = j
	}
	n0 := pairs(n)
	num := float64(n0-tx-ty+txy) - 2*float64(swaps)
	den := math.Sqrt(float64(n0-tx)) * math.Sqrt(float64(n0-ty))
	if den == 0 {
		return math.NaN()
	}
	return num / den
}

func pairs(k int) int64 { return int64(k) * int64(k-1) / 2 }

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// mergeCount sorts idx by y (stably) and returns the number of inversions,
// counting only strict ones (y[a] > y[b] with a before b).
func mergeCount(idx, buf []int, y []float64) int64 {
	n := len(idx)
	orig := idx
	var swaps int64
	for width := 1; width < n; width *= 2 {
		for lo := 0; lo < n; lo += 2 * width {
			mid := min(lo+width, n)
			hi := min(lo+2*width, n)
			i, j, k := lo, mid, lo
			for i < mid && j < hi {
				if y[idx[j]] < y[idx[i]] {
					buf[k] = idx[j]
					swaps += int64(mid - i)
					j++
				} else {
					buf[k] = idx[i]
					i++
				}
				k++
			}
			k += copy(buf[k:], idx[i:mid])
			copy(buf[k:], idx[j:hi])
		}
		idx, buf = buf, idx
	}
	if n > 0 && &idx[0] != &orig[0] {
		copy(orig, idx)
	}
	return swaps
}

// Ranks writes into dst the 1-based ranks of x, ties given their average
// rank, and returns dst. It panics if len(dst) != len(x).
func Ranks(dst, x []float64) []float64 {
	if len(dst) != len(x) {
		panic(fmt.Sprintf("predictors: Ranks: len(dst) = %d, len(x) = %d", len(dst), len(x)))
	}
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && x[idx[j]] == x[idx[i]] {
			j++
		}
		r := float64(i+j+1) / 2 // average of ranks i+1 .. j
		for k := i; k < j; k++ {
			dst[idx[k]] = r
		}
		i = j
	}
	return dst
}

// Spearman returns Spearman's rank correlation (Pearson correlation of the
// average ranks). It returns NaN when either input is constant or shorter
// than 2. It panics if the lengths differ.
func Spearman(x, y []float64) float64 {
	if len(x) != len(y) {
		panic(fmt.Sprintf("predictors: Spearman: len(x) = %d, len(y) = %d", len(x), len(y)))
	}
	n := len(x)
	if n < 2 {
		return math.NaN()
	}
	rx := Ranks(make([]float64, n), x)
	ry := Ranks(make([]float64, n), y)
	mx, _ := meanStd(rx)
	my, _ := meanStd(ry)
	var sxy, sxx, syy float64
	for i := range rx {
		a, b := rx[i]-mx, ry[i]-my
		sxy += a * b
		sxx += a * a
		syy += b * b
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// TopK writes into dst the indices of the k largest values of x, largest
// first, ties broken by the lower index, and returns dst. It panics unless
// 0 <= k <= len(x).
func TopK(dst []int, x []float64, k int) []int {
	if k < 0 || k > len(x) {
		panic(fmt.Sprintf("predictors: TopK: k = %d, len(x) = %d", k, len(x)))
	}
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpF(x[b], x[a]) })
	return append(dst[:0], idx[:k]...)
}

// TopKPrecision returns |top-k by pred ∩ top-k by truth| / k (ties broken by
// the lower index in both rankings). It panics if the lengths differ or k is
// out of [1, len].
func TopKPrecision(pred, truth []float64, k int) float64 {
	if len(pred) != len(truth) {
		panic(fmt.Sprintf("predictors: TopKPrecision: len(pred) = %d, len(truth) = %d", len(pred), len(truth)))
	}
	if k < 1 {
		panic(fmt.Sprintf("predictors: TopKPrecision: k = %d", k))
	}
	a := TopK(nil, pred, k)
	b := TopK(nil, truth, k)
	in := make(map[int]bool, k)
	for _, i := range b {
		in[i] = true
	}
	hit := 0
	for _, i := range a {
		if in[i] {
			hit++
		}
	}
	return float64(hit) / float64(k)
}
