package lsp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/lsp"
	"github.com/dream-lsp/dream-lsp/lsp/lsptest"
	"github.com/dream-lsp/dream-lsp/lsp/wire"
)

var fuzzMethods = []string{
	"textDocument/inlineCompletion", "textDocument/completion", "textDocument/didChange",
	"textDocument/didOpen", "textDocument/didClose", "textDocument/codeAction",
	"workspace/executeCommand", "workspace/didChangeConfiguration", "$/cancelRequest",
	lsp.MethodDidShowCompletion, lsp.MethodDidPartiallyAcceptCompletion, "initialize", "shutdown",
}

// fuzzMaxMessage is the server's message limit under fuzzing: small, so
// that fuzzed lengths reach the oversize and skip paths, and so that a
// bounded filler ends whatever frame the fuzzed bytes left open.
const fuzzMaxMessage = 4 << 10

// resyncFiller ends any frame fuzzed bytes can leave open: a body up to the
// limit, an oversize message being skipped (up to wire.SkipFactor times the
// limit), a header line, a JSON value being recovered. After it, a frame is
// read as a frame again.
var resyncFiller = strings.Repeat(" ", (wire.SkipFactor+1)*fuzzMaxMessage+wire.MaxHeaderLineBytes+2)

// fuzzLog counts the log records that mean a failure: recovered panics and
// errors.
type fuzzLog struct {
	mu  sync.Mutex
	bad []string
}

func (h *fuzzLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *fuzzLog) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError || strings.Contains(r.Message, "panicked") {
		var b strings.Builder
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		h.mu.Lock()
		h.bad = append(h.bad, b.String())
		h.mu.Unlock()
	}
	return nil
}
func (h *fuzzLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *fuzzLog) WithGroup(string) slog.Handler      { return h }

// fuzzSession sends raw bytes to an initialized server with an open
// document, then the resync filler and a dream.status request in a fresh
// frame. The run passes only if the status request is answered, or if the
// server ended because the raw bytes held an exit notification. A recovered
// panic, an error in the log, a frame from the server that is not JSON, a
// lost connection or no answer within 10s fails it.
func fuzzSession(t *testing.T, raw []byte) {
	logs := &fuzzLog{}
	serverEnd, clientEnd := net.Pipe()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv := lsp.New(lsp.Options{Logger: slog.New(logs), Load: lsptest.Loader(&lsptest.Echo{}), Settings: quiet(), MaxMessageBytes: fuzzMaxMessage})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, serverEnd) }()
	defer clientEnd.Close()

	answered := make(chan struct{})
	notJSON := make(chan []byte, 1)
	go func() {
		r := bufio.NewReader(clientEnd)
		for {
			body, err := readFrame(r)
			if err != nil {
				return
			}
			var msg struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
			}
			if err := json.Unmarshal(body, &msg); err != nil {
				select {
				case notJSON <- body:
				default:
				}
				continue
			}
			if msg.Method == "" && string(msg.ID) == `"fuzz-status"` {
				close(answered)
				return
			}
		}
	}()
	go func() {
		// Write errors are expected once the raw bytes made the server exit.
		var b bytes.Buffer
		for _, body := range []string{
			`{"jsonrpc":"2.0","id":"fuzz-init","method":"initialize","params":{"capabilities":{}}}`,
			`{"jsonrpc":"2.0","method":"initialized","params":{}}`,
			`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///f.go","languageId":"go","version":1,"text":"package f\nvar é = 世界😀)\n"}}}`,
		} {
			fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
		}
		b.Write(raw)
		b.WriteString(resyncFiller)
		const status = `{"jsonrpc":"2.0","id":"fuzz-status","method":"workspace/executeCommand","params":{"command":"dream.status"}}`
		fmt.Fprintf(&b, "\r\nContent-Length: %d\r\n\r\n%s", len(status), status)
		_, _ = clientEnd.Write(b.Bytes())
	}()

	var failure string
	select {
	case <-answered:
	case err := <-served:
		served <- err
		if err != nil && !errors.Is(err, lsp.ErrExitWithoutShutdown) {
			failure = fmt.Sprintf("the session ended: %v", err)
		}
	case <-ctx.Done():
		failure = "no answer to dream.status after the input and a resync filler: the server hangs or lost the framing"
	}
	cancel()
	clientEnd.Close()
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		failure += "; Serve did not return after the client went away"
	}
	select {
	case body := <-notJSON:
		failure += fmt.Sprintf("; the server sent a frame that is not JSON: %q", body)
	default:
	}
	logs.mu.Lock()
	bad := logs.bad
	logs.mu.Unlock()
	if len(bad) > 0 {
		failure += fmt.Sprintf("; %d panic or error log record(s): %s", len(bad), strings.Join(bad, " | "))
	}
	if failure != "" {
		t.Fatalf("input %q: %s", clip(raw), strings.TrimPrefix(failure, "; "))
	}
}

