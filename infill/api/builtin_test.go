package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/runtime/builtin"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
)

// builtinRuntime opens the built-in model as serve does (dual K/V cache on).
func builtinRuntime(t testing.TB) infill.Runtime {
	t.Helper()
	eng, err := engine.OpenFS(builtin.FS(), engine.Options{Threads: 1, Cache: denoise.CacheOptions{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	rt, err := infill.FromEngine(eng)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// builtinPrompts are Go snippets cut at a cursor: prefix, suffix.
var builtinPrompts = [][2]string{
	{"package main\n\nimport \"os\"\n\nfunc read(path string) ([]byte, error) {\n\tdata, err := os.ReadFile(path)\n", "\treturn data, nil\n}\n"},
	{"package p\n\nfunc sum(xs []int) int {\n\ttotal := 0\n\tfor _, x := range xs {\n", "\t}\n\treturn total\n}\n"},
	{"package p\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.", "\n}\n"},
	{"package p\n\ntype point struct {\n\tx, y int\n}\n\nfunc (p point) add(q point) point {\n", "}\n"},
	{"package p\n\nimport \"strings\"\n\nfunc words(s string) []string {\n\treturn strings.", "\n}\n"},
	{"package p\n\nfunc max(a, b int) int {\n\tif a > b {\n", "\t}\n\treturn b\n}\n"},
}

// TestBuiltinBatchedEqualsAlone: with the built-in model, concurrent
// requests joined into one batch get exactly the middles each gets alone
// in-process (same lengths, steps, algorithm), and batches did form.
func TestBuiltinBatchedEqualsAlone(t *testing.T) {
	rt := builtinRuntime(t)
	alone := infill.New(rt, infill.Options{})
	want := make([][]infill.Middle, len(builtinPrompts))
	for i, p := range builtinPrompts {
		m, err := alone.Fill(context.Background(), infill.FillRequest{Prefix: p[0], Suffix: p[1], BOS: true, Lengths: []int{4, 8, 12}})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = m
	}
	s, hs := newTestServer(t, rt, Options{Batch: BatchOptions{Window: 200 * time.Millisecond}})
	var wg sync.WaitGroup
	got := make([]DreamResult, len(builtinPrompts))
	for i, p := range builtinPrompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]any{"prompt": p[0], "suffix": p[1], "dream": map[string]any{"lengths": []int{4, 8, 12}, "bos": true}})
			code, _, b := post(t, hs.URL+PathOpenAI, string(body))
			if code != 200 {
				t.Errorf("request %d: %d %s", i, code, b)
				return
			}
			var r struct{ Dream DreamResult }
			mustJSON(t, b, &r)
			got[i] = r.Dream
		}()
	}
	wg.Wait()
	for i := range builtinPrompts {
		if fmt.Sprint(got[i].Middles) != fmt.Sprint(want[i]) {
			t.Errorf("prompt %d: batched %+v\nalone %+v", i, got[i].Middles, want[i])
		}
	}
	s.metrics.mu.Lock()
	calls, reqs := s.metrics.batchReqs.n, s.metrics.batchReqs.sum
	s.metrics.mu.Unlock()
	if reqs != float64(len(builtinPrompts)) || calls >= uint64(len(builtinPrompts)) {
		t.Errorf("%v requests in %d calls: no batch formed", reqs, calls)
	}
	t.Logf("%d requests in %d denoising calls", len(builtinPrompts), calls)
	var nonEmpty int
	for _, w := range want {
		for _, m := range w {
			if strings.TrimSpace(m.Text) != "" {
				nonEmpty++
			}
		}
	}
	if nonEmpty == 0 {
		t.Error("the built-in model wrote only empty middles: the comparison proves nothing")
	}
}
