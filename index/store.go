package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// SchemaVersion is the version of the on-disk layout written by this package.
const SchemaVersion = 1

const manifestName = "MANIFEST"

// Store is an opened store directory. It is safe for concurrent readers.
// Close releases the mapped files; nothing obtained from the store may be
// used after Close.
type Store struct {
	dir string
	m   manifest

	mu      sync.Mutex
	benches map[string]*Bench
	maps    []*mappedFile
	srcLog  SourceLog // records committed sources (SetSourceLog); nil: none

	// The writer lock held by Lock: commits through this Store while it is
	// held do not lock again (wheld counts them).
	wmu      sync.Mutex
	wheld    int
	wunlock  func()
	lockWait func()

	// readers holds a shared lock on READERS from before the manifest was
	// read until Close: GC keeps superseded files while any reader holds
	// one (hygiene.go). nil where the store did not exist at Open or
	// READERS could not be opened.
	readers *os.File
}

// manifest lists the live files of every benchmark. It is the only file a
// reader must parse at open, and it is replaced atomically by each commit.
type manifest struct {
	Version    int                       `json:"version"`
	Generation int                       `json:"generation"`
	Benches    map[string]*benchManifest `json:"benches"`
	// Files records the size and SHA-256 of every referenced file, for
	// nbquery store verify and the size check before a file is mapped.
	Files map[string]fileSum `json:"files,omitempty"`
}

type benchManifest struct {
	Archs    string            `json:"archs,omitempty"` // file of the arch list, relative to the store
	NumArchs int               `json:"num_archs,omitempty"`
	Segments []segManifest     `json:"segments"`
	Extra    map[string]string `json:"extra,omitempty"` // files of other tables (e.g. the NB101 table), by role
}

type segManifest struct {
	File      string  `json:"file"`
	Source    Source  `json:"source"`
	Rows      int     `json:"rows"`               // number of rows in the segment
	BatchRows int     `json:"batch_rows"`         // rows per Arrow record batch (last may be shorter)
	Dense     bool    `json:"dense"`              // rows are exactly 0..Rows-1
	RowList   Epochs  `json:"row_list,omitempty"` // the rows of a small sparse segment
	Columns   colList `json:"columns"`
}

type colManifest struct {
	Key    Key    `json:"key"`
	Epochs Epochs `json:"epochs,omitempty"`
}

// DefaultDir returns the store location: $NBQUERY_STORE, else
// ~/.local/share/nbquery.
func DefaultDir() string {
	if d := os.Getenv("NBQUERY_STORE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".nbquery"
	}
	return filepath.Join(home, ".local", "share", "nbquery")
}

// Open opens the store at dir. A missing directory is an empty store: it is
// created only when the first segment is committed.
func Open(dir string) (*Store, error) {
	s := &Store{dir: dir, benches: map[string]*Bench{}}
	s.readers = registerReader(dir) // before the manifest is read
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.m = manifest{Version: SchemaVersion, Benches: map[string]*benchManifest{}}
		return s, nil
	case err != nil:
		s.Close()
		return nil, fmt.Errorf("index: open %s: %w", dir, err)
	}
	if err := decodeManifest(b, &s.m); err != nil {
		s.Close()
		return nil, fmt.Errorf("index: %s: %w: %v", filepath.Join(dir, manifestName), ErrCorrupt, err)
	}
	if s.m.Version != SchemaVersion {
		s.Close()
		return nil, fmt.Errorf("index: %s: %w: store has %d, this build reads %d", dir, ErrSchemaVersion, s.m.Version, SchemaVersion)
	}
	if s.m.Benches == nil {
		s.m.Benches = map[string]*benchManifest{}
	}
	if err := checkPaths(s.m); err != nil {
		s.Close()
		return nil, fmt.Errorf("index: %s: %w", filepath.Join(dir, manifestName), err)
	}
	return s, nil
}

// Dir returns the store directory.
func (s *Store) Dir() string { return s.dir }

// Close unmaps every file. It is safe to call twice.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for _, m := range s.maps {
		if err := m.close(); err != nil && first == nil {
			first = err
		}
	}
	s.maps = nil
	s.benches = map[string]*Bench{}
	if s.readers != nil {
		s.readers.Close() // releases the shared lock
		s.readers = nil
	}
	return first
}

