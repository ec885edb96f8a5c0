package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
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
