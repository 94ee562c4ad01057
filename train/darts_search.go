package train

// DARTS supernet search, first order (quark0/darts train_search.py,
// architect.py with unrolled=False), then selection by argmax or DARTS-PT,
// checkpointed so that both the search and the selection resume mid-way.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
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
	"strings"
	"time"

	"gorgonia.org/tensor"

	"github.com/nbquery/nbquery/space/darts"
)

// SearchConfig describes a DARTS search. Start from DefaultSearchConfig
// (TRAINER.md §9's CPU proxy with §2's hyper-parameters): zero sizes, epochs,
// learning rates and Select take its values, but a zero Momentum,
// WeightDecay, ClipNorm, ArchWeightDecay, Resize, MaxTrain or MaxValid means
// zero (off, native size, all images).
type SearchConfig struct {
	DataDir, Dataset string
	C, Layers        int // supernet width and cells (DARTS: 16, 8)
	Resize           int // input side after padding and box-averaging (0 = native)
	MaxTrain         int // images for the weight step (w-data, seeded subset of one half of the training set)
	MaxValid         int // images for the α step (α-data, from the other half); also the accuracy set
	Batch, EvalBatch int
	Epochs           int
	LR, MinLR        float64 // weights: SGD, cosine from LR to MinLR
	Momentum         float64
	WeightDecay      float64
	ClipNorm         float64 // global gradient-norm clip of the weight step
	ArchLR           float64 // α: Adam (β 0.5, 0.999)
	ArchWeightDecay  float64
	Seed             uint64
	Select           string  // argmax (default) | pt
	ProjInterval     int     // pt: tuning iterations after each projection round
	TuneLR           float64 // pt: weight learning rate while tuning (cosine to TuneLR·MinLR/LR)
	ProjImages       int     // pt: projection set = the first ProjImages α-data images
	Float64          bool

	OutDir          string
	Resume          bool          `json:"-"`
	ResumeOrStart   bool          `json:"-"`
	TimeLimit       time.Duration `json:"-"`
	CheckpointEvery time.Duration `json:"-"`
	CheckpointSteps int           `json:"-"`
	MaxSteps        int           `json:"-"`
	GCPercent       int           `json:"-"`
}

// DefaultSearchConfig is the proxy of TRAINER.md §9: C=8, 5 cells, 16²
// inputs, 2k + 2k images, batch 32, 10 epochs, DARTS' optimiser settings.
func DefaultSearchConfig() SearchConfig {
	return SearchConfig{Dataset: "fashion-mnist", C: 8, Layers: 5, Resize: 16, MaxTrain: 2000, MaxValid: 2000,
		Batch: 32, EvalBatch: 64, Epochs: 10, LR: 0.025, MinLR: 0.001, Momentum: 0.9, WeightDecay: 3e-4,
		ClipNorm: 5, ArchLR: 3e-4, ArchWeightDecay: 1e-3, Select: "argmax", ProjInterval: 20, TuneLR: 0.0025,
		ProjImages: 256, CheckpointEvery: 3 * time.Minute}
}

func (c SearchConfig) withDefaults() SearchConfig {
	d := DefaultSearchConfig()
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	deff := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	if c.Dataset == "" {
		c.Dataset = d.Dataset
	}
	if c.Select == "" {
		c.Select = d.Select
	}
	def(&c.C, d.C)
	def(&c.Layers, d.Layers)
	def(&c.Batch, d.Batch)
	def(&c.EvalBatch, d.EvalBatch)
	def(&c.Epochs, d.Epochs)
	def(&c.ProjInterval, d.ProjInterval)
	def(&c.ProjImages, d.ProjImages)
	deff(&c.LR, d.LR)
	deff(&c.MinLR, d.MinLR)
	deff(&c.ArchLR, d.ArchLR)
	deff(&c.TuneLR, d.TuneLR)
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = d.CheckpointEvery
	}
	return c
}

func (c SearchConfig) limits() runLimits {
	return runLimits{c.TimeLimit, c.MaxSteps, c.CheckpointEvery, c.CheckpointSteps}
}

