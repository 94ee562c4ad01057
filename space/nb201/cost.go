package nb201

import "fmt"

// Network is the macro skeleton NAS-Bench-201 trains every cell in: a 3x3
// stem convolution with C channels, three stages of N cells (C, 2C and 4C
// channels) joined by stride-2 residual blocks, a final batch norm, global
// pooling and a linear classifier.
type Network struct {
	C, N      int // 16 and 5 in the benchmark
	InC, H, W int // input channels and size: 3x32x32 (CIFAR), 3x16x16 (ImageNet16-120)
	Classes   int
}

// BenchNetwork returns the benchmark's network for a dataset name
// (cifar10-valid, cifar10, cifar100, ImageNet16-120).
func BenchNetwork(dataset string) (Network, error) {
	n := Network{C: 16, N: 5, InC: 3, H: 32, W: 32}
	switch dataset {
	case "cifar10-valid", "cifar10":
		n.Classes = 10
	case "cifar100":
		n.Classes = 100
	case "ImageNet16-120":
		n.H, n.W, n.Classes = 16, 16, 120
	default:
		return n, fmt.Errorf("nb201: no benchmark network for dataset %q", dataset)
	}
	return n, nil
}

// Costs returns the parameter count (in millions, the benchmark's "params"
// MB) and the multiply-accumulates per image (in millions, its "flops") of
// the cell c in the network, counted as NAS-Bench-201 counts them:
// convolutions (no bias), batch-norm scale and shift, the classifier's
// weights and bias; every edge of every cell, including edges whose output
// no path uses (the benchmark's model holds and runs them); pooling and
// additions count nothing. train.TestParamsFlopsMatchNB201 checks the same
// counts on the network the trainer builds, and this package's tests check
// them against the benchmark's records.
//
// Hand-written: the count is a closed form over the skeleton; building the
// network with a tensor library would pull that library into every query.
func (n Network) Costs(c Cell) (paramsM, flopsM float64) {
	var params, flops float64
	conv := func(cin, cout, k int, hw float64) {
		w := float64(cin * cout * k * k)
		params += w
		flops += w * hw
	}
	bn := func(ch int) { params += float64(2 * ch) }
	hw := float64(n.H * n.W)
	conv(n.InC, n.C, 3, hw)
	bn(n.C)
	ch, h, w := n.C, n.H, n.W
	for stage := 0; stage < 3; stage++ {
		if stage > 0 {
			// ResNetBasicblock, stride 2: ReLU-conv3x3-BN (stride 2),
			// ReLU-conv3x3-BN, and a 2x2 average pool + 1x1 conv shortcut.
			h, w = h/2, w/2
			out := float64(h * w)
			conv(ch, 2*ch, 3, out)
			bn(2 * ch)
			conv(2*ch, 2*ch, 3, out)
			bn(2 * ch)
			conv(ch, 2*ch, 1, out)
			ch *= 2
		}
		cellHW := float64(h * w)
		for range n.N {
			for _, op := range c {
				switch OpNames[op] {
				case "nor_conv_1x1":
					conv(ch, ch, 1, cellHW)
					bn(ch)
				case "nor_conv_3x3":
					conv(ch, ch, 3, cellHW)
					bn(ch)
				}
			}
		}
	}
	bn(ch)
	fc := float64(ch*n.Classes + n.Classes)
	params += fc
	flops += fc
	return params / 1e6, flops / 1e6
}
