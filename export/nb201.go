package export

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/nb201"
)

// Sets are the raw sets of an NB201/NATS trial, in column order.
var Sets = []string{index.SetTrain, index.SetXValid, index.SetXTest, index.SetOriTest}

// setMetrics are the per-set columns: the accuracy is named by the set alone.
var setMetrics = []string{"", "-loss", "-per-time", "-all-time"}

// NB201Filter selects part of a table benchmark; the zero value is all of it.
type NB201Filter struct {
	Datasets []string // e.g. cifar10-valid; empty: every dataset stored
	HPs      []string // e.g. 200; empty: every schedule stored
	MeanOnly bool     // only the means over seeds (no per-seed rows)
	Indices  []int    // architecture indices; empty: all
	Devices  bool     // add the latency:DEVICE columns
}

// combo is one (dataset, hp) pair of the store.
type combo struct{ dataset, hp string }

// combos lists the (dataset, hp) pairs holding set metrics, filtered.
func combos(b *index.Bench, f NB201Filter) ([]combo, error) {
	seen := map[combo]bool{}
	var out []combo
	for _, k := range b.Keys() {
		if !slices.Contains(Sets, k.Set) || k.Dataset == "" || k.HP == "" {
			continue
		}
		c := combo{k.Dataset, k.HP}
		if seen[c] {
			continue
		}
		seen[c] = true
		if (len(f.Datasets) == 0 || slices.Contains(f.Datasets, c.dataset)) && (len(f.HPs) == 0 || slices.Contains(f.HPs, c.hp)) {
			out = append(out, c)
		}
	}
	for _, d := range f.Datasets {
		if !slices.ContainsFunc(out, func(c combo) bool { return c.dataset == d }) {
			return nil, fmt.Errorf("%w: %s has no dataset %q with hp %v", ErrInput, b.Name(), d, f.HPs)
		}
	}
	for _, h := range f.HPs {
		if !slices.ContainsFunc(out, func(c combo) bool { return c.hp == h }) {
			return nil, fmt.Errorf("%w: %s has no hp %q for datasets %v", ErrInput, b.Name(), h, f.Datasets)
		}
	}
	slices.SortFunc(out, func(a, c combo) int {
		if a.dataset != c.dataset {
			return indexOf(index.Datasets, a.dataset) - indexOf(index.Datasets, c.dataset)
		}
		x, _ := strconv.Atoi(a.hp)
		y, _ := strconv.Atoi(c.hp)
		return x - y
	})
	return out, nil
}

func indexOf(s []string, x string) int {
	if i := slices.Index(s, x); i >= 0 {
		return i
	}
	return len(s)
}

