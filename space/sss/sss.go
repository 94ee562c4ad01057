package sss

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Layers is the number of searched layers; NumConfigs the size of the space.
const (
	Layers     = 5
	NumChoices = 8
	NumConfigs = 32768
)

// Channels are the allowed channel counts, in choice order.
var Channels = [NumChoices]int{8, 16, 24, 32, 40, 48, 56, 64}

// ErrSyntax marks a configuration string that does not parse.
var ErrSyntax = errors.New("sss: invalid channel configuration")

// Config is one size-space architecture: the choice index (0..7) per layer.
type Config [Layers]uint8

// Parse reads "C1:C2:C3:C4:C5", e.g. "8:16:32:64:64".
func Parse(s string) (Config, error) {
	var c Config
	if len(s) > 64 {
		// Longer than any configuration: refuse without echoing it.
		return c, fmt.Errorf("%w: %d-byte string starting %q, longer than any configuration", ErrSyntax, len(s), s[:16])
	}
	parts := strings.Split(s, ":")
	if len(parts) != Layers {
		return c, fmt.Errorf("%w: %q: want %d channel counts separated by ':'", ErrSyntax, s, Layers)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n%8 != 0 || n < 8 || n > 64 || strconv.Itoa(n) != p {
			return c, fmt.Errorf("%w: %q: layer %d channels %q not in 8,16,...,64", ErrSyntax, s, i+1, p)
		}
		c[i] = uint8(n/8 - 1)
	}
	return c, nil
}

// String formats the configuration.
func (c Config) String() string {
	var b strings.Builder
	for i, x := range c {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(Channels[x]))
	}
	return b.String()
}

// Code returns the base-8 code of the configuration (layer 1 most significant).
func (c Config) Code() int {
	x := 0
	for _, v := range c {
		x = x*NumChoices + int(v)
	}
	return x
}

// FromCode is the inverse of Code; it panics on an out-of-range code.
func FromCode(x int) Config {
	if x < 0 || x >= NumConfigs {
		panic(fmt.Sprintf("sss: code %d out of range", x))
	}
	var c Config
	for i := Layers - 1; i >= 0; i-- {
		c[i] = uint8(x % NumChoices)
		x /= NumChoices
	}
	return c
}

// OneHot writes the 40-dim one-hot encoding (layer-major) into dst.
func (c Config) OneHot(dst []float64) {
	if len(dst) < Layers*NumChoices {
		panic("sss: OneHot dst too short")
	}
	clear(dst[:Layers*NumChoices])
	for i, v := range c {
		dst[i*NumChoices+int(v)] = 1
	}
}