// Benches lists the benchmarks the store holds.
func (s *Store) Benches() []string {
	var out []string
	for name := range s.m.Benches {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Sources lists the sources ingested into bench, oldest first.
func (s *Store) Sources(bench string) []Source {
	bm := s.m.Benches[bench]
	if bm == nil {
		return nil
	}
	out := make([]Source, len(bm.Segments))
	for i, sg := range bm.Segments {
		out[i] = sg.Source
	}
	return out
}

// ExtraFile returns the path of a benchmark's auxiliary table by role
// (for example the NB101 table), and whether it exists.
func (s *Store) ExtraFile(bench, role string) (string, bool) {
	bm := s.m.Benches[bench]
	if bm == nil || bm.Extra[role] == "" {
		return "", false
	}
	return filepath.Join(s.dir, bm.Extra[role]), true
}

// SetLockWait sets a function that Lock calls once when it has to wait for
// another process's writer lock (the CLI prints a note).
func (s *Store) SetLockWait(fn func()) { s.lockWait = fn }

// Lock takes the store's writer lock for a whole write, collects garbage and
// re-reads the manifest. An ingest takes it before it reads its input, so
// that a second writer waits, or fails (a LOCK it cannot open), before it
// parses anything. It waits while another process holds the lock and
// returns ctx's error if ctx ends first. Commits through this Store while
// the lock is held do not lock again; the holder commits from one goroutine
// at a time. unlock releases it.
func (s *Store) Lock(ctx context.Context) (unlock func(), err error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wheld > 0 {
		s.wheld++
		return s.release, nil
	}
	_, statErr := os.Stat(s.dir)
	made := errors.Is(statErr, fs.ErrNotExist)
	wait := time.Millisecond
	told := false
	for {
		f, err := s.openLock()
		if err != nil {
			return nil, err
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			if sameFile(f, filepath.Join(s.dir, "LOCK")) {
				s.wheld, s.wunlock = 1, unlockFile(f)
				break
			}
			// A writer that created the store and failed removed LOCK
			// meanwhile: lock the one that is there now.
			f.Close()
			continue
		}
		f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return nil, fmt.Errorf("index: lock store: %w", err)
		}
		if !told && s.lockWait != nil {
			s.lockWait()
			told = true
		}
		select {
		case <-ctx.Done():
			if made {
				os.Remove(s.dir) // only if still empty
			}
			return nil, fmt.Errorf("index: waiting for the writer lock of %s: %w", s.dir, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
	if made {
		// A write that fails leaves no store behind where there was none.
		unlockFile := s.wunlock
		s.wunlock = func() {
			if _, err := os.Stat(filepath.Join(s.dir, manifestName)); errors.Is(err, fs.ErrNotExist) {
				if f := registerReader(s.dir); f != nil {
					if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
						os.Remove(filepath.Join(s.dir, readersName)) // no reader registered
					}
					f.Close()
				}
				os.Remove(filepath.Join(s.dir, "LOCK"))
				os.Remove(s.dir) // only if empty
			}
			unlockFile()
		}
	}
	if _, err := s.gcLocked(); err != nil {
		s.wheld = 0
		s.wunlock()
		return nil, err
	}
	s.resetBenches()
	return s.release, nil
}

// sameFile reports whether the open file f is the file now at path.
func sameFile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Lstat(path)
	return err == nil && os.SameFile(a, b)
}

// release undoes one Lock or nested lock.
func (s *Store) release() {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wheld == 0 {
		return
	}
	if s.wheld--; s.wheld == 0 {
		s.wunlock()
		s.wunlock = nil
	}
}

// resetBenches drops every cached benchmark after the manifest changed.
func (s *Store) resetBenches() {
	s.mu.Lock()
	s.benches = map[string]*Bench{}
	s.mu.Unlock()
}

// lock takes the writer lock (an exclusive lock on LOCK) for a commit and
// first removes what crashed writers left behind (gcLocked). Under Lock it
// only counts.
func (s *Store) lock() (func(), error) {
	unlock, _, err := s.lockGC()
	return unlock, err
}

// lockGC is lock that also returns what the garbage collection did.
func (s *Store) lockGC() (func(), GCResult, error) {
	s.wmu.Lock()
	if s.wheld > 0 {
		s.wheld++
		s.wmu.Unlock()
		return s.release, GCResult{}, nil
	}
	s.wmu.Unlock()
	unlock, err := s.lockOnly()
	if err != nil {
		return nil, GCResult{}, err
	}
	res, err := s.gcLocked()
	if err != nil {
		unlock()
		return nil, GCResult{}, err
	}
	return unlock, res, nil
}

// openLock opens LOCK, never following it as a symlink.
func (s *Store) openLock() (*os.File, error) {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("index: create store %s: %w", s.dir, err)
	}
	f, err := os.OpenFile(filepath.Join(s.dir, "LOCK"), os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, fmt.Errorf("index: lock store: %w", err)
	}
	return f, nil
}

func unlockFile(f *os.File) func() {
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}

// lockOnly takes the writer lock, waiting for it.
func (s *Store) lockOnly() (func(), error) {
	for {
		f, err := s.openLock()
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("index: lock store: %w", err)
		}
		if sameFile(f, filepath.Join(s.dir, "LOCK")) {
			return unlockFile(f), nil
		}
		f.Close() // removed by a failed first writer (Lock): lock the new one
	}
}

