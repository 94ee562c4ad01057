package tfrecord

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/nbquery/nbquery/internal/shared"
	"github.com/nbquery/nbquery/space/nb101"
)

func TestMaskedCRC(t *testing.T) {
	var len155 [8]byte
	binary.LittleEndian.PutUint64(len155[:], 155)
	for _, test := range []struct {
		name string
		in   []byte
		want uint32
	}{
		{"empty", nil, 0xa282ead8},
		{"length-155", len155[:], 0x00563519},
	} {
		t.Run(test.name, func(t *testing.T) {
			if got := MaskedCRC(test.in); got != test.want {
				t.Fatalf("MaskedCRC = %#08x, want %#08x", got, test.want)
			}
		})
	}
}

func TestDecodeTestVector(t *testing.T) {
	b, err := os.ReadFile(shared.Path(t, "nb101_testvectors/raw_metrics_testvector.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tv struct {
		B64 string `json:"raw_metrics_base64"`
	}
	if err := json.Unmarshal(b, &tv); err != nil {
		t.Fatal(err)
	}
	pb, err := base64.StdEncoding.DecodeString(tv.B64)
	if err != nil {
		t.Fatal(err)
	}
	if len(pb) != 155 {
		t.Fatalf("decoded %d bytes, want 155", len(pb))
	}
	var m Metrics
	if err := DecodeMetrics(pb, &m); err != nil {
		t.Fatal(err)
	}
	want := []Eval{
		{0, 0, 0.1002604141831398, 0.09775640815496445, 0.09985977411270142, ""},
		{2, 45.152000427246094, 0.10166265815496445, 0.10526842623949051, 0.10436698794364929, ""},
		{4, 89.90399932861328, 0.3498597741127014, 0.3489583432674408, 0.3504607379436493, ""},
	}
	if m.Params != 8555530 || m.TotalTime != 413.7015450000763 || len(m.Evals) != 3 {
		t.Fatalf("params %d, total time %v, %d evals", m.Params, m.TotalTime, len(m.Evals))
	}
	for i, e := range want {
		if m.Evals[i] != e {
			t.Errorf("evaluation_data[%d] = %+v, want %+v", i, m.Evals[i], e)
		}
	}
	// Re-encoding gives the original bytes.
	if got := AppendMetrics(nil, &m); !bytes.Equal(got, pb) {
		t.Fatalf("AppendMetrics differs from the real message:\n%x\n%x", got, pb)
	}
}

type dummyModel struct {
	Hash          string                          `json:"hash"`
	Adjacency     [][]int                         `json:"module_adjacency"`
	Operations    []string                        `json:"module_operations"`
	Params        int32                           `json:"trainable_parameters"`
	ComputedStats map[string][]map[string]float64 `json:"computed_stats"`
}

// dummyRows turns the 30 real models into tfrecord rows (3 repeats at 108
// epochs each): evaluation_data[1] halfway, [2] final, as api.py reads them.
func dummyRows(t testing.TB) []Row {
	t.Helper()
	b, err := os.ReadFile(shared.Path(t, "nb101_naslib_dummy/nb101_dummy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ms []dummyModel
	if err := json.Unmarshal(b, &ms); err != nil {
		t.Fatal(err)
	}
	var rows []Row
	for _, m := range ms {
		s, err := nb101.NewSpec(m.Adjacency, m.Operations)
		if err != nil {
			t.Fatal(err)
		}
		h, _ := nb101.ParseHash(m.Hash)
		for _, st := range m.ComputedStats["108"] {
			rows = append(rows, Row{Hash: h, Epochs: 108, Spec: s, Metrics: Metrics{
				Params:    m.Params,
				TotalTime: st["final_training_time"] + 100,
				Evals: []Eval{
					{Epoch: 0, TrainAccuracy: 0.1, ValidationAccuracy: 0.1, TestAccuracy: 0.1},
					{54, st["halfway_training_time"], st["halfway_train_accuracy"], st["halfway_validation_accuracy"], st["halfway_test_accuracy"], ""},
					{108, st["final_training_time"], st["final_train_accuracy"], st["final_validation_accuracy"], st["final_test_accuracy"], ""},
				},
			}})
		}
	}
	if len(rows) != 90 {
		t.Fatalf("%d rows, want 90", len(rows))
	}
	return rows
}

func writeRows(t testing.TB, rows []Row) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	var payload []byte
	for i := range rows {
		payload = AppendRow(payload[:0], &rows[i])
		if err := w.Write(payload); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func equalRow(a, b *Row) bool {
	if a.Hash != b.Hash || a.Epochs != b.Epochs || a.Spec != b.Spec || a.Metrics.Params != b.Metrics.Params ||
		a.Metrics.TotalTime != b.Metrics.TotalTime || len(a.Metrics.Evals) != len(b.Metrics.Evals) {
		return false
	}
	for i := range a.Metrics.Evals {
		if a.Metrics.Evals[i] != b.Metrics.Evals[i] {
			return false
		}
	}
	return true
}

func TestRoundTripRealModels(t *testing.T) {
	rows := dummyRows(t)
	file := writeRows(t, rows)
	rr := NewRowReader(bytes.NewReader(file))
	var got Row
	for i := range rows {
		if err := rr.Next(&got); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if !equalRow(&got, &rows[i]) {
			t.Fatalf("row %d: got %+v\nwant %+v", i, got, rows[i])
		}
		if got.Spec.Hash() != got.Hash {
			t.Fatalf("row %d: stored hash %s, cell hashes to %s", i, got.Hash, got.Spec.Hash())
		}
	}
	if err := rr.Next(&got); err != io.EOF {
		t.Fatalf("after last row: %v, want io.EOF", err)
	}
	if rr.R.Offset() != int64(len(file)) {
		t.Fatalf("offset %d, file %d bytes", rr.R.Offset(), len(file))
	}
}

// frame wraps payloads in valid framing.
func frame(payloads ...string) []byte {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, p := range payloads {
		w.Write([]byte(p))
	}
	return buf.Bytes()
}

func TestErrors(t *testing.T) {
	rows := dummyRows(t)
	good := string(AppendRow(nil, &rows[0]))
	goodFile := writeRows(t, rows[:3])
	recLen := len(goodFile) / 3
	flip := func(off int) []byte {
		b := bytes.Clone(goodFile)
		b[off] ^= 0x20
		return b
	}
	b64 := good[strings.LastIndex(good[:len(good)-2], `"`)+1 : len(good)-2]
	// Framed cases: the bad record is the last one, after len(prefix) good ones.
	for _, test := range []struct {
		name   string
		file   []byte
		want   error
		record int64
		field  string
	}{
		{"flipped-data-byte", flip(recLen + 40), ErrCRC, 1, ""},
		{"flipped-length", flip(2 * recLen), ErrCRC, 2, ""},
		{"flipped-data-crc", flip(recLen - 1), ErrCRC, 0, ""},
		{"truncated-header", goodFile[:recLen+5], ErrTruncated, 1, ""},
		{"truncated-data", goodFile[:2*recLen-3], ErrTruncated, 1, ""},
		{"bad-base64", frame(good, strings.Replace(good, b64, "!!!!"+b64[4:], 1)), ErrBase64, 1, FieldMetrics},
		{"bad-json", frame(good, good[:len(good)-1]), ErrJSON, 1, FieldMetrics},
		{"not-an-array", frame(good, `{"a": 1}`), ErrJSON, 1, ""},
		{"unknown-op", frame(good, strings.Replace(good, "conv3x3-bn-relu", "conv5x5-bn-relu", 1)), ErrOp, 1, FieldOperations},
		{"non-square", frame(good, strings.Replace(good, `", "input`, `0", "input`, 1)), ErrShape, 1, FieldAdjacency},
		{"bad-protobuf", frame(good, strings.Replace(good, b64, base64.StdEncoding.EncodeToString([]byte{0x0a, 0x7f, 1})+`\n`, 1)), ErrProto, 1, FieldMetrics},
		{"invalid-cell", frame(good, strings.Replace(good, `", "input`, `", "output`, 1)), ErrSpec, 1, FieldAdjacency},
	} {
		t.Run(test.name, func(t *testing.T) {
			rr := NewRowReader(bytes.NewReader(test.file))
			rr.R.File = "x.tfrecord"
			var row Row
			var err error
			n := 0
			for err == nil {
				if err = rr.Next(&row); err == nil {
					n++
				}
			}
			if !errors.Is(err, test.want) {
				t.Fatalf("err = %v, want %v", err, test.want)
			}
			if int64(n) != test.record {
				t.Fatalf("%d good records before the error, want %d", n, test.record)
			}
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("err %T is not a *RecordError", err)
			}
			// Every record in these files has the same length as a good one.
			wantOff := test.record * int64(recLen)
			if re.Record != test.record || re.Offset != wantOff || re.Field != test.field || re.File != "x.tfrecord" {
				t.Fatalf("record %d offset %d field %q file %q, want record %d offset %d field %q (%v)",
					re.Record, re.Offset, re.Field, re.File, test.record, wantOff, test.field, err)
			}
			if !strings.Contains(err.Error(), "x.tfrecord: record ") || !strings.Contains(err.Error(), " at offset ") {
				t.Fatalf("message %q does not locate the record", err)
			}
		})
	}
}

func TestEscapes(t *testing.T) {
	rows := dummyRows(t)
	good := string(AppendRow(nil, &rows[0]))
	for _, test := range []struct {
		name    string
		payload string
	}{
		{"escaped-slash-and-unicode", strings.Replace(strings.Replace(good, `"input`, `"\u0069nput`, 1), "conv3x3", `conv3x3`, 1)},
		{"whitespace", strings.ReplaceAll(strings.ReplaceAll(good, ", ", " ,\n\t"), "[", " [ ")},
		{"no-newlines-in-base64", strings.ReplaceAll(good, `\n`, "")},
	} {
		t.Run(test.name, func(t *testing.T) {
			var row Row
			if err := ParseRow([]byte(test.payload), &row); err != nil {
				t.Fatal(err)
			}
			if !equalRow(&row, &rows[0]) {
				t.Fatalf("got %+v", row)
			}
		})
	}
}
