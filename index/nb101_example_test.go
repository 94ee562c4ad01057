package index_test

import (
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/nb101"
)

func ExampleStore_NB101Table() {
	dir, _ := os.MkdirTemp("", "nbquery-example-")
	defer os.RemoveAll(dir)
	st, _ := index.Open(dir)
	defer st.Close()

	// Normally tfrecord.IngestNB101 fills the builder; made-up numbers here.
	spec, _ := nb101.NewSpec([][]int{{0, 1, 1}, {0, 0, 1}, {0, 0, 0}}, []string{"input", "conv3x3-bn-relu", "output"})
	b := st.NewNB101Builder()
	for _, test := range []float64{0.91, 0.92, 0.93} {
		run := index.NB101Run{}
		run[index.FinalTrainingTime] = 1000
		run[index.FinalTestAccuracy] = test
		b.Add(spec.Hash(), spec, 123456, 108, &run)
	}
	if _, err := b.Commit(index.Source{Path: "example", Kind: "nb101-tfrecord", SHA256: "e1"}); err != nil {
		fmt.Println(err)
		return
	}

	tab, _ := st.NB101Table()
	q, _ := tab.QueryRepeat(spec, 108, false, 1)
	fmt.Println(q.Params, q.TestAccuracy)
	m, _ := tab.QueryMean(spec, 108, false)
	fmt.Printf("%.2f\n", m.TestAccuracy)
	tab.Query(spec, 108, false, rand.New(rand.NewPCG(1, 1)))
	fmt.Println(tab.BudgetCounters())
	// Output:
	// 123456 0.92
	// 0.92
	// 3000 324
}
