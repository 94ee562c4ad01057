package train

// Single-Path NAS search (dstamoulis/single-path-nas search_main.py, TRAINER.md
// §4) on the MobileNetV2 space, scaled to a CPU proxy: one supernet with a
// superkernel per searched layer; loss = CE + λ·log R (R the latency model
// of the decisions); a warm-up (the first WarmupFraction of the steps) with
// λ = 0 and the indicators dropped out (kept with probability WarmupKeep,
// scaled 1/WarmupKeep, as the reference's tf.nn.dropout); then weights and
// thresholds trained jointly, every step (the thresholds by the reference's
// RMSProp with their own learning rate, the weights by the configured
// optimizer). The decided architecture is read off the
// hard decisions, its latency predicted from the table and its accuracy
// measured with the supernet's weights; then it is trained from scratch.

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
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/schollz/progressbar/v3"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/nbquery/nbquery/space/mbv2"
)

// SPNASConfig describes a Single-Path NAS run. Data, optimizer and
// run-control fields are read from Train (DataDir, Dataset, Batch, LR,
// Momentum, WeightDecay, Optimizer, Schedule, MinLR, Seed, ValidFraction,
// MaxTrain, ImageSize, EvalBatch, OutDir, Resume, ResumeOrStart, TimeLimit,
// CheckpointEvery, MaxSteps); Train.Epochs is the search's length.
type SPNASConfig struct {
	Train          Config
	Macro          mbv2.Macro
	Lambda         float64 // coefficient of log R
	Latency        *LatencyTable
	LatencyFile    string  // recorded in the result
	WarmupFraction float64 // share of the steps without the latency term (default 5/8, the reference's 5 of 8 epochs)
	WarmupKeep     float64 // warm-up indicator dropout keep probability (default 0.6; 1 = off)
	ThresholdLR    float64 // constant learning rate of the thresholds (default Train.LR)
	ChildEpochs    int     // epochs to train the decided arch from scratch (0 = skip)
	MaxPerClass    int     // imagenet: at most this many images per class (0 = all)
	MaxTest        int     // evaluate on a seeded subset of at most this many test images (0 = all)
}

// SPNASResult is what a search decided and measured.
type SPNASResult struct {
	Arch             string             `json:"arch"`
	PredictedLatency float64            `json:"predicted-latency"`
	LatencyUnit      string             `json:"latency-unit"`
	LatencyFile      string             `json:"latency-table,omitempty"`
	Lambda           float64            `json:"lambda"`
	SupernetValid    float64            `json:"supernet-valid-accuracy"` // decided arch, supernet weights
	SupernetTest     float64            `json:"supernet-test-accuracy"`
	SearchSteps      int                `json:"search-steps"`
	WarmupSteps      int                `json:"warmup-steps"`
	SearchTime       float64            `json:"search-time"` // seconds in training steps
	Thresholds       map[string]float64 `json:"thresholds"`
	Trajectory       []string           `json:"trajectory"` // decided arch at the end of each epoch
	Child            *Result            `json:"child,omitempty"`
	ConfigHash       string             `json:"config-hash"`
	Completed        bool               `json:"completed"`
}

func (c SPNASConfig) withDefaults() SPNASConfig {
	if c.Train.Optimizer == "" {
		c.Train.Optimizer = "rmsprop"
	}
	if c.Train.Schedule == "" {
		c.Train.Schedule = "cosine"
	}
	c.Train = c.Train.withDefaults()
	if c.WarmupFraction == 0 {
		c.WarmupFraction = 5.0 / 8
	}
	if c.WarmupKeep == 0 {
		c.WarmupKeep = 0.6
	}
	if c.ThresholdLR == 0 {
		c.ThresholdLR = c.Train.LR
	}
	if c.Macro == (mbv2.Macro{}) {
		c.Macro = mbv2.Macro{Width: 0.25, Divisor: 8, StemStride: 1}
	}
	return c
}

