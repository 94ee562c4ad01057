package arrowfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// table is test data covering every supported type: rows of each column.
type table struct {
	rows   int
	i32    []int32
	i64    []int64
	u8     []byte
	u64    []uint64
	f64    []float64
	str    []string
	fsb    []byte // 7 bytes a row
	list   []float64
	listN  int
	fields []Field
}

func newTable(rng *rand.Rand, rows, listN int) *table {
	t := &table{rows: rows, listN: listN}
	for i := range rows {
		t.i32 = append(t.i32, int32(rng.Uint32()))
		t.i64 = append(t.i64, int64(rng.Uint64()))
		t.u8 = append(t.u8, byte(rng.IntN(256)))
		t.u64 = append(t.u64, rng.Uint64())
		v := rng.NormFloat64()
		if i%7 == 3 {
			v = math.NaN()
		}
		t.f64 = append(t.f64, v)
		s := make([]byte, rng.IntN(12))
		for k := range s {
			s[k] = "|~+abcnor_conv0123"[rng.IntN(18)]
		}
		t.str = append(t.str, string(s))
		for range 7 {
			t.fsb = append(t.fsb, byte(rng.IntN(256)))
		}
		for range listN {
			t.list = append(t.list, rng.Float64()*100)
		}
	}
	t.fields = []Field{{"row", Int32}, {"i64", Int64}, {"u8", Uint8}, {"u64", Uint64}, {"f", Float64},
		{"arch", String}, {"ops", FixedSizeBinaryOf(7)}, {"acc", FixedSizeListOf(listN, Float64)}}
	return t
}

func offsets(strs []string) ([]byte, []byte) {
	off := []int32{0}
	var data []byte
	for _, s := range strs {
		data = append(data, s...)
		off = append(off, int32(len(data)))
	}
	return Bytes(off), data
}

