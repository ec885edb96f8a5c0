package lsp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/lsp"
	"github.com/dream-lsp/dream-lsp/lsp/lsptest"
)

// The hostile-client suite sends each kind of malformed input a client can
// produce to a real server, over a pipe, in an initialized session with an
// open document. Each must be answered with the exact JSON-RPC error (or,
// where nothing can be answered, be logged), and the session must go on: a
// later edit applies to the document's text, a completion sees it, and
// shutdown and exit end the session cleanly.

const (
	hostileURI  = "file:///w/hostile.go"
	hostileText = "package h\n\nfunc f() {\n\tabc\n}\n"
	// call11 is a valid request carried by the broken frames.
	call11 = `{"jsonrpc":"2.0","id":11,"method":"workspace/executeCommand","params":{"command":"dream.status"}}`
	// status13 is a valid request that must be answered normally.
	status13 = `{"jsonrpc":"2.0","id":13,"method":"workspace/executeCommand","params":{"command":"dream.status"}}`
)

// frameBytes frames body with a correct Content-Length.
func frameBytes(body string) string {
	return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body)
}

// wireMsg is any message the server sent.
type wireMsg struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int64  `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// reply is an expected response: an id (raw JSON) and an error code, 0 for
// a result.
type reply struct {
	id   string
	code int64
}

func (m wireMsg) reply() reply {
	r := reply{id: string(m.ID)}
	if m.Error != nil {
		r.code = m.Error.Code
	}
	return r
}

// logRecorder keeps the server's log records and passes them to t.Log.
type logRecorder struct {
	t  testing.TB
	mu sync.Mutex
	// records are "LEVEL message reason=..." lines.
	records []string
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.mu.Lock()
	h.records = append(h.records, b.String())
	h.mu.Unlock()
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// count returns how many records start with prefix.
func (h *logRecorder) count(prefix string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.records {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func (h *logRecorder) dump() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.records, "\n")
}

// hostileClient writes raw bytes to a server and reads what it sends.
type hostileClient struct {
	t      *testing.T
	conn   net.Conn
	msgs   chan wireMsg
	served chan error
	logs   *logRecorder
	probes int
}

// startHostile runs a server on a pipe, initializes it, waits until it is
// ready and opens hostileURI.
func startHostile(t *testing.T, opts lsp.Options) *hostileClient {
	t.Helper()
	logs := &logRecorder{t: t}
	opts.Logger = slog.New(logs)
	if opts.Load == nil {
		opts.Load = lsptest.Loader(&lsptest.Echo{})
	}
	opts.Settings = quiet()
	serverEnd, clientEnd := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	c := &hostileClient{t: t, conn: clientEnd, msgs: make(chan wireMsg, 256), served: make(chan error, 1), logs: logs}
	srv := lsp.New(opts)
	go func() { c.served <- srv.Serve(ctx, serverEnd) }()
	go func() {
		r := bufio.NewReader(clientEnd)
		for {
			body, err := readFrame(r)
			if err != nil {
				close(c.msgs)
				return
			}
			var m wireMsg
			if err := json.Unmarshal(body, &m); err != nil {
				t.Errorf("server sent a frame that is not JSON: %q", body)
				continue
			}
			c.msgs <- m
		}
	}()
	t.Cleanup(func() {
		cancel()
		clientEnd.Close()
		select {
		case <-c.served:
		case <-time.After(5 * time.Second):
			t.Error("server did not stop within 5s")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.dump())
		}
	})
	c.write(frameBytes(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"capabilities":{"textDocument":{"inlineCompletion":{}}}}}`))
	c.expect([]reply{}, `"init"`)
	c.write(frameBytes(`{"jsonrpc":"2.0","method":"initialized","params":{}}`))
	deadline := time.After(10 * time.Second)
	for ready := false; !ready; {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				t.Fatal("connection closed before the server was ready")
			}
			ready = m.Method == lsp.MethodStatus && strings.Contains(string(m.Params), `"ready"`)
		case <-deadline:
			t.Fatal("server never ready")
		}
	}
	c.write(frameBytes(fmt.Sprintf(`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":%q,"languageId":"go","version":1,"text":%q}}}`, hostileURI, hostileText)))
	return c
}

func (c *hostileClient) write(s string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatalf("writing to the server: %v", err)
	}
}

