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
	InputIDs  []int   `json:"input_ids"`
	Alg       string  `json:"alg"`
	Steps     int     `json:"steps"`
	Eps       float64 `json:"eps"`
	OutputIDs []int   `json:"output_ids"`
	Trace     [][]int `json:"trace"`
}

// ReadGenerate returns the "generate" cases of dir's golden.json; it fails
// t when the file is missing or malformed or holds fewer than min cases.
func ReadGenerate(t testing.TB, dir string, min int) []Generate {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Generate []Generate `json:"generate"`
	}
	if err := json.Unmarshal(data, &g); err != nil || len(g.Generate) < min {
		t.Fatalf("golden.json: %v (%d generate cases, want at least %d)", err, len(g.Generate), min)
	}
	return g.Generate
}
