package experiment_test

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nbquery/nbquery/experiment"
	"github.com/nbquery/nbquery/search"
	"github.com/nbquery/nbquery/weaknas"
)

// TestLongExperiment runs a full experiment (NBQUERY_LONG=1): by default
// 100 WeakNAS runs of 1,000 queries with the fast default predictor.
// NBQUERY_ALGOS (comma-separated), NBQUERY_RUNS, NBQUERY_BUDGET,
// NBQUERY_PREDICTOR, NBQUERY_COUNT (all, distinct, isomorph), NBQUERY_EI_BEST=1 (the
// corrected EI threshold) and NBQUERY_OUT (output
// directory) change it. Measure the whole process with
//
//	go test -c -o /tmp/exp.test ./experiment
//	NBQUERY_LONG=1 /usr/bin/time -v /tmp/exp.test -test.run TestLongExperiment -test.v
func TestLongExperiment(t *testing.T) {
	if os.Getenv("NBQUERY_LONG") != "1" {
		t.Skip("set NBQUERY_LONG=1")
	}
	cfg := experiment.Config{Algos: []string{"weaknas"}, Runs: 100, Budget: 1000, Seed: 2021,
		Predictor: os.Getenv("NBQUERY_PREDICTOR"), OutDir: os.Getenv("NBQUERY_OUT")}
	if c := os.Getenv("NBQUERY_COUNT"); c != "" {
		var err error
		if cfg.Count, err = search.ParseCount(c); err != nil {
			t.Fatal(err)
		}
	}
	if os.Getenv("NBQUERY_EI_BEST") == "1" {
		cfg.WeakNAS.Threshold = weaknas.Best
	}
	if a := os.Getenv("NBQUERY_ALGOS"); a != "" {
		cfg.Algos = strings.Split(a, ",")
	}
	if n, err := strconv.Atoi(os.Getenv("NBQUERY_RUNS")); err == nil {
		cfg.Runs = n
	}
	if n, err := strconv.Atoi(os.Getenv("NBQUERY_BUDGET")); err == nil {
		cfg.Budget = n
	}
	st := testStore(t)
	start := time.Now()
	s, err := experiment.Run(context.Background(), st, cfg, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	experiment.PrintSummary(&b, s)
	t.Logf("experiment wall time %v\n%s", time.Since(start), b.String())
}
