package train

// Checkpoints: snapshot and restore of the training state, resume with
// fallback to the previous checkpoint, checksummed atomic writes; split
// from run.go.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorgonia.org/tensor"
)

// snapshot copies the live training state into st.
func snapshot(st *checkpoint, ps *params, opt Optimizer, pcg *rand.PCG, l *loader) error {
	st.Weights = map[string][]float64{}
	for name, t := range ps.values {
		w := toF64(t)
		for _, v := range w {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: weight %s; checkpoint not written", ErrNonFinite, name)
			}
		}
		st.Weights[name] = w
	}
	st.BNMean, st.BNVar = map[string][]float64{}, map[string][]float64{}
	for name, s := range ps.bns {
		st.BNMean[name] = append([]float64(nil), s.Mean...)
		st.BNVar[name] = append([]float64(nil), s.Var...)
	}
	st.Opt = opt.State()
	b, err := pcg.MarshalBinary()
	if err != nil {
		return fmt.Errorf("train: rng state: %w", err)
	}
	st.RNG = b
	st.Perm = append([]int(nil), l.perm...)
	return nil
}

func restore(st *checkpoint, ps *params, opt Optimizer, pcg *rand.PCG, l *loader) error {
	for name, t := range ps.values {
		w, ok := st.Weights[name]
		if !ok || len(w) != t.Shape().TotalSize() {
			return fmt.Errorf("weight %s missing or resized", name)
		}
		switch d := t.Data().(type) {
		case []float32:
			for i, v := range w {
				d[i] = float32(v)
			}
		case []float64:
			copy(d, w)
		}
	}
	for name, s := range ps.bns {
		m, v := st.BNMean[name], st.BNVar[name]
		if len(m) != len(s.Mean) || len(v) != len(s.Var) {
			return fmt.Errorf("batch-norm statistics %s missing or resized", name)
		}
		copy(s.Mean, m)
		copy(s.Var, v)
	}
	if err := opt.SetState(st.Opt); err != nil {
		return err
	}
	if err := pcg.UnmarshalBinary(st.RNG); err != nil {
		return fmt.Errorf("rng state: %v", err)
	}
	if len(st.Perm) != len(l.perm) {
		return fmt.Errorf("epoch order has %d entries, want %d", len(st.Perm), len(l.perm))
	}
	copy(l.perm, st.Perm)
	return nil
}

func toF64(t *tensor.Dense) []float64 {
	switch d := t.Data().(type) {
	case []float32:
		w := make([]float64, len(d))
		for i, v := range d {
			w[i] = float64(v)
		}
		return w
	case []float64:
		return append([]float64(nil), d...)
	}
	return nil
}

// resumeFrom restores the checkpoint at path, or, if it is damaged, the
// previous one (path+".prev") with a warning on w. A checkpoint of another
// configuration is an error, never skipped.
func resumeFrom(path, configHash string, w io.Writer, restoreFn func(*checkpoint) error) (*checkpoint, error) {
	var damaged []string
	for _, p := range []string{path, path + ".prev"} {
		c, err := readCheckpoint(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err == nil && c.ConfigHash != configHash {
			return nil, fmt.Errorf("%w: %s has config hash %.12s…, this run %.12s…", ErrConfigMismatch, p, c.ConfigHash, configHash)
		}
		if err == nil {
			if err = restoreFn(c); err != nil {
				err = fmt.Errorf("%w: %s: %v", ErrCorruptCheckpoint, p, err)
			}
		}
		if err != nil {
			damaged = append(damaged, err.Error())
			fmt.Fprintf(w, "warning: %v; trying the previous checkpoint\n", err)
			continue
		}
		if len(damaged) > 0 {
			fmt.Fprintf(w, "warning: resuming from the previous checkpoint %s\n", p)
		}
		fmt.Fprintf(w, "resuming from %s at epoch %d, step %d\n", p, c.Epoch, c.Step)
		return c, nil
	}
	if len(damaged) > 0 {
		return nil, fmt.Errorf("%w: no usable checkpoint: %s", ErrCorruptCheckpoint, strings.Join(damaged, "; "))
	}
	return nil, fmt.Errorf("%w in %s", ErrNoCheckpoint, filepath.Dir(path))
}

// Checkpoint files are ckptMagic, the SHA-256 of the payload, and the
// payload (a gob of checkpoint). Files without the magic (written before
// checksums) are read as a bare gob.
const ckptMagic = "NBQCKPT\x01"

func readCheckpoint(path string) (*checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	st, err := decodeCheckpoint(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorruptCheckpoint, path, err)
	}
	return st, nil
}

