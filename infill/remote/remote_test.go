package remote

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/context/crossfile"
	"github.com/dream-lsp/dream-lsp/infill"
)

var fillReq = infill.FillRequest{
	Prefix: "func f() {\n\t", Suffix: "\n}\n", Lengths: []int{4, 8}, Steps: 3, Alg: "entropy", BOS: true,
	Related: []crossfile.Chunk{{Path: "a.go", Text: "var x = 1\n"}}, Comment: "//",
}

// TestAdapters: each shape sends its endpoint's fields (prefix, suffix,
// other files' code, length, key, the dream object where allowed) and
// reads the middle from its answer.
func TestAdapters(t *testing.T) {
	cases := []struct {
		api, path string
		check     func(t *testing.T, b map[string]any)
		answer    string
	}{
		{OpenAI, "/v1/completions", func(t *testing.T, b map[string]any) {
			want(t, b, "prompt", "// a.go\nvar x = 1\n\nfunc f() {\n\t")
			want(t, b, "suffix", "\n}\n")
			want(t, b, "max_tokens", 8.0)
			want(t, b, "model", "m1")
			if d, _ := b["dream"].(map[string]any); d == nil || d["steps"] != 3.0 || d["bos"] != true || d["alg"] != "entropy" {
				t.Errorf("dream object %v", b["dream"])
			}
		}, `{"choices":[{"text":"return 1","index":0}],"usage":{"completion_tokens":3}}`},
		{Mistral, "/v1/fim/completions", func(t *testing.T, b map[string]any) {
			want(t, b, "prompt", "// a.go\nvar x = 1\n\nfunc f() {\n\t")
			want(t, b, "max_tokens", 8.0)
			if _, ok := b["dream"]; ok {
				t.Error("mistral request carries the dream object (its API refuses unknown fields)")
			}
		}, `{"choices":[{"index":0,"message":{"role":"assistant","content":"return 1"}}],"usage":{"completion_tokens":3}}`},
		{LlamaCpp, "/infill", func(t *testing.T, b map[string]any) {
			want(t, b, "input_prefix", "func f() {\n\t")
			want(t, b, "input_suffix", "\n}\n")
			want(t, b, "n_predict", 8.0)
			want(t, b, "cache_prompt", true)
			ex, _ := b["input_extra"].([]any)
			if len(ex) != 1 || ex[0].(map[string]any)["filename"] != "a.go" || ex[0].(map[string]any)["text"] != "var x = 1\n" {
				t.Errorf("input_extra %v", b["input_extra"])
			}
		}, `{"content":"return 1","stop":true,"tokens_predicted":3}`},
		{Ollama, "/api/generate", func(t *testing.T, b map[string]any) {
			want(t, b, "prompt", "// a.go\nvar x = 1\n\nfunc f() {\n\t")
			want(t, b, "suffix", "\n}\n")
			want(t, b, "stream", false)
			if o, _ := b["options"].(map[string]any); o == nil || o["num_predict"] != 8.0 {
				t.Errorf("options %v", b["options"])
			}
		}, `{"model":"m1","response":"return 1","done":true,"eval_count":3}`},
	}
	t.Setenv("REMOTE_TEST_KEY", "sekrit")
	for _, c := range cases {
		t.Run(c.api, func(t *testing.T) {
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/base"+c.path || r.Method != "POST" {
					t.Errorf("request %s %s", r.Method, r.URL.Path)
				}
				if r.Header.Get("Authorization") != "Bearer sekrit" {
					t.Errorf("Authorization %q", r.Header.Get("Authorization"))
				}
				var b map[string]any
				if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
					t.Fatal(err)
				}
				c.check(t, b)
				io.WriteString(w, c.answer)
			}))
			defer hs.Close()
			cl, err := New(Config{URL: hs.URL + "/base/", API: c.api, Model: "m1", APIKeyEnv: "REMOTE_TEST_KEY"})
			if err != nil {
				t.Fatal(err)
			}
			mids, err := cl.Fill(context.Background(), fillReq)
			if err != nil {
				t.Fatal(err)
			}
			if len(mids) != 1 || mids[0].Text != "return 1" || mids[0].Tokens != 3 || !mids[0].NoConfidence {
				t.Errorf("middles %+v", mids)
			}
		})
	}
}

func want(t *testing.T, b map[string]any, key string, v any) {
	t.Helper()
	if b[key] != v {
		t.Errorf("%s = %#v, want %#v", key, b[key], v)
	}
}

