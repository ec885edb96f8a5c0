package lsptest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/dream-lsp/dream-lsp/lsp"
)

// Notification is one notification the server sent to the client.
type Notification struct {
	Method string
	Params json.RawMessage
}

// Client is an in-process LSP client connected to a Server over a pipe. It
// answers the server's requests (workspace/configuration with Settings,
// workspace/applyEdit by recording the edit and reporting it applied,
// window/workDoneProgress/create) and records notifications.
type Client struct {
	Conn jsonrpc2.Conn

	mu       sync.Mutex
	settings json.RawMessage
	notes    []Notification
	edits    []json.RawMessage
	changed  chan struct{} // closed and replaced on every new notification

	serveDone chan struct{} // closed when Serve returns
	serveErr  error
}

// TB is the part of testing.TB that Start uses. The package keeps clear of
// the testing package because cmd/dream-lsp links its fake engines into the
// binary for the editor tests (`serve --test-engine`).
type TB interface {
	Helper()
	Cleanup(func())
	Error(args ...any)
}

// Start runs a Server with opts on one end of a pipe and returns a client on
// the other. The server is stopped when the test ends.
func Start(t TB, opts lsp.Options) *Client {
	t.Helper()
	serverEnd, clientEnd := net.Pipe()
	srv := lsp.New(opts)
	c := &Client{changed: make(chan struct{}), serveDone: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		c.serveErr = srv.Serve(ctx, serverEnd)
		close(c.serveDone)
	}()
	c.Conn = jsonrpc2.NewConn(jsonrpc2.NewHeaderStream(clientEnd))
	c.Conn.Go(ctx, c.handle)
	t.Cleanup(func() {
		cancel()
		_ = clientEnd.Close()
		select {
		case <-c.serveDone:
		case <-time.After(5 * time.Second):
			t.Error("server did not stop within 5s")
		}
	})
	return c
}

// ServeErr returns Serve's result once it has returned.
func (c *Client) ServeErr(ctx context.Context) error {
	select {
	case <-c.serveDone:
		return c.serveErr
	case <-ctx.Done():
		return fmt.Errorf("waiting for Serve to return: %w", ctx.Err())
	}
}

// SetSettings sets what the client answers to workspace/configuration.
func (c *Client) SetSettings(v any) {
	b, _ := json.Marshal(v)
	c.mu.Lock()
	c.settings = b
	c.mu.Unlock()
}

func (c *Client) handle(ctx context.Context, req *jsonrpc2.Request) (any, error) {
	params := append(json.RawMessage(nil), req.Params()...)
	method := strings.Clone(req.Method()) // borrowed from the frame
	if !req.IsCall() {
		c.mu.Lock()
		c.notes = append(c.notes, Notification{Method: method, Params: params})
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
		return nil, nil
	}
	switch method {
	case "workspace/configuration":
		c.mu.Lock()
		s := c.settings
		c.mu.Unlock()
		if s == nil {
			s = json.RawMessage("null")
		}
		return jsonrpc2.RawMessage("[" + string(s) + "]"), nil
	case "workspace/applyEdit":
		c.mu.Lock()
		c.edits = append(c.edits, params)
		c.mu.Unlock()
		return jsonrpc2.RawMessage(`{"applied":true}`), nil
	case "window/workDoneProgress/create":
		return nil, nil
	}
	return nil, jsonrpc2.ErrMethodNotFound
}

// Notifications returns the notifications received so far.
func (c *Client) Notifications() []Notification {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Notification(nil), c.notes...)
}

// Edits returns the params of every workspace/applyEdit received.
func (c *Client) Edits() []json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]json.RawMessage(nil), c.edits...)
}

// WaitNotification waits until a notification satisfying match has been
// received (at any time since Start) and returns it.
func (c *Client) WaitNotification(ctx context.Context, match func(Notification) bool) (Notification, error) {
	for {
		c.mu.Lock()
		for _, n := range c.notes {
			if match(n) {
				c.mu.Unlock()
				return n, nil
			}
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Notification{}, fmt.Errorf("waiting for a notification: %w", ctx.Err())
		}
	}
}