// ours writes t in batches of batchRows with this package.
func (t *table) ours(tb testing.TB, batchRows int) []byte {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Schema{Fields: t.fields, Metadata: []KeyValue{{"schema", "test-1"}, {"empty", ""}}})
	if err != nil {
		tb.Fatal(err)
	}
	for lo := 0; lo < t.rows || lo == 0; lo += batchRows {
		hi := min(lo+batchRows, t.rows)
		off, data := offsets(t.str[lo:hi])
		list := Bytes(t.list[lo*t.listN : hi*t.listN])
		cols := []WriteColumn{{Data: Bytes(t.i32[lo:hi])}, {Data: Bytes(t.i64[lo:hi])}, {Data: t.u8[lo:hi]},
			{Data: Bytes(t.u64[lo:hi])}, {Data: Bytes(t.f64[lo:hi])}, {Data: data, Offsets: off}, {Data: t.fsb[7*lo : 7*hi]},
			// the list column streamed, as the NB101 table's runs are
			{Len: int64(len(list)), Stream: func(w io.Writer) error { _, err := w.Write(list); return err }}}
		if err := w.Write(hi-lo, cols); err != nil {
			tb.Fatal(err)
		}
		if t.rows == 0 {
			break
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// theirs writes t in batches of batchRows with arrow-go.
func (t *table) theirs(tb testing.TB, batchRows int) []byte {
	mem := memory.DefaultAllocator
	md := arrow.NewMetadata([]string{"schema", "empty"}, []string{"test-1", ""})
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "row", Type: arrow.PrimitiveTypes.Int32}, {Name: "i64", Type: arrow.PrimitiveTypes.Int64},
		{Name: "u8", Type: arrow.PrimitiveTypes.Uint8}, {Name: "u64", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64}, {Name: "arch", Type: arrow.BinaryTypes.String},
		{Name: "ops", Type: &arrow.FixedSizeBinaryType{ByteWidth: 7}},
		{Name: "acc", Type: arrow.FixedSizeListOf(int32(t.listN), arrow.PrimitiveTypes.Float64)},
	}, &md)
	var buf bytes.Buffer
	w, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema))
	if err != nil {
		tb.Fatal(err)
	}
	for lo := 0; lo < t.rows; lo += batchRows {
		hi := min(lo+batchRows, t.rows)
		b := array.NewRecordBuilder(mem, schema)
		b.Field(0).(*array.Int32Builder).AppendValues(t.i32[lo:hi], nil)
		b.Field(1).(*array.Int64Builder).AppendValues(t.i64[lo:hi], nil)
		b.Field(2).(*array.Uint8Builder).AppendValues(t.u8[lo:hi], nil)
		b.Field(3).(*array.Uint64Builder).AppendValues(t.u64[lo:hi], nil)
		b.Field(4).(*array.Float64Builder).AppendValues(t.f64[lo:hi], nil)
		b.Field(5).(*array.StringBuilder).AppendValues(t.str[lo:hi], nil)
		fb := b.Field(6).(*array.FixedSizeBinaryBuilder)
		for i := lo; i < hi; i++ {
			fb.Append(t.fsb[7*i : 7*i+7])
		}
		lb := b.Field(7).(*array.FixedSizeListBuilder)
		for i := lo; i < hi; i++ {
			lb.Append(true)
			lb.ValueBuilder().(*array.Float64Builder).AppendValues(t.list[i*t.listN:(i+1)*t.listN], nil)
		}
		rec := b.NewRecordBatch()
		if err := w.Write(rec); err != nil {
			tb.Fatal(err)
		}
		rec.Release()
		b.Release()
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// checkOurs reads file with this package and compares every value.
func (t *table) checkOurs(tb testing.TB, file []byte, batchRows int) {
	f, err := Open(file)
	if err != nil {
		tb.Fatal(err)
	}
	if len(f.Schema().Fields) != len(t.fields) {
		tb.Fatalf("schema %v", f.Schema().Fields)
	}
	for i, fd := range f.Schema().Fields {
		if fd.Name != t.fields[i].Name || !fd.Type.Equal(t.fields[i].Type) {
			tb.Errorf("field %d: %s %s, want %s %s", i, fd.Name, fd.Type, t.fields[i].Name, t.fields[i].Type)
		}
	}
	if got := f.Schema().Meta("schema"); got != "test-1" {
		tb.Errorf("metadata schema=%q", got)
	}
	if want := (t.rows + batchRows - 1) / batchRows; f.NumBatches() != want && t.rows > 0 {
		tb.Fatalf("%d batches, want %d", f.NumBatches(), want)
	}
	row := 0
	for bi := range f.NumBatches() {
		b, err := f.Batch(bi)
		if err != nil {
			tb.Fatal(err)
		}
		i32, i64, u64, fl := Int32s(b.Columns[0].Data), Int64s(b.Columns[1].Data), Uint64s(b.Columns[3].Data), Float64s(b.Columns[4].Data)
		list := Float64s(b.Columns[7].Data)
		if len(i32) != b.Rows || len(list) != b.Rows*t.listN || b.Columns[5].Len() != b.Rows {
			tb.Fatalf("batch %d: %d rows, %d int32s, %d list values", bi, b.Rows, len(i32), len(list))
		}
		for k := range b.Rows {
			r := row + k
			if i32[k] != t.i32[r] || i64[k] != t.i64[r] || b.Columns[2].Data[k] != t.u8[r] || u64[k] != t.u64[r] ||
				math.Float64bits(fl[k]) != math.Float64bits(t.f64[r]) || !strEq(b.Columns[5], k, t.str[r]) ||
				!bytes.Equal(b.Columns[6].Data[7*k:7*k+7], t.fsb[7*r:7*r+7]) {
				tb.Fatalf("row %d differs", r)
			}
			for e := range t.listN {
				if list[k*t.listN+e] != t.list[r*t.listN+e] {
					tb.Fatalf("row %d list %d differs", r, e)
				}
			}
		}
		row += b.Rows
	}
	if row != t.rows {
		tb.Fatalf("read %d rows, want %d", row, t.rows)
	}
}

// checkTheirs reads file with arrow-go and compares every value.
func (t *table) checkTheirs(tb testing.TB, file []byte) {
	r, err := ipc.NewFileReader(bytes.NewReader(file))
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	if v, _ := r.Schema().Metadata().GetValue("schema"); v != "test-1" {
		tb.Errorf("arrow-go reads metadata schema=%q", v)
	}
	row := 0
	for bi := range r.NumRecords() {
		rec, err := r.RecordBatchAt(bi)
		if err != nil {
			tb.Fatal(err)
		}
		n := int(rec.NumRows())
		for k := range n {
			x := row + k
			if rec.Column(0).(*array.Int32).Value(k) != t.i32[x] || rec.Column(1).(*array.Int64).Value(k) != t.i64[x] ||
				rec.Column(2).(*array.Uint8).Value(k) != t.u8[x] || rec.Column(3).(*array.Uint64).Value(k) != t.u64[x] ||
				math.Float64bits(rec.Column(4).(*array.Float64).Value(k)) != math.Float64bits(t.f64[x]) ||
				rec.Column(5).(*array.String).Value(k) != t.str[x] ||
				!bytes.Equal(rec.Column(6).(*array.FixedSizeBinary).Value(k), t.fsb[7*x:7*x+7]) {
				tb.Fatalf("arrow-go reads row %d differently", x)
			}
			l := rec.Column(7).(*array.FixedSizeList)
			vals := l.ListValues().(*array.Float64).Float64Values()
			for e := range t.listN {
				if vals[k*t.listN+e] != t.list[x*t.listN+e] {
					tb.Fatalf("arrow-go reads row %d list %d differently", x, e)
				}
			}
		}
		rec.Release()
		row += n
	}
	if row != t.rows {
		tb.Fatalf("arrow-go read %d rows, want %d", row, t.rows)
	}
}

// TestAgainstArrowGo: files this package writes read back identically here
// and in arrow-go, and files arrow-go writes read identically here.
func TestAgainstArrowGo(t *testing.T) {
	for _, test := range []struct{ rows, batchRows, listN int }{
		{1, 512, 1}, {3, 512, 12}, {1000, 512, 200}, {513, 512, 3}, {1024, 256, 2}, {37, 5, 4},
	} {
		tb := newTable(rand.New(rand.NewPCG(uint64(test.rows), 7)), test.rows, test.listN)
		ours := tb.ours(t, test.batchRows)
		tb.checkOurs(t, ours, test.batchRows)
		tb.checkTheirs(t, ours)
		tb.checkOurs(t, tb.theirs(t, test.batchRows), test.batchRows)
	}
}

func TestEmpty(t *testing.T) {
	tb := newTable(rand.New(rand.NewPCG(1, 1)), 0, 2)
	file := tb.ours(t, 8)
	f, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Batch(0)
	if err != nil || b.Rows != 0 {
		t.Fatalf("batch %v, %v", b, err)
	}
	tb.checkTheirs(t, file)
}

func TestWriterRejects(t *testing.T) {
	for _, s := range []Schema{
		{Fields: []Field{{"x", Type{ID: Int, Bits: 12}}}},
		{Fields: []Field{{"x", FixedSizeListOf(3, String)}}},
		{Fields: []Field{{"x", FixedSizeListOf(3, FixedSizeListOf(2, Float64))}}},
		{Fields: []Field{{"x", Type{ID: 9}}}},
	} {
		if _, err := NewWriter(io.Discard, s); err == nil {
			t.Errorf("schema %v accepted", s)
		}
	}
	w, err := NewWriter(io.Discard, Schema{Fields: []Field{{"x", Float64}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(2, []WriteColumn{{Data: make([]byte, 8)}}); err == nil {
		t.Error("8 bytes for 2 float64 rows accepted")
	}
	if err := w.Write(1, []WriteColumn{{Len: 8, Stream: func(w io.Writer) error { _, err := w.Write(make([]byte, 4)); return err }}}); err == nil {
		t.Error("a stream short of its length accepted")
	}
}

// TestReaderRejects: damaged files are errors wrapping ErrFormat, never panics.
func TestReaderRejects(t *testing.T) {
	tb := newTable(rand.New(rand.NewPCG(2, 2)), 20, 3)
	good := tb.ours(t, 8)
	cases := map[string][]byte{
		"empty":     nil,
		"no magic":  append([]byte("ARROW2"), good[6:]...),
		"truncated": good[:len(good)-1],
		"half":      good[:len(good)/2],
	}
	// Every single-byte corruption of the footer and first message.
	for i := len(good) - 300; i < len(good)-10; i++ {
		b := bytes.Clone(good)
		b[i] ^= 0xA5
		cases["footer byte "+strconv.Itoa(i)] = b
	}
	for name, b := range cases {
		f, err := Open(b)
		if err == nil {
			for i := range f.NumBatches() {
				if _, err = f.Batch(i); err != nil {
					break
				}
			}
		}
		if err != nil && !errors.Is(err, ErrFormat) {
			t.Errorf("%s: error %v does not wrap ErrFormat", name, err)
		}
		if err == nil && (name == "empty" || name == "no magic" || name == "truncated" || name == "half") {
			t.Errorf("%s: accepted", name)
		}
	}
	// A utf8 offset past the data: the rows it bounds are refused, the
	// others read.
	tb.str[3] = "abc"
	b := tb.ours(t, 8)
	i := bytes.Index(b, Bytes([]int32{0, int32(len(tb.str[0]))}))
	if i < 0 {
		t.Fatal("offsets not found")
	}
	binary.LittleEndian.PutUint32(b[i+4:], 1<<30)
	f, err := Open(b)
	if err != nil {
		t.Fatal(err)
	}
	bt, err := f.Batch(0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		s, ok := bt.Columns[5].Str(i)
		if want := i == 2; ok != want || (ok && s != tb.str[2]) {
			t.Errorf("row %d beside a utf8 offset past the data: %q, %v", i, s, ok)
		}
	}
}

// FuzzOpen: no input makes Open or Batch panic, and a batch they accept
// has every column as long as its rows need.
func FuzzOpen(f *testing.F) {
	tb := newTable(rand.New(rand.NewPCG(3, 3)), 10, 2)
	f.Add(tb.ours(f, 4))
	f.Add(tb.theirs(f, 4))
	f.Add(tb.ours(f, 100))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Open(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		for i := range file.NumBatches() {
			bt, err := file.Batch(i)
			if err != nil {
				continue
			}
			for j, fd := range file.Schema().Fields {
				c := bt.Columns[j]
				if fd.Type.ID == Utf8 {
					for k := range c.Len() {
						c.Str(k)
					}
					if c.Len() != bt.Rows {
						t.Fatalf("utf8 column of %d rows in a batch of %d", c.Len(), bt.Rows)
					}
				} else if len(c.Data) != bt.Rows*fd.Type.valueBytes() {
					t.Fatalf("column %s: %d bytes for %d rows", fd.Name, len(c.Data), bt.Rows)
				}
			}
		}
	})
}

func strEq(c Column, i int, want string) bool {
	s, ok := c.Str(i)
	return ok && s == want
}
