package experiment

import (
	"fmt"
	"math/rand/v2"
	"runtime"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/search"
	"github.com/nbquery/nbquery/weaknas"
)

// DefaultPredictor is the weak predictor used when Config.Predictor is
// empty: weaknas.NewFast, fast enough for 100 WeakNAS runs of 1,000 queries
// within a minute on 2 cores. Any predictors registry name may be given
// instead (e.g. "mlp-paper" for the paper's 4x1000 MLP).
const DefaultPredictor = "fast"

// Algorithms lists the algorithm names Config.Algos accepts.
var Algorithms = []string{"weaknas", "weaknas-paper", "weaknas-ei", "random", "re", "ls", "ls-first", "bananas"}

// Checkpoints are the query counts at which the summary reports best-so-far
// values (those within the budget).
var Checkpoints = []int{10, 50, 100, 200, 500, 1000}

// Config is one experiment.
type Config struct {
	Bench   string // benchmark (index.NB201 or index.NB101)
	Dataset string // "cifar10-valid" (NB101: "cifar10")
	Target  string // split searched on (maximised): "x-valid" / "valid" (NB101: valid, test, train)
	Report  string // split reported: "ori-test" / "test"
	HP      string // training schedule: "200" (NB101: epochs 4, 12, 36 or "108")
	Algos   []string
	Runs    int    // runs per algorithm (100)
	Budget  int    // queries per run (1000)
	Seed    uint64 // run i of every algorithm uses rand.NewPCG(Seed, i)
	OutDir  string // where to write CSV/JSON/PNG/SVG; "" writes nothing
	// Predictor is a predictors registry name for WeakNAS (and the members
	// of its EI ensemble); "" is DefaultPredictor.
	Predictor  string
	Constraint string // e.g. "latency:pixel3<=5ms"
	Objective  string // e.g. "acc - 0.07*log(latency:pixel3)"
	// Count is the counting rule: which queries cost a sample. The zero
	// value, search.CountAll, charges every query as the papers' code does.
	Count   search.Count `json:"count"`
	Workers int          `json:"workers"` // parallel runs; 0 = GOMAXPROCS
	// StopAtOptimum ends each run when it queries the optimum (strict). The
	// samples-to-optimum figures (found, KM median, restricted mean, the
	// looser count when it came first) are those of a full run, since a
	// search never looks ahead; the final regret of a found run is 0 either
	// way; the best-so-far report curves hold their value from that query on.
	// It saves the cost of the remaining queries (most of a run with the
	// paper's MLP, whose refits grow with the sample).
	StopAtOptimum bool `json:"stop_at_optimum,omitempty"`
	// Live, if set, answers queries by training instead of reading a table
	// (a space with no table): NB201 cells numbered by their nb201 code,
	// each evaluated once and shared by all runs. Random, re, ls and
	// bananas can run on it; WeakNAS needs the labels of the whole space.
	Live search.Evaluator `json:"-"`
	// LiveSpace, if set with Live, is the space searched instead of NB201
	// (Bench names it; search.DARTS for darts): an Oracle(Evaluator) method
	// gives its live oracle, else NewLiveOracle over all its indices.
	LiveSpace search.Space       `json:"-"`
	WeakNAS   weaknas.Config     // WeakNAS settings (Factory is set from Predictor)
	RE        search.Evolution   `json:"re"`
	LS        search.LocalSearch `json:"ls"`      // FirstImprovement is set by the name ls / ls-first
	Bananas   BananasConfig      `json:"bananas"` // BANANAS settings
	// RunSeeds describes the seeding (filled in by Run): run i of every
	// algorithm draws from rand.NewPCG(Seed, i), see RunRNG.
	RunSeeds string `json:"run_seeds"`
	// FirstRun numbers the runs FirstRun .. FirstRun+Runs-1 (their seeds
	// too): one run of a larger experiment, executed as a Slurm task.
	FirstRun int `json:"first_run,omitempty"`
	// Runner, if set, executes the runs elsewhere (see remote.go); Trace,
	// if set, is called after each run executed here, from any goroutine.
	Runner Runner         `json:"-"`
	Trace  func(RunTrace) `json:"-"`
}

