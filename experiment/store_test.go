package experiment_test

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/internal/shared"
)

// The real cifar10-valid hp=200 table and the HELP device latencies, written
// once per test binary into a store through the index writer API (the
// ingest package's CSV path was not ready when this was written).
var (
	storeOnce sync.Once
	storeDir  string
	storeErr  error
)

func readCSV(path string) ([][]string, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	sum := sha256.Sum256(b)
	return rows, hex.EncodeToString(sum[:]), err
}

func column(rows [][]string, name string) []float64 {
	c := -1
	for i, h := range rows[0] {
		if h == name {
			c = i
		}
	}
	out := make([]float64, len(rows)-1)
	for i, r := range rows[1:] {
		out[i], _ = strconv.ParseFloat(r[c], 64)
	}
	return out
}

func testStore(t testing.TB) *index.Store {
	t.Helper()
	accPath := shared.Path(t, "nb201_nats_tss_cifar10valid_200ep/cifar10_avg.csv")
	latPath := shared.Path(t, "nb201_help_latency/nb201_latency_help.csv")
	storeOnce.Do(func() {
		storeDir, storeErr = os.MkdirTemp("", "nbquery-experiment-test-")
		if storeErr != nil {
			return
		}
		storeErr = buildStore(storeDir, accPath, latPath)
	})
	if storeErr != nil {
		t.Fatal(storeErr)
	}
	st, err := index.Open(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func buildStore(dir, accPath, latPath string) error {
	st, err := index.Open(dir)
	if err != nil {
		return err
	}
	defer st.Close()
	rows, sum, err := readCSV(accPath)
	if err != nil {
		return err
	}
	n := len(rows) - 1
	archs := make([]string, n)
	idx := make([]int, n)
	for i, r := range rows[1:] {
		archs[i] = r[5]
		idx[i] = i
	}
	k := func(set, metric string) index.Key {
		return index.Key{Dataset: "cifar10-valid", HP: "200", Set: set, Metric: metric, Seed: index.SeedMean}
	}
	ep := []int{199}
	w, err := st.NewSegment(index.NB201)
	if err != nil {
		return err
	}
	w.SetArchs(archs)
	if err := w.Write(index.Frame{Rows: idx, Columns: []index.Column{
		{Key: k(index.SetXValid, index.MetricAccuracy), Epochs: ep, Values: column(rows, "valid-accuracy")},
		{Key: k(index.SetOriTest, index.MetricAccuracy), Epochs: ep, Values: column(rows, "test-accuracy")},
		{Key: k(index.SetTrain, index.MetricAccuracy), Epochs: ep, Values: column(rows, "train-accuracy")},
		{Key: k(index.SetTrain, index.MetricAllTime), Epochs: ep, Values: column(rows, "train-all-time")},
		{Key: k(index.SetXValid, index.MetricPerTime), Epochs: ep, Values: column(rows, "valid-per-time")},
	}}); err != nil {
		return err
	}
	if err := w.Commit(index.Source{Path: accPath, Kind: "csv", SHA256: sum}); err != nil {
		return err
	}
	lrows, lsum, err := readCSV(latPath)
	if err != nil {
		return err
	}
	var cols []index.Column
	for _, dev := range lrows[0][1:] {
		cols = append(cols, index.Column{Key: index.Key{Set: index.SetHW, Metric: dev, Seed: index.SeedMean}, Values: column(lrows, dev)})
	}
	w, err = st.NewSegment(index.NB201)
	if err != nil {
		return err
	}
	if err := w.Write(index.Frame{Rows: idx, Columns: cols}); err != nil {
		return err
	}
	return w.Commit(index.Source{Path: filepath.Base(latPath), Kind: "help-latency", SHA256: lsum})
}

func TestMain(m *testing.M) {
	code := m.Run()
	if storeDir != "" {
		os.RemoveAll(storeDir)
	}
	os.Exit(code)
}
