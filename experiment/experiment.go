package experiment

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"gonum.org/v1/gonum/mat"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/predictors"
	"github.com/nbquery/nbquery/search"
	"github.com/nbquery/nbquery/space/nb201"
	"github.com/nbquery/nbquery/weaknas"
)

var (
	nan  = math.NaN()
	logf = math.Log
)

// problem is everything shared read-only by the runs of one experiment.
type problem struct {
	sp      search.Space
	o       *search.Oracle
	acc     []float64 // target accuracy (before any objective)
	lat     []float64 // latency metric for the Pareto fronts (nil if none)
	device  string
	factory predictors.Factory
	X       *mat.Dense // whole-space encoding, built once if a model needs it
}

// Run runs the experiment on bench cfg.Bench of st, writing a progress bar
// to progress (nil: none) and, if cfg.OutDir is set, the output files.
func Run(ctx context.Context, st *index.Store, cfg Config, progress io.Writer) (*Summary, error) {
	cfg.defaults()
	for _, a := range cfg.Algos {
		if !slices.Contains(Algorithms, a) {
			return nil, fmt.Errorf("%w: unknown algorithm %q (want %s)", ErrConfig, a, strings.Join(Algorithms, ", "))
		}
	}
	if cfg.Runs < 0 || cfg.Budget < 0 || cfg.FirstRun < 0 {
		return nil, fmt.Errorf("%w: runs %d and budget %d must be positive", ErrConfig, cfg.Runs, cfg.Budget)
	}
	if cfg.Count < search.CountAll || cfg.Count > search.CountIsomorph {
		return nil, fmt.Errorf("%w: counting rule %d", ErrConfig, int(cfg.Count))
	}
	if err := cfg.RE.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if e := cfg.Bananas.Encoding; e != "path" && e != "onehot" {
		return nil, fmt.Errorf("%w: bananas encoding %q (want path or onehot)", ErrConfig, e)
	}
	if cfg.LS.Neighbours < 0 {
		return nil, fmt.Errorf("%w: ls neighbours %d must be >= 0", ErrConfig, cfg.LS.Neighbours)
	}
	var factory predictors.Factory
	if cfg.Predictor != DefaultPredictor {
		f, err := predictors.Lookup(cfg.Predictor)
		if err != nil {
			return nil, fmt.Errorf("experiment: %w", err)
		}
		factory = f
	}
	var p *problem
	if cfg.Live != nil {
		var err error
		if p, err = prepareLive(&cfg); err != nil {
			return nil, err
		}
	} else if cfg.Bench == index.NB101 {
		t, err := st.NB101Table()
		if err != nil {
			return nil, fmt.Errorf("experiment: %w", err)
		}
		if p, err = prepareNB101(t, &cfg); err != nil {
			return nil, err
		}
	} else {
		b, err := st.Bench(cfg.Bench)
		if err != nil {
			return nil, fmt.Errorf("experiment: %w", err)
		}
		if p, err = prepare(b, &cfg); err != nil {
			return nil, err
		}
	}
	p.factory = factory
	return execute(ctx, p, cfg, progress)
}

