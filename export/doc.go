// Package export writes a benchmark of the store as a tidy table, as
// Parquet (arrow-go's pqarrow) or as an Arrow IPC file, for DuckDB, pandas,
// polars and every other Arrow or Parquet reader.
//
// NB201 / NATS tables (NB201 below) have one row per architecture x dataset
// x hp x seed, at the last epoch of hp, in a documented wide form: the split
// is spread into column groups instead of rows, because the splits of one
// trial are one record of the official API. Columns:
//
//	index int32, arch utf8, code int32 (base-5 cell code),
//	unique utf8 (isomorphism class, nb201 only; the NB201 "hash"),
//	dataset utf8, hp int32, epoch int32 (the last epoch, 0-based),
//	seed int32 (null: the mean over seeds, the official is_random=False),
//	for each raw set S of train, x-valid, x-test, ori-test:
//	  S (accuracy, %), S-loss, S-per-time, S-all-time (float64, null if not recorded),
//	params (MB), flops (M), latency (s) of that dataset/hp/seed,
//	latency:DEVICE (ms) for every measured device (HELP/HW-NAS-Bench).
//
// So the best cifar10-valid architecture by validation accuracy is
//
//	SELECT arch, "x-valid" FROM 'nb201.parquet'
//	WHERE dataset = 'cifar10-valid' AND hp = 200 AND seed IS NULL
//	ORDER BY "x-valid" DESC, index LIMIT 1
//
// NB101 tables have one row per cell x budget x repeat (repeat null: the
// mean over the recorded repeats): index int32 (row of the hash-sorted
// table), hash utf8, matrix utf8 (JSON), ops utf8 (comma-separated),
// params int64, epochs int32, repeat int32, then api.py's eight computed
// statistics as float64 columns (halfway_training_time ...
// final_test_accuracy).
package export
