package index

import (
	"encoding/json"
	"fmt"
	"path/filepath"
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

// openCatalog opens the catalogue read-write. The caller closes it.
func (s *Store) openCatalog() (*badger.DB, error) {
	db, err := badger.Open(catalogOptions(filepath.Join(s.dir, catalogDir), false))
	if err != nil {
		return nil, fmt.Errorf("index: open catalogue: %w", err)
	}
	return db, nil
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
	db, err := badger.Open(catalogOptions(filepath.Join(s.dir, catalogDir), true))
	if err != nil {
		// A store with no catalogue yet has nothing to list.
		if _, ok := s.m.Benches[NB201]; !ok && len(s.m.Benches) == 0 {
			return nil
		}
		return fmt.Errorf("index: open catalogue: %w", err)
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
