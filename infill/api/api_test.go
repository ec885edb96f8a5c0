package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/infilltest"
)

// echoScript fills the masks with "<" + the last word before them + ">",
// so each answer shows which request (prefix) it belongs to.
func echoScript(row, hole, masks int, before string) infilltest.Fill {
	f := strings.Fields(before)
	w := ""
	if len(f) > 0 {
		w = f[len(f)-1]
	}
	return infilltest.Fill{Text: "<" + w + ">", Conf: 0.75}
}

func newTestServer(t *testing.T, rt infill.Runtime, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	opts.Runtime = rt
	if opts.Model == "" {
		opts.Model = "test-model"
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { hs.Close(); s.Shutdown() })
	return s, hs
}

func post(t *testing.T, url, body string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestShapes: each endpoint answers its own shape with the middle in the
// field its clients read, streamed or not, and the dream object.
func TestShapes(t *testing.T) {
	_, hs := newTestServer(t, &infilltest.Runtime{Script: echoScript}, Options{})
	cases := []struct {
		name, path, body string
		get              func(t *testing.T, body string) string
	}{
		{"openai", PathOpenAI, `{"model":"m","prompt":"x := alpha","suffix":"\n}","max_tokens":12}`, func(t *testing.T, b string) string {
			var r struct {
				Object  string `json:"object"`
				Choices []struct {
					Text         string `json:"text"`
					FinishReason string `json:"finish_reason"`
				} `json:"choices"`
			}
			mustJSON(t, b, &r)
			if r.Object != "text_completion" || len(r.Choices) != 1 || r.Choices[0].FinishReason != "stop" {
				t.Errorf("openai body %s", b)
				return ""
			}
			return r.Choices[0].Text
		}},
		{"openai prompt array", PathOpenAI, `{"prompt":["x := alpha"]}`, func(t *testing.T, b string) string {
			var r struct{ Choices []struct{ Text string } }
			mustJSON(t, b, &r)
			return r.Choices[0].Text
		}},
		{"mistral", PathMistral, `{"model":"codestral","prompt":"x := alpha","suffix":"}"}`, func(t *testing.T, b string) string {
			var r struct {
				Choices []struct {
					Message struct{ Role, Content string }
				}
			}
			mustJSON(t, b, &r)
			if len(r.Choices) != 1 || r.Choices[0].Message.Role != "assistant" {
				t.Errorf("mistral body %s", b)
				return ""
			}
			return r.Choices[0].Message.Content
		}},
		{"llamacpp", PathLlamaCpp, `{"input_prefix":"x := al","prompt":"pha","input_suffix":"}","input_extra":[{"filename":"a.go","text":"package a"}],"cache_prompt":true,"n_predict":-1}`, func(t *testing.T, b string) string {
			var r struct {
				Content string `json:"content"`
				Stop    bool   `json:"stop"`
			}
			mustJSON(t, b, &r)
			if !r.Stop {
				t.Errorf("llamacpp body %s", b)
			}
			return r.Content
		}},
		{"ollama", PathOllama, `{"model":"m","prompt":"x := alpha","suffix":"}","stream":false,"options":{"num_predict":10}}`, func(t *testing.T, b string) string {
			var r struct {
				Response string `json:"response"`
				Done     bool   `json:"done"`
			}
			mustJSON(t, b, &r)
			if !r.Done {
				t.Errorf("ollama body %s", b)
			}
			return r.Response
		}},
		{"ollama stream (default)", PathOllama, `{"prompt":"x := alpha"}`, func(t *testing.T, b string) string {
			lines := strings.Split(strings.TrimSpace(b), "\n")
			if len(lines) != 2 {
				t.Errorf("want 2 NDJSON lines, got %q", b)
				return ""
			}
			var first, last struct {
				Response string
				Done     bool
			}
			mustJSON(t, lines[0], &first)
			mustJSON(t, lines[1], &last)
			if first.Done || !last.Done || last.Response != "" {
				t.Errorf("stream %q", b)
			}
			return first.Response
		}},
		{"openai stream", PathOpenAI, `{"prompt":"x := alpha","stream":true}`, func(t *testing.T, b string) string {
			ev := sseEvents(t, b)
			if len(ev) != 2 || ev[1] != "[DONE]" {
				t.Errorf("events %q", ev)
				return ""
			}
			var r struct{ Choices []struct{ Text string } }
			mustJSON(t, ev[0], &r)
			return r.Choices[0].Text
		}},
		{"mistral stream", PathMistral, `{"prompt":"x := alpha","stream":true}`, func(t *testing.T, b string) string {
			ev := sseEvents(t, b)
			var r struct {
				Choices []struct{ Delta struct{ Content string } }
			}
			mustJSON(t, ev[0], &r)
			return r.Choices[0].Delta.Content
		}},
		{"llamacpp stream", PathLlamaCpp, `{"input_prefix":"x := alpha","stream":true}`, func(t *testing.T, b string) string {
			ev := sseEvents(t, b)
			var r struct{ Content string }
			mustJSON(t, ev[0], &r)
			return r.Content
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, body := post(t, hs.URL+c.path, c.body)
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			if got := c.get(t, body); got != "<alpha>" {
				t.Errorf("middle %q, want %q (body %s)", got, "<alpha>", body)
			}
			if !strings.Contains(body, `"middles":[{"text":"<alpha>"`) {
				t.Errorf("no dream.middles in %s", body)
			}
		})
	}
}

// TestDreamObject: dream.lengths gives one middle per length, in order, and
// the settings reach the runtime.
func TestDreamObject(t *testing.T) {
	rt := &infilltest.Runtime{Script: func(row, hole, masks int, before string) infilltest.Fill {
		return infilltest.Fill{Text: strings.Repeat("y", masks), Conf: float32(masks) / 10}
	}, BOS: 900}
	_, hs := newTestServer(t, rt, Options{})
	code, _, body := post(t, hs.URL+PathOpenAI, `{"prompt":"a","suffix":"b","dream":{"steps":3,"alg":"maskgit_plus","lengths":[2,5],"seed":7,"bos":true}}`)
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	var r struct {
		Choices []struct{ Text string }
		Dream   DreamResult
	}
	mustJSON(t, body, &r)
	if len(r.Dream.Middles) != 2 || r.Dream.Middles[0].Text != "yy" || r.Dream.Middles[1].Text != "yyyyy" {
		t.Fatalf("middles %+v", r.Dream.Middles)
	}
	if r.Choices[0].Text != "yyyyy" || r.Dream.Steps != 3 || r.Dream.Alg != "maskgit_plus" || r.Dream.Seed == nil || *r.Dream.Seed != 7 {
		t.Errorf("response %s", body)
	}
	call := rt.Calls[len(rt.Calls)-1]
	if call.Alg != "maskgit_plus" || len(call.Canvases) != 2 || call.Canvases[0][0] != 900 {
		t.Errorf("runtime call %+v", call)
	}
}

// TestInputExtra: llama.cpp's input_extra goes before the prefix, each
// chunk under a comment naming its file, as dream-lsp places related code.
func TestInputExtra(t *testing.T) {
	rt := &infilltest.Runtime{Script: echoScript}
	_, hs := newTestServer(t, rt, Options{})
	code, _, body := post(t, hs.URL+PathLlamaCpp, `{"input_prefix":"y = ","input_suffix":"\n","n_predict":4,"input_extra":[{"filename":"a.py","text":"x = 1\n\n"},{"filename":"b.py","text":"z = 2"}]}`)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	c := rt.Calls[len(rt.Calls)-1].Canvases[0]
	want := "# a.py\nx = 1\n\n# b.py\nz = 2\n\ny = "
	if got := rt.Decode(c[:len(want)]); got != want {
		t.Errorf("canvas starts %q, want %q", got, want)
	}
}

func TestBadInput(t *testing.T) {
	big := `{"prompt":"` + strings.Repeat("a", 2<<20) + `"}`
	cases := []struct {
		name, path, body string
		header           []string
		code             int
		msg              string
	}{
		{"malformed", PathOpenAI, `{"prompt": "x"`, nil, 400, "malformed JSON"},
		{"syntax", PathOpenAI, `{"prompt": x}`, nil, 400, "malformed JSON at byte"},
		{"trailing", PathOpenAI, `{"prompt": "x"} {}`, nil, 400, "data after the object"},
		{"not an object", PathMistral, `["x"]`, nil, 400, "JSON object"},
		{"empty", PathLlamaCpp, ``, nil, 400, "empty body"},
		{"wrong type", PathOpenAI, `{"prompt":"x","max_tokens":"ten"}`, nil, 400, `field "max_tokens": got a JSON string, want a number`},
		{"wrong type nested", PathOllama, `{"prompt":"x","options":{"num_predict":true}}`, nil, 400, `options.num_predict`},
		{"wrong dream type", PathLlamaCpp, `{"input_prefix":"x","dream":{"lengths":"4"}}`, nil, 400, `dream.lengths`},
		{"prompt type", PathOpenAI, `{"prompt":5}`, nil, 400, `"prompt" must be a string`},
		{"missing prompt", PathMistral, `{"suffix":"x"}`, nil, 400, `missing "prompt"`},
		{"negative max", PathOpenAI, `{"prompt":"x","max_tokens":-1}`, nil, 400, "negative"},
		{"negative max mistral", PathMistral, `{"prompt":"x","max_tokens":-1}`, nil, 400, "negative"},
		{"n", PathOpenAI, `{"prompt":"x","n":3}`, nil, 400, `"n" must be 1`},
		{"bad alg", PathOpenAI, `{"prompt":"x","dream":{"alg":"nope"}}`, nil, 400, "unknown alg"},
		{"bad length", PathOpenAI, `{"prompt":"x","dream":{"lengths":[0]}}`, nil, 400, "not a positive length"},
		{"long length", PathOpenAI, `{"prompt":"x","dream":{"lengths":[100000]}}`, nil, 400, "longer than the model allows"},
		{"many lengths", PathOpenAI, `{"prompt":"x","dream":{"lengths":[1,2,3,4,5,6,7,8,9]}}`, nil, 400, "at most 8"},
		{"steps", PathOpenAI, `{"prompt":"x","dream":{"steps":-2}}`, nil, 400, "dream.steps"},
		{"huge body", PathOpenAI, big, nil, 413, "over 1048576 bytes"},
		{"ollama error shape", PathOllama, `{"prompt":1}`, nil, 400, `field "prompt"`},
	}
	_, hs := newTestServer(t, &infilltest.Runtime{Script: echoScript}, Options{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, body := post(t, hs.URL+c.path, c.body, c.header...)
			msg := errorMessage(t, body)
			if code != c.code || !strings.Contains(msg, c.msg) {
				t.Errorf("status %d message %q; want %d with %q", code, msg, c.code, c.msg)
			}
		})
	}
	// Still serving.
	if code, _, body := post(t, hs.URL+PathOpenAI, `{"prompt":"ok fine"}`); code != 200 || !strings.Contains(body, "<fine>") {
		t.Errorf("after bad input: %d %s", code, body)
	}
	for _, u := range []string{"/nope", PathOpenAI} {
		resp, err := http.Get(hs.URL + u) // GET on a POST endpoint
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("GET %s: %d", u, resp.StatusCode)
		}
	}
}

