package train

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeIDX writes a gzip IDX file of unsigned bytes.
func writeIDX(t testing.TB, path string, dims []int, data []uint8) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	hdr := make([]byte, 4+4*len(dims))
	binary.BigEndian.PutUint32(hdr, 0x800|uint32(len(dims)))
	for i, d := range dims {
		binary.BigEndian.PutUint32(hdr[4+4*i:], uint32(d))
	}
	zw.Write(hdr)
	zw.Write(data)
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// synthImages makes n side×side images whose class is a bright 2×2 block at
// a class-specific position plus noise.
func synthImages(rng *rand.Rand, n, side int) ([]uint8, []uint8) {
	pix := make([]uint8, n*side*side)
	lab := make([]uint8, n)
	for i := 0; i < n; i++ {
		c := rng.IntN(10)
		lab[i] = uint8(c)
		img := pix[i*side*side:]
		for k := 0; k < side*side; k++ {
			img[k] = uint8(rng.IntN(60))
		}
		y, x := (c/4)*(side/3), (c%4)*(side/4)
		for dy := 0; dy < 2; dy++ {
			for dx := 0; dx < 2; dx++ {
				img[(y+dy)*side+x+dx] = 255
			}
		}
	}
	return pix, lab
}

// synthMNISTDir writes a small MNIST-layout data folder.
func synthMNISTDir(t testing.TB, nTrain, nTest, side int) string {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(11, 12))
	p, l := synthImages(rng, nTrain, side)
	writeIDX(t, filepath.Join(dir, "train-images-idx3-ubyte.gz"), []int{nTrain, side, side}, p)
	writeIDX(t, filepath.Join(dir, "train-labels-idx1-ubyte.gz"), []int{nTrain}, l)
	p, l = synthImages(rng, nTest, side)
	writeIDX(t, filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), []int{nTest, side, side}, p)
	writeIDX(t, filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"), []int{nTest}, l)
	return dir
}

const testArch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"

func smallConfig(dataDir, out string) Config {
	return Config{Arch: testArch, DataDir: dataDir, Dataset: "mnist", Epochs: 2, Batch: 16, LR: 0.05,
		Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4, C: 4, N: 1, ValidFraction: 0.1, EvalBatch: 50,
		Augment: &Augment{CropPad: 1, Flip: true, Cutout: 2}, Seed: 3, OutDir: out, CheckpointSteps: 4}
}

func checkpointWeights(t *testing.T, dir string) map[string][]float64 {
	t.Helper()
	st, err := readCheckpoint(filepath.Join(dir, CheckpointName))
	if err != nil {
		t.Fatal(err)
	}
	return st.Weights
}

