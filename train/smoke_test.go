package train

import (
	"context"
	"os"
	"testing"
	"time"
)

func TestSmokeFashion(t *testing.T) {
	if os.Getenv("NBQ_SMOKE") == "" {
		t.Skip()
	}
	cfg := Config{Arch: "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
		DataDir: "/usr/share/datasets/fashion-mnist", Dataset: "fashion-mnist", Epochs: 1, Batch: 64, LR: 0.1,
		Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4, C: 8, N: 1, MaxTrain: 6400, EvalBatch: 500, ValidFraction: 0.0001, OutDir: t.TempDir()}
	t0 := time.Now()
	res, err := Run(context.Background(), cfg, os.Stderr)
	t.Logf("%+v %v %v", res, err, time.Since(t0))
}
