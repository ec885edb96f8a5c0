package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/dream-lsp/dream-lsp/lsp/document"
)

// capabilities returns what the server advertises; every capability here
// has a handler in Server.handlers (checked by a test).
func (s *Server) capabilities(enc document.Encoding) protocol.ServerCapabilities {
	yes := true
	no := false
	change := protocol.TextDocumentSyncKindIncremental
	return protocol.ServerCapabilities{
		PositionEncoding: protocol.PositionEncodingKind(enc.String()),
		TextDocumentSync: &protocol.TextDocumentSyncOptions{OpenClose: &yes, Change: &change},
		// Inline completion is the main path; completion is the fallback for
		// clients without it (Neovim before 0.12, most other editors).
		InlineCompletionProvider: protocol.Boolean(true),
		CompletionProvider:       &protocol.CompletionOptions{ResolveProvider: &no},
		CodeActionProvider: &protocol.CodeActionOptions{
			CodeActionKinds: []protocol.CodeActionKind{protocol.CodeActionKindRefactorRewrite},
		},
		ExecuteCommandProvider: protocol.ExecuteCommandOptions{Commands: Commands},
	}
}

func (s *Server) initialize(_ context.Context, req *jsonrpc2.Request) (any, error) {
	var p protocol.InitializeParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	enc := document.UTF16
	if g := p.Capabilities.General; g != nil {
		for _, kind := range g.PositionEncodings {
			if kind == protocol.PositionEncodingKindUTF8 {
				enc = document.UTF8
				break
			}
		}
	}
	var caps clientCaps
	if w := p.Capabilities.Workspace; w != nil {
		caps.configuration = w.Configuration != nil && *w.Configuration
		caps.applyEdit = w.ApplyEdit != nil && *w.ApplyEdit
		if we := w.WorkspaceEdit; we != nil {
			caps.documentChanges = we.DocumentChanges != nil && *we.DocumentChanges
		}
	}
	if w := p.Capabilities.Window; w != nil {
		caps.workDoneProgress = w.WorkDoneProgress != nil && *w.WorkDoneProgress
	}
	caps.inline, caps.snippets = completionCaps(req.Params())
	if len(p.InitializationOptions) > 0 {
		s.mergeSettings(p.InitializationOptions, "initializationOptions")
	}

	s.life.Lock()
	s.life.state = stateInitialized
	s.life.enc = enc
	s.life.caps = caps
	s.life.Unlock()

	s.log.Info("initialize", "client", p.ClientInfo.Name, "position_encoding", enc.String(),
		"configuration", caps.configuration, "work_done_progress", caps.workDoneProgress,
		"inline_completion", caps.inline, "snippets", caps.snippets)
	return &protocol.InitializeResult{
		Capabilities: s.capabilities(enc),
		ServerInfo:   protocol.ServerInfo{Name: s.opts.Name, Version: protocol.NewOptional(s.opts.Version)},
	}, nil
}

// initialized starts loading the model and, when the client supports it,
// pulls the "dream" configuration section. Both run off the read loop.
func (s *Server) initialized(context.Context, *jsonrpc2.Request) (any, error) {
	s.life.Lock()
	pull := s.life.caps.configuration
	s.life.Unlock()
	go func() {
		if pull {
			s.pullConfiguration()
		}
		s.startLoad()
	}()
	return nil, nil
}

// shutdownGrace bounds how long shutdown waits for the requests it
// cancelled to answer.
const shutdownGrace = 2 * time.Second

// shutdown cancels every request still in flight and waits (up to
// shutdownGrace) until each has returned its RequestCancelled reply, so
// the client gets an answer to every request before the answer to shutdown.
func (s *Server) shutdown(_ context.Context, req *jsonrpc2.Request) (any, error) {
	self := req.ID()
	s.life.Lock()
	s.life.state = stateShutdown
	s.life.Unlock()
	s.cancelAllModelRequests()
	s.calls.Lock()
	n := 0
	for id, cancel := range s.calls.m {
		if id != self {
			cancel(context.Canceled)
			n++
		}
	}
	s.calls.Unlock()
	start := time.Now()
	if n > 0 && !s.waitCalls(self, shutdownGrace) {
		s.log.Warn("shutdown: requests still running after the grace period", "grace_ms", shutdownGrace.Milliseconds())
	}
	s.log.Info("shutdown", "cancelled", n, "wait_ms", msSince(start))
	return nil, nil
}

// waitCalls waits until no request but self is registered, or timeout.
// A request unregisters when its handler returns; its reply is written
// right after, on the same goroutine, so a short pause follows.
func (s *Server) waitCalls(self jsonrpc2.ID, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		s.calls.Lock()
		left := len(s.calls.m)
		if _, ok := s.calls.m[self]; ok {
			left--
		}
		s.calls.Unlock()
		if left == 0 {
			time.Sleep(5 * time.Millisecond)
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (s *Server) exitNotification(context.Context, *jsonrpc2.Request) (any, error) {
	s.life.Lock()
	if s.life.state != stateShutdown {
		s.life.exitCode = ErrExitWithoutShutdown
	}
	s.life.Unlock()
	select {
	case <-s.exit:
	default:
		close(s.exit)
	}
	return nil, nil
}

// cancelAllModelRequests cancels every request waiting for or running the
// model.
func (s *Server) cancelAllModelRequests() {
	s.latest.Lock()
	for _, slot := range s.latest.m {
		slot.cancel(context.Canceled)
	}
	s.latest.Unlock()
}

// parseCancelID decodes the id of $/cancelRequest params, which may be a
// JSON number or string.
func parseCancelID(params []byte) (jsonrpc2.ID, error) {
	var p struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(params, &p); err != nil {
		return jsonrpc2.ID{}, invalidParams(fmt.Errorf("$/cancelRequest params: %w", err))
	}
	raw := bytes.TrimSpace(p.ID)
	if len(raw) > 0 && raw[0] == '"' {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return jsonrpc2.ID{}, invalidParams(fmt.Errorf("$/cancelRequest id: %w", err))
		}
		return jsonrpc2.NewStringID(str), nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return jsonrpc2.ID{}, invalidParams(errors.New("$/cancelRequest id is neither an integer nor a string"))
	}
	return jsonrpc2.NewNumberID(n), nil
}