// Hash identifies everything that determines the search trajectory.
func (c SearchConfig) Hash() string {
	c = c.withDefaults()
	c.OutDir = ""
	b, _ := json.Marshal(c)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// SearchResult is what a search found and why.
type SearchResult struct {
	Argmax        string       `json:"argmax"`              // DARTS' parse of softmax(α) after the search
	PT            string       `json:"pt,omitempty"`        // DARTS-PT's genotype (Select pt)
	Genotype      string       `json:"genotype"`            // the selected one
	EpochAccuracy []float64    `json:"epoch-accuracy"`      // supernet accuracy on α-data after each epoch (%)
	Decisions     []Decision   `json:"decisions,omitempty"` // DARTS-PT projections
	Alpha         [2][]float64 `json:"alpha"`               // softmax(α) of the normal and reduction cells, (14,8) row-major
	Steps         int          `json:"steps"`
	SearchTime    float64      `json:"search-time"` // seconds in training steps and projections
	Completed     bool         `json:"completed"`
	ConfigHash    string       `json:"config-hash"`
}

// searchState is the part of a search checkpoint beyond the single-model
// state of Run (gob in checkpoint.Extra).
type searchState struct {
	Phase    int // 0 search, 1 DARTS-PT, 2 done
	AlphaOpt OptState
	ValPerm  []int
	EpochAcc []float64
	Argmax   string
	Mix      [2][2][]float64 // M, P per cell type
	PT       ptState
	Time     float64
}

// searcher holds one search's graphs and state.
type searcher struct {
	cfg        SearchConfig
	ps         *params
	mix        *mixInputs
	tm, probe  *model
	learnW     []Param
	learnA     []Param
	optW, optA Optimizer
	pcg        *rand.PCG
	rng        *rand.Rand
	train, val *loader
	projSet    *loader
	data       *dataSplits
	labels     []int
	out        io.Writer
}

// Search runs a DARTS search and its selection, checkpointing into
// cfg.OutDir (checkpoint.gob, search.json at the end). Like Run it stops
// with a checkpoint on cancellation, TimeLimit or MaxSteps, resumes with
// Resume, and refuses a checkpoint of another configuration.
func Search(ctx context.Context, cfg SearchConfig, progress io.Writer) (SearchResult, error) {
	start := time.Now()
	cfg = cfg.withDefaults()
	if progress == nil {
		progress = io.Discard
	}
	switch {
	case cfg.Select != "argmax" && cfg.Select != "pt":
		return SearchResult{}, fmt.Errorf("%w: select %q (argmax, pt)", ErrConfig, cfg.Select)
	case cfg.OutDir == "":
		return SearchResult{}, fmt.Errorf("%w: OutDir is empty", ErrConfig)
	case cfg.Epochs < 1 || cfg.Batch < 1 || cfg.EvalBatch < 1 || cfg.LR <= 0 || cfg.ArchLR <= 0:
		return SearchResult{}, fmt.Errorf("%w: epochs %d, batch %d, eval batch %d, lr %v, arch lr %v", ErrConfig, cfg.Epochs, cfg.Batch, cfg.EvalBatch, cfg.LR, cfg.ArchLR)
	}
	if cfg.GCPercent > 0 {
		defer debug.SetGCPercent(debug.SetGCPercent(cfg.GCPercent))
	}
	data, err := loadData(Config{DataDir: cfg.DataDir, Dataset: cfg.Dataset, Seed: cfg.Seed, ValidFraction: 0.5, Resize: cfg.Resize})
	if err != nil {
		return SearchResult{}, err
	}
	sub := func(idx []int, n int, stream uint64) []int {
		if n > 0 && n < len(idx) {
			p := rand.New(rand.NewPCG(cfg.Seed, stream)).Perm(len(idx))[:n]
			out := make([]int, n)
			for i, k := range p {
				out[i] = idx[k]
			}
			return out
		}
		return idx
	}
	data.trainIdx, data.validIdx = sub(data.trainIdx, cfg.MaxTrain, 11), sub(data.validIdx, cfg.MaxValid, 12)
	if len(data.trainIdx) < cfg.Batch || len(data.validIdx) < cfg.Batch {
		return SearchResult{}, fmt.Errorf("%w: %d w-data and %d α-data images for batch %d", ErrConfig, len(data.trainIdx), len(data.validIdx), cfg.Batch)
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return SearchResult{}, fmt.Errorf("train: %w", err)
	}
	s, err := newSearcher(cfg, data, progress)
	if err != nil {
		return SearchResult{}, err
	}
	defer s.tm.vm.Close()
	defer s.probe.vm.Close()
	return s.run(ctx, start)
}

func newSearcher(cfg SearchConfig, data *dataSplits, out io.Writer) (*searcher, error) {
	dt := tensor.Float32
	if cfg.Float64 {
		dt = tensor.Float64
	}
	s := &searcher{cfg: cfg, data: data, out: out, ps: newParams(dt, rand.New(rand.NewPCG(cfg.Seed, 1))), mix: newMixInputs(dt)}
	d := data.train
	spec := dartsSpec{C: cfg.C, Layers: cfg.Layers, InC: d.C, H: d.H, W: d.W, Class: d.Classes}
	t0 := time.Now()
	var err error
	if s.tm, err = buildDARTS(s.ps, spec, s.mix, cfg.Batch, true, true, false); err != nil {
		return nil, err
	}
	// Supernet accuracies (per epoch and for DARTS-PT) use batch statistics,
	// as darts-pt's projection does (model.train() under no_grad).
	if s.probe, err = buildDARTS(s.ps, spec, s.mix, cfg.EvalBatch, true, false, false); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "supernet C=%d, %d cells, %dx%d inputs: %d parameters, %.2f M MACs/image, graphs built in %.1fs\n",
		cfg.C, cfg.Layers, d.H, d.W, s.ps.count(), s.tm.flops/1e6, time.Since(t0).Seconds())
	for _, n := range s.tm.learn {
		p := Param{Name: n.Name(), Value: n.Value().(*tensor.Dense)}
		if strings.HasPrefix(p.Name, "alpha.") {
			s.learnA = append(s.learnA, p)
		} else {
			s.learnW = append(s.learnW, p)
		}
	}
	if len(s.learnA) != 2 {
		return nil, fmt.Errorf("train: darts: %d architecture parameters reach the loss, want 2", len(s.learnA))
	}
	s.optW = NewSGD(cfg.Momentum, cfg.WeightDecay, false)
	s.optA = NewAdam(0.5, 0.999, 1e-8, cfg.ArchWeightDecay, false)
	s.pcg = rand.NewPCG(cfg.Seed, 2)
	s.rng = rand.New(s.pcg)
	s.train = newLoader(data.train, data.trainIdx, true, Augment{}, data.norm)
	s.val = newLoader(data.train, data.validIdx, true, Augment{}, data.norm)
	np := min(cfg.ProjImages, len(data.validIdx))
	s.projSet = newLoader(data.train, data.validIdx[:np], false, Augment{}, data.norm)
	s.labels = make([]int, max(cfg.Batch, cfg.EvalBatch))
	return s, nil
}

