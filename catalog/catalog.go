package catalog

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

	"github.com/nbquery/nbquery/index"
)

// Catalog is the catalogue of one store. It holds no open database: every
// operation opens Badger for milliseconds and closes it, so that readers
// and writers of other processes wait briefly, never across a parse.
type Catalog struct {
	st  *index.Store
	dir string
}

// For returns the catalogue of st.
func For(st *index.Store) *Catalog { return &Catalog{st: st, dir: st.CatalogPath()} }

// Attach returns the catalogue of st and makes every later commit of st
// record its source in it (what nbquery ingest does).
func Attach(st *index.Store) *Catalog {
	c := For(st)
	st.SetSourceLog(c)
	return c
}

// SourceRecord is the catalogue entry of one ingested source.
type SourceRecord struct {
	Bench    string       `json:"bench"`
	Source   index.Source `json:"source"`
	Ingested time.Time    `json:"ingested"`
}

func badgerOptions(dir string, readOnly bool) badger.Options {
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

// Wait bounds how long an open of the catalogue retries while another
// process holds it. Every holder keeps it for milliseconds (readers and
// writers open it per operation, never across a parse), so waits are
// short; the bound only turns a stuck holder into an error.
var Wait = 30 * time.Second

// open opens the catalogue read-write. The caller closes it.
func (c *Catalog) open() (*badger.DB, error) { return c.openMode(false) }

// openCatalogMode opens the catalogue, retrying with backoff while another
// process holds Badger's directory lock, and recovering once from a torn
// open (a kill while Badger created its files leaves empty ones behind).
func (c *Catalog) openMode(readOnly bool) (*badger.DB, error) {
	dir := c.dir
	deadline := time.Now().Add(Wait)
	wait := 2 * time.Millisecond
	repairs := 0
	for {
		db, err := badger.Open(badgerOptions(dir, readOnly))
		if err == nil {
			return db, nil
		}
		switch {
		case lockedErr(err):
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%w: %s held by another process for %v: %v", index.ErrCatalogBusy, dir, Wait, err)
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
			return nil, fmt.Errorf("%w: open %s: %v", index.ErrCatalog, dir, err)
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

// Record records an ingested source (index.SourceLog: a commit calls it
// under the store's writer lock).
func (c *Catalog) Record(bench string, src index.Source) error {
	db, err := c.open()
	if err != nil {
		return err
	}
	defer db.Close()
	rec := SourceRecord{Bench: bench, Source: src, Ingested: time.Now().UTC()}
	b, _ := json.Marshal(rec)
	return db.Update(func(txn *badger.Txn) error {
		if err := txn.Set([]byte("schema_version"), []byte(fmt.Sprint(index.SchemaVersion))); err != nil {
			return err
		}
		return txn.Set([]byte("source/"+bench+"/"+src.SHA256+"/"+src.Kind), b)
	})
}

// Sources returns every source record, in key order.
func (c *Catalog) Sources() ([]SourceRecord, error) {
	var out []SourceRecord
	err := c.View([]byte("source/"), func(key, val []byte) error {
		var r SourceRecord
		if err := json.Unmarshal(val, &r); err != nil {
			return fmt.Errorf("catalog: %s: %w: %v", key, index.ErrCorrupt, err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// View calls fn for every catalogue entry whose key starts with prefix, in
// key order. key and val are valid only during the call.
func (c *Catalog) View(prefix []byte, fn func(key, val []byte) error) error {
	if _, err := os.Stat(c.dir); errors.Is(err, fs.ErrNotExist) {
		return nil // no catalogue yet: nothing to list
	}
	db, err := c.openMode(true)
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

// Put stores key -> val in the catalogue under the store's writer lock.
func (c *Catalog) Put(key, val []byte) error {
	return c.st.Locked(func() error {
		db, err := c.open()
		if err != nil {
			return err
		}
		defer db.Close()
		return db.Update(func(txn *badger.Txn) error { return txn.Set(key, val) })
	})
}

// Get returns a copy of the value stored under key, or an error wrapping
// index.ErrNotFound.
func (c *Catalog) Get(key []byte) ([]byte, error) {
	var out []byte
	found := false
	err := c.View(key, func(k, v []byte) error {
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
		return nil, fmt.Errorf("%w: catalogue key %s", index.ErrNotFound, key)
	}
	return out, nil
}
