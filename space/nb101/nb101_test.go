package nb101

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/nbquery/nbquery/internal/shared"
)

// readme is the NASBench.ipynb query example and the isomorphic variant the
// benchmark returns for it (FACTS.md).
var (
	readmeMatrix = [][]int{
		{0, 1, 1, 1, 0, 1, 0},
		{0, 0, 0, 0, 0, 0, 1},
		{0, 0, 0, 0, 0, 0, 1},
		{0, 0, 0, 0, 1, 0, 0},
		{0, 0, 0, 0, 0, 0, 1},
		{0, 0, 0, 0, 0, 0, 1},
		{0, 0, 0, 0, 0, 0, 0},
	}
	readmeOps    = []string{"input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "maxpool3x3", "output"}
	storedMatrix = [][]int{
		{0, 1, 1, 1, 1, 0, 0},
		{0, 0, 0, 0, 0, 0, 1},
		{0, 0, 0, 0, 0, 0, 1},
		{0, 0, 0, 0, 0, 0, 1},
		{0, 0, 0, 0, 0, 1, 0},
		{0, 0, 0, 0, 0, 0, 1},
		{0, 0, 0, 0, 0, 0, 0},
	}
	storedOps = []string{"input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu", "output"}
)

func mustSpec(t testing.TB, m [][]int, ops []string) Spec {
	t.Helper()
	s, err := NewSpec(m, ops)
	if err != nil {
		t.Fatalf("NewSpec: %v", err)
	}
	return s
}

func matrixFromString(adj string) [][]int {
	n := 0
	for n*n < len(adj) {
		n++
	}
	m := make([][]int, n)
	for i := range m {
		m[i] = make([]int, n)
		for j := range m[i] {
			if i*n+j < len(adj) && adj[i*n+j] == '1' {
				m[i][j] = 1
			}
		}
	}
	return m
}

func TestHashKnown(t *testing.T) {
	for _, test := range []struct {
		name   string
		matrix [][]int
		ops    []string
		want   string
	}{
		{"readme-query", readmeMatrix, readmeOps, "28cfc7874f6d200472e1a9dcd8650aa0"},
		{"readme-stored", storedMatrix, storedOps, "28cfc7874f6d200472e1a9dcd8650aa0"},
		{"nasbench-rs", matrixFromString("0100110001000000010010000010000001000000010000000"),
			strings.Fields("input conv3x3-bn-relu maxpool3x3 conv3x3-bn-relu conv3x3-bn-relu conv1x1-bn-relu output"),
			"00005c142e6f48ac74fdcf73e3439874"},
		{"global-optimum", [][]int{
			{0, 1, 1, 0, 0, 1, 1}, {0, 0, 0, 0, 0, 1, 0}, {0, 0, 0, 1, 0, 0, 0}, {0, 0, 0, 0, 1, 0, 0},
			{0, 0, 0, 0, 0, 1, 0}, {0, 0, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 0, 0, 0}},
			[]string{"input", "conv1x1-bn-relu", "conv3x3-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu", "output"},
			"02e5a0247bbdcf2860b7e96f74961594"},
		// The next two were computed with a plain-Python transcription of
		// graph_util.hash_module (hashlib, no numpy), independent of this code.
		{"input-output", [][]int{{0, 1}, {0, 0}}, []string{"input", "output"}, "043721b9c7fe8c5fad811d47d83132ec"},
		{"triangle-maxpool", [][]int{{0, 1, 1}, {0, 0, 1}, {0, 0, 0}}, []string{"input", "maxpool3x3", "output"}, "6f6257bc3b12d87b8736e81cd4b7ed8b"},
	} {
		t.Run(test.name, func(t *testing.T) {
			s := mustSpec(t, test.matrix, test.ops)
			got := s.Hash().String()
			if got != test.want {
				t.Fatalf("hash = %s, want %s", got, test.want)
			}
			h, err := ParseHash(strings.ToUpper(got))
			if err != nil || h != s.Hash() {
				t.Fatalf("ParseHash(%s) = %v, %v", got, h, err)
			}
		})
	}
}

type dummyModel struct {
	Hash          string                          `json:"hash"`
	Adjacency     [][]int                         `json:"module_adjacency"`
	Operations    []string                        `json:"module_operations"`
	Params        int64                           `json:"trainable_parameters"`
	ComputedStats map[string][]map[string]float64 `json:"computed_stats"`
}

func loadDummy(t testing.TB) []dummyModel {
	t.Helper()
	b, err := os.ReadFile(shared.Path(t, "nb101_naslib_dummy/nb101_dummy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ms []dummyModel
	if err := json.Unmarshal(b, &ms); err != nil {
		t.Fatal(err)
	}
	if len(ms) != 30 {
		t.Fatalf("dummy models = %d, want 30", len(ms))
	}
	return ms
}

func TestHashRealModels(t *testing.T) {
	for _, m := range loadDummy(t) {
		t.Run(m.Hash[:8], func(t *testing.T) {
			s := mustSpec(t, m.Adjacency, m.Operations)
			if got := s.Hash().String(); got != m.Hash {
				t.Fatalf("hash = %s, want %s", got, m.Hash)
			}
			// The stored specs are already pruned: round trip is exact.
			if !slices.EqualFunc(s.Matrix(), m.Adjacency, slices.Equal) || !slices.Equal(s.OpNames(), m.Operations) {
				t.Fatalf("round trip: %v %v, want %v %v", s.Matrix(), s.OpNames(), m.Adjacency, m.Operations)
			}
		})
	}
}

func TestNewSpecErrors(t *testing.T) {
	ops7 := []string{"input", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "output"}
	full8 := make([][]int, 8)
	for i := range full8 {
		full8[i] = make([]int, 8)
		if i < 7 {
			full8[i][i+1] = 1
		}
	}
	for _, test := range []struct {
		name   string
		matrix [][]int
		ops    []string
		want   string
	}{
		{"ops-length", [][]int{{0, 1}, {0, 0}}, []string{"input"}, "length of ops"},
		{"not-square", [][]int{{0, 1}, {0}}, []string{"input", "output"}, "square"},
		{"lower-triangular", [][]int{{0, 1}, {1, 0}}, []string{"input", "output"}, "upper triangular"},
		{"not-binary", [][]int{{0, 2}, {0, 0}}, []string{"input", "output"}, "0 or 1"},
		{"disconnected", [][]int{{0, 0}, {0, 0}}, []string{"input", "output"}, "disconnected"},
		{"empty", [][]int{}, []string{}, "disconnected"},
		{"too-many-vertices", full8, append(slices.Clone(ops7[:7]), "output"), "too many vertices: 8"},
		{"too-many-edges", [][]int{
			{0, 1, 1, 1, 1, 1, 1}, {0, 0, 1, 1, 1, 0, 0}, {0, 0, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 0, 0, 1},
			{0, 0, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 0, 0, 0}}, ops7, "too many edges: 13"},
		{"first-not-input", [][]int{{0, 1}, {0, 0}}, []string{"conv3x3-bn-relu", "output"}, "first operation"},
		{"last-not-output", [][]int{{0, 1}, {0, 0}}, []string{"input", "maxpool3x3"}, "last operation"},
		{"unknown-op", [][]int{{0, 1, 0}, {0, 0, 1}, {0, 0, 0}}, []string{"input", "conv5x5", "output"}, `unsupported op "conv5x5"`},
		{"inner-input", [][]int{{0, 1, 0}, {0, 0, 1}, {0, 0, 0}}, []string{"input", "input", "output"}, `unsupported op "input"`},
	} {
		t.Run(test.name, func(t *testing.T) {
			_, err := NewSpec(test.matrix, test.ops)
			if !errors.Is(err, ErrOutOfDomain) {
				t.Fatalf("err = %v, want ErrOutOfDomain", err)
			}
			if !strings.Contains(err.Error(), test.want) {
				t.Fatalf("err = %q, want it to mention %q", err, test.want)
			}
			if IsValid(test.matrix, test.ops) {
				t.Fatal("IsValid = true")
			}
		})
	}
}

func TestPrune(t *testing.T) {
	for _, test := range []struct {
		name    string
		matrix  [][]int
		ops     []string
		wantAdj string
		wantOps string
	}{
		// Vertex 2 has no path to the output, vertex 3 none from the input;
		// an unknown op on a pruned vertex is harmless (as in Python).
		{"dangling", [][]int{
			{0, 1, 1, 0, 0}, {0, 0, 0, 0, 1}, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 1}, {0, 0, 0, 0, 0}},
			[]string{"input", "conv1x1-bn-relu", "bogus", "maxpool3x3", "output"},
			"010001000", "input,conv1x1-bn-relu,output"},
		// An 8-vertex matrix is fine if pruning leaves 7.
		{"eight-to-seven", [][]int{
			{0, 1, 0, 0, 0, 0, 0, 1}, {0, 0, 1, 0, 0, 0, 0, 0}, {0, 0, 0, 1, 0, 0, 0, 0}, {0, 0, 0, 0, 1, 0, 0, 0},
			{0, 0, 0, 0, 0, 1, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0}},
			[]string{"input", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "maxpool3x3", "output"},
			"0100001001000000010000000100000001000000010000000", "input,conv3x3-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,output"},
	} {
		t.Run(test.name, func(t *testing.T) {
			s := mustSpec(t, test.matrix, test.ops)
			if got := s.AdjString(); got != test.wantAdj {
				t.Errorf("adjacency = %s, want %s", got, test.wantAdj)
			}
			if got := strings.Join(s.OpNames(), ","); got != test.wantOps {
				t.Errorf("ops = %s, want %s", got, test.wantOps)
			}
			// Pruning does not change the hash: hashing the pruned spec
			// again gives the same value.
			again := mustSpec(t, s.Matrix(), s.OpNames())
			if again != s || again.Hash() != s.Hash() {
				t.Errorf("re-spec = %v, want %v", again, s)
			}
		})
	}
}

func TestEncode45(t *testing.T) {
	s := mustSpec(t, [][]int{{0, 1, 1}, {0, 0, 1}, {0, 0, 0}}, []string{"input", "maxpool3x3", "output"})
	got := make([]float64, 45)
	for i := range got {
		got[i] = 7 // must be overwritten
	}
	s.Encode45(got)
	want := make([]float64, 45)
	// column 1: bit m[0][1], one-hot maxpool; column 2: bits m[0][2], m[1][2], one-hot output.
	want[0], want[1+2] = 1, 1
	want[5], want[6], want[7+3] = 1, 1, 1
	if !slices.Equal(got, want) {
		t.Fatalf("Encode45 = %v\nwant       %v", got, want)
	}
	full := mustSpec(t, storedMatrix, storedOps)
	full.Encode45(got)
	sum := 0.0
	for _, v := range got {
		sum += v
	}
	if sum != float64(full.NumEdges()+6) {
		t.Fatalf("Encode45 sum = %v, want %d edges + 6 ops", sum, full.NumEdges())
	}
}

// TestEnumerateSmall checks the invariant-based dedupe against brute-force
// MD5 hashing of every candidate with up to 5 vertices, and determinism.
func TestEnumerateSmall(t *testing.T) {
	got, err := enumerateUpTo(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	want := map[Hash]Spec{}
	for n := 2; n <= 5; n++ {
		for _, d := range fullDAGs(n) {
			for lab := uint32(0); lab < pow3[n-2]; lab++ {
				s := specFromKey(enumKey(n, d.pattern, lab))
				h := s.Hash()
				if _, ok := want[h]; !ok {
					want[h] = s // first seen in enumeration order
				}
			}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("enumerated %d cells, brute force %d", len(got), len(want))
	}
	for i, c := range got {
		if i > 0 && got[i-1].Hash.Compare(c.Hash) >= 0 {
			t.Fatalf("not sorted at %d", i)
		}
		if w, ok := want[c.Hash]; !ok || w != c.Spec {
			t.Fatalf("cell %s: spec %v, brute force %v (found %v)", c.Hash, c.Spec, w, ok)
		}
		if _, err := NewSpec(c.Spec.Matrix(), c.Spec.OpNames()); err != nil {
			t.Fatalf("cell %s invalid: %v", c.Hash, err)
		}
	}
	again, _ := enumerateUpTo(context.Background(), 5)
	if !slices.Equal(got, again) {
		t.Fatal("enumeration is not deterministic")
	}
	// Cancellation is honoured.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := enumerateUpTo(ctx, 7); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled enumeration: err = %v", err)
	}
}

// TestEnumerateAll enumerates the whole space (~5 s on 2 cores) and checks it
// against every real hash available.
func TestEnumerateAll(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != NumCells {
		t.Fatalf("enumerated %d cells, want %d", len(all), NumCells)
	}
	byHash := func(s string) (Spec, bool) {
		h, err := ParseHash(s)
		if err != nil {
			t.Fatal(err)
		}
		return Lookup(h)
	}
	t.Run("dummy30", func(t *testing.T) {
		exact := 0
		for _, m := range loadDummy(t) {
			rep, ok := byHash(m.Hash)
			if !ok {
				t.Fatalf("%s not enumerated", m.Hash)
			}
			if rep == mustSpec(t, m.Adjacency, m.Operations) {
				exact++
			}
		}
		// The benchmark stores generate_graphs.py's representative.
		if exact != 30 {
			t.Fatalf("%d of 30 stored specs equal the enumerated representative", exact)
		}
	})
	t.Run("readme", func(t *testing.T) {
		rep, ok := byHash("28cfc7874f6d200472e1a9dcd8650aa0")
		if !ok || rep != mustSpec(t, storedMatrix, storedOps) {
			t.Fatalf("representative %v, want the stored variant", rep)
		}
	})
	t.Run("tiga1k", func(t *testing.T) {
		b, err := os.ReadFile(shared.Path(t, "nb101_slices/tiga1231_nasbench-vis_data-1k.json"))
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Key []string      `json:"key"`
			Ops [][]int       `json:"operations"`
			Adj [][][]float64 `json:"adjacency"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		if len(d.Key) != 1000 {
			t.Fatalf("%d keys", len(d.Key))
		}
		label := map[int]string{-1: "input", -2: "output", 0: NameConv3x3, 1: NameConv1x1, 2: NameMaxPool3x3}
		exact := 0
		for i, key := range d.Key {
			var ops []string
			for _, o := range d.Ops[i] {
				if o != -3 { // padding
					ops = append(ops, label[o])
				}
			}
			n := len(ops)
			m := make([][]int, n)
			for r := range m {
				m[r] = make([]int, n)
				for c := range m[r] {
					m[r][c] = int(d.Adj[i][r][c])
				}
			}
			s := mustSpec(t, m, ops)
			if s.Hash().String() != key {
				t.Fatalf("row %d: hash %s, want %s", i, s.Hash(), key)
			}
			rep, ok := byHash(key)
			if !ok || rep.Hash() != s.Hash() {
				t.Fatalf("row %d: %s not enumerated", i, key)
			}
			if rep == s {
				exact++
			}
		}
		if exact != 1000 {
			t.Fatalf("%d of 1000 stored specs equal the enumerated representative", exact)
		}
	})
	t.Run("tiga30001", func(t *testing.T) {
		f, err := os.Open(shared.Path(t, "nb101_slices/nb101_tiga_30001_val_4-12-36-108.csv"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 30002 {
			t.Fatalf("%d rows", len(rows))
		}
		for _, r := range rows[1:] {
			if _, ok := byHash(r[0]); !ok {
				t.Fatalf("%s not enumerated", r[0])
			}
		}
		// The first 20,001 rows are the first 20,001 cells of the space.
		for i, r := range rows[1:20002] {
			if all[i].Hash.String() != r[0] {
				t.Fatalf("cell %d = %s, slice has %s", i, all[i].Hash, r[0])
			}
		}
	})
	t.Run("naslib-zc-500", func(t *testing.T) {
		f, err := os.Open(shared.Path(t, "nb101_slices/naslib_zc_nasbench101_500_decoded.csv"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 501 || rows[0][0] != "hash" || rows[0][1] != "matrix_flat49" || rows[0][2] != "ops" {
			t.Fatalf("%d rows, header %v", len(rows), rows[0])
		}
		for _, r := range rows[1:] {
			// 7x7 matrices that may need pruning; the hash is of the pruned cell.
			s := mustSpec(t, matrixFromString(r[1]), strings.Split(r[2], "|"))
			if s.Hash().String() != r[0] {
				t.Fatalf("%s: cell hashes to %s", r[0], s.Hash())
			}
			if _, ok := byHash(r[0]); !ok {
				t.Fatalf("%s not enumerated", r[0])
			}
		}
	})
	t.Run("best-cells", func(t *testing.T) {
		b, err := os.ReadFile(shared.Path(t, "nb101_slices/nb101_best_cells_by_mean_test.json"))
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]dummyModel
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		if len(d) != 4 {
			t.Fatalf("%d budgets", len(d))
		}
		for budget, m := range d {
			s := mustSpec(t, m.Adjacency, m.Operations)
			if s.Hash().String() != m.Hash {
				t.Fatalf("budget %s: hash %s, want %s", budget, s.Hash(), m.Hash)
			}
			if rep, ok := byHash(m.Hash); !ok || rep != s {
				t.Fatalf("budget %s: representative %v, stored %v", budget, rep, s)
			}
		}
		if d["108"].Hash != "02e5a0247bbdcf2860b7e96f74961594" {
			t.Fatalf("108 optimum %s", d["108"].Hash)
		}
	})
}

// TestHashInvalidOps: Hash of a hand-built spec with an unknown op code does
// not panic and differs from every valid labelling.
func TestHashInvalidOps(t *testing.T) {
	s := Spec{Adj: 1<<1 | 1<<(MaxVertices+2), N: 3, Ops: [MaxVertices]Op{Input, Op(9), Output}}
	got := s.Hash()
	for _, o := range []Op{Conv3x3, Conv1x1, MaxPool3x3} {
		v := s
		v.Ops[1] = o
		if v.Hash() == got {
			t.Fatalf("unknown op hashes like %v", o)
		}
	}
}
