package catalog

import (
	"errors"
	"testing"

	"github.com/nbquery/nbquery/index"
)

func TestLiveResults(t *testing.T) {
	dir := t.TempDir()
	st, err := index.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := For(st)
	arch := "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
	if _, err := c.Live(index.NB201, arch, "fashion-mnist", 2); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("empty store: %v", err)
	}
	for seed, acc := range map[uint64]float64{2: 80, 1: 90} {
		r := index.LiveResult{Bench: index.NB201, Arch: arch, Dataset: "fashion-mnist", Epochs: 2, Seed: seed,
			Metrics: map[string]float64{"test-accuracy": acc, "params": 0.1}}
		if err := c.PutLive(r); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	// The results survive a restart.
	st, _ = index.Open(dir)
	defer st.Close()
	runs, err := For(st).Live(index.NB201, arch, "fashion-mnist", 2)
	if err != nil || len(runs) != 2 || runs[0].Seed != 1 || runs[1].Metrics["test-accuracy"] != 80 {
		t.Fatalf("Live = %+v, %v", runs, err)
	}
	if m := index.MeanLive(runs); m.Metrics["test-accuracy"] != 85 {
		t.Errorf("mean = %v", m.Metrics)
	}
	if err := c.PutLive(index.LiveResult{Bench: index.NB201}); err == nil {
		t.Error("incomplete live result accepted")
	}
}
