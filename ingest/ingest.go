package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/nb201"
	"github.com/nbquery/nbquery/space/sss"
)

// Source kinds recorded in index.Source.Kind.
const (
	KindNATSDir  = "nats-dir"
	KindNATSFile = "nats-file"
	KindNB201Pth = "nb201-pth"
	KindCSV      = "csv"
	KindHELP     = "help-latency"
)

// Options control an ingest.
type Options struct {
	// Mapping, if set, imports a CSV file through this column mapping
	// instead of recognising its layout from the header.
	Mapping *Mapping
	// Limits bound the time and memory spent on hostile input; zero
	// fields take DefaultLimits.
	Limits Limits
	// Progress receives a progress bar for ingests that run longer than
	// about a second; nil is silent.
	Progress io.Writer

	// lenientIdentity (tests only) accepts per-arch files whose arch_index and
	// arch_str disagree with their file name, for directories built from
	// renamed copies of a few real records.
	lenientIdentity bool
}

// Result summarises a finished ingest.
type Result struct {
	Source    index.Source
	Rows      int  // architectures written
	Columns   int  // stored metric columns
	Unchanged bool // the store already held this exact source; nothing was written
	Elapsed   time.Duration
}

// NB201 ingests a NAS-Bench-201 / NATS-Bench topology-space source into
// bench index.NB201. path may be a NATS -simple directory, a .pickle.pbz2
// file, a NAS-Bench-201 .pth (legacy or zip container), a CSV export (layout
// recognised from the header, or opt.Mapping), or HELP latency files (the
// directory, a latency/<device>.pt or str_arch2idx.pt). If the source was
// ingested before, it returns a Result with Unchanged set and a nil error.
func NB201(ctx context.Context, st *index.Store, path string, opt Options) (Result, error) {
	return lockedIngest(ctx, st, index.NB201, path, opt)
}

// NATSSSS ingests a NATS-Bench size-space source (-simple directory,
// .pickle.pbz2 file or CSV) into bench index.NATSSSS.
func NATSSSS(ctx context.Context, st *index.Store, path string, opt Options) (Result, error) {
	return lockedIngest(ctx, st, index.NATSSSS, path, opt)
}

// lockedIngest takes the store's writer lock before it reads anything of
// the source: a second writer waits here, not after a long parse.
func lockedIngest(ctx context.Context, st *index.Store, bench, path string, opt Options) (Result, error) {
	unlock, err := st.Lock(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("ingest: %s: %w", path, err)
	}
	defer unlock()
	return ingest(ctx, storeAdapter{st}, bench, path, opt)
}

// segWriter is the part of *index.SegmentWriter that ingest uses; tests
// substitute a recorder.
type segWriter interface {
	SetArchs(archs []string)
	Write(f index.Frame) error
	Commit(src index.Source) error
	Abort()
}

// store is the part of *index.Store that ingest uses.
type store interface {
	NewSegment(bench string) (segWriter, error)
	Archs(bench string) ([]string, error)
	Sources(bench string) []index.Source
}

type storeAdapter struct{ st *index.Store }

func (a storeAdapter) NewSegment(bench string) (segWriter, error) { return a.st.NewSegment(bench) }
func (a storeAdapter) Archs(bench string) ([]string, error)       { return a.st.Archs(bench) }
func (a storeAdapter) Sources(bench string) []index.Source        { return a.st.Sources(bench) }

// job is the shared state of one ingest.
type job struct {
	ctx   context.Context
	st    store
	bench string
	path  string
	opt   Options
	w     segWriter
	res   Result
	bar   *progress
	ncol  int
	lim   Limits // opt.Limits with defaults
}

