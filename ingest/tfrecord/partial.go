package tfrecord

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/nb101"
)

// Partial-table kinds (index.Source.Kind).
const (
	KindPartialCSV      = "nb101-partial-csv"
	KindPartialStats    = "nb101-partial-stats-json"
	KindPartialColumnar = "nb101-partial-columnar-json"
)

// ErrPartial marks a partial table that cannot be imported; ErrDuplicate
// (which wraps it) one that lists a cell twice with different values.
var (
	ErrPartial   = errors.New("tfrecord: bad NB101 partial table")
	ErrDuplicate = fmt.Errorf("%w: duplicate cell", ErrPartial)
)

// IngestNB101Partial imports a partial NB101 table keyed by module hash into
// the store as a partial table (index.Store.NB101TableRole). Formats:
//
//   - CSV with a header: a hash column ("hash", "key" or "module_hash"),
//     optionally "trainable_parameters", and metric columns named
//     "<metric>_<epochs>" or "<epochs>_<metric>", where metric is an api.py
//     key (final_validation_accuracy, halfway_test_accuracy, ...) or an
//     alias (val_acc, test_acc, train_acc, training_time = the final_*
//     metrics); a bare metric name is taken at 108 epochs, a "_pct" suffix
//     marks percentages (divided by 100: NB101 accuracies are fractions),
//     "params_M" parameters in millions. Other columns are ignored. Empty
//     cells are absent. E.g. nb101_tiga_30001_val_4-12-36-108.csv,
//     naslib_zc_nasbench101_500_decoded.csv.
//   - JSON list (or object of objects) of get_metrics_from_hash records:
//     {hash, module_adjacency, module_operations, trainable_parameters,
//     computed_stats: {"108": [{halfway_training_time: ...}, ...]}}, e.g.
//     nb101_dummy.json, nb101_best_cells_by_mean_test.json.
//   - Columnar JSON: an object of equal-length arrays with "key" and
//     "<epochs>_<metric>" arrays, e.g. nasbench-vis data-1k.json; a metric
//     without epochs ("final_training_time") is taken at 108 epochs.
//
// Each value is one repeat (repeat 0 unless a stats record lists several).
// Duplicates: rows of one cell at one budget are its repeats in file order,
// a row identical to an earlier one counting once (query logs list a cell
// many times; the first row's parameter count is the cell's, as the
// official API has one); a cell with more than 3 distinct runs at a budget,
// or in two stats records that disagree, is an error naming the line or
// record and the hash (ErrDuplicate for the latter).
// Cells without a matrix in the file get the matrix the store's NB101
// tables already record for them (index.NB101Builder.KnownSpec), else the
// enumerated representative (nb101.Lookup, which enumerates the space on
// first use, ~5 s); a given matrix must hash to its key. Errors leave the store unchanged.
func IngestNB101Partial(ctx context.Context, st *index.Store, path string, progress io.Writer) (Result, error) {
	start := time.Now()
	var res Result
	unlock, err := st.Lock(ctx)
	if err != nil {
		return res, fmt.Errorf("tfrecord: ingest %s: %w", path, err)
	}
	defer unlock()
	// Re-running an ingest costs one hash of the file, not a parse (and
	// not the enumeration of the space for cells without a matrix): the
	// kind follows from the bytes, so any partial kind of that digest is it.
	if fi, err := os.Stat(path); err == nil {
		for _, k := range []string{KindPartialCSV, KindPartialStats, KindPartialColumnar} {
			if sum, err := alreadyIngested(st, path, k, fi.Size()); err != nil {
				res.SHA256 = sum
				return res, err
			}
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return res, fmt.Errorf("tfrecord: %w", err)
	}
	b := st.NewNB101Builder()
	committed := false
	defer func() {
		if !committed {
			b.Abort()
		}
	}()
	kind := KindPartialCSV
	trim := bytes.TrimLeft(data, " \t\r\n\ufeff")
	switch {
	case len(trim) > 0 && trim[0] == '[':
		kind = KindPartialStats
		err = partialStatsList(ctx, b, path, trim)
	case len(trim) > 0 && trim[0] == '{':
		kind, err = partialJSONObject(ctx, b, path, trim)
	default:
		err = partialCSV(ctx, b, path, data)
	}
	if err != nil {
		return res, err
	}
	sum, size, err := hashFile(path)
	if err != nil {
		return res, fmt.Errorf("tfrecord: %w", err)
	}
	res.Cells, res.Bytes, res.SHA256 = b.Len(), size, sum
	role, err := b.Commit(index.Source{Path: path, Kind: kind, SHA256: sum, Size: size})
	committed = true
	if err != nil {
		return res, err
	}
	res.Role, res.Duration = role, time.Since(start)
	if progress != nil {
		fmt.Fprintf(progress, "nb101: %s: %d cells (%s) -> %s\n", filepath.Base(path), res.Cells, kind, role)
	}
	return res, nil
}

var metricAliases = map[string]index.NB101Metric{
	"val_acc":        index.FinalValidationAccuracy,
	"valid_acc":      index.FinalValidationAccuracy,
	"test_acc":       index.FinalTestAccuracy,
	"train_acc":      index.FinalTrainAccuracy,
	"training_time":  index.FinalTrainingTime,
	"val_accuracy":   index.FinalValidationAccuracy,
	"test_accuracy":  index.FinalTestAccuracy,
	"train_accuracy": index.FinalTrainAccuracy,
}

// parseMetricColumn maps a column name to (metric, epochs). noEpochs is the
// budget for a bare metric name (0: not accepted).
func parseMetricColumn(name string, noEpochs int) (index.NB101Metric, int, bool) {
	metric := func(s string) (index.NB101Metric, bool) {
		if m, err := index.ParseNB101Metric(s); err == nil {
			return m, true
		}
		m, ok := metricAliases[s]
		return m, ok
	}
	if i := strings.LastIndexByte(name, '_'); i > 0 {
		if e, err := strconv.Atoi(name[i+1:]); err == nil && index.NB101BudgetIndex(e) >= 0 {
			if m, ok := metric(name[:i]); ok {
				return m, e, true
			}
		}
	}
	if i := strings.IndexByte(name, '_'); i > 0 {
		if e, err := strconv.Atoi(name[:i]); err == nil && index.NB101BudgetIndex(e) >= 0 {
			if m, ok := metric(name[i+1:]); ok {
				return m, e, true
			}
		}
	}
	if noEpochs > 0 {
		if m, ok := metric(name); ok {
			return m, noEpochs, true
		}
	}
	return 0, 0, false
}

type metricCol struct {
	col    int
	metric index.NB101Metric
	epochs int
	div    float64 // 100 for a percentage column ("_pct"), else 1 (CSV only)
}

// addValues adds one repeat per budget that has any value.
func addValues(b *index.NB101Builder, h nb101.Hash, spec nb101.Spec, params int64, cols []metricCol, vals []float64) error {
	for _, e := range index.NB101Epochs {
		run := index.NB101Run{nan, nan, nan, nan, nan, nan, nan, nan}
		any := false
		for i, c := range cols {
			if c.epochs == e && vals[i] == vals[i] {
				run[c.metric] = vals[i]
				any = true
			}
		}
		if any {
			// A row repeating a run already recorded (a query log listing
			// one cell many times) adds nothing.
			if err := b.AddDistinct(h, spec, params, e, &run); err != nil {
				return err
			}
		}
	}
	return nil
}

// cell returns the trimmed field i of rec, or "" for i < 0.
func cell(rec []string, i int) string {
	if i < 0 {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// lookupSpec returns the matrix of a cell the file gives only by hash: the
// one the store records for it, else the enumerated representative.
func lookupSpec(b *index.NB101Builder, h nb101.Hash) (nb101.Spec, error) {
	if s, ok := b.KnownSpec(h); ok {
		return s, nil
	}
	s, ok := nb101.Lookup(h)
	if !ok {
		return s, fmt.Errorf("%w: %s is not a cell of the NAS-Bench-101 space", ErrHash, h)
	}
	return s, nil
}

func partialCSV(ctx context.Context, b *index.NB101Builder, path string, data []byte) error {
	r := csv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return &RecordError{File: path, Record: 0, Offset: 0, Err: fmt.Errorf("%w: header: %v", ErrPartial, err)}
	}
	header = slices.Clone(header)
	hashCol, paramCol := -1, -1
	paramMillions := false
	var cols []metricCol
	for i, name := range header {
		name = strings.TrimSpace(name)
		switch name {
		case "hash", "key", "module_hash":
			hashCol = i
			continue
		case "trainable_parameters", "params":
			paramCol = i
			continue
		case "params_M":
			paramCol, paramMillions = i, true
			continue
		}
		div := 1.0
		if base, ok := strings.CutSuffix(name, "_pct"); ok {
			name, div = base, 100
		}
		if m, e, ok := parseMetricColumn(name, 108); ok {
			cols = append(cols, metricCol{i, m, e, div})
		}
	}
	if hashCol < 0 || len(cols) == 0 {
		return &RecordError{File: path, Record: 0, Offset: 0, Field: "header",
			Err: fmt.Errorf("%w: need a hash column and at least one <metric>_<epochs> column, got %s", ErrPartial, quote(strings.Join(header, ",")))}
	}
	vals := make([]float64, len(cols))
	for line := int64(1); ; line++ {
		off := r.InputOffset()
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		fail := func(field string, err error) error {
			return &RecordError{File: path, Record: line, Offset: off, Field: field, Err: err}
		}
		if err != nil {
			return fail("", fmt.Errorf("%w: %v", ErrPartial, err))
		}
		if line%4096 == 0 && ctx.Err() != nil {
			return fmt.Errorf("tfrecord: %s: %w", path, ctx.Err())
		}
		h, err := nb101.ParseHash(strings.TrimSpace(rec[hashCol]))
		if err != nil {
			return fail(header[hashCol], fmt.Errorf("%w: %v", ErrPartial, err))
		}
		spec, err := lookupSpec(b, h)
		if err != nil {
			return fail(header[hashCol], err)
		}
		params := int64(-1)
		if s := cell(rec, paramCol); s != "" {
			if paramMillions {
				var m float64
				if m, err = strconv.ParseFloat(s, 64); err != nil || m < 0 {
					return fail(header[paramCol], fmt.Errorf("%w: %s is not a parameter count in millions", ErrPartial, quote(s)))
				}
				params = int64(math.Round(m * 1e6))
			} else if params, err = strconv.ParseInt(s, 10, 64); err != nil {
				return fail(header[paramCol], fmt.Errorf("%w: %v", ErrPartial, err))
			}
		}
		for i, c := range cols {
			s := strings.TrimSpace(rec[c.col])
			vals[i] = nan
			if s != "" {
				if vals[i], err = strconv.ParseFloat(s, 64); err != nil {
					return fail(header[c.col], fmt.Errorf("%w: %v", ErrPartial, err))
				}
				vals[i] /= c.div
			}
		}
		if err := addValues(b, h, spec, params, cols, vals); err != nil {
			return fail("", err)
		}
	}
}

type statsRecord struct {
	Hash          string                          `json:"hash"`
	Adjacency     [][]int                         `json:"module_adjacency"`
	Operations    []string                        `json:"module_operations"`
	Params        *int64                          `json:"trainable_parameters"`
	ComputedStats map[string][]map[string]float64 `json:"computed_stats"`
}

func partialStatsList(ctx context.Context, b *index.NB101Builder, path string, data []byte) error {
	var recs []statsRecord
	if err := json.Unmarshal(data, &recs); err != nil {
		return &RecordError{File: path, Record: 0, Offset: jsonOffset(err), Err: fmt.Errorf("%w: %v", ErrJSON, err)}
	}
	return addStats(ctx, b, path, recs)
}

func jsonOffset(err error) int64 {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return se.Offset
	case errors.As(err, &te):
		return te.Offset
	}
	return -1
}

func addStats(ctx context.Context, b *index.NB101Builder, path string, recs []statsRecord) error {
	// A cell listed twice (e.g. the best cell at two budgets) counts once
	// if both records agree; a stats record holds every repeat of its cell,
	// so two that disagree cannot both be right and are refused.
	seen := map[nb101.Hash]int{}
	for i, rec := range recs {
		fail := func(field string, err error) error {
			return &RecordError{File: path, Record: int64(i), Offset: -1, Field: field, Err: err}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("tfrecord: %s: %w", path, ctx.Err())
		}
		h, err := nb101.ParseHash(rec.Hash)
		if err != nil {
			return fail("hash", fmt.Errorf("%w: %v", ErrPartial, err))
		}
		if j, dup := seen[h]; dup {
			if !sameStats(recs[j], rec) {
				return fail("hash", fmt.Errorf("%w: cell %s listed twice with different values (records %d and %d)", ErrDuplicate, h, j, i))
			}
			continue
		}
		seen[h] = i
		var spec nb101.Spec
		if rec.Adjacency != nil {
			if spec, err = nb101.NewSpec(rec.Adjacency, rec.Operations); err != nil {
				return fail("module_adjacency", fmt.Errorf("%w: %w", ErrSpec, err))
			}
			if spec.Hash() != h {
				return fail("hash", fmt.Errorf("%w: stored %s, the cell hashes to %s", ErrHash, h, spec.Hash()))
			}
		} else if spec, err = lookupSpec(b, h); err != nil {
			return fail("hash", err)
		}
		params := int64(-1)
		if rec.Params != nil {
			params = *rec.Params
		}
		for _, e := range index.NB101Epochs {
			for _, st := range rec.ComputedStats[strconv.Itoa(e)] {
				run := index.NB101Run{nan, nan, nan, nan, nan, nan, nan, nan}
				for k, v := range st {
					m, err := index.ParseNB101Metric(k)
					if err != nil {
						return fail("computed_stats", fmt.Errorf("%w: unknown key %s", ErrPartial, quote(k)))
					}
					run[m] = v
				}
				if err := b.Add(h, spec, params, e, &run); err != nil {
					return fail("computed_stats", err)
				}
			}
		}
		for k := range rec.ComputedStats {
			if e, err := strconv.Atoi(k); err != nil || index.NB101BudgetIndex(e) < 0 {
				return fail("computed_stats", fmt.Errorf("%w: budget %s", ErrEpochs, quote(k)))
			}
		}
	}
	return nil
}

// sameStats reports whether two stats records of one cell agree (the
// fields nbquery reads; JSON encodes maps in key order).
func sameStats(a, b statsRecord) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// partialJSONObject handles an object of stats records or a columnar object.
func partialJSONObject(ctx context.Context, b *index.NB101Builder, path string, data []byte) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return "", &RecordError{File: path, Offset: jsonOffset(err), Err: fmt.Errorf("%w: %v", ErrJSON, err)}
	}
	if _, columnar := obj["key"]; !columnar {
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int { // numeric budgets in order
			ai, ea := strconv.Atoi(a)
			bi, eb := strconv.Atoi(b)
			if ea == nil && eb == nil {
				return ai - bi
			}
			return strings.Compare(a, b)
		})
		recs := make([]statsRecord, len(keys))
		for i, k := range keys {
			if err := json.Unmarshal(obj[k], &recs[i]); err != nil {
				return "", &RecordError{File: path, Record: int64(i), Offset: jsonOffset(err), Field: k, Err: fmt.Errorf("%w: %v", ErrJSON, err)}
			}
		}
		return KindPartialStats, addStats(ctx, b, path, recs)
	}
	var keys []string
	if err := json.Unmarshal(obj["key"], &keys); err != nil {
		return "", &RecordError{File: path, Offset: -1, Field: "key", Err: fmt.Errorf("%w: %v", ErrJSON, err)}
	}
	var cols []metricCol
	var arrays [][]float64
	var params []float64
	for name, raw := range obj {
		m, e, ok := parseMetricColumn(name, 108)
		if !ok && name != "trainable_parameters" {
			continue
		}
		var a []float64
		if err := json.Unmarshal(raw, &a); err != nil {
			return "", &RecordError{File: path, Offset: -1, Field: name, Err: fmt.Errorf("%w: %v", ErrJSON, err)}
		}
		if len(a) != len(keys) {
			return "", &RecordError{File: path, Offset: -1, Field: name,
				Err: fmt.Errorf("%w: %d values for %d keys", ErrPartial, len(a), len(keys))}
		}
		if name == "trainable_parameters" {
			params = a
			continue
		}
		cols = append(cols, metricCol{len(arrays), m, e, 1})
		arrays = append(arrays, a)
	}
	if len(cols) == 0 {
		return "", &RecordError{File: path, Offset: -1, Err: fmt.Errorf("%w: no <epochs>_<metric> arrays", ErrPartial)}
	}
	vals := make([]float64, len(cols))
	for i, k := range keys {
		fail := func(field string, err error) error {
			return &RecordError{File: path, Record: int64(i), Offset: -1, Field: field, Err: err}
		}
		h, err := nb101.ParseHash(k)
		if err != nil {
			return "", fail("key", fmt.Errorf("%w: %v", ErrPartial, err))
		}
		spec, err := lookupSpec(b, h)
		if err != nil {
			return "", fail("key", err)
		}
		p := int64(-1)
		if params != nil {
			p = int64(params[i])
		}
		for j, c := range cols {
			vals[j] = arrays[c.col][i]
		}
		if err := addValues(b, h, spec, p, cols, vals); err != nil {
			return "", fail("", err)
		}
	}
	return KindPartialColumnar, nil
}
