package predictors

import (
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/nbquery/nbquery/space/nb201"
)

// nasbenchExample is the 7-vertex cell of the nasbench README
// (input, conv3x3, maxpool, conv3x3, conv3x3, conv1x1, output).
var nasbenchExample = NB101FromMatrix([][]int{
	{0, 1, 1, 1, 0, 1, 0},
	{0, 0, 0, 0, 0, 0, 1},
	{0, 0, 0, 0, 0, 0, 1},
	{0, 0, 0, 0, 1, 0, 0},
	{0, 0, 0, 0, 0, 0, 1},
	{0, 0, 0, 0, 0, 0, 1},
	{0, 0, 0, 0, 0, 0, 0},
}, []int{NB101Input, NB101Conv3x3, NB101MaxPool3x3, NB101Conv3x3, NB101Conv3x3, NB101Conv1x1, NB101Output})

// prunedExample: input -> conv1x1 -> output plus input -> output.
var prunedExample = NB101FromMatrix([][]int{
	{0, 1, 1},
	{0, 0, 1},
	{0, 0, 0},
}, []int{NB101Input, NB101Conv1x1, NB101Output})

func cat(parts ...[]float64) []float64 {
	var out []float64
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestEncodeNB101(t *testing.T) {
	zero := func(n int) []float64 { return make([]float64, n) }
	for _, test := range []struct {
		name string
		cell NB101Cell
		want []float64
	}{
		{"nasbench-example", nasbenchExample, cat(
			[]float64{1, 0, 1, 0, 0},          // c=1: 0->1 | conv3x3
			[]float64{1, 0, 0, 0, 1, 0},       // c=2: 0->2 | maxpool
			[]float64{1, 0, 0, 0, 1, 0, 0},    // c=3: 0->3 | conv3x3
			[]float64{0, 0, 0, 1, 0, 1, 0, 0}, // c=4: 3->4 | conv3x3
			[]float64{1, 0, 0, 0, 0, 1, 0, 0, 0},
			[]float64{0, 1, 1, 0, 1, 1, 0, 0, 0, 1},
		)},
		{"pruned-3-vertices", prunedExample, cat(
			[]float64{1, 1, 0, 0, 0},    // c=1: 0->1 | conv1x1
			[]float64{1, 1, 0, 0, 0, 1}, // c=2: 0->2, 1->2 | output
			zero(7), zero(8), zero(9), zero(10),
		)},
	} {
		t.Run(test.name, func(t *testing.T) {
			dst := mat.NewDense(2, NB101Dim, nil)
			dst.Set(1, 3, 7) // stale content must be overwritten
			EncodeNB101(dst, []NB101Cell{test.cell, test.cell})
			for r := 0; r < 2; r++ {
				if got := dst.RawRowView(r); !slices.Equal(got, test.want) {
					t.Errorf("row %d:\n got %v\nwant %v", r, got, test.want)
				}
			}
		})
	}
}

func TestNB101Paths(t *testing.T) {
	for _, test := range []struct {
		name string
		cell NB101Cell
		want []int
	}{
		// paths: [conv3x3]=1, [maxpool]=3, [conv3x3 conv3x3]=1+3*1=4, [conv1x1]=2
		{"nasbench-example", nasbenchExample, []int{1, 2, 3, 4}},
		// direct edge = 0, [conv1x1] = 2
		{"pruned-3-vertices", prunedExample, []int{0, 2}},
		// input -> maxpool -> conv3x3 -> output: 3 + 3*1 = 6
		{"chain", NB101FromMatrix([][]int{{0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}, {0, 0, 0, 0}},
			[]int{NB101Input, NB101MaxPool3x3, NB101Conv3x3, NB101Output}), []int{6}},
	} {
		t.Run(test.name, func(t *testing.T) {
			got := NB101PathIndices(make([]int, 0, 32), test.cell)
			if !slices.Equal(got, test.want) {
				t.Fatalf("indices %v, want %v", got, test.want)
			}
			for _, k := range []int{NB101PathDim, 40, 3} {
				dst := mat.NewDense(1, k, nil)
				EncodePathNB101(dst, []NB101Cell{test.cell})
				want := make([]float64, k)
				for _, p := range test.want {
					if p < k {
						want[p] = 1
					}
				}
				if !slices.Equal(dst.RawRowView(0), want) {
					t.Errorf("k=%d: got %v", k, dst.RawRowView(0))
				}
			}
		})
	}
}

func TestNB201Paths(t *testing.T) {
	for _, test := range []struct {
		arch string
		want []int
	}{
		// conv3x3 is op 2 in naszilla's order: [2], 5+2+2*5, 5+2+2*5, 30+2+2*5+2*25
		{"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|", []int{2, 17, 17, 92}},
		// edges none, skip, conv1x1, conv3x3, avgpool, none = naszilla ops 3, 4, 1, 2, 0, 3
		{"|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|none~2|", []int{2, 8, 24, 113}},
	} {
		t.Run(test.arch, func(t *testing.T) {
			c, err := nb201.Parse(test.arch)
			if err != nil {
				t.Fatal(err)
			}
			if got := NB201PathIndices(nil, c); !slices.Equal(got, test.want) {
				t.Fatalf("indices %v, want %v", got, test.want)
			}
			for _, k := range []int{NB201PathDim, 30} {
				dst := mat.NewDense(1, k, nil)
				EncodePathNB201(dst, []nb201.Cell{c})
				var ones []int
				for j, v := range dst.RawRowView(0) {
					if v == 1 {
						ones = append(ones, j)
					}
				}
				var want []int
				for _, p := range test.want {
					if p < k && !slices.Contains(want, p) {
						want = append(want, p)
					}
				}
				slices.Sort(want)
				if !slices.Equal(ones, want) {
					t.Errorf("k=%d: ones at %v, want %v", k, ones, want)
				}
			}
		})
	}
}

func TestEncodeNB201(t *testing.T) {
	cells := []nb201.Cell{nb201.FromCode(0), nb201.FromCode(nb201.NumCells - 1), nb201.FromCode(1234)}
	dst := mat.NewDense(len(cells), NB201Dim, nil)
	EncodeNB201(dst, cells)
	for i, c := range cells {
		row := dst.RawRowView(i)
		for e := 0; e < nb201.NumEdges; e++ {
			for op := 0; op < nb201.NumOps; op++ {
				want := 0.0
				if int(c[e]) == op {
					want = 1
				}
				if row[e*nb201.NumOps+op] != want {
					t.Errorf("cell %v edge %d op %d = %v, want %v", c, e, op, row[e*nb201.NumOps+op], want)
				}
			}
		}
	}
}

func TestEncodeOneHot(t *testing.T) {
	dst := mat.NewDense(2, 6, nil)
	EncodeOneHot(dst, [][]int{{0, 1, 0}, {2, 0, 0}}, []int{3, 2, 1})
	want := [][]float64{{1, 0, 0, 0, 1, 1}, {0, 0, 1, 1, 0, 1}}
	for i, w := range want {
		if got := dst.RawRowView(i); !slices.Equal(got, w) {
			t.Errorf("row %d = %v, want %v", i, got, w)
		}
	}
}

func TestEncodePanics(t *testing.T) {
	for _, test := range []struct {
		name string
		fn   func()
	}{
		{"nb201-rows", func() { EncodeNB201(mat.NewDense(2, NB201Dim, nil), []nb201.Cell{{}}) }},
		{"nb201-cols", func() { EncodeNB201(mat.NewDense(1, 29, nil), []nb201.Cell{{}}) }},
		{"nb101-cols", func() { EncodeNB101(mat.NewDense(1, 44, nil), []NB101Cell{prunedExample}) }},
		{"nb101-op", func() { EncodeNB101(mat.NewDense(1, 45, nil), []NB101Cell{{Ops: []int{0, 9, 4}}}) }},
		{"nb101-path-width", func() { EncodePathNB101(mat.NewDense(1, 365, nil), []NB101Cell{prunedExample}) }},
		{"nb201-path-width", func() { EncodePathNB201(mat.NewDense(1, 156, nil), []nb201.Cell{{}}) }},
		{"onehot-range", func() { EncodeOneHot(mat.NewDense(1, 2, nil), [][]int{{2}}, []int{2}) }},
		{"matrix-ops", func() { NB101FromMatrix([][]int{{0, 1}, {0, 0}}, []int{0}) }},
	} {
		t.Run(test.name, func(t *testing.T) { expectPanic(t, test.fn) })
	}
}

// expectPanic fails unless fn panics with a "predictors:" message.
func expectPanic(t *testing.T, fn func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatal("no panic")
		}
		if s, ok := r.(string); !ok || !strings.HasPrefix(s, "predictors:") {
			t.Fatalf("panic %v, want a string starting with \"predictors:\"", r)
		}
	}()
	fn()
}