// expect reads until the response with id final arrives and checks that the
// responses before it are exactly want, in order. It returns the final one.
func (c *hostileClient) expect(want []reply, final string) wireMsg {
	c.t.Helper()
	var got []reply
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				c.t.Fatalf("the server closed the connection; responses so far %v, want %v then %s", got, want, final)
			}
			if m.Method != "" {
				continue // a notification or a server request
			}
			if string(m.ID) == final {
				if fmt.Sprint(got) != fmt.Sprint(want) {
					c.t.Errorf("responses before %s = %v, want %v", final, got, want)
				}
				return m
			}
			got = append(got, m.reply())
		case <-deadline:
			c.t.Fatalf("no response %s within 10s; responses so far %v, want %v", final, got, want)
		}
	}
}

// probeBytes is the valid traffic after the input under test: an edit that
// appends "xyz" to the document's "abc" (version v) and an invoked inline
// completion after it with the given id.
func probeBytes(v int, id string) string {
	change := fmt.Sprintf(`{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":%q,"version":%d},"contentChanges":[{"range":{"start":{"line":3,"character":%d},"end":{"line":3,"character":%d}},"text":"xyz"}]}}`,
		hostileURI, v, 1+3*(v-1), 1+3*(v-1))
	complete := fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":"textDocument/inlineCompletion","params":{"textDocument":{"uri":%q},"position":{"line":3,"character":%d},"context":{"triggerKind":1}}}`,
		id, hostileURI, 1+3*v)
	return frameBytes(change) + frameBytes(complete)
}

// checkProbe checks the answer to probeBytes: the completion saw the
// document's text with every edit so far applied.
func (c *hostileClient) checkProbe(m wireMsg, v int) {
	c.t.Helper()
	word := "abc" + strings.Repeat("xyz", v-1)
	if m.Error != nil {
		c.t.Fatalf("probe after the bad input: error %d %s", m.Error.Code, m.Error.Message)
	}
	if want := lsptest.EchoText(word, 0, ""); !strings.Contains(string(m.Result), want) {
		c.t.Fatalf("probe after the bad input: %s, want an item %q (the document lost or changed)", m.Result, want)
	}
}

// finish shuts the session down and checks that Serve ends cleanly.
func (c *hostileClient) finish() {
	c.t.Helper()
	c.write(frameBytes(`{"jsonrpc":"2.0","id":"bye","method":"shutdown"}`))
	c.expect(nil, `"bye"`)
	c.write(frameBytes(`{"jsonrpc":"2.0","method":"exit"}`))
	select {
	case err := <-c.served:
		if err != nil {
			c.t.Fatalf("Serve after shutdown and exit: %v", err)
		}
		c.served <- nil
	case <-time.After(5 * time.Second):
		c.t.Fatal("Serve did not return after exit")
	}
}

// hostileCases are the malformed inputs; every one is answered (want) and
// logged, and none ends the session.
var hostileCases = []struct {
	name  string
	input string
	want  []reply
	log   string // a log record that must appear; "" for a skipped message, "-" for none
}{
	{"body not JSON", frameBytes("hello"), []reply{{"null", -32700}}, ""},
	{"body is a number", frameBytes("42"), []reply{{"null", -32600}}, ""},
	{"body is a string", frameBytes(`"initialize"`), []reply{{"null", -32600}}, ""},
	{"body is an array", frameBytes(`[` + status13 + `]`), []reply{{"null", -32600}}, ""},
	{"empty object", frameBytes(`{}`), []reply{{"null", -32600}}, ""},
	{"id is a float", frameBytes(`{"jsonrpc":"2.0","id":1.5,"method":"workspace/executeCommand","params":{"command":"dream.status"}}`), []reply{{"1.5", -32600}}, ""},
	{"id is a huge number", frameBytes(`{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"shutdown"}`), []reply{{"123456789012345678901234567890", -32600}}, ""},
	{"id is a boolean", frameBytes(`{"jsonrpc":"2.0","id":true,"method":"shutdown"}`), []reply{{"null", -32600}}, ""},
	{"id is an object", frameBytes(`{"jsonrpc":"2.0","id":{"n":1},"method":"shutdown"}`), []reply{{"null", -32600}}, ""},
	{"id is an array", frameBytes(`{"jsonrpc":"2.0","id":[1],"method":"shutdown"}`), []reply{{"null", -32600}}, ""},
	{"jsonrpc missing", frameBytes(`{"id":12,"method":"shutdown"}`), []reply{{"12", -32600}}, ""},
	{"jsonrpc wrong", frameBytes(`{"jsonrpc":"1.0","id":12,"method":"shutdown"}`), []reply{{"12", -32600}}, ""},
	{"method not a string", frameBytes(`{"jsonrpc":"2.0","id":12,"method":["shutdown"]}`), []reply{{"12", -32600}}, ""},
	{"notification with a numeric method", frameBytes(`{"jsonrpc":"2.0","method":42}`), []reply{{"null", -32600}}, ""},
	{"trailing text in the body", frameBytes(status13 + "trailing"), []reply{{"null", -32700}}, ""},
	{"response with both result and error", frameBytes(`{"jsonrpc":"2.0","id":99,"result":null,"error":{"code":1,"message":"x"}}`), nil, "WARN malformed message skipped"},
	{"Content-Length 0", "Content-Length: 0\r\n\r\n", []reply{{"null", -32700}}, ""},
	{"Content-Length -5", "Content-Length: -5\r\n\r\n" + call11, []reply{{"11", -32600}}, ""},
	{"Content-Length abc", "Content-Length: abc\r\n\r\n" + call11, []reply{{"11", -32600}}, ""},
	{"Content-Length huge", "Content-Length: 99999999999999999999\r\n\r\n" + call11, []reply{{"11", -32600}}, ""},
	{"Content-Length missing", "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" + call11, []reply{{"11", -32600}}, ""},
	{"Content-Length two bytes short (characters, not bytes)",
		fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(call11)-2, call11), []reply{{"null", -32700}}, "WARN skipped bytes outside any frame"},
	{"Content-Length longer than the message",
		fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(call11)+25, call11), []reply{{"11", -32600}}, ""},
	{"header line without a colon", "Content-Length: 5\r\nnot a header\r\n\r\nhello", []reply{{"null", -32700}}, ""},
	{"too many header lines", "Content-Length: 5\r\n" + strings.Repeat("X-Pad: 1\r\n", 40) + "\r\nhello", []reply{{"null", -32700}}, ""},
	{"BOM before the header", "\uFEFF" + frameBytes(status13), []reply{{"13", 0}}, "WARN skipped bytes outside any frame"},
	{"BOM in the body (RFC 8259 lets it be ignored)", frameBytes("\uFEFF" + status13), []reply{{"13", 0}}, "-"},
	{"garbage between frames", frameBytes(status13) + "garbage\r\n", []reply{{"13", 0}}, "WARN skipped bytes outside any frame"},
	{"endless header line", strings.Repeat("A", 1<<20) + "\r\n", []reply{{"null", -32700}}, ""},
}

