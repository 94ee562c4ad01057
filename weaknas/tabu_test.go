package weaknas

import (
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/nbquery/nbquery/predictors"
	"github.com/nbquery/nbquery/space/nb201"
)

// TestMarkTabu: on the NB201 one-hot encoding a radius of 4 features is two
// edges, so the tabu ball of any cell holds 1 + 6*4 + 15*4*4 = 265 cells,
// and a radius of 2 the 25 cells within one edge.
func TestMarkTabu(t *testing.T) {
	cells := make([]nb201.Cell, nb201.NumCells)
	for i := range cells {
		cells[i] = nb201.FromCode(i)
	}
	X := mat.NewDense(len(cells), predictors.NB201Dim, nil)
	predictors.EncodeNB201(X, cells)
	w := &WeakNAS{X: X}
	for _, test := range []struct{ c, r, want int }{{6111, 4, 265}, {0, 4, 265}, {15283, 2, 25}, {9930, 0, 1}} {
		tabu := make([]bool, len(cells))
		w.markTabu(tabu, test.c, test.r)
		n := 0
		for i, in := range tabu {
			if in {
				n++
				d := 0
				for e := range cells[i] {
					if cells[i][e] != cells[test.c][e] {
						d++
					}
				}
				if 2*d > test.r {
					t.Fatalf("cell %d is %d edges from %d, marked with radius %d", i, d, test.c, test.r)
				}
			}
		}
		if n != test.want || !tabu[test.c] {
			t.Errorf("cell %d radius %d: %d tabu cells, want %d", test.c, test.r, n, test.want)
		}
	}
}
