package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"gorgonia.org/tensor"

	"github.com/nbquery/nbquery/space/darts"
	"github.com/nbquery/nbquery/space/mbv2"
	"github.com/nbquery/nbquery/space/nb201"
)

// Config describes one training run. Zero fields take the defaults of
// DefaultConfig (see withDefaults).
type Config struct {
	Arch    string // NB201 arch string, e.g. |nor_conv_3x3~0|+|...|
	DataDir string
	Dataset string // fashion-mnist | mnist | cifar10 | imagenet

	Epochs      int
	Batch       int
	LR          float64
	MinLR       float64
	Momentum    float64
	Nesterov    bool
	WeightDecay float64
	Optimizer   string  // sgd (default) | adam | rmsprop
	Schedule    string  // cosine (default) | step | const
	StepSize    int     // step schedule: iterations between decays
	Gamma       float64 // step schedule factor
	ClipNorm    float64 // global gradient-norm clip; 0 = off
	Seed        uint64
	C, N        int

	ValidFraction float64  // share of the training set held out for validation
	MaxTrain      int      // use at most this many training images (seeded subset); 0 = all
	ImageSize     int      // imagenet: side after resize and centre crop (default 32)
	SkipCorrupt   bool     // imagenet: skip and count undecodable images instead of failing
	Augment       *Augment // nil = dataset default (cifar10/imagenet: crop 4 + flip)
	EvalBatch     int
	Float64       bool // train in float64 (slow; for checks)

	OutDir string
	// Resume continues from the checkpoint in OutDir (falling back to the
	// previous one, with a warning, if it is damaged); no checkpoint is
	// ErrNoCheckpoint unless ResumeOrStart is set.
	Resume          bool
	ResumeOrStart   bool          `json:"-"` // like Resume, but start from step 0 when there is no checkpoint
	TimeLimit       time.Duration // stop (with a checkpoint) after this much wall time; 0 = none
	CheckpointEvery time.Duration // default 3 minutes
	CheckpointSteps int           // also checkpoint every this many steps; 0 = off
	MaxSteps        int           // stop (with a checkpoint) after this many steps in this call; 0 = none
	// GCPercent, when > 0, sets the Go GC target for the duration of Run
	// (debug.SetGCPercent; restored on return). The custom ops allocate
	// their outputs every step, so 400 trains about 1.5× faster at C=16,
	// N=5 for a few GB more peak memory. 0 leaves the process setting.
	GCPercent int

	// Space selects the network: "" or "nb201" (Arch is an NB201 arch
	// string, C and N as NB201), "darts" (Arch is a DARTS genotype, C
	// channels and Layers cells; see darts_net.go). The fields below are
	// omitted from Hash when zero, so NB201 hashes are unchanged.
	Space     string  `json:",omitempty"`
	Layers    int     `json:",omitempty"` // darts: cells (8 or 20 in the papers)
	AuxWeight float64 `json:",omitempty"` // darts: auxiliary head loss weight (DARTS 0.4); 0 = no head
	DropPath  float64 `json:",omitempty"` // darts: drop-path probability at the last epoch (DARTS 0.2); 0 = off
	// Resize, when > 0, zero-pads IDX/CIFAR images to a multiple of it and
	// box-averages them to Resize×Resize (TRAINER.md §9: 28→32→16).
	Resize  int `json:",omitempty"`
	MaxTest int `json:",omitempty"` // evaluate on at most this many test images (seeded subset); 0 = all
	// MBV2 is the MobileNetV2 layout of space "mbv2" (Arch is an mbv2 arch
	// string; see mbv2net.go); nil otherwise.
	MBV2 *mbv2.Macro `json:",omitempty"`
}

