package predictors

import (
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/nbquery/nbquery/internal/nb201test"
	"github.com/nbquery/nbquery/space/nb201"
)

// nb201Table is the NB201 cifar10-valid table (200 epochs, mean over seeds):
// X holds the one-hot encodings of all 15,625 cells, y the mean x-valid
// accuracy.
type nb201Table struct {
	cells []nb201.Cell
	X     *mat.Dense
	y     []float64
}

var (
	nb201Once sync.Once
	nb201Tab  *nb201Table
)

func loadNB201(tb testing.TB) *nb201Table {
	tb.Helper()
	src := nb201test.Load(tb)
	nb201Once.Do(func() {
		t := &nb201Table{cells: src.Cells, y: src.Valid}
		t.X = mat.NewDense(len(t.cells), NB201Dim, nil)
		EncodeNB201(t.X, t.cells)
		nb201Tab = t
	})
	if len(nb201Tab.y) != nb201.NumCells {
		tb.Fatalf("NB201 table has %d rows, want %d", len(nb201Tab.y), nb201.NumCells)
	}
	return nb201Tab
}
