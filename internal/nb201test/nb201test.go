package nb201test

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/nbquery/nbquery/internal/shared"
	"github.com/nbquery/nbquery/space/nb201"
)

// Table is the cifar10-valid table in benchmark index order.
type Table struct {
	Archs     []string
	Cells     []nb201.Cell
	Codes     []int
	Valid     []float64 // x-valid accuracy
	Test      []float64 // ori-test accuracy
	TrainTime []float64 // train-all-time, seconds
}

var (
	once sync.Once
	tab  *Table
	terr error
)

// Load returns the table, failing the test if the data is missing.
func Load(tb testing.TB) *Table {
	tb.Helper()
	p := shared.Path(tb, "nb201_nats_tss_cifar10valid_200ep/cifar10_avg.csv")
	once.Do(func() { tab, terr = read(p) })
	if terr != nil {
		tb.Fatal(terr)
	}
	return tab
}

func read(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("nb201test: %s: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	t := &Table{}
	for line, r := range recs[1:] {
		c, err := nb201.Parse(r[col["arch_str"]])
		if err != nil {
			return nil, fmt.Errorf("nb201test: %s line %d: %w", path, line+2, err)
		}
		var v [3]float64
		for i, name := range []string{"valid-accuracy", "test-accuracy", "train-all-time"} {
			if v[i], err = strconv.ParseFloat(r[col[name]], 64); err != nil {
				return nil, fmt.Errorf("nb201test: %s line %d %s: %w", path, line+2, name, err)
			}
		}
		t.Archs = append(t.Archs, r[col["arch_str"]])
		t.Cells = append(t.Cells, c)
		t.Codes = append(t.Codes, c.Code())
		t.Valid, t.Test, t.TrainTime = append(t.Valid, v[0]), append(t.Test, v[1]), append(t.TrainTime, v[2])
	}
	return t, nil
}
