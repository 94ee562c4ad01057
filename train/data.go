package train

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // ImageNet folders
	_ "image/png"  // some ".JPEG" files are PNG
	"io"
	"math/rand/v2"
	"os"
	"sort"

	"golang.org/x/image/draw"
)

// Dataset is an in-memory image set: N images of C×H×W uint8 pixels (CHW)
// and their labels.
type Dataset struct {
	Pixels     []uint8
	Labels     []uint8
	N, C, H, W int
	Classes    int
	Skipped    int // corrupt images skipped while reading (image folders)
}

// Sentinel errors; wrapped errors name the file, offset or record.
var (
	ErrFormat    = errors.New("train: malformed data file")
	ErrTruncated = errors.New("train: truncated data file")
	ErrNoData    = errors.New("train: data not found")
)

func (d *Dataset) image(i int) []uint8 {
	n := d.C * d.H * d.W
	return d.Pixels[i*n : (i+1)*n]
}

// readMaybeGzip reads a whole file, gunzipping it when it starts with the
// gzip magic.
func readMaybeGzip(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNoData, path)
		}
		return nil, fmt.Errorf("train: %w", err)
	}
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: gzip: %v", ErrFormat, path, err)
		}
		out, err := io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: gzip: %v", ErrTruncated, path, err)
		}
		return out, nil
	}
	return b, nil
}

// ParseIDX decodes an (uncompressed) IDX file of unsigned bytes: magic
// 0x00000800|ndim, ndim big-endian uint32 sizes, then the data.
func ParseIDX(b []byte) (dims []int, data []uint8, err error) {
	if len(b) < 4 {
		return nil, nil, fmt.Errorf("%w: IDX header: %d bytes", ErrTruncated, len(b))
	}
	magic := binary.BigEndian.Uint32(b)
	if magic>>8 != 0x08 || magic&0xff == 0 || magic&0xff > 4 {
		return nil, nil, fmt.Errorf("%w: IDX magic %#08x at offset 0 (want 0x0000080N, unsigned bytes)", ErrFormat, magic)
	}
	nd := int(magic & 0xff)
	if len(b) < 4+4*nd {
		return nil, nil, fmt.Errorf("%w: IDX dimensions: %d bytes", ErrTruncated, len(b))
	}
	total := 1
	for i := 0; i < nd; i++ {
		d := int(binary.BigEndian.Uint32(b[4+4*i:]))
		if d <= 0 || d > 1<<28 || total > (1<<31)/d {
			return nil, nil, fmt.Errorf("%w: IDX dimension %d = %d at offset %d", ErrFormat, i, d, 4+4*i)
		}
		dims = append(dims, d)
		total *= d
	}
	off := 4 + 4*nd
	if len(b)-off < total {
		return nil, nil, fmt.Errorf("%w: IDX data: have %d bytes after offset %d, want %d", ErrTruncated, len(b)-off, off, total)
	}
	return dims, b[off : off+total], nil
}

// ReadIDX reads an MNIST-style image/label IDX pair (gzip or raw).
func ReadIDX(imagesPath, labelsPath string) (*Dataset, error) {
	ib, err := readMaybeGzip(imagesPath)
	if err != nil {
		return nil, err
	}
	idims, pix, err := ParseIDX(ib)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", imagesPath, err)
	}
	if len(idims) != 3 {
		return nil, fmt.Errorf("%w: %s: images have %d dimensions, want 3", ErrFormat, imagesPath, len(idims))
	}
	lb, err := readMaybeGzip(labelsPath)
	if err != nil {
		return nil, err
	}
	ldims, labels, err := ParseIDX(lb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", labelsPath, err)
	}
	if len(ldims) != 1 || ldims[0] != idims[0] {
		return nil, fmt.Errorf("%w: %s: %v labels for %d images", ErrFormat, labelsPath, ldims, idims[0])
	}
	d := &Dataset{Pixels: pix, Labels: labels, N: idims[0], C: 1, H: idims[1], W: idims[2]}
	return d, d.checkLabels(labelsPath)
}

