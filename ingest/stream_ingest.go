package ingest

import (
	"archive/zip"
	"bufio"
	"compress/bzip2"
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path"
	"slices"

	"github.com/nbquery/nbquery/index"
	"github.com/nlpodyssey/gopickle/types"
)

// maxPending bounds the converted records buffered while waiting for a
// smaller arch2infos index that arrives later in the file.
const maxPending = 4 * FrameRows

// wholeFiles (tests only) routes .pth and single .pickle.pbz2 ingests
// through the former whole-file path, for equivalence tests.
var wholeFiles bool

// Container kinds of the big single-file sources.
const (
	streamNATS = iota // bzip2-compressed pickle
	streamPth         // torch.save, legacy or zip
)

// streamOpen runs the object pickle of the file at p through a streaming VM
// with sink, within lim. With hash it also returns the file's SHA-256 and size.
func streamOpen(ctx context.Context, p string, kind int, lim Limits, sink *streamSink, hash bool) (obj any, streamed int, sum string, size int64, err error) {
	lim = lim.withDefaults()
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, "", 0, fmt.Errorf("ingest: %w", err)
	}
	defer f.Close()
	var head [4]byte
	n, _ := io.ReadFull(f, head[:])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, 0, "", 0, fmt.Errorf("ingest: %w", err)
	}
	if kind == streamPth && n == 4 && string(head[:]) == "PK\x03\x04" {
		obj, streamed, err = streamTorchZip(ctx, f, lim, sink)
		if err == nil && hash {
			sum, size, err = sha256File(p)
		}
		return obj, streamed, sum, size, err
	}
	var r io.Reader = f
	var hr *hashReader
	if hash {
		hr = newHashReader(f)
		r = hr
	}
	var vm *streamVM
	if kind == streamNATS {
		dec := newLimitReader(bzip2.NewReader(bufio.NewReaderSize(r, 1<<16)), lim.Decoded, "decompressed pickle (--max-decoded)")
		vm = newStreamVM(ctx, bufio.NewReaderSize(dec, 1<<16), lim)
		obj, err = vm.load(sink)
		if err == nil && !vm.atEOF() {
			err = fmt.Errorf("%w: pickle: trailing bytes after STOP at offset %d", ErrFormat, vm.off)
		}
	} else {
		vm = newStreamVM(ctx, newLimitReader(r, lim.Decoded, "pickle stream (--max-decoded)"), lim)
		obj, err = streamTorchLegacy(vm, sink)
	}
	if err != nil {
		return nil, 0, "", 0, err
	}
	if hash {
		sum, size = hr.sum(), hr.n
	}
	return obj, vm.streamed, sum, size, nil
}

// streamTorchLegacy is loadTorchLegacy over a stream.
func streamTorchLegacy(vm *streamVM, sink *streamSink) (any, error) {
	next := func(what string, s *streamSink) (any, error) {
		at := vm.off
		obj, err := vm.load(s)
		if err != nil {
			return nil, fmt.Errorf("legacy torch %s at offset %d: %w", what, at, err)
		}
		return obj, nil
	}
	magic, err := next("magic number", nil)
	if err != nil {
		return nil, err
	}
	if n, ok := magic.(*big.Int); !ok || n.Text(16) != torchMagic {
		return nil, fmt.Errorf("%w: legacy torch: bad magic number %s", ErrFormat, describe(magic))
	}
	proto, err := next("protocol", nil)
	if err != nil {
		return nil, err
	}
	if p, ok := proto.(int); !ok || p != 1001 {
		return nil, fmt.Errorf("%w: legacy torch: protocol %s, want 1001", ErrFormat, describe(proto))
	}
	sysInfo, err := next("sys_info", nil)
	if err != nil {
		return nil, err
	}
	if si, err := strMap(sysInfo); err != nil {
		return nil, fmt.Errorf("%w: legacy torch: sys_info: %v", ErrFormat, err)
	} else if le, ok := si["little_endian"].(bool); !ok || !le {
		return nil, fmt.Errorf("%w: legacy torch: sys_info little_endian = %s", ErrFormat, describe(si["little_endian"]))
	}
	obj, err := next("object", sink)
	if err != nil {
		return nil, err
	}
	streamed := vm.streamed
	keys, err := next("storage keys", nil)
	if err != nil {
		return nil, err
	}
	vm.streamed = streamed
	if l, ok := keys.(*types.List); !ok {
		return nil, fmt.Errorf("%w: legacy torch: storage keys %T, want list", ErrFormat, keys)
	} else if l.Len() != 0 {
		return nil, fmt.Errorf("%w: legacy torch: %d tensor storages (tensors are not supported)", ErrSchema, l.Len())
	}
	if !vm.atEOF() {
		return nil, fmt.Errorf("%w: legacy torch: trailing bytes at offset %d", ErrFormat, vm.off)
	}
	return obj, nil
}

// streamTorchZip is loadTorchZip over archive/zip's streaming entry reader.
func streamTorchZip(ctx context.Context, f *os.File, lim Limits, sink *streamSink) (any, int, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("ingest: %w", err)
	}
	zr, err := zip.NewReader(f, fi.Size())
	if err != nil {
		return nil, 0, fmt.Errorf("%w: torch zip: %v", ErrFormat, err)
	}
	var pkl *zip.File
	for _, zf := range zr.File {
		switch path.Base(zf.Name) {
		case "constants.pkl":
			return nil, 0, fmt.Errorf("%w: torch zip: TorchScript archives are not supported", ErrFormat)
		case "data.pkl":
			if pkl == nil {
				pkl = zf
			}
		}
	}
	if pkl == nil {
		return nil, 0, fmt.Errorf("%w: torch zip: no data.pkl", ErrFormat)
	}
	rc, err := pkl.Open()
	if err != nil {
		return nil, 0, fmt.Errorf("%w: torch zip: %s: %v", ErrFormat, pkl.Name, err)
	}
	defer rc.Close()
	vm := newStreamVM(ctx, newLimitReader(rc, lim.Decoded, "data.pkl (--max-decoded)"), lim)
	obj, err := vm.load(sink)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	if !vm.atEOF() {
		return nil, 0, fmt.Errorf("%w: %s: trailing bytes after STOP at offset %d", ErrFormat, pkl.Name, vm.off)
	}
	return obj, vm.streamed, nil
}

