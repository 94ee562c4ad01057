package index

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/nbquery/nbquery/internal/arrowfile"
	"github.com/nbquery/nbquery/space/nb101"
)

// The NB101 table: one Arrow IPC file per ingested NAS-Bench-101 source,
// one record batch, rows sorted by module hash. Columns:
//
//	hash        FixedSizeBinary(16)
//	adjacency   uint64                 nb101.Spec.Adj (row-major 7x7 bits)
//	ops         FixedSizeBinary(7)     nb101.Op codes
//	nverts      uint8
//	params      int64                  trainable_parameters (-1 = absent)
//	repeats     FixedSizeBinary(4)     repeats recorded at 4, 12, 36, 108 epochs
//	runs        FixedSizeList<float64>[96]: [budget 4,12,36,108][repeat, in
//	            file order][metric, NB101Metric order]; NaN = absent
//
// The metrics of one run are adjacent (one cache line), so a query touches
// one page of the large runs column instead of one page per metric column:
// on the 2-core VM this cut a query by hash from ~1.4 us to ~0.4 us.
//
// The schema metadata holds the schema version, the source and the list of
// (metric, budget) columns the source recorded ("present"). A full tfrecord
// is stored under the manifest role "table"; a partial table under
// "partial/<generation>-<sha>". Both are immutable once renamed into place.

// NB101Epochs are the training budgets of NAS-Bench-101.
var NB101Epochs = [4]int{4, 12, 36, 108}

// NB101Repeats is the number of training repeats per budget (num_repeats).
const NB101Repeats = 3

const (
	nb101RunWidth    = int(NumNB101Metrics)                // values per run
	nb101BudgetWidth = NB101Repeats * nb101RunWidth        // values per budget
	nb101Width       = len(NB101Epochs) * nb101BudgetWidth // values per row
	nb101Schema      = "nbquery.nb101.v2"
	nb101RoleTable   = "table"
	nb101RolePartial = "partial/"
	nb101DirBits     = 16
)

// ErrNB101Input marks rows an NB101 builder cannot take (unknown budget,
// more than 3 repeats, a spec that does not hash to its key).
var ErrNB101Input = errors.New("index: bad NB101 input")

// NB101Metric is a per-repeat statistic of api.py's computed_statistics.
type NB101Metric uint8

// Metrics, in api.py's key order.
const (
	HalfwayTrainingTime NB101Metric = iota
	HalfwayTrainAccuracy
	HalfwayValidationAccuracy
	HalfwayTestAccuracy
	FinalTrainingTime
	FinalTrainAccuracy
	FinalValidationAccuracy
	FinalTestAccuracy
	NumNB101Metrics
)

var nb101MetricNames = [NumNB101Metrics]string{
	"halfway_training_time", "halfway_train_accuracy", "halfway_validation_accuracy", "halfway_test_accuracy",
	"final_training_time", "final_train_accuracy", "final_validation_accuracy", "final_test_accuracy",
}

// String returns the api.py key, e.g. "final_test_accuracy".
func (m NB101Metric) String() string {
	if m < NumNB101Metrics {
		return nb101MetricNames[m]
	}
	return "NB101Metric(" + strconv.Itoa(int(m)) + ")"
}

// ParseNB101Metric accepts the api.py key of a metric.
func ParseNB101Metric(s string) (NB101Metric, error) {
	for i, n := range nb101MetricNames {
		if n == s {
			return NB101Metric(i), nil
		}
	}
	return 0, &InvalidValue{Name: "NB101 metric", Value: s, Valid: nb101MetricNames[:]}
}

// NB101Run is one training repeat at one budget (api.py's data_point).
// Absent values are NaN.
type NB101Run [NumNB101Metrics]float64

// NB101BudgetIndex returns the position of epochs in NB101Epochs, or -1.
func NB101BudgetIndex(epochs int) int {
	switch epochs {
	case 4:
		return 0
	case 12:
		return 1
	case 36:
		return 2
	case 108:
		return 3
	}
	return -1
}

// nb101DirFile names the prefix-directory file of a table file.
func nb101DirFile(rel string) string { return strings.TrimSuffix(rel, ".arrow") + ".dir" }

// NB101Table is an opened NB101 table. It stays valid until the store is closed;
// every method returns copies. Query methods update the budget counters,
// which are not safe for concurrent use (like api.py's): give each
// goroutine its own table from Store.NB101Table if counters matter.
type NB101Table struct {
	role    string
	src     Source
	n       int
	hashes  []byte // 16 per row
	adj     []uint64
	ops     []byte // 7 per row
	nverts  []uint8
	params  []int64
	nrep    []byte    // 4 per row
	runs    []float64 // nb101Width per row
	present [NumNB101Metrics][len(NB101Epochs)]bool
	dir     []uint32 // 2^16+1 entries: rows with hash prefix p are dir[p]..dir[p+1]

	// Merged tables only (nb101_merge.go): the sources oldest first, what
	// each records, and a bit set per row of the sources holding the cell.
	srcs       []Source
	srcPresent [][NumNB101Metrics][len(NB101Epochs)]bool
	rowSrc     []uint32

	trainingTime float64
	epochs       int
}

