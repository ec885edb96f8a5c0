package lsp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dream-lsp/dream-lsp/lsp"
	"github.com/dream-lsp/dream-lsp/lsp/lsptest"
	"github.com/dream-lsp/dream-lsp/lsp/settings"
)

const goURI = "file:///w/main.go"

// goSource has its cursor (for the tests that use it) at line 5, after
// "fmt.Pri" inside a call whose ")" the editor auto-closed.
const goSource = "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Pri)\n\tx := 1\n\t_ = x\n}\n"

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// quiet settings: no debounce, so tests do not wait for it.
func quiet() settings.Options {
	o := settings.Default()
	o.DebounceMs = 0
	o.DeadlineMs = 10000
	return o
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startOptions starts a server with opts for a client declaring caps and
// waits until it reports ready.
func startOptions(t *testing.T, opts lsp.Options, caps any) *lsptest.Client {
	t.Helper()
	ctx := timeout(t)
	c := lsptest.Start(t, opts)
	if _, err := c.Initialize(ctx, caps, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// startReady starts a server with engine and waits until it reports ready.
func startReady(t *testing.T, engine lsp.Engine, opts settings.Options) *lsptest.Client {
	t.Helper()
	return startOptions(t, lsp.Options{Logger: testLogger(t), Load: lsptest.Loader(engine), Settings: opts, Version: "test"}, nil)
}

func TestLifecycle(t *testing.T) {
	ctx := timeout(t)
	c := lsptest.Start(t, lsp.Options{Logger: testLogger(t), Load: lsptest.Loader(&lsptest.Echo{}), Settings: quiet()})

	// Requests before initialize are refused with ServerNotInitialized.
	_, err := c.InlineCompletion(ctx, goURI, 0, 0, 2)
	if got := lsptest.ErrorCode(err); got != -32002 {
		t.Fatalf("request before initialize: code %d (%v), want -32002", got, err)
	}

	res, err := c.Initialize(ctx, map[string]any{"general": map[string]any{"positionEncodings": []string{"utf-16"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var init struct {
		Capabilities struct {
			PositionEncoding         string          `json:"positionEncoding"`
			TextDocumentSync         json.RawMessage `json:"textDocumentSync"`
			InlineCompletionProvider bool            `json:"inlineCompletionProvider"`
			CompletionProvider       json.RawMessage `json:"completionProvider"`
			CodeActionProvider       json.RawMessage `json:"codeActionProvider"`
			ExecuteCommandProvider   struct {
				Commands []string `json:"commands"`
			} `json:"executeCommandProvider"`
		} `json:"capabilities"`
		ServerInfo struct{ Name, Version string } `json:"serverInfo"`
	}
	if err := json.Unmarshal(res, &init); err != nil {
		t.Fatal(err)
	}
	caps := init.Capabilities
	if caps.PositionEncoding != "utf-16" || !caps.InlineCompletionProvider || caps.CompletionProvider == nil || caps.CodeActionProvider == nil {
		t.Errorf("capabilities = %s", res)
	}
	if string(caps.TextDocumentSync) != `{"openClose":true,"change":2}` {
		t.Errorf("textDocumentSync = %s, want incremental", caps.TextDocumentSync)
	}
	if diff := cmp.Diff(lsp.Commands, caps.ExecuteCommandProvider.Commands); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	if init.ServerInfo.Name != "dream-lsp" {
		t.Errorf("serverInfo = %+v", init.ServerInfo)
	}
	if err := c.Call(ctx, "initialize", map[string]any{"capabilities": map[string]any{}}, nil); lsptest.ErrorCode(err) != -32600 {
		t.Errorf("second initialize: %v, want InvalidRequest", err)
	}
	if err := c.Call(ctx, "shutdown", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.InlineCompletion(ctx, goURI, 0, 0, 2); lsptest.ErrorCode(err) != -32600 {
		t.Errorf("request after shutdown: %v, want InvalidRequest", err)
	}
	if err := c.Notify(ctx, "exit", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.ServeErr(ctx); err != nil {
		t.Fatalf("Serve after shutdown+exit = %v, want nil", err)
	}
}

func TestExitWithoutShutdown(t *testing.T) {
	ctx := timeout(t)
	c := lsptest.Start(t, lsp.Options{Logger: testLogger(t), Settings: quiet()})
	if _, err := c.Initialize(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Notify(ctx, "exit", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.ServeErr(ctx); !errors.Is(err, lsp.ErrExitWithoutShutdown) {
		t.Fatalf("Serve = %v, want ErrExitWithoutShutdown", err)
	}
}

func TestPositionEncodingUTF8(t *testing.T) {
	ctx := timeout(t)
	c := lsptest.Start(t, lsp.Options{Logger: testLogger(t), Load: lsptest.Loader(&lsptest.Echo{}), Settings: quiet()})
	res, err := c.Initialize(ctx, map[string]any{"general": map[string]any{"positionEncodings": []string{"utf-16", "utf-8"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res), `"positionEncoding":"utf-8"`) {
		t.Fatalf("utf-8 offered, initialize = %s", res)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	// "é" is 2 bytes: in UTF-8 the column after "aé" is 3, the item's range
	// end too.
	text := "aé)\n"
	if err := c.Open(ctx, goURI, "go", text); err != nil {
		t.Fatal(err)
	}
	items, err := c.InlineCompletion(ctx, goURI, 0, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].InsertText != lsptest.EchoText("aé", 0, ")") || items[0].Range.Start.Character != 3 || items[0].Range.End.Character != 4 {
		t.Fatalf("items = %+v", items)
	}
}

// TestEveryCapabilityHasAHandler checks that each method behind an
// advertised capability is served (not MethodNotFound).
func TestEveryCapabilityHasAHandler(t *testing.T) {
	ctx := timeout(t)
	c := startReady(t, &lsptest.Echo{}, quiet())
	if err := c.Open(ctx, goURI, "go", goSource); err != nil {
		t.Fatal(err)
	}
	td := map[string]any{"uri": goURI}
	pos := map[string]any{"line": 5, "character": 8}
	calls := map[string]any{
		"textDocument/inlineCompletion": map[string]any{"textDocument": td, "position": pos, "context": map[string]any{"triggerKind": 1}},
		"textDocument/completion":       map[string]any{"textDocument": td, "position": pos},
		"textDocument/codeAction":       map[string]any{"textDocument": td, "range": lsptest.Range(5, 0, 5, 0), "context": map[string]any{"diagnostics": []any{}}},
		"workspace/executeCommand":      map[string]any{"command": lsp.CommandStatus},
	}
	for method, params := range calls {
		if err := c.Call(ctx, method, params, nil); err != nil {
			t.Errorf("%s: %v", method, err)
		}
	}
	for _, cmd := range lsp.Commands {
		err := c.Call(ctx, "workspace/executeCommand", map[string]any{"command": cmd, "arguments": []any{map[string]any{"id": "x", "uri": goURI}}}, nil)
		if lsptest.ErrorCode(err) == -32601 {
			t.Errorf("command %s: method not found", cmd)
		}
	}
	if err := c.Call(ctx, "textDocument/hover", map[string]any{"textDocument": td, "position": pos}, nil); lsptest.ErrorCode(err) != -32601 {
		t.Errorf("unadvertised hover: %v, want MethodNotFound", err)
	}
}

func TestInlineCompletionMiddleOfFile(t *testing.T) {
	ctx := timeout(t)
	c := startReady(t, &lsptest.Echo{}, quiet())
	if err := c.Open(ctx, goURI, "go", goSource); err != nil {
		t.Fatal(err)
	}
	// Automatic: one item that replaces the auto-closed ")" it re-types.
	items, err := c.InlineCompletion(ctx, goURI, 5, 8, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 {
		t.Fatalf("automatic trigger: %d items, want 1", len(items))
	}
	it := items[0]
	if want := lsptest.EchoText("Pri", 0, ")"); it.InsertText != want {
		t.Errorf("insertText = %q, want %q", it.InsertText, want)
	}
	if it.Range.Start.Line != 5 || it.Range.Start.Character != 8 || it.Range.End.Line != 5 || it.Range.End.Character != 9 {
		t.Errorf("range = %+v, want 5:8-5:9 (swallowing the closer)", it.Range)
	}
	if it.Command.Command != lsp.CommandAccept || len(it.Command.Arguments) != 1 {
		t.Errorf("command = %+v", it.Command)
	}
	// Invoked: several items to cycle through.
	items, err = c.InlineCompletion(ctx, goURI, 5, 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 {
		t.Fatalf("invoked trigger: %d items, want 3", len(items))
	}
	// Unknown document: empty, not an error.
	items, err = c.InlineCompletion(ctx, "file:///w/other.go", 0, 0, 2)
	if err != nil || len(items) != 0 {
		t.Fatalf("unopened document: %v, %v", items, err)
	}
}

func TestEmojiAndCJKPositions(t *testing.T) {
	ctx := timeout(t)
	c := startReady(t, &lsptest.Echo{}, quiet())
	// Line 1: "😀" is 2 UTF-16 units, each CJK character 1.
	text := "package main\nvar s = \"😀世界\" + 名字)\n"
	if err := c.Open(ctx, goURI, "go", text); err != nil {
		t.Fatal(err)
	}
	// After "名字": 8 ("var s = ") + 1 + 2 + 2 + 1 (quote) + 3 (" + ") + 2 = 19.
	items, err := c.InlineCompletion(ctx, goURI, 1, 19, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].InsertText != lsptest.EchoText("名字", 0, ")") {
		t.Fatalf("items = %+v", items)
	}
	if r := items[0].Range; r.Start.Character != 19 || r.End.Character != 20 {
		t.Errorf("range = %+v, want 1:19-1:20", r)
	}
	// Typing after the emoji with an incremental change at UTF-16 positions.
	if err := c.Change(ctx, goURI, 2, 1, 11, 1, 11, "x"); err != nil {
		t.Fatal(err)
	}
	items, err = c.InlineCompletion(ctx, goURI, 1, 12, 2)
	if err != nil || len(items) != 1 || items[0].InsertText != lsptest.EchoText("x", 0, "") {
		t.Fatalf("after change: %+v, %v", items, err)
	}
	// Inside the surrogate pair: InvalidParams, and the server lives on.
	if _, err := c.InlineCompletion(ctx, goURI, 1, 10, 2); lsptest.ErrorCode(err) != -32602 {
		t.Errorf("position inside a surrogate pair: %v, want InvalidParams", err)
	}
	if _, err := c.InlineCompletion(ctx, goURI, 99, 0, 2); lsptest.ErrorCode(err) != -32602 {
		t.Errorf("line past the end: %v, want InvalidParams", err)
	}
	if _, err := c.InlineCompletion(ctx, goURI, 1, 19, 2); err != nil {
		t.Errorf("after invalid positions: %v", err)
	}
}

// TestSlowEngineBlocksNothing holds one completion inside the engine and
// shows that edits to its document, requests for other documents and
// commands are all served meanwhile.
func TestSlowEngineBlocksNothing(t *testing.T) {
	ctx := timeout(t)
	gate := lsptest.NewGate("BLOCK")
	c := startReady(t, gate, quiet())
	const a, b = "file:///w/a.go", "file:///w/b.go"
	if err := c.Open(ctx, a, "go", "BLOCK foo)\n"); err != nil {
		t.Fatal(err)
	}
	if err := c.Open(ctx, b, "go", "bar\n"); err != nil {
		t.Fatal(err)
	}
	type result struct {
		items []lsptest.InlineItem
		err   error
	}
	blocked := make(chan result, 1)
	go func() {
		items, err := c.InlineCompletion(ctx, a, 0, 9, 2)
		blocked <- result{items, err}
	}()
	select {
	case <-gate.Started:
	case <-ctx.Done():
		t.Fatal("the engine never started the blocked request")
	}

	// Edit a while its completion is stuck in the engine.
	if err := c.Change(ctx, a, 2, 0, 0, 0, 5, "ok"); err != nil {
		t.Fatal(err)
	}
	// Another document completes.
	items, err := c.InlineCompletion(ctx, b, 0, 3, 2)
	if err != nil || len(items) != 1 || items[0].InsertText != lsptest.EchoText("bar", 0, "") {
		t.Fatalf("other document: %+v, %v", items, err)
	}
	// The edit to a is visible to a completion of another kind on a.
	var list struct {
		Items []struct {
			TextEdit struct{ NewText string } `json:"textEdit"`
		} `json:"items"`
	}
	err = c.Call(ctx, "textDocument/completion", map[string]any{
		"textDocument": map[string]any{"uri": a}, "position": map[string]any{"line": 0, "character": 6},
	}, &list)
	if err != nil || len(list.Items) != 1 || list.Items[0].TextEdit.NewText != "foo"+lsptest.EchoText("foo", 0, "") { // the re-typed ")" stays in place
		t.Fatalf("completion after the edit: %+v, %v", list, err)
	}
	// Commands are answered too.
	var st lsp.StatusResult
	if err := c.Call(ctx, "workspace/executeCommand", map[string]any{"command": lsp.CommandStatus}, &st); err != nil {
		t.Fatal(err)
	}
	if st.State != lsp.StateBusy {
		t.Errorf("status while the engine is stuck = %q, want busy", st.State)
	}
	select {
	case r := <-blocked:
		t.Fatalf("blocked request answered before release: %+v", r)
	default:
	}
	gate.Release()
	r := <-blocked
	if r.err != nil || len(r.items) != 1 {
		t.Fatalf("released request: %+v, %v", r.items, r.err)
	}
}

func TestLatestWinsPerDocument(t *testing.T) {
	ctx := timeout(t)
	gate := lsptest.NewGate("BLOCK")
	c := startReady(t, gate, quiet())
	if err := c.Open(ctx, goURI, "go", "BLOCK x\n"); err != nil {
		t.Fatal(err)
	}
	const n = 5
	errs := make([]error, n)
	counts := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		if i > 0 {
			// Wait until request i-1 is inside the engine before superseding it.
			<-gate.Started
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			items, err := c.InlineCompletion(ctx, goURI, 0, 7, 2)
			errs[i], counts[i] = err, len(items)
		}()
	}
	<-gate.Started
	gate.Release()
	wg.Wait()
	for i := range n - 1 {
		if lsptest.ErrorCode(errs[i]) != -32800 {
			t.Errorf("superseded request %d: %d items, err %v; want RequestCancelled", i, counts[i], errs[i])
		}
	}
	if errs[n-1] != nil || counts[n-1] != 1 {
		t.Errorf("newest request: %d items, err %v", counts[n-1], errs[n-1])
	}
}

// rawClient speaks framed JSON-RPC to a server directly, so a test can
// choose request ids (numbers and strings) itself.
type rawClient struct {
	t         *testing.T
	conn      net.Conn
	responses chan rawResponse
	served    chan struct{} // closed when Serve returns; serveErr is then set
	serveErr  error
}

type rawResponse struct {
	ID    json.RawMessage `json:"id"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Result json.RawMessage `json:"result"`
}

func startRaw(t *testing.T, engine lsp.Engine, opts settings.Options) *rawClient {
	serverEnd, clientEnd := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	srv := lsp.New(lsp.Options{Logger: testLogger(t), Load: lsptest.Loader(engine), Settings: opts})
	c := &rawClient{t: t, conn: clientEnd, responses: make(chan rawResponse, 64), served: make(chan struct{})}
	go func() {
		c.serveErr = srv.Serve(ctx, serverEnd)
		close(c.served)
	}()
	ready := make(chan struct{})
	go func() {
		r := bufio.NewReader(clientEnd)
		var once sync.Once
		for {
			body, err := readFrame(r)
			if err != nil {
				close(c.responses)
				return
			}
			var msg struct {
				rawResponse
				Method string          `json:"method"`
				Params json.RawMessage `json:"params"`
			}
			if json.Unmarshal(body, &msg) != nil {
				continue
			}
			switch {
			case msg.Method == lsp.MethodStatus && strings.Contains(string(msg.Params), `"ready"`):
				once.Do(func() { close(ready) })
			case msg.Method == "" && msg.ID != nil:
				c.responses <- msg.rawResponse
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		clientEnd.Close()
		<-c.served
	})
	c.send(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"capabilities":{}}}`)
	c.await(`"init"`)
	c.send(`{"jsonrpc":"2.0","method":"initialized","params":{}}`)
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("server never ready")
	}
	return c
}

func (c *rawClient) send(body string) {
	c.t.Helper()
	if _, err := fmt.Fprintf(c.conn, "Content-Length: %d\r\n\r\n%s", len(body), body); err != nil {
		c.t.Fatal(err)
	}
}

// await returns the response with the given raw JSON id.
func (c *rawClient) await(id string) rawResponse {
	c.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case r, ok := <-c.responses:
			if !ok {
				c.t.Fatalf("connection closed waiting for %s", id)
			}
			if string(r.ID) == id {
				return r
			}
		case <-timeout:
			c.t.Fatalf("no response to %s", id)
		}
	}
}

// TestCancelRequest cancels requests by numeric and string id, while they
// wait in the debounce and while they run in the engine; each is answered
// with RequestCancelled and the server keeps serving.
func TestCancelRequest(t *testing.T) {
	gate := lsptest.NewGate("BLOCK")
	opts := quiet()
	opts.DebounceMs = 60000 // an automatic request waits here until cancelled
	c := startRaw(t, gate, opts)
	c.send(`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///w/a.go","languageId":"go","version":1,"text":"BLOCK x\n"}}}`)
	c.send(`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///w/b.go","languageId":"go","version":1,"text":"y\n"}}}`)
	request := func(id, uri string, kind int) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":"textDocument/inlineCompletion","params":{"textDocument":{"uri":%q},"position":{"line":0,"character":1},"context":{"triggerKind":%d}}}`, id, uri, kind)
	}
	cancel := func(id string) string {
		return `{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":` + id + `}}`
	}
	tests := []struct {
		name, id, uri string
		kind          int
		inEngine      bool
	}{
		{"numeric id in debounce", "41", "file:///w/b.go", 2, false},
		{"string id in debounce", `"req-β"`, "file:///w/b.go", 2, false},
		{"numeric id in engine", "42", "file:///w/a.go", 1, true},
		{"string id in engine", `"43"`, "file:///w/a.go", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			c.send(request(tt.id, tt.uri, tt.kind))
			if tt.inEngine {
				select {
				case <-gate.Started:
				case <-time.After(10 * time.Second):
					t.Fatal("request never reached the engine")
				}
			}
			// An id nobody uses, of the other type, cancels nothing.
			c.send(cancel(`"41"`))
			c.send(cancel(tt.id))
			r := c.await(tt.id)
			if r.Error == nil || r.Error.Code != -32800 {
				t.Fatalf("response = %+v, want RequestCancelled", r)
			}
		})
	}
	c.t = t
	// Still serving: an invoked request for b (no debounce) answers.
	c.send(request("7", "file:///w/b.go", 1))
	if r := c.await("7"); r.Error != nil || !strings.Contains(string(r.Result), "echo0(y)") {
		t.Fatalf("after cancellations: %+v %s", r.Error, r.Result)
	}
}

func TestPanicIsRecovered(t *testing.T) {
	ctx := timeout(t)
	c := startReady(t, &lsptest.Panicker{Marker: "PANIC"}, quiet())
	if err := c.Open(ctx, goURI, "go", "PANIC x\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.InlineCompletion(ctx, goURI, 0, 7, 2); lsptest.ErrorCode(err) != -32603 {
		t.Fatalf("panicking engine: %v, want InternalError", err)
	}
	if err := c.Change(ctx, goURI, 2, 0, 0, 0, 5, "fine"); err != nil {
		t.Fatal(err)
	}
	items, err := c.InlineCompletion(ctx, goURI, 0, 6, 2)
	if err != nil || len(items) != 1 {
		t.Fatalf("after a panic: %+v, %v", items, err)
	}
	var st lsp.StatusResult
	if err := c.Call(ctx, "workspace/executeCommand", map[string]any{"command": lsp.CommandStatus}, &st); err != nil {
		t.Fatal(err)
	}
	if st.State != lsp.StateReady {
		t.Errorf("status after a recovered panic = %q, want ready", st.State)
	}
}

func TestMalformedInputKeepsServing(t *testing.T) {
	ctx := timeout(t)
	c := startReady(t, &lsptest.Echo{}, quiet())
	if err := c.Open(ctx, goURI, "go", "abc\n"); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		method string
		params string
	}{
		{"textDocument/didOpen", `{"textDocument":42}`},
		{"$/cancelRequest", `{"id":{"nested":true}}`},
		{"textDocument/didShowCompletion", `[1,2]`},
	}
	for _, b := range bad {
		if err := c.Notify(ctx, b.method, json.RawMessage(b.params)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Call(ctx, "textDocument/inlineCompletion", json.RawMessage(`{"textDocument":{"uri":"file:///w/main.go"},"position":{"line":"x"}}`), nil); lsptest.ErrorCode(err) != -32602 {
		t.Errorf("malformed request: %v, want InvalidParams", err)
	}
	items, err := c.InlineCompletion(ctx, goURI, 0, 3, 2)
	if err != nil || len(items) != 1 || items[0].InsertText != lsptest.EchoText("abc", 0, "") {
		t.Fatalf("after malformed input: %+v, %v", items, err)
	}
	// An edit the server cannot follow (a range outside the text, or a
	// malformed range that a lenient decoder would take for a whole-document
	// change) drops the document rather than completing on text the client
	// does not have; reopening it recovers.
	badEdits := []func() error{
		func() error { return c.Change(ctx, goURI, 3, 7, 0, 7, 0, "x") },
		func() error {
			return c.Notify(ctx, "textDocument/didChange", json.RawMessage(`{"textDocument":{"uri":"file:///w/main.go","version":2},"contentChanges":[{"range":{"start":{"line":-1,"character":0},"end":{"line":0,"character":0}},"text":"x"}]}`))
		},
	}
	for i, bad := range badEdits {
		if err := bad(); err != nil {
			t.Fatal(err)
		}
		items, err = c.InlineCompletion(ctx, goURI, 0, 3, 2)
		if err != nil || len(items) != 0 {
			t.Fatalf("after bad edit %d: %+v, %v; want nothing", i, items, err)
		}
		if err := c.Open(ctx, goURI, "go", "abc\n"); err != nil {
			t.Fatal(err)
		}
		items, err = c.InlineCompletion(ctx, goURI, 0, 3, 2)
		if err != nil || len(items) != 1 {
			t.Fatalf("after reopening: %+v, %v", items, err)
		}
	}
}

func TestModelLoadingProgressAndStatus(t *testing.T) {
	ctx := timeout(t)
	release := make(chan struct{})
	load := func(ctx context.Context, _ settings.Options, progress func(int, string)) (lsp.Engine, error) {
		progress(10, "reading weights")
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		progress(100, "done")
		return &lsptest.Echo{}, nil
	}
	c := lsptest.Start(t, lsp.Options{Logger: testLogger(t), Load: load, Settings: quiet()})
	if _, err := c.Initialize(ctx, map[string]any{"window": map[string]any{"workDoneProgress": true}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Open(ctx, goURI, "go", "abc\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitNotification(ctx, func(n lsptest.Notification) bool {
		return n.Method == "$/progress" && strings.Contains(string(n.Params), `"kind":"report"`)
	}); err != nil {
		t.Fatal(err)
	}
	items, err := c.InlineCompletion(ctx, goURI, 0, 3, 2)
	if err != nil || len(items) != 0 {
		t.Fatalf("before the model is ready: %+v, %v; want empty", items, err)
	}
	if _, err := c.WaitNotification(ctx, func(n lsptest.Notification) bool {
		return n.Method == lsp.MethodStatus && strings.Contains(string(n.Params), `"state":"loading"`)
	}); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitNotification(ctx, func(n lsptest.Notification) bool {
		return n.Method == "$/progress" && strings.Contains(string(n.Params), `"kind":"end"`)
	}); err != nil {
		t.Fatal(err)
	}
	items, err = c.InlineCompletion(ctx, goURI, 0, 3, 2)
	if err != nil || len(items) != 1 {
		t.Fatalf("after ready: %+v, %v", items, err)
	}
}

func TestLoadFailureReportsError(t *testing.T) {
	ctx := timeout(t)
	load := func(context.Context, settings.Options, func(int, string)) (lsp.Engine, error) {
		return nil, errors.New("no such model")
	}
	c := lsptest.Start(t, lsp.Options{Logger: testLogger(t), Load: load, Settings: quiet()})
	if _, err := c.Initialize(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	n, err := c.WaitNotification(ctx, func(n lsptest.Notification) bool {
		return n.Method == lsp.MethodStatus && strings.Contains(string(n.Params), `"state":"error"`)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(n.Params), "no such model") {
		t.Errorf("status = %s, want the load error", n.Params)
	}
}

func TestConfiguration(t *testing.T) {
	ctx := timeout(t)
	var mu sync.Mutex
	var loads []settings.Options
	load := func(_ context.Context, o settings.Options, _ func(int, string)) (lsp.Engine, error) {
		mu.Lock()
		loads = append(loads, o)
		mu.Unlock()
		return &lsptest.Echo{}, nil
	}
	c := lsptest.Start(t, lsp.Options{Logger: testLogger(t), Load: load, Settings: quiet()})
	c.SetSettings(map[string]any{"maxTokens": 7})
	caps := map[string]any{"workspace": map[string]any{"configuration": true}}
	if _, err := c.Initialize(ctx, caps, map[string]any{"enabledLanguages": []string{"python"}, "debounceMs": 0}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(loads) != 1 || loads[0].MaxTokens != 7 || loads[0].EnabledLanguages[0] != "python" {
		t.Errorf("loader saw %+v; want initializationOptions and the pulled maxTokens", loads)
	}
	mu.Unlock()
	if err := c.Open(ctx, goURI, "go", "abc\n"); err != nil {
		t.Fatal(err)
	}
	if items, err := c.InlineCompletion(ctx, goURI, 0, 3, 2); err != nil || len(items) != 0 {
		t.Fatalf("go not enabled: %+v, %v", items, err)
	}
	// A pushed change enables Go and switches the model: the engine reloads.
	err := c.Notify(ctx, "workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"dream": map[string]any{"enabledLanguages": []string{}, "model": "/models/other"}}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(loads)
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("model setting change did not reload the engine")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	if loads[1].Model != "/models/other" {
		t.Errorf("reload with %+v", loads[1])
	}
	mu.Unlock()
	for {
		items, err := c.InlineCompletion(ctx, goURI, 0, 3, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("go never enabled")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCacheTypedAhead(t *testing.T) {
	ctx := timeout(t)
	echo := &lsptest.Echo{}
	c := startReady(t, echo, quiet())
	if err := c.Open(ctx, goURI, "go", "abc\n"); err != nil {
		t.Fatal(err)
	}
	items, err := c.InlineCompletion(ctx, goURI, 0, 3, 2)
	if err != nil || len(items) != 1 {
		t.Fatal(items, err)
	}
	full := items[0].InsertText // "echo0(abc)"
	calls := echo.Calls()
	// Same text: served from the cache.
	if items, err = c.InlineCompletion(ctx, goURI, 0, 3, 2); err != nil || len(items) != 1 || items[0].InsertText != full {
		t.Fatalf("repeat: %+v, %v", items, err)
	}
	// The user types the first 3 characters of the suggestion.
	if err := c.Change(ctx, goURI, 2, 0, 3, 0, 3, full[:3]); err != nil {
		t.Fatal(err)
	}
	items, err = c.InlineCompletion(ctx, goURI, 0, 6, 2)
	if err != nil || len(items) != 1 || items[0].InsertText != full[3:] {
		t.Fatalf("typed ahead: %+v, %v; want %q", items, err, full[3:])
	}
	if echo.Calls() != calls {
		t.Errorf("engine called %d more times; want the cache", echo.Calls()-calls)
	}
	// Typing something else misses.
	if err := c.Change(ctx, goURI, 3, 0, 6, 0, 6, "Z"); err != nil {
		t.Fatal(err)
	}
	if _, err = c.InlineCompletion(ctx, goURI, 0, 7, 2); err != nil {
		t.Fatal(err)
	}
	if echo.Calls() != calls+1 {
		t.Errorf("diverging text: engine calls %d, want %d", echo.Calls(), calls+1)
	}
}

func TestSelectedCompletionInfo(t *testing.T) {
	ctx := timeout(t)
	c := startReady(t, &lsptest.Echo{}, quiet())
	if err := c.Open(ctx, goURI, "go", "\tstrings.Sp\n"); err != nil {
		t.Fatal(err)
	}
	var res struct{ Items []lsptest.InlineItem }
	err := c.Call(ctx, "textDocument/inlineCompletion", map[string]any{
		"textDocument": map[string]any{"uri": goURI},
		"position":     map[string]any{"line": 0, "character": 11},
		"context": map[string]any{"triggerKind": 2, "selectedCompletionInfo": map[string]any{
			"range": lsptest.Range(0, 9, 0, 11), "text": "Split",
		}},
	}, &res)
	if err != nil || len(res.Items) != 1 {
		t.Fatalf("%+v, %v", res, err)
	}
	it := res.Items[0]
	// The item starts with the selected text and uses its range.
	if want := "Split" + lsptest.EchoText("Split", 0, ""); it.InsertText != want {
		t.Errorf("insertText = %q, want %q", it.InsertText, want)
	}
	if it.Range.Start.Character != 9 || it.Range.End.Character != 11 {
		t.Errorf("range = %+v, want 0:9-0:11", it.Range)
	}
}

func TestFillHoles(t *testing.T) {
	ctx := timeout(t)
	c := startOptions(t, lsp.Options{Logger: testLogger(t), Load: lsptest.Loader(&lsptest.Echo{}), Settings: quiet()}, map[string]any{"workspace": map[string]any{"applyEdit": true}})
	text := "func f() int {\n\treturn /*?*/ + /*?*/\n}\n"
	if err := c.Open(ctx, goURI, "go", text); err != nil {
		t.Fatal(err)
	}
	var actions []struct {
		Title   string
		Kind    string
		Command struct {
			Command   string
			Arguments []json.RawMessage
		}
	}
	params := map[string]any{"textDocument": map[string]any{"uri": goURI}, "range": lsptest.Range(1, 0, 1, 0),
		"context": map[string]any{"diagnostics": []any{}, "triggerKind": 2}}
	if err := c.Call(ctx, "textDocument/codeAction", params, &actions); err != nil || len(actions) != 0 {
		t.Fatalf("automatic code action request: %+v, %v; want none (no lightbulb noise)", actions, err)
	}
	// On a line with a marked hole the lightbulb may show it.
	if err := c.Open(ctx, "file:///w/marked.go", "go", "x := /* fill */\n"); err != nil {
		t.Fatal(err)
	}
	marked := map[string]any{"textDocument": map[string]any{"uri": "file:///w/marked.go"}, "range": lsptest.Range(0, 2, 0, 2),
		"context": map[string]any{"diagnostics": []any{}, "triggerKind": 2}}
	if err := c.Call(ctx, "textDocument/codeAction", marked, &actions); err != nil || len(actions) != 1 {
		t.Fatalf("automatic code action request on a marked line: %+v, %v; want the action", actions, err)
	}
	params["context"] = map[string]any{"diagnostics": []any{}, "triggerKind": 1}
	if err := c.Call(ctx, "textDocument/codeAction", params, &actions); err != nil || len(actions) != 1 {
		t.Fatalf("invoked code actions: %+v, %v", actions, err)
	}
	a := actions[0]
	if a.Kind != "refactor.rewrite" || a.Command.Command != lsp.CommandFillHoles {
		t.Fatalf("action = %+v", a)
	}
	var res struct{ Edits int }
	err := c.Call(ctx, "workspace/executeCommand", map[string]any{"command": a.Command.Command, "arguments": a.Command.Arguments}, &res)
	if err != nil || res.Edits != 2 {
		t.Fatalf("fill holes: %+v, %v", res, err)
	}
	edits := c.Edits()
	if len(edits) != 1 {
		t.Fatalf("applyEdit calls = %d, want 1", len(edits))
	}
	var p struct {
		Edit struct {
			Changes map[string][]struct {
				Range struct {
					Start struct{ Line, Character int }
				}
				NewText string
			}
		}
	}
	if err := json.Unmarshal(edits[0], &p); err != nil {
		t.Fatal(err)
	}
	te := p.Edit.Changes[goURI]
	if len(te) != 2 || te[0].NewText != "hole0" || te[1].Range.Start.Character != 16 {
		t.Fatalf("edits = %s", edits[0])
	}
}

func TestAcceptanceCounters(t *testing.T) {
	ctx := timeout(t)
	c := startReady(t, &lsptest.Echo{}, quiet())
	if err := c.Open(ctx, goURI, "go", "abc\n"); err != nil {
		t.Fatal(err)
	}
	items, err := c.InlineCompletion(ctx, goURI, 0, 3, 1)
	if err != nil || len(items) != 3 {
		t.Fatal(items, err)
	}
	item := map[string]any{"insertText": items[0].InsertText, "command": items[0].Command}
	for range 2 { // reported twice, counted once
		if err := c.Notify(ctx, lsp.MethodDidShowCompletion, map[string]any{"item": item}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Notify(ctx, lsp.MethodDidPartiallyAcceptCompletion, map[string]any{"item": map[string]any{"command": items[1].Command}, "acceptedLength": 4}); err != nil {
		t.Fatal(err)
	}
	exec := map[string]any{"command": items[0].Command.Command, "arguments": items[0].Command.Arguments}
	for range 2 {
		if err := c.Call(ctx, "workspace/executeCommand", exec, nil); err != nil {
			t.Fatal(err)
		}
	}
	var st lsp.StatusResult
	if err := c.Call(ctx, "workspace/executeCommand", map[string]any{"command": lsp.CommandStatus}, &st); err != nil {
		t.Fatal(err)
	}
	want := lsp.Acceptance{Shown: 1, Accepted: 1, PartiallyAccepted: 1, AcceptedChars: int64(len(items[0].InsertText)) + 4}
	if diff := cmp.Diff(want, st.Acceptance); diff != "" {
		t.Errorf("acceptance (-want +got):\n%s", diff)
	}
}

func TestToggleAndManualTrigger(t *testing.T) {
	ctx := timeout(t)
	opts := quiet()
	opts.TriggerMode = "manual"
	c := startReady(t, &lsptest.Echo{}, opts)
	if err := c.Open(ctx, goURI, "go", "abc\n"); err != nil {
		t.Fatal(err)
	}
	if items, err := c.InlineCompletion(ctx, goURI, 0, 3, 2); err != nil || len(items) != 0 {
		t.Fatalf("manual mode, automatic trigger: %+v, %v", items, err)
	}
	if items, err := c.InlineCompletion(ctx, goURI, 0, 3, 1); err != nil || len(items) == 0 {
		t.Fatalf("manual mode, invoked: %+v, %v", items, err)
	}
	var res struct{ Enabled bool }
	if err := c.Call(ctx, "workspace/executeCommand", map[string]any{"command": lsp.CommandToggle}, &res); err != nil || res.Enabled {
		t.Fatalf("toggle: %+v, %v", res, err)
	}
	if items, err := c.InlineCompletion(ctx, goURI, 0, 3, 1); err != nil || len(items) != 0 {
		t.Fatalf("disabled: %+v, %v", items, err)
	}
	if _, err := c.WaitNotification(ctx, func(n lsptest.Notification) bool {
		return n.Method == lsp.MethodStatus && strings.Contains(string(n.Params), `"state":"disabled"`)
	}); err != nil {
		t.Fatal(err)
	}
}

func TestHugeAndBinaryDocumentsRefused(t *testing.T) {
	ctx := timeout(t)
	echo := &lsptest.Echo{}
	c := startOptions(t, lsp.Options{Logger: testLogger(t), Load: lsptest.Loader(echo), Settings: quiet(), MaxDocumentBytes: 1 << 10}, nil)
	if err := c.Open(ctx, "file:///w/big.go", "go", strings.Repeat("x", 2<<10)); err != nil {
		t.Fatal(err)
	}
	if err := c.Open(ctx, "file:///w/bin.go", "go", "ab\x00cd"); err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{"file:///w/big.go", "file:///w/bin.go"} {
		items, err := c.InlineCompletion(ctx, uri, 0, 2, 1)
		if err != nil || len(items) != 0 {
			t.Errorf("%s: %+v, %v; want an empty answer", uri, items, err)
		}
	}
	if echo.Calls() != 0 {
		t.Errorf("engine called %d times for refused documents", echo.Calls())
	}
	if _, err := c.WaitNotification(ctx, func(n lsptest.Notification) bool { return n.Method == "window/showMessage" }); err != nil {
		t.Errorf("invoked request on a refused file: no message to the user: %v", err)
	}
}

func TestQuietAfterBackspace(t *testing.T) {
	ctx := timeout(t)
	c := startReady(t, &lsptest.Echo{}, quiet())
	if err := c.Open(ctx, goURI, "go", "abcd\n"); err != nil {
		t.Fatal(err)
	}
	if err := c.Change(ctx, goURI, 2, 0, 3, 0, 4, ""); err != nil { // backspace
		t.Fatal(err)
	}
	if items, err := c.InlineCompletion(ctx, goURI, 0, 3, 2); err != nil || len(items) != 0 {
		t.Fatalf("automatic trigger after a deletion: %+v, %v; want nothing", items, err)
	}
	if items, err := c.InlineCompletion(ctx, goURI, 0, 3, 1); err != nil || len(items) == 0 {
		t.Fatalf("invoked after a deletion: %+v, %v", items, err)
	}
	if err := c.Change(ctx, goURI, 3, 0, 3, 0, 3, "x"); err != nil { // typing again
		t.Fatal(err)
	}
	if items, err := c.InlineCompletion(ctx, goURI, 0, 4, 2); err != nil || len(items) != 1 {
		t.Fatalf("automatic trigger after typing: %+v, %v", items, err)
	}
}

func TestDeadlineAnswersEmptyAndReportsSlow(t *testing.T) {
	ctx := timeout(t)
	gate := lsptest.NewGate("BLOCK") // never released: only the deadline ends the call
	opts := quiet()
	opts.DeadlineMs = 100
	c := startReady(t, gate, opts)
	if err := c.Open(ctx, goURI, "go", "BLOCK x\n"); err != nil {
		t.Fatal(err)
	}
	items, err := c.InlineCompletion(ctx, goURI, 0, 7, 1)
	if err != nil || len(items) != 0 {
		t.Fatalf("past the deadline: %+v, %v; want an empty answer", items, err)
	}
	if _, err := c.WaitNotification(ctx, func(n lsptest.Notification) bool {
		return n.Method == lsp.MethodStatus && strings.Contains(string(n.Params), `"state":"slow"`)
	}); err != nil {
		t.Fatal(err)
	}
}

func TestLoaderPanicIsAnError(t *testing.T) {
	ctx := timeout(t)
	load := func(context.Context, settings.Options, func(int, string)) (lsp.Engine, error) {
		panic("loader bug")
	}
	c := lsptest.Start(t, lsp.Options{Logger: testLogger(t), Load: load, Settings: quiet()})
	if _, err := c.Initialize(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitNotification(ctx, func(n lsptest.Notification) bool {
		return n.Method == lsp.MethodStatus && strings.Contains(string(n.Params), "loader panicked")
	}); err != nil {
		t.Fatal(err)
	}
}

func TestClientGoneWhileEngineBusy(t *testing.T) {
	gate := lsptest.NewGate("BLOCK") // never released
	c := startRaw(t, gate, quiet())
	c.send(`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///w/a.go","languageId":"go","version":1,"text":"BLOCK x\n"}}}`)
	c.send(`{"jsonrpc":"2.0","id":5,"method":"textDocument/inlineCompletion","params":{"textDocument":{"uri":"file:///w/a.go"},"position":{"line":0,"character":7},"context":{"triggerKind":1}}}`)
	select {
	case <-gate.Started:
	case <-time.After(10 * time.Second):
		t.Fatal("request never reached the engine")
	}
	// The editor dies: Serve must return even though the engine would never
	// finish on its own.
	c.conn.Close()
	select {
	case <-c.served:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve still running after the client closed the connection")
	}
	if !errors.Is(c.serveErr, lsp.ErrConnectionLost) {
		t.Errorf("Serve = %v, want ErrConnectionLost", c.serveErr)
	}
}

// closable records when the server closes an engine.
type closable struct {
	lsp.Engine
	closed chan struct{}
}

func (c *closable) Close() error {
	close(c.closed)
	return nil
}

// TestReloadClosesOldEngineAfterItsRequests switches the model while a
// completion runs on the old engine: the new engine serves new requests at
// once, and the old one is closed only after its last request is done.
func TestReloadClosesOldEngineAfterItsRequests(t *testing.T) {
	ctx := timeout(t)
	gate := lsptest.NewGate("BLOCK")
	old := &closable{Engine: gate, closed: make(chan struct{})}
	echo := &lsptest.Echo{}
	fresh := &closable{Engine: echo, closed: make(chan struct{})}
	load := func(_ context.Context, o settings.Options, _ func(int, string)) (lsp.Engine, error) {
		if o.Model == "new" {
			return fresh, nil
		}
		return old, nil
	}
	c := startOptions(t, lsp.Options{Logger: testLogger(t), Load: load, Settings: quiet()}, nil)
	if err := c.Open(ctx, goURI, "go", "BLOCK x\n"); err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	go func() {
		_, err := c.InlineCompletion(ctx, goURI, 0, 7, 1)
		blocked <- err
	}()
	<-gate.Started
	if err := c.Notify(ctx, "workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"model": "new"}}); err != nil {
		t.Fatal(err)
	}
	// The new engine answers while the old one is busy.
	const other = "file:///w/other.go"
	if err := c.Open(ctx, other, "go", "y\n"); err != nil {
		t.Fatal(err)
	}
	for {
		items, err := c.InlineCompletion(ctx, other, 0, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) > 0 && echo.Calls() > 0 {
			break
		}
		select { // still loading the new engine
		case <-ctx.Done():
			t.Fatal("new engine never served")
		case <-time.After(5 * time.Millisecond):
		}
	}
	select {
	case <-old.closed:
		t.Fatal("old engine closed while a request still used it")
	default:
	}
	gate.Release()
	if err := <-blocked; err != nil {
		t.Fatalf("request on the old engine: %v", err)
	}
	select {
	case <-old.closed:
	case <-ctx.Done():
		t.Fatal("old engine never closed")
	}
}