// Hash identifies the search trajectory (not the run controls).
func (c SPNASConfig) Hash() string {
	c = c.withDefaults()
	c.Train.OutDir, c.Train.Resume, c.Train.ResumeOrStart, c.Train.TimeLimit, c.Train.CheckpointEvery, c.Train.CheckpointSteps, c.Train.MaxSteps, c.Train.GCPercent = "", false, false, 0, 0, 0, 0, 0
	c.LatencyFile = ""
	b, _ := json.Marshal(c)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (c SPNASConfig) validate() error {
	t := c.Train
	switch {
	case c.Latency == nil && c.Lambda != 0:
		return fmt.Errorf("%w: lambda %v needs a latency table", ErrConfig, c.Lambda)
	case c.Lambda < 0 || math.IsNaN(c.Lambda):
		return fmt.Errorf("%w: lambda %v", ErrConfig, c.Lambda)
	case c.WarmupFraction < 0 || c.WarmupFraction > 1 || c.WarmupKeep <= 0 || c.WarmupKeep > 1:
		return fmt.Errorf("%w: warm-up fraction %v, keep %v", ErrConfig, c.WarmupFraction, c.WarmupKeep)
	case t.Epochs < 1 || t.Batch < 1 || t.EvalBatch < 1 || c.ChildEpochs < 0:
		return fmt.Errorf("%w: epochs %d, batch %d, eval batch %d, child epochs %d", ErrConfig, t.Epochs, t.Batch, t.EvalBatch, c.ChildEpochs)
	case t.LR <= 0 || c.ThresholdLR <= 0:
		return fmt.Errorf("%w: learning rates %v, %v", ErrConfig, t.LR, c.ThresholdLR)
	case t.OutDir == "":
		return fmt.Errorf("%w: OutDir is empty", ErrConfig)
	case t.ValidFraction < 0 || t.ValidFraction >= 1:
		return fmt.Errorf("%w: valid fraction %v", ErrConfig, t.ValidFraction)
	}
	if err := c.Macro.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if c.Latency != nil {
		if err := c.Latency.CheckMacro(c.Macro); err != nil {
			return err
		}
	}
	return nil
}

// optimizer returns the configured optimizer; rmsprop takes the
// reference's decay 0.9, ε 1e-3.
func (cfg Config) mbOptimizer(wd float64) (Optimizer, error) {
	if cfg.Optimizer == "rmsprop" {
		return NewRMSProp(0.9, 1e-3, cfg.Momentum, wd), nil
	}
	c := cfg
	c.WeightDecay = wd
	return c.optimizer()
}

// SPNASResultName is the search's result file inside OutDir.
const SPNASResultName = "search.json"

// SearchSinglePath runs the search, then (ChildEpochs > 0) trains the decided arch
// from scratch in OutDir/child. It checkpoints like Run (OutDir/search and
// OutDir/child) and resumes with Train.Resume/ResumeOrStart; a cancelled or
// time-limited run returns the partial result with ErrInterrupted,
// ErrTimeLimit or ErrStepLimit.
func SearchSinglePath(ctx context.Context, cfg SPNASConfig, progress io.Writer) (SPNASResult, error) {
	start := time.Now()
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return SPNASResult{}, err
	}
	if progress == nil {
		progress = io.Discard
	}
	if cfg.Train.GCPercent > 0 {
		defer setGC(cfg.Train.GCPercent)()
	}
	data, err := loadMBData(cfg.Train, cfg.MaxPerClass, cfg.MaxTest)
	if err != nil {
		return SPNASResult{}, err
	}
	res := SPNASResult{Lambda: cfg.Lambda, LatencyFile: cfg.LatencyFile, ConfigHash: cfg.Hash(), Thresholds: map[string]float64{}}
	if cfg.Latency != nil {
		res.LatencyUnit = cfg.Latency.Unit
	}
	spec := mbSpec{Macro: cfg.Macro, InC: data.C, H: data.H, W: data.W, Class: data.classes, Latency: cfg.Latency}
	run := &mbRun{cfg: cfg.Train, spec: spec, dir: filepath.Join(cfg.Train.OutDir, "search"), hash: res.ConfigHash,
		search: &cfg, start: start}
	out, err := run.train(ctx, data, progress)
	res.SearchSteps, res.SearchTime, res.WarmupSteps, res.Trajectory = out.steps, out.trainTime, out.warmup, out.trajectory
	if err != nil {
		return res, err
	}
	defer out.eval.vm.Close()
	arch, err := decided(out.eval, data)
	if err != nil {
		return res, err
	}
	res.Arch = arch.String()
	if cfg.Latency != nil {
		res.PredictedLatency = cfg.Latency.Predict(arch)
	}
	for _, n := range out.eval.thresh {
		res.Thresholds[n.Name()] = scalarValue(n.Value())
	}
	if _, res.SupernetValid, err = evaluateMB(out.eval, data.valid, data.classes); err != nil {
		return res, err
	}
	if _, res.SupernetTest, err = evaluateMB(out.eval, data.test, data.classes); err != nil {
		return res, err
	}
	fmt.Fprintf(progress, "decided %s (predicted latency %.4g %s), supernet valid %.2f%% test %.2f%%\n",
		res.Arch, res.PredictedLatency, res.LatencyUnit, res.SupernetValid, res.SupernetTest)
	if err := writeJSON(filepath.Join(cfg.Train.OutDir, SPNASResultName), res); err != nil {
		return res, err
	}
	if cfg.ChildEpochs > 0 {
		child, err := TrainMBV2(ctx, cfg.Train, cfg.Macro, arch, cfg.ChildEpochs, filepath.Join(cfg.Train.OutDir, "child"), data, start, progress)
		if err != nil {
			return res, err
		}
		res.Child = &child
	}
	res.Completed = true
	return res, writeJSON(filepath.Join(cfg.Train.OutDir, SPNASResultName), res)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(b, '\n'))
}