// NB201Schema returns the schema of an NB201/NATS export with the given
// device columns.
func NB201Schema(bench string, devices []string) *arrow.Schema {
	fs := []arrow.Field{
		{Name: "index", Type: arrow.PrimitiveTypes.Int32},
		{Name: "arch", Type: arrow.BinaryTypes.String},
		{Name: "code", Type: arrow.PrimitiveTypes.Int32},
	}
	if bench == index.NB201 {
		fs = append(fs, arrow.Field{Name: "unique", Type: arrow.BinaryTypes.String})
	}
	fs = append(fs,
		arrow.Field{Name: "dataset", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "hp", Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: "epoch", Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: "seed", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	)
	for _, s := range Sets {
		for _, m := range setMetrics {
			fs = append(fs, arrow.Field{Name: s + m, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
		}
	}
	for _, m := range []string{index.MetricParams, index.MetricFLOPs, index.MetricLatency} {
		fs = append(fs, arrow.Field{Name: m, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	for _, d := range devices {
		fs = append(fs, arrow.Field{Name: "latency:" + d, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	return arrow.NewSchema(fs, nil)
}

// NB201 writes the table benchmark b (nb201 or nats-sss) to w and returns
// the number of rows. Rows whose every set metric is unrecorded are left
// out. It checks ctx between batches.
func NB201(ctx context.Context, w io.Writer, b *index.Bench, format Format, f NB201Filter) (int, error) {
	cs, err := combos(b, f)
	if err != nil {
		return 0, err
	}
	if len(cs) == 0 {
		return 0, fmt.Errorf("%w: %s holds no per-set metrics", ErrInput, b.Name())
	}
	rows := f.Indices
	for _, r := range rows {
		if r < 0 || r >= b.Len() {
			return 0, fmt.Errorf("%w: index %d outside [0, %d)", ErrInput, r, b.Len())
		}
	}
	if len(rows) == 0 {
		rows = make([]int, b.Len())
		for i := range rows {
			rows[i] = i
		}
	}
	var devices []string
	if f.Devices {
		devices = b.Devices()
	}
	schema := NB201Schema(b.Name(), devices)
	t, err := newTable(ctx, w, schema, format)
	if err != nil {
		return 0, err
	}
	defer t.b.Release()
	col := 0
	next := func() int { col++; return col - 1 }
	cIndex, cArch, cCode := next(), next(), next()
	cUnique := -1
	if b.Name() == index.NB201 {
		cUnique = next()
	}
	cDataset, cHP, cEpoch, cSeed, cSets := next(), next(), next(), next(), next()
	cCosts := cSets + len(Sets)*len(setMetrics)
	cDev := cCosts + 3

	var seeds, rowSeeds []int
	var vals [4][4]float64
	for _, c := range cs {
		last, err := index.LastEpoch(c.hp)
		if err != nil {
			return 0, fmt.Errorf("%w: %s hp %q: %v", ErrInput, c.dataset, c.hp, err)
		}
		hp, _ := strconv.Atoi(c.hp)
		for _, row := range rows {
			seeds = append(seeds[:0], index.SeedMean)
			if !f.MeanOnly {
				rowSeeds = b.RowSeeds(rowSeeds, row, c.dataset, c.hp)
				seeds = append(seeds, rowSeeds...)
			}
			for _, seed := range seeds {
				p := index.MeanSeeds()
				if seed != index.SeedMean {
					p = index.FixedSeed(seed)
				}
				found := false
				for i, s := range Sets {
					si, err := b.GetMetrics(row, c.dataset, c.hp, s, last, p)
					if err != nil {
						vals[i] = [4]float64{index.NaN, index.NaN, index.NaN, index.NaN}
						continue
					}
					vals[i] = [4]float64{si.Accuracy, si.Loss, si.PerTime, si.AllTime}
					found = true
				}
				if !found {
					continue
				}
				arch, err := b.Arch(row)
				if err != nil {
					return 0, err
				}
				code, _ := b.Code(row)
				t.b.Field(cIndex).(*array.Int32Builder).Append(int32(row))
				t.b.Field(cArch).(*array.StringBuilder).Append(arch)
				t.b.Field(cCode).(*array.Int32Builder).Append(int32(code))
				if cUnique >= 0 {
					t.b.Field(cUnique).(*array.StringBuilder).Append(nb201.FromCode(code).UniqueStr())
				}
				t.b.Field(cDataset).(*array.StringBuilder).Append(c.dataset)
				t.b.Field(cHP).(*array.Int32Builder).Append(int32(hp))
				t.b.Field(cEpoch).(*array.Int32Builder).Append(int32(last))
				if seed == index.SeedMean {
					t.b.Field(cSeed).(*array.Int32Builder).AppendNull()
				} else {
					t.b.Field(cSeed).(*array.Int32Builder).Append(int32(seed))
				}
				for i := range Sets {
					for j := range setMetrics {
						t.appendF64(cSets+4*i+j, vals[i][j])
					}
				}
				costs, err := b.ComputeCosts(row, c.dataset, c.hp, p)
				if err != nil {
					costs = index.Costs{FLOPs: index.NaN, Params: index.NaN, Latency: index.NaN}
				}
				t.appendF64(cCosts, costs.Params)
				t.appendF64(cCosts+1, costs.FLOPs)
				t.appendF64(cCosts+2, costs.Latency)
				for i, d := range devices {
					v, err := b.DeviceLatency(row, d)
					if err != nil {
						v = index.NaN
					}
					t.appendF64(cDev+i, v)
				}
				if err := t.endRow(); err != nil {
					return 0, err
				}
			}
		}
	}
	if err := t.close(); err != nil {
		return 0, err
	}
	return t.rows, nil
}
