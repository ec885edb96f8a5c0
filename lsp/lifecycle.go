package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

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

func (s *Server) shutdown(context.Context, *jsonrpc2.Request) (any, error) {
	s.life.Lock()
	s.life.state = stateShutdown
	s.life.Unlock()
	s.log.Info("shutdown")
	s.cancelAllModelRequests()
	return nil, nil
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
