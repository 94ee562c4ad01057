// Package arrowfile reads and writes the Arrow IPC files of nbquery's
// store: the file format (magic, schema, record batches, footer) with
// uncompressed bodies, no dictionaries, no nulls, little-endian, and the
// few types the store uses (signed and unsigned integers, float64, utf8,
// fixed-size binary, fixed-size lists of those).
//
// It is hand-written on purpose. The query path (bin/nbquery) opens a store
// in every process, and linking arrow-go's ipc and array packages cost each
// cold query about a millisecond before main ran: their package
// initialisation (klauspost/cpuid, whose CPUID instructions trap in a
// virtual machine, klauspost/compress's snappy tables, arrow's flatbuffers
// enum maps, ~0.6 ms in GODEBUG=inittrace=1) and the page faults of a
// binary 4.6 MB larger (BENCHMARKS.md, "Batch queries and the cold CLI").
// The files stay standard Arrow: the tests check every file this package
// writes against arrow-go's reader and every file arrow-go writes against
// this reader, and fuzz the reader with hostile input.
//
// Reading is zero-copy: a File keeps the bytes it was opened on (a mapped
// file), and the slices it returns alias them.
package arrowfile
