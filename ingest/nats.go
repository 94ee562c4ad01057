package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nbquery/nbquery/index"
	"github.com/nlpodyssey/gopickle/types"
)

const (
	natsMeta = "meta.pickle.pbz2"
	natsExt  = ".pickle.pbz2"
)

// decodePbz2 decompresses and unpickles one NATS .pickle.pbz2 payload.
func decodePbz2(data []byte, limit int64) (any, error) {
	raw, err := readBzip2(data, limit)
	if err != nil {
		return nil, err
	}
	obj, end, err := unpickle(raw)
	if err != nil {
		return nil, err
	}
	if end != len(raw) {
		return nil, fmt.Errorf("%w: pickle: %d trailing bytes after STOP at offset %d", ErrFormat, len(raw)-end, end)
	}
	return obj, nil
}

// decodeArchFile decompresses and unpickles one NATS meta or per-arch
// .pickle.pbz2 within lim: at most lim.ArchFile decompressed bytes, run
// through the streaming VM (depth limit, no re-walks of shared objects)
// with a live budget of 4*lim.ArchFile, so that the lim.workers() files
// decoded at once stay within lim.Memory.
func decodeArchFile(ctx context.Context, data []byte, lim Limits) (any, error) {
	raw, err := readBzip2(data, lim.ArchFile)
	if err != nil {
		return nil, err
	}
	vl := lim
	vl.PickleLive = min(lim.PickleLive, 4*lim.ArchFile)
	vm := newStreamVM(ctx, bytes.NewReader(raw), vl)
	obj, err := vm.load(nil)
	if err != nil {
		return nil, err
	}
	if vm.off != int64(len(raw)) {
		return nil, atOffset(vm.off, fmt.Errorf("%w: pickle: %d trailing bytes after STOP at offset %d", ErrFormat, int64(len(raw))-vm.off, vm.off))
	}
	return obj, nil
}

// metaArchs reads the 'meta_archs' list of a NATS/NB201 top-level dict and
// checks every string against bench.
func metaArchs(file, bench string, top map[string]any) ([]string, error) {
	items, ok := sequence(top["meta_archs"])
	if !ok {
		return nil, perr(file, "meta_archs", fmt.Errorf("%w: %T, want list", ErrSchema, top["meta_archs"]))
	}
	archs := make([]string, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, perr(file, fmt.Sprintf("meta_archs[%d]", i), fmt.Errorf("%w: %T, want str", ErrSchema, it))
		}
		if err := checkArch(bench, s); err != nil {
			return nil, perr(file, fmt.Sprintf("meta_archs[%d]", i), err)
		}
		archs[i] = s
	}
	if n := spaceSize(bench); len(archs) != n {
		return nil, perr(file, "meta_archs", fmt.Errorf("%w: %d architectures, the %s space has %d", ErrArch, len(archs), bench, n))
	}
	return archs, nil
}

// archFile is one per-architecture file of a -simple directory.
type archFile struct {
	index int
	name  string
}

// listArchFiles returns the arch files of dir in index order. Like the
// official API it prefers NNNNNN.pickle.pbz2 over the fallback N.pickle.pbz2.
func listArchFiles(dir string, n int) ([]archFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	byIdx := map[int]string{}
	for _, e := range ents {
		name := e.Name()
		stem, ok := strings.CutSuffix(name, natsExt)
		if !ok || name == natsMeta || !e.Type().IsRegular() {
			continue
		}
		i, err := strconv.Atoi(stem)
		if err != nil || i < 0 || stem[0] == '+' {
			continue
		}
		if i >= n {
			return nil, perr(filepath.Join(dir, name), "", fmt.Errorf("%w: arch index %d outside 0..%d of meta_archs", ErrArch, i, n-1))
		}
		if prev, dup := byIdx[i]; dup && len(prev) > len(name) {
			continue // keep the 6-digit name
		}
		byIdx[i] = name
	}
	out := make([]archFile, 0, len(byIdx))
	for i, name := range byIdx {
		out = append(out, archFile{i, name})
	}
	slices.SortFunc(out, func(a, b archFile) int { return a.index - b.index })
	return out, nil
}

