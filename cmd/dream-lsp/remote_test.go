package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/infill/api/apitest"
	"github.com/dream-lsp/dream-lsp/internal/testenv"
	"github.com/dream-lsp/dream-lsp/lsp"
	"github.com/dream-lsp/dream-lsp/lsp/lsptest"
	"github.com/dream-lsp/dream-lsp/lsp/settings"
)

// remoteSettings are quick test settings, remote or in-process.
func remoteSettings(url, api string) settings.Options {
	o := settings.Default()
	o.DebounceMs, o.DeadlineMs, o.MinConfidence = 0, 20000, 0
	o.Remote = settings.Remote{URL: url, API: api}
	return o
}

func startLSP(t *testing.T, opts settings.Options) *lsptest.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := lsptest.Start(t, lsp.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Load: openServeEngine, Settings: opts, Version: "test"})
	if _, err := c.Initialize(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// builtinAPI serves the built-in model as `dream-lsp api` does.
func builtinAPI(t *testing.T) *httptest.Server {
	t.Helper()
	hs, _ := apitest.Builtin(t, 0)
	return hs
}

// TestServeRemoteSameAsInProcess: the language server with the remote
// setting pointing at dream-lsp api (built-in model) answers every inline
// completion exactly as the language server with the model in-process,
// for the same settings.
func TestServeRemoteSameAsInProcess(t *testing.T) {
	hs := builtinAPI(t)
	doc := "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() {\n\tdata, err := os.ReadFile(\"config.json\")\n\n\tfmt.Println(string(data))\n}\n\nfunc sum(xs []int) int {\n\ttotal := 0\n\tfor _, x := range xs {\n\t\t\n\t}\n\treturn total\n}\n"
	positions := [][2]int{{9, 0}, {16, 2}, {8, 1}, {14, 1}}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var got [2][]string
	for i, opts := range []settings.Options{remoteSettings("", "openai"), remoteSettings(hs.URL, "openai")} {
		c := startLSP(t, opts)
		if err := c.Open(ctx, "file:///w/main.go", "go", doc); err != nil {
			t.Fatal(err)
		}
		for _, p := range positions {
			items, err := c.InlineCompletion(ctx, "file:///w/main.go", p[0], p[1], 1)
			if err != nil {
				t.Fatalf("run %d at %v: %v", i, p, err)
			}
			var texts []string
			for _, it := range items {
				texts = append(texts, it.InsertText)
			}
			got[i] = append(got[i], strings.Join(texts, "\x00"))
		}
	}
	nonEmpty := 0
	for k := range positions {
		if got[0][k] != got[1][k] {
			t.Errorf("at %v: in-process %q, remote %q", positions[k], got[0][k], got[1][k])
		}
		if got[0][k] != "" {
			nonEmpty++
		}
	}
	if nonEmpty == 0 {
		t.Error("no completion at any position: the comparison proves nothing")
	}
	t.Logf("completions: %q", got[0])
}

// statusOfClient returns the last dream/status notification.
func lastStatus(c *lsptest.Client) lsp.Status {
	var st lsp.Status
	for _, n := range c.Notifications() {
		if n.Method == lsp.MethodStatus {
			json.Unmarshal(n.Params, &st)
		}
	}
	return st
}

// TestServeRemoteLlamaServer: the language server with the remote setting
// pointing at Debian's llama-server (through a recording proxy) shows the
// server's middle as an inline completion, with the llamacpp and openai
// adapters; a cancelled request aborts its HTTP call; with the server down
// the status says so and completions are empty while document sync still
// answers; when the server is back completions resume.
func TestServeRemoteLlamaServer(t *testing.T) {
	root, _ := filepath.Abs("../../infill/remote/.llama")
	bin := filepath.Join(root, "llama-server")
	if _, err := os.Stat(bin); err != nil {
		testenv.Missingf(t, "llama-server not unpacked (bash infill/remote/testdata/fetch-llama.sh): %v", err)
	}
	model := filepath.Join(t.TempDir(), "tiny.gguf")
	py := exec.Command("/usr/bin/python3", "../../infill/remote/testdata/tinyqwen.py", model)
	py.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(root, "root/usr/lib/python3/dist-packages"))
	if out, err := py.CombinedOutput(); err != nil {
		testenv.Missingf(t, "writing the GGUF with Debian's python3-gguf: %v\n%s", err, out)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	host, port, _ := net.SplitHostPort(addr)
	var server *exec.Cmd
	start := func() {
		server = exec.Command(bin, "-m", model, "--host", host, "--port", port, "-t", "1", "-c", "1024", "--no-webui")
		if err := server.Start(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 300; i++ {
			if r, err := http.Get("http://" + addr + "/health"); err == nil {
				r.Body.Close()
				if r.StatusCode == 200 {
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("llama-server did not start")
	}
	stop := func() { server.Process.Kill(); server.Wait() }
	start()
	defer func() { stop() }()

	// A proxy in front records requests the client aborted; a request
	// holding the marker waits there until its client goes away.
	target, _ := url.Parse("http://" + addr)
	var aborted atomic.Int32
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "HOLD") {
			<-r.Context().Done()
			aborted.Add(1)
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		r.ContentLength = int64(len(body))
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	const uri = "file:///w/g.go"
	doc := "package p\n\nfunc f() {}\n\nfunc g() {\n\t\n}\n"
	for _, a := range []string{"llamacpp", "openai"} {
		c := startLSP(t, remoteSettings(proxy.URL, a))
		if err := c.Open(ctx, uri, "go", doc); err != nil {
			t.Fatal(err)
		}
		items, err := c.InlineCompletion(ctx, uri, 5, 1, 1)
		if err != nil || len(items) == 0 || items[0].InsertText != "go f()" {
			t.Fatalf("%s: items %+v, %v; want go f()", a, items, err)
		}
		if st := lastStatus(c); st.Backend != "remote" {
			t.Errorf("%s: status %+v", a, st)
		}
	}

	c := startLSP(t, remoteSettings(proxy.URL, "llamacpp"))
	c.Open(ctx, uri, "go", doc)
	// Superseded: a request whose text holds HOLD waits at the proxy; the
	// text changes and a newer request for the document replaces it; the
	// proxy sees the first HTTP request aborted, the second is answered.
	const huri = "file:///w/h.go"
	c.Open(ctx, huri, "go", "package p\n\n// HOLD\nfunc g() {\n\t\n}\n")
	first := make(chan error, 1)
	go func() { _, err := c.InlineCompletion(ctx, huri, 4, 1, 1); first <- err }()
	time.Sleep(300 * time.Millisecond)
	c.Change(ctx, huri, 2, 2, 3, 2, 7, "HELD")
	items, err := c.InlineCompletion(ctx, huri, 4, 1, 1)
	if err != nil || len(items) == 0 || items[0].InsertText != "go f()" {
		t.Errorf("the newer request: %+v %v", items, err)
	}
	if err := <-first; err == nil || lsptest.ErrorCode(err) != -32800 {
		t.Errorf("the superseded request: %v, want RequestCancelled", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for aborted.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if aborted.Load() != 1 {
		t.Errorf("the superseded request's HTTP call was not aborted (%d aborted)", aborted.Load())
	}

	// Server down (no proxy in between): empty answers, status error
	// naming the problem, document sync unaffected.
	c = startLSP(t, remoteSettings("http://"+addr, "llamacpp"))
	c.Open(ctx, uri, "go", doc)
	if items, err := c.InlineCompletion(ctx, uri, 5, 1, 1); err != nil || len(items) == 0 {
		t.Fatalf("direct: %+v %v", items, err)
	}
	c.Change(ctx, uri, 2, 5, 1, 5, 1, "\n\t")
	stop()
	items, err = c.InlineCompletion(ctx, uri, 5, 1, 1)
	if err != nil || len(items) != 0 {
		t.Errorf("server down: %+v %v", items, err)
	}
	if st := lastStatus(c); st.State != lsp.StateError || !strings.Contains(st.Message, "unreachable") {
		t.Errorf("server down: status %+v", st)
	}
	t0 := time.Now()
	c.Change(ctx, uri, 3, 5, 1, 5, 1, "x")
	var st json.RawMessage
	if err := c.Call(ctx, "workspace/executeCommand", map[string]any{"command": "dream.status"}, &st); err != nil || time.Since(t0) > time.Second {
		t.Errorf("sync and status with the server down: %v after %v", err, time.Since(t0))
	}
	c.Change(ctx, uri, 4, 5, 1, 5, 2, "")
	// Back: completions resume and the status is ready again.
	start()
	items, err = c.InlineCompletion(ctx, uri, 5, 1, 1)
	if err != nil || len(items) == 0 || items[0].InsertText != "go f()" {
		t.Errorf("server back: %+v %v", items, err)
	}
	if st := lastStatus(c); st.State != lsp.StateReady {
		t.Errorf("server back: status %+v", st)
	}
}

// TestServeRemoteFlag: --remote takes an http(s) URL; anything else is a
// usage error before the server starts.
func TestServeRemoteFlag(t *testing.T) {
	var out, errb strings.Builder
	for _, bad := range []string{"gpu:8080", "ftp://x", "http://"} {
		if code := mainExit([]string{"serve", "--remote", bad}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--remote") {
			t.Errorf("--remote %s: exit %d, stderr %q", bad, code, errb.String())
		}
	}
}
