package ingest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/ingest/tfrecord"
)

// TestIngestLocksBeforeParsing: every ingest takes the store's writer lock
// before it reads its input. Each input below fails to parse at once, so an
// ingest that parsed first would return its parse error while another
// process holds the lock; instead it waits, and returns the parse error only
// once the lock is free. A cancelled wait and a LOCK that cannot be opened
// fail with the lock's error, not the parser's.
func TestIngestLocksBeforeParsing(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badCSV := write("bad.csv", "no,known,layout\n1,2,3\n")
	badTF := write("bad.tfrecord", strings.Repeat("\xff", 64))
	badPartial := write("bad_partial.csv", "hash,final_validation_accuracy\nnot-a-hash,0.9\n")
	for _, tc := range []struct {
		name   string
		ingest func(ctx context.Context, st *index.Store) error
		parse  string // in the parse error
	}{
		{"nb201 csv", func(ctx context.Context, st *index.Store) error {
			_, err := NB201(ctx, st, badCSV, Options{})
			return err
		}, "bad.csv"},
		{"nb101 tfrecord", func(ctx context.Context, st *index.Store) error {
			_, err := tfrecord.IngestNB101(ctx, st, badTF, nil)
			return err
		}, "bad.tfrecord"},
		{"nb101 partial", func(ctx context.Context, st *index.Store) error {
			_, err := tfrecord.IngestNB101Partial(ctx, st, badPartial, nil)
			return err
		}, "bad_partial.csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// Unlocked, the input fails to parse at once.
			st := openStore(t, dir)
			start := time.Now()
			err := tc.ingest(context.Background(), st)
			if err == nil || !strings.Contains(err.Error(), tc.parse) {
				t.Fatalf("unlocked: %v, want a parse error naming %s", err, tc.parse)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("the parse error took %v", d)
			}
			parseErr := err.Error()

			// Another process (a second Store: another open file) holds the lock.
			holder := openStore(t, dir)
			unlock, err := holder.Lock(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var waits atomic.Int32
			st.SetLockWait(func() { waits.Add(1) })
			done := make(chan error, 1)
			go func() { done <- tc.ingest(context.Background(), st) }()
			select {
			case err := <-done:
				unlock()
				t.Fatalf("returned %v while another writer held the lock: it did not wait before parsing", err)
			case <-time.After(300 * time.Millisecond):
			}
			unlock()
			select {
			case err := <-done:
				if err == nil || err.Error() != parseErr {
					t.Fatalf("after the wait: %v, want the parse error %s", err, parseErr)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("still waiting 5 s after the lock was released")
			}
			if n := waits.Load(); n != 1 {
				t.Fatalf("the wait was reported %d times, want 1", n)
			}

			// A cancelled wait ends promptly with the context's error.
			unlock, err = holder.Lock(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			start = time.Now()
			err = tc.ingest(ctx, st)
			cancel()
			unlock()
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "writer lock") {
				t.Fatalf("cancelled wait: %v", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("a cancelled wait took %v", d)
			}

			// A LOCK that cannot be opened fails before the input is read.
			os.Remove(filepath.Join(dir, "LOCK"))
			if err := os.Symlink(filepath.Join(t.TempDir(), "elsewhere"), filepath.Join(dir, "LOCK")); err != nil {
				t.Fatal(err)
			}
			err = tc.ingest(context.Background(), st)
			if err == nil || !strings.Contains(err.Error(), "lock store") || strings.Contains(err.Error(), parseErr) {
				t.Fatalf("LOCK symlink: %v, want the lock error and no parse error", err)
			}
		})
	}
}

func openStore(t *testing.T, dir string) *index.Store {
	t.Helper()
	st, err := index.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
