package experiment_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nbquery/nbquery/experiment"
	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/ingest/tfrecord"
	"github.com/nbquery/nbquery/internal/shared"
	"github.com/nbquery/nbquery/search"
	"github.com/nbquery/nbquery/space/nb101"
)

// The real 30,001-cell NB101 slice (one repeat of validation accuracy and
// training time at 108 epochs, no test accuracy), ingested once per test
// binary into its own temporary store (removed by TestMain).
var (
	nb101Once sync.Once
	nb101Dir  string
	nb101Err  error
)

func nb101Store(t testing.TB) *index.Store {
	t.Helper()
	p := shared.Path(t, "nb101_slices/nb101_tiga_30001_val_4-12-36-108.csv")
	nb101Once.Do(func() {
		nb101Dir, nb101Err = os.MkdirTemp("", "nbquery-experiment-nb101-")
		if nb101Err != nil {
			return
		}
		st, err := index.Open(nb101Dir)
		if err != nil {
			nb101Err = err
			return
		}
		defer st.Close()
		_, nb101Err = tfrecord.IngestNB101Partial(context.Background(), st, p, nil)
	})
	if nb101Err != nil {
		t.Fatal(nb101Err)
	}
	st, err := index.Open(nb101Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// nb101Opt is the argmax of valid@108 in the slice (FACTS.md).
const (
	nb101OptHash = "096f593e0f12d65f6220bf8565b764a9"
	nb101OptVal  = 0.949118614
)

func TestNB101Experiment(t *testing.T) {
	st := nb101Store(t)
	tab, err := st.NB101Table()
	if err != nil {
		t.Fatal(err)
	}
	h, _ := nb101.ParseHash(nb101OptHash)
	optRow, ok := tab.Row(h)
	if !ok {
		t.Fatal("optimum not in the slice")
	}
	cfg := experiment.Config{Bench: index.NB101, Report: "valid", Algos: []string{"weaknas", "random", "re", "ls"},
		Runs: 5, Budget: 200, Seed: 7}
	var out []*experiment.Summary
	for _, w := range []int{1, 2} {
		cfg.Workers = w
		s, err := experiment.Run(context.Background(), st, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	s := out[0]
	if s.SpaceSize != 30001 || s.ValidCells != 30001 {
		t.Fatalf("space %d, valid %d, want 30001", s.SpaceSize, s.ValidCells)
	}
	if !reflect.DeepEqual(s.Optimum, []int{optRow}) || s.OptimumValue != nb101OptVal || s.OptimumReport != nb101OptVal {
		t.Fatalf("optimum %v = %v (report %v), want [%d] = %v", s.Optimum, s.OptimumValue, s.OptimumReport, optRow, nb101OptVal)
	}
	if c := s.Config; c.Dataset != "cifar10" || c.Target != "valid" || c.HP != "108" || c.WeakNAS.Init != 100 {
		t.Fatalf("NB101 defaults: %+v", c)
	}
	// FACTS.md: mean val@108 over the slice 0.9104 (to 4 digits).
	if math.Abs(float64(s.ReportMean)-0.9104) > 1e-4 {
		t.Errorf("report mean %v, want 0.9104", s.ReportMean)
	}
	for a := range s.Algos {
		x, y := s.Algos[a], out[1].Algos[a]
		for r := range x.Results {
			rx, ry := x.Results[r], y.Results[r]
			if rx.StrictAt != ry.StrictAt || rx.FinalIndex != ry.FinalIndex || rx.SimTime != ry.SimTime {
				t.Fatalf("%s run %d differs between 1 and 2 workers: %+v vs %+v", x.Algo, r, rx, ry)
			}
		}
		if x.Runs != 5 || x.FinalReport <= s.ReportMean || x.FinalReport > nb101OptVal {
			t.Errorf("%s: %d runs, final valid %v (mean %v)", x.Algo, x.Runs, x.FinalReport, s.ReportMean)
		}
		// final_training_time@108 is ~1,000-5,000 s per cell.
		if x.SimTime < 200*500 || x.SimTime > 200*20000 {
			t.Errorf("%s: simulated time %v s for 200 queries", x.Algo, x.SimTime)
		}
		t.Logf("%s: final valid %.4f, strict found %d/5, RI %.2f%%", x.Algo, x.FinalReport, x.Strict.Found, x.RI)
	}
	// The model-based and local searches beat random search.
	if s.Algos[0].FinalReport <= s.Algos[1].FinalReport {
		t.Errorf("weaknas %v <= random %v", s.Algos[0].FinalReport, s.Algos[1].FinalReport)
	}
}

func TestNB101ExperimentErrors(t *testing.T) {
	st := nb101Store(t)
	base := experiment.Config{Bench: index.NB101, Report: "valid", Algos: []string{"random"}, Runs: 1, Budget: 10}
	for _, test := range []struct {
		name string
		edit func(*experiment.Config)
		want error
	}{
		{"no test accuracy in the slice", func(c *experiment.Config) { c.Report = "" }, index.ErrUnavailable},
		{"unknown split", func(c *experiment.Config) { c.Target = "x-valid" }, experiment.ErrConfig},
		{"dataset", func(c *experiment.Config) { c.Dataset = "cifar100" }, experiment.ErrConfig},
		{"epochs", func(c *experiment.Config) { c.HP = "200" }, experiment.ErrConfig},
		{"constraint", func(c *experiment.Config) { c.Constraint = "latency:pixel3<=5ms" }, experiment.ErrConfig},
		{"objective", func(c *experiment.Config) { c.Objective = "acc - 0.07*log(latency:pixel3)" }, experiment.ErrConfig},
		{"budget", func(c *experiment.Config) { c.Budget, c.Count = 30002, search.CountDistinct }, experiment.ErrConfig},
	} {
		t.Run(test.name, func(t *testing.T) {
			cfg := base
			test.edit(&cfg)
			_, err := experiment.Run(context.Background(), st, cfg, nil)
			if !errors.Is(err, test.want) {
				t.Fatalf("error %v, want %v", err, test.want)
			}
		})
	}
}

// TestLongNB101Experiment (NBQUERY_LONG=1) runs the README's NB101 setting
// on the slice: 20 runs of 1,000 queries (NBQUERY_RUNS, NBQUERY_BUDGET,
// NBQUERY_ALGOS change it; NBQUERY_WEAKNAS sets WeakNAS fields as JSON).
func TestLongNB101Experiment(t *testing.T) {
	if os.Getenv("NBQUERY_LONG") != "1" {
		t.Skip("set NBQUERY_LONG=1")
	}
	cfg := experiment.Config{Bench: index.NB101, Report: "valid", Algos: []string{"weaknas", "random", "re", "ls"},
		Runs: 20, Budget: 1000, Seed: 2021}
	if a := os.Getenv("NBQUERY_ALGOS"); a != "" {
		cfg.Algos = strings.Split(a, ",")
	}
	if n, err := strconv.Atoi(os.Getenv("NBQUERY_RUNS")); err == nil {
		cfg.Runs = n
	}
	if n, err := strconv.Atoi(os.Getenv("NBQUERY_BUDGET")); err == nil {
		cfg.Budget = n
	}
	if w := os.Getenv("NBQUERY_WEAKNAS"); w != "" { // a weaknas.Config as JSON, e.g. an earlier default
		if err := json.Unmarshal([]byte(w), &cfg.WeakNAS); err != nil {
			t.Fatalf("NBQUERY_WEAKNAS: %v", err)
		}
	}
	st := nb101Store(t)
	start := time.Now()
	s, err := experiment.Run(context.Background(), st, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	experiment.PrintSummary(&b, s)
	t.Logf("experiment wall time %v\n%s", time.Since(start), b.String())
}