// FuzzEncodeNB101 builds a cell from bytes (a 64-bit adjacency and up to 7
// op bytes) and checks the 45-dim and path encodings against their
// definitions: the 45-dim row holds one 1 per upper-triangle edge among the
// cell's vertices plus one op bit per non-input vertex, and the path count
// equals the number of input->output routes.
func FuzzEncodeNB101(f *testing.F) {
	f.Add(uint64(nasbenchExample.Adj), []byte{0, 2, 3, 2, 2, 1, 4})
	f.Add(uint64(prunedExample.Adj), []byte{0, 1, 4})
	f.Add(uint64(0), []byte{0, 4})
	f.Fuzz(func(t *testing.T, adj uint64, ops []byte) {
		n := len(ops)
		if n < 2 || n > NB101MaxVertices {
			return
		}
		c := NB101Cell{Ops: make([]int, n)}
		for i, b := range ops {
			c.Ops[i] = 1 + int(b)%3
		}
		c.Ops[0], c.Ops[n-1] = NB101Input, NB101Output
		var edges int
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				if adj>>(i*NB101MaxVertices+j)&1 != 0 {
					c.Adj |= 1 << (i*NB101MaxVertices + j)
					edges++
				}
			}
		}
		dst := mat.NewDense(1, NB101Dim, nil)
		EncodeNB101(dst, []NB101Cell{c})
		var sum float64
		for _, v := range dst.RawRowView(0) {
			sum += v
		}
		if want := float64(edges + n - 1); sum != want {
			t.Fatalf("45-dim row sums to %v, want %v", sum, want)
		}
		// routes counted by dynamic programming over the DAG
		var routes [NB101MaxVertices]int
		routes[0] = 1
		for j := 1; j < n; j++ {
			for i := 0; i < j; i++ {
				if c.Edge(i, j) {
					routes[j] += routes[i]
				}
			}
		}
		idx := NB101PathIndices(nil, c)
		if len(idx) != routes[n-1] {
			t.Fatalf("%d path indices, want %d routes", len(idx), routes[n-1])
		}
		for _, p := range idx {
			if p < 0 || p >= NB101PathDim {
				t.Fatalf("path index %d out of range", p)
			}
		}
	})
}
