// Package index is nbquery's store and query engine.
//
// A store is a directory. Tabular benchmark data lives in immutable Arrow IPC
// files ("segments"), one per ingested source, mapped and read zero-copy
// by internal/arrowfile (standard Arrow files: arrow-go, pyarrow and DuckDB
// read them; index does not link arrow-go, whose initialisation the query
// path would pay in every process); a small MANIFEST lists the live
// segments of every benchmark. The catalogue of ingested sources and live-training results
// (a Badger database under catalog/) is package catalog: index does not
// link it, so the query path reads only the MANIFEST and the segments.
//
// Writers (package ingest) build a segment with NewSegment / Write / Commit:
// the file is written to a temporary path, fsynced and renamed into place, and
// only then is the manifest replaced, so a failed or killed ingest leaves the
// previous store intact.
//
// Readers open a store with Open; the returned *Store and every Bench it hands
// out stay valid until Close. Query results are copies. Slices handed to a
// callback (Scan) alias the mapped files and are valid only during the call.
package index
