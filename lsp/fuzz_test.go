package lsp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/lsp"
	"github.com/dream-lsp/dream-lsp/lsp/lsptest"
)

// panicCounter is a slog handler that counts the server's recovered
// panics; everything else is dropped.
type panicCounter struct{ n atomic.Int64 }

func (h *panicCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *panicCounter) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panicked") {
		h.n.Add(1)
	}
	return nil
}
func (h *panicCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *panicCounter) WithGroup(string) slog.Handler      { return h }

var fuzzMethods = []string{
	"textDocument/inlineCompletion", "textDocument/completion", "textDocument/didChange",
	"textDocument/didOpen", "textDocument/didClose", "textDocument/codeAction",
	"workspace/executeCommand", "workspace/didChangeConfiguration", "$/cancelRequest",
	lsp.MethodDidShowCompletion, lsp.MethodDidPartiallyAcceptCompletion, "initialize", "shutdown",
}

// FuzzServerMessages sends one arbitrary message (a known method with
// arbitrary params, as a call or a notification) to an initialized server
// with an open document, then a dream.status request. The server must not
// panic (not even a recovered one) and must either answer the status
// request or end the connection: it never hangs.
func FuzzServerMessages(f *testing.F) {
	f.Add(uint8(0), true, `{"textDocument":{"uri":"file:///f.go"},"position":{"line":1,"character":3},"context":{"triggerKind":1}}`)
	f.Add(uint8(0), true, `{"textDocument":{"uri":"file:///f.go"},"position":{"line":1,"character":2},"context":{"triggerKind":2,"selectedCompletionInfo":{"range":{"start":{"line":1,"character":0},"end":{"line":1,"character":9}},"text":"x"}}}`)
	f.Add(uint8(2), false, `{"textDocument":{"uri":"file:///f.go","version":2},"contentChanges":[{"range":{"start":{"line":0,"character":1},"end":{"line":0,"character":2}},"text":"😀"}]}`)
	f.Add(uint8(6), true, `{"command":"dream.fillHoles","arguments":[{"uri":"file:///f.go","range":{"start":{"line":9,"character":0},"end":{"line":0,"character":0}}}]}`)
	f.Add(uint8(8), false, `{"id":"1"}`)
	f.Add(uint8(7), false, `{"settings":{"dream":{"steps":-1,"enabledLanguages":"go"}}}`)
	f.Add(uint8(1), true, `null`)
	f.Add(uint8(3), false, `{"textDocument":{"uri":"file:///f.go","languageId":"go","version":1,"text":"\u0000"}}`)
	f.Fuzz(func(t *testing.T, method uint8, isCall bool, params string) {
		m := fuzzMethods[int(method)%len(fuzzMethods)]
		pc := &panicCounter{}
		serverEnd, clientEnd := net.Pipe()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv := lsp.New(lsp.Options{Logger: slog.New(pc), Load: lsptest.Loader(&lsptest.Echo{}), Settings: quiet()})
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ctx, serverEnd) }()
		defer clientEnd.Close()

		responses := make(chan int, 16) // ids of responses
		go func() {
			r := bufio.NewReader(clientEnd)
			for {
				body, err := readFrame(r)
				if err != nil {
					close(responses)
					return
				}
				var msg struct {
					ID     *int   `json:"id"`
					Method string `json:"method"`
				}
				if json.Unmarshal(body, &msg) == nil && msg.ID != nil && msg.Method == "" {
					responses <- *msg.ID
				}
			}
		}()
		send := func(body string) {
			_, _ = fmt.Fprintf(clientEnd, "Content-Length: %d\r\n\r\n%s", len(body), body)
		}
		send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}`)
		send(`{"jsonrpc":"2.0","method":"initialized","params":{}}`)
		send(`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///f.go","languageId":"go","version":1,"text":"package f\nvar é = 世界😀)\n"}}}`)
		name, _ := json.Marshal(m)
		if !json.Valid([]byte(params)) {
			params = strconv.Quote(params) // keep the frame valid JSON; the params are still arbitrary
		}
		if isCall {
			send(`{"jsonrpc":"2.0","id":2,"method":` + string(name) + `,"params":` + params + `}`)
		} else {
			send(`{"jsonrpc":"2.0","method":` + string(name) + `,"params":` + params + `}`)
		}
		send(`{"jsonrpc":"2.0","id":3,"method":"workspace/executeCommand","params":{"command":"dream.status"}}`)
		for {
			select {
			case id, ok := <-responses:
				if !ok {
					goto done // the server ended the connection (e.g. after shutdown)
				}
				if id == 3 {
					goto done
				}
			case <-ctx.Done():
				t.Fatalf("%s %s: no answer to a later request (server hung)", m, params)
			}
		}
	done:
		cancel()
		<-served
		if n := pc.n.Load(); n > 0 {
			t.Fatalf("%s %s: %d handler panic(s)", m, params, n)
		}
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
