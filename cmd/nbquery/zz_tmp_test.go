package main

import (
	"io"
	"testing"
)

func BenchmarkZZQuery(b *testing.B) {
	args := []string{"--store", "/tmp/cold11/s/store", "query", "nb201", "--index", "6111", "--dataset", "cifar10-valid", "--hp", "200"}
	for b.Loop() {
		if run(args, io.Discard, io.Discard) != 0 {
			b.Fatal("fail")
		}
	}
}
func BenchmarkZZVersion(b *testing.B) {
	for b.Loop() {
		run([]string{"--version"}, io.Discard, io.Discard)
	}
}