// TestDreamMiddles: an answer with dream.middles gives every length's
// middle with its confidences.
func TestDreamMiddles(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"choices":[{"text":"b"}],"dream":{"middles":[{"text":"a","tokens":1,"slot_mean":0.5,"token_mean":0.6,"token_min":0.6},{"text":"b","tokens":1,"slot_mean":0.7,"token_mean":0.8,"token_min":0.8}],"lengths":[4,8]}}`)
	}))
	defer hs.Close()
	cl, _ := New(Config{URL: hs.URL})
	mids, err := cl.Fill(context.Background(), fillReq)
	if err != nil || len(mids) != 2 || mids[1].TokenMean != 0.8 || mids[0].NoConfidence {
		t.Fatalf("%+v %v", mids, err)
	}
}

// TestCancelAbortsHTTP: cancelling the caller's context ends the HTTP
// request on the server's side too.
func TestCancelAbortsHTTP(t *testing.T) {
	aborted := make(chan struct{})
	entered := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // the server notices a closed connection once the body is read
		close(entered)
		select {
		case <-r.Context().Done():
			close(aborted)
		case <-time.After(10 * time.Second):
		}
	}))
	defer hs.Close()
	cl, _ := New(Config{URL: hs.URL, API: LlamaCpp})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := cl.Fill(ctx, fillReq); errc <- err }()
	<-entered
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Fill after cancel: %v", err)
	}
	select {
	case <-aborted:
	case <-time.After(5 * time.Second):
		t.Fatal("the server's request was not aborted")
	}
}

func TestTimeout(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer hs.Close()
	cl, _ := New(Config{URL: hs.URL, Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, err := cl.Fill(context.Background(), fillReq)
	if err == nil || !strings.Contains(err.Error(), "no answer within") || time.Since(start) > 3*time.Second {
		t.Errorf("err %v after %v (a timeout is not retried)", err, time.Since(start))
	}
}

// TestRetryRefused: a connection refused is retried with back-off, and
// succeeds once the server is up; a server that stays down is reported
// unreachable after the retries.
func TestRetryRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cl, _ := New(Config{URL: "http://" + addr, Retries: 2, Backoff: 20 * time.Millisecond})
	_, err = cl.Fill(context.Background(), fillReq)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("down server: %v", err)
	}
	if err := cl.Check(context.Background()); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Check on a down server: %v", err)
	}
	// Up after the first attempt.
	up := make(chan *http.Server, 1)
	var calls atomic.Int32
	go func() {
		time.Sleep(60 * time.Millisecond)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			up <- nil
			return
		}
		s := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			io.WriteString(w, `{"choices":[{"text":"ok"}]}`)
		})}
		up <- s
		s.Serve(l)
	}()
	cl, _ = New(Config{URL: "http://" + addr, Retries: 6, Backoff: 30 * time.Millisecond})
	mids, err := cl.Fill(context.Background(), fillReq)
	s := <-up
	if s == nil {
		t.Skip("the port was taken meanwhile; cannot restart the server on it")
	}
	defer s.Close()
	if err != nil || mids[0].Text != "ok" || calls.Load() != 1 {
		t.Errorf("after the server came up: %v %+v, %d calls", err, mids, calls.Load())
	}
}

// TestRetryAfter: 503 with Retry-After is retried after the wait; 500, a
// 503 without Retry-After and a connection dropped after sending are not.
func TestRetryAfter(t *testing.T) {
	cases := []struct {
		name    string
		first   func(w http.ResponseWriter)
		calls   int32
		wantErr string
	}{
		{"503 retry-after", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(503)
			io.WriteString(w, `{"error":{"message":"queue full"}}`)
		}, 2, ""},
		{"429 retry-after", func(w http.ResponseWriter) { w.Header().Set("Retry-After", "0"); w.WriteHeader(429) }, 2, ""},
		{"503 retry-after too long", func(w http.ResponseWriter) { w.Header().Set("Retry-After", "3600"); w.WriteHeader(503) }, 1, "HTTP 503"},
		{"503 bare", func(w http.ResponseWriter) { w.WriteHeader(503) }, 1, "HTTP 503"},
		{"500", func(w http.ResponseWriter) { w.WriteHeader(500); io.WriteString(w, `{"error":"boom"}`) }, 1, "HTTP 500: boom"},
		{"dropped", func(w http.ResponseWriter) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}, 1, "EOF"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var calls atomic.Int32
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					c.first(w)
					return
				}
				io.WriteString(w, `{"choices":[{"text":"ok"}]}`)
			}))
			defer hs.Close()
			cl, _ := New(Config{URL: hs.URL, Retries: 3})
			mids, err := cl.Fill(context.Background(), fillReq)
			if calls.Load() != c.calls {
				t.Errorf("%d calls, want %d", calls.Load(), c.calls)
			}
			if c.wantErr == "" {
				if err != nil || mids[0].Text != "ok" {
					t.Errorf("%v %+v", err, mids)
				}
			} else if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("err %v, want %q", err, c.wantErr)
			}
		})
	}
}

// TestConfig: bad settings are errors naming the setting; the key never
// shows in them.
func TestConfig(t *testing.T) {
	t.Setenv("REMOTE_TEST_KEY", "sekrit")
	for _, c := range []Config{{URL: "ftp://x"}, {URL: "localhost:8080"}, {URL: "http://x", API: "grpc"}, {URL: "http://x", APIKeyEnv: "REMOTE_SURELY_UNSET"}} {
		if _, err := New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		io.WriteString(w, `{"error":{"message":"bad key"}}`)
	}))
	defer hs.Close()
	cl, _ := New(Config{URL: hs.URL, APIKeyEnv: "REMOTE_TEST_KEY"})
	_, err := cl.Fill(context.Background(), fillReq)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 401 || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("err %v", err)
	}
}

// TestStreamSingleLine: a single-line request streams in every shape; the
// client takes the pieces as they come, stops at the first line break
// after some text and closes the connection, so the server stops
// generating.
func TestStreamSingleLine(t *testing.T) {
	cases := []struct {
		api    string
		events []string
	}{
		{LlamaCpp, []string{`data: {"content":"go","stop":false}`, `data: {"content":" f(","stop":false}`, `data: {"content":")\n","stop":false}`}},
		{OpenAI, []string{`data: {"choices":[{"text":"go"}]}`, `: keep-alive`, `data: {"choices":[{"text":" f()"}]}`, `data: {"choices":[{"text":"\nmore"}]}`}},
		{Mistral, []string{`data: {"choices":[{"delta":{"role":"assistant","content":"go"}}]}`, `data: {"choices":[{"delta":{"content":" f()\n"}}]}`}},
		{Ollama, []string{`{"response":"go","done":false}`, `{"response":" f()","done":false}`, `{"response":"\n","done":false}`}},
	}
	for _, c := range cases {
		t.Run(c.api, func(t *testing.T) {
			aborted := make(chan struct{})
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var b map[string]any
				json.NewDecoder(r.Body).Decode(&b)
				if b["stream"] != true {
					t.Errorf("stream = %v for a single-line request", b["stream"])
				}
				for _, e := range c.events {
					io.WriteString(w, e+"\n\n")
					w.(http.Flusher).Flush()
				}
				// A FIM server would go on generating lines until told to stop.
				for {
					select {
					case <-r.Context().Done():
						close(aborted)
						return
					case <-time.After(20 * time.Millisecond):
						io.WriteString(w, c.events[0]+"\n\n")
						w.(http.Flusher).Flush()
					}
				}
			}))
			defer hs.Close()
			cl, _ := New(Config{URL: hs.URL, API: c.api})
			req := fillReq
			req.SingleLine = true
			mids, err := cl.Fill(context.Background(), req)
			if err != nil || len(mids) != 1 || strings.TrimRight(mids[0].Text, "\n") != "go f()" && !strings.HasPrefix(mids[0].Text, "go f()\n") {
				t.Fatalf("%+v %v", mids, err)
			}
			select {
			case <-aborted:
			case <-time.After(5 * time.Second):
				t.Fatal("the client kept reading the stream after the first line")
			}
		})
	}
}

// TestStaleConnection: a kept-alive connection that the server drops
// under the next request is retried once on a new connection, even with
// retries off; a fresh connection dropped the same way is not (see
// TestRetryAfter "dropped").
func TestStaleConnection(t *testing.T) {
	var calls atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		if calls.Add(1) == 2 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close() // the second request arrives on the kept-alive connection, which dies
			return
		}
		io.WriteString(w, `{"choices":[{"text":"ok"}]}`)
	}))
	defer hs.Close()
	cl, _ := New(Config{URL: hs.URL, Retries: -1})
	for i := 0; i < 2; i++ {
		mids, err := cl.Fill(context.Background(), fillReq)
		if err != nil || mids[0].Text != "ok" {
			t.Fatalf("request %d: %+v %v", i, mids, err)
		}
	}
	if calls.Load() != 3 {
		t.Errorf("%d calls, want 3 (the second retried once on a new connection)", calls.Load())
	}
}
