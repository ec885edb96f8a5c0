package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/runtime/builtin"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
)

// builtinEngine opens the built-in model as `dream-lsp api` does (dual
// K/V cache on), on one thread.
func builtinEngine(t testing.TB) *engine.Engine {
	t.Helper()
	eng, err := engine.OpenFS(builtin.FS(), engine.Options{Threads: 1, Cache: denoise.CacheOptions{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// builtinRuntime is the built-in engine as an unbatched infill runtime,
// for in-process comparison.
func builtinRuntime(t testing.TB, eng *engine.Engine) infill.Runtime {
	t.Helper()
	rt, err := infill.FromEngine(eng)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// newEngineServer serves eng batched (or as opts.Batch says).
func newEngineServer(t *testing.T, eng *engine.Engine, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	opts.Engine, opts.Model = eng, "builtin"
	return newTestServer(t, nil, opts)
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
// requests, sent a little apart so that they join a running batch at
// step boundaries, get exactly the middles each gets alone in-process
// (same lengths, steps, algorithm); steps carried several requests
// (the batch size histogram), and usage counts the prompt's tokens.
func TestBuiltinBatchedEqualsAlone(t *testing.T) {
	eng := builtinEngine(t)
	alone := infill.New(builtinRuntime(t, eng), infill.Options{})
	want := make([][]infill.Middle, len(builtinPrompts))
	wantPrompt := make([]int, len(builtinPrompts))
	for i, p := range builtinPrompts {
		m, n, err := alone.FillPrompt(context.Background(), infill.FillRequest{Prefix: p[0], Suffix: p[1], BOS: true, Lengths: []int{4, 8, 12}})
		if err != nil {
			t.Fatal(err)
		}
		want[i], wantPrompt[i] = m, n
	}
	s, hs := newEngineServer(t, eng, Options{})
	var wg sync.WaitGroup
	got := make([]DreamResult, len(builtinPrompts))
	gotPrompt := make([]int, len(builtinPrompts))
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
			var r struct {
				Dream DreamResult
				Usage struct {
					PromptTokens int `json:"prompt_tokens"`
				}
			}
			mustJSON(t, b, &r)
			got[i], gotPrompt[i] = r.Dream, r.Usage.PromptTokens
		}()
		time.Sleep(time.Duration(i) * 3 * time.Millisecond)
	}
	wg.Wait()
	for i := range builtinPrompts {
		if fmt.Sprint(got[i].Middles) != fmt.Sprint(want[i]) {
			t.Errorf("prompt %d: batched %+v\nalone %+v", i, got[i].Middles, want[i])
		}
		if gotPrompt[i] != wantPrompt[i] || wantPrompt[i] < 10 {
			t.Errorf("prompt %d: prompt_tokens %d, the canvases held %d", i, gotPrompt[i], wantPrompt[i])
		}
	}
	s.metrics.mu.Lock()
	steps, most := s.metrics.batchReqs.n, s.metrics.batchReqs.counts
	s.metrics.mu.Unlock()
	if most[0] == steps { // every step in the le=1 bucket
		t.Errorf("%d steps, each with one request: no batch formed", steps)
	}
	t.Logf("%d requests in %d batched steps", len(builtinPrompts), steps)
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

// TestBuiltinCancelAndDrain: through the batched engine, a client that
// goes away leaves the batch (counted as a failed denoise) while the
// server keeps answering; on drain a request in the batch completes,
// new ones get 503, and Shutdown then stops the batcher.
func TestBuiltinCancelAndDrain(t *testing.T) {
	eng := builtinEngine(t)
	s, hs := newEngineServer(t, eng, Options{})
	long := `{"prompt":"package p\n\nfunc f() {\n","suffix":"}\n","dream":{"lengths":[160]}}`
	inBatch := func() bool {
		s.metrics.mu.Lock()
		defer s.metrics.mu.Unlock()
		return s.metrics.batchReqs.n > 0
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", hs.URL+PathOpenAI, strings.NewReader(long))
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	waitFor(t, inBatch)
	cancel()
	if err := <-done; err == nil {
		t.Error("the cancelled client got an answer")
	}
	waitFor(t, func() bool {
		return strings.Contains(getBody(t, hs.URL+"/metrics"), "dream_api_denoise_failures_total 1")
	})
	if code, _, body := post(t, hs.URL+PathOpenAI, `{"prompt":"x := ","dream":{"lengths":[4]}}`); code != 200 {
		t.Fatalf("after a cancel: %d %s", code, body)
	}

	res := make(chan string, 1)
	go func() {
		code, _, body := post(t, hs.URL+PathOpenAI, strings.Replace(long, "160", "40", 1))
		res <- fmt.Sprint(code, " ", body)
	}()
	waitFor(t, func() bool { return s.metrics.queueDepth.Load() == 1 })
	time.Sleep(50 * time.Millisecond) // in the batch by now
	s.Drain()
	if code, hdr, _ := post(t, hs.URL+PathOpenAI, `{"prompt":"late"}`); code != 503 || hdr.Get("Retry-After") == "" {
		t.Errorf("request while draining: %d", code)
	}
	if err := hs.Config.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
	if r := <-res; !strings.HasPrefix(r, "200 ") {
		t.Errorf("in-flight request: %s", r)
	}
	s.Shutdown()
	if _, err := s.batch.Denoise(context.Background(), denoise.Request{Canvases: [][]int{{1, eng.Config().MaskTokenID}}, Steps: 1}); !errors.Is(err, engine.ErrBatcherClosed) {
		t.Errorf("after Shutdown: %v", err)
	}
}
