package experiment

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"

	"github.com/nbquery/nbquery/search"
)

// ff formats a CSV number; NaN and ±Inf are an empty cell.
func ff[F ~float64](v F) string {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return ""
	}
	return strconv.FormatFloat(f, 'g', 10, 64)
}

// countHelp explains a counting rule in a table header.
var countHelp = map[search.Count]string{
	search.CountAll:      "every query costs one sample, repeats included",
	search.CountDistinct: "a repeated cell is free",
	search.CountIsomorph: "a cell isomorphic to a queried one is free; isomorphs of the optimum count as the optimum",
}

// PrintSummary writes the summary table: per algorithm the fraction of
// runs that found the optimum within the budget (Wilson 95% interval), the
// Kaplan–Meier median of samples-to-optimum and the restricted mean (runs
// that did not find it censored at the budget), the final regret and the
// relative improvement; then WeakNAS's looser count where it differs, and
// best-so-far values at the checkpoints.
func PrintSummary(w io.Writer, s *Summary) error {
	cfg := s.Config
	fmt.Fprintf(w, "%s %s: search %s, report %s, hp %s; %d of %d cells valid\n",
		cfg.Bench, cfg.Dataset, cfg.Target, cfg.Report, cfg.HP, s.ValidCells, s.SpaceSize)
	fmt.Fprintf(w, "%d runs x %d queries; counting rule %q (%s); %s\n",
		cfg.Runs, cfg.Budget, cfg.Count.String(), countHelp[cfg.Count], cfg.RunSeeds)
	if cfg.StopAtOptimum {
		fmt.Fprintln(w, "each run stopped at its first query of the optimum (--stop-at-optimum): samples-to-optimum as in full runs")
	}
	if len(s.Optimum) == 0 {
		fmt.Fprintln(w, "optimum unknown: labels come from live training, not a table (samples-to-optimum not counted)")
	} else {
		fmt.Fprintf(w, "optimum %v: target %.4f, report %.4f; average architecture report %.4f\n",
			s.Optimum, s.OptimumValue, s.OptimumReport, s.ReportMean)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "algo\tfound [95% CI]\tmedian queries [95% CI]\tmean queries, restricted [95% CI]\tfinal regret\tRI %\ttime s\t\n")
	for _, a := range s.Algos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t\n", a.Algo, fracCI(a.Strict), medianCI(a.Strict), rmeanCI(a.Strict),
			num(a.FinalRegret, 3), num(a.RI, 2), a.Elapsed)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "found: runs that queried an optimal cell within %d queries. median: Kaplan-Meier, runs that did not find it\n"+
		"censored (>%d: fewer than half found it). restricted mean: mean of min(queries to optimum, %d).\n"+
		"final regret: optimum target - best target found, mean over runs. RI: final report vs the average architecture.\n",
		cfg.Budget, cfg.Budget, cfg.Budget)
	loose := false
	for _, a := range s.Algos {
		loose = loose || a.Loose.Found != a.Strict.Found || a.Loose.RMean != a.Strict.RMean
	}
	if loose {
		fmt.Fprintln(w, "looser count (WeakNAS authors': queried, or the predictor's top-1):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprint(tw, "algo\tfound [95% CI]\tmedian queries [95% CI]\tmean queries, restricted [95% CI]\t\n")
		for _, a := range s.Algos {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", a.Algo, fracCI(a.Loose), medianCI(a.Loose), rmeanCI(a.Loose))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(s.Checkpoints) == 0 {
		return nil
	}
	fmt.Fprintln(w, "best-so-far target / test-oracle report / val-selected report (mean over runs):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "algo\t")
	for _, c := range s.Checkpoints {
		fmt.Fprintf(tw, "@%d\t", c)
	}
	fmt.Fprint(tw, "\n")
	for _, a := range s.Algos {
		fmt.Fprintf(tw, "%s\t", a.Algo)
		for k := range s.Checkpoints {
			fmt.Fprintf(tw, "%.2f/%.2f/%.2f\t", a.BestTarget[k], a.BestOracle[k], a.BestSelected[k])
		}
		fmt.Fprint(tw, "\n")
	}
	return tw.Flush()
}

func isNaN(v Float) bool { return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) }

func num(v Float, prec int) string {
	if isNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(float64(v), 'f', prec, 64)
}

func fracCI(st Stat) string {
	if isNaN(st.Frac) {
		return "-"
	}
	return fmt.Sprintf("%.0f%% [%.0f, %.0f]", 100*st.Frac, 100*st.FracLo, 100*st.FracHi)
}

// bound prints a KM quantile or limit: ">tau" where not reached.
func bound(v Float, tau int) string {
	if isNaN(v) {
		return fmt.Sprintf(">%d", tau)
	}
	return num(v, 0)
}

func medianCI(st Stat) string {
	if st.Runs == 0 {
		return "-"
	}
	m := st.Median
	return fmt.Sprintf("%s [%s, %s]", bound(m.Value, st.Tau), bound(m.Lo, st.Tau), bound(m.Hi, st.Tau))
}

func rmeanCI(st Stat) string {
	if isNaN(st.RMean) {
		return "-"
	}
	return fmt.Sprintf("%.0f [%.0f, %.0f]", st.RMean, st.RMeanLo, st.RMeanHi)
}

// Write writes into dir: summary.{json,csv}, runs.{json,csv}, curves.csv,
// km.csv, the plots (writePlots: regret, found, curve_report and pareto,
// each PNG and SVG) and with a latency metric pareto.csv.
func Write(dir string, s *Summary) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("experiment: output: %w", err)
	}
	var runs []RunResult
	for _, a := range s.Algos {
		runs = append(runs, a.Results...)
	}
	steps := []func() error{
		func() error { return writeJSON(filepath.Join(dir, "summary.json"), s) },
		func() error { return writeJSON(filepath.Join(dir, "runs.json"), runs) },
		func() error { return writeCSV(filepath.Join(dir, "summary.csv"), summaryRows(s)) },
		func() error { return writeCSV(filepath.Join(dir, "runs.csv"), runRows(s, runs)) },
		func() error { return writeCSV(filepath.Join(dir, "curves.csv"), curveRows(s)) },
		func() error { return writeCSV(filepath.Join(dir, "km.csv"), kmRows(s)) },
		func() error { return writePlots(dir, s) },
	}
	if s.TrueFront != nil {
		steps = append(steps, func() error { return writeCSV(filepath.Join(dir, "pareto.csv"), paretoRows(s)) })
	}
	for _, f := range steps {
		if err := f(); err != nil {
			return fmt.Errorf("experiment: output: %w", err)
		}
	}
	return nil
}

