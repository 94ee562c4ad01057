package tfrecord

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/nb101"
)

// KindTFRecord is the index.Source kind of a benchmark tfrecord.
const KindTFRecord = "nb101-tfrecord"

// Result summarises an ingest.
type Result struct {
	Records  int64         // rows read
	Cells    int           // distinct hashes
	Bytes    int64         // bytes read
	Role     string        // manifest role of the table ("table" or "partial/...")
	SHA256   string        // hex digest of the file (also when it was already ingested)
	Duration time.Duration // wall time, including the commit
}

// MBps returns the read throughput in MB/s (10^6 bytes).
func (r Result) MBps() float64 { return float64(r.Bytes) / 1e6 / r.Duration.Seconds() }

// Options tunes IngestNB101With.
type Options struct {
	// Progress, if not nil, receives a line every 250,000 records.
	Progress io.Writer
	// SkipHashCheck skips re-hashing each cell's stored spec. The check
	// costs ~16 us of CPU per cell (~7 s for the 423,624 cells, on a second
	// goroutine); the official api.py does not do it.
	SkipHashCheck bool
	// Force ingests a file named like an official one (nasbench_full.tfrecord,
	// nasbench_only108.tfrecord) whose digest is not the official one.
	Force bool
}

// official are the published digests and record counts of the official
// files (google-research/nasbench README; counts: 423,624 models x 3
// repeats x 4 or 1 budgets).
var official = map[string]struct {
	sha256  string
	records int64
}{
	"nasbench_full.tfrecord":    {"3d64db8180fb1b0207212f9032205064312b6907a3bbc81eabea10db2f5c7e9c", 5_083_488},
	"nasbench_only108.tfrecord": {"4c39c3936e36a85269881d659e44e61a245babcb72cb374eacacf75d0e5f4fd1", 1_270_872},
}

// checkOfficial refuses a file named like an official one whose digest is
// not the official digest, unless forced.
func checkOfficial(path, sum string, records int64, force bool) error {
	o, ok := official[filepath.Base(path)]
	if !ok || force || sum == o.sha256 {
		return nil
	}
	return fmt.Errorf("%w: %s has %d records and SHA-256 %.12s..., the official file has %d records and SHA-256 %.12s... "+
		"(truncated or edited?); rename it or pass --force to ingest it anyway", ErrNotOfficial, path, records, sum, o.records, o.sha256)
}

// IngestNB101 reads nasbench_full.tfrecord or nasbench_only108.tfrecord at
// path into the store's NB101 table. Every record's framing CRCs, JSON,
// base64 and protobuf are checked, and every distinct cell's stored spec is
// re-hashed (on a second goroutine) and must match its key. Any error aborts
// the ingest and leaves the store unchanged; it is a *RecordError naming the
// record and offset for problems in the file. progress, if not nil, receives
// a line every 250,000 records.
func IngestNB101(ctx context.Context, st *index.Store, path string, progress io.Writer) (Result, error) {
	return IngestNB101With(ctx, st, path, Options{Progress: progress})
}

