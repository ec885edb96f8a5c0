package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchCacheRows(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the 30M synthetic model")
	}
	var out bytes.Buffer
	err := runBench([]string{"--tokens", "24", "--masks", "4", "--steps", "2", "--runs", "1", "--cache", "both", "--refresh", "-1", "--json"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var rep benchReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 3 || !strings.Contains(rep.Results[2].Name, "kv cache (refresh -1)") || strings.Contains(rep.Results[1].Name, "kv cache") {
		t.Fatalf("results %+v: want forward, uncached denoise, cached denoise", rep.Results)
	}
}

func TestBenchRejectsBadCacheMode(t *testing.T) {
	err := runBench([]string{"--cache", "sometimes"}, io.Discard, io.Discard)
	if !errors.Is(err, errUsage) {
		t.Fatalf("err = %v, want errUsage", err)
	}
}

// TestBenchBlockwise: --alg confidence_threshold --block-size names the
// blocks in the denoise rows and every denoise row reports its steps and
// CPU per step.
func TestBenchBlockwise(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the 30M synthetic model")
	}
	var out bytes.Buffer
	err := runBench([]string{"--tokens", "24", "--masks", "8", "--steps", "8", "--runs", "1", "--cache", "both", "--refresh", "-1",
		"--alg", "confidence_threshold", "--block-size", "4", "--json"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var rep benchReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.BlockSize != 4 || len(rep.Results) != 3 {
		t.Fatalf("report %+v: want block size 4 and three rows", rep)
	}
	for _, r := range rep.Results[1:] {
		if !strings.Contains(r.Name, "blocks of 4") || r.StepsRun < 1 || r.StepsRun > 8 || r.CPUMsPerStep <= 0 {
			t.Errorf("denoise row %+v: want blocks of 4, 1-8 steps run and CPU per step", r)
		}
	}
	if err := runBench([]string{"--alg", "confidence_threshold", "--block-size", "-2", "--tokens", "24", "--masks", "4", "--steps", "1"}, io.Discard, io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("--block-size -2: err = %v, want errUsage", err)
	}
}

// TestBenchProfiles: --cpuprofile and --memprofile write profiles pprof
// can read (gzipped protocol buffers), and the report still comes out.
func TestBenchProfiles(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the 30M synthetic model")
	}
	dir := t.TempDir()
	cpuProf, memProf := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof")
	var out bytes.Buffer
	if err := runBench([]string{"--tokens", "24", "--masks", "4", "--steps", "2", "--runs", "1", "--cache", "off", "--json", "--cpuprofile", cpuProf, "--memprofile", memProf}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, prof := range []string{cpuProf, memProf} {
		data, err := os.ReadFile(prof)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
			t.Fatalf("%s is not a gzipped profile (%d bytes)", prof, len(data))
		}
	}
	var rep benchReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Results) == 0 {
		t.Fatalf("report: %v, %d results", err, len(rep.Results))
	}
}