// writeJSON writes v indented; Float fields encode NaN as null.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func writeCSV(path string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// statCols returns the column names (with prefix) and values of a Stat.
func statCols(prefix string, st Stat) (names, vals []string) {
	add := func(n, v string) {
		names = append(names, prefix+n)
		vals = append(vals, v)
	}
	add("found", strconv.Itoa(st.Found))
	add("frac", ff(st.Frac))
	add("frac_ci_lo", ff(st.FracLo))
	add("frac_ci_hi", ff(st.FracHi))
	for _, q := range []struct {
		n string
		q Quantile
	}{{"km_median", st.Median}, {"km_q25", st.Q25}, {"km_q75", st.Q75}} {
		add(q.n, ff(q.q.Value))
		add(q.n+"_ci_lo", ff(q.q.Lo))
		add(q.n+"_ci_hi", ff(q.q.Hi))
	}
	add("rmean", ff(st.RMean))
	add("rmean_ci_lo", ff(st.RMeanLo))
	add("rmean_ci_hi", ff(st.RMeanHi))
	add("found_mean", ff(st.FoundMean))
	add("found_median", ff(st.FoundMedian))
	add("found_std", ff(st.FoundStd))
	return names, vals
}

// summaryRows is summary.csv: one row per algorithm; an empty cell is a
// value that does not exist (a KM quantile not reached within the budget).
func summaryRows(s *Summary) [][]string {
	head := []string{"algo", "runs", "budget", "count", "seed"}
	rows := [][]string{nil}
	for _, a := range s.Algos {
		r := []string{a.Algo, strconv.Itoa(a.Runs), strconv.Itoa(s.Config.Budget), s.Config.Count.String(), strconv.FormatUint(s.Config.Seed, 10)}
		sn, sv := statCols("strict_", a.Strict)
		ln, lv := statCols("loose_", a.Loose)
		r = append(append(r, sv...), lv...)
		if len(rows) == 1 {
			head = append(append(head, sn...), ln...)
			head = append(head, "final_regret", "final_report_mean", "final_report_std", "report_mean_space", "ri_percent", "sim_time_mean_s", "elapsed_s")
			for _, c := range s.Checkpoints {
				head = append(head, fmt.Sprintf("target@%d", c), fmt.Sprintf("oracle@%d", c), fmt.Sprintf("selected@%d", c))
			}
		}
		r = append(r, ff(a.FinalRegret), ff(a.FinalReport), ff(a.FinalStd), ff(s.ReportMean), ff(a.RI), ff(a.SimTime), ff(a.Elapsed))
		for k := range s.Checkpoints {
			r = append(r, ff(a.BestTarget[k]), ff(a.BestOracle[k]), ff(a.BestSelected[k]))
		}
		rows = append(rows, r)
	}
	rows[0] = head
	return rows
}