func TestHostileClient(t *testing.T) {
	for _, tt := range hostileCases {
		t.Run(tt.name, func(t *testing.T) {
			c := startHostile(t, lsp.Options{})
			c.write(tt.input)
			// The probe goes in a fresh frame right behind the input: a
			// declared length that runs past the message reaches into it.
			c.write(probeBytes(2, `"probe"`))
			c.checkProbe(c.expect(tt.want, `"probe"`), 2)
			logLine := tt.log
			if logLine == "" {
				logLine = "WARN malformed message skipped"
			}
			if logLine != "-" && c.logs.count(logLine) == 0 {
				t.Errorf("no %q log line", logLine)
			}
			c.finish()
		})
	}
}

// TestHostileClientOneSession sends every malformed input, one after the
// other, to one session, which keeps its document through all of them.
func TestHostileClientOneSession(t *testing.T) {
	c := startHostile(t, lsp.Options{})
	for i, tt := range hostileCases {
		c.write(tt.input)
		id := fmt.Sprintf(`"probe-%d"`, i)
		c.write(probeBytes(i+2, id))
		m := c.expect(tt.want, id)
		c.checkProbe(m, i+2)
		if t.Failed() {
			t.Fatalf("after %s", tt.name)
		}
	}
	c.finish()
}

// TestHostileBoundedMemory: an endless header line, a huge declared length
// and an oversize message cost the server a bounded amount of memory, not
// what the client sends or claims.
func TestHostileBoundedMemory(t *testing.T) {
	const maxMsg = 256 << 10
	big := `{"jsonrpc":"2.0","id":14,"method":"workspace/executeCommand","params":{"command":"dream.status","arguments":["` + strings.Repeat("x", 2<<20) + `"]}}`
	tests := []struct {
		name  string
		input string
		want  []reply
	}{
		{"endless header line", strings.Repeat("A", 32<<20) + "\r\n", []reply{{"null", -32700}}},
		{"huge Content-Length", "Content-Length: 1000000000000\r\n\r\n" + call11, []reply{{"11", -32600}}},
		{"oversize message", frameBytes(big), []reply{{"14", -32600}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startHostile(t, lsp.Options{MaxMessageBytes: maxMsg})
			input := []byte(tt.input + probeBytes(2, `"probe"`))
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if _, err := c.conn.Write(input); err != nil {
				t.Fatal(err)
			}
			m := c.expect(tt.want, `"probe"`)
			runtime.ReadMemStats(&after)
			c.checkProbe(m, 2)
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d bytes sent, %d bytes allocated", len(input), allocated)
			if allocated > 4<<20 {
				t.Errorf("the server allocated %d bytes for %d bytes of input; want under 4 MiB", allocated, len(input))
			}
			c.finish()
		})
	}
}