// fillBatch writes the batch at position from of l into m's inputs.
func fillBatch(m *model, l *loader, from int, labels []int) int {
	switch x := m.x.Value().Data().(type) {
	case []float32:
		return fill(l, from, m.batch, x, m.y.Value().Data().([]float32), labels, nil)
	case []float64:
		return fill(l, from, m.batch, x, m.y.Value().Data().([]float64), labels, nil)
	}
	return 0
}

// pass runs the training graph on a batch and returns the loss; every
// learnable's gradient is then bound to learnW/learnA (an optimizer step
// zeroes its group's; zeroGrads the other's).
func (s *searcher) pass(l *loader, from int) (float64, error) {
	fillBatch(s.tm, l, from, s.labels)
	if err := s.tm.vm.RunAll(); err != nil {
		return 0, fmt.Errorf("train: darts step: %w", err)
	}
	loss := scalarValue(s.tm.loss.Value())
	iw, ia := 0, 0
	for _, n := range s.tm.learn {
		g, err := n.Grad()
		if err != nil {
			return 0, fmt.Errorf("train: %s: %w", n.Name(), err)
		}
		if strings.HasPrefix(n.Name(), "alpha.") {
			s.learnA[ia].Grad = g.(*tensor.Dense)
			ia++
		} else {
			s.learnW[iw].Grad = g.(*tensor.Dense)
			iw++
		}
	}
	s.tm.vm.Reset()
	return loss, nil
}

