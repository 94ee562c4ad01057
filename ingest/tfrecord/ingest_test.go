package tfrecord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/internal/shared"
	"github.com/nbquery/nbquery/space/nb101"
)

// storeSnapshot digests every file of a store, to check that failed
// ingests change nothing.
func storeSnapshot(t *testing.T, dir string) map[string]string { return shared.TreeDigest(t, dir) }

func ingestDummy(t *testing.T) (*index.Store, string, []dummyModel) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "dummy.tfrecord")
	if err := os.WriteFile(file, writeRows(t, dummyRows(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := index.Open(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var progress bytes.Buffer
	res, err := IngestNB101(context.Background(), st, file, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 90 || res.Cells != 30 || res.Role != "table" || !strings.Contains(progress.String(), "90 records, 30 cells") {
		t.Fatalf("result %+v, progress %q", res, progress.String())
	}
	b, err := os.ReadFile(shared.Path(t, "nb101_naslib_dummy/nb101_dummy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ms []dummyModel
	if err := json.Unmarshal(b, &ms); err != nil {
		t.Fatal(err)
	}
	return st, file, ms
}

var metricKeys = [...]string{
	"halfway_training_time", "halfway_train_accuracy", "halfway_validation_accuracy", "halfway_test_accuracy",
	"final_training_time", "final_train_accuracy", "final_validation_accuracy", "final_test_accuracy",
}

func TestIngestRealModels(t *testing.T) {
	st, file, ms := ingestDummy(t)
	tab, err := st.NB101Table()
	if err != nil {
		t.Fatal(err)
	}
	if tab.Len() != 30 || tab.Source().Path != file || tab.Source().Kind != KindTFRecord {
		t.Fatalf("table: %d rows, source %+v", tab.Len(), tab.Source())
	}
	t.Run("get-metrics-from-hash", func(t *testing.T) {
		for _, m := range ms {
			h, _ := nb101.ParseHash(m.Hash)
			s, err := tab.GetMetricsFromHash(h)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := nb101.NewSpec(m.Adjacency, m.Operations)
			if s.Spec != want || s.Params != int64(m.Params) || s.Repeats != [4]int{0, 0, 0, 3} {
				t.Fatalf("%s: fixed %v %d %v", m.Hash, s.Spec, s.Params, s.Repeats)
			}
			if len(s.Computed(4)) != 0 {
				t.Fatalf("%s: runs at 4 epochs", m.Hash)
			}
			for r, run := range s.Computed(108) {
				for k, key := range metricKeys {
					if run[k] != m.ComputedStats["108"][r][key] {
						t.Fatalf("%s repeat %d %s = %v, want %v", m.Hash, r, key, run[k], m.ComputedStats["108"][r][key])
					}
				}
			}
		}
	})
	t.Run("query", func(t *testing.T) {
		m := ms[7]
		spec, _ := nb101.NewSpec(m.Adjacency, m.Operations)
		runs := m.ComputedStats["108"]
		tab.ResetBudgetCounters()
		r := rand.New(rand.NewPCG(3, 4))
		seen := map[int]bool{}
		var wantTime float64
		for range 20 {
			q, err := tab.Query(spec, 108, false, r)
			if err != nil {
				t.Fatal(err)
			}
			run := runs[q.Repeat]
			if q.TestAccuracy != run["final_test_accuracy"] || q.ValidationAccuracy != run["final_validation_accuracy"] ||
				q.TrainAccuracy != run["final_train_accuracy"] || q.TrainingTime != run["final_training_time"] ||
				q.Params != int64(m.Params) || q.Spec != spec {
				t.Fatalf("query %+v does not match repeat %d %v", q, q.Repeat, run)
			}
			seen[q.Repeat] = true
			wantTime += run["final_training_time"]
		}
		if len(seen) != 3 {
			t.Fatalf("20 draws used repeats %v", seen)
		}
		tt, ep := tab.BudgetCounters()
		if tt != wantTime || ep != 20*108 {
			t.Fatalf("budget counters %v, %d; want %v, %d", tt, ep, wantTime, 20*108)
		}
		// Same seed, same draws.
		a, _ := tab.Query(spec, 108, true, rand.New(rand.NewPCG(9, 9)))
		b, _ := tab.Query(spec, 108, true, rand.New(rand.NewPCG(9, 9)))
		if a != b || a.TestAccuracy != runs[a.Repeat]["halfway_test_accuracy"] {
			t.Fatalf("seeded halfway queries differ: %+v %+v", a, b)
		}
		if _, ep := tab.BudgetCounters(); ep != 20*108+2*54 {
			t.Fatalf("epochs %d after two halfway queries", ep)
		}
		tab.ResetBudgetCounters()
		if tt, ep := tab.BudgetCounters(); tt != 0 || ep != 0 {
			t.Fatalf("after reset: %v %d", tt, ep)
		}
		q, err := tab.QueryRepeat(spec, 108, false, 2)
		if err != nil || q.ValidationAccuracy != runs[2]["final_validation_accuracy"] {
			t.Fatalf("QueryRepeat: %+v %v", q, err)
		}
		q, err = tab.QueryMean(spec, 108, false)
		want := (runs[0]["final_test_accuracy"] + runs[1]["final_test_accuracy"] + runs[2]["final_test_accuracy"]) / 3
		if err != nil || q.TestAccuracy != want || q.Repeat != -1 {
			t.Fatalf("QueryMean: %+v %v, want test %v", q, err, want)
		}
	})
	t.Run("errors", func(t *testing.T) {
		spec, _ := nb101.NewSpec(ms[0].Adjacency, ms[0].Operations)
		r := rand.New(rand.NewPCG(1, 1))
		for _, test := range []struct {
			name string
			run  func() error
			want error
		}{
			{"budget-absent", func() error { _, err := tab.Query(spec, 4, false, r); return err }, index.ErrUnavailable},
			{"budget-invalid", func() error { _, err := tab.Query(spec, 5, false, r); return err }, nb101.ErrOutOfDomain},
			{"repeat-absent", func() error { _, err := tab.QueryRepeat(spec, 108, false, 3); return err }, index.ErrUnavailable},
			{"cell-absent", func() error {
				s, _ := nb101.NewSpec([][]int{{0, 1}, {0, 0}}, []string{"input", "output"})
				_, err := tab.Query(s, 108, false, r)
				return err
			}, index.ErrNotFound},
			{"topk-absent-budget", func() error {
				_, err := tab.TopK(index.NB101Select{Metric: index.FinalTestAccuracy, Epochs: 36, Repeat: -1}, 3, false)
				return err
			}, index.ErrUnavailable},
		} {
			t.Run(test.name, func(t *testing.T) {
				if err := test.run(); !errors.Is(err, test.want) {
					t.Fatalf("err = %v, want %v", err, test.want)
				}
			})
		}
	})
	t.Run("iterate-and-rank", func(t *testing.T) {
		var got, want []string
		for h := range tab.HashIterator() {
			got = append(got, h.String())
		}
		for _, m := range ms {
			want = append(want, m.Hash)
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("HashIterator = %v", got)
		}
		top, err := tab.TopK(index.NB101Select{Metric: index.FinalTestAccuracy, Epochs: 108, Repeat: index.NB101MeanRepeats}, 3, false)
		if err != nil {
			t.Fatal(err)
		}
		// FACTS.md: best mean test in the slice.
		if len(top) != 3 || top[0].Hash.String() != "ff9707907f5c17ef8f80cc68fff30f74" || top[0].Value != 0.929687519868215 ||
			top[1].Value > top[0].Value || top[2].Value > top[1].Value {
			t.Fatalf("top-3 = %+v", top)
		}
		sum, err := tab.Summary(index.NB101Select{Metric: index.FinalTestAccuracy, Epochs: 108, Repeat: index.NB101MeanRepeats})
		if err != nil || sum.N != 30 || sum.Max != top[0].Value || sum.ArgMax != top[0].Hash || sum.Std <= 0 || sum.Mean >= sum.Max {
			t.Fatalf("summary %+v %v", sum, err)
		}
	})
	t.Run("reingest-unchanged", func(t *testing.T) {
		before := storeSnapshot(t, st.Dir())
		if _, err := IngestNB101(context.Background(), st, file, nil); !errors.Is(err, index.ErrUnchanged) {
			t.Fatalf("err = %v, want ErrUnchanged", err)
		}
		if after := storeSnapshot(t, st.Dir()); !mapsEqual(before, after) {
			t.Fatal("store changed")
		}
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestIngestBadInputLeavesStoreUnchanged(t *testing.T) {
	st, _, _ := ingestDummy(t)
	good := writeRows(t, dummyRows(t))
	dir := t.TempDir()
	rows := dummyRows(t)
	wrongHash := slices.Clone(rows[:3])
	wrongHash[1].Hash[0] ^= 1
	wrongHash[2].Hash = wrongHash[1].Hash
	badEpochs := slices.Clone(rows[:1])
	badEpochs[0].Epochs = 100
	fourRepeats := append(slices.Clone(rows[:3]), rows[0])
	flipped := bytes.Clone(good)
	flipped[len(good)/2] ^= 1
	for _, test := range []struct {
		name string
		file []byte
		want error
	}{
		{"flipped-byte", flipped, ErrCRC},
		{"truncated", good[:len(good)-7], ErrTruncated},
		{"hash-mismatch", writeRows(t, wrongHash), ErrHash},
		{"bad-epochs", writeRows(t, badEpochs), index.ErrNB101Input},
		{"four-repeats", writeRows(t, fourRepeats), index.ErrNB101Input},
		{"non-square", frame(strings.Replace(string(AppendRow(nil, &rows[0])), `", "input`, `1", "input`, 1)), ErrShape},
	} {
		t.Run(test.name, func(t *testing.T) {
			p := filepath.Join(dir, test.name+".tfrecord")
			os.WriteFile(p, test.file, 0o644)
			before := storeSnapshot(t, st.Dir())
			_, err := IngestNB101(context.Background(), st, p, nil)
			if !errors.Is(err, test.want) {
				t.Fatalf("err = %v, want %v", err, test.want)
			}
			var re *RecordError
			if !errors.As(err, &re) || re.File != p {
				t.Fatalf("err %v does not name the file and record", err)
			}
			if after := storeSnapshot(t, st.Dir()); !mapsEqual(before, after) {
				t.Fatal("store changed")
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := filepath.Join(dir, "good.tfrecord")
	os.WriteFile(p, good, 0o644)
	if _, err := IngestNB101(ctx, st, p, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ingest: %v", err)
	}
}

func TestPartialTiga(t *testing.T) {
	dir := t.TempDir()
	st, err := index.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	path := shared.Path(t, "nb101_slices/nb101_tiga_30001_val_4-12-36-108.csv")
	res, err := IngestNB101Partial(context.Background(), st, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Cells != 30001 || !strings.HasPrefix(res.Role, "partial/") {
		t.Fatalf("result %+v", res)
	}
	tab, err := st.NB101Table()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range index.NB101Epochs {
		if !tab.Has(index.FinalValidationAccuracy, e) || tab.Has(index.FinalTestAccuracy, e) {
			t.Fatalf("presence at %d epochs is wrong", e)
		}
	}
	if !tab.Has(index.FinalTrainingTime, 108) || tab.Has(index.FinalTrainingTime, 4) {
		t.Fatal("training time presence is wrong")
	}
	// Row 00005c14...: README/nasbench-rs cell; matrix and ops recovered from the space.
	spec, _ := nb101.FromParts("0100110001000000010010000010000001000000010000000",
		[]nb101.Op{nb101.Input, nb101.Conv3x3, nb101.MaxPool3x3, nb101.Conv3x3, nb101.Conv3x3, nb101.Conv1x1, nb101.Output})
	q, err := tab.Query(spec, 108, false, rand.New(rand.NewPCG(1, 1)))
	if !errors.Is(err, index.ErrUnavailable) || !strings.Contains(err.Error(), "final_train_accuracy, final_test_accuracy") {
		t.Fatalf("err = %v, want ErrUnavailable naming the missing metrics", err)
	}
	if q.ValidationAccuracy != 0.930488765 || q.TrainingTime != 1768.97595 || q.Params != 8555530 || q.Repeat != 0 ||
		q.TestAccuracy == q.TestAccuracy || q.Spec != spec {
		t.Fatalf("query %+v", q)
	}
	q, err = tab.Query(spec, 4, false, rand.New(rand.NewPCG(1, 1)))
	if q.ValidationAccuracy != 0.360476762 || !errors.Is(err, index.ErrUnavailable) {
		t.Fatalf("query at 4: %+v %v", q, err)
	}
	val108 := index.NB101Select{Metric: index.FinalValidationAccuracy, Epochs: 108, Repeat: 0}
	top, err := tab.TopK(val108, 1, false)
	if err != nil || top[0].Hash.String()[:8] != "096f593e" || top[0].Value < 0.949 || top[0].Value > 0.9492 {
		t.Fatalf("top = %+v %v", top, err)
	}
	sum, err := tab.Summary(val108)
	if err != nil || sum.N != 30001 || sum.Mean < 0.9100 || sum.Mean > 0.9110 {
		t.Fatalf("summary %+v %v", sum, err)
	}
	if _, err := tab.TopK(index.NB101Select{Metric: index.FinalTestAccuracy, Epochs: 108, Repeat: 0}, 5, false); !errors.Is(err, index.ErrUnavailable) {
		t.Fatalf("top-k of an absent metric: %v", err)
	}
	if _, err := tab.Value(top[0].Row, index.NB101Select{Metric: index.FinalValidationAccuracy, Epochs: 108, Repeat: 1}); !errors.Is(err, index.ErrUnavailable) {
		t.Fatalf("second repeat: %v", err)
	}
}

func TestPartialJSON(t *testing.T) {
	for _, test := range []struct {
		name  string
		file  string
		kind  string
		cells int
		check func(t *testing.T, tab *index.NB101Table)
	}{
		{"best-cells", "nb101_slices/nb101_best_cells_by_mean_test.json", KindPartialStats, 4, func(t *testing.T, tab *index.NB101Table) {
			h, _ := nb101.ParseHash("02e5a0247bbdcf2860b7e96f74961594")
			s, err := tab.GetMetricsFromHash(h)
			if err != nil {
				t.Fatal(err)
			}
			runs := s.Computed(108)
			if len(runs) != 3 || runs[0][index.FinalTestAccuracy] != 0.9445112347602844 ||
				runs[1][index.FinalTestAccuracy] != 0.944411039352417 || runs[2][index.FinalTestAccuracy] != 0.9406049847602844 ||
				s.Params != 32426634 {
				t.Fatalf("stats %+v", s)
			}
			q, err := tab.QueryMean(s.Spec, 108, false)
			// The published global optimum, to the last digit.
			if err != nil || q.TestAccuracy != 0.943175752957662 {
				t.Fatalf("mean test = %v (%v), want 0.943175752957662", q.TestAccuracy, err)
			}
			top, _ := tab.TopK(index.NB101Select{Metric: index.FinalTestAccuracy, Epochs: 108, Repeat: index.NB101MeanRepeats}, 1, false)
			if top[0].Hash != h {
				t.Fatalf("top = %+v", top)
			}
		}},
		{"dummy", "nb101_naslib_dummy/nb101_dummy.json", KindPartialStats, 30, func(t *testing.T, tab *index.NB101Table) {
			if !tab.Has(index.HalfwayTestAccuracy, 108) || tab.Has(index.HalfwayTestAccuracy, 36) {
				t.Fatal("presence")
			}
		}},
		{"tiga-1k-columnar", "nb101_slices/tiga1231_nasbench-vis_data-1k.json", KindPartialColumnar, 1000, func(t *testing.T, tab *index.NB101Table) {
			h, _ := nb101.ParseHash("00005c142e6f48ac74fdcf73e3439874")
			s, err := tab.GetMetricsFromHash(h)
			if err != nil || s.Computed(108)[0][index.FinalValidationAccuracy] != 0.9304887652397156 ||
				s.Computed(4)[0][index.FinalValidationAccuracy] != 0.3604767620563507 || s.Params != 8555530 {
				t.Fatalf("stats %+v %v", s, err)
			}
		}},
	} {
		t.Run(test.name, func(t *testing.T) {
			st, err := index.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			res, err := IngestNB101Partial(context.Background(), st, shared.Path(t, test.file), nil)
			if err != nil {
				t.Fatal(err)
			}
			tab, err := st.NB101Table()
			if err != nil {
				t.Fatal(err)
			}
			if res.Cells != test.cells || tab.Len() != test.cells || tab.Source().Kind != test.kind {
				t.Fatalf("%d cells, table %d, kind %s", res.Cells, tab.Len(), tab.Source().Kind)
			}
			test.check(t, tab)
		})
	}
}

func TestPartialBadInput(t *testing.T) {
	dir := t.TempDir()
	st, err := index.Open(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, test := range []struct {
		name, content string
		want          error
	}{
		{"no-metric-columns", "hash,foo\n00005c142e6f48ac74fdcf73e3439874,1\n", ErrPartial},
		{"bad-hash", "hash,val_acc_108\nxyz,0.5\n", ErrPartial},
		{"unknown-hash", "hash,val_acc_108\n00000000000000000000000000000000,0.5\n", ErrHash},
		{"bad-float", "hash,val_acc_108\n00005c142e6f48ac74fdcf73e3439874,abc\n", ErrPartial},
		{"bad-json", `[{"hash": 3}]`, ErrJSON},
		{"spec-hash-mismatch", `[{"hash": "00005c142e6f48ac74fdcf73e3439874", "module_adjacency": [[0,1],[0,0]], "module_operations": ["input","output"]}]`, ErrHash},
		// Duplicates: a 4th distinct run, two stats records of one cell that
		// disagree.
		{"four-distinct-runs", "hash,val_acc_108\n" + strings.Repeat("00005c142e6f48ac74fdcf73e3439874,0.5\n", 2) +
			"00005c142e6f48ac74fdcf73e3439874,0.6\n00005c142e6f48ac74fdcf73e3439874,0.7\n00005c142e6f48ac74fdcf73e3439874,0.8\n", index.ErrNB101Input},
		{"stats-records-disagree", `[{"hash": "00005c142e6f48ac74fdcf73e3439874", "computed_stats": {"108": [{"final_test_accuracy": 0.9}]}},
			{"hash": "00005c142e6f48ac74fdcf73e3439874", "computed_stats": {"108": [{"final_test_accuracy": 0.8}]}}]`, ErrDuplicate},
	} {
		t.Run(test.name, func(t *testing.T) {
			p := filepath.Join(dir, test.name+".csv")
			os.WriteFile(p, []byte(test.content), 0o644)
			before := storeSnapshot(t, st.Dir())
			_, err := IngestNB101Partial(context.Background(), st, p, nil)
			if !errors.Is(err, test.want) {
				t.Fatalf("err = %v, want %v", err, test.want)
			}
			if (test.want == index.ErrNB101Input || test.want == ErrDuplicate) && !strings.Contains(err.Error(), "00005c142e6f48ac74fdcf73e3439874") {
				t.Fatalf("err = %v: does not name the cell", err)
			}
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("err = %v: does not name the file", err)
			}
			if after := storeSnapshot(t, st.Dir()); !mapsEqual(before, after) {
				t.Fatal("store changed")
			}
		})
	}
}

// TestPartialDuplicateRule: rows of one cell at one budget are its repeats
// in file order, an identical row counting once; a stats record listed
// twice with the same values counts once.
func TestPartialDuplicateRule(t *testing.T) {
	const cell = "00005c142e6f48ac74fdcf73e3439874"
	for _, tc := range []struct {
		name, content string
		want          []float64 // final_validation_accuracy of the repeats at 108 epochs
	}{
		{"rows.csv", "hash,val_acc_108\n" + cell + ",0.5\n" + cell + ",0.5\n" + cell + ",0.6\n" + cell + ",0.5\n", []float64{0.5, 0.6}},
		{"records.json", `[{"hash": "` + cell + `", "computed_stats": {"108": [{"final_validation_accuracy": 0.7}]}},
			{"hash": "` + cell + `", "computed_stats": {"108": [{"final_validation_accuracy": 0.7}]}}]`, []float64{0.7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := index.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			p := filepath.Join(t.TempDir(), tc.name)
			os.WriteFile(p, []byte(tc.content), 0o644)
			if _, err := IngestNB101Partial(context.Background(), st, p, nil); err != nil {
				t.Fatal(err)
			}
			tab, err := st.NB101Table()
			if err != nil {
				t.Fatal(err)
			}
			h, _ := nb101.ParseHash(cell)
			s, err := tab.GetMetricsFromHash(h)
			if err != nil {
				t.Fatal(err)
			}
			var got []float64
			for _, r := range s.Computed(108) {
				got = append(got, r[index.FinalValidationAccuracy])
			}
			if !slices.Equal(got, tc.want) || tab.Len() != 1 {
				t.Fatalf("repeats %v (%d cells), want %v", got, tab.Len(), tc.want)
			}
		})
	}
}