// TestHostileEndsOnlyAtEOF: a stream that ends inside a frame ends the
// session with a log line saying what arrived, and Serve reports the lost
// connection.
func TestHostileEndsOnlyAtEOF(t *testing.T) {
	tests := []struct{ name, input, where string }{
		{"inside a body", "Content-Length: 100\r\n\r\n{\"jsonrpc\"", "bytes into a 100-byte body"},
		{"inside an endless header line", strings.Repeat("A", 1<<20), "while skipping to the next Content-Length header"},
		{"inside a header", "Content-Len", "in the header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startHostile(t, lsp.Options{})
			c.write(tt.input)
			c.conn.Close()
			select {
			case err := <-c.served:
				c.served <- err
				if err != lsp.ErrConnectionLost {
					t.Errorf("Serve = %v, want ErrConnectionLost", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Serve did not return after the client closed the stream")
			}
			if c.logs.count("WARN client closed the stream inside a frame where=") == 0 || !strings.Contains(c.logs.dump(), tt.where) {
				t.Errorf("no log line saying the stream ended %s:\n%s", tt.where, c.logs.dump())
			}
		})
	}
}

// TestHostileBinary sends malformed frames to the dream-lsp binary over
// stdio (with the echo test engine): each is answered, the session goes on,
// and shutdown and exit end the process with status 0.
func TestHostileBinary(t *testing.T) {
	bin := binary(t)
	var in strings.Builder
	in.WriteString(frameBytes(fmt.Sprintf(`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":%q,"languageId":"go","version":1,"text":%q}}}`, hostileURI, hostileText)))
	var want []reply
	skipped := 0 // inputs logged as "malformed message skipped"
	for _, tt := range hostileCases {
		in.WriteString(tt.input)
		want = append(want, tt.want...)
		if tt.log == "" || tt.log == "WARN malformed message skipped" {
			skipped++
		}
	}
	in.WriteString(probeBytes(2, `"probe"`))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "DREAM_LSP_TEST_ENGINE=echo")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Initialize, and wait until the engine is ready: a completion asked
	// while the model loads is answered empty, which the probe would take
	// for a lost document (it did once, under load).
	init := frameBytes(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"capabilities":{"textDocument":{"inlineCompletion":{}}}}}`) +
		frameBytes(`{"jsonrpc":"2.0","method":"initialized","params":{}}`)
	if _, err := io.WriteString(stdin, init); err != nil {
		t.Fatalf("writing to dream-lsp: %v", err)
	}
	r := bufio.NewReader(stdout)
	for ready := false; !ready; {
		body, err := readFrame(r)
		if err != nil {
			cmd.Wait()
			t.Fatalf("dream-lsp ended before it was ready (%v)\nstderr:\n%s", err, tail(stderr.String(), 4000))
		}
		var m wireMsg
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("not JSON: %q", body)
		}
		ready = m.Method == lsp.MethodStatus && strings.Contains(string(m.Params), `"ready"`)
	}
	if _, err := io.WriteString(stdin, in.String()); err != nil {
		t.Fatalf("writing to dream-lsp: %v", err)
	}
	// Read up to the completion's answer before shutting down.
	var got []reply
	var probe *wireMsg
	for probe == nil {
		body, err := readFrame(r)
		if err != nil {
			cmd.Wait()
			t.Fatalf("no answer to the completion after the malformed input (%v); responses %v\nstderr:\n%s", err, got, tail(stderr.String(), 4000))
		}
		var m wireMsg
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("not JSON: %q", body)
		}
		switch {
		case m.Method != "", string(m.ID) == `"init"`:
		case string(m.ID) == `"probe"`:
			probe = &m
		default:
			got = append(got, m.reply())
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("responses = %v\nwant %v", got, want)
	}
	c := &hostileClient{t: t}
	c.checkProbe(*probe, 2)
	io.WriteString(stdin, frameBytes(`{"jsonrpc":"2.0","id":"bye","method":"shutdown"}`)+frameBytes(`{"jsonrpc":"2.0","method":"exit"}`))
	io.Copy(io.Discard, r)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("dream-lsp serve after shutdown and exit: %v\nstderr:\n%s", err, tail(stderr.String(), 4000))
	}
	if n := strings.Count(stderr.String(), `level=WARN msg="malformed message skipped"`); n < skipped {
		t.Errorf("%d \"malformed message skipped\" warnings, want at least %d:\n%s", n, skipped, tail(stderr.String(), 4000))
	}
}
