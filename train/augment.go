package train

// ImageNet-style input pipeline as torchvision does it: training images go
// through RandomResizedCrop(size, scale=(0.08, 1), ratio=(3/4, 4/3)) with
// its 10 tries and centre-crop fallback, RandomHorizontalFlip(0.5) and
// Normalize(mean, std); evaluation images through Resize(shorter side) and
// CenterCrop(size). Files are decoded when a batch is filled (as a PyTorch
// DataLoader does), so the crop sees the original image.

import (
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/image/draw"
)

// Uniform is the randomness the augmentation draws from; *rand.Rand
// (math/rand/v2) satisfies it. Float64 is uniform in [0, 1), IntN in [0, n).
type Uniform interface {
	Float64() float64
	IntN(n int) int
}

// Box is a crop window in torchvision's order: top row I, left column J,
// height H, width W.
type Box struct{ I, J, H, W int }

// pyRound is Python 3's round(): halves go to the even neighbour.
func pyRound(x float64) int { return int(math.RoundToEven(x)) }

// RandomResizedCropBox is torchvision's RandomResizedCrop.get_params for a
// width×height image: up to 10 tries of area ~ U(scale)·area and
// log-aspect ~ U(log ratio), w = round(√(area·aspect)), h = round(√(area/aspect)),
// accepted when it fits (then top ~ U{0..height−h}, left ~ U{0..width−w});
// otherwise the centre crop of the whole image clamped to the ratio range.
func RandomResizedCropBox(r Uniform, width, height int, scale, ratio [2]float64) Box {
	area := float64(width * height)
	lr0, lr1 := math.Log(ratio[0]), math.Log(ratio[1])
	for range 10 {
		target := area * (scale[0] + (scale[1]-scale[0])*r.Float64())
		aspect := math.Exp(lr0 + (lr1-lr0)*r.Float64())
		w := pyRound(math.Sqrt(target * aspect))
		h := pyRound(math.Sqrt(target / aspect))
		if w > 0 && w <= width && h > 0 && h <= height {
			i := r.IntN(height - h + 1)
			j := r.IntN(width - w + 1)
			return Box{I: i, J: j, H: h, W: w}
		}
	}
	in := float64(width) / float64(height)
	w, h := width, height
	switch {
	case in < min(ratio[0], ratio[1]):
		h = pyRound(float64(w) / min(ratio[0], ratio[1]))
	case in > max(ratio[0], ratio[1]):
		w = pyRound(float64(h) * max(ratio[0], ratio[1]))
	}
	return Box{I: (height - h) / 2, J: (width - w) / 2, H: h, W: w}
}

// ResizeShorter is torchvision's Resize(size) output size for an int size:
// the shorter side becomes size, the longer int(size·long/short).
func ResizeShorter(width, height, size int) (w, h int) {
	if width <= height {
		return size, int(float64(size) * float64(height) / float64(width))
	}
	return int(float64(size) * float64(width) / float64(height)), size
}

// CenterCropBox is torchvision's CenterCrop(size) window on a width×height
// image (top = round((height−size)/2), left likewise; the image is assumed
// at least size on each side, as after ResizeShorter with the eval size).
func CenterCropBox(width, height, size int) Box {
	return Box{I: pyRound(float64(height-size) / 2), J: pyRound(float64(width-size) / 2), H: size, W: size}
}

// Transform is the per-image pipeline of an image folder.
type Transform struct {
	Size  int        // output side
	Train bool       // RandomResizedCrop + flip; else Resize + CenterCrop
	Scale [2]float64 // default (0.08, 1)
	Ratio [2]float64 // default (3/4, 4/3)
	Flip  bool       // horizontal flip with probability 0.5 (training)
	// Resize is the evaluation shorter side before the centre crop; 0 =
	// round(Size/0.875) (256 for 224, the ImageNet convention).
	Resize int
	Norm   Norm
}

func (t Transform) withDefaults() Transform {
	if t.Scale == [2]float64{} {
		t.Scale = [2]float64{0.08, 1}
	}
	if t.Ratio == [2]float64{} {
		t.Ratio = [2]float64{3.0 / 4, 4.0 / 3}
	}
	if t.Resize == 0 {
		t.Resize = pyRound(float64(t.Size) / 0.875)
	}
	return t
}