// Call sends a request and decodes the result into result (if non-nil).
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	var raw jsonrpc2.RawMessage
	if _, err := c.Conn.Call(ctx, method, rawParams(params), &raw); err != nil {
		return err
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(raw, result); err != nil {
		return fmt.Errorf("decoding %s result %s: %w", method, raw, err)
	}
	return nil
}

// Notify sends a notification.
func (c *Client) Notify(ctx context.Context, method string, params any) error {
	return c.Conn.Notify(ctx, method, rawParams(params))
}

func rawParams(v any) jsonrpc2.RawMessage {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return jsonrpc2.RawMessage(v)
	case json.RawMessage:
		return jsonrpc2.RawMessage(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Initialize sends initialize (with the given capabilities and
// initializationOptions, either may be nil) and initialized, and returns the
// raw initialize result.
func (c *Client) Initialize(ctx context.Context, capabilities, initOptions any) (json.RawMessage, error) {
	if capabilities == nil {
		capabilities = map[string]any{}
	}
	params := map[string]any{"processId": nil, "rootUri": nil, "capabilities": capabilities}
	if initOptions != nil {
		params["initializationOptions"] = initOptions
	}
	var res json.RawMessage
	if err := c.Call(ctx, "initialize", params, &res); err != nil {
		return nil, err
	}
	return res, c.Notify(ctx, "initialized", map[string]any{})
}

// WaitReady waits for a dream/status notification with state "ready".
func (c *Client) WaitReady(ctx context.Context) error {
	_, err := c.WaitNotification(ctx, func(n Notification) bool {
		if n.Method != lsp.MethodStatus {
			return false
		}
		var st lsp.Status
		return json.Unmarshal(n.Params, &st) == nil && st.State == lsp.StateReady
	})
	return err
}

// Open sends textDocument/didOpen.
func (c *Client) Open(ctx context.Context, uri, languageID, text string) error {
	return c.Notify(ctx, "textDocument/didOpen", map[string]any{
		"textDocument": map[string]any{"uri": uri, "languageId": languageID, "version": 1, "text": text},
	})
}

// Change sends one incremental textDocument/didChange.
func (c *Client) Change(ctx context.Context, uri string, version int, line, char, endLine, endChar int, text string) error {
	return c.Notify(ctx, "textDocument/didChange", map[string]any{
		"textDocument": map[string]any{"uri": uri, "version": version},
		"contentChanges": []any{map[string]any{
			"range": Range(line, char, endLine, endChar),
			"text":  text,
		}},
	})
}

// Range builds an LSP range.
func Range(line, char, endLine, endChar int) map[string]any {
	return map[string]any{
		"start": map[string]any{"line": line, "character": char},
		"end":   map[string]any{"line": endLine, "character": endChar},
	}
}

// InlineItem is an InlineCompletionItem as decoded by the test client.
type InlineItem struct {
	InsertText string `json:"insertText"`
	Range      struct {
		Start struct{ Line, Character int } `json:"start"`
		End   struct{ Line, Character int } `json:"end"`
	} `json:"range"`
	Command struct {
		Command   string            `json:"command"`
		Arguments []json.RawMessage `json:"arguments"`
	} `json:"command"`
}

// InlineCompletion requests inline completions at line:char (UTF-16 or the
// negotiated encoding); kind is 1 (invoked) or 2 (automatic).
func (c *Client) InlineCompletion(ctx context.Context, uri string, line, char, kind int) ([]InlineItem, error) {
	var res struct {
		Items []InlineItem `json:"items"`
	}
	err := c.Call(ctx, "textDocument/inlineCompletion", map[string]any{
		"textDocument": map[string]any{"uri": uri},
		"position":     map[string]any{"line": line, "character": char},
		"context":      map[string]any{"triggerKind": kind},
	}, &res)
	return res.Items, err
}

// ErrorCode returns the JSON-RPC error code of err, or 0.
func ErrorCode(err error) int64 {
	var e *jsonrpc2.Error
	if errors.As(err, &e) {
		return int64(e.Code)
	}
	return 0
}