func (d *Dataset) checkLabels(src string) error {
	for i, l := range d.Labels {
		if int(l)+1 > d.Classes {
			d.Classes = int(l) + 1
		}
		if l > 200 {
			return fmt.Errorf("%w: %s: record %d: label %d", ErrFormat, src, i, l)
		}
	}
	if d.Classes < 10 {
		d.Classes = 10
	}
	return nil
}

// CIFARRecord is the size of one CIFAR-10 binary record: a label byte and
// 3×32×32 pixels (R, G, B planes, row-major).
const CIFARRecord = 3073

// ParseCIFAR10 appends the records of one CIFAR-10 binary batch to d.
func ParseCIFAR10(b []byte, d *Dataset, name string) error {
	if len(b)%CIFARRecord != 0 {
		return fmt.Errorf("%w: %s: %d bytes is not a whole number of %d-byte records (record %d is cut at offset %d)",
			ErrTruncated, name, len(b), CIFARRecord, len(b)/CIFARRecord, len(b)/CIFARRecord*CIFARRecord)
	}
	for off := 0; off < len(b); off += CIFARRecord {
		l := b[off]
		if l > 9 {
			return fmt.Errorf("%w: %s: record %d (offset %d): label %d > 9", ErrFormat, name, off/CIFARRecord, off, l)
		}
		d.Labels = append(d.Labels, l)
		d.Pixels = append(d.Pixels, b[off+1:off+CIFARRecord]...)
		d.N++
	}
	d.C, d.H, d.W, d.Classes = 3, 32, 32, 10
	return nil
}

// ReadCIFAR10 reads CIFAR-10 binary batch files.
func ReadCIFAR10(paths ...string) (*Dataset, error) {
	d := &Dataset{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%w: %s", ErrNoData, p)
			}
			return nil, fmt.Errorf("train: %w", err)
		}
		if err := ParseCIFAR10(b, d, p); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// FolderOptions controls ReadImageFolder.
type FolderOptions struct {
	Size        int  // output side: shorter side resized to Size, centre crop Size×Size
	SkipCorrupt bool // skip and count undecodable files instead of failing
	MaxPerClass int  // 0 = all
}

// ReadImageFolder reads root/<class>/*.{JPEG,jpg,png} (ImageNet layout);
// classes are the sorted sub-directory names.
func ReadImageFolder(root string, opt FolderOptions) (*Dataset, []string, error) {
	if opt.Size <= 0 {
		opt.Size = 32
	}
	fs, err := ScanImageFolder(root, opt.MaxPerClass)
	if err != nil {
		return nil, nil, err
	}
	d := &Dataset{C: 3, H: opt.Size, W: opt.Size, Classes: len(fs.Classes)}
	dst := image.NewRGBA(image.Rect(0, 0, opt.Size, opt.Size))
	for i, p := range fs.Files {
		if err := decodeInto(p, dst); err != nil {
			if opt.SkipCorrupt {
				d.Skipped++
				continue
			}
			return nil, nil, err
		}
		appendRGBA(d, dst)
		d.Labels = append(d.Labels, fs.Labels[i])
		d.N++
	}
	if d.N == 0 {
		return nil, nil, fmt.Errorf("%w: %s has no readable images", ErrNoData, root)
	}
	return d, fs.Classes, nil
}

// decodeInto decodes an image file, resizes its shorter side to dst's side
// (bilinear) and centre-crops.
func decodeInto(path string, dst *image.RGBA) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	src, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrFormat, path, err)
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%w: %s: empty image", ErrFormat, path)
	}
	// Scale so the shorter side is s, then take the centred s×s window:
	// equivalently draw the centred square crop of the source onto dst.
	side := min(w, h)
	x0, y0 := b.Min.X+(w-side)/2, b.Min.Y+(h-side)/2
	draw.BiLinear.Scale(dst, dst.Bounds(), src, image.Rect(x0, y0, x0+side, y0+side), draw.Src, nil)
	return nil
}

func appendRGBA(d *Dataset, img *image.RGBA) {
	s := img.Bounds().Dx()
	base := len(d.Pixels)
	d.Pixels = append(d.Pixels, make([]uint8, 3*s*s)...)
	for y := 0; y < s; y++ {
		for x := 0; x < s; x++ {
			o := img.PixOffset(x, y)
			for c := 0; c < 3; c++ {
				d.Pixels[base+c*s*s+y*s+x] = img.Pix[o+c]
			}
		}
	}
}

