// Package tfrecord reads and writes the NAS-Bench-101 benchmark files
// (nasbench_full.tfrecord, nasbench_only108.tfrecord) and ingests them, and
// the smaller NB101 tables published by third parties, into an index.Store.
//
// Three layers, each usable alone:
//
//   - Reader / Writer: the TFRecord framing (uint64 length, masked CRC-32C of
//     the length, data, masked CRC-32C of the data), both checksums verified.
//   - ParseRow / AppendRow: one record's payload, the JSON row
//     [hash, epochs, adjacency, operations, raw_metrics], with raw_metrics the
//     base64 of a nasbench.ModelMetrics protobuf (DecodeMetrics /
//     AppendMetrics, built on protowire).
//   - IngestNB101 / IngestNB101With: a whole benchmark file into the store's
//     NB101 table (index.NB101Builder), every cell's hash re-checked unless
//     Options.SkipHashCheck. IngestNB101Partial: third-party partial tables
//     keyed by hash (CSV, get_metrics_from_hash-style JSON, columnar JSON),
//     each cell's matrix recovered from the enumerated space.
//
// Ownership: the []byte returned by Reader.Next aliases an internal buffer
// that the next call overwrites. A Row filled by ParseRow owns its data
// (its Evals slice is reused by the next ParseRow into the same Row).
// Every error from a file wraps a sentinel (ErrCRC, ErrTruncated, ErrJSON,
// ErrBase64, ErrProto, ErrOp, ErrShape, ...) inside a *RecordError that names
// the record number and byte offset.
package tfrecord
