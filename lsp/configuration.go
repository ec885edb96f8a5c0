package lsp

import (
	"context"
	"encoding/json"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// mergeSettings merges a settings object from the client into the
// effective settings and reloads the engine when the model or device
// changed after loading started.
func (s *Server) mergeSettings(raw []byte, source string) {
	s.conf.Lock()
	old := s.conf.cur
	merged, problems, err := old.Merge(raw)
	if err == nil {
		s.conf.cur = merged
	}
	s.conf.Unlock()
	if err != nil {
		s.log.Warn("ignoring settings", "source", source, "err", err)
		return
	}
	for _, p := range problems {
		s.log.Warn("ignoring setting", "source", source, "problem", p)
	}
	s.log.Debug("settings", "source", source, "steps", merged.Steps, "max_tokens", merged.MaxTokens,
		"debounce_ms", merged.DebounceMs, "deadline_ms", merged.DeadlineMs, "trigger_mode", merged.TriggerMode)
	if merged.Model != old.Model || merged.Device != old.Device || merged.Remote != old.Remote {
		s.eng.Lock()
		started := s.eng.started
		s.eng.Unlock()
		if started {
			go s.startLoad()
		}
	}
}

func (s *Server) didChangeConfiguration(_ context.Context, req *jsonrpc2.Request) (any, error) {
	var p protocol.DidChangeConfigurationParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	if len(p.Settings) > 0 {
		s.mergeSettings(p.Settings, "didChangeConfiguration")
	}
	s.life.Lock()
	pull := s.life.caps.configuration
	s.life.Unlock()
	if pull {
		// Many clients send "settings": null and expect the server to pull.
		go s.pullConfiguration()
	}
	return nil, nil
}

// configurationTimeout bounds the wait for workspace/configuration: a
// client that never answers must not leave the model unloaded.
const configurationTimeout = 2 * time.Second

// pullConfiguration asks the client for the "dream" section. It calls the
// client and waits (at most configurationTimeout), so it must not run on
// the read loop.
func (s *Server) pullConfiguration() {
	ctx, cancel := context.WithTimeout(s.ctx, configurationTimeout)
	defer cancel()
	section := "dream"
	params := protocol.ConfigurationParams{Items: []protocol.ConfigurationItem{{Section: &section}}}
	var result jsonrpc2.RawMessage
	if _, err := s.conn.Call(ctx, protocol.MethodWorkspaceConfiguration, &params, &result); err != nil {
		if ctx.Err() != nil && s.ctx.Err() == nil {
			s.log.Warn("workspace/configuration unanswered; using the settings we have (defaults and initializationOptions)",
				"timeout_ms", configurationTimeout.Milliseconds())
			return
		}
		s.log.Debug("workspace/configuration failed", "err", err)
		return
	}
	var items []json.RawMessage
	if err := json.Unmarshal(result, &items); err != nil || len(items) == 0 {
		s.log.Debug("workspace/configuration: unexpected result", "err", err)
		return
	}
	s.mergeSettings(items[0], "workspace/configuration")
}