func decodeCheckpoint(b []byte) (*checkpoint, error) {
	if rest, ok := bytes.CutPrefix(b, []byte(ckptMagic)); ok {
		if len(rest) < sha256.Size {
			return nil, errors.New("truncated header")
		}
		sum, payload := rest[:sha256.Size], rest[sha256.Size:]
		if got := sha256.Sum256(payload); !bytes.Equal(got[:], sum) {
			return nil, errors.New("checksum mismatch (damaged file)")
		}
		b = payload
	}
	var st checkpoint
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&st); err != nil {
		return nil, err
	}
	return &st, nil
}

func writeCheckpoint(path string, st *checkpoint) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".ckpt-*.tmp")
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	var payload bytes.Buffer
	if err := gob.NewEncoder(&payload).Encode(st); err != nil {
		f.Close()
		return fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	sum := sha256.Sum256(payload.Bytes())
	if _, err := f.Write(append(append([]byte(ckptMagic), sum[:]...), payload.Bytes()...)); err != nil {
		f.Close()
		return fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("train: checkpoint %s: fsync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	if _, err := os.Stat(path); err == nil {
		_ = os.Rename(path, path+".prev")
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("train: %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("train: %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("train: %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("train: %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// runLimits are a run's stops and checkpoint interval (Config, SearchConfig).
type runLimits struct {
	timeLimit       time.Duration
	maxSteps        int
	checkpointEvery time.Duration
	checkpointSteps int
}

func (cfg Config) limits() runLimits {
	return runLimits{cfg.TimeLimit, cfg.MaxSteps, cfg.CheckpointEvery, cfg.CheckpointSteps}
}

// stopBefore returns why a run stops before its next step (cancelled, out
// of time since start, or steps taken in this call at the step limit), or
// nil.
func (l runLimits) stopBefore(ctx context.Context, start time.Time, steps int) error {
	switch {
	case ctx.Err() != nil:
		return ErrInterrupted
	case l.timeLimit > 0 && time.Since(start) >= l.timeLimit:
		return ErrTimeLimit
	case l.maxSteps > 0 && steps >= l.maxSteps:
		return ErrStepLimit
	}
	return nil
}

// checkpointDue reports whether a checkpoint is due after step, the last
// written at last.
func (l runLimits) checkpointDue(last time.Time, step int) bool {
	return time.Since(last) >= l.checkpointEvery || (l.checkpointSteps > 0 && step%l.checkpointSteps == 0)
}

// endStep records a training step on batch images begun at t0.
func (st *checkpoint) endStep(t0 time.Time, loss float64, correct, batch int) {
	st.TrainTime += time.Since(t0).Seconds()
	st.Step++
	st.Iter++
	st.EpochLoss += loss * float64(batch)
	st.EpochCorrect += correct
	st.EpochSeen += batch
}

// nextEpoch rewinds the epoch's position and sums, unless the epochs are
// done (the last epoch's sums are the training metrics).
func (st *checkpoint) nextEpoch(epochs int) {
	if st.Epoch < epochs {
		st.Iter, st.EpochLoss, st.EpochCorrect, st.EpochSeen, st.Shuffled = 0, 0, 0, 0, false
	}
}

// finish marks the run done and saves it (once: a finished run resumed
// saves nothing).
func (st *checkpoint) finish(save func() error) error {
	if st.Done {
		return nil
	}
	st.Done = true
	return save()
}