func prepare(b *index.Bench, cfg *Config) (*problem, error) {
	p := &problem{}
	switch cfg.Bench {
	case index.NB201:
		sp, err := search.NB201FromBench(b)
		if err != nil {
			return nil, fmt.Errorf("experiment: %w", err)
		}
		p.sp = sp
	default:
		return nil, fmt.Errorf("%w: no search space for benchmark %q yet (have %s, %s)", ErrConfig, cfg.Bench, index.NB201, index.NB101)
	}
	q := func(split string) index.Query {
		return index.Query{Dataset: cfg.Dataset, HP: cfg.HP, Split: split, Epoch: -1, Seed: index.MeanSeeds()}
	}
	target, err := b.Vector(nil, q(cfg.Target))
	if err != nil {
		return nil, fmt.Errorf("experiment: target %s: %w", q(cfg.Target), err)
	}
	report, err := b.Vector(nil, q(cfg.Report))
	if err != nil {
		return nil, fmt.Errorf("experiment: report %s: %w", q(cfg.Report), err)
	}
	// Simulated training time (simulate_train_eval): training all-time plus
	// one evaluation of the target split; nil if the benchmark has no times.
	var cost []float64
	tq := q(index.SetTrain)
	tq.Metric = index.MetricAllTime
	if tt, err := b.Vector(nil, tq); err == nil {
		eq := q(cfg.Target)
		eq.Metric = index.MetricPerTime
		et, _ := b.Vector(nil, eq)
		cost = tt
		for i := range cost {
			if et != nil && !math.IsNaN(et[i]) {
				cost[i] += et[i]
			}
		}
	}
	p.acc = target
	metricVec := func(metric string) ([]float64, error) {
		mq := index.Query{Dataset: cfg.Dataset, HP: cfg.HP, Metric: metric}
		if mq.Dataset == "cifar10-valid" && !strings.HasPrefix(metric, "hw:") {
			mq.Dataset = "cifar10" // compute costs are stored per real dataset
		}
		v, err := b.Vector(nil, mq)
		if err != nil {
			return nil, err
		}
		p.lat, p.device = v, metric
		return v, nil
	}
	var allowed []bool
	if cfg.Constraint != "" {
		c, err := ParseConstraint(cfg.Constraint)
		if err != nil {
			return nil, err
		}
		v, err := metricVec(c.Metric)
		if err != nil {
			return nil, fmt.Errorf("experiment: constraint %q: %w", cfg.Constraint, err)
		}
		allowed = make([]bool, len(v))
		n := 0
		for i, x := range v {
			allowed[i] = c.Allows(x)
			if allowed[i] {
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("%w: no architecture satisfies the constraint %q", ErrConfig, cfg.Constraint)
		}
	}
	if cfg.Objective != "" {
		ob, err := ParseObjective(cfg.Objective)
		if err != nil {
			return nil, err
		}
		v, err := metricVec(ob.Metric)
		if err != nil {
			return nil, fmt.Errorf("experiment: objective %q: %w", cfg.Objective, err)
		}
		obj := make([]float64, len(target))
		for i := range obj {
			obj[i] = ob.Apply(target[i], v[i])
		}
		target = obj
	}
	if err := p.finish(target, report, cost, allowed, cfg); err != nil {
		return nil, err
	}
	return p, nil
}

// finish builds the oracle and checks the budget against the space.
func (p *problem) finish(target, report, cost []float64, allowed []bool, cfg *Config) error {
	o, err := search.NewOracle(target, report, cost, allowed)
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	p.o = o
	if limit := search.Limit(p.sp, o, cfg.Count); cfg.Budget > limit {
		return fmt.Errorf("%w: budget %d is larger than the space (%d candidate cells under --count %s)", ErrConfig, cfg.Budget, limit, cfg.Count)
	}
	return nil
}

// nb101Dataset is the only dataset of NAS-Bench-101.
const nb101Dataset = "cifar10"

// nb101Splits maps the NB101 split names to api.py's final_* metrics.
var nb101Splits = map[string]index.NB101Metric{
	"valid": index.FinalValidationAccuracy,
	"test":  index.FinalTestAccuracy,
	"train": index.FinalTrainAccuracy,
}

// prepareNB101 builds the problem over the rows of an NB101 table (a full
// benchmark or a partial one): labels are the mean over the recorded repeats
// at cfg.HP epochs (the only repeat of a one-repeat partial table), the cost
// is final_training_time where the table records it.
func prepareNB101(t *index.NB101Table, cfg *Config) (*problem, error) {
	if cfg.Dataset != nb101Dataset {
		return nil, fmt.Errorf("%w: NAS-Bench-101 has only the dataset %s, not %q", ErrConfig, nb101Dataset, cfg.Dataset)
	}
	if cfg.Constraint != "" || cfg.Objective != "" {
		return nil, fmt.Errorf("%w: latency constraints and objectives are NB201-only (no NB101 latency table)", ErrConfig)
	}
	epochs, err := strconv.Atoi(cfg.HP)
	if err != nil || index.NB101BudgetIndex(epochs) < 0 {
		return nil, fmt.Errorf("%w: NB101 hp %q: want the epochs 4, 12, 36 or 108", ErrConfig, cfg.HP)
	}
	sp, err := search.NewNB101(t)
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	p := &problem{sp: sp}
	vec := func(role, split string) ([]float64, error) {
		m, ok := nb101Splits[split]
		if !ok {
			return nil, fmt.Errorf("%w: NB101 %s split %q: want valid, test or train", ErrConfig, role, split)
		}
		v, err := t.Vector(nil, index.NB101Select{Metric: m, Epochs: epochs, Repeat: index.NB101MeanRepeats})
		if err != nil {
			return nil, fmt.Errorf("experiment: NB101 %s split %q: %w", role, split, err)
		}
		return v, nil
	}
	target, err := vec("target", cfg.Target)
	if err != nil {
		return nil, err
	}
	report, err := vec("report", cfg.Report)
	if err != nil {
		return nil, err
	}
	var cost []float64
	if t.Has(index.FinalTrainingTime, epochs) {
		cost, err = t.Vector(nil, index.NB101Select{Metric: index.FinalTrainingTime, Epochs: epochs, Repeat: index.NB101MeanRepeats})
		if err != nil {
			return nil, fmt.Errorf("experiment: NB101 training time: %w", err)
		}
	}
	p.acc = target
	if err := p.finish(target, report, cost, nil, cfg); err != nil {
		return nil, err
	}
	return p, nil
}

// settings returns the setting that the named algorithm runs with, every
// default resolved, for the summary (AlgoSummary.Settings).
func (p *problem) settings(name string, cfg Config) any {
	switch name {
	case "weaknas", "weaknas-paper", "weaknas-ei":
		wc := cfg.WeakNAS
		switch name {
		case "weaknas":
			wc = wc.WithDefault()
		case "weaknas-ei":
			wc.Sampling = weaknas.EI
		}
		return struct {
			weaknas.Config
			Predictor string `json:"predictor"`
		}{wc.WithDefaults(), cfg.Predictor}
	case "bananas":
		return cfg.Bananas
	case "re":
		return cfg.RE
	case "ls", "ls-first":
		ls := cfg.LS
		ls.FirstImprovement = name == "ls-first"
		return ls
	}
	return struct{}{}
}

// algorithm builds the named algorithm over the shared problem.
func (p *problem) algorithm(name string, cfg Config) (search.Algorithm, error) {
	switch name {
	case "weaknas", "weaknas-paper", "weaknas-ei":
		if p.X == nil {
			p.X = search.EncodeAll(p.sp)
		}
		wc := cfg.WeakNAS
		wc.Factory = p.factory // nil for the default: weaknas picks NewFast or NewFastMember
		wc.Sampling = weaknas.Uniform
		switch name {
		case "weaknas":
			wc = wc.WithDefault()
		case "weaknas-ei":
			wc.Sampling = weaknas.EI
		}
		return weaknas.New(wc, p.X, p.o), nil
	case "bananas":
		bc := cfg.Bananas
		b := &search.Bananas{Factory: search.BananasMember, Members: bc.Members, Init: bc.Init, K: bc.K,
			Parents: bc.Parents, Candidates: bc.Candidates}
		if bc.Encoding == "onehot" {
			if p.X == nil {
				p.X = search.EncodeAll(p.sp)
			}
			b.X = p.X
			return b, nil
		}
		ps, ok := p.sp.(search.PathSpace)
		if !ok {
			return nil, fmt.Errorf("%w: bananas needs a path encoding of %T", ErrConfig, p.sp)
		}
		b.X = search.EncodePathAll(ps)
		return b, nil
	case "re":
		return cfg.RE, nil
	case "ls", "ls-first":
		ls := cfg.LS
		ls.FirstImprovement = name == "ls-first"
		return ls, nil
	}
	return search.ByName(name)
}

func execute(ctx context.Context, p *problem, cfg Config, progress io.Writer) (*Summary, error) {
	start := time.Now()
	algos := make([]search.Algorithm, len(cfg.Algos))
	for a, name := range cfg.Algos {
		alg, err := p.algorithm(name, cfg)
		if err != nil {
			return nil, err
		}
		algos[a] = alg
	}
	sum := &Summary{Config: cfg, SpaceSize: p.o.Len(), ValidCells: len(p.o.Pool()), ReportMean: Float(p.o.ReportMean()),
		Device: p.device, CurveX: curveGrid(cfg.Budget)}
	opt, ov := p.o.Optimum()
	for _, i := range opt {
		sum.Optimum = append(sum.Optimum, int(i))
	}
	sum.OptimumValue, sum.OptimumReport = Float(ov), Float(nan)
	if len(opt) > 0 {
		sum.OptimumReport = Float(p.o.Report[opt[0]])
	} else {
		sum.OptimumValue = Float(nan) // a live oracle does not know it
	}
	for _, c := range Checkpoints {
		if c <= cfg.Budget {
			sum.Checkpoints = append(sum.Checkpoints, c)
		}
	}
	results := make([][]RunResult, len(algos))
	elapsed := make([][]time.Duration, len(algos))
	for a := range results {
		results[a] = make([]RunResult, cfg.Runs)
		elapsed[a] = make([]time.Duration, cfg.Runs)
	}
	var bar *progressbar.ProgressBar
	if progress != nil {
		bar = progressbar.NewOptions(len(algos)*cfg.Runs, progressbar.OptionSetWriter(progress),
			progressbar.OptionSetDescription("search runs"), progressbar.OptionShowCount(),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetPredictTime(true))
	}
	remote := cfg.Runner != nil
	if remote {
		if err := runRemote(ctx, p, cfg, sum, results); err != nil {
			return nil, err
		}
		cfg.Workers = 0 // nothing left to run here
	}
	type job struct{ a, run int }
	jobs := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sessions := make([]*search.Session, len(algos))
			for j := range jobs {
				s := sessions[j.a]
				if s == nil {
					var err error
					s, err = search.NewCountingSession(p.sp, p.o, cfg.Budget, cfg.Count)
					if err != nil {
						mu.Lock()
						firstErr = cmpErr(firstErr, err)
						mu.Unlock()
						cancel()
						continue
					}
					s.StopAtOptimum = cfg.StopAtOptimum
					sessions[j.a] = s
				}
				s.Reset()
				t0 := time.Now()
				err := algos[j.a].Search(ctx, s, RunRNG(cfg.Seed, cfg.FirstRun+j.run))
				elapsed[j.a][j.run] = time.Since(t0)
				if err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, fmt.Errorf("experiment: %s run %d: %w", cfg.Algos[j.a], cfg.FirstRun+j.run, err))
					mu.Unlock()
					cancel()
					continue
				}
				results[j.a][j.run] = record(p, s, cfg.Algos[j.a], cfg.FirstRun+j.run, sum)
				if cfg.Trace != nil {
					cfg.Trace(traceOf(s, cfg.Algos[j.a], cfg.FirstRun+j.run))
				}
				if bar != nil {
					bar.Add(1)
				}
			}
		}()
	}
