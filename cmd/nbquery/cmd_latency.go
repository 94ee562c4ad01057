//go:build !nbquery_light

package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nbquery/nbquery/space/mbv2"
	"github.com/nbquery/nbquery/train"
)

func init() { extraCommands = append(extraCommands, newLatencyCommand) }

func newLatencyCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "latency",
		Short: "Latency tables of the Single-Path NAS MobileNetV2 space",
	}
	cmd.AddCommand(newLatencyMeasureCommand(opts))
	return cmd
}

func newLatencyMeasureCommand(opts *globalOptions) *cobra.Command {
	var net spnasFlags
	var cfg train.MeasureConfig
	var input, out string
	var check int
	var archs []string
	cmd := &cobra.Command{
		Use:   "measure --out FILE [--width W --stem-stride S --input CxHxW --classes K]",
		Short: "Time every op of every searched layer on this machine and write a latency table",
		Long: `Time (process CPU time, or --wall-clock), on this machine, a float32 forward pass (evaluation mode, gorgonia, --batch
images) of every op (k3e3, k3e6, k5e3, k5e6) of each of the 20 searched MobileNetV2
layers at its input size, and of the fixed parts (stem with block 0; block 21 with the
head and classifier) as the base; keep the median of --repeats runs after --warmup,
and write the table (JSON, unit ms) that 'search single-path --latency-table' reads:

  {"format": "nbquery-spnas-latency/1", "unit": "ms", "device": "...",
   "macro": {"width": 0.25, "divisor": 8, "stem_stride": 1}, "input": [1, 28, 28], "batch": 1,
   "base": 0.8, "layers": [{"k3e3": 0.1, "k3e6": 0.2, "k5e3": 0.15, "k5e6": 0.3}, ...20]}

R(arch) = base + sum of the chosen ops' entries (skip = 0). --check N also times N
random whole networks and prints predicted against measured runtimes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLatencyMeasure(opts, cfg, net, input, out, check, archs, opts.stdout)
		},
	}
	f := cmd.Flags()
	f.Float64Var(&net.width, "width", 0.25, "width multiplier of the MobileNetV2 layout")
	f.IntVar(&net.divisor, "divisor", 8, "channels are rounded to multiples of this")
	f.IntVar(&net.stemStride, "stem-stride", 1, "stride of the stem convolution")
	f.StringVar(&input, "input", "1x28x28", "input CxHxW (Fashion-MNIST 1x28x28; an ImageNet proxy 3x32x32)")
	f.IntVar(&cfg.Classes, "classes", 10, "classifier outputs")
	f.IntVar(&cfg.Batch, "batch", 1, "images per timed forward pass")
	f.IntVar(&cfg.Repeats, "repeats", 20, "timed passes per op (the median is kept)")
	f.IntVar(&cfg.Warmup, "warmup", 3, "untimed passes first")
	f.StringVar(&cfg.Device, "device", "", "free-text device description recorded in the table (default: this host's name and CPU count)")
	f.Uint64Var(&cfg.Seed, "seed", 0, "seed of the random weights and inputs")
	f.BoolVar(&cfg.WallClock, "wall-clock", false, "time wall-clock instead of process CPU time (user+system; robust on a shared machine)")
	f.IntVar(&check, "check", 0, "also time this many random whole networks against the table's prediction")
	f.StringArrayVar(&archs, "arch", nil, "also time this network (an mbv2 arch string) against the table's prediction; repeatable")
	f.StringVar(&out, "out", "", "table file to write")
	return cmd
}

func runLatencyMeasure(opts *globalOptions, cfg train.MeasureConfig, net spnasFlags, input, out string, check int, archs []string, w io.Writer) error {
	if out == "" {
		return usagef("latency measure: --out is required")
	}
	var timed []mbv2.Arch
	for _, s := range archs {
		a, err := mbv2.Parse(s)
		if err != nil {
			return usageError{err}
		}
		timed = append(timed, a)
	}
	parts := strings.Split(input, "x")
	var dims [3]int
	for i := range dims {
		if len(parts) != 3 {
			return usagef("latency measure: --input %q: want CxHxW", input)
		}
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 1 || n > 4096 {
			return usagef("latency measure: --input %q: want CxHxW", input)
		}
		dims[i] = n
	}
	cfg.Macro = net.macro()
	cfg.InC, cfg.H, cfg.W = dims[0], dims[1], dims[2]
	if cfg.Device == "" {
		host, _ := os.Hostname()
		cfg.Device = fmt.Sprintf("%s (this machine; gorgonia float32, eval mode)", host)
	}
	if err := cfg.Macro.Validate(); err != nil {
		return usageError{err}
	}
	say := func(s string) {
		if !opts.quiet {
			fmt.Fprintln(opts.stderr, s)
		}
	}
	lt, err := train.MeasureLatency(cfg, say)
	if err != nil {
		return err
	}
	clock := "process CPU time (user+system)"
	if cfg.WallClock {
		clock = "wall-clock time"
	}
	lt.Note = fmt.Sprintf("median %s of %d forward passes after %d warm-up, batch %d", clock, cfg.Repeats, cfg.Warmup, cfg.Batch)
	if err := lt.Write(out); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s: base %.4f ms; all-k3e3 %.4f ms, all-k5e6 %.4f ms\n", out, lt.Base, lt.Predict(uniformArch(mbv2.K3E3)), lt.Predict(uniformArch(mbv2.K5E6)))
	rng := rand.New(rand.NewPCG(cfg.Seed, 77))
	for i := 0; i < check; i++ {
		timed = append(timed, mbv2.Sample(rng))
	}
	for _, a := range timed {
		ms, err := train.MeasureArch(cfg, a)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "check %s: predicted %.4f ms, measured %.4f ms (%+.1f%%)\n", a, lt.Predict(a), ms, 100*(lt.Predict(a)-ms)/ms)
	}
	return nil
}

func uniformArch(o mbv2.Op) mbv2.Arch {
	var a mbv2.Arch
	for i := range a {
		a[i] = uint8(o)
	}
	return a
}
