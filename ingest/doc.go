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
// reference to the store or to any returned value; frames handed to the
// segment writer are freshly allocated per call. A NATS -simple directory is
// streamed in index order in frames of FrameRows rows, decoded in parallel
// over GOMAXPROCS goroutines straight into the frame, so memory is bounded by
// one frame plus the writer's batch (the full 15,625-file topology space
// with 200-epoch curves, 271 columns, peaks below 1 GB RSS; see
// TestIngestNATSDirFull). Single-file NATS pickles and NAS-Bench-201 .pth
// files are read whole and decoded by gopickle, which materialises the
// complete object graph: expect several times the decompressed pickle size
// (tens of GB for NAS-Bench-201-v1_1-096897.pth, as with torch.load);
// ArchResults entries are converted and released one architecture at a time
// while frames are written. CSV and HELP sources are read whole (a few MB).
//
// Column layout: keys are index.Key{Dataset, HP, Set, Metric, Seed}; per
// (hp, dataset, seed) a record yields train accuracy/loss/time/all-time,
// accuracy/loss/time/all-time for every eval set, and epoch-free cost
// params/flops/latency. A column stores the epochs recorded for it in the
// source (so cifar10-valid ori-test accuracy at hp 200 holds epoch 199 only);
// for a streamed directory the first frame fixes the layout and a later
// record that does not fit is an ErrLayout error.
//
// Source checksums are the SHA-256 of the file, or for a directory the
// SHA-256 of "<relative path>\x00<hex SHA-256>\n" over its regular files
// in sorted order.
package ingest