func runRows(s *Summary, runs []RunResult) [][]string {
	head := []string{"algo", "run", "strict", "loose", "queries", "final_index", "final_target", "final_report", "sim_time_s", "time_to_opt_s"}
	for _, c := range s.Checkpoints {
		head = append(head, fmt.Sprintf("target@%d", c), fmt.Sprintf("oracle@%d", c), fmt.Sprintf("selected@%d", c))
	}
	rows := [][]string{head}
	for _, r := range runs {
		row := []string{r.Algo, strconv.Itoa(r.Run), strconv.Itoa(r.StrictAt), strconv.Itoa(r.LooseAt), strconv.Itoa(r.Queries),
			strconv.Itoa(r.FinalIndex), ff(r.FinalTarget), ff(r.FinalReport), ff(r.SimTime), ff(r.TimeToOpt)}
		for k := range r.AtTarget {
			row = append(row, ff(r.AtTarget[k]), ff(r.AtOracle[k]), ff(r.AtSelected[k]))
		}
		rows = append(rows, row)
	}
	return rows
}

func curveRows(s *Summary) [][]string {
	rows := [][]string{{"algo", "queries", "target_mean", "target_std", "oracle_mean", "oracle_std", "selected_mean", "selected_std"}}
	for _, a := range s.Algos {
		for g, x := range s.CurveX {
			rows = append(rows, []string{a.Algo, strconv.Itoa(x),
				ff(a.CurveMean[0][g]), ff(a.CurveStd[0][g]), ff(a.CurveMean[1][g]), ff(a.CurveStd[1][g]),
				ff(a.CurveMean[2][g]), ff(a.CurveStd[2][g])})
		}
	}
	return rows
}

// kmRows is km.csv: the strict Kaplan–Meier curve of each algorithm at its
// event times (found = 1 - S, the fraction of runs that have found the
// optimum, with its pointwise 95% interval).
func kmRows(s *Summary) [][]string {
	rows := [][]string{{"algo", "queries", "at_risk", "found_here", "surv", "found", "found_ci_lo", "found_ci_hi"}}
	for _, a := range s.Algos {
		km := a.Strict.KM()
		if km == nil {
			continue
		}
		for j, t := range km.Times {
			rows = append(rows, []string{a.Algo, strconv.Itoa(t), strconv.Itoa(km.AtRisk[j]), strconv.Itoa(km.Events[j]),
				ff(km.Surv[j]), ff(1 - km.Surv[j]), ff(1 - km.Hi[j]), ff(1 - km.Lo[j])})
		}
	}
	return rows
}

func paretoRows(s *Summary) [][]string {
	rows := [][]string{{"front", "index", "accuracy", "latency"}}
	add := func(name string, pts []Point) {
		for _, p := range pts {
			rows = append(rows, []string{name, strconv.Itoa(p.Index), ff(p.Accuracy), ff(p.Latency)})
		}
	}
	add("true", s.TrueFront)
	for _, a := range s.Algos {
		add(a.Algo, a.Front)
	}
	return rows
}

// ReadConfig reads the configuration recorded in a summary.json written by
// Write (or by experiment --json), so that the experiment can be repeated
// from its summary alone: every setting there has its real value.
func ReadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("experiment: %w", err)
	}
	var s struct {
		Config *Config `json:"config"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return Config{}, fmt.Errorf("%w: %s: not a summary: %v", ErrConfig, path, err)
	}
	if s.Config == nil || len(s.Config.Algos) == 0 || s.Config.Runs <= 0 || s.Config.Budget <= 0 {
		return Config{}, fmt.Errorf("%w: %s: no experiment configuration (config.Algos, Runs, Budget)", ErrConfig, path)
	}
	return *s.Config, nil
}