// natsDir streams a -simple directory: meta first, then the arch files in
// index order, FrameRows at a time, decoded in parallel straight into the
// frame's rows.
func (j *job) natsDir() error {
	dir := j.path
	dig, err := newDirDigest(dir)
	if err != nil {
		return err
	}
	metaPath := filepath.Join(dir, natsMeta)
	mb, err := os.ReadFile(metaPath)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	dig.set(natsMeta, mb)
	obj, err := decodeArchFile(j.ctx, mb, j.lim)
	if err != nil {
		return perr(metaPath, "", err)
	}
	top, err := strMap(obj)
	if err != nil {
		return perr(metaPath, "", fmt.Errorf("%w: %v", ErrSchema, err))
	}
	archs, err := metaArchs(metaPath, j.bench, top)
	if err != nil {
		return err
	}
	j.w.SetArchs(archs)
	files, err := listArchFiles(dir, len(archs))
	if err != nil {
		return err
	}
	j.bar.setTotal(len(files))

	decode := func(f archFile) (*archRecord, error) {
		p := filepath.Join(dir, f.name)
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("ingest: %w", err)
		}
		dig.set(f.name, data)
		obj, err := decodeArchFile(j.ctx, data, j.lim)
		if err != nil {
			return nil, perr(p, "", err)
		}
		want := f.index
		if j.opt.lenientIdentity {
			want = -1
		}
		rec, err := convertArch(obj, want)
		if err != nil {
			return nil, perr(p, "", err)
		}
		if j.opt.lenientIdentity {
			rec.Index, rec.Arch = f.index, archs[f.index]
		}
		if rec.Arch != archs[f.index] {
			return nil, perr(p, "arch_str", fmt.Errorf("%w: %s, meta_archs[%d] is %q", ErrArch, Quote(rec.Arch), f.index, archs[f.index]))
		}
		return rec, nil
	}

	// Frames are written synchronously: decoding dominates (bzip2 and
	// unpickling, ~17 ms per file against ~0.3 s to write a 512-row frame),
	// and one frame alive at a time keeps peak RSS well under 1 GB.
	var lay *layout
	for start := 0; start < len(files); start += FrameRows {
		if err := j.ctx.Err(); err != nil {
			return err
		}
		chunk := files[start:min(start+FrameRows, len(files))]
		rows := make([]int, len(chunk))
		for i, f := range chunk {
			rows[i] = f.index
		}
		var fr index.Frame
		if lay == nil {
			// The first chunk fixes the column layout.
			recs := make([]*archRecord, len(chunk))
			if err := parallel(j.lim.workers(), len(chunk), func(i int) (err error) {
				recs[i], err = decode(chunk[i])
				j.bar.add(1)
				return err
			}); err != nil {
				return err
			}
			lb := newLayoutBuilder()
			for i, r := range recs {
				if err := lb.add(r); err != nil {
					return perr(filepath.Join(dir, chunk[i].name), "", err)
				}
			}
			lay = lb.build()
			fr = lay.newFrame(rows)
			for i, r := range recs {
				if err := lay.fill(&fr, i, r); err != nil {
					return perr(filepath.Join(dir, chunk[i].name), "", err)
				}
			}
		} else {
			fr = lay.newFrame(rows)
			if err := parallel(j.lim.workers(), len(chunk), func(i int) error {
				r, err := decode(chunk[i])
				j.bar.add(1)
				if err != nil {
					return err
				}
				if err := lay.fill(&fr, i, r); err != nil {
					return perr(filepath.Join(dir, chunk[i].name), "", err)
				}
				return nil
			}); err != nil {
				return err
			}
		}
		if err := j.write(fr); err != nil {
			return err
		}
	}
	j.res.Source.SHA256, j.res.Source.Size, err = dig.sum()
	return err
}