// BananasConfig is the BANANAS setting; zero fields take naszilla's
// defaults (search.Bananas).
type BananasConfig struct {
	Encoding   string `json:"encoding"`   // "path" (default, the paper's) or "onehot" (the space's WeakNAS encoding)
	Members    int    `json:"ensemble"`   // ensemble size (5)
	Init       int    `json:"init"`       // initial random cells (10)
	K          int    `json:"k"`          // queries per iteration (10)
	Parents    int    `json:"parents"`    // best cells mutated into candidates (10)
	Candidates int    `json:"candidates"` // candidates per iteration (100)
}

func (b BananasConfig) withDefaults() BananasConfig {
	if b.Encoding == "" {
		b.Encoding = "path"
	}
	d := search.Bananas{Members: b.Members, Init: b.Init, K: b.K, Parents: b.Parents, Candidates: b.Candidates}.WithDefaults()
	b.Members, b.Init, b.K, b.Parents, b.Candidates = d.Members, d.Init, d.K, d.Parents, d.Candidates
	return b
}

// RunRNG is the random source of run i of an experiment with seed seed, the
// same for every algorithm and whatever runs on which worker or machine:
// rand.New(rand.NewPCG(seed, i)).
func RunRNG(seed uint64, run int) *rand.Rand { return rand.New(rand.NewPCG(seed, uint64(run))) }

