package lsp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/lsp"
	"github.com/dream-lsp/dream-lsp/lsp/lsptest"
)

// blockingFill is an engine whose FillHoles waits for release before
// answering Echo's edits on the text it was given. With ignoreCtx it keeps
// waiting after its context is cancelled (a model that does not notice
// cancellation), so the server's last check before sending is what stops
// a stale edit.
type blockingFill struct {
	lsptest.Echo
	ignoreCtx bool
	started   chan struct{}
	release   chan struct{}
}

func newBlockingFill(ignoreCtx bool) *blockingFill {
	return &blockingFill{ignoreCtx: ignoreCtx, started: make(chan struct{}, 8), release: make(chan struct{})}
}

func (b *blockingFill) FillHoles(ctx context.Context, req infill.HolesRequest) ([]infill.Edit, error) {
	b.started <- struct{}{}
	if b.ignoreCtx {
		<-b.release
	} else {
		select {
		case <-b.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return (&lsptest.Echo{}).FillHoles(context.Background(), req)
}

// TestFillHolesNeverEditsStaleText runs dream.fillHoles on a slow engine
// and, while it runs, changes the document in ways that keep its version:
// no workspace/applyEdit may reach the client, and the command answers
// ContentModified. The control case (nothing changes) must send the edit,
// so the test can fail.
func TestFillHolesNeverEditsStaleText(t *testing.T) {
	const text = "a := /*?*/\nb := /*?*/\n"
	const other = "x := 1 /*?*/ /*?*/\n// another file reopened at version 1\n"
	change := func(ctx context.Context, c *lsptest.Client, version int, edit string) error {
		return c.Notify(ctx, "textDocument/didChange", map[string]any{
			"textDocument":   map[string]any{"uri": goURI, "version": version},
			"contentChanges": []any{map[string]any{"range": lsptest.Range(0, 0, 0, 0), "text": edit}},
		})
	}
	tests := []struct {
		name   string
		during func(ctx context.Context, c *lsptest.Client) error
		stale  bool
	}{
		{"unchanged (control)", func(context.Context, *lsptest.Client) error { return nil }, false},
		{"closed and reopened at version 1 with other text", func(ctx context.Context, c *lsptest.Client) error {
			if err := c.Notify(ctx, "textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": goURI}}); err != nil {
				return err
			}
			return c.Open(ctx, goURI, "go", other)
		}, true},
		{"closed and reopened with the same text", func(ctx context.Context, c *lsptest.Client) error {
			if err := c.Notify(ctx, "textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": goURI}}); err != nil {
				return err
			}
			return c.Open(ctx, goURI, "go", text)
		}, true},
		{"a change that keeps the version", func(ctx context.Context, c *lsptest.Client) error {
			return change(ctx, c, 1, "// new first line\n")
		}, true},
		{"a change and its undo", func(ctx context.Context, c *lsptest.Client) error {
			if err := change(ctx, c, 2, "z"); err != nil {
				return err
			}
			return c.Notify(ctx, "textDocument/didChange", map[string]any{
				"textDocument":   map[string]any{"uri": goURI, "version": 3},
				"contentChanges": []any{map[string]any{"range": lsptest.Range(0, 0, 0, 1), "text": ""}},
			})
		}, true},
		{"closed", func(ctx context.Context, c *lsptest.Client) error {
			return c.Notify(ctx, "textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": goURI}})
		}, true},
	}
	for _, ignoreCtx := range []bool{false, true} {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/ignoreCtx=%v", tc.name, ignoreCtx), func(t *testing.T) {
				ctx := timeout(t)
				eng := newBlockingFill(ignoreCtx)
				c := startOptions(t, lsp.Options{Logger: testLogger(t), Load: lsptest.Loader(eng), Settings: quiet()}, map[string]any{"workspace": map[string]any{"applyEdit": true}})
				if err := c.Open(ctx, goURI, "go", text); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() {
					done <- c.Call(ctx, "workspace/executeCommand", map[string]any{"command": lsp.CommandFillHoles,
						"arguments": []any{map[string]any{"uri": goURI}}}, nil)
				}()
				select {
				case <-eng.started:
				case <-ctx.Done():
					t.Fatal("fill never started")
				}
				if err := tc.during(ctx, c); err != nil {
					t.Fatal(err)
				}
				// A round trip: the server has handled the notifications above.
				if err := c.Call(ctx, "workspace/executeCommand", map[string]any{"command": lsp.CommandStatus}, nil); err != nil {
					t.Fatal(err)
				}
				close(eng.release)
				err := <-done
				edits := c.Edits()
				if !tc.stale {
					if err != nil || len(edits) != 1 {
						t.Fatalf("control: err %v, %d applyEdit calls; want the edit", err, len(edits))
					}
					return
				}
				if len(edits) != 0 {
					t.Fatalf("stale edit sent: %s", edits[0])
				}
				if code := lsptest.ErrorCode(err); code != -32801 {
					t.Fatalf("fillHoles answered %v (code %d), want ContentModified (-32801)", err, code)
				}
			})
		}
	}
}

