// Package ingest reads the NAS-Bench-201 family of benchmark files - NATS-Bench
// topology (tss) and size (sss) pickles, NAS-Bench-201 .pth files, flattened CSV
// exports and HELP hardware-latency tables - and commits them into an
// index.Store as one segment per source.
//
// Entry points are NB201 and NATSSSS; they sniff the input kind from the path
// and its first bytes. Every ingest is atomic: on any error the segment is
// aborted and the store directory is left byte-for-byte unchanged. Input
// problems are reported as *ParseError naming the file, line or byte offset
// and field; callers test the cause with errors.Is against the sentinels
// below and index.ErrArchMismatch.
//
// Ownership and memory: the functions hold no state between calls and keep no
// reference to the store or to any returned value. A NATS -simple directory is
// streamed in index order in frames of FrameRows rows, decoded in parallel
// over GOMAXPROCS goroutines, so memory is bounded by about two frames (about
// 300 MB for the full topology space with 200-epoch curves). Single-file
// NATS pickles and NAS-Bench-201 .pth files are decoded whole by gopickle,
// which materialises the complete object graph: expect several times the
// decompressed pickle size (tens of GB for NAS-Bench-201-v1_1-096897.pth);
// ArchResults entries are converted and released one architecture at a time
// while frames are written. CSV sources are read whole (a few MB).
package ingest