// parallel runs fn(0..n-1) on at most workers goroutines and returns the
// error of the lowest failing i (so errors do not depend on scheduling).
func parallel(workers, n int, fn func(i int) error) error {
	errs := make([]error, n)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range max(1, min(workers, n)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || failed.Load() {
					return
				}
				if errs[i] = fn(i); errs[i] != nil {
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// natsFile ingests a single .pickle.pbz2: the full-benchmark file
// (meta_archs + arch2infos, streamed with bounded memory by streamBig), a
// meta file alone, or one per-arch file.
func (j *job) natsFile() error {
	if wholeFiles {
		return j.natsFileWhole()
	}
	return j.streamBig(streamNATS, j.natsObj)
}

// natsFileWhole is the former whole-file path, kept for tests.
func (j *job) natsFileWhole() error {
	data, err := os.ReadFile(j.path)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	j.res.Source.SHA256, j.res.Source.Size = sha256Bytes(data), int64(len(data))
	// The whole benchmark lives in one pickle: no size cap beyond memory.
	obj, err := decodePbz2(data, 1<<62)
	data = nil
	if err != nil {
		return perr(j.path, "", err)
	}
	return j.natsObj(obj)
}

// natsObj ingests the decoded object of a single .pickle.pbz2.
func (j *job) natsObj(obj any) error {
	if od, ok := obj.(*types.OrderedDict); ok { // one per-arch file
		rec, err := convertArch(od, -1)
		if err != nil {
			return perr(j.path, "", err)
		}
		if err := checkArch(j.bench, rec.Arch); err != nil {
			return perr(j.path, "arch_str", err)
		}
		if archs, err := j.storedArchs(); err != nil {
			return err
		} else if archs != nil && (rec.Index >= len(archs) || archs[rec.Index] != rec.Arch) {
			return perr(j.path, "arch_str", fmt.Errorf("%w: arch %d is %s, not in the store's list at that index", ErrArch, rec.Index, Quote(rec.Arch)))
		}
		lb := newLayoutBuilder()
		if err := lb.add(rec); err != nil {
			return perr(j.path, "", err)
		}
		lay := lb.build()
		fr := lay.newFrame([]int{rec.Index})
		if err := lay.fill(&fr, 0, rec); err != nil {
			return perr(j.path, "", err)
		}
		return j.write(fr)
	}
	return j.topDict(obj)
}

// topDict ingests an in-memory benchmark dict {'meta_archs', 'arch2infos',
// 'evaluated_indexes'} (NATS single file or NAS-Bench-201 .pth). It makes a
// layout pass over all architectures, then converts them again FrameRows at
// a time, dropping each architecture's object graph once converted.
func (j *job) topDict(obj any) error {
	top, err := strMap(obj)
	if err != nil {
		return perr(j.path, "", fmt.Errorf("%w: top level: %v", ErrSchema, err))
	}
	archs, err := metaArchs(j.path, j.bench, top)
	if err != nil {
		return err
	}
	j.w.SetArchs(archs)
	if top["arch2infos"] == nil {
		return nil // a meta file: the arch list alone
	}
	type entry struct {
		index int
		val   *any // the slot in the pickle dict, cleared once converted
	}
	var ents []entry
	seen := map[int]bool{}
	addEntry := func(k any, slot *any) error {
		i, ok := asInt(k)
		if !ok || i < 0 || i >= len(archs) {
			return perr(j.path, "arch2infos", fmt.Errorf("%w: key %s is not an index in 0..%d", ErrSchema, describe(k), len(archs)-1))
		}
		if seen[i] {
			return perr(j.path, "arch2infos", fmt.Errorf("%w: index %d appears twice", ErrSchema, i))
		}
		seen[i] = true
		ents = append(ents, entry{i, slot})
		return nil
	}
	switch d := top["arch2infos"].(type) {
	case *types.Dict:
		for k := range *d {
			if err := addEntry((*d)[k].Key, &(*d)[k].Value); err != nil {
				return err
			}
		}
	case *types.OrderedDict:
		for el := d.List.Front(); el != nil; el = el.Next() {
			e := el.Value.(*types.OrderedDictEntry)
			if err := addEntry(e.Key, &e.Value); err != nil {
				return err
			}
		}
	default:
		return perr(j.path, "arch2infos", fmt.Errorf("%w: %T, want dict", ErrSchema, top["arch2infos"]))
	}
	slices.SortFunc(ents, func(a, b entry) int { return a.index - b.index })
	j.bar.setTotal(2 * len(ents))

	convert := func(e entry) (*archRecord, error) {
		field := fmt.Sprintf("arch2infos[%d]", e.index)
		rec, err := convertArch(*e.val, e.index)
		if err != nil {
			return nil, perr(j.path, field, err)
		}
		if rec.Arch != archs[e.index] {
			return nil, perr(j.path, field, fmt.Errorf("%w: arch_str %s, meta_archs[%d] is %q", ErrArch, Quote(rec.Arch), e.index, archs[e.index]))
		}
		return rec, nil
	}
	lb := newLayoutBuilder()
	for _, e := range ents {
		if err := j.ctx.Err(); err != nil {
			return err
		}
		rec, err := convert(e)
		if err != nil {
			return err
		}
		if err := lb.add(rec); err != nil {
			return perr(j.path, fmt.Sprintf("arch2infos[%d]", e.index), err)
		}
		j.bar.add(1)
	}
	lay := lb.build()
	for start := 0; start < len(ents); start += FrameRows {
		if err := j.ctx.Err(); err != nil {
			return err
		}
		chunk := ents[start:min(start+FrameRows, len(ents))]
		rows := make([]int, len(chunk))
		for i, e := range chunk {
			rows[i] = e.index
		}
		fr := lay.newFrame(rows)
		for i, e := range chunk {
			rec, err := convert(e)
			if err != nil {
				return err
			}
			if err := lay.fill(&fr, i, rec); err != nil {
				return perr(j.path, fmt.Sprintf("arch2infos[%d]", e.index), err)
			}
			*e.val = nil // release this architecture's object graph
			j.bar.add(1)
		}
		if err := j.write(fr); err != nil {
			return err
		}
	}
	return nil
}

var errNoData = errors.New("no data")
