//go:build !nbquery_light

package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nbquery/nbquery/catalog"
	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/darts"
	"github.com/nbquery/nbquery/train"
)

// dartsTrain holds the flags of train darts.
type dartsTrain struct {
	genotypes  []string
	fromSearch string
	random     int
	randomSeed uint64
	seeds      int
	randSeeds  int // seeds per random genotype (0 = seeds)
	layers     int
	aux, drop  float64
	cutout     int
	size       int
	maxTest    int
}

func addTrainDARTSFlags(f *pflag.FlagSet, d *dartsTrain) {
	f.StringArrayVar(&d.genotypes, "genotype", nil, "darts: a genotype (published form, or DARTS_V1, DARTS_V2); repeatable")
	f.StringVar(&d.fromSearch, "from-search", "", "darts: also train the argmax and DARTS-PT genotypes of this search directory (search.json)")
	f.IntVar(&d.random, "random", 0, "darts: also train this many uniformly random genotypes (the RI baseline)")
	f.Uint64Var(&d.randomSeed, "random-seed", 0, "darts: seed of the random genotypes")
	f.IntVar(&d.seeds, "seeds", 1, "darts: training seeds per genotype (--seed, --seed+1, ...)")
	f.IntVar(&d.randSeeds, "random-seeds", 0, "darts: training seeds per random genotype (0 = --seeds)")
	f.IntVar(&d.layers, "layers", 8, "darts: cells (DARTS evaluates at 20; its search depth is 8)")
	f.Float64Var(&d.aux, "aux-weight", 0, "darts: auxiliary head loss weight (DARTS 0.4; 0 = no head)")
	f.Float64Var(&d.drop, "drop-path", 0, "darts: drop-path probability reached at the last epoch (DARTS 0.2; 0 = off)")
	f.IntVar(&d.cutout, "cutout", 0, "darts: cutout side in pixels (DARTS 16 at 32x32; 0 = off)")
	f.IntVar(&d.size, "size", 0, "darts: input side after zero-padding and box-averaging (0 = native)")
	f.IntVar(&d.maxTest, "max-test", 0, "darts: evaluate on at most this many test images (0 = all)")
}

// dartsEntry is one genotype to train.
type dartsEntry struct {
	Label, Genotype string
	Random          bool
}

// dartsRow is one genotype's outcome over seeds.
type dartsRow struct {
	Label    string    `json:"label"`
	Genotype string    `json:"genotype"`
	Random   bool      `json:"random"`
	Test     []float64 `json:"test-accuracy"` // per seed
	Mean     float64   `json:"mean"`
	Std      float64   `json:"std"`          // sample std over seeds (0 for one seed)
	RI       *float64  `json:"ri,omitempty"` // 100·(mean − random mean)/random mean; absent without random genotypes
	Seconds  float64   `json:"train-seconds"`
}

func (d dartsTrain) entries() ([]dartsEntry, error) {
	var out []dartsEntry
	for i, s := range d.genotypes {
		label := fmt.Sprintf("g%d", i+1)
		switch s {
		case "DARTS_V1":
			s, label = darts.DARTSV1, "DARTS_V1"
		case "DARTS_V2":
			s, label = darts.DARTSV2, "DARTS_V2"
		}
		g, err := darts.Parse(s)
		if err != nil {
			return nil, usageError{err}
		}
		out = append(out, dartsEntry{Label: label, Genotype: g.String()})
	}
	if d.fromSearch != "" {
		b, err := os.ReadFile(filepath.Join(d.fromSearch, "search.json"))
		if err != nil {
			return nil, fmt.Errorf("train darts: --from-search: %w", err)
		}
		var r train.SearchResult
		if err := json.Unmarshal(b, &r); err != nil || r.Argmax == "" {
			return nil, fmt.Errorf("train darts: %s/search.json: not a finished search (%v)", d.fromSearch, err)
		}
		out = append(out, dartsEntry{Label: "argmax", Genotype: r.Argmax})
		if r.PT != "" {
			out = append(out, dartsEntry{Label: "pt", Genotype: r.PT})
		}
	}
	rng := rand.New(rand.NewPCG(d.randomSeed, 0xda77))
	for i := range d.random {
		out = append(out, dartsEntry{Label: fmt.Sprintf("random%d", i+1), Genotype: darts.Random(rng).String(), Random: true})
	}
	if len(out) == 0 {
		return nil, usagef("train darts: give --genotype, --from-search or --random")
	}
	return out, nil
}

// protocol names the training protocol in the store's dataset field, so
// runs under different protocols never share a key.
func (d dartsTrain) protocol(cfg train.Config) string {
	p := fmt.Sprintf("%s:C%d:L%d", cfg.Dataset, cfg.C, d.layers)
	if d.size > 0 {
		p += fmt.Sprintf(":%dpx", d.size)
	}
	if cfg.MaxTrain > 0 {
		p += fmt.Sprintf(":n%d", cfg.MaxTrain)
	}
	if d.aux > 0 {
		p += fmt.Sprintf(":aux%g", d.aux)
	}
	if d.drop > 0 {
		p += fmt.Sprintf(":dp%g", d.drop)
	}
	if d.cutout > 0 {
		p += fmt.Sprintf(":cutout%d", d.cutout)
	}
	return p
}

