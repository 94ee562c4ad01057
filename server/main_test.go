package server_test

import (
	"os"
	"testing"
)

var tempDirs []string

func tempDir() (string, error) {
	d, err := os.MkdirTemp("", "nbquery-server-test-")
	if err == nil {
		tempDirs = append(tempDirs, d)
	}
	return d, err
}

func exampleDir() string {
	d, _ := tempDir()
	return d
}

func TestMain(m *testing.M) {
	code := m.Run()
	if store != nil {
		store.Close()
	}
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}