func ingest(ctx context.Context, st store, bench, path string, opt Options) (Result, error) {
	start := time.Now()
	if bench != index.NB201 && bench != index.NATSSSS {
		panic("ingest: unsupported bench " + bench)
	}
	kind, err := sniff(path, bench, opt)
	if err != nil {
		return Result{}, err
	}
	srcKind := kind
	if opt.Mapping != nil {
		// The mapping is part of the source's identity: the same file read
		// through another mapping is another source.
		b, _ := json.Marshal(opt.Mapping)
		srcKind += ":mapping-" + sha256Bytes(b)[:12]
	}
	if res, ok, err := unchanged(st, bench, path, srcKind); err != nil || ok {
		res.Elapsed = time.Since(start)
		return res, err
	}
	w, err := st.NewSegment(bench)
	if err != nil {
		return Result{}, fmt.Errorf("ingest: %s: %w", path, err)
	}
	j := &job{ctx: ctx, st: st, bench: bench, path: path, opt: opt, w: w, bar: newProgress(opt.Progress, path), lim: opt.Limits.withDefaults()}
	j.res.Source = index.Source{Path: path, Kind: srcKind}
	switch kind {
	case KindNATSDir:
		err = j.natsDir()
	case KindNATSFile:
		err = j.natsFile()
	case KindNB201Pth:
		err = j.pth()
	case KindCSV:
		err = j.csv()
	case KindHELP:
		err = j.help()
	}
	j.bar.finish()
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		w.Abort()
		return Result{}, err
	}
	j.res.Columns = j.ncol
	err = w.Commit(j.res.Source)
	j.res.Elapsed = time.Since(start)
	if errors.Is(err, index.ErrUnchanged) {
		j.res.Unchanged = true
		j.res.Rows, j.res.Columns = 0, 0
		return j.res, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("ingest: %s: %w", path, err)
	}
	return j.res, nil
}

// unchanged hashes a single-file source before any parsing when the store
// holds a source of the same kind and size, and reports a re-ingest of it
// (so that an unchanged 250 MB CSV costs one hash, not a parse).
func unchanged(st store, bench, path, kind string) (Result, bool, error) {
	fi, err := os.Stat(path)
	if err != nil || fi.IsDir() {
		return Result{}, false, nil
	}
	sum := ""
	for _, src := range st.Sources(bench) {
		if src.Kind != kind || src.Size != fi.Size() || src.SHA256 == "" {
			continue
		}
		if sum == "" {
			if sum, _, err = sha256File(path); err != nil {
				return Result{}, false, err
			}
		}
		if sum == src.SHA256 {
			return Result{Source: index.Source{Path: path, Kind: kind, SHA256: sum, Size: fi.Size()}, Unchanged: true}, true, nil
		}
	}
	return Result{}, false, nil
}

// sniff decides the source kind from the path and its first bytes.
func sniff(path, bench string, opt Options) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("ingest: %w", err)
	}
	if fi.IsDir() {
		if _, err := os.Stat(filepath.Join(path, natsMeta)); err == nil {
			return KindNATSDir, nil
		}
		if isHELPDir(path) {
			return KindHELP, nil
		}
		return "", perr(path, "", fmt.Errorf("%w: directory has neither %s (NATS -simple) nor latency/ (HELP)", ErrUnknownSource, natsMeta))
	}
	if opt.Mapping != nil {
		return KindCSV, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("ingest: %w", err)
	}
	defer f.Close()
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("BZh")):
		return KindNATSFile, nil
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return torchKind(path)
	case bytes.HasPrefix(head, []byte{0x80, 0x02, 0x8a, 0x0a}):
		return KindNB201Pth, nil
	case filepath.Ext(path) == ".csv" || looksText(head):
		return KindCSV, nil
	}
	return "", perr(path, "", fmt.Errorf("%w: not bzip2, torch zip, legacy torch pickle or CSV (first bytes % x)", ErrUnknownSource, head))
}

func looksText(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < 0x09 || (c > 0x0d && c < 0x20) || c == 0x7f {
			return false
		}
	}
	return true
}

