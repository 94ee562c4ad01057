package index_test

import (
	"fmt"
	"log"
	"os"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/nb201"
)

// exampleStore writes a one-segment store: the arch list of the space in
// code order and the final x-valid accuracy of two cells for two seeds.
func exampleStore() string {
	dir, err := os.MkdirTemp("", "nbquery-example-")
	if err != nil {
		log.Fatal(err)
	}
	st, err := index.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	archs := make([]string, nb201.NumCells)
	for i := range archs {
		archs[i] = nb201.FromCode(i).String()
	}
	w, _ := st.NewSegment(index.NB201)
	w.SetArchs(archs)
	key := func(seed int) index.Key {
		return index.Key{Dataset: "cifar10-valid", HP: "200", Set: index.SetXValid, Metric: index.MetricAccuracy, Seed: seed}
	}
	err = w.Write(index.Frame{Rows: []int{0, 1}, Columns: []index.Column{
		{Key: key(777), Epochs: []int{199}, Values: []float64{82.09199998291015, 90.5}},
		{Key: key(888), Epochs: []int{199}, Values: []float64{81.61599997314453, 91.0}},
	}})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Commit(index.Source{Path: "example", Kind: "example", SHA256: "e1"}); err != nil {
		log.Fatal(err)
	}
	return dir
}

func ExampleOpen() {
	dir := exampleStore()
	defer os.RemoveAll(dir)

	st, err := index.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	b, err := st.Bench(index.NB201)
	if err != nil {
		log.Fatal(err)
	}
	q := index.Query{Dataset: "cifar10-valid", HP: "200", Split: "valid", Epoch: -1}
	v, err := b.Value(0, q)
	fmt.Println(v, err)
	v, err = b.Value(0, index.Query{Dataset: "cifar10-valid", HP: "200", Split: "valid", Epoch: -1, Seed: index.FixedSeed(888)})
	fmt.Println(v, err)
	_, err = b.Value(0, index.Query{Dataset: "cifar10-valid", HP: "200", Split: "valid", Epoch: 10})
	fmt.Println(err != nil)
	// Output:
	// 81.85399997802733 <nil>
	// 81.61599997314453 <nil>
	// true
}

func ExampleBench_TopK() {
	dir := exampleStore()
	defer os.RemoveAll(dir)
	st, _ := index.Open(dir)
	defer st.Close()
	b, _ := st.Bench(index.NB201)
	top, _ := b.TopK(index.Query{Dataset: "cifar10-valid", HP: "200", Split: "valid", Epoch: -1}, 1, false)
	arch, _ := b.Arch(top[0].Index)
	fmt.Println(top[0].Index, top[0].Value, arch)
	// Output:
	// 1 90.75 |none~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|
}