func TestAuth(t *testing.T) {
	_, hs := newTestServer(t, &infilltest.Runtime{Script: echoScript}, Options{APIKey: "s3cret"})
	for _, h := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "s3cret"}} {
		code, hdr, body := post(t, hs.URL+PathOpenAI, `{"prompt":"x"}`, h...)
		if code != 401 || hdr.Get("WWW-Authenticate") == "" || !strings.Contains(body, "API key") || strings.Contains(body, "s3cret") {
			t.Errorf("header %v: %d %s", h, code, body)
		}
	}
	if code, _, body := post(t, hs.URL+PathOpenAI, `{"prompt":"x"}`, "Authorization", "Bearer s3cret"); code != 200 {
		t.Errorf("with the key: %d %s", code, body)
	}
	for path, want := range map[string]int{"/health": 200, "/metrics": 401, "/v1/models": 401} {
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s without a key: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

// gated blocks every Denoise until released, and reports entry.
type gated struct {
	*infilltest.Runtime
	entered chan int // canvases of each call
	release chan struct{}
	ctxErr  chan error
}

func newGated() *gated {
	return &gated{Runtime: &infilltest.Runtime{Script: echoScript}, entered: make(chan int, 100), release: make(chan struct{}), ctxErr: make(chan error, 100)}
}

func (g *gated) Denoise(ctx context.Context, req infill.DenoiseRequest) (*infill.DenoiseResult, error) {
	g.entered <- len(req.Canvases)
	select {
	case <-g.release:
	case <-ctx.Done():
		g.ctxErr <- ctx.Err()
		return nil, ctx.Err()
	}
	return g.Runtime.Denoise(ctx, req)
}

// TestQueueFull: past QueueSize admitted requests, the answer is 503 with
// Retry-After; the admitted ones complete.
func TestQueueFull(t *testing.T) {
	g := newGated()
	s, hs := newTestServer(t, g, Options{QueueSize: 2})
	var wg sync.WaitGroup
	codes := make(chan int, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, _ := post(t, hs.URL+PathOpenAI, `{"prompt":"x"}`)
			codes <- code
		}()
	}
	<-g.entered // one runs, the other waits for the engine
	waitFor(t, func() bool { return s.metrics.queueDepth.Load() == 2 })
	code, hdr, body := post(t, hs.URL+PathOpenAI, `{"prompt":"x"}`)
	if code != 503 || hdr.Get("Retry-After") == "" || !strings.Contains(body, "queue full") {
		t.Errorf("third request: %d %q %s", code, hdr.Get("Retry-After"), body)
	}
	close(g.release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("admitted request: %d", c)
		}
	}
	var m string
	waitFor(t, func() bool {
		m = getBody(t, hs.URL+"/metrics")
		return strings.Contains(m, "dream_api_request_duration_seconds_count 2")
	})
	for _, want := range []string{"dream_api_rejected_total 1", `dream_api_requests_total{endpoint="/v1/completions",code="503"} 1`, "dream_api_queue_depth 0", "dream_api_request_duration_seconds_count 2"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
}