// decided reads the hard decisions of an eval supernet (one forward pass).
func decided(m *mbModel, data *mbData) (mbv2.Arch, error) {
	var a mbv2.Arch
	if err := m.vm.RunAll(); err != nil {
		return a, fmt.Errorf("train: decide: %w", err)
	}
	defer m.vm.Reset()
	for l, sl := range m.layers {
		d50 := 1.0
		if sl.d50 != nil {
			d50 = scalarValue(sl.d50.Value())
		}
		a[l] = uint8(decideOp(scalarValue(sl.d5.Value()), scalarValue(sl.d100.Value()), d50))
	}
	return a, nil
}

// TrainMBV2 trains a MobileNetV2 child network from scratch with cfg's
// optimizer and data (data may be nil: it is loaded), checkpointing into
// dir, and returns its metrics (also written to dir/result.json).
func TrainMBV2(ctx context.Context, cfg Config, macro mbv2.Macro, arch mbv2.Arch, epochs int, dir string, data *mbData, start time.Time, progress io.Writer) (Result, error) {
	if cfg.Optimizer == "" {
		cfg.Optimizer = "rmsprop"
	}
	cfg = cfg.withDefaults()
	cfg.Epochs = epochs
	if progress == nil {
		progress = io.Discard
	}
	if data == nil {
		var err error
		if data, err = loadMBData(cfg, 0, 0); err != nil {
			return Result{}, err
		}
	}
	hcfg := cfg
	hcfg.Arch = "mbv2:" + arch.String() + fmt.Sprintf(":%v:%d:%d", macro.Width, macro.Divisor, macro.StemStride)
	spec := mbSpec{Macro: macro, Arch: &arch, InC: data.C, H: data.H, W: data.W, Class: data.classes}
	run := &mbRun{cfg: cfg, spec: spec, dir: dir, hash: hcfg.Hash(), start: start}
	out, err := run.train(ctx, data, progress)
	res := Result{Arch: arch.String(), Dataset: cfg.Dataset, Seed: cfg.Seed, Epochs: epochs, Steps: out.steps,
		TrainAllTime: out.trainTime, ConfigHash: run.hash, TrainLoss: out.trainLoss, TrainAccuracy: out.trainAcc,
		ParamsMB: out.paramsM, FlopsM: out.flopsM}
	if out.trainTime > 0 {
		res.ImagesPerSec = float64(out.steps*cfg.Batch) / out.trainTime
	}
	if err != nil {
		return res, err
	}
	defer out.eval.vm.Close()
	if len(data.valid.l.idx) > 0 {
		if res.ValidLoss, res.ValidAccuracy, err = evaluateMB(out.eval, data.valid, data.classes); err != nil {
			return res, err
		}
	}
	if res.TestLoss, res.TestAccuracy, err = evaluateMB(out.eval, data.test, data.classes); err != nil {
		return res, err
	}
	res.Completed = true
	fmt.Fprintf(progress, "trained %s from scratch: valid %.2f%% test %.2f%%\n", res.Arch, res.ValidAccuracy, res.TestAccuracy)
	return res, writeJSON(filepath.Join(dir, "result.json"), res)
}

// mbRun is one training phase (search or child) with checkpoints.
type mbRun struct {
	cfg    Config
	spec   mbSpec
	dir    string
	hash   string
	search *SPNASConfig // nil for a child
	start  time.Time
}

type mbOut struct {
	eval                *mbModel
	steps, warmup       int
	trainTime           float64
	trainLoss, trainAcc float64
	paramsM, flopsM     float64
	trajectory          []string
}