// step is one first-order DARTS iteration: Adam on α with the next α-data
// batch, then SGD (clipped) on the weights with the next w-data batch.
func (s *searcher) step(iter int, lr float64) (float64, error) {
	vl, err := s.pass(s.val, iter*s.cfg.Batch)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(vl) || math.IsInf(vl, 0) {
		return vl, nil
	}
	zeroParamGrads(s.learnW)
	if err := s.optA.Step(s.learnA, s.cfg.ArchLR); err != nil {
		return 0, err
	}
	loss, err := s.pass(s.train, iter*s.cfg.Batch)
	if err != nil || math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, err
	}
	zeroParamGrads(s.learnA)
	if s.cfg.ClipNorm > 0 {
		ClipGradNorm(s.learnW, s.cfg.ClipNorm)
	}
	return loss, s.optW.Step(s.learnW, lr)
}

// accuracy measures the supernet on a loader with the current mix (%).
func (s *searcher) accuracy(l *loader) (float64, error) {
	_, acc, err := evaluate(s.probe, l)
	return acc, err
}

func (s *searcher) alphas() [2][]float64 {
	var a [2][]float64
	for ct, name := range cellNames {
		a[ct] = toF64(s.ps.values["alpha."+name])
	}
	return a
}

func (s *searcher) weights() [2]archWeights { return projectedWeights(s.alphas(), s.mix) }

func (s *searcher) saveMix(st *searchState) {
	for ct := range 2 {
		st.Mix[ct][0], st.Mix[ct][1] = toF64(s.mix.M[ct]), toF64(s.mix.P[ct])
	}
}

func (s *searcher) loadMix(st *searchState) error {
	for ct := range 2 {
		m, p := st.Mix[ct][0], st.Mix[ct][1]
		if len(m) != darts.NumEdges*darts.NumOps || len(p) != len(m) {
			return errors.New("projection state missing or resized")
		}
		for e := range darts.NumEdges {
			for k := range darts.NumOps {
				s.mix.set(ct, e, k, m[e*darts.NumOps+k], p[e*darts.NumOps+k])
			}
		}
	}
	return nil
}

// tuneOpt is DARTS-PT's fresh weight optimiser for the tuning phase.
func (s *searcher) tuneOpt() Optimizer { return NewSGD(s.cfg.Momentum, s.cfg.WeightDecay, false) }