// IngestNB101With is IngestNB101 with options.
func IngestNB101With(ctx context.Context, st *index.Store, path string, opt Options) (Result, error) {
	progress := opt.Progress
	start := time.Now()
	var res Result
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("tfrecord: ingest %s: %w", path, err)
	}
	unlock, err := st.Lock(ctx)
	if err != nil {
		return res, fmt.Errorf("tfrecord: ingest %s: %w", path, err)
	}
	defer unlock()
	f, err := os.Open(path)
	if err != nil {
		return res, fmt.Errorf("tfrecord: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return res, fmt.Errorf("tfrecord: %w", err)
	}
	if sum, err := alreadyIngested(st, path, KindTFRecord, fi.Size()); err != nil {
		res.SHA256 = sum
		return res, err
	}
	sum := sha256.New()
	rr := NewRowReader(io.TeeReader(f, sum))
	rr.R.File = path
	b := st.NewNB101Builder()
	ok := false
	defer func() {
		if !ok {
			b.Abort()
		}
	}()

	// Hash verification runs beside the parser: one MD5 hash per new cell
	// costs ~16 us, as much as parsing the cell's rows.
	type check struct {
		h      nb101.Hash
		s      nb101.Spec
		record int64
		offset int64
	}
	checks := make(chan []check, 4)
	var verr error
	var wg sync.WaitGroup
	wg.Go(func() {
		for batch := range checks {
			for _, c := range batch {
				if verr == nil && c.s.Hash() != c.h {
					verr = &RecordError{File: path, Record: c.record, Offset: c.offset, Field: FieldHash,
						Err: fmt.Errorf("%w: stored %s, the cell hashes to %s", ErrHash, c.h, c.s.Hash())}
				}
			}
		}
	})
	var batch []check
	finish := func() error {
		if batch != nil {
			checks <- batch
		}
		close(checks)
		wg.Wait()
		return verr
	}
	var row Row
	var run index.NB101Run
	for {
		err := rr.Next(&row)
		if err == io.EOF {
			break
		}
		if err == nil && len(row.Metrics.Evals) < 3 {
			n, off := rr.R.Record()
			err = &RecordError{File: path, Record: n, Offset: off, Field: FieldMetrics,
				Err: fmt.Errorf("%w: %d evaluation_data entries, want 3 (start, halfway, final)", ErrProto, len(row.Metrics.Evals))}
		}
		before := b.Len()
		if err == nil {
			h, f := row.Metrics.Evals[1], row.Metrics.Evals[2]
			run = index.NB101Run{h.TrainingTime, h.TrainAccuracy, h.ValidationAccuracy, h.TestAccuracy,
				f.TrainingTime, f.TrainAccuracy, f.ValidationAccuracy, f.TestAccuracy}
			if e := b.Add(row.Hash, row.Spec, int64(row.Metrics.Params), row.Epochs, &run); e != nil {
				n, off := rr.R.Record()
				err = &RecordError{File: path, Record: n, Offset: off, Field: FieldEpochs, Err: e}
			}
		}
		if err != nil {
			finish()
			return res, err
		}
		if b.Len() > before { // a new cell
			n, off := rr.R.Record()
			if !opt.SkipHashCheck {
				batch = append(batch, check{row.Hash, row.Spec, n, off})
			}
			if len(batch) == 4096 {
				checks <- batch
				batch = nil
			}
		}
		res.Records++
		if res.Records%4096 == 0 {
			if err := ctx.Err(); err != nil {
				finish()
				return res, fmt.Errorf("tfrecord: ingest %s: %w", path, err)
			}
			if progress != nil && res.Records%250000 == 0 {
				off := rr.R.Offset()
				fmt.Fprintf(progress, "nb101: %d records, %d cells, %.0f/%.0f MB (%.0f MB/s)\n", res.Records, b.Len(),
					float64(off)/1e6, float64(fi.Size())/1e6, float64(off)/1e6/time.Since(start).Seconds())
			}
		}
	}
	if err := finish(); err != nil {
		return res, err
	}
	res.Bytes, res.Cells = rr.R.Offset(), b.Len()
	src := index.Source{Path: path, Kind: KindTFRecord, SHA256: hex.EncodeToString(sum.Sum(nil)), Size: fi.Size()}
	res.SHA256 = src.SHA256
	if err := checkOfficial(path, src.SHA256, res.Records, opt.Force); err != nil {
		return res, err
	}
	role, err := b.Commit(src)
	ok = true
	if err != nil {
		return res, err
	}
	res.Role, res.Duration = role, time.Since(start)
	if progress != nil {
		fmt.Fprintf(progress, "nb101: %d records, %d cells in %v (%.0f MB/s) -> %s\n", res.Records, res.Cells,
			res.Duration.Round(time.Millisecond), res.MBps(), role)
	}
	return res, nil
}

// alreadyIngested returns an error wrapping index.ErrUnchanged if the store
// holds a source of this kind with the same size and SHA-256, so that
// re-running an ingest costs one hash of the file instead of a full parse.
// (Commit checks again under the store lock.)
// It returns the file's digest when it is unchanged.
func alreadyIngested(st *index.Store, path, kind string, size int64) (string, error) {
	for _, src := range st.Sources(index.NB101) {
		if src.Kind != kind || src.Size != size || src.SHA256 == "" {
			continue
		}
		sum, _, err := hashFile(path)
		if err != nil {
			return "", fmt.Errorf("tfrecord: %w", err)
		}
		if sum == src.SHA256 {
			return sum, fmt.Errorf("%w: %s (as %s)", index.ErrUnchanged, path, src.Path)
		}
	}
	return "", nil
}

// nan is the "absent" marker of partial tables.
var nan = math.NaN()

// hashFile returns the SHA-256 and size of a file.
func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
