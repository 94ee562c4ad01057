package index

import (
	"fmt"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nbquery/nbquery/space/nb201"
	"github.com/nbquery/nbquery/space/sss"
)

// archCode maps an arch string to its dense space code, or -1 if the
// benchmark has no code for it.
func archCode(bench, arch string) int {
	switch bench {
	case NB201:
		c, err := nb201.Parse(arch)
		if err != nil {
			return -1
		}
		return c.Code()
	case NATSSSS:
		c, err := sss.Parse(arch)
		if err != nil {
			return -1
		}
		return c.Code()
	}
	return -1
}

// archError says which part of a malformed arch string is wrong; it matches
// ErrInvalid.
func archError(bench, arch string) error {
	var err error
	switch bench {
	case NB201:
		_, err = nb201.Parse(arch)
	case NATSSSS:
		_, err = sss.Parse(arch)
	}
	if err == nil {
		return fmt.Errorf("%w: %q has no code in %s", ErrNotFound, arch, bench)
	}
	// The parser's message without its package prefix.
	msg := err.Error()
	if i := strings.Index(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return Invalidf("malformed %s architecture: %s", bench, msg)
}

// spaceSize is the number of codes of a benchmark's space (0 if none).
func spaceSize(bench string) int {
	switch bench {
	case NB201:
		return nb201.NumCells
	case NATSSSS:
		return sss.NumConfigs
	}
	return 0
}

// writeArchs writes the arch list of bench: one row per index with the arch
// string and its space code.
func writeArchs(path, bench string, archs []string) error {
	mem := memory.DefaultAllocator
	sb := array.NewStringBuilder(mem)
	cb := array.NewInt32Builder(mem)
	defer sb.Release()
	defer cb.Release()
	seen := map[string]int{}
	for i, a := range archs {
		if j, dup := seen[a]; dup {
			return fmt.Errorf("index: arch list: index %d repeats index %d (%s)", i, j, a)
		}
		seen[a] = i
		code := archCode(bench, a)
		if spaceSize(bench) > 0 && code < 0 {
			return fmt.Errorf("index: arch list: index %d: %q is not a %s architecture", i, a, bench)
		}
		sb.Append(a)
		cb.Append(int32(code))
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "arch", Type: arrow.BinaryTypes.String},
		{Name: "code", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	as, cs := sb.NewArray(), cb.NewArray()
	defer as.Release()
	defer cs.Release()
	rec := array.NewRecordBatch(schema, []arrow.Array{as, cs}, int64(len(archs)))
	defer rec.Release()
	return WriteFileAtomic(path, func(f *os.File) error {
		fw, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
		if err != nil {
			return err
		}
		if err := fw.Write(rec); err != nil {
			return err
		}
		return fw.Close()
	})
}

// archTable is the mapped arch list of a benchmark.
type archTable struct {
	names *array.String
	codes []int32
	inv   []int32 // code -> index, -1 if absent; built on first use
	rec   arrow.RecordBatch
}

func (s *Store) loadArchs(bm *benchManifest) (*archTable, error) {
	m, err := s.mapped(bm.Archs)
	if err != nil {
		return nil, err
	}
	r, err := ipc.NewMappedFileReader(m.data)
	if err != nil {
		return nil, fmt.Errorf("index: %s: %w: %v", bm.Archs, ErrCorrupt, err)
	}
	defer r.Close()
	if r.NumRecords() != 1 {
		return nil, fmt.Errorf("index: %s: %w: %d record batches", bm.Archs, ErrCorrupt, r.NumRecords())
	}
	rec, err := r.RecordBatchAt(0)
	if err != nil {
		return nil, fmt.Errorf("index: %s: %w: %v", bm.Archs, ErrCorrupt, err)
	}
	names, ok1 := rec.Column(0).(*array.String)
	codes, ok2 := rec.Column(1).(*array.Int32)
	if !ok1 || !ok2 {
		rec.Release()
		return nil, fmt.Errorf("index: %s: %w: unexpected column types", bm.Archs, ErrCorrupt)
	}
	return &archTable{names: names, codes: codes.Int32Values(), rec: rec}, nil
}

// Archs returns the stored architecture list of bench in index order.
func (s *Store) Archs(bench string) ([]string, error) {
	b, err := s.Bench(bench)
	if err != nil {
		return nil, err
	}
	at, err := b.archTable()
	if err != nil {
		return nil, err
	}
	out := make([]string, at.names.Len())
	for i := range out {
		out[i] = at.names.Value(i)
	}
	return out, nil
}

func (s *Store) checkArchs(bench string, bm *benchManifest, archs []string) error {
	stored, err := s.loadArchs(bm)
	if err != nil {
		return err
	}
	defer stored.rec.Release()
	if stored.names.Len() != len(archs) {
		return fmt.Errorf("%w: %s has %d architectures, the source %d", ErrArchMismatch, bench, stored.names.Len(), len(archs))
	}
	for i, a := range archs {
		if stored.names.Value(i) != a {
			return fmt.Errorf("%w: %s index %d is %q in the store, %q in the source", ErrArchMismatch, bench, i, stored.names.Value(i), a)
		}
	}
	return nil
}
