//go:build !nbquery_light

package main

import (
	"slices"
	"testing"

	"github.com/nbquery/nbquery/executor"
	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/mbv2"
	"github.com/nbquery/nbquery/train"
)

// TestTrialConfigRoundTrip: the Slurm task's command line carries every
// setting of every live space, so the task's result has the trial's config
// hash (a setting left out once made every restarted coordinator fail).
func TestTrialConfigRoundTrip(t *testing.T) {
	base := train.DefaultConfig()
	base.Arch, base.DataDir, base.Epochs, base.MaxTrain, base.Seed = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "/data", 1, 300, 7
	darts := base
	darts.Space, darts.Layers, darts.Resize, darts.MaxTest, darts.AuxWeight, darts.DropPath = "darts", 5, 16, 100, 0.4, 0.2
	darts.Augment = &train.Augment{Cutout: 16}
	mb := base
	mb.Space, mb.ImageSize, mb.MBV2 = "mbv2", 32, &mbv2.Macro{Width: 0.25, Divisor: 8, StemStride: 1}
	for _, tc := range []struct {
		bench string
		cfg   train.Config
	}{{index.NB201, base}, {"darts", darts}, {"mbv2", mb}} {
		tc.cfg.OutDir = "/somewhere"
		argv := trainArgs("nbquery", executor.Trial{Bench: tc.bench, Train: tc.cfg}, "/r.json")
		i := slices.Index(argv, "--trial-config")
		if i < 0 || argv[3] != tc.bench {
			t.Fatalf("%s: %q", tc.bench, argv)
		}
		got, err := decodeTrialConfig(argv[i+1])
		if err != nil {
			t.Fatalf("%s: %v", tc.bench, err)
		}
		if got.Hash() != tc.cfg.Hash() {
			t.Errorf("%s: the task's config hash %.12s differs from the trial's %.12s", tc.bench, got.Hash(), tc.cfg.Hash())
		}
	}
	if _, err := decodeTrialConfig(`{"Layerz": 5}`); err == nil {
		t.Error("an unknown field was accepted")
	}
}