// Boxes returns the crop applied to a width×height image and whether it
// is flipped. For training the box is in source pixels; for evaluation it
// is in the coordinates of the image resized by ResizeShorter(t.Resize).
func (t Transform) Boxes(r Uniform, width, height int) (box Box, flip bool) {
	t = t.withDefaults()
	if !t.Train {
		w, h := ResizeShorter(width, height, t.Resize)
		return CenterCropBox(w, h, t.Size), false
	}
	box = RandomResizedCropBox(r, width, height, t.Scale, t.Ratio)
	if t.Flip {
		flip = r.Float64() < 0.5
	}
	return box, flip
}

// Apply transforms one decoded image into dst (3×Size×Size, CHW,
// normalised) and returns the box and flip it used. Resizing is bilinear.
func Apply[T float](t Transform, img image.Image, r Uniform, dst []T) (Box, bool) {
	t = t.withDefaults()
	s := t.Size
	out := image.NewRGBA(image.Rect(0, 0, s, s))
	b := img.Bounds()
	box, flip := t.Boxes(r, b.Dx(), b.Dy())
	if t.Train {
		src := image.Rect(b.Min.X+box.J, b.Min.Y+box.I, b.Min.X+box.J+box.W, b.Min.Y+box.I+box.H)
		draw.BiLinear.Scale(out, out.Bounds(), img, src, draw.Src, nil)
	} else {
		w, h := ResizeShorter(b.Dx(), b.Dy(), t.Resize)
		mid := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.BiLinear.Scale(mid, mid.Bounds(), img, b, draw.Src, nil)
		draw.Copy(out, image.Point{}, mid, image.Rect(box.J, box.I, box.J+s, box.I+s), draw.Src, nil)
	}
	for c := 0; c < 3; c++ {
		m, sd := t.Norm.Mean[c%len(t.Norm.Mean)], t.Norm.Std[c%len(t.Norm.Std)]
		for y := 0; y < s; y++ {
			for x := 0; x < s; x++ {
				sx := x
				if flip {
					sx = s - 1 - x
				}
				v := float64(out.Pix[out.PixOffset(sx, y)+c]) / 255
				dst[c*s*s+y*s+x] = T((v - m) / sd)
			}
		}
	}
	return box, flip
}

// FileSet is an image folder listed but not decoded: root/<class>/<file>,
// classes in sorted order, files in sorted order within a class.
type FileSet struct {
	Root    string
	Classes []string
	Files   []string // paths
	Labels  []uint8
}

// imageExt reports whether name is an image the folder readers take.
func imageExt(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".jpeg" || ext == ".jpg" || ext == ".png"
}

// ScanImageFolder lists root/<class>/*.{JPEG,jpg,png}, at most maxPerClass
// per class (0 = all).
func ScanImageFolder(root string, maxPerClass int) (*FileSet, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNoData, root)
		}
		return nil, fmt.Errorf("train: %w", err)
	}
	fs := &FileSet{Root: root}
	for _, e := range ents {
		if e.IsDir() {
			fs.Classes = append(fs.Classes, e.Name())
		}
	}
	sort.Strings(fs.Classes)
	if len(fs.Classes) == 0 {
		return nil, fmt.Errorf("%w: %s has no class folders", ErrNoData, root)
	}
	if len(fs.Classes) > 256 {
		return nil, fmt.Errorf("%w: %s: %d classes, at most 256 supported", ErrFormat, root, len(fs.Classes))
	}
	for ci, c := range fs.Classes {
		files, err := os.ReadDir(filepath.Join(root, c))
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		n := 0
		for _, f := range files {
			if f.IsDir() || !imageExt(f.Name()) {
				continue
			}
			if maxPerClass > 0 && n >= maxPerClass {
				break
			}
			fs.Files = append(fs.Files, filepath.Join(root, c, f.Name()))
			fs.Labels = append(fs.Labels, uint8(ci))
			n++
		}
	}
	if len(fs.Files) == 0 {
		return nil, fmt.Errorf("%w: %s has no images", ErrNoData, root)
	}
	return fs, nil
}

// Decode reads and decodes file i.
func (fs *FileSet) Decode(i int) (image.Image, error) {
	f, err := os.Open(fs.Files[i])
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, fs.Files[i], err)
	}
	if b := img.Bounds(); b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, fmt.Errorf("%w: %s: empty image", ErrFormat, fs.Files[i])
	}
	return img, nil
}