// TestFillHolesVersionedEdits: a client that supports documentChanges gets
// the edit with the version it was computed on.
func TestFillHolesVersionedEdits(t *testing.T) {
	ctx := timeout(t)
	caps := map[string]any{"workspace": map[string]any{"applyEdit": true, "workspaceEdit": map[string]any{"documentChanges": true}}}
	c := startOptions(t, lsp.Options{Logger: testLogger(t), Load: lsptest.Loader(&lsptest.Echo{}), Settings: quiet()}, caps)
	if err := c.Notify(ctx, "textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": goURI, "languageId": "go", "version": 7, "text": "x := /*?*/\n"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, "workspace/executeCommand", map[string]any{"command": lsp.CommandFillHoles,
		"arguments": []any{map[string]any{"uri": goURI}}}, nil); err != nil {
		t.Fatal(err)
	}
	edits := c.Edits()
	if len(edits) != 1 {
		t.Fatalf("%d applyEdit calls", len(edits))
	}
	var p struct {
		Edit struct {
			DocumentChanges []struct {
				TextDocument struct {
					URI     string
					Version int
				}
				Edits []struct{ NewText string }
			}
		}
	}
	if err := json.Unmarshal(edits[0], &p); err != nil || len(p.Edit.DocumentChanges) != 1 {
		t.Fatalf("%s: %v", edits[0], err)
	}
	dc := p.Edit.DocumentChanges[0]
	if dc.TextDocument.URI != goURI || dc.TextDocument.Version != 7 || len(dc.Edits) != 1 || dc.Edits[0].NewText != "hole0" {
		t.Fatalf("documentChanges = %s", edits[0])
	}
}

// TestSyncLimit: documents over MaxSyncBytes are refused with a message
// and not kept; the session and the other documents go on.
func TestSyncLimit(t *testing.T) {
	ctx := timeout(t)
	echo := &lsptest.Echo{}
	c := startOptions(t, lsp.Options{Logger: testLogger(t), Load: lsptest.Loader(echo), Settings: quiet(), MaxSyncBytes: 1 << 10}, nil)
	big := "file:///w/big.go"
	if err := c.Open(ctx, big, "go", strings.Repeat("x", 2<<10)); err != nil {
		t.Fatal(err)
	}
	tooLarge := func(n lsptest.Notification) bool {
		return n.Method == "window/showMessage" && strings.Contains(string(n.Params), "too large to follow")
	}
	if _, err := c.WaitNotification(ctx, tooLarge); err != nil {
		t.Fatal(err)
	}
	if items, err := c.InlineCompletion(ctx, big, 0, 5, 1); err != nil || len(items) != 0 {
		t.Fatalf("completion in a refused document: %v, %v", items, err)
	}
	// A document that grows past the limit is dropped.
	if err := c.Open(ctx, goURI, "go", "abc\n"); err != nil {
		t.Fatal(err)
	}
	if items, err := c.InlineCompletion(ctx, goURI, 0, 3, 1); err != nil || len(items) == 0 {
		t.Fatalf("completion in a small document: %v, %v", items, err)
	}
	if err := c.Change(ctx, goURI, 2, 0, 0, 0, 0, strings.Repeat("y", 1100)); err != nil {
		t.Fatal(err)
	}
	if items, err := c.InlineCompletion(ctx, goURI, 0, 3, 1); err != nil || len(items) != 0 {
		t.Fatalf("completion after growing past the limit: %v, %v", items, err)
	}
	// The session goes on.
	if err := c.Open(ctx, "file:///w/ok.go", "go", "abc\n"); err != nil {
		t.Fatal(err)
	}
	if items, err := c.InlineCompletion(ctx, "file:///w/ok.go", 0, 3, 1); err != nil || len(items) == 0 {
		t.Fatalf("completion after refusals: %v, %v", items, err)
	}
}