func (s *searcher) run(ctx context.Context, start time.Time) (SearchResult, error) {
	cfg := s.cfg
	res := SearchResult{ConfigHash: cfg.Hash()}
	st := &checkpoint{Version: 1, ConfigHash: res.ConfigHash}
	ss := &searchState{}
	ckptPath := filepath.Join(cfg.OutDir, CheckpointName)
	if cfg.Resume || cfg.ResumeOrStart {
		old, err := resumeFrom(ckptPath, st.ConfigHash, s.out, func(c *checkpoint) error {
			var x searchState
			if err := gob.NewDecoder(bytes.NewReader(c.Extra)).Decode(&x); err != nil {
				return fmt.Errorf("search state: %v", err)
			}
			if x.Phase > 0 {
				s.optW = s.tuneOpt()
			}
			if err := restore(c, s.ps, s.optW, s.pcg, s.train); err != nil {
				return err
			}
			if err := s.optA.SetState(x.AlphaOpt); err != nil {
				return err
			}
			if len(x.ValPerm) != len(s.val.perm) {
				return errors.New("α-data order resized")
			}
			copy(s.val.perm, x.ValPerm)
			if err := s.loadMix(&x); err != nil {
				return err
			}
			*ss = x
			return nil
		})
		switch {
		case errors.Is(err, ErrNoCheckpoint) && cfg.ResumeOrStart:
			fmt.Fprintf(s.out, "no checkpoint in %s; starting from step 0\n", cfg.OutDir)
		case err != nil:
			return res, err
		default:
			st = old
		}
	}
	save := func() error {
		if err := snapshot(st, s.ps, s.optW, s.pcg, s.train); err != nil {
			return err
		}
		ss.AlphaOpt = s.optA.State()
		ss.ValPerm = append([]int(nil), s.val.perm...)
		s.saveMix(ss)
		var b bytes.Buffer
		if err := gob.NewEncoder(&b).Encode(ss); err != nil {
			return fmt.Errorf("train: search state: %w", err)
		}
		st.Extra = b.Bytes()
		return writeCheckpoint(ckptPath, st)
	}
	fill := func(done bool) {
		res.Steps, res.EpochAccuracy, res.Argmax, res.Decisions, res.SearchTime = st.Step, ss.EpochAcc, ss.Argmax, ss.PT.Decisions, ss.Time
		w := s.weights()
		for ct := range 2 {
			res.Alpha[ct] = make([]float64, 0, darts.NumEdges*darts.NumOps)
			sm := softmaxRows(s.alphas()[ct])
			for e := range darts.NumEdges {
				res.Alpha[ct] = append(res.Alpha[ct], sm[e][:]...)
			}
		}
		if cfg.Select == "pt" && ss.Phase == 2 {
			res.PT = argmaxGenotype(&w).String()
		}
		res.Genotype = res.Argmax
		if cfg.Select == "pt" {
			res.Genotype = res.PT
		}
		res.Completed = done
	}
	stepsThisCall := 0
	lastCkpt, lastLog := time.Now(), time.Now()
	stop := func() error {
		why := cfg.limits().stopBefore(ctx, start, stepsThisCall)
		if why == nil {
			return nil
		}
		if err := save(); err != nil {
			return err
		}
		fill(false)
		return why
	}
	afterStep := func(loss float64, phase string) error {
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return fmt.Errorf("%w: %s step %d loss %v; last good checkpoint kept at %s", ErrNonFinite, phase, st.Step, loss, ckptPath)
		}
		st.Step++
		stepsThisCall++
		st.EpochLoss += loss
		st.EpochSeen++
		if time.Since(lastLog) >= 5*time.Second {
			fmt.Fprintf(s.out, "%s step %d: loss %.4f\n", phase, st.Step, st.EpochLoss/float64(st.EpochSeen))
			lastLog = time.Now()
		}
		if cfg.limits().checkpointDue(lastCkpt, st.Step) {
			if err := save(); err != nil {
				return err
			}
			lastCkpt = time.Now()
		}
		return nil
	}
	perEpoch := min(s.train.batchesPerEpoch(cfg.Batch), s.val.batchesPerEpoch(cfg.Batch))
	sched := CosineLR{Base: cfg.LR, Min: cfg.MinLR, Total: cfg.Epochs * perEpoch}
	for ss.Phase == 0 {
		if st.Epoch >= cfg.Epochs {
			w := s.weights()
			ss.Argmax = argmaxGenotype(&w).String()
			fmt.Fprintf(s.out, "argmax genotype: %s\n", ss.Argmax)
			ss.Phase = 2
			if cfg.Select == "pt" {
				ss.Phase = 1
				s.optW = s.tuneOpt()
				st.Epoch, st.Iter, st.Shuffled = 0, 0, false
			}
			if err := save(); err != nil {
				return res, err
			}
			break
		}
		if !st.Shuffled {
			s.train.startEpoch(s.rng)
			s.val.startEpoch(s.rng)
			st.Shuffled = true
		}
		for st.Iter < perEpoch {
			if err := stop(); err != nil {
				return res, err
			}
			t0 := time.Now()
			loss, err := s.step(st.Iter, sched.LR(st.Step))
			if err != nil {
				return res, err
			}
			ss.Time += time.Since(t0).Seconds()
			st.Iter++
			if err := afterStep(loss, "search"); err != nil {
				return res, err
			}
		}
		t0 := time.Now()
		acc, err := s.accuracy(newLoader(s.data.train, s.data.validIdx, false, Augment{}, s.data.norm))
		if err != nil {
			return res, err
		}
		ss.Time += time.Since(t0).Seconds()
		ss.EpochAcc = append(ss.EpochAcc, acc)
		w := s.weights()
		fmt.Fprintf(s.out, "epoch %d/%d: train loss %.4f, supernet accuracy on α-data %.2f%%, argmax %s\n",
			st.Epoch+1, cfg.Epochs, st.EpochLoss/float64(max(1, st.EpochSeen)), acc, argmaxGenotype(&w))
		st.Epoch++
		st.Iter, st.EpochLoss, st.EpochSeen, st.Shuffled = 0, 0, 0, false
		if err := save(); err != nil {
			return res, err
		}
		lastCkpt = time.Now()
	}
	if ss.Phase == 1 {
		if err := s.selectPT(st, ss, stop, afterStep, save); err != nil {
			return res, err
		}
	}
	fill(true)
	if cfg.Select == "pt" {
		fmt.Fprintf(s.out, "DARTS-PT genotype: %s\n", res.PT)
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := writeAtomic(filepath.Join(cfg.OutDir, "search.json"), append(b, '\n')); err != nil {
		return res, err
	}
	return res, nil
}

