// Package goldentest reads the greedy reference runs ("generate") of a
// shared golden model's golden.json, for the tests that compare the
// engine and the debug commands with them.
package goldentest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Generate is one reference run.
type Generate struct {
	InputIDs    []int   `json:"input_ids"`
	Alg         string  `json:"alg"`
	Steps       int     `json:"steps"`
	Eps         float64 `json:"eps"`
	Temperature float64 `json:"temperature"`
	OutputIDs   []int   `json:"output_ids"`
	Trace       [][]int `json:"trace"`
}

// ReadGenerate returns the "generate" cases of dir's golden.json; it fails
// t when the file is missing or malformed or holds fewer than min cases.
func ReadGenerate(t testing.TB, dir string, min int) []Generate {
	t.Helper()
	g := read(t, dir)
	if len(g.Generate) < min {
		t.Fatalf("golden.json: %d generate cases, want at least %d", len(g.Generate), min)
	}
	return g.Generate
}

// ReadTraces returns every greedy trace of dir's golden.json: the
// "generate" cases, then the "cases" (where tiny-qwen-vocab keeps them).
// It fails t when the file is missing or malformed or holds fewer than min.
func ReadTraces(t testing.TB, dir string, min int) []Generate {
	t.Helper()
	g := read(t, dir)
	all := append(g.Generate, g.Cases...)
	if len(all) < min {
		t.Fatalf("golden.json: %d generate cases, want at least %d", len(all), min)
	}
	return all
}

type file struct {
	Generate []Generate `json:"generate"`
	Cases    []Generate `json:"cases"`
}

func read(t testing.TB, dir string) file {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g file
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatalf("golden.json: %v", err)
	}
	return g
}