// checkArch validates one arch string for bench.
func checkArch(bench, arch string) error {
	var err error
	switch bench {
	case index.NB201:
		_, err = nb201.Parse(arch)
	case index.NATSSSS:
		_, err = sss.Parse(arch)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrArch, err)
	}
	return nil
}

// spaceSize is the number of architectures of bench.
func spaceSize(bench string) int {
	if bench == index.NATSSSS {
		return sss.NumConfigs
	}
	return nb201.NumCells
}

// storedArchs returns the store's arch list for the job's bench, or nil if
// it has none yet.
func (j *job) storedArchs() ([]string, error) {
	a, err := j.st.Archs(j.bench)
	if errors.Is(err, index.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ingest: %s: %w", j.path, err)
	}
	return a, nil
}

// write sends one frame to the segment.
func (j *job) write(f index.Frame) error {
	if len(f.Rows) == 0 {
		return nil
	}
	if err := j.w.Write(f); err != nil {
		return fmt.Errorf("ingest: %s: %w", j.path, err)
	}
	j.res.Rows += len(f.Rows)
	if j.ncol == 0 {
		j.ncol = len(f.Columns)
	}
	return nil
}

// ---- checksums ----

func sha256File(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("ingest: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("ingest: %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func sha256Bytes(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// dirDigest accumulates the checksum of a directory: SHA-256 over
// "<slash path relative to the root>\x00<hex sha256 of the file>\n" for every
// regular file, in sorted path order. Digests of files read anyway (arch
// files) are supplied with set; the rest are hashed by sum.
type dirDigest struct {
	mu    sync.Mutex
	root  string
	files map[string]string
	sizes map[string]int64
}

func newDirDigest(root string) (*dirDigest, error) {
	d := &dirDigest{root: root, files: map[string]string{}, sizes: map[string]int64{}}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			d.files[filepath.ToSlash(rel)] = ""
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	return d, nil
}

func (d *dirDigest) set(rel string, data []byte) {
	d.mu.Lock()
	d.files[rel] = sha256Bytes(data)
	d.sizes[rel] = int64(len(data))
	d.mu.Unlock()
}

func (d *dirDigest) sum() (string, int64, error) {
	names := make([]string, 0, len(d.files))
	for n := range d.files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	var size int64
	for _, n := range names {
		if d.files[n] == "" {
			s, sz, err := sha256File(filepath.Join(d.root, filepath.FromSlash(n)))
			if err != nil {
				return "", 0, err
			}
			d.files[n], d.sizes[n] = s, sz
		}
		fmt.Fprintf(h, "%s\x00%s\n", n, d.files[n])
		size += d.sizes[n]
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

// ---- progress ----

// progress shows a schollz/progressbar on w once an ingest has run for a
// second; before that (and with a nil writer) it is silent.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	desc  string
	start time.Time
	total int64
	done  int64
	bar   *progressbar.ProgressBar
}

func newProgress(w io.Writer, desc string) *progress {
	return &progress{w: w, desc: filepath.Base(desc), start: time.Now()}
}

func (p *progress) setTotal(n int) {
	p.mu.Lock()
	p.total = int64(n)
	p.mu.Unlock()
}

func (p *progress) add(n int) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += int64(n)
	if p.bar == nil {
		if time.Since(p.start) < time.Second || p.total == 0 {
			return
		}
		p.bar = progressbar.NewOptions64(p.total, progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription("ingest "+p.desc), progressbar.OptionShowCount(),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetPredictTime(true))
		_ = p.bar.Set64(p.done)
		return
	}
	_ = p.bar.Add(n)
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}

// hashReader hashes what passes through it.
type hashReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func newHashReader(r io.Reader) *hashReader { return &hashReader{r: r, h: sha256.New()} }

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

func (h *hashReader) sum() string {
	io.Copy(io.Discard, h) // hash any unread tail so the digest covers the whole file
	return hex.EncodeToString(h.h.Sum(nil))
}