// Augment configures training-time augmentation.
type Augment struct {
	CropPad int  // random crop of the original size after zero padding; 0 = off
	Flip    bool // random horizontal flip
	Cutout  int  // side of a zeroed square (after normalisation); 0 = off
}

// Norm is a per-channel normalisation (x/255 − mean)/std.
type Norm struct{ Mean, Std []float64 }

// loader draws batches from a subset of a dataset in a seeded order.
type loader struct {
	d       *Dataset
	idx     []int // subset
	perm    []int // current epoch order (positions into idx)
	cursor  int
	epoch   int
	shuffle bool
	aug     Augment
	norm    Norm
}

func newLoader(d *Dataset, idx []int, shuffle bool, aug Augment, norm Norm) *loader {
	l := &loader{d: d, idx: idx, shuffle: shuffle, aug: aug, norm: norm}
	l.perm = make([]int, len(idx))
	for i := range l.perm {
		l.perm[i] = i
	}
	return l
}

func (l *loader) startEpoch(rng *rand.Rand) {
	for i := range l.perm {
		l.perm[i] = i
	}
	if l.shuffle {
		rng.Shuffle(len(l.perm), func(i, j int) { l.perm[i], l.perm[j] = l.perm[j], l.perm[i] })
	}
	l.cursor = 0
}

// batchesPerEpoch drops the last partial batch when training (drop_last).
func (l *loader) batchesPerEpoch(b int) int { return len(l.idx) / b }

// fill writes batch images (normalised, augmented) into x and one-hot labels
// into y for the examples at positions [from, from+B) of the current order;
// positions past the end repeat the last example and are reported as not
// valid. rng may be nil when no augmentation is configured.
func fill[T float](l *loader, from, B int, x, y []T, labels []int, rng *rand.Rand) (valid int) {
	d := l.d
	C, H, W := d.C, d.H, d.W
	n := C * H * W
	clear(y)
	for k := 0; k < B; k++ {
		pos := from + k
		if pos < len(l.perm) {
			valid++
		} else {
			pos = len(l.perm) - 1
		}
		ex := l.idx[l.perm[pos]]
		img := d.image(ex)
		xs := x[k*n : (k+1)*n]
		dy, dx, flip := 0, 0, false
		if rng != nil {
			if p := l.aug.CropPad; p > 0 {
				dy, dx = rng.IntN(2*p+1)-p, rng.IntN(2*p+1)-p
			}
			if l.aug.Flip {
				flip = rng.IntN(2) == 1
			}
		}
		for c := 0; c < C; c++ {
			m, s := l.norm.Mean[c%len(l.norm.Mean)], l.norm.Std[c%len(l.norm.Std)]
			zero := T((0 - m) / s)
			for i := 0; i < H; i++ {
				si := i + dy
				for j := 0; j < W; j++ {
					sj := j + dx
					if flip {
						sj = W - 1 - j + dx
					}
					v := zero
					if si >= 0 && si < H && sj >= 0 && sj < W {
						v = T((float64(img[c*H*W+si*W+sj])/255 - m) / s)
					}
					xs[c*H*W+i*W+j] = v
				}
			}
		}
		if rng != nil && l.aug.Cutout > 0 {
			cy, cx := rng.IntN(H), rng.IntN(W)
			h := l.aug.Cutout / 2
			for c := 0; c < C; c++ {
				for i := max(0, cy-h); i < min(H, cy+h); i++ {
					for j := max(0, cx-h); j < min(W, cx+h); j++ {
						xs[c*H*W+i*W+j] = 0
					}
				}
			}
		}
		lab := int(d.Labels[ex])
		y[k*d.Classes+lab] = 1
		labels[k] = lab
	}
	return valid
}

// splitIndices returns a seeded class-agnostic split of [0,n) into train and
// valid parts with round(n·validFrac) validation examples.
func splitIndices(n int, validFrac float64, rng *rand.Rand) (train, valid []int) {
	p := rng.Perm(n)
	nv := int(float64(n)*validFrac + 0.5)
	valid = append([]int(nil), p[:nv]...)
	train = append([]int(nil), p[nv:]...)
	sort.Ints(valid)
	sort.Ints(train)
	return train, valid
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