func (c *Config) defaults() {
	if c.Bench == "" {
		c.Bench = index.NB201
	}
	if c.Bench == index.NB101 {
		// WEAKNAS.md §1.2: the README's NB101 runs search valid@108 and
		// report test@108, with 100 initial samples.
		if c.Dataset == "" {
			c.Dataset = nb101Dataset
		}
		if c.Target == "" {
			c.Target = "valid"
		}
		if c.Report == "" {
			c.Report = "test"
		}
		if c.HP == "" {
			c.HP = "108"
		}
		if c.WeakNAS.Init == 0 {
			c.WeakNAS.Init = weaknas.NB101Init
		}
	}
	if c.Dataset == "" {
		c.Dataset = "cifar10-valid"
	}
	if c.Target == "" {
		c.Target = index.SetXValid
	}
	if c.Report == "" {
		c.Report = index.SetOriTest
	}
	if c.HP == "" {
		c.HP = "200"
	}
	if len(c.Algos) == 0 {
		c.Algos = []string{"weaknas", "random"}
	}
	if c.Runs == 0 {
		c.Runs = 100
	}
	if c.Budget == 0 {
		c.Budget = 1000
	}
	if c.Predictor == "" {
		c.Predictor = DefaultPredictor
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	// Record the real values of every setting, not zeros.
	c.RE = c.RE.WithDefaults()
	c.Bananas = c.Bananas.withDefaults()
	// WeakNAS's defaults depend on the variant (weaknas, weaknas-paper,
	// weaknas-ei): Config.WeakNAS keeps what was asked for (zero = the
	// variant's default) and AlgoSummary.Settings records what ran.
	c.RunSeeds = fmt.Sprintf("run i of every algorithm: rand.NewPCG(%d, i), i = 0..%d", c.Seed, c.Runs-1)
}

// Stat summarises samples-to-optimum over runs. Runs that did not find
// the optimum are right-censored at the queries they made (the budget, or
// fewer if the algorithm stopped early); the headline statistics are the
// found fraction with its Wilson interval, the Kaplan–Meier quantiles and
// the restricted mean up to Tau. FoundMean, FoundMedian and FoundStd are
// over the runs that found the optimum only: biased low whenever some runs
// did not, and not comparable between algorithms with different found
// fractions. NaN (JSON null) marks what does not exist: a quantile that the
// KM curve never reaches ("not reached"), a found-only mean without finds.
type Stat struct {
	Runs   int   `json:"runs"`
	Found  int   `json:"found"`
	Frac   Float `json:"frac"` // found within the budget
	FracLo Float `json:"frac_ci95_lo"`
	FracHi Float `json:"frac_ci95_hi"` // Wilson 95% interval
	// Kaplan–Meier quartiles of samples-to-optimum with Brookmeyer–Crowley
	// 95% intervals.
	Q25    Quantile `json:"km_q25"`
	Median Quantile `json:"km_median"`
	Q75    Quantile `json:"km_q75"`
	// Restricted mean E[min(T, Tau)] with its 95% interval (clipped to
	// [1, Tau]); Tau is the largest number of queries of a run (the budget).
	Tau     int   `json:"tau"`
	RMean   Float `json:"rmean"`
	RMeanLo Float `json:"rmean_ci95_lo"`
	RMeanHi Float `json:"rmean_ci95_hi"`
	// Found runs only (secondary).
	FoundMean   Float `json:"found_mean"`
	FoundMedian Float `json:"found_median"`
	FoundStd    Float `json:"found_std"` // sample std (ddof 1)

	km *KM
}

// KM returns the Kaplan–Meier estimate behind the statistics (nil for a
// Stat decoded from JSON).
func (s Stat) KM() *KM { return s.km }

// Quantile is a Kaplan–Meier quantile with its 95% interval; NaN (null) is
// "not reached".
type Quantile struct {
	Value Float `json:"value"`
	Lo    Float `json:"ci95_lo"`
	Hi    Float `json:"ci95_hi"`
}

// RunResult is one run.
type RunResult struct {
	Algo     string `json:"algo"`
	Run      int    `json:"run"`
	StrictAt int    `json:"strict"` // queries until the optimum was queried; 0 = not within the budget
	LooseAt  int    `json:"loose"`  // also counting the predictor's top-1; 0 = not
	Queries  int    `json:"queries"`
	// The final pick: the queried cell with the best target.
	FinalIndex  int     `json:"final_index"`
	FinalTarget Float   `json:"final_target"`
	FinalReport Float   `json:"final_report"`
	SimTime     float64 `json:"sim_time_s"`       // simulated training seconds of all queries
	TimeToOpt   Float   `json:"time_to_opt_s"`    // ... until the optimum (null if not found)
	AtTarget    []Float `json:"best_target_at"`   // best-so-far target at the summary checkpoints
	AtOracle    []Float `json:"best_oracle_at"`   // max report over the queried cells
	AtSelected  []Float `json:"best_selected_at"` // report of the best-target queried cell

	curve [3][]float64 // target, oracle, selected at Summary.CurveX
	found []int        // queried cells (kept for run 0, for the Pareto front)
}

// AlgoSummary aggregates the runs of one algorithm.
type AlgoSummary struct {
	Algo string `json:"algo"`
	Runs int    `json:"runs"`
	// Settings is the setting the algorithm ran with, every default
	// resolved (for WeakNAS with the predictor's name).
	Settings any  `json:"settings"`
	Strict   Stat `json:"strict"`
	Loose    Stat `json:"loose"`
	// Mean over runs at each of Summary.Checkpoints.
	BestTarget   []Float `json:"best_target"`
	BestOracle   []Float `json:"best_oracle"`
	BestSelected []Float `json:"best_selected"`
	FinalRegret  Float   `json:"final_regret"` // mean over runs of the optimum's target - the best target found
	FinalReport  Float   `json:"final_report_mean"`
	FinalStd     Float   `json:"final_report_std"`
	RI           Float   `json:"ri_percent"` // 100*(FinalReport - ReportMean)/ReportMean
	SimTime      Float   `json:"sim_time_mean_s"`
	Elapsed      float64 `json:"elapsed_s"` // wall time of this algorithm's runs, summed over workers

	// Curves at Summary.CurveX: mean and std over runs.
	CurveMean [3][]float64 `json:"-"`
	CurveStd  [3][]float64 `json:"-"`
	Results   []RunResult  `json:"-"`
	Front     []Point      `json:"-"` // Pareto front found by run 0
}

// Point is one architecture on an accuracy-latency plane.
type Point struct {
	Index    int
	Accuracy float64
	Latency  float64
}

// Summary is the outcome of Run.
type Summary struct {
	Config        Config        `json:"config"`
	SpaceSize     int           `json:"space_size"`
	ValidCells    int           `json:"valid_cells"` // cells satisfying the constraint
	Optimum       []int         `json:"optimum"`     // tie set of the target's argmax
	OptimumValue  Float         `json:"optimum_value"`
	OptimumReport Float         `json:"optimum_report"`
	ReportMean    Float         `json:"report_mean"` // the average architecture (RI baseline)
	Checkpoints   []int         `json:"checkpoints"`
	Algos         []AlgoSummary `json:"algos"`
	Elapsed       float64       `json:"elapsed_s"`
	CurveX        []int         `json:"-"`
	TrueFront     []Point       `json:"-"`
	Device        string        `json:"device,omitempty"` // latency metric of the fronts
}