// DefaultConfig returns NB201's hyper-parameters (SGD 0.1 Nesterov, momentum
// 0.9, wd 5e-4, cosine, batch 256, C=16, N=5) with a 10% validation split.
func DefaultConfig() Config {
	return Config{Dataset: "cifar10", Epochs: 12, Batch: 256, LR: 0.1, Momentum: 0.9, Nesterov: true,
		WeightDecay: 5e-4, Optimizer: "sgd", Schedule: "cosine", C: 16, N: 5, ValidFraction: 0.1,
		EvalBatch: 250, CheckpointEvery: 3 * time.Minute}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Dataset == "" {
		c.Dataset = d.Dataset
	}
	if c.Epochs == 0 {
		c.Epochs = d.Epochs
	}
	if c.Batch == 0 {
		c.Batch = d.Batch
	}
	if c.LR == 0 {
		c.LR = d.LR
	}
	if c.Optimizer == "" {
		c.Optimizer = d.Optimizer
	}
	if c.Schedule == "" {
		c.Schedule = d.Schedule
	}
	if c.C == 0 {
		c.C = d.C
	}
	if c.N == 0 {
		c.N = d.N
	}
	if c.EvalBatch == 0 {
		c.EvalBatch = d.EvalBatch
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = d.CheckpointEvery
	}
	if c.ImageSize == 0 {
		c.ImageSize = 32
	}
	if c.Augment == nil {
		a := Augment{}
		if c.Dataset == "cifar10" || c.Dataset == "imagenet" {
			a = Augment{CropPad: 4, Flip: true}
		}
		c.Augment = &a
	}
	return c
}

