package train

// Data for the Single-Path NAS search and its child training: the in-memory
// sets of part 1 (IDX, CIFAR-10 binary) or an ImageNet folder decoded per
// batch with torchvision's training augmentation and centre-crop evaluation.

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
)

// feed is one split: an order over examples (a loader, whose Dataset is nil
// for folders) and how to turn an example into pixels.
type feed struct {
	l  *loader
	fs *FileSet // folder split; nil = in-memory l.d
	tr Transform
}

// fill writes B examples from position from of the current order
// (normalised CHW, one-hot labels); positions past the end repeat the last
// example and are not counted valid.
func (f *feed) fill(from, B, classes int, x, y []float32, labels []int, rng *rand.Rand) (int, error) {
	if f.fs == nil {
		var aug *rand.Rand
		if f.l.aug != (Augment{}) {
			aug = rng
		}
		return fill(f.l, from, B, x, y, labels, aug), nil
	}
	n := 3 * f.tr.Size * f.tr.Size
	clear(y)
	valid := 0
	for k := 0; k < B; k++ {
		pos := from + k
		if pos < len(f.l.perm) {
			valid++
		} else {
			pos = len(f.l.perm) - 1
		}
		ex := f.l.idx[f.l.perm[pos]]
		img, err := f.fs.Decode(ex)
		if err != nil {
			return 0, err
		}
		var r Uniform
		if f.tr.Train {
			r = rng
		}
		Apply(f.tr, img, r, x[k*n:(k+1)*n])
		lab := int(f.fs.Labels[ex])
		y[k*classes+lab] = 1
		labels[k] = lab
	}
	return valid, nil
}

// mbData holds the three splits of a search or child run.
type mbData struct {
	train, valid, test *feed
	C, H, W, classes   int
	skipped            int
}

// loadMBData reads cfg's data set. In-memory sets use part 1's readers and
// augmentation; "imagenet" lists DataDir/train and DataDir/val and applies
// RandomResizedCrop+flip (training) or Resize+CenterCrop (valid, test) at
// side cfg.ImageSize when a batch is filled.
func loadMBData(cfg Config, maxPerClass, maxEval int) (*mbData, error) {
	d, err := loadMBSplits(cfg, maxPerClass)
	if err != nil || maxEval <= 0 {
		return d, err
	}
	// A seeded subset of at most maxEval test images, in index order.
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xe7a1))
	if l := d.test.l; len(l.idx) > maxEval {
		p := rng.Perm(len(l.idx))[:maxEval]
		sort.Ints(p)
		sub := make([]int, maxEval)
		for i, k := range p {
			sub[i] = l.idx[k]
		}
		l.idx, l.perm = sub, seq(maxEval)
	}
	return d, nil
}

func loadMBSplits(cfg Config, maxPerClass int) (*mbData, error) {
	if cfg.Dataset != "imagenet" {
		s, err := loadData(cfg)
		if err != nil {
			return nil, err
		}
		d := &mbData{C: s.train.C, H: s.train.H, W: s.train.W, classes: s.train.Classes}
		d.train = &feed{l: newLoader(s.train, s.trainIdx, true, *cfg.Augment, s.norm)}
		d.valid = &feed{l: newLoader(s.train, s.validIdx, false, Augment{}, s.norm)}
		d.test = &feed{l: newLoader(s.test, seq(s.test.N), false, Augment{}, s.norm)}
		return d, nil
	}
	tr, err := ScanImageFolder(filepath.Join(cfg.DataDir, "train"), maxPerClass)
	if err != nil {
		return nil, err
	}
	te, err := ScanImageFolder(filepath.Join(cfg.DataDir, "val"), maxPerClass)
	if err != nil {
		return nil, err
	}
	if len(tr.Classes) != len(te.Classes) {
		return nil, fmt.Errorf("%w: %s: %d train classes but %d val classes", ErrFormat, cfg.DataDir, len(tr.Classes), len(te.Classes))
	}
	norm := Norm{Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225}}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	trainIdx, validIdx := splitIndices(len(tr.Files), cfg.ValidFraction, rng)
	if cfg.MaxTrain > 0 && cfg.MaxTrain < len(trainIdx) {
		p := rng.Perm(len(trainIdx))[:cfg.MaxTrain]
		sub := make([]int, len(p))
		for i, k := range p {
			sub[i] = trainIdx[k]
		}
		trainIdx = sub
	}
	s := cfg.ImageSize
	train := Transform{Size: s, Train: true, Flip: true, Norm: norm}
	eval := Transform{Size: s, Norm: norm}
	d := &mbData{C: 3, H: s, W: s, classes: len(tr.Classes)}
	d.train = &feed{l: newLoader(nil, trainIdx, true, Augment{}, norm), fs: tr, tr: train}
	d.valid = &feed{l: newLoader(nil, validIdx, false, Augment{}, norm), fs: tr, tr: eval}
	d.test = &feed{l: newLoader(nil, seq(len(te.Files)), false, Augment{}, norm), fs: te, tr: eval}
	return d, nil
}

// evaluateMB runs an eval graph over a feed (padding the last batch) and
// returns the mean loss and the accuracy in percent.
func evaluateMB(m *mbModel, f *feed, classes int) (loss, acc float64, err error) {
	x, y := m.x.Value().Data().([]float32), m.y.Value().Data().([]float32)
	return evaluateBatches(&m.model, len(f.l.perm), func(from int, labels []int) (int, error) {
		return f.fill(from, m.batch, classes, x, y, labels, nil)
	})
}
