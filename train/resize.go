package train

// resizeDataset returns d with every image zero-padded (centred) to the
// smallest multiple of side and box-averaged down to side×side: TRAINER.md
// §9's proxy input (Fashion-MNIST 28 → 32 → 16 or 8). d itself is
// returned when it already has that size.
func resizeDataset(d *Dataset, side int) *Dataset {
	if side <= 0 || (d.H == side && d.W == side) {
		return d
	}
	f := max((d.H+side-1)/side, (d.W+side-1)/side)
	P := f * side
	offH, offW := (P-d.H)/2, (P-d.W)/2
	out := &Dataset{N: d.N, C: d.C, H: side, W: side, Classes: d.Classes, Skipped: d.Skipped,
		Labels: d.Labels, Pixels: make([]uint8, d.N*d.C*side*side)}
	inv := 1 / float64(f*f)
	parallelFor(d.N, workChunks(d.N), func(_, lo, hi int) {
		for n := lo; n < hi; n++ {
			src := d.image(n)
			dst := out.image(n)
			for c := 0; c < d.C; c++ {
				for i := 0; i < side; i++ {
					for j := 0; j < side; j++ {
						s := 0
						for a := 0; a < f; a++ {
							y := i*f + a - offH
							if y < 0 || y >= d.H {
								continue
							}
							for b := 0; b < f; b++ {
								x := j*f + b - offW
								if x >= 0 && x < d.W {
									s += int(src[(c*d.H+y)*d.W+x])
								}
							}
						}
						dst[(c*side+i)*side+j] = uint8(float64(s)*inv + 0.5)
					}
				}
			}
		}
	})
	return out
}