// Hash identifies everything that determines the training trajectory
// (not OutDir, Resume, limits or checkpoint cadence).
func (c Config) Hash() string {
	c = c.withDefaults()
	c.OutDir, c.Resume, c.TimeLimit, c.CheckpointEvery, c.CheckpointSteps, c.MaxSteps, c.GCPercent = "", false, 0, 0, 0, 0, 0
	b, _ := json.Marshal(c)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Result carries the metrics with the tabular benchmarks' keys (see
// Metrics). Accuracies are in percent, losses are mean cross-entropy.
type Result struct {
	Arch          string  `json:"arch"`
	Dataset       string  `json:"dataset"`
	Seed          uint64  `json:"seed"`
	Epochs        int     `json:"epochs"`
	TrainAccuracy float64 `json:"train-accuracy"`
	TrainLoss     float64 `json:"train-loss"`
	ValidAccuracy float64 `json:"valid-accuracy"`
	ValidLoss     float64 `json:"valid-loss"`
	TestAccuracy  float64 `json:"test-accuracy"`
	TestLoss      float64 `json:"test-loss"`
	TrainAllTime  float64 `json:"train-all-time"` // seconds spent in training steps
	ParamsMB      float64 `json:"params"`         // millions of parameters (NB201's "MB")
	FlopsM        float64 `json:"flops"`          // millions of multiply-accumulates per image
	Steps         int     `json:"steps"`
	ImagesPerSec  float64 `json:"images-per-sec"`
	Completed     bool    `json:"completed"`
	ConfigHash    string  `json:"config-hash"`
	SkippedImages int     `json:"skipped-images,omitempty"`
}

// Metrics returns the result keyed like the tabular benchmarks.
func (r Result) Metrics() map[string]float64 {
	return map[string]float64{
		"train-accuracy": r.TrainAccuracy, "train-loss": r.TrainLoss,
		"valid-accuracy": r.ValidAccuracy, "valid-loss": r.ValidLoss,
		"test-accuracy": r.TestAccuracy, "test-loss": r.TestLoss,
		"train-all-time": r.TrainAllTime, "params": r.ParamsMB, "flops": r.FlopsM,
	}
}

// Sentinel errors of Run.
var (
	ErrConfig            = errors.New("train: invalid configuration")
	ErrConfigMismatch    = errors.New("train: checkpoint was written by a different configuration")
	ErrNonFinite         = errors.New("train: non-finite loss or weights")
	ErrTimeLimit         = errors.New("train: time limit reached (checkpoint written)")
	ErrStepLimit         = errors.New("train: step limit reached (checkpoint written)")
	ErrInterrupted       = errors.New("train: interrupted (checkpoint written)")
	ErrCorruptCheckpoint = errors.New("train: corrupt checkpoint")
	ErrNoCheckpoint      = errors.New("train: --resume: no checkpoint (use --resume-or-start to start from step 0)")
)

// SignalContext returns a context cancelled on SIGINT or SIGTERM; Run then
// writes a checkpoint and returns ErrInterrupted.
func SignalContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

// CheckpointName is the checkpoint file inside OutDir; the previous one is
// kept as CheckpointName+".prev".
const CheckpointName = "checkpoint.gob"

type checkpoint struct {
	Version       int
	ConfigHash    string
	Epoch, Iter   int
	Step          int
	TrainTime     float64
	Weights       map[string][]float64
	BNMean, BNVar map[string][]float64
	Opt           OptState
	RNG           []byte
	Perm          []int
	EpochLoss     float64
	EpochCorrect  int
	EpochSeen     int
	Shuffled      bool // the current epoch's order is drawn (Perm)
	Done          bool
	Extra         []byte // state beyond one model's (DARTS search: α optimiser, α-data order, projections)
}

// testHookStep, when set, runs after every training step (tests use it to
// cancel a run at a known point).
var testHookStep func(step int, cancel func())

type dataSplits struct {
	train, test        *Dataset
	trainIdx, validIdx []int
	testIdx            []int
	norm               Norm
}

func loadData(cfg Config) (*dataSplits, error) {
	if cfg.DataDir == "" {
		return nil, fmt.Errorf("%w: DataDir is empty", ErrConfig)
	}
	if st, err := os.Stat(cfg.DataDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: data folder %q", ErrNoData, cfg.DataDir)
	}
	s := &dataSplits{}
	var err error
	switch cfg.Dataset {
	case "fashion-mnist", "mnist":
		p := func(n string) string { return filepath.Join(cfg.DataDir, n) }
		if s.train, err = ReadIDX(p("train-images-idx3-ubyte.gz"), p("train-labels-idx1-ubyte.gz")); err != nil {
			return nil, err
		}
		if s.test, err = ReadIDX(p("t10k-images-idx3-ubyte.gz"), p("t10k-labels-idx1-ubyte.gz")); err != nil {
			return nil, err
		}
		s.norm = Norm{Mean: []float64{0.2860}, Std: []float64{0.3530}}
		if cfg.Dataset == "mnist" {
			s.norm = Norm{Mean: []float64{0.1307}, Std: []float64{0.3081}}
		}
	case "cifar10":
		dir := cfg.DataDir
		if _, err := os.Stat(filepath.Join(dir, "cifar-10-batches-bin")); err == nil {
			dir = filepath.Join(dir, "cifar-10-batches-bin")
		}
		var tr []string
		for i := 1; i <= 5; i++ {
			tr = append(tr, filepath.Join(dir, fmt.Sprintf("data_batch_%d.bin", i)))
		}
		if s.train, err = ReadCIFAR10(tr...); err != nil {
			return nil, err
		}
		if s.test, err = ReadCIFAR10(filepath.Join(dir, "test_batch.bin")); err != nil {
			return nil, err
		}
		s.norm = Norm{Mean: []float64{125.3 / 255, 123.0 / 255, 113.9 / 255}, Std: []float64{63.0 / 255, 62.1 / 255, 66.7 / 255}}
	case "imagenet":
		opt := FolderOptions{Size: cfg.ImageSize, SkipCorrupt: cfg.SkipCorrupt}
		var trc, tec []string
		if s.train, trc, err = ReadImageFolder(filepath.Join(cfg.DataDir, "train"), opt); err != nil {
			return nil, err
		}
		if s.test, tec, err = ReadImageFolder(filepath.Join(cfg.DataDir, "val"), opt); err != nil {
			return nil, err
		}
		if len(trc) != len(tec) {
			return nil, fmt.Errorf("%w: %s: %d train classes but %d val classes", ErrFormat, cfg.DataDir, len(trc), len(tec))
		}
		s.norm = Norm{Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225}}
	default:
		return nil, fmt.Errorf("%w: unknown dataset %q (fashion-mnist, mnist, cifar10, imagenet)", ErrConfig, cfg.Dataset)
	}
	if s.train.C != s.test.C || s.train.H != s.test.H || s.train.W != s.test.W {
		return nil, fmt.Errorf("%w: train and test image shapes differ", ErrFormat)
	}
	s.test.Classes = max(s.test.Classes, s.train.Classes)
	s.train.Classes = s.test.Classes
	if cfg.Resize > 0 && cfg.Dataset != "imagenet" {
		s.train, s.test = resizeDataset(s.train, cfg.Resize), resizeDataset(s.test, cfg.Resize)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	s.trainIdx, s.validIdx = splitIndices(s.train.N, cfg.ValidFraction, rng)
	if cfg.MaxTrain > 0 && cfg.MaxTrain < len(s.trainIdx) {
		p := rng.Perm(len(s.trainIdx))[:cfg.MaxTrain]
		sub := make([]int, len(p))
		for i, k := range p {
			sub[i] = s.trainIdx[k]
		}
		s.trainIdx = sub
	}
	s.testIdx = seq(s.test.N)
	if cfg.MaxTest > 0 && cfg.MaxTest < s.test.N {
		s.testIdx = rand.New(rand.NewPCG(cfg.Seed, 0x7e57)).Perm(s.test.N)[:cfg.MaxTest]
	}
	return s, nil
}

// network is the architecture of a run: its canonical string and how to
// build its training (with gradients) and evaluation graphs.
type network struct {
	arch  string
	build func(ps *params, inC, h, w, classes, batch int, training bool) (*model, error)
}

func (cfg Config) network() (network, error) {
	switch cfg.Space {
	case "", "nb201":
		cell, err := nb201.Parse(cfg.Arch)
		if err != nil {
			return network{}, fmt.Errorf("%w: arch %q: %v", ErrConfig, cfg.Arch, err)
		}
		return network{arch: cell.String(), build: func(ps *params, inC, h, w, classes, batch int, training bool) (*model, error) {
			return buildModel(ps, netSpec{Cell: cell, C: cfg.C, N: cfg.N, InC: inC, H: h, W: w, Class: classes}, batch, training, false)
		}}, nil
	case "darts":
		g, err := darts.Parse(cfg.Arch)
		if err != nil {
			return network{}, fmt.Errorf("%w: genotype: %v", ErrConfig, err)
		}
		if cfg.Layers < 1 {
			return network{}, fmt.Errorf("%w: darts: layers %d", ErrConfig, cfg.Layers)
		}
		return network{arch: g.String(), build: func(ps *params, inC, h, w, classes, batch int, training bool) (*model, error) {
			spec := dartsSpec{Geno: &g, C: cfg.C, Layers: cfg.Layers, InC: inC, H: h, W: w, Class: classes,
				AuxWeight: cfg.AuxWeight, DropPath: cfg.DropPath}
			return buildDARTS(ps, spec, nil, batch, training, training, false)
		}}, nil
	case "mbv2":
		a, err := mbv2.Parse(cfg.Arch)
		if err != nil {
			return network{}, fmt.Errorf("%w: %v", ErrConfig, err)
		}
		if cfg.MBV2 == nil {
			return network{}, fmt.Errorf("%w: mbv2: no macro layout (Config.MBV2)", ErrConfig)
		}
		if err := cfg.MBV2.Validate(); err != nil {
			return network{}, fmt.Errorf("%w: %v", ErrConfig, err)
		}
		m := *cfg.MBV2
		return network{arch: a.String(), build: func(ps *params, inC, h, w, classes, batch int, training bool) (*model, error) {
			mm, err := buildMBV2(ps, mbSpec{Macro: m, Arch: &a, InC: inC, H: h, W: w, Class: classes}, batch, training)
			if err != nil {
				return nil, err
			}
			return &mm.model, nil
		}}, nil
	}
	return network{}, fmt.Errorf("%w: space %q (nb201, darts, mbv2)", ErrConfig, cfg.Space)
}

func (cfg Config) validate() (network, error) {
	cell, err := cfg.network()
	if err != nil {
		return cell, err
	}
	switch {
	case cfg.Epochs < 0 || cfg.Batch < 1 || cfg.EvalBatch < 1:
		return cell, fmt.Errorf("%w: epochs %d, batch %d, eval batch %d", ErrConfig, cfg.Epochs, cfg.Batch, cfg.EvalBatch)
	case cfg.C < 1 || cfg.N < 0:
		return cell, fmt.Errorf("%w: C %d, N %d", ErrConfig, cfg.C, cfg.N)
	case cfg.ValidFraction < 0 || cfg.ValidFraction >= 1:
		return cell, fmt.Errorf("%w: valid fraction %v", ErrConfig, cfg.ValidFraction)
	case cfg.LR <= 0 || math.IsNaN(cfg.LR):
		return cell, fmt.Errorf("%w: learning rate %v", ErrConfig, cfg.LR)
	case cfg.OutDir == "":
		return cell, fmt.Errorf("%w: OutDir is empty", ErrConfig)
	}
	return cell, nil
}

func (cfg Config) optimizer() (Optimizer, error) {
	switch cfg.Optimizer {
	case "sgd":
		return NewSGD(cfg.Momentum, cfg.WeightDecay, cfg.Nesterov), nil
	case "adam":
		return NewAdam(0, 0, 0, cfg.WeightDecay, false), nil
	case "adamw":
		return NewAdam(0, 0, 0, cfg.WeightDecay, true), nil
	case "rmsprop":
		return NewRMSProp(0, 0, cfg.Momentum, cfg.WeightDecay), nil
	}
	return nil, fmt.Errorf("%w: optimizer %q (sgd, adam, adamw, rmsprop)", ErrConfig, cfg.Optimizer)
}

func (cfg Config) schedule(total int) (Schedule, error) {
	switch cfg.Schedule {
	case "cosine":
		return CosineLR{Base: cfg.LR, Min: cfg.MinLR, Total: total}, nil
	case "step":
		return StepLR{Base: cfg.LR, Gamma: cfg.Gamma, StepSize: cfg.StepSize}, nil
	case "const":
		return ConstLR(cfg.LR), nil
	}
	return nil, fmt.Errorf("%w: schedule %q (cosine, step, const)", ErrConfig, cfg.Schedule)
}

// Run trains cfg.Arch on cfg.Dataset, checkpointing into cfg.OutDir, and
// returns the metrics; it also writes OutDir/result.json. On cancellation,
// TimeLimit or MaxSteps it writes a checkpoint and returns the partial
// Result with ErrInterrupted, ErrTimeLimit or ErrStepLimit; Resume continues
// from the checkpoint bit-exactly. progress (may be nil) receives a bar.
func Run(ctx context.Context, cfg Config, progress io.Writer) (Result, error) {
	start := time.Now()
	cfg = cfg.withDefaults()
	cell, err := cfg.validate()
	if err != nil {
		return Result{}, err
	}
	if progress == nil {
		progress = io.Discard
	}
	if cfg.GCPercent > 0 {
		defer debug.SetGCPercent(debug.SetGCPercent(cfg.GCPercent))
	}
	data, err := loadData(cfg)
	if err != nil {
		return Result{}, err
	}
	if len(data.trainIdx) < cfg.Batch {
		return Result{}, fmt.Errorf("%w: %d training images for batch %d", ErrConfig, len(data.trainIdx), cfg.Batch)
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return Result{}, fmt.Errorf("train: %w", err)
	}
	dt := tensor.Float32
	if cfg.Float64 {
		dt = tensor.Float64
	}
	ps := newParams(dt, rand.New(rand.NewPCG(cfg.Seed, 1)))
	d := data.train
	tm, err := cell.build(ps, d.C, d.H, d.W, d.Classes, cfg.Batch, true)
	if err != nil {
		return Result{}, err
	}
	defer tm.vm.Close()
	em, err := cell.build(ps, d.C, d.H, d.W, d.Classes, cfg.EvalBatch, false)
	if err != nil {
		return Result{}, err
	}
	defer em.vm.Close()
	learn := make([]Param, len(tm.learn))
	for i, n := range tm.learn {
		learn[i] = Param{Name: n.Name(), Value: n.Value().(*tensor.Dense)}
	}
	opt, err := cfg.optimizer()
	if err != nil {
		return Result{}, err
	}
	pcg := rand.NewPCG(cfg.Seed, 2)
	rng := rand.New(pcg)
	train := newLoader(data.train, data.trainIdx, true, *cfg.Augment, data.norm)
	perEpoch := train.batchesPerEpoch(cfg.Batch)
	sched, err := cfg.schedule(cfg.Epochs * perEpoch)
	if err != nil {
		return Result{}, err
	}
	res := Result{Arch: cell.arch, Dataset: cfg.Dataset, Seed: cfg.Seed, Epochs: cfg.Epochs,
		ParamsMB: float64(ps.count()) / 1e6, FlopsM: tm.flops / 1e6, ConfigHash: cfg.Hash(),
		SkippedImages: data.train.Skipped + data.test.Skipped}
	st := &checkpoint{Version: 1, ConfigHash: res.ConfigHash}
	ckptPath := filepath.Join(cfg.OutDir, CheckpointName)
	if cfg.Resume || cfg.ResumeOrStart {
		old, err := resumeFrom(ckptPath, st.ConfigHash, progress, func(c *checkpoint) error { return restore(c, ps, opt, pcg, train) })
		switch {
		case errors.Is(err, ErrNoCheckpoint) && cfg.ResumeOrStart:
			fmt.Fprintf(progress, "no checkpoint in %s; starting from step 0\n", cfg.OutDir)
		case err != nil:
			return Result{}, err
		default:
			st = old
		}
	}
	save := func() error {
		if err := snapshot(st, ps, opt, pcg, train); err != nil {
			return err
		}
		return writeCheckpoint(ckptPath, st)
	}

	total := int64(cfg.Epochs * perEpoch * cfg.Batch)
	bar := progressbar.NewOptions64(total, progressbar.OptionSetWriter(progress), progressbar.OptionShowCount(),
		progressbar.OptionShowIts(), progressbar.OptionSetItsString("img"), progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetWidth(20))
	_ = bar.Set64(int64(st.Step * cfg.Batch))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var xb, yb any
	switch dt {
	case tensor.Float32:
		xb, yb = tm.x.Value().Data().([]float32), tm.y.Value().Data().([]float32)
	default:
		xb, yb = tm.x.Value().Data().([]float64), tm.y.Value().Data().([]float64)
	}
	labels := make([]int, cfg.Batch)
	lastCkpt := time.Now()
	stepsThisCall := 0
	for !st.Done && st.Epoch < cfg.Epochs {
		if !st.Shuffled {
			train.startEpoch(rng)
			st.Shuffled = true
		}
		for st.Iter < perEpoch {
			if stop := cfg.limits().stopBefore(ctx, start, stepsThisCall); stop != nil {
				if err := save(); err != nil {
					return res, err
				}
				fillTrainMetrics(&res, st, cfg.Batch)
				return res, stop
			}
			t0 := time.Now()
			var aug *rand.Rand
			if cfg.Augment.CropPad > 0 || cfg.Augment.Flip || cfg.Augment.Cutout > 0 {
				aug = rng
			}
			switch x := xb.(type) {
			case []float32:
				fill(train, st.Iter*cfg.Batch, cfg.Batch, x, yb.([]float32), labels, aug)
			case []float64:
				fill(train, st.Iter*cfg.Batch, cfg.Batch, x, yb.([]float64), labels, aug)
			}
			if tm.prepare != nil {
				tm.prepare(rng, float64(st.Epoch)/float64(cfg.Epochs))
			}
			if err := tm.vm.RunAll(); err != nil {
				return res, fmt.Errorf("train: step %d: %w", st.Step, err)
			}
			loss := scalarValue(tm.loss.Value())
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return res, fmt.Errorf("%w: step %d (epoch %d) loss %v; last good checkpoint kept at %s", ErrNonFinite, st.Step, st.Epoch, loss, ckptPath)
			}
			correct, _ := scoreLogits(tm.logits.Value(), labels, cfg.Batch)
			if err := takeGrads(learn, tm.learn); err != nil {
				return res, err
			}
			if cfg.ClipNorm > 0 {
				ClipGradNorm(learn, cfg.ClipNorm)
			}
			if err := opt.Step(learn, sched.LR(st.Step)); err != nil {
				return res, err
			}
			tm.vm.Reset()
			st.endStep(t0, loss, correct, cfg.Batch)
			stepsThisCall++
			bar.Describe(fmt.Sprintf("ep %d/%d loss %.3f acc %.1f%%", st.Epoch+1, cfg.Epochs, st.EpochLoss/float64(st.EpochSeen), 100*float64(st.EpochCorrect)/float64(st.EpochSeen)))
			_ = bar.Add(cfg.Batch)
			if testHookStep != nil {
				testHookStep(st.Step, cancel)
			}
			if cfg.limits().checkpointDue(lastCkpt, st.Step) {
				if err := save(); err != nil {
					return res, err
				}
				lastCkpt = time.Now()
			}
		}
		st.Epoch++
		fillTrainMetrics(&res, st, cfg.Batch)
		st.nextEpoch(cfg.Epochs)
		if err := save(); err != nil {
			return res, err
		}
		lastCkpt = time.Now()
	}
	if err := st.finish(save); err != nil {
		return res, err
	}
	_ = bar.Finish()
	fmt.Fprintln(progress)
	fillTrainMetrics(&res, st, cfg.Batch)
	if len(data.validIdx) > 0 {
		if res.ValidLoss, res.ValidAccuracy, err = evaluate(em, newLoader(data.train, data.validIdx, false, Augment{}, data.norm)); err != nil {
			return res, err
		}
	}
	if res.TestLoss, res.TestAccuracy, err = evaluate(em, newLoader(data.test, data.testIdx, false, Augment{}, data.norm)); err != nil {
		return res, err
	}
	res.Completed = true
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := writeAtomic(filepath.Join(cfg.OutDir, "result.json"), append(b, '\n')); err != nil {
		return res, err
	}
	return res, nil
}

