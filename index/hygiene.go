package index

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// ErrDamaged marks a store file that is missing, cut short or altered: the
// store itself is damaged, which is never "not recorded by the benchmark".
var ErrDamaged = errors.New("store damaged")

// fileSum is what the manifest records of every file it references.
type fileSum struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// damaged is the error for a damaged store file rel.
func (s *Store) damaged(rel, why string) error {
	return fmt.Errorf("%w: %s: %s (run nbquery store verify)", ErrDamaged, filepath.Join(s.dir, rel), why)
}

// referenced lists every file the manifest m references, relative to the
// store, sorted.
func referenced(m manifest, dir string) []string {
	set := map[string]bool{}
	for _, bm := range m.Benches {
		if bm.Archs != "" {
			set[bm.Archs] = true
		}
		for _, sg := range bm.Segments {
			if sg.File != "" {
				set[sg.File] = true
			}
		}
		for _, rel := range bm.Extra {
			set[rel] = true
			if d := nb101DirFile(rel); d != rel {
				if _, err := os.Stat(filepath.Join(dir, d)); err == nil {
					set[d] = true
				}
			}
		}
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// checkPaths confines every path of a manifest to the store directory.
func checkPaths(m manifest) error {
	for name, bm := range m.Benches {
		if !filepath.IsLocal(name) || strings.ContainsAny(name, `/\`) {
			return fmt.Errorf("%w: MANIFEST names benchmark %q", ErrCorrupt, name)
		}
		paths := []string{bm.Archs}
		for _, sg := range bm.Segments {
			paths = append(paths, sg.File)
		}
		for _, rel := range bm.Extra {
			paths = append(paths, rel)
		}
		for _, p := range paths {
			if p != "" && (!filepath.IsLocal(p) || strings.HasPrefix(filepath.Base(p), ".") || p == manifestName || strings.HasPrefix(p, catalogDir+"/")) {
				return fmt.Errorf("%w: MANIFEST names %q, outside the store's data files", ErrCorrupt, p)
			}
		}
	}
	for p := range m.Files {
		if !filepath.IsLocal(p) {
			return fmt.Errorf("%w: MANIFEST names %q, outside the store", ErrCorrupt, p)
		}
	}
	return nil
}

// sumFile hashes one store file.
func sumFile(path string) (fileSum, error) {
	f, err := os.Open(path)
	if err != nil {
		return fileSum{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fileSum{}, err
	}
	return fileSum{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// recordSums fills m.Files for every referenced file (hashing the new ones)
// and drops entries of files no longer referenced.
func (s *Store) recordSums(m *manifest) error {
	files := map[string]fileSum{}
	for _, rel := range referenced(*m, s.dir) {
		if fs, ok := m.Files[rel]; ok {
			files[rel] = fs
			continue
		}
		fs, err := sumFile(filepath.Join(s.dir, rel))
		if err != nil {
			return fmt.Errorf("index: checksum %s: %w", rel, err)
		}
		files[rel] = fs
	}
	m.Files = files
	return nil
}

// checkFile reports a referenced file that is missing or not the size the
// manifest records (cheap: one stat), as ErrDamaged.
func (s *Store) checkFile(rel string, size int64, statErr error) error {
	if statErr != nil {
		if errors.Is(statErr, fs.ErrNotExist) {
			return s.damaged(rel, "missing")
		}
		return s.damaged(rel, statErr.Error())
	}
	if want, ok := s.m.Files[rel]; ok && want.Size != size {
		return s.damaged(rel, fmt.Sprintf("%d bytes, the manifest records %d", size, want.Size))
	}
	return nil
}

// checkBenchFiles stats every file of a benchmark.
func (s *Store) checkBenchFiles(bm *benchManifest) error {
	for _, sg := range bm.Segments {
		if sg.File == "" {
			continue
		}
		fi, err := os.Stat(filepath.Join(s.dir, sg.File))
		var size int64
		if err == nil {
			size = fi.Size()
		}
		if err := s.checkFile(sg.File, size, err); err != nil {
			return err
		}
	}
	return nil
}

// Problem is one finding of Verify.
type Problem struct {
	File string // relative to the store
	What string
}

// Verify checks every file the manifest references against the size and
// SHA-256 recorded when it was written. Files written by a build that did
// not record checksums are reported as such.
func (s *Store) Verify() ([]Problem, error) {
	if err := s.reloadManifest(); err != nil {
		return nil, err
	}
	var out []Problem
	for _, rel := range referenced(s.m, s.dir) {
		want, ok := s.m.Files[rel]
		got, err := sumFile(filepath.Join(s.dir, rel))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			out = append(out, Problem{rel, "missing"})
		case err != nil:
			out = append(out, Problem{rel, err.Error()})
		case !ok:
			out = append(out, Problem{rel, "no checksum recorded (written by an older build; rewritten at the next ingest)"})
		case got.Size != want.Size:
			out = append(out, Problem{rel, fmt.Sprintf("%d bytes, the manifest records %d", got.Size, want.Size)})
		case got.SHA256 != want.SHA256:
			out = append(out, Problem{rel, fmt.Sprintf("SHA-256 %.12s..., the manifest records %.12s...", got.SHA256, want.SHA256)})
		}
	}
	return out, nil
}

// GC removes, under the writer lock, what no manifest references: temp
// files of writers that died (a live writer holds a lock on its temp file)
// and segment, arch-list and NB101 files that are unreferenced or were
// superseded. The latter are kept while another process has the store open
// (a reader that read an older manifest may map them later); a GC after
// the last reader closed removes them.
func (s *Store) GC() (GCResult, error) {
	if _, err := os.Stat(s.dir); errors.Is(err, fs.ErrNotExist) {
		return GCResult{}, nil
	}
	unlock, res, err := s.lockGC()
	if err != nil {
		return GCResult{}, err
	}
	unlock()
	return res, nil
}

// GCResult lists what a GC removed and the unreferenced files it kept
// because other processes have the store open, relative to the store.
type GCResult struct {
	Removed, Kept []string
}

// gcLocked is GC's work; the caller holds the writer lock.
func (s *Store) gcLocked() (GCResult, error) {
	var res GCResult
	if err := s.reloadManifest(); err != nil {
		return res, err
	}
	refs := map[string]bool{}
	for _, rel := range referenced(s.m, s.dir) {
		refs[rel] = true
	}
	// Unreferenced data files may be superseded ones that a reader opened
	// before the commit still maps later: remove them only when no other
	// reader is open.
	alone := s.noOtherReaders()
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return res, fmt.Errorf("index: gc: %w", err)
	}
	try := func(rel string) {
		if isTemp(filepath.Base(rel)) {
			if !unlockedFile(filepath.Join(s.dir, rel)) {
				return // a live writer's
			}
		} else if refs[rel] || !isDataFile(filepath.Base(rel)) {
			return
		} else if !alone {
			res.Kept = append(res.Kept, rel)
			return
		}
		if os.Remove(filepath.Join(s.dir, rel)) == nil {
			res.Removed = append(res.Removed, rel)
		}
	}
	for _, e := range entries {
		switch {
		case e.IsDir() && e.Name() != catalogDir:
			sub, err := os.ReadDir(filepath.Join(s.dir, e.Name()))
			if err != nil {
				return res, fmt.Errorf("index: gc: %w", err)
			}
			for _, f := range sub {
				if f.Type().IsRegular() {
					try(filepath.Join(e.Name(), f.Name()))
				}
			}
		case e.Type().IsRegular() && isTemp(e.Name()):
			try(e.Name())
		}
	}
	return res, nil
}

// isTemp matches the temp files of WriteFileAtomic and segment writers.
func isTemp(name string) bool { return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-") }

// isDataFile matches the files a commit writes into a benchmark directory.
func isDataFile(name string) bool {
	return strings.HasSuffix(name, ".arrow") || strings.HasSuffix(name, ".dir")
}

// unlockedFile reports whether no process holds the lock on path (its
// writer died).
func unlockedFile(path string) bool {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return false
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return true
}

// lockTemp marks a temp file as owned by a live writer until it is closed.
func lockTemp(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) }

// readersName is the file on which every open Store holds a shared lock.
const readersName = "READERS"

// registerReader takes a shared lock on READERS, creating it if the store
// exists and is writable; it returns nil (unregistered) if it cannot.
func registerReader(dir string) *os.File {
	path := filepath.Join(dir, readersName)
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = os.OpenFile(path, os.O_CREATE|os.O_RDONLY|syscall.O_NOFOLLOW, 0o644)
	}
	if err != nil {
		return nil
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_SH) != nil {
		f.Close()
		return nil
	}
	return f
}

// noOtherReaders reports whether no other open Store (in this or another
// process) holds READERS. The caller holds the writer lock. This Store's
// own shared lock is converted to exclusive for the test and back.
func (s *Store) noOtherReaders() bool {
	if s.readers == nil {
		f := registerReader(s.dir) // shared, then converted below
		if f == nil {
			return false
		}
		defer f.Close()
		return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
	}
	fd := int(s.readers.Fd())
	if syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		// A failed conversion may have dropped the shared lock.
		syscall.Flock(fd, syscall.LOCK_SH)
		return false
	}
	syscall.Flock(fd, syscall.LOCK_SH)
	return true
}
