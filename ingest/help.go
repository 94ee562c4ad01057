package ingest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nbquery/nbquery/index"
)

// HELP (HayeonLee/HELP) NAS-Bench-201 latency files: latency/<device>.pt
// (a list of one number per arch index, ms), str_arch2idx.pt (dict arch ->
// index) and the derived nb201_latency_help.csv.

const helpArch2Idx = "str_arch2idx.pt"

func isHELPDir(dir string) bool {
	if fi, err := os.Stat(filepath.Join(dir, "latency")); err == nil && fi.IsDir() {
		return true
	}
	_, err := os.Stat(filepath.Join(dir, helpArch2Idx))
	return err == nil
}

func hwKey(device string) index.Key {
	return index.Key{Set: index.SetHW, Metric: device, Seed: index.SeedMean}
}

// helpList converts a latency list into float64s.
func helpList(file string, obj any) ([]float64, error) {
	items, ok := sequence(obj)
	if !ok {
		return nil, perr(file, "", fmt.Errorf("%w: %T, want a list of latencies", ErrSchema, obj))
	}
	out := make([]float64, len(items))
	for i, it := range items {
		f, ok := asFloat(it)
		if !ok {
			return nil, perr(file, fmt.Sprintf("[%d]", i), fmt.Errorf("%w: %T, want number", ErrSchema, it))
		}
		out[i] = f
	}
	return out, nil
}

// helpArchs converts str_arch2idx into an arch list in index order.
func helpArchs(file, bench string, obj any) ([]string, error) {
	var archs []string
	m := map[int]string{}
	err := eachItem(obj, func(k, v any) error {
		s, ok := k.(string)
		i, ok2 := asInt(v)
		if !ok || !ok2 {
			return fmt.Errorf("%w: entry %s: %s", ErrSchema, describe(k), describe(v))
		}
		if err := checkArch(bench, s); err != nil {
			return err
		}
		if prev, dup := m[i]; dup {
			return fmt.Errorf("%w: index %d maps from %q and %q", ErrArch, i, prev, s)
		}
		m[i] = s
		return nil
	})
	if err != nil {
		return nil, perr(file, "", err)
	}
	archs = make([]string, len(m))
	for i, s := range m {
		if i < 0 || i >= len(archs) {
			return nil, perr(file, "", fmt.Errorf("%w: index %d outside 0..%d", ErrArch, i, len(archs)-1))
		}
		archs[i] = s
	}
	return archs, nil
}

func loadTorchFile(p string) (any, []byte, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, nil, fmt.Errorf("ingest: %w", err)
	}
	obj, err := loadTorch(data)
	if err != nil {
		return nil, nil, perr(p, "", err)
	}
	return obj, data, nil
}

// help ingests a HELP directory or one HELP .pt file.
func (j *job) help() error {
	fi, err := os.Stat(j.path)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	var devices []string
	var cols [][]float64
	var archs []string
	addDevice := func(p string, obj any) error {
		vals, err := helpList(p, obj)
		if err != nil {
			return err
		}
		devices = append(devices, strings.TrimSuffix(filepath.Base(p), filepath.Ext(p)))
		cols = append(cols, vals)
		return nil
	}
	if fi.IsDir() {
		dig, err := newDirDigest(j.path)
		if err != nil {
			return err
		}
		if p := filepath.Join(j.path, helpArch2Idx); fileExists(p) {
			obj, data, err := loadTorchFile(p)
			if err != nil {
				return err
			}
			dig.set(helpArch2Idx, data)
			if archs, err = helpArchs(p, j.bench, obj); err != nil {
				return err
			}
		}
		pts, _ := filepath.Glob(filepath.Join(j.path, "latency", "*.pt"))
		slices.Sort(pts)
		for _, p := range pts {
			obj, data, err := loadTorchFile(p)
			if err != nil {
				return err
			}
			dig.set("latency/"+filepath.Base(p), data)
			if err := addDevice(p, obj); err != nil {
				return err
			}
		}
		if j.res.Source.SHA256, j.res.Source.Size, err = dig.sum(); err != nil {
			return err
		}
	} else {
		obj, data, err := loadTorchFile(j.path)
		if err != nil {
			return err
		}
		j.res.Source.SHA256, j.res.Source.Size = sha256Bytes(data), int64(len(data))
		if _, isSeq := sequence(obj); isSeq {
			err = addDevice(j.path, obj)
		} else {
			archs, err = helpArchs(j.path, j.bench, obj)
		}
		if err != nil {
			return err
		}
	}
	n := -1
	if archs != nil {
		n = len(archs)
		if n != spaceSize(j.bench) {
			return perr(j.path, helpArch2Idx, fmt.Errorf("%w: %d architectures, the %s space has %d", ErrArch, n, j.bench, spaceSize(j.bench)))
		}
		j.w.SetArchs(archs)
	} else if stored, err := j.storedArchs(); err != nil {
		return err
	} else if stored != nil {
		n = len(stored)
	}
	for d, vals := range cols {
		if n < 0 {
			n = len(vals)
		}
		if len(vals) != n {
			return perr(j.path, devices[d], fmt.Errorf("%w: %d latencies for %d architectures", ErrSchema, len(vals), n))
		}
	}
	if len(cols) == 0 {
		return nil
	}
	for start := 0; start < n; start += FrameRows {
		end := min(start+FrameRows, n)
		fr := index.Frame{Rows: make([]int, end-start)}
		for i := range fr.Rows {
			fr.Rows[i] = start + i
		}
		for d, vals := range cols {
			v := slices.Clone(vals[start:end])
			fr.Columns = append(fr.Columns, index.Column{Key: hwKey(devices[d]), Values: v})
		}
		if err := j.write(fr); err != nil {
			return err
		}
	}
	j.bar.add(n)
	return nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
