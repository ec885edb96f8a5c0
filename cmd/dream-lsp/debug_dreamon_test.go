package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/dreamontest"
)

// tinyDreamOnDir is the tiny DreamOn checkpoint (weights only; its
// golden.json holds the reference traces of bench/gpu/dreamon_ref.py).
const tinyDreamOnDir = "../../" + dreamontest.Weights

// TestDebugDenoiseDreamOn runs `debug denoise --dreamon` on golden cases
// (greedy, with and without --pad-delete-to-right) and compares the
// printed per-step canvases, the final canvas and the middle with the
// reference.
func TestDebugDenoiseDreamOn(t *testing.T) {
	ran := map[bool]int{}
	for n, c := range dreamontest.Golden(t) {
		o := c.Options
		if o.ExpandBudget != nil || o.MaxIters != nil || c.Events.Expand+c.Events.Delete == 0 || ran[o.PadDeleteToRight] >= 2 {
			continue
		}
		ran[o.PadDeleteToRight]++
		args := []string{"debug", "denoise", "--dreamon", "--model", tinyDreamOnDir, "--expand-id", "151667",
			"--ids", joinIDs(c.InputIDs), "--max-new-tokens", fmt.Sprint(o.MaxNewTokens), "--alg", o.Alg,
			"--temperature", "0", "--top-p", "0", "--trace"}
		if o.TopP != nil {
			args[len(args)-2] = fmt.Sprint(*o.TopP)
		}
		if o.PadDeleteToRight {
			args = append(args, "--pad-delete-to-right")
		}
		var stdout, stderr bytes.Buffer
		if code := mainExit(args, &stdout, &stderr); code != 0 {
			t.Fatalf("case %d: exit %d: %s", n, code, stderr.String())
		}
		var out struct {
			Steps   int     `json:"steps"`
			Trace   [][]int `json:"trace"`
			Output  []int   `json:"output"`
			DreamOn struct {
				Middle     []int `json:"middle"`
				Expansions int   `json:"expansions"`
				Deletions  int   `json:"deletions"`
				Steps      []struct {
					Commits []struct{ Pos, Token int }
				} `json:"steps"`
			} `json:"dreamon"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatalf("case %d: stdout is not one JSON document: %v\n%s", n, err, stdout.String())
		}
		if len(out.Trace) != len(c.Trace) || len(out.DreamOn.Steps) != len(c.Trace) {
			t.Fatalf("case %d: %d trace rows, %d steps; want %d", n, len(out.Trace), len(out.DreamOn.Steps), len(c.Trace))
		}
		for i := range c.Trace {
			if !slices.Equal(out.Trace[i], c.Trace[i].Canvas) {
				t.Fatalf("case %d step %d: got %v, want %v", n, i, out.Trace[i], c.Trace[i].Canvas)
			}
		}
		if !slices.Equal(out.Output, c.Output) || !slices.Equal(out.DreamOn.Middle, c.Middle) ||
			out.DreamOn.Expansions != c.Events.Expand || out.DreamOn.Deletions != c.Events.Delete {
			t.Fatalf("case %d: output %v middle %v (%d expansions, %d deletions); want %v %v (%d, %d)", n,
				out.Output, out.DreamOn.Middle, out.DreamOn.Expansions, out.DreamOn.Deletions, c.Output, c.Middle, c.Events.Expand, c.Events.Delete)
		}
	}
	if ran[false] == 0 || ran[true] == 0 {
		t.Fatalf("cases run: %v; want some with and some without --pad-delete-to-right", ran)
	}
	// Without a tokenizer the model has no expand token: a usage error
	// that says so.
	var stdout, stderr bytes.Buffer
	if code := mainExit([]string{"debug", "denoise", "--dreamon", "--model", tinyDreamOnDir, "--ids", "151665,5,mask,6"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "expand") {
		t.Errorf("no expand token: exit %d, stderr %q", code, stderr.String())
	}
}

// TestInfillDreamOnEndToEnd runs `dream-lsp infill --json --debug` on the
// tiny DreamOn-layout checkpoint (with Dream's tokenizer and <|expand|>)
// and checks that the completion went through DreamOn's loop with its
// defaults (4 initial masks, a 64-token cap).
func TestInfillDreamOnEndToEnd(t *testing.T) {
	dir := dreamontest.Dir(t)
	var stdout, stderr bytes.Buffer
	code := mainExit([]string{"infill", "--model", dir, "--json", "--debug", "../../testdata/examples/fib.go:5:2"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var res struct {
		Offset     int
		Candidates []struct {
			Start, End int
			Tokens     int
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("output is not one JSON document: %v\n%s", err, stdout.String())
	}
	log := stderr.String()
	if !strings.Contains(log, "msg=dreamon") || !strings.Contains(log, "initial_masks=4") || !strings.Contains(log, "cap=64") {
		t.Fatalf("infill did not run DreamOn's loop; log:\n%s", log)
	}
	for _, c := range res.Candidates {
		if c.Start != res.Offset || c.Tokens > 64 {
			t.Errorf("candidate %+v: want start %d and at most 64 tokens", c, res.Offset)
		}
	}
}