// TestSelectedCompletionInfoLimits: the popup's selected text is held to
// the document limits (size and NUL) before the engine sees it.
func TestSelectedCompletionInfoLimits(t *testing.T) {
	ctx := timeout(t)
	echo := &lsptest.Echo{}
	c := startOptions(t, lsp.Options{Logger: testLogger(t), Load: lsptest.Loader(echo), Settings: quiet(), MaxDocumentBytes: 1 << 10}, nil)
	if err := c.Open(ctx, goURI, "go", "strings.Sp\n"); err != nil {
		t.Fatal(err)
	}
	for name, sel := range map[string]string{"too large": "Split" + strings.Repeat("x", 2<<10), "NUL": "Spl\x00it"} {
		var res struct{ Items []lsptest.InlineItem }
		err := c.Call(ctx, "textDocument/inlineCompletion", map[string]any{
			"textDocument": map[string]any{"uri": goURI},
			"position":     map[string]any{"line": 0, "character": 10},
			"context": map[string]any{"triggerKind": 1, "selectedCompletionInfo": map[string]any{
				"range": lsptest.Range(0, 8, 0, 10), "text": sel}},
		}, &res)
		if err != nil || len(res.Items) != 0 {
			t.Errorf("%s selection: %+v, %v; want an empty answer", name, res, err)
		}
	}
	if n := echo.Calls(); n != 0 {
		t.Fatalf("engine called %d times with a refused selection", n)
	}
	if items, err := c.InlineCompletion(ctx, goURI, 0, 10, 1); err != nil || len(items) == 0 {
		t.Fatalf("plain completion afterwards: %v, %v", items, err)
	}
}

