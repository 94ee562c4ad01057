package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nbquery/nbquery/space/darts"
)

const fashionDir = "/usr/share/datasets/fashion-mnist"

func fashionMNIST(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(fashionDir, "train-images-idx3-ubyte.gz")); err != nil {
		t.Fatalf("Fashion-MNIST missing (apt-get install -y dataset-fashion-mnist): %v", err)
	}
	return fashionDir
}

// ciSearch is the CI-sized search of TRAINER.md §9.5: C=4, 3 cells, 8×8
// Fashion-MNIST, 32 + 32 images, batch 16, one epoch (2 steps), then
// DARTS-PT with one tuning step per projection round on 8 images.
func ciSearch(dir, out string) SearchConfig {
	return SearchConfig{DataDir: dir, Dataset: "fashion-mnist", C: 4, Layers: 3, Resize: 8, MaxTrain: 32, MaxValid: 32,
		Batch: 16, EvalBatch: 8, Epochs: 1, Select: "pt", ProjInterval: 1, ProjImages: 8, Seed: 1, OutDir: out}
}

// TestDARTSEndToEnd searches, selects by argmax and DARTS-PT, resumes a
// search interrupted during the search and again during the selection to
// the same result, and trains the selected genotype, on real Fashion-MNIST.
func TestDARTSEndToEnd(t *testing.T) {
	dir := fashionMNIST(t)
	var log strings.Builder
	cfg := ciSearch(dir, t.TempDir())
	res, err := Search(context.Background(), cfg, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, s := range []string{res.Argmax, res.PT} {
		g, err := darts.Parse(s)
		if err != nil || !g.Valid() {
			t.Fatalf("genotype %q: %v", s, err)
		}
	}
	if len(res.Decisions) != 2*ptRounds || len(res.EpochAccuracy) != 1 || !res.Completed || res.Steps != 2+ptRounds {
		t.Fatalf("result: %d decisions, %d epoch accuracies, %d steps, completed %v", len(res.Decisions), len(res.EpochAccuracy), res.Steps, res.Completed)
	}
	for _, want := range []string{"argmax genotype: Genotype(", "pt normal op edge", "pt reduce edges of node", "DARTS-PT genotype: Genotype("} {
		if !strings.Contains(log.String(), want) {
			t.Fatalf("progress lacks %q:\n%s", want, log.String())
		}
	}

	// Interrupted after 1 search step, then after 4 more (in DARTS-PT's
	// tuning), then resumed to the end: the same genotypes and α (three more
	// supernet builds: not under -short, CI's second, OpenBLAS pass).
	if !testing.Short() {
		resumedSearch(t, dir, res)
	}

	// Train the DARTS-PT genotype from scratch (8 cells would be the paper's
	// evaluation depth; CI keeps 3) with every trick on.
	tr, err := Run(context.Background(), Config{Space: "darts", Arch: res.PT, DataDir: dir, Dataset: "fashion-mnist",
		C: 4, Layers: 3, Resize: 8, MaxTrain: 64, MaxTest: 64, Epochs: 1, Batch: 16, EvalBatch: 32, LR: 0.025,
		Momentum: 0.9, WeightDecay: 3e-4, ClipNorm: 5, AuxWeight: 0.4, DropPath: 0.2,
		Augment: &Augment{Cutout: 4}, OutDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Completed || tr.TestAccuracy <= 0 || tr.Arch != res.PT || tr.Steps != 4 {
		t.Fatalf("training: %+v", tr)
	}
	t.Logf("argmax %s\nDARTS-PT %s\ntest accuracy after 4 steps %.1f%%", res.Argmax, res.PT, tr.TestAccuracy)
}

// TestDARTSSearchNaNGuard: a diverging search stops with ErrNonFinite and
// never checkpoints non-finite weights (synthetic 8×8 images, one build).
func TestDARTSSearchNaNGuard(t *testing.T) {
	data := synthMNISTDir(t, 64, 16, 8)
	dir := t.TempDir()
	cfg := SearchConfig{DataDir: data, Dataset: "mnist", C: 2, Layers: 3, MaxTrain: 16, MaxValid: 16, Batch: 8,
		EvalBatch: 8, Epochs: 2, LR: 1e30, ClipNorm: -1, CheckpointSteps: 1, OutDir: dir}
	_, err := Search(context.Background(), cfg, nil)
	if !errors.Is(err, ErrNonFinite) {
		t.Fatalf("got %v, want ErrNonFinite", err)
	}
	if st, err := readCheckpoint(filepath.Join(dir, CheckpointName)); err == nil {
		for name, w := range st.Weights {
			for _, v := range w {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("checkpoint kept a non-finite weight in %s", name)
				}
			}
		}
	}
}

// resumedSearch repeats the CI search interrupted mid-search and
// mid-selection and checks it ends where the uninterrupted one (res) did.
func resumedSearch(t *testing.T, dir string, res SearchResult) {
	t.Helper()
	cfg2 := ciSearch(dir, t.TempDir())
	cfg2.MaxSteps = 1
	if _, err := Search(context.Background(), cfg2, nil); !errors.Is(err, ErrStepLimit) {
		t.Fatalf("first leg: %v", err)
	}
	cfg2.Resume, cfg2.MaxSteps = true, 4
	if _, err := Search(context.Background(), cfg2, nil); !errors.Is(err, ErrStepLimit) {
		t.Fatalf("second leg: %v", err)
	}
	cfg2.MaxSteps = 0
	res2, err := Search(context.Background(), cfg2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Argmax != res.Argmax || res2.PT != res.PT || !reflect.DeepEqual(res2.Alpha, res.Alpha) || !reflect.DeepEqual(res2.Decisions, res.Decisions) {
		t.Fatalf("resumed search differs:\n%v\n%v", res2.PT, res.PT)
	}
}
