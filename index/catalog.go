package index

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The catalogue (package catalog) is a Badger database under
// <store>/catalog that records every ingested source and holds small
// mutable state such as live-training results. index does not link it: the
// query path reads only the MANIFEST and the Arrow files, so that a process
// that answers queries pays neither Badger's linking nor its
// initialisation. A writer that wants its sources recorded attaches the
// catalogue with SetSourceLog (catalog.Attach).

// catalogDir is the catalogue's directory inside a store.
const catalogDir = "catalog"

// ErrCatalog marks a catalogue that cannot be opened or read; it is never
// "not found". ErrCatalogBusy (which wraps it) marks one that stayed
// locked by another process for catalog.Wait.
var (
	ErrCatalog     = errors.New("index: catalogue unreadable")
	ErrCatalogBusy = fmt.Errorf("%w: busy", ErrCatalog)
)

// SourceLog records each committed source outside the tables. Commit calls
// Record under the store's writer lock, after the new files are in place
// and before the manifest is replaced; an error aborts the commit.
type SourceLog interface {
	Record(bench string, src Source) error
}

// SetSourceLog makes every later commit of s record its source in l
// (nil: record nothing, the default).
func (s *Store) SetSourceLog(l SourceLog) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.srcLog = l
}

func (s *Store) recordSource(bench string, src Source) error {
	s.mu.Lock()
	l := s.srcLog
	s.mu.Unlock()
	if l == nil {
		return nil
	}
	return l.Record(bench, src)
}

// CatalogPath returns the catalogue's directory in the store.
func (s *Store) CatalogPath() string { return filepath.Join(s.dir, catalogDir) }

// HasCatalog reports whether the store has a catalogue directory (any
// ingest or live-training run creates it).
func (s *Store) HasCatalog() bool {
	fi, err := os.Stat(s.CatalogPath())
	return err == nil && fi.IsDir()
}

// Locked runs fn under the store's writer lock (the one commits take,
// after the clean-up of what crashed writers left behind).
func (s *Store) Locked(fn func() error) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}