func fillTrainMetrics(res *Result, st *checkpoint, batch int) {
	res.Steps = st.Step
	res.TrainAllTime = st.TrainTime
	if st.EpochSeen > 0 {
		res.TrainLoss = st.EpochLoss / float64(st.EpochSeen)
		res.TrainAccuracy = 100 * float64(st.EpochCorrect) / float64(st.EpochSeen)
	}
	if st.TrainTime > 0 {
		res.ImagesPerSec = float64(st.Step*batch) / st.TrainTime
	}
}

func scalarValue(v any) float64 {
	switch s := v.(type) {
	case interface{ Data() any }:
		switch d := s.Data().(type) {
		case float32:
			return float64(d)
		case float64:
			return d
		case []float32:
			return float64(d[0])
		case []float64:
			return d[0]
		}
	}
	return math.NaN()
}

// scoreLogits returns the number of correct argmax predictions and the sum
// of per-example cross-entropy over the first n rows.
func scoreLogits(v any, labels []int, n int) (correct int, lossSum float64) {
	t := v.(*tensor.Dense)
	k := t.Shape()[1]
	row := func(i int) []float64 {
		r := make([]float64, k)
		switch d := t.Data().(type) {
		case []float32:
			for j := range r {
				r[j] = float64(d[i*k+j])
			}
		case []float64:
			copy(r, d[i*k:(i+1)*k])
		}
		return r
	}
	for i := 0; i < n; i++ {
		r := row(i)
		best, mx := 0, r[0]
		for j, x := range r {
			if x > mx {
				best, mx = j, x
			}
		}
		if best == labels[i] {
			correct++
		}
		var se float64
		for _, x := range r {
			se += math.Exp(x - mx)
		}
		lossSum += mx + math.Log(se) - r[labels[i]]
	}
	return correct, lossSum
}