// TestConfigurationNeverAnswered: a client that advertises
// workspace/configuration but never answers it still gets a loaded model,
// with the defaults, soon after the 2 s timeout.
func TestConfigurationNeverAnswered(t *testing.T) {
	ctx := timeout(t)
	serverEnd, clientEnd := net.Pipe()
	srv := lsp.New(lsp.Options{Logger: testLogger(t), Load: lsptest.Loader(&lsptest.Echo{}), Settings: quiet()})
	sctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { _ = srv.Serve(sctx, serverEnd); close(served) }()
	t.Cleanup(func() { cancel(); clientEnd.Close(); <-served })

	ready := make(chan struct{})
	var once sync.Once
	conn := jsonrpc2.NewConn(jsonrpc2.NewHeaderStream(clientEnd))
	conn.Go(sctx, func(ctx context.Context, req *jsonrpc2.Request) (any, error) {
		switch {
		case req.Method() == "workspace/configuration":
			jsonrpc2.Async(ctx)
			<-sctx.Done() // never answers
			return nil, sctx.Err()
		case req.Method() == lsp.MethodStatus && strings.Contains(string(req.Params()), `"ready"`):
			once.Do(func() { close(ready) })
		case req.IsCall():
			return nil, nil
		}
		return nil, nil
	})
	start := time.Now()
	var res json.RawMessage
	if _, err := conn.Call(ctx, "initialize", json.RawMessage(`{"processId":null,"rootUri":null,"capabilities":{"workspace":{"configuration":true}}}`), &res); err != nil {
		t.Fatal(err)
	}
	if err := conn.Notify(ctx, "initialized", json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ready:
		took := time.Since(start)
		t.Logf("ready %v after initialize with configuration unanswered", took)
		if took > 5*time.Second {
			t.Errorf("model ready only after %v", took)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("model never loaded while workspace/configuration went unanswered")
	}
}

// framedClient speaks LSP framing over a pipe, so a test sees replies in the
// order the server wrote them.
type framedClient struct {
	w io.Writer
	r *bufio.Reader
}

func (c *framedClient) send(t *testing.T, msg string) {
	t.Helper()
	if _, err := fmt.Fprintf(c.w, "Content-Length: %d\r\n\r\n%s", len(msg), msg); err != nil {
		t.Fatal(err)
	}
}

func (c *framedClient) read() (map[string]json.RawMessage, error) {
	n := -1
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		line = strings.TrimSpace(line)
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			n, _ = strconv.Atoi(v)
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	return m, json.Unmarshal(body, &m)
}

// readReply reads messages until the reply with the given id.
func (c *framedClient) readReply(t *testing.T, ids ...string) (order []string, replies map[string]map[string]json.RawMessage) {
	t.Helper()
	replies = map[string]map[string]json.RawMessage{}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for len(want) > 0 {
		m, err := c.read()
		if err != nil {
			t.Fatalf("reading replies: %v (still waiting for %v)", err, want)
		}
		if _, isReq := m["method"]; isReq {
			if id, ok := m["id"]; ok { // a server request: answer null
				c.send(t, `{"jsonrpc":"2.0","id":`+string(id)+`,"result":null}`)
			}
			continue
		}
		id := string(m["id"])
		order = append(order, id)
		replies[id] = m
		delete(want, id)
	}
	return order, replies
}

// TestShutdownAnswersInFlightFirst: requests still running when shutdown
// arrives are answered (RequestCancelled) before shutdown itself.
func TestShutdownAnswersInFlightFirst(t *testing.T) {
	gate := lsptest.NewGate("BLOCK")
	serverEnd, clientEnd := net.Pipe()
	srv := lsp.New(lsp.Options{Logger: testLogger(t), Load: lsptest.Loader(gate), Settings: quiet()})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), serverEnd) }()
	t.Cleanup(func() { gate.Release(); clientEnd.Close() })
	c := &framedClient{w: clientEnd, r: bufio.NewReader(clientEnd)}
	c.send(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"processId":null,"rootUri":null,"capabilities":{}}}`)
	c.readReply(t, "1")
	c.send(t, `{"jsonrpc":"2.0","method":"initialized","params":{}}`)
	c.send(t, `{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///a.go","languageId":"go","version":1,"text":"BLOCK abc\n"}}}`)
	// Wait for the model to be ready: a completion answered with items.
	for i := 0; ; i++ {
		c.send(t, `{"jsonrpc":"2.0","id":"probe`+strconv.Itoa(i)+`","method":"workspace/executeCommand","params":{"command":"dream.status"}}`)
		_, r := c.readReply(t, `"probe`+strconv.Itoa(i)+`"`)
		if strings.Contains(string(r[`"probe`+strconv.Itoa(i)+`"`]["result"]), `"ready"`) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := 10; i < 13; i++ {
		c.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"textDocument/inlineCompletion","params":{"textDocument":{"uri":"file:///a.go"},"position":{"line":0,"character":9},"context":{"triggerKind":1}}}`, i))
	}
	select {
	case <-gate.Started:
	case <-time.After(10 * time.Second):
		t.Fatal("completion never reached the engine")
	}
	c.send(t, `{"jsonrpc":"2.0","id":99,"method":"shutdown"}`)
	order, replies := c.readReply(t, "10", "11", "12", "99")
	if order[len(order)-1] != "99" {
		t.Fatalf("reply order %v: shutdown answered before the requests in flight", order)
	}
	for _, id := range []string{"10", "11", "12"} {
		if e := replies[id]["error"]; !strings.Contains(string(e), "-32800") {
			t.Errorf("request %s: %s, want RequestCancelled", id, replies[id])
		}
	}
	c.send(t, `{"jsonrpc":"2.0","method":"exit"}`)
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve = %v after shutdown and exit", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after exit")
	}
}

// TestManyEditsDoNotBlock: one didChange with 10,000 edits on a 1 MB
// document is applied in well under a second, so the request after it is
// not held up (it took 16-21 s when each edit copied the whole text), and
// the document is right afterwards.
func TestManyEditsDoNotBlock(t *testing.T) {
	ctx := timeout(t)
	c := startReady(t, &lsptest.Echo{}, quiet())
	var sb strings.Builder
	for i := 0; sb.Len() < 1<<20; i++ {
		fmt.Fprintf(&sb, "\tvalue%d := compute(%d) // 😀 line of about a hundred bytes, CRLF-free, to make a megabyte\n", i, i)
	}
	text := sb.String()
	if err := c.Open(ctx, goURI, "go", text); err != nil {
		t.Fatal(err)
	}
	changes := make([]any, 10000)
	for i := range changes {
		changes[i] = map[string]any{"range": lsptest.Range(i, 0, i, 1), "text": "x"} // replace the tab of line i
	}
	start := time.Now()
	if err := c.Notify(ctx, "textDocument/didChange", map[string]any{
		"textDocument": map[string]any{"uri": goURI, "version": 2}, "contentChanges": changes}); err != nil {
		t.Fatal(err)
	}
	items, err := c.InlineCompletion(ctx, goURI, 9999, 6, 1) // after "xvalue"
	took := time.Since(start)
	if err != nil || len(items) == 0 || !strings.Contains(items[0].InsertText, "echo0(xvalue") {
		t.Fatalf("completion after the edits: %+v, %v", items, err)
	}
	t.Logf("10,000 edits on %d bytes, then a completion: %v", len(text), took)
	if took > 3*time.Second {
		t.Fatalf("the request after 10,000 edits waited %v", took)
	}
}

// vmRSS returns the process's resident set size in kB (Linux).
func vmRSS(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// TestClosedHugeDocumentFreed: the memory of a closed 60 MB document goes
// back to the system, not only to the Go heap. Long mode only
// (DREAM_LSP_LOAD=long): it moves 60 MB through a pipe.
func TestClosedHugeDocumentFreed(t *testing.T) {
	if os.Getenv("DREAM_LSP_LOAD") != "long" {
		t.Skip("long mode only: DREAM_LSP_LOAD=long")
	}
	ctx := timeout(t)
	c := startReady(t, &lsptest.Echo{}, quiet())
	runtime.GC()
	debug.FreeOSMemory()
	before := vmRSS(t)
	text := strings.Repeat("x := 1 // some text to fill sixty megabytes\n", (60<<20)/44)
	if err := c.Open(ctx, goURI, "go", text); err != nil {
		t.Fatal(err)
	}
	text = ""
	if err := c.Call(ctx, "workspace/executeCommand", map[string]any{"command": lsp.CommandStatus}, nil); err != nil {
		t.Fatal(err)
	}
	open := vmRSS(t)
	if err := c.Notify(ctx, "textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": goURI}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, "workspace/executeCommand", map[string]any{"command": lsp.CommandStatus}, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	closed := vmRSS(t)
	t.Logf("RSS: %d MB before, %d MB with the 60 MB document open, %d MB 1 s after closing it", before>>10, open>>10, closed>>10)
	if closed > before+(open-before)/2 {
		t.Fatalf("RSS %d kB after close: less than half of the %d kB the document took was returned", closed, open-before)
	}
}