func (r *mbRun) train(ctx context.Context, data *mbData, progress io.Writer) (mbOut, error) {
	var out mbOut
	cfg := r.cfg
	if len(data.train.l.idx) < cfg.Batch {
		return out, fmt.Errorf("%w: %d training images for batch %d", ErrConfig, len(data.train.l.idx), cfg.Batch)
	}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return out, fmt.Errorf("train: %w", err)
	}
	ps := newParams(tensor.Float32, rand.New(rand.NewPCG(cfg.Seed, 1)))
	tm, err := buildMBV2(ps, r.spec, cfg.Batch, true)
	if err != nil {
		return out, err
	}
	defer tm.vm.Close()
	em, err := buildMBV2(ps, r.spec, cfg.EvalBatch, false)
	if err != nil {
		return out, err
	}
	out.paramsM, out.flopsM = float64(ps.count()-len(tm.thresh))/1e6, tm.flops/1e6
	var weights, thresh []Param
	var wNodes, tNodes []*G.Node
	for _, n := range tm.learn {
		p := Param{Name: n.Name(), Value: n.Value().(*tensor.Dense)}
		if isThreshold(p.Name) {
			thresh, tNodes = append(thresh, p), append(tNodes, n)
		} else {
			weights, wNodes = append(weights, p), append(wNodes, n)
		}
	}
	opt, err := cfg.mbOptimizer(cfg.WeightDecay)
	if err != nil {
		return out, err
	}
	// Thresholds always use the reference's RMSProp (decay 0.9, ε 1e-3,
	// momentum 0.9, no decay): their straight-through gradients are scaled
	// by σ′(‖·‖ − t), tiny while a norm is far from its threshold, so plain
	// SGD would leave them where they start.
	topt := NewRMSProp(0.9, 1e-3, 0.9, 0)
	both := &pairOpt{a: opt, b: topt, bNames: map[string]bool{}}
	for _, p := range thresh {
		both.bNames[p.Name] = true
	}
	pcg := rand.NewPCG(cfg.Seed, 2)
	rng := rand.New(pcg)
	train := data.train
	perEpoch := train.l.batchesPerEpoch(cfg.Batch)
	total := cfg.Epochs * perEpoch
	sched, err := cfg.schedule(total)
	if err != nil {
		return out, err
	}
	warm := 0
	tlr := 0.0
	if r.search != nil {
		warm = int(math.Round(r.search.WarmupFraction * float64(total)))
		tlr = r.search.ThresholdLR
	}
	out.warmup = warm
	st := &checkpoint{Version: 1, ConfigHash: r.hash}
	ckptPath := filepath.Join(r.dir, CheckpointName)
	if cfg.Resume || cfg.ResumeOrStart {
		old, err := resumeFrom(ckptPath, st.ConfigHash, progress, func(c *checkpoint) error { return restore(c, ps, both, pcg, train.l) })
		switch {
		case errors.Is(err, ErrNoCheckpoint):
			if !cfg.ResumeOrStart && r.search == nil {
				break // a child phase starts when its search finished
			}
			if !cfg.ResumeOrStart {
				return out, err
			}
		case err != nil:
			return out, err
		default:
			st = old
			out.trajectory = readTrajectory(r.dir, st.Epoch)
		}
	}
	save := func() error {
		if err := snapshot(st, ps, both, pcg, train.l); err != nil {
			return err
		}
		if r.search != nil {
			if err := writeJSON(filepath.Join(r.dir, "trajectory.json"), out.trajectory); err != nil {
				return err
			}
		}
		return writeCheckpoint(ckptPath, st)
	}
	what := "child"
	if r.search != nil {
		what = "search"
	}
	bar := progressbar.NewOptions64(int64(total*cfg.Batch), progressbar.OptionSetWriter(progress), progressbar.OptionShowCount(),
		progressbar.OptionShowIts(), progressbar.OptionSetItsString("img"), progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetWidth(20))
	_ = bar.Set64(int64(st.Step * cfg.Batch))
	x, y := tm.x.Value().Data().([]float32), tm.y.Value().Data().([]float32)
	labels := make([]int, cfg.Batch)
	lastCkpt := time.Now()
	stepsThisCall := 0
	finish := func() {
		out.steps, out.trainTime = st.Step, st.TrainTime
		if st.EpochSeen > 0 {
			out.trainLoss, out.trainAcc = st.EpochLoss/float64(st.EpochSeen), 100*float64(st.EpochCorrect)/float64(st.EpochSeen)
		}
	}
	for !st.Done && st.Epoch < cfg.Epochs {
		if !st.Shuffled {
			train.l.startEpoch(rng)
			st.Shuffled = true
		}
		for st.Iter < perEpoch {
			if stop := cfg.limits().stopBefore(ctx, r.start, stepsThisCall); stop != nil {
				if err := save(); err != nil {
					return out, err
				}
				finish()
				return out, stop
			}
			t0 := time.Now()
			if _, err := train.fill(st.Iter*cfg.Batch, cfg.Batch, data.classes, x, y, labels, rng); err != nil {
				return out, err
			}
			if r.search != nil {
				lam, keep := r.search.Lambda, 1.0
				if st.Step < warm {
					lam, keep = 0, r.search.WarmupKeep
				}
				if err := tm.setLambda(lam); err != nil {
					return out, err
				}
				for i := 0; i < mbv2.Layers*numDec; i++ {
					v := 1.0
					if keep < 1 {
						v = 0
						if rng.Float64() < keep {
							v = 1 / keep
						}
					}
					if err := tm.setDrop(i, v); err != nil {
						return out, err
					}
				}
			}
			if err := tm.vm.RunAll(); err != nil {
				return out, fmt.Errorf("train: %s step %d: %w", what, st.Step, err)
			}
			loss := scalarValue(tm.ce.Value())
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return out, fmt.Errorf("%w: %s step %d (epoch %d) loss %v; last good checkpoint kept at %s", ErrNonFinite, what, st.Step, st.Epoch, loss, ckptPath)
			}
			correct, _ := scoreLogits(tm.logits.Value(), labels, cfg.Batch)
			if err := takeGrads(weights, wNodes); err != nil {
				return out, err
			}
			if err := takeGrads(thresh, tNodes); err != nil {
				return out, err
			}
			if cfg.ClipNorm > 0 {
				ClipGradNorm(weights, cfg.ClipNorm)
			}
			lr := sched.LR(st.Step)
			if err := opt.Step(weights, lr); err != nil {
				return out, err
			}
			if len(thresh) > 0 {
				if err := topt.Step(thresh, tlr); err != nil {
					return out, err
				}
			}
			tm.vm.Reset()
			st.endStep(t0, loss, correct, cfg.Batch)
			stepsThisCall++
			bar.Describe(fmt.Sprintf("%s ep %d/%d loss %.3f acc %.1f%%", what, st.Epoch+1, cfg.Epochs, st.EpochLoss/float64(st.EpochSeen), 100*float64(st.EpochCorrect)/float64(st.EpochSeen)))
			_ = bar.Add(cfg.Batch)
			if cfg.limits().checkpointDue(lastCkpt, st.Step) {
				if err := save(); err != nil {
					return out, err
				}
				lastCkpt = time.Now()
			}
		}
		st.Epoch++
		finish()
		if r.search != nil {
			a, err := decided(em, data)
			if err != nil {
				return out, err
			}
			out.trajectory = append(out.trajectory, a.String())
			fmt.Fprintf(progress, "\nsearch epoch %d: %s\n", st.Epoch, a)
		}
		st.nextEpoch(cfg.Epochs)
		if err := save(); err != nil {
			return out, err
		}
		lastCkpt = time.Now()
	}
	if err := st.finish(save); err != nil {
		return out, err
	}
	_ = bar.Finish()
	fmt.Fprintln(progress)
	finish()
	out.eval = em
	return out, nil
}