// evaluate runs the eval-mode graph over a loader (padding the last batch)
// and returns the mean loss and accuracy in percent.
func evaluate(m *model, l *loader) (loss, acc float64, err error) {
	return evaluateBatches(m, len(l.perm), func(from int, labels []int) (int, error) {
		switch x := m.x.Value().Data().(type) {
		case []float32:
			return fill(l, from, m.batch, x, m.y.Value().Data().([]float32), labels, nil), nil
		case []float64:
			return fill(l, from, m.batch, x, m.y.Value().Data().([]float64), labels, nil), nil
		}
		return 0, ErrDtype
	})
}

// evaluateBatches runs m over n examples, fillBatch writing the inputs of
// positions [from, from+batch) into m's input nodes and their labels (and
// returning how many are real, not padding), and returns the mean loss and
// the accuracy in percent.
func evaluateBatches(m *model, n int, fillBatch func(from int, labels []int) (int, error)) (loss, acc float64, err error) {
	labels := make([]int, m.batch)
	var correct, seen int
	var lossSum float64
	for from := 0; from < n; from += m.batch {
		valid, err := fillBatch(from, labels)
		if err != nil {
			return 0, 0, err
		}
		if err := m.vm.RunAll(); err != nil {
			return 0, 0, fmt.Errorf("train: evaluate: %w", err)
		}
		c, s := scoreLogits(m.logits.Value(), labels, valid)
		m.vm.Reset()
		correct += c
		lossSum += s
		seen += valid
	}
	if seen == 0 {
		return 0, 0, nil
	}
	return lossSum / float64(seen), 100 * float64(correct) / float64(seen), nil
}
