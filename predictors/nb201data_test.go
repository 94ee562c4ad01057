package predictors

import (
	"encoding/csv"
	"os"
	"strconv"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/nbquery/nbquery/internal/shared"
	"github.com/nbquery/nbquery/space/nb201"
)

// nb201Table is the NB201 cifar10-valid table (200 epochs, mean over seeds):
// X holds the one-hot encodings of all 15,625 cells, y the mean x-valid
// accuracy. Test helper only: the store will replace this CSV reading.
type nb201Table struct {
	cells []nb201.Cell
	X     *mat.Dense
	y     []float64
}

var (
	nb201Once sync.Once
	nb201Tab  *nb201Table
	nb201Err  string
)

func loadNB201(tb testing.TB) *nb201Table {
	tb.Helper()
	p := shared.Path(tb, "nb201_nats_tss_cifar10valid_200ep/cifar10_avg.csv")
	nb201Once.Do(func() {
		f, err := os.Open(p)
		if err != nil {
			nb201Err = err.Error()
			return
		}
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		if err != nil {
			nb201Err = err.Error()
			return
		}
		head := map[string]int{}
		for i, h := range recs[0] {
			head[h] = i
		}
		ca, cv := head["arch_str"], head["valid-accuracy"]
		t := &nb201Table{}
		for line, r := range recs[1:] {
			c, err := nb201.Parse(r[ca])
			if err != nil {
				nb201Err = err.Error()
				return
			}
			v, err := strconv.ParseFloat(r[cv], 64)
			if err != nil {
				nb201Err = "line " + strconv.Itoa(line+2) + ": " + err.Error()
				return
			}
			t.cells = append(t.cells, c)
			t.y = append(t.y, v)
		}
		t.X = mat.NewDense(len(t.cells), NB201Dim, nil)
		EncodeNB201(t.X, t.cells)
		nb201Tab = t
	})
	if nb201Tab == nil {
		tb.Fatalf("loading NB201 table %s: %s", p, nb201Err)
	}
	if len(nb201Tab.y) != nb201.NumCells {
		tb.Fatalf("NB201 table has %d rows, want %d", len(nb201Tab.y), nb201.NumCells)
	}
	return nb201Tab
}
