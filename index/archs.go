package index

import (
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/nbquery/nbquery/internal/arrowfile"
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
	seen := map[string]int{}
	offsets := make([]int32, 1, len(archs)+1)
	var names []byte
	codes := make([]int32, len(archs))
	for i, a := range archs {
		if j, dup := seen[a]; dup {
			return fmt.Errorf("index: arch list: index %d repeats index %d (%s)", i, j, a)
		}
		seen[a] = i
		code := archCode(bench, a)
		if spaceSize(bench) > 0 && code < 0 {
			return fmt.Errorf("index: arch list: index %d: %q is not a %s architecture", i, a, bench)
		}
		names = append(names, a...)
		if len(names) > math.MaxInt32 {
			return fmt.Errorf("index: arch list: over 2 GiB of names")
		}
		offsets = append(offsets, int32(len(names)))
		codes[i] = int32(code)
	}
	schema := arrowfile.Schema{Fields: []arrowfile.Field{{Name: "arch", Type: arrowfile.String}, {Name: "code", Type: arrowfile.Int32}}}
	return WriteFileAtomic(path, func(f *os.File) error {
		fw, err := arrowfile.NewWriter(f, schema)
		if err != nil {
			return err
		}
		err = fw.Write(len(archs), []arrowfile.WriteColumn{{Data: names, Offsets: arrowfile.Bytes(offsets)}, {Data: arrowfile.Bytes(codes)}})
		if err != nil {
			return err
		}
		return fw.Close()
	})
}

// archTable is the mapped arch list of a benchmark.
type archTable struct {
	file  string
	names arrowfile.Column // utf8
	codes []int32
	inv   []int32 // code -> index, -1 if absent; built on first use
}

// arch returns the arch string of index i in [0, names.Len()).
func (at *archTable) arch(i int) (string, error) {
	s, ok := at.names.Str(i)
	if !ok {
		return "", fmt.Errorf("index: %s: %w: the offsets of index %d are damaged", at.file, ErrCorrupt, i)
	}
	return s, nil
}

func (s *Store) loadArchs(bm *benchManifest) (*archTable, error) {
	m, err := s.mapped(bm.Archs)
	if err != nil {
		return nil, err
	}
	r, err := arrowfile.Open(m.data)
	if err != nil {
		return nil, fmt.Errorf("index: %s: %w: %v", bm.Archs, ErrCorrupt, err)
	}
	if r.NumBatches() != 1 {
		return nil, fmt.Errorf("index: %s: %w: %d record batches", bm.Archs, ErrCorrupt, r.NumBatches())
	}
	fs := r.Schema().Fields
	if len(fs) != 2 || !fs[0].Type.Equal(arrowfile.String) || !fs[1].Type.Equal(arrowfile.Int32) {
		return nil, fmt.Errorf("index: %s: %w: unexpected column types", bm.Archs, ErrCorrupt)
	}
	rec, err := r.Batch(0)
	if err != nil {
		return nil, fmt.Errorf("index: %s: %w: %v", bm.Archs, ErrCorrupt, err)
	}
	return &archTable{file: bm.Archs, names: rec.Columns[0], codes: arrowfile.Int32s(rec.Columns[1].Data)}, nil
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
		if out[i], err = at.arch(i); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) checkArchs(bench string, bm *benchManifest, archs []string) error {
	stored, err := s.loadArchs(bm)
	if err != nil {
		return err
	}
	if stored.names.Len() != len(archs) {
		return fmt.Errorf("%w: %s has %d architectures, the source %d", ErrArchMismatch, bench, stored.names.Len(), len(archs))
	}
	for i, a := range archs {
		s, err := stored.arch(i)
		if err != nil {
			return err
		}
		if s != a {
			return fmt.Errorf("%w: %s index %d is %q in the store, %q in the source", ErrArchMismatch, bench, i, s, a)
		}
	}
	return nil
}
