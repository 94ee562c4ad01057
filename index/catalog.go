package index

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// The catalogue is a Badger database under <store>/catalog. It records every
// ingested source (checksum, size, kind, time), and holds small mutable state
// such as live-training results. It is opened only when needed: read paths
// that answer from the tables never touch it.

const catalogDir = "catalog"

// SourceRecord is the catalogue entry of one ingested source.
type SourceRecord struct {
	Bench    string    `json:"bench"`
	Source   Source    `json:"source"`
	Ingested time.Time `json:"ingested"`
}

func catalogOptions(dir string, readOnly bool) badger.Options {
	o := badger.DefaultOptions(dir).
		WithCompression(options.None).
		WithBlockCacheSize(0).
		WithIndexCacheSize(0).
		WithNumMemtables(1).
		WithMemTableSize(8 << 20).
		WithValueLogFileSize(16 << 20).
		WithNumGoroutines(1).
		WithNumCompactors(2).
		WithMetricsEnabled(false).
		WithLogger(nil)
	if readOnly {
		o = o.WithReadOnly(true)
	}
	return o
}

// CatalogWait bounds how long an open of the catalogue retries while
// another process holds it. Every holder keeps it for milliseconds (readers
// and writers open it per operation, never across a parse), so waits are
// short; the bound only turns a stuck holder into an error.
var CatalogWait = 30 * time.Second

// ErrCatalog marks a catalogue that cannot be opened or read; it is never
// "not found". ErrCatalogBusy (which wraps it) marks one that stayed
// locked by another process for CatalogWait.
var (
	ErrCatalog     = errors.New("index: catalogue unreadable")
	ErrCatalogBusy = fmt.Errorf("%w: busy", ErrCatalog)
)

// openCatalog opens the catalogue read-write. The caller closes it.
func (s *Store) openCatalog() (*badger.DB, error) { return s.openCatalogMode(false) }

// openCatalogMode opens the catalogue, retrying with backoff while another
// process holds Badger's directory lock, and recovering once from a torn
// open (a kill while Badger created its files leaves empty ones behind).
func (s *Store) openCatalogMode(readOnly bool) (*badger.DB, error) {
	dir := filepath.Join(s.dir, catalogDir)
	deadline := time.Now().Add(CatalogWait)
	wait := 2 * time.Millisecond
	repairs := 0
	for {
		db, err := badger.Open(catalogOptions(dir, readOnly))
		if err == nil {
			return db, nil
		}
		switch {
		case lockedErr(err):
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%w: %s held by another process for %v: %v", ErrCatalogBusy, dir, CatalogWait, err)
			}
			time.Sleep(wait)
			wait = min(2*wait, 100*time.Millisecond)
		case repairs < 3 && !readOnly && (removeTorn(dir) || removeNewMemtable(dir, err)):
			repairs++
		case readOnly:
			// A writer was killed ("not properly closed", or a torn open
			// that left an uninitialised memtable): a brief read-write
			// open replays its log or lets removeTorn repair it.
			readOnly = false
		default:
			return nil, fmt.Errorf("%w: open %s: %v", ErrCatalog, dir, err)
		}
	}
}

// lockedErr reports Badger's "directory lock held" error.
func lockedErr(err error) bool {
	return errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EAGAIN) ||
		strings.Contains(err.Error(), "Cannot acquire directory lock")
}

// zeroHeader reports a memtable or vlog file whose 20-byte header (key id
// and a random base IV, written before any entry) is still all zeros: one
// a killed open created but never initialised (Badger's next open then
// stretches it to full size and fails on it). It holds no entries.
func zeroHeader(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var h [20]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return false
	}
	return h == [20]byte{}
}

// newMemtableRe matches Badger's report that a memtable it found on disk
// was empty when it opened it ("Create a new file"): a kill between the
// file's creation and its first write. Badger has just stretched it to
// full size, so zeroHeader may not see it as torn; it holds no entries.
var newMemtableRe = regexp.MustCompile(`while opening fid: ([0-9]+) err: Create a new file`)

// removeNewMemtable removes the memtable that err names as empty, under
// Badger's directory lock; it reports whether it removed it.
func removeNewMemtable(dir string, err error) bool {
	m := newMemtableRe.FindStringSubmatch(err.Error())
	if m == nil {
		return false
	}
	fid, convErr := strconv.Atoi(m[1])
	if convErr != nil {
		return false
	}
	lf, openErr := os.Open(dir)
	if openErr != nil {
		return false
	}
	defer lf.Close()
	if syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return false
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
	return os.Remove(filepath.Join(dir, fmt.Sprintf("%05d.mem", fid))) == nil
}

// removeTorn removes the empty or uninitialised memtable, vlog and
// manifest files a killed open leaves behind; it reports whether it
// removed any.
func removeTorn(dir string) bool {
	// Only while holding Badger's own lock (a flock on the directory), so
	// that no other process is creating a file at that moment.
	lf, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer lf.Close()
	if syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return false
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	removed := false
	for _, e := range ents {
		n := e.Name()
		if !strings.HasSuffix(n, ".mem") && !strings.HasSuffix(n, ".vlog") && n != "MANIFEST" {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && (fi.Size() == 0 || (n != "MANIFEST" && zeroHeader(filepath.Join(dir, n)))) {
			if os.Remove(filepath.Join(dir, n)) == nil {
				removed = true
			}
		}
	}
	return removed
}

func (s *Store) recordSource(bench string, src Source) error {
	db, err := s.openCatalog()
	if err != nil {
		return err
	}
	defer db.Close()
	rec := SourceRecord{Bench: bench, Source: src, Ingested: time.Now().UTC()}
	b, _ := json.Marshal(rec)
	return db.Update(func(txn *badger.Txn) error {
		if err := txn.Set([]byte("schema_version"), []byte(fmt.Sprint(SchemaVersion))); err != nil {
			return err
		}
		return txn.Set([]byte("source/"+bench+"/"+src.SHA256+"/"+src.Kind), b)
	})
}

// Catalog returns every source record, in key order.
func (s *Store) Catalog() ([]SourceRecord, error) {
	var out []SourceRecord
	err := s.ViewCatalog([]byte("source/"), func(key, val []byte) error {
		var r SourceRecord
		if err := json.Unmarshal(val, &r); err != nil {
			return fmt.Errorf("index: catalogue %s: %w: %v", key, ErrCorrupt, err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// ViewCatalog calls fn for every catalogue entry whose key starts with
// prefix, in key order. key and val are valid only during the call.
func (s *Store) ViewCatalog(prefix []byte, fn func(key, val []byte) error) error {
	if _, err := os.Stat(filepath.Join(s.dir, catalogDir)); errors.Is(err, fs.ErrNotExist) {
		return nil // no catalogue yet: nothing to list
	}
	db, err := s.openCatalogMode(true)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			if err := item.Value(func(v []byte) error { return fn(item.Key(), v) }); err != nil {
				return err
			}
		}
		return nil
	})
}

// PutCatalog stores key -> val in the catalogue under the store lock.
func (s *Store) PutCatalog(key, val []byte) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	db, err := s.openCatalog()
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Update(func(txn *badger.Txn) error { return txn.Set(key, val) })
}

// GetCatalog returns a copy of the value stored under key, or ErrNotFound.
func (s *Store) GetCatalog(key []byte) ([]byte, error) {
	var out []byte
	found := false
	err := s.ViewCatalog(key, func(k, v []byte) error {
		if string(k) == string(key) {
			out = append([]byte(nil), v...)
			found = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: catalogue key %s", ErrNotFound, key)
	}
	return out, nil
}