// selectPT runs DARTS-PT: ptRounds projection rounds (op rounds, then edge
// rounds), each followed by ProjInterval first-order tuning iterations.
func (s *searcher) selectPT(st *checkpoint, ss *searchState, stop func() error, afterStep func(float64, string) error, save func() error) error {
	cfg := s.cfg
	perEpoch := min(s.train.batchesPerEpoch(cfg.Batch), s.val.batchesPerEpoch(cfg.Batch))
	total := ptRounds * cfg.ProjInterval
	sched := CosineLR{Base: cfg.TuneLR, Min: cfg.TuneLR * cfg.MinLR / cfg.LR, Total: total}
	pr := &projector{mix: s.mix, st: &ss.PT, rng: s.rng, acc: func() (float64, error) { return s.accuracy(s.projSet) }}
	for ss.PT.Round < ptRounds {
		if !ss.PT.Projected {
			t0 := time.Now()
			ds, err := pr.round()
			if err != nil {
				return err
			}
			ss.Time += time.Since(t0).Seconds()
			for _, d := range ds {
				fmt.Fprintln(s.out, d)
			}
			ss.PT.Projected = true
			if err := save(); err != nil {
				return err
			}
		}
		for ss.PT.TuneIter < cfg.ProjInterval {
			if err := stop(); err != nil {
				return err
			}
			if st.Iter >= perEpoch || !st.Shuffled {
				s.train.startEpoch(s.rng)
				s.val.startEpoch(s.rng)
				st.Iter, st.Shuffled = 0, true
			}
			t0 := time.Now()
			loss, err := s.step(st.Iter, sched.LR(ss.PT.Round*cfg.ProjInterval+ss.PT.TuneIter))
			if err != nil {
				return err
			}
			ss.Time += time.Since(t0).Seconds()
			st.Iter++
			ss.PT.TuneIter++
			if err := afterStep(loss, "pt-tune"); err != nil {
				return err
			}
		}
		ss.PT.Round++
		ss.PT.TuneIter, ss.PT.Projected = 0, false
	}
	ss.Phase = 2
	return save()
}

// zeroParamGrads clears the gradients bound to ps.
func zeroParamGrads(ps []Param) {
	for _, p := range ps {
		if p.Grad == nil {
			continue
		}
		switch g := p.Grad.Data().(type) {
		case []float32:
			clear(g)
		case []float64:
			clear(g)
		}
	}
}
