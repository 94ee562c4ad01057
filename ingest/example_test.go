package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/ingest"
	"github.com/nbquery/nbquery/internal/shared"
)

// Ingest a flattened NATS export and query it through the index.
func ExampleNB201() {
	dir, _ := os.MkdirTemp("", "nbquery-example")
	defer os.RemoveAll(dir)
	st, err := index.Open(filepath.Join(dir, "store"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	csv := filepath.Join(shared.DataDir(), "nb201_nats_tss_cifar10valid_200ep", "cifar10_avg.csv")
	res, err := ingest.NB201(context.Background(), st, csv, ingest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Source.Kind, res.Rows, "rows,", res.Columns, "columns")
	b, _ := st.Bench(index.NB201)
	si, _ := b.GetMetrics(6111, "cifar10-valid", "200", "x-valid", -1, index.MeanSeeds())
	fmt.Println(si.Accuracy)
	again, _ := ingest.NB201(context.Background(), st, csv, ingest.Options{})
	fmt.Println("unchanged:", again.Unchanged)
	// Output:
	// csv 15625 rows, 12 columns
	// 91.60666665
	// unchanged: true
}

// A column mapping imports any per-architecture table; errors name the
// file, line and column.
func ExampleParseMapping() {
	m, err := ingest.ParseMapping([]byte(`{"index": "idx", "arch": "arch_str", "hp": "200",
		"columns": {"acc_col": {"dataset": "cifar100", "set": "x-valid", "metric": "accuracy", "epoch": 199}}}`), "map.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Index, m.Arch, m.HP, m.Columns["acc_col"].Dataset, *m.Columns["acc_col"].Epoch)

	dir, _ := os.MkdirTemp("", "nbquery-example")
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "t.csv")
	os.WriteFile(p, []byte("idx,arch_str\n0,|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|\n"), 0o644)
	st, _ := index.Open(filepath.Join(dir, "store"))
	defer st.Close()
	_, err = ingest.NB201(context.Background(), st, p, ingest.Options{Mapping: m})
	var pe *ingest.ParseError
	fmt.Println(errors.Is(err, ingest.ErrMapping), errors.As(err, &pe) && pe.Line == 1 && pe.Field == "acc_col")
	// Output:
	// idx arch_str 200 cifar100 199
	// true true
}