// readTrajectory returns the decided archs of the first epochs epochs
// recorded in dir (empty if none).
func readTrajectory(dir string, epochs int) []string {
	var t []string
	b, err := os.ReadFile(filepath.Join(dir, "trajectory.json"))
	if err == nil && json.Unmarshal(b, &t) == nil && len(t) >= epochs {
		return t[:epochs]
	}
	return nil
}

func setGC(p int) func() {
	old := debug.SetGCPercent(p)
	return func() { debug.SetGCPercent(old) }
}

// pairOpt checkpoints two optimizers of one kind as one state (their
// parameter names are disjoint).
type pairOpt struct {
	a, b   Optimizer
	bNames map[string]bool
}

func (p *pairOpt) Step([]Param, float64) error { return errors.New("train: pairOpt does not step") }
func (p *pairOpt) State() OptState {
	s, t := p.a.State(), p.b.State()
	for k, v := range t.Buffers {
		s.Buffers[k] = v
	}
	return s
}
func (p *pairOpt) SetState(s OptState) error {
	sa := OptState{Kind: s.Kind, Steps: s.Steps, Buffers: map[string][][]float64{}}
	sb := OptState{Kind: p.b.State().Kind, Steps: s.Steps, Buffers: map[string][][]float64{}}
	for k, v := range s.Buffers {
		if p.bNames[k] {
			sb.Buffers[k] = v
		} else {
			sa.Buffers[k] = v
		}
	}
	if err := p.a.SetState(sa); err != nil {
		return err
	}
	return p.b.SetState(sb)
}