func clip(b []byte) []byte {
	if len(b) > 600 {
		return append(b[:600:600], "…"...)
	}
	return b
}

// FuzzServerFrames sends arbitrary raw bytes (headers and bodies, framed or
// not) to a running server; see fuzzSession for what passes. The seeds
// hold every malformed class of the hostile-client suite.
func FuzzServerFrames(f *testing.F) {
	for _, c := range hostileCases {
		in := c.input
		if len(in) > 16<<10 {
			in = strings.Repeat("A", wire.MaxHeaderLineBytes+10) + "\r\n"
		}
		f.Add([]byte(in))
	}
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":2,"method":"textDocument/inlineCompletion","params":{"textDocument":{"uri":"file:///f.go"},"position":{"line":1,"character":3},"context":{"triggerKind":1}}}`,
		`{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":"file:///f.go","version":2},"contentChanges":[{"range":{"start":{"line":0,"character":1},"end":{"line":0,"character":2}},"text":"😀"}]}}`,
		`{"jsonrpc":"2.0","id":"c","method":"textDocument/completion","params":{"textDocument":{"uri":"file:///f.go"},"position":{"line":1,"character":2}}}`,
		`{"jsonrpc":"2.0","id":5,"method":"shutdown"}`,
		`{"jsonrpc":"2.0","method":"exit"}`,
		`{"jsonrpc":"2.0","id":6,"result":[null]}`,
	} {
		f.Add([]byte(frameBytes(body)))
	}
	f.Add([]byte(frameBytes(`{"jsonrpc":"2.0","id":5,"method":"shutdown"}`) + frameBytes(`{"jsonrpc":"2.0","method":"exit"}`)))
	f.Add([]byte("Content-Length: 5000\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":4}"))
	f.Add([]byte("Content-Length: 60000\r\n\r\n"))
	f.Add([]byte("Content-Length: 100\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		fuzzSession(t, raw)
	})
}

// FuzzServerMessages sends one message with a known method and arbitrary
// params, spliced in unquoted (so the frame's body need not be JSON), as a
// call or a notification; see fuzzSession for what passes.
func FuzzServerMessages(f *testing.F) {
	f.Add(uint8(0), true, `{"textDocument":{"uri":"file:///f.go"},"position":{"line":1,"character":3},"context":{"triggerKind":1}}`)
	f.Add(uint8(0), true, `{"textDocument":{"uri":"file:///f.go"},"position":{"line":1,"character":2},"context":{"triggerKind":2,"selectedCompletionInfo":{"range":{"start":{"line":1,"character":0},"end":{"line":1,"character":9}},"text":"x"}}}`)
	f.Add(uint8(2), false, `{"textDocument":{"uri":"file:///f.go","version":2},"contentChanges":[{"range":{"start":{"line":0,"character":1},"end":{"line":0,"character":2}},"text":"😀"}]}`)
	f.Add(uint8(6), true, `{"command":"dream.fillHoles","arguments":[{"uri":"file:///f.go","range":{"start":{"line":9,"character":0},"end":{"line":0,"character":0}}}]}`)
	f.Add(uint8(8), false, `{"id":"1"}`)
	f.Add(uint8(7), false, `{"settings":{"dream":{"steps":-1,"enabledLanguages":"go"}}}`)
	f.Add(uint8(1), true, `null`)
	f.Add(uint8(3), false, `{"textDocument":{"uri":"file:///f.go","languageId":"go","version":1,"text":"\u0000"}}`)
	f.Add(uint8(1), true, `{"textDocument":{"uri":"file:///f.go"},"position":{"line":1,"character":3}`)
	f.Add(uint8(4), false, `{"textDocument":{"uri":"file:///f.go"}}, "x":`)
	f.Fuzz(func(t *testing.T, method uint8, isCall bool, params string) {
		m := fuzzMethods[int(method)%len(fuzzMethods)]
		name, _ := json.Marshal(m)
		body := `{"jsonrpc":"2.0","method":` + string(name) + `,"params":` + params + `}`
		if isCall {
			body = `{"jsonrpc":"2.0","id":2,"method":` + string(name) + `,"params":` + params + `}`
		}
		fuzzSession(t, []byte(frameBytes(body)))
	})
}

// readFrame reads one Content-Length framed message body.
func readFrame(r *bufio.Reader) ([]byte, error) {
	length := -1
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			length, _ = strconv.Atoi(v)
		}
	}
	if length < 0 {
		return nil, fmt.Errorf("no Content-Length")
	}
	body := make([]byte, length)
	_, err := io.ReadFull(r, body)
	return body, err
}
