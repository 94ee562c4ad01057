package tfrecord_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/ingest/tfrecord"
	"github.com/nbquery/nbquery/space/nb101"
)

func ExampleReader() {
	var buf bytes.Buffer
	w := tfrecord.NewWriter(&buf)
	w.Write([]byte("first"))
	w.Write([]byte("second"))
	r := tfrecord.NewReader(&buf)
	for {
		data, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s ", data)
	}
	fmt.Println(r.Offset())
	// Output: first second 43
}

// exampleRow is a made-up row of the README cell (not benchmark data).
func exampleRow() *tfrecord.Row {
	spec, _ := nb101.FromParts("0100110001000000010010000010000001000000010000000",
		[]nb101.Op{nb101.Input, nb101.Conv3x3, nb101.MaxPool3x3, nb101.Conv3x3, nb101.Conv3x3, nb101.Conv1x1, nb101.Output})
	return &tfrecord.Row{Hash: spec.Hash(), Epochs: 108, Spec: spec, Metrics: tfrecord.Metrics{
		Params: 8555530, TotalTime: 2000,
		Evals: []tfrecord.Eval{{}, {Epoch: 54, TrainingTime: 880, TestAccuracy: 0.8}, {Epoch: 108, TrainingTime: 1760, TestAccuracy: 0.9}},
	}}
}

func ExampleParseRow() {
	payload := tfrecord.AppendRow(nil, exampleRow())
	var row tfrecord.Row
	if err := tfrecord.ParseRow(payload, &row); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(row.Hash, row.Epochs, row.Spec.N, row.Metrics.Params, row.Metrics.Evals[2].TestAccuracy)
	// Output: 00005c142e6f48ac74fdcf73e3439874 108 7 8555530 0.9
}

func ExampleIngestNB101() {
	dir, _ := os.MkdirTemp("", "nbquery-example-")
	defer os.RemoveAll(dir)
	// A one-row file in the official framing.
	file := filepath.Join(dir, "tiny.tfrecord")
	var buf bytes.Buffer
	tfrecord.NewWriter(&buf).Write(tfrecord.AppendRow(nil, exampleRow()))
	os.WriteFile(file, buf.Bytes(), 0o644)

	st, _ := index.Open(filepath.Join(dir, "store"))
	defer st.Close()
	res, err := tfrecord.IngestNB101(context.Background(), st, file, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	tab, _ := st.NB101Table()
	q, _ := tab.Query(exampleRow().Spec, 108, false, rand.New(rand.NewPCG(1, 2)))
	fmt.Println(res.Records, res.Cells, q.TestAccuracy, q.TrainingTime)
	// Output: 1 1 0.9 1760
}
