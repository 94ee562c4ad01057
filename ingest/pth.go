package ingest

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"math/big"
	"os"
	"path"

	"github.com/nlpodyssey/gopickle/types"
)

// torch.save containers. gopickle's pytorch package implements the same
// sequence, but it opens files by name, panics on tar input, and unpickles
// without bounding length arguments; reading the two containers here (a
// few lines each) lets every pickle go through the validated unpickle.

const torchMagic = "1950a86a20f9469cfc6c"

// loadTorch decodes a torch.save file held in data: the zip container
// (archive/data.pkl) or the legacy sequence magic, protocol, sys_info,
// object, storage keys. Tensors are not supported (the benchmark files hold
// none).
func loadTorch(data []byte) (any, error) {
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return loadTorchZip(data)
	}
	return loadTorchLegacy(data)
}

func loadTorchZip(data []byte) (any, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%w: torch zip: %v", ErrFormat, err)
	}
	var pkl *zip.File
	for _, f := range zr.File {
		switch path.Base(f.Name) {
		case "constants.pkl":
			return nil, fmt.Errorf("%w: torch zip: TorchScript archives are not supported", ErrFormat)
		case "data.pkl":
			if pkl == nil {
				pkl = f
			}
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("%w: torch zip: no data.pkl", ErrFormat)
	}
	rc, err := pkl.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: torch zip: %s: %v", ErrFormat, pkl.Name, err)
	}
	defer rc.Close()
	// torch stores entries uncompressed, so data.pkl is never larger than the file.
	limit := max(int64(len(data)), 1<<20)
	raw, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: torch zip: %s: %v", ErrFormat, pkl.Name, err)
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("%w: torch zip: %s larger than %d bytes", ErrFormat, pkl.Name, limit)
	}
	obj, end, err := unpickle(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	if end != len(raw) {
		return nil, fmt.Errorf("%w: %s: %d trailing bytes after STOP", ErrFormat, pkl.Name, len(raw)-end)
	}
	return obj, nil
}

func loadTorchLegacy(data []byte) (any, error) {
	off := 0
	next := func(what string) (any, error) {
		obj, end, err := unpickle(data[off:])
		if err != nil {
			return nil, fmt.Errorf("legacy torch %s at offset %d: %w", what, off, err)
		}
		off += end
		return obj, nil
	}
	magic, err := next("magic number")
	if err != nil {
		return nil, err
	}
	if n, ok := magic.(*big.Int); !ok || n.Text(16) != torchMagic {
		return nil, fmt.Errorf("%w: legacy torch: bad magic number %s", ErrFormat, describe(magic))
	}
	proto, err := next("protocol")
	if err != nil {
		return nil, err
	}
	if p, ok := proto.(int); !ok || p != 1001 {
		return nil, fmt.Errorf("%w: legacy torch: protocol %s, want 1001", ErrFormat, describe(proto))
	}
	sysInfo, err := next("sys_info")
	if err != nil {
		return nil, err
	}
	if si, err := strMap(sysInfo); err != nil {
		return nil, fmt.Errorf("%w: legacy torch: sys_info: %v", ErrFormat, err)
	} else if le, ok := si["little_endian"].(bool); !ok || !le {
		return nil, fmt.Errorf("%w: legacy torch: sys_info little_endian = %s", ErrFormat, describe(si["little_endian"]))
	}
	obj, err := next("object")
	if err != nil {
		return nil, err
	}
	keys, err := next("storage keys")
	if err != nil {
		return nil, err
	}
	if l, ok := keys.(*types.List); !ok {
		return nil, fmt.Errorf("%w: legacy torch: storage keys %T, want list", ErrFormat, keys)
	} else if l.Len() != 0 {
		return nil, fmt.Errorf("%w: legacy torch: %d tensor storages (tensors are not supported)", ErrSchema, l.Len())
	}
	if off != len(data) {
		return nil, fmt.Errorf("%w: legacy torch: %d trailing bytes at offset %d", ErrFormat, len(data)-off, off)
	}
	return obj, nil
}

// torchKind tells a NAS-Bench-201 .pth zip from a HELP .pt by its content.
func torchKind(p string) (string, error) {
	if path.Ext(p) == ".pth" { // NAS-Bench-201 files are large: do not decode twice
		return KindNB201Pth, nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("ingest: %w", err)
	}
	obj, err := loadTorch(data)
	if err != nil {
		return "", perr(p, "", err)
	}
	if m, err := strMap(obj); err == nil {
		if _, ok := m["meta_archs"]; ok {
			return KindNB201Pth, nil
		}
	}
	return KindHELP, nil
}

// pth ingests a NAS-Bench-201 .pth file, streamed with bounded memory
// (streamBig); pthWhole is the former whole-file path, kept for tests.
func (j *job) pth() error {
	if wholeFiles {
		return j.pthWhole()
	}
	return j.streamBig(streamPth, j.topDict)
}

// pthWhole ingests a .pth held whole in memory, as torch.load does.
func (j *job) pthWhole() error {
	data, err := os.ReadFile(j.path)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	j.res.Source.SHA256, j.res.Source.Size = sha256Bytes(data), int64(len(data))
	obj, err := loadTorch(data)
	data = nil
	if err != nil {
		return perr(j.path, "", err)
	}
	return j.topDict(obj)
}