// NB101Roles lists the NB101 tables of the store: "table" (a full
// tfrecord) and "partial/..." roles, oldest partial first.
func (s *Store) NB101Roles() []string {
	bm := s.m.Benches[NB101]
	if bm == nil {
		return nil
	}
	var out []string
	for r := range bm.Extra {
		if r == nb101RoleTable || strings.HasPrefix(r, nb101RolePartial) {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// NB101TableRole opens the NB101 table of a role (see NB101Roles).
func (s *Store) NB101TableRole(role string) (*NB101Table, error) {
	rel := ""
	if bm := s.m.Benches[NB101]; bm != nil {
		rel = bm.Extra[role]
	}
	if rel == "" {
		return nil, fmt.Errorf("%w: NB101 table %q in %s", ErrNotFound, role, s.dir)
	}
	mf, err := s.mapped(rel)
	if err != nil {
		return nil, err
	}
	t, err := openNB101(mf.data)
	if err != nil {
		return nil, fmt.Errorf("index: NB101 table %s: %w", filepath.Join(s.dir, rel), err)
	}
	t.role = role
	// Use the stored directory when it is sound; else rebuild it.
	if df, err := s.mapped(nb101DirFile(rel)); err == nil && len(df.data) == 4*(1<<nb101DirBits+1) {
		d := arrowfile.Uint32s(df.data)
		ok := d[0] == 0 && d[len(d)-1] == uint32(t.n)
		for i := 1; ok && i < len(d); i++ {
			ok = d[i-1] <= d[i]
		}
		if ok {
			t.dir = d
		}
	}
	if t.dir == nil {
		t.dir = prefixDir(t.hashes, t.n)
	}
	return t, nil
}

func openNB101(data []byte) (*NB101Table, error) {
	r, err := arrowfile.Open(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	sch := r.Schema()
	get := sch.Meta
	if v := get("schema"); v != nb101Schema {
		return nil, fmt.Errorf("%w: table schema %q, this build reads %q", ErrSchemaVersion, v, nb101Schema)
	}
	if r.NumBatches() != 1 || len(sch.Fields) != 7 {
		return nil, fmt.Errorf("%w: %d record batches, %d fields", ErrCorrupt, r.NumBatches(), len(sch.Fields))
	}
	for i, want := range nb101Fields {
		if f := sch.Fields[i]; !f.Type.Equal(want.Type) {
			return nil, fmt.Errorf("%w: column %s is %s, not %s", ErrCorrupt, f.Name, f.Type, want.Type)
		}
	}
	rec, err := r.Batch(0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	t := &NB101Table{n: rec.Rows}
	t.src = Source{Path: get("source_path"), Kind: get("source_kind"), SHA256: get("source_sha256")}
	for _, p := range strings.Split(get("present"), ",") {
		name, e, ok := strings.Cut(p, "@")
		ep, _ := strconv.Atoi(e)
		m, err := ParseNB101Metric(name)
		if ok && err == nil && NB101BudgetIndex(ep) >= 0 {
			t.present[m][NB101BudgetIndex(ep)] = true
		}
	}
	// Batch checked every column's length against the rows.
	c := rec.Columns
	t.hashes, t.ops, t.nrep, t.nverts = c[0].Data, c[2].Data, c[5].Data, c[3].Data
	t.adj, t.params, t.runs = arrowfile.Uint64s(c[1].Data), arrowfile.Int64s(c[4].Data), arrowfile.Float64s(c[6].Data)
	return t, nil
}

// nb101Fields is the NB101 table's schema (the comment at the top of this file).
var nb101Fields = []arrowfile.Field{
	{Name: "hash", Type: arrowfile.FixedSizeBinaryOf(16)},
	{Name: "adjacency", Type: arrowfile.Uint64},
	{Name: "ops", Type: arrowfile.FixedSizeBinaryOf(7)},
	{Name: "nverts", Type: arrowfile.Uint8},
	{Name: "params", Type: arrowfile.Int64},
	{Name: "repeats", Type: arrowfile.FixedSizeBinaryOf(4)},
	{Name: "runs", Type: arrowfile.FixedSizeListOf(nb101Width, arrowfile.Float64)},
}

// prefixDir builds the hash-prefix directory (STYLE.md 3.4) of a sorted
// hash column: rows with 16-bit prefix p are dir[p] .. dir[p+1]-1.
func prefixDir(hashes []byte, n int) []uint32 {
	const nb = 1 << nb101DirBits
	dir := make([]uint32, nb+1)
	p := 0
	for i := 0; i < n; i++ {
		h := int(hashes[16*i])<<8 | int(hashes[16*i+1])
		for p <= h {
			dir[p] = uint32(i)
			p++
		}
	}
	for ; p <= nb; p++ {
		dir[p] = uint32(n)
	}
	return dir
}

// Row returns the row of a hash.
func (t *NB101Table) Row(h nb101.Hash) (int, bool) {
	p := int(h[0])<<8 | int(h[1])
	lo, hi := int(t.dir[p]), int(t.dir[p+1])
	if hi-lo > 1 {
		// Hashes are uniform: the next 16 bits predict the position within
		// the bucket, so the first probe usually lands on the row or next to
		// it and the search touches one or two cache lines instead of ~3.
		g := lo + (int(h[2])<<8|int(h[3]))*(hi-lo)>>16
		switch c := bytes.Compare(t.hashes[16*g:16*g+16], h[:]); {
		case c == 0:
			return g, true
		case c < 0:
			lo = g + 1
			if lo < hi && bytes.Compare(t.hashes[16*lo:16*lo+16], h[:]) >= 0 {
				hi = lo + 1
			}
		default:
			hi = g
			if g > lo && bytes.Compare(t.hashes[16*(g-1):16*g], h[:]) <= 0 {
				lo = g - 1
			}
		}
	}
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if bytes.Compare(t.hashes[16*mid:16*mid+16], h[:]) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < t.n && *(*[16]byte)(t.hashes[16*lo:]) == h {
		return lo, true
	}
	return 0, false
}

// Len returns the number of cells in the table.
func (t *NB101Table) Len() int { return t.n }

// Role returns the table's manifest role ("table" or "partial/...").
func (t *NB101Table) Role() string { return t.role }

// Source returns the ingested source the table came from.
func (t *NB101Table) Source() Source { return t.src }

// Hash returns the hash of a row.
func (t *NB101Table) Hash(row int) nb101.Hash { return *(*nb101.Hash)(t.hashes[16*row:]) }

// Spec returns the stored cell of a row (api.py's module_adjacency and
// module_operations: the first variant the source gave for the hash).
func (t *NB101Table) Spec(row int) nb101.Spec {
	s := nb101.Spec{Adj: t.adj[row], N: t.nverts[row]}
	for k := range s.Ops {
		s.Ops[k] = nb101.Op(t.ops[7*row+k])
	}
	return s
}

// Params returns trainable_parameters, or -1 if the source lacks it.
func (t *NB101Table) Params(row int) int64 { return t.params[row] }

// Repeats returns the number of repeats recorded at a budget (0 for a
// budget the source lacks or an invalid one).
func (t *NB101Table) Repeats(row, epochs int) int {
	bi := NB101BudgetIndex(epochs)
	if bi < 0 {
		return 0
	}
	return int(t.nrep[4*row+bi])
}

// Has reports whether the table records metric m at a budget.
func (t *NB101Table) Has(m NB101Metric, epochs int) bool {
	bi := NB101BudgetIndex(epochs)
	return bi >= 0 && m < NumNB101Metrics && t.present[m][bi]
}

// KnownSpec returns the matrix the store's NB101 tables (as they were when
// the builder first asked) record for h, checked to hash to h, so that a
// partial table that gives cells only by hash need not enumerate the space
// for cells the store already holds.
func (b *NB101Builder) KnownSpec(h nb101.Hash) (nb101.Spec, bool) {
	if !b.knownRead {
		b.knownRead = true
		if t, err := b.st.NB101Table(); err == nil {
			b.known = t
		}
	}
	if b.known == nil {
		return nb101.Spec{}, false
	}
	row, ok := b.known.Row(h)
	if !ok {
		return nb101.Spec{}, false
	}
	s := b.known.Spec(row)
	if s.Hash() != h {
		return nb101.Spec{}, false
	}
	return s, true
}

// Columns lists the statistics the table records, as "metric@epochs"
// (e.g. "final_test_accuracy@108"), by budget, then in NB101Metric order.
func (t *NB101Table) Columns() []string {
	var out []string
	for bi, e := range NB101Epochs {
		for m := range NumNB101Metrics {
			if t.present[m][bi] {
				out = append(out, m.String()+"@"+strconv.Itoa(e))
			}
		}
	}
	return out
}

// Run returns one repeat of a row at a budget.
func (t *NB101Table) Run(row, epochs, repeat int) (NB101Run, error) {
	var r NB101Run
	bi := NB101BudgetIndex(epochs)
	if bi < 0 {
		return r, fmt.Errorf("%w: invalid number of epochs %d, must be one of 4, 12, 36, 108", nb101.ErrOutOfDomain, epochs)
	}
	if repeat < 0 || repeat >= int(t.nrep[4*row+bi]) {
		return r, fmt.Errorf("%w: cell %s has %d repeats at %d epochs, not repeat %d", ErrUnavailable, t.Hash(row), t.nrep[4*row+bi], epochs, repeat)
	}
	off := row*nb101Width + bi*nb101BudgetWidth + repeat*nb101RunWidth
	copy(r[:], t.runs[off:])
	return r, nil
}