func runTrainDARTS(cmd *cobra.Command, opts *globalOptions, cfg train.Config, d dartsTrain, noStore bool, w io.Writer) error {
	if cfg.DataDir == "" || cfg.OutDir == "" {
		return usagef("train darts: --data and --out are required")
	}
	if d.seeds < 1 {
		return usagef("train darts: --seeds %d", d.seeds)
	}
	// DARTS' evaluation hyper-parameters (train.py) where not given.
	ch := cmd.Flags().Changed
	if !ch("lr") {
		cfg.LR = 0.025
	}
	if !ch("weight-decay") {
		cfg.WeightDecay = 3e-4
	}
	if !ch("nesterov") {
		cfg.Nesterov = false
	}
	if !ch("batch") {
		cfg.Batch = 96
	}
	if !ch("c") {
		cfg.C = 16
	}
	cfg.ClipNorm = 5
	cfg.Space, cfg.Layers, cfg.AuxWeight, cfg.DropPath, cfg.Resize, cfg.MaxTest = "darts", d.layers, d.aux, d.drop, d.size, d.maxTest
	cfg.Augment = &train.Augment{Cutout: d.cutout}
	entries, err := d.entries()
	if err != nil {
		return err
	}
	var st *index.Store
	if !noStore {
		if st, err = index.Open(opts.storeDir()); err != nil {
			return err
		}
		defer st.Close()
	}
	dataset := d.protocol(cfg)
	var rows []dartsRow
	base, outDir := cfg.Seed, cfg.OutDir
	for _, e := range entries {
		row := dartsRow{Label: e.Label, Genotype: e.Genotype, Random: e.Random}
		seeds := d.seeds
		if e.Random && d.randSeeds > 0 {
			seeds = d.randSeeds
		}
		for s := range seeds {
			c := cfg
			c.Arch, c.Seed = e.Genotype, base+uint64(s)
			c.OutDir = filepath.Join(outDir, fmt.Sprintf("%s-seed%d", e.Label, c.Seed))
			res, err := trainOnce(cmd, opts, c)
			if err != nil {
				if errors.Is(err, train.ErrConfig) {
					return usageError{err}
				}
				return fmt.Errorf("train darts: %s seed %d: %w", e.Label, c.Seed, err)
			}
			if st != nil {
				lr := index.LiveResult{Bench: "darts", Arch: e.Genotype, Dataset: dataset, Epochs: c.Epochs,
					Seed: c.Seed, Metrics: res.Metrics(), Config: res.ConfigHash}
				if err := catalog.For(st).PutLive(lr); err != nil {
					return err
				}
			}
			row.Test = append(row.Test, res.TestAccuracy)
			row.Seconds += res.TrainAllTime
			fmt.Fprintf(opts.stderr, "%s seed %d: test %.2f%% (%s)\n", e.Label, c.Seed, res.TestAccuracy, c.OutDir)
		}
		row.Mean, row.Std = meanStd(row.Test)
		rows = append(rows, row)
	}
	var rnd []float64
	for _, r := range rows {
		if r.Random {
			rnd = append(rnd, r.Mean)
		}
	}
	rm, rs := meanStd(rnd)
	if len(rnd) > 0 {
		for i := range rows {
			ri := 100 * (rows[i].Mean - rm) / rm
			rows[i].RI = &ri
		}
	}
	if opts.structured() {
		out := struct {
			Protocol   string     `json:"protocol"`
			Epochs     int        `json:"epochs"`
			Rows       []dartsRow `json:"rows"`
			RandomMean *float64   `json:"random-mean,omitempty"`
			RandomStd  *float64   `json:"random-std,omitempty"`
		}{Protocol: dataset, Epochs: cfg.Epochs, Rows: rows}
		if len(rnd) > 0 {
			out.RandomMean, out.RandomStd = &rm, &rs
		}
		return writeJSONValue(w, out)
	}
	fmt.Fprintf(w, "protocol %s, %d epochs, seeds from %d (%d per genotype, %d per random one); test accuracy mean ± std over seeds\n",
		dataset, cfg.Epochs, base, d.seeds, cmp.Or(d.randSeeds, d.seeds))
	for _, r := range rows {
		ri := "-"
		if r.RI != nil {
			ri = fmt.Sprintf("%+.2f", *r.RI)
		}
		fmt.Fprintf(w, "%-9s %6.2f ± %5.2f  RI %7s  %s\n", r.Label, r.Mean, r.Std, ri, r.Genotype)
	}
	if len(rnd) > 0 {
		fmt.Fprintf(w, "random genotypes: %d, mean %.2f ± %.2f (std over genotypes); RI = 100·(mean − random mean)/random mean\n", len(rnd), rm, rs)
	}
	return nil
}

// trainOnce trains (or resumes) one run, or reads it back when finished.
func trainOnce(cmd *cobra.Command, opts *globalOptions, c train.Config) (train.Result, error) {
	if b, err := os.ReadFile(filepath.Join(c.OutDir, "result.json")); err == nil {
		var r train.Result
		if json.Unmarshal(b, &r) == nil && r.Completed && r.ConfigHash == c.Hash() {
			return r, nil
		}
	}
	c.Resume, c.ResumeOrStart = false, true
	return train.Run(cmd.Context(), c, opts.progress())
}

func meanStd(x []float64) (mean, std float64) {
	if len(x) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if len(x) > 1 {
		for _, v := range x {
			std += (v - mean) * (v - mean)
		}
		std = math.Sqrt(std / float64(len(x)-1))
	}
	return mean, std
}