// reloadManifest re-reads the manifest under the commit lock, so that two
// processes committing one after the other do not lose each other's work.
func (s *Store) reloadManifest() error {
	b, err := os.ReadFile(filepath.Join(s.dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("index: reload manifest: %w", err)
	}
	var m manifest
	if err := decodeManifest(b, &m); err != nil {
		return fmt.Errorf("index: reload manifest: %w: %v", ErrCorrupt, err)
	}
	if m.Benches == nil {
		m.Benches = map[string]*benchManifest{}
	}
	if err := checkPaths(m); err != nil {
		return fmt.Errorf("index: reload manifest: %w", err)
	}
	s.m = m
	return nil
}

// writeManifest replaces the manifest atomically.
// It records the checksum of every referenced file first.
func (s *Store) writeManifest(m manifest) error {
	if err := s.recordSums(&m); err != nil {
		return err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("index: encode manifest: %w", err)
	}
	return WriteFileAtomic(filepath.Join(s.dir, manifestName), func(f *os.File) error {
		_, err := f.Write(b)
		return err
	})
}

// cloneManifest deep-copies m so that a failed commit leaves s.m untouched.
func cloneManifest(m manifest) manifest {
	b, _ := json.Marshal(m)
	var c manifest
	_ = json.Unmarshal(b, &c)
	if c.Benches == nil {
		c.Benches = map[string]*benchManifest{}
	}
	return c
}

// WriteFileAtomic writes path through fill into a temporary file in the same
// directory, fsyncs it, renames it into place and fsyncs the directory. On
// any error the temporary file is removed and path is untouched.
func WriteFileAtomic(path string, fill func(f *os.File) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	tmp := f.Name()
	lockTemp(f)
	f.Chmod(0o644)
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := fill(f); err != nil {
		return fmt.Errorf("index: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("index: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("index: close %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("index: rename %s: %w", path, err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// mappedFile is a read-only memory map of a whole file.
type mappedFile struct {
	data []byte
}

func mapFile(path string) (*mappedFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() == 0 {
		return &mappedFile{}, nil
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", path, err)
	}
	return &mappedFile{data: data}, nil
}

func (m *mappedFile) close() error {
	if m.data == nil {
		return nil
	}
	err := syscall.Munmap(m.data)
	m.data = nil
	return err
}

// mapped maps path (relative to the store) and registers it for Close.
// A missing file, or one whose size differs from the manifest's record, is
// ErrDamaged.
func (s *Store) mapped(rel string) (*mappedFile, error) {
	if !filepath.IsLocal(rel) {
		return nil, fmt.Errorf("index: %w: MANIFEST names %q, outside the store", ErrCorrupt, rel)
	}
	m, err := mapFile(filepath.Join(s.dir, rel))
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, s.checkFile(rel, 0, err)
	}
	if err := s.checkFile(rel, int64(len(m.data)), nil); err != nil {
		m.close()
		return nil, err
	}
	s.mu.Lock()
	s.maps = append(s.maps, m)
	s.mu.Unlock()
	return m, nil
}

// colList marshals as one string, ';'-separated columns of space-separated
// fields (dataset, hp, set, metric, seed, epochs): characters JSON need not
// escape, parsed by hand, keep Open well under a millisecond with hundreds
// of columns.
type colList []colManifest

// MarshalJSON writes the columns as one string.
func (c colList) MarshalJSON() ([]byte, error) {
	var sb strings.Builder
	for i, cm := range c {
		if i > 0 {
			sb.WriteByte(';')
		}
		for _, f := range []string{cm.Key.Dataset, cm.Key.HP, cm.Key.Set, cm.Key.Metric} {
			if f == "" {
				f = "_"
			}
			if strings.ContainsAny(f, " ;\"\\") || f[0] < ' ' {
				return nil, fmt.Errorf("index: column name %q has a space, ';', quote or backslash", f)
			}
			sb.WriteString(f)
			sb.WriteByte(' ')
		}
		sb.WriteString(strconv.Itoa(cm.Key.Seed))
		sb.WriteByte(' ')
		e, _ := cm.Epochs.MarshalJSON()
		sb.Write(e[1 : len(e)-1])
	}
	return json.Marshal(sb.String())
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *colList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	cl, err := parseColList(s)
	*c = cl
	return err
}

// parseColList reads the columns' string that colList.MarshalJSON writes.
func parseColList(s string) (colList, error) {
	var c colList
	if s == "" {
		return c, nil
	}
	// Columns share their epoch lists (read-only), most are alike.
	shared := map[string]Epochs{}
	var fields [6]string
	for line := range strings.SplitSeq(s, ";") {
		f := fields[:0]
		for x := range strings.SplitSeq(line, " ") {
			if len(f) == 6 {
				return nil, fmt.Errorf("index: manifest column %q: want 6 fields", line)
			}
			f = append(f, x)
		}
		for i := 0; i < 4 && i < len(f); i++ {
			if f[i] == "_" {
				f[i] = ""
			}
		}
		if len(f) != 6 {
			return nil, fmt.Errorf("index: manifest column %q: want 6 fields", line)
		}
		seed, err := strconv.Atoi(f[4])
		if err != nil {
			return nil, fmt.Errorf("index: manifest column %q: seed: %w", line, err)
		}
		cm := colManifest{Key: Key{f[0], f[1], f[2], f[3], seed}}
		if f[5] != "" {
			e, ok := shared[f[5]]
			if !ok {
				if e, err = parseEpochs(f[5]); err != nil {
					return nil, err
				}
				shared[f[5]] = e
			}
			cm.Epochs = e
		}
		c = append(c, cm)
	}
	return c, nil
}