// TestResumeMatchesUninterrupted interrupts runs (context cancellation at a
// step, a step limit) and resumes them; the final weights and metrics must
// equal an uninterrupted run with the same seed.
func TestResumeMatchesUninterrupted(t *testing.T) {
	data := synthMNISTDir(t, 320, 100, 12)
	ctx := context.Background()
	refDir := t.TempDir()
	ref, err := Run(ctx, smallConfig(data, refDir), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Steps != 36 || !ref.Completed {
		t.Fatalf("reference run: %d steps, completed %v; want 36, true", ref.Steps, ref.Completed)
	}
	refW := checkpointWeights(t, refDir)
	for _, tc := range []struct {
		name   string
		cancel int // cancel the context after this step
		limit  int // MaxSteps of the first call
		kill   bool
		want   error
	}{
		{"kill_after_periodic_checkpoint", 0, 0, true, ErrInterrupted},
		{"cancel_mid_epoch", 7, 0, false, ErrInterrupted},
		{"cancel_at_epoch_end", 18, 0, false, ErrInterrupted},
		{"step_limit", 0, 23, false, ErrStepLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := smallConfig(data, dir)
			cfg.MaxSteps = tc.limit
			if tc.cancel > 0 {
				testHookStep = func(step int, cancel func()) {
					if step == tc.cancel {
						cancel()
					}
				}
			}
			var saved []byte
			if tc.kill {
				// Simulate kill -9 after step 6: keep the periodic
				// checkpoint written at step 4, discard later state.
				testHookStep = func(step int, cancel func()) {
					if step == 6 {
						saved, _ = os.ReadFile(filepath.Join(dir, CheckpointName))
						cancel()
					}
				}
			}
			_, err := Run(ctx, cfg, nil)
			testHookStep = nil
			if !errors.Is(err, tc.want) {
				t.Fatalf("first call: %v, want %v", err, tc.want)
			}
			if tc.kill {
				if st, err := readCheckpointBytes(saved); err != nil || st.Step != 4 {
					t.Fatalf("periodic checkpoint: %v, step %v", err, st)
				}
				if err := os.WriteFile(filepath.Join(dir, CheckpointName), saved, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cfg.MaxSteps, cfg.Resume = 0, true
			got, err := Run(ctx, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			w := checkpointWeights(t, dir)
			for name, rw := range refW {
				for i := range rw {
					if math.Abs(rw[i]-w[name][i]) > 1e-6 {
						t.Fatalf("weight %s[%d] = %v, uninterrupted %v", name, i, w[name][i], rw[i])
					}
				}
			}
			rm, gm := ref.Metrics(), got.Metrics()
			for k, v := range rm {
				if k == "train-all-time" {
					continue
				}
				if math.Abs(v-gm[k]) > 1e-6 {
					t.Errorf("%s = %v, uninterrupted %v", k, gm[k], v)
				}
			}
		})
	}
	t.Run("other_config_refused", func(t *testing.T) {
		cfg := smallConfig(data, refDir)
		cfg.LR, cfg.Resume = 0.07, true
		if _, err := Run(ctx, cfg, nil); !errors.Is(err, ErrConfigMismatch) {
			t.Fatalf("got %v, want ErrConfigMismatch", err)
		}
	})
	if ref.TestAccuracy < 50 {
		t.Errorf("synthetic test accuracy %.1f%%, want a model that learns (>= 50%%)", ref.TestAccuracy)
	}
}

func readCheckpointBytes(b []byte) (*checkpoint, error) { return decodeCheckpoint(b) }

func TestNaNGuard(t *testing.T) {
	data := synthMNISTDir(t, 320, 100, 12)
	dir := t.TempDir()
	cfg := smallConfig(data, dir)
	cfg.LR, cfg.CheckpointSteps, cfg.WeightDecay = 1e30, 1, 0
	_, err := Run(context.Background(), cfg, nil)
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

func TestTimeLimit(t *testing.T) {
	data := synthMNISTDir(t, 320, 100, 12)
	dir := t.TempDir()
	cfg := smallConfig(data, dir)
	cfg.TimeLimit = time.Nanosecond
	res, err := Run(context.Background(), cfg, nil)
	if !errors.Is(err, ErrTimeLimit) {
		t.Fatalf("got %v, want ErrTimeLimit", err)
	}
	if res.Completed {
		t.Fatal("a stopped run reports Completed")
	}
	st, err := readCheckpoint(filepath.Join(dir, CheckpointName))
	if err != nil || st.Step != 0 {
		t.Fatalf("checkpoint after time limit: %v, step %v", err, st)
	}
}

func writeImage(t *testing.T, path string, jpg bool, c uint8) {
	img := image.NewRGBA(image.Rect(0, 0, 12, 9))
	for y := 0; y < 9; y++ {
		for x := 0; x < 12; x++ {
			img.Set(x, y, color.RGBA{c, uint8(x * 20), uint8(y * 20), 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if jpg {
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 95})
	} else {
		err = png.Encode(f, img)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestReadImageFolder(t *testing.T) {
	root := t.TempDir()
	for _, c := range []string{"n02", "n01"} {
		os.MkdirAll(filepath.Join(root, c), 0o755)
	}
	writeImage(t, filepath.Join(root, "n01", "a.JPEG"), true, 200)
	writeImage(t, filepath.Join(root, "n01", "b.JPEG"), false, 100) // a PNG named .JPEG
	writeImage(t, filepath.Join(root, "n02", "c.jpg"), true, 10)
	os.WriteFile(filepath.Join(root, "n02", "bad.JPEG"), []byte("\xff\xd8\xff\xe0 not a jpeg"), 0o644)
	t.Run("skip_corrupt", func(t *testing.T) {
		d, classes, err := ReadImageFolder(root, FolderOptions{Size: 8, SkipCorrupt: true})
		if err != nil {
			t.Fatal(err)
		}
		if d.N != 3 || d.Skipped != 1 || len(classes) != 2 || classes[0] != "n01" {
			t.Fatalf("N %d skipped %d classes %v; want 3, 1, [n01 n02]", d.N, d.Skipped, classes)
		}
		if d.Labels[0] != 0 || d.Labels[2] != 1 || d.C != 3 || d.H != 8 {
			t.Fatalf("labels %v, shape %dx%dx%d", d.Labels, d.C, d.H, d.W)
		}
		// The red plane of the first image is uniformly 200 (lossy JPEG: ±3).
		if r := d.image(0)[0]; r < 197 || r > 203 {
			t.Fatalf("red pixel %d, want ≈200", r)
		}
	})
	t.Run("corrupt_is_error", func(t *testing.T) {
		_, _, err := ReadImageFolder(root, FolderOptions{Size: 8})
		if !errors.Is(err, ErrFormat) {
			t.Fatalf("got %v, want ErrFormat", err)
		}
	})
}

func TestBadInputs(t *testing.T) {
	data := synthMNISTDir(t, 64, 20, 12)
	cifar := t.TempDir()
	rec := make([]byte, CIFARRecord*2+100)
	for i := 1; i <= 5; i++ {
		os.WriteFile(filepath.Join(cifar, "data_batch_"+string(rune('0'+i))+".bin"), rec, 0o644)
	}
	os.WriteFile(filepath.Join(cifar, "test_batch.bin"), rec[:CIFARRecord], 0o644)
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want error
	}{
		{"missing_folder", func(c *Config) { c.DataDir = filepath.Join(data, "nope") }, ErrNoData},
		{"invalid_arch", func(c *Config) { c.Arch = "|conv_9x9~0|+|" }, ErrConfig},
		{"unknown_dataset", func(c *Config) { c.Dataset = "svhn" }, ErrConfig},
		{"truncated_cifar", func(c *Config) { c.DataDir, c.Dataset = cifar, "cifar10" }, ErrTruncated},
		{"missing_imagenet", func(c *Config) { c.Dataset = "imagenet" }, ErrNoData},
		{"bad_batch", func(c *Config) { c.Batch = -1 }, ErrConfig},
		{"no_outdir", func(c *Config) { c.OutDir = "" }, ErrConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smallConfig(data, t.TempDir())
			tc.mod(&cfg)
			_, err := Run(context.Background(), cfg, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			t.Log(err)
		})
	}
	t.Run("resume_without_checkpoint", func(t *testing.T) {
		cfg := smallConfig(data, t.TempDir())
		cfg.Resume = true
		if _, err := Run(context.Background(), cfg, nil); !errors.Is(err, ErrNoCheckpoint) {
			t.Fatalf("got %v, want ErrNoCheckpoint", err)
		}
	})
	t.Run("corrupt_checkpoint", func(t *testing.T) {
		cfg := smallConfig(data, t.TempDir())
		cfg.Resume = true
		os.WriteFile(filepath.Join(cfg.OutDir, CheckpointName), []byte("not a gob"), 0o644)
		if _, err := Run(context.Background(), cfg, nil); !errors.Is(err, ErrCorruptCheckpoint) {
			t.Fatalf("got %v, want ErrCorruptCheckpoint", err)
		}
	})
}

// TestFashionMNIST trains a small NB201 network (C=8, N=1, the best NB201
// cell) on real Fashion-MNIST for 300 Adam steps of 32 images (9,600 of the
// 60,000, cosine schedule) and evaluates on
// all 10,000 test images. Requires Debian's dataset-fashion-mnist.
func TestFashionMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("about 2-5 minutes on 2 cores; skipped with -short")
	}
	const dir = "/usr/share/datasets/fashion-mnist"
	if _, err := os.Stat(filepath.Join(dir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Fatalf("Fashion-MNIST missing (apt-get install -y dataset-fashion-mnist): %v", err)
	}
	cfg := Config{Arch: "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
		DataDir: dir, Dataset: "fashion-mnist", Epochs: 1, Batch: 32, Optimizer: "adam", LR: 0.003,
		C: 8, N: 1, MaxTrain: 300 * 32, ValidFraction: 0.01, EvalBatch: 100, Seed: 1, OutDir: t.TempDir()}
	start := time.Now()
	res, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("test accuracy %.2f%% (loss %.4f), train %.2f%%, %d steps, %.1f img/s, training %.1fs, total %s",
		res.TestAccuracy, res.TestLoss, res.TrainAccuracy, res.Steps, res.ImagesPerSec, res.TrainAllTime, time.Since(start))
	if res.TestAccuracy < 75 {
		t.Fatalf("test accuracy %.2f%% on 10,000 Fashion-MNIST images, want >= 75%%", res.TestAccuracy)
	}
	if _, err := os.Stat(filepath.Join(cfg.OutDir, "result.json")); err != nil {
		t.Fatal(err)
	}
}

func TestProgressAndResultFile(t *testing.T) {
	data := synthMNISTDir(t, 320, 100, 12)
	cfg := smallConfig(data, t.TempDir())
	cfg.Epochs = 1
	var buf bytes.Buffer
	res, err := Run(context.Background(), cfg, &buf)
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"loss", "acc", "img/s", "ep 1/1"} {
		if !bytes.Contains([]byte(out), []byte(want)) {
			t.Errorf("progress output lacks %q: %q", want, out)
		}
	}
	b, err := os.ReadFile(filepath.Join(cfg.OutDir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"train-accuracy"`, `"valid-loss"`, `"test-accuracy"`, `"train-all-time"`, `"params"`, `"flops"`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("result.json lacks %s", key)
		}
	}
	if res.ParamsMB <= 0 || res.FlopsM <= 0 || res.ValidAccuracy <= 0 || res.TestLoss <= 0 {
		t.Errorf("result %+v has empty metrics", res)
	}
}

// TestSignalContext: SIGINT cancels the context (Run then checkpoints and
// returns ErrInterrupted) instead of killing the process.
func TestSignalContext(t *testing.T) {
	ctx, stop := SignalContext(context.Background())
	defer stop()
	p, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGINT did not cancel the context")
	}
	data := synthMNISTDir(t, 64, 20, 12)
	cfg := smallConfig(data, t.TempDir())
	if _, err := Run(ctx, cfg, nil); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Run on a signalled context: %v, want ErrInterrupted", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.OutDir, CheckpointName)); err != nil {
		t.Fatalf("no checkpoint after the signal: %v", err)
	}
}

// TestDamagedCheckpointFallsBack: a flipped byte in the checkpoint is
// detected by its checksum, the run resumes from the previous checkpoint
// with a warning and ends with the uninterrupted run's weights.
func TestDamagedCheckpointFallsBack(t *testing.T) {
	data := synthMNISTDir(t, 320, 100, 12)
	ctx := context.Background()
	refDir := t.TempDir()
	if _, err := Run(ctx, smallConfig(data, refDir), nil); err != nil {
		t.Fatal(err)
	}
	refW := checkpointWeights(t, refDir)
	dir := t.TempDir()
	cfg := smallConfig(data, dir)
	cfg.MaxSteps, cfg.CheckpointSteps = 10, 4
	if _, err := Run(ctx, cfg, nil); !errors.Is(err, ErrStepLimit) {
		t.Fatalf("first call: %v", err)
	}
	p := filepath.Join(dir, CheckpointName)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-40] ^= 0x10
	os.WriteFile(p, b, 0o644)
	if _, err := readCheckpoint(p); !errors.Is(err, ErrCorruptCheckpoint) {
		t.Fatalf("flipped byte accepted: %v", err)
	}
	cfg.MaxSteps, cfg.CheckpointSteps, cfg.Resume = 0, 0, true
	var log bytes.Buffer
	if _, err := Run(ctx, cfg, &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "warning: resuming from the previous checkpoint") {
		t.Fatalf("no fallback warning in %q", log.String())
	}
	w := checkpointWeights(t, dir)
	for k, v := range refW {
		if !slices.Equal(v, w[k]) {
			t.Fatalf("weights %s differ from the uninterrupted run", k)
		}
	}
}