// TestCancel: a client that goes away cancels its model call.
func TestCancel(t *testing.T) {
	g := newGated()
	_, hs := newTestServer(t, g, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", hs.URL+PathOpenAI, strings.NewReader(`{"prompt":"x"}`))
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-g.entered
	cancel()
	select {
	case err := <-g.ctxErr:
		if err != context.Canceled {
			t.Errorf("model call ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the model call was not cancelled")
	}
	if err := <-done; err == nil {
		t.Error("the cancelled client got an answer")
	}
}

// TestShutdownDrains: a request in flight when shutdown starts completes;
// /health says draining; later requests are refused.
func TestShutdownDrains(t *testing.T) {
	g := newGated()
	s, err := New(Options{Runtime: g, Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	res := make(chan string, 1)
	go func() {
		code, _, body := post(t, hs.URL+PathOpenAI, `{"prompt":"in flight"}`)
		res <- fmt.Sprint(code, " ", body)
	}()
	<-g.entered
	s.Drain()
	if code, _, _ := getCode(t, hs.URL+"/health"); code != 503 {
		t.Errorf("health while draining: %d", code)
	}
	if code, hdr, _ := post(t, hs.URL+PathOpenAI, `{"prompt":"late"}`); code != 503 || hdr.Get("Retry-After") == "" {
		t.Errorf("request while draining: %d", code)
	}
	shut := make(chan error, 1)
	go func() { shut <- hs.Config.Shutdown(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	close(g.release)
	if r := <-res; !strings.HasPrefix(r, "200 ") || !strings.Contains(r, "<flight>") {
		t.Errorf("in-flight request: %s", r)
	}
	if err := <-shut; err != nil {
		t.Error(err)
	}
	s.Shutdown()
}

func TestModelsHealthMetrics(t *testing.T) {
	_, hs := newTestServer(t, &infilltest.Runtime{Script: echoScript}, Options{Model: "tiny"})
	if b := getBody(t, hs.URL+"/v1/models"); !strings.Contains(b, `"id":"tiny"`) {
		t.Errorf("/v1/models: %s", b)
	}
	if b := getBody(t, hs.URL+"/health"); !strings.Contains(b, `"ok"`) {
		t.Errorf("/health: %s", b)
	}
	post(t, hs.URL+PathOpenAI, `{"prompt":"a b"}`)
	var m string
	waitFor(t, func() bool {
		m = getBody(t, hs.URL+"/metrics")
		return strings.Contains(m, "dream_api_request_duration_seconds_count 1")
	})
	for _, want := range []string{"# TYPE dream_api_queue_depth gauge", "# TYPE dream_api_batch_size histogram", "dream_api_tokens_per_second",
		"# TYPE dream_api_denoise_duration_seconds histogram", `dream_api_request_duration_seconds_bucket{le="+Inf"} 1`, "dream_api_generated_tokens_total 64"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
}

// errorMessage is the message of a JSON error body, in either shape.
func errorMessage(t *testing.T, body string) string {
	t.Helper()
	var v struct{ Error json.RawMessage }
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.Error == nil {
		t.Errorf("not a JSON error: %.200s", body)
		return ""
	}
	var s string
	if json.Unmarshal(v.Error, &s) == nil {
		return s
	}
	var o struct{ Message string }
	json.Unmarshal(v.Error, &o)
	return o.Message
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v in %.300s", err, s)
	}
}

func sseEvents(t *testing.T, body string) []string {
	t.Helper()
	var ev []string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			ev = append(ev, d)
		}
	}
	if len(ev) == 0 {
		t.Fatalf("no events in %q", body)
	}
	return ev
}

func getCode(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func getBody(t *testing.T, url string) string {
	_, _, b := getCode(t, url)
	return b
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not reached")
}