// streamBig ingests a big single-file source (NAS-Bench-201 .pth or NATS
// single .pickle.pbz2) in two streaming passes with bounded memory: the
// first converts every arch2infos entry to fix the column layout (the union
// over all records, as topDict computes it) and drops it; the second
// converts them again and writes FrameRows-row frames in ascending index
// order. A source without a streamed arch2infos (a meta file, one per-arch
// file) is small and handed to whole, the object returned by the first pass.
func (j *job) streamBig(kind int, whole func(obj any) error) error {
	var archs []string
	convert := func(k, v any) (int, *archRecord, error) {
		if err := j.ctx.Err(); err != nil {
			return 0, nil, err
		}
		i, ok := asInt(k)
		if !ok || i < 0 || i >= len(archs) {
			return 0, nil, perr(j.path, "arch2infos", fmt.Errorf("%w: key %s is not an index in 0..%d", ErrSchema, describe(k), len(archs)-1))
		}
		field := fmt.Sprintf("arch2infos[%d]", i)
		rec, err := convertArch(v, i)
		if err != nil {
			return 0, nil, perr(j.path, field, err)
		}
		if rec.Arch != archs[i] {
			return 0, nil, perr(j.path, field, fmt.Errorf("%w: arch_str %s, meta_archs[%d] is %q", ErrArch, Quote(rec.Arch), i, archs[i]))
		}
		return i, rec, nil
	}
	start := func(meta any) error {
		if meta == nil {
			return perr(j.path, "meta_archs", fmt.Errorf("%w: missing before arch2infos", ErrSchema))
		}
		a, err := metaArchs(j.path, j.bench, map[string]any{"meta_archs": meta})
		if err != nil {
			return err
		}
		archs = a
		j.w.SetArchs(archs)
		j.bar.setTotal(2 * len(archs))
		return nil
	}

	// Pass 1: layout, index set, checksum.
	lb := newLayoutBuilder()
	seen := map[int]bool{}
	var order []int
	obj, streamed, sum, size, err := streamOpen(j.ctx, j.path, kind, j.opt.Limits, &streamSink{start: start, entry: func(k, v any) error {
		i, rec, err := convert(k, v)
		if err != nil {
			return err
		}
		if seen[i] {
			return perr(j.path, "arch2infos", fmt.Errorf("%w: index %d appears twice", ErrSchema, i))
		}
		seen[i] = true
		order = append(order, i)
		if err := lb.add(rec); err != nil {
			return perr(j.path, fmt.Sprintf("arch2infos[%d]", i), err)
		}
		j.bar.add(1)
		return nil
	}}, true)
	if err != nil {
		return asParseError(j.path, err)
	}
	j.res.Source.SHA256, j.res.Source.Size = sum, size
	if streamed == 0 {
		return whole(obj)
	}

	// Pass 2: frames in ascending index order.
	lay := lb.build()
	sorted := slices.Sorted(slices.Values(order))
	order = nil
	pending := map[int]*archRecord{}
	pos := 0
	var fr index.Frame
	flush := func() error {
		for pos < len(sorted) {
			i := sorted[pos]
			rec, ok := pending[i]
			if !ok {
				return nil
			}
			delete(pending, i)
			row := pos % FrameRows
			if row == 0 {
				fr = lay.newFrame(slices.Clone(sorted[pos:min(pos+FrameRows, len(sorted))]))
			}
			if err := lay.fill(&fr, row, rec); err != nil {
				return perr(j.path, fmt.Sprintf("arch2infos[%d]", i), err)
			}
			pos++
			j.bar.add(1)
			if row == FrameRows-1 || pos == len(sorted) {
				if err := j.write(fr); err != nil {
					return err
				}
				fr = index.Frame{}
			}
		}
		return nil
	}
	_, _, _, _, err = streamOpen(j.ctx, j.path, kind, j.opt.Limits, &streamSink{start: func(any) error { return nil }, entry: func(k, v any) error {
		i, rec, err := convert(k, v)
		if err != nil {
			return err
		}
		if !seen[i] {
			return perr(j.path, "arch2infos", fmt.Errorf("%w: index %d not seen in the first pass (file changed?)", ErrFormat, i))
		}
		pending[i] = rec
		if err := flush(); err != nil {
			return err
		}
		if len(pending) > maxPending {
			return perr(j.path, "arch2infos", fmt.Errorf("%w: index %d: more than %d entries arrive before index %d (not in ascending order)", ErrSchema, i, maxPending, sorted[pos]))
		}
		return nil
	}}, false)
	if err != nil {
		return asParseError(j.path, err)
	}
	if pos != len(sorted) {
		return perr(j.path, "arch2infos", fmt.Errorf("%w: second pass wrote %d of %d entries (file changed?)", ErrFormat, pos, len(sorted)))
	}
	return nil
}

// asParseError keeps a *ParseError (or a context error) as it is and wraps
// anything else with the file name.
func asParseError(file string, err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return perr(file, "", err)
}
