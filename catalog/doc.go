// Package catalog is a store's catalogue: a Badger database under
// <store>/catalog that records every ingested source (checksum, size, kind,
// time) and holds small mutable state such as live-training results
// (index.LiveResult, trained by nbquery itself where no table has them).
//
// It is kept out of package index so that the query path (the MANIFEST
// and the Arrow segments) never links Badger, its protobuf, compression
// and telemetry packages: catalog is the only package that imports Badger,
// and only the commands that need the catalogue (ingest, info, train,
// experiment --live, query's fallback to live results in the full build)
// import catalog. nbquery serve never opens it.
//
// A writer attaches the catalogue to a store with Attach, so that each
// commit records its source; readers use For. Every operation opens the
// database for milliseconds and closes it again, so processes wait on one
// another briefly, never across a parse.
package catalog