feed:
	for a := range algos {
		for i := 0; i < cfg.Runs && !remote; i++ {
			select {
			case jobs <- job{a, i}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(progress)
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if err := p.o.Err(); err != nil {
		return nil, fmt.Errorf("experiment: live evaluation: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	for a := range algos {
		as := aggregate(cfg.Algos[a], results[a], sum)
		as.Settings = p.settings(cfg.Algos[a], cfg)
		for _, d := range elapsed[a] {
			as.Elapsed += d.Seconds()
		}
		if p.lat != nil && len(results[a]) > 0 {
			as.Front = paretoFront(results[a][0].found, p.acc, p.lat)
		}
		sum.Algos = append(sum.Algos, as)
	}
	if p.lat != nil {
		sum.TrueFront = paretoFront(int32s(p.o.Pool()), p.acc, p.lat)
	}
	sum.Elapsed = time.Since(start).Seconds()
	if cfg.OutDir != "" {
		if err := Write(cfg.OutDir, sum); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// cmpErr keeps the first real error over cancellations it caused.
func cmpErr(old, err error) error {
	if old == nil || (strings.Contains(old.Error(), context.Canceled.Error()) && !strings.Contains(err.Error(), context.Canceled.Error())) {
		return err
	}
	return old
}

func int32s(v []int32) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// curveGrid is every query count up to 2,000, else 2,000 evenly spread.
func curveGrid(budget int) []int {
	const maxPts = 2000
	if budget <= maxPts {
		x := make([]int, budget)
		for i := range x {
			x[i] = i + 1
		}
		return x
	}
	x := make([]int, maxPts)
	for i := range x {
		x[i] = int(math.Ceil(float64(i+1) * float64(budget) / maxPts))
	}
	return x
}

// record extracts one run's results from its session.
func record(p *problem, s *search.Session, algo string, run int, sum *Summary) RunResult {
	r := RunResult{Algo: algo, Run: run, StrictAt: s.StrictAt, LooseAt: s.LooseAt, Queries: len(s.Queries), TimeToOpt: Float(nan)}
	if len(s.Time) > 0 {
		r.SimTime = s.Time[len(s.Time)-1]
		if s.StrictAt > 0 {
			r.TimeToOpt = Float(s.Time[s.StrictAt-1])
		}
	}
	for k := range r.curve {
		r.curve[k] = make([]float64, len(sum.CurveX))
	}
	bt, bo, bs := math.Inf(-1), math.Inf(-1), nan
	best := -1
	g, c := 0, 0
	T, R := p.o.Target, p.o.Report
	snap := func(n int) {
		for ; g < len(sum.CurveX) && sum.CurveX[g] <= n; g++ {
			r.curve[0][g], r.curve[1][g], r.curve[2][g] = bt, bo, bs
		}
		for ; c < len(sum.Checkpoints) && sum.Checkpoints[c] <= n; c++ {
			r.AtTarget = append(r.AtTarget, Float(bt))
			r.AtOracle = append(r.AtOracle, Float(bo))
			r.AtSelected = append(r.AtSelected, Float(bs))
		}
	}
	for q, i := range s.Queries {
		if T[i] > bt {
			bt, bs, best = T[i], R[i], i
		}
		if R[i] > bo {
			bo = R[i]
		}
		snap(q + 1)
	}
	snap(math.MaxInt) // runs that stopped early hold their last values
	r.FinalIndex, r.FinalTarget, r.FinalReport = best, Float(bt), Float(bs)
	if run == 0 {
		r.found = slices.Clone(s.Queries)
	}
	return r
}

// prepareLive sets up an NB201 search whose oracle trains on demand.
func prepareLive(cfg *Config) (*problem, error) {
	if cfg.Bench != index.NB201 && cfg.LiveSpace == nil {
		return nil, fmt.Errorf("%w: live search is implemented for %s cells (and spaces given as LiveSpace), not %q", ErrConfig, index.NB201, cfg.Bench)
	}
	if cfg.Constraint != "" || cfg.Objective != "" {
		return nil, fmt.Errorf("%w: constraints and objectives need a latency table; not with live training", ErrConfig)
	}
	for _, a := range cfg.Algos {
		if strings.HasPrefix(a, "weaknas") {
			return nil, fmt.Errorf("%w: %s z-scores labels over the whole space, which live training does not have; use random, re, ls or bananas", ErrConfig, a)
		}
	}
	if sp := cfg.LiveSpace; sp != nil {
		var o *search.Oracle
		if ls, ok := sp.(interface {
			Oracle(search.Evaluator) *search.Oracle
		}); ok {
			o = ls.Oracle(cfg.Live)
		} else {
			o = search.NewLiveOracle(sp.Len(), cfg.Live)
		}
		return &problem{sp: sp, o: o, acc: o.Target}, nil
	}
	codes := make([]int, nb201.NumCells)
	for i := range codes {
		codes[i] = i
	}
	sp, err := search.NewNB201(codes)
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	o := search.NewLiveOracle(nb201.NumCells, cfg.Live)
	return &problem{sp: sp, o: o, acc: o.Target}, nil
}
