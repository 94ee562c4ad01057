package index

import (
	"errors"
	"testing"
)

func TestLiveResults(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	arch := "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
	if _, err := st.Live(NB201, arch, "fashion-mnist", 2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty store: %v", err)
	}
	for seed, acc := range map[uint64]float64{2: 80, 1: 90} {
		r := LiveResult{Bench: NB201, Arch: arch, Dataset: "fashion-mnist", Epochs: 2, Seed: seed,
			Metrics: map[string]float64{"test-accuracy": acc, "params": 0.1}}
		if err := st.PutLive(r); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	// The results survive a restart.
	st, _ = Open(dir)
	defer st.Close()
	runs, err := st.Live(NB201, arch, "fashion-mnist", 2)
	if err != nil || len(runs) != 2 || runs[0].Seed != 1 || runs[1].Metrics["test-accuracy"] != 80 {
		t.Fatalf("Live = %+v, %v", runs, err)
	}
	if m := MeanLive(runs); m.Metrics["test-accuracy"] != 85 {
		t.Errorf("mean = %v", m.Metrics)
	}
	if err := st.PutLive(LiveResult{Bench: NB201}); err == nil {
		t.Error("incomplete live result accepted")
	}
}
