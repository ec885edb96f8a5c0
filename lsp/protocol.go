package lsp

import (
	"encoding/json"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// Wire names of dream-lsp's extensions to LSP; docs/protocol.md describes
// each one's direction, params and result.
const (
	// MethodStatus is the server-to-client notification carrying Status.
	MethodStatus = "dream/status"
	// MethodDidShowCompletion is Copilot's client-to-server notification that
	// an inline completion item was shown: {"item": InlineCompletionItem}.
	MethodDidShowCompletion = "textDocument/didShowCompletion"
	// MethodDidPartiallyAcceptCompletion is Copilot's client-to-server
	// notification {"item": InlineCompletionItem, "acceptedLength": number}.
	MethodDidPartiallyAcceptCompletion = "textDocument/didPartiallyAcceptCompletion"

	// CommandAccept counts an accepted completion; args [{"id": string}].
	CommandAccept = "dream.accept"
	// CommandFillHoles fills every marked hole in a document or range and
	// applies one WorkspaceEdit; args [{"uri": string, "range"?: Range}].
	CommandFillHoles = "dream.fillHoles"
	// CommandToggle turns completions off and on; it returns {"enabled": bool}.
	CommandToggle = "dream.toggle"
	// CommandStatus returns the current StatusResult.
	CommandStatus = "dream.status"
)

// Commands lists the commands the server executes, as advertised in
// executeCommandProvider.
var Commands = []string{CommandAccept, CommandFillHoles, CommandToggle, CommandStatus}

// States of Status.State.
const (
	StateLoading  = "loading"  // the model is loading; requests get empty results
	StateReady    = "ready"    // idle and ready
	StateBusy     = "busy"     // at least one completion is being computed
	StateSlow     = "slow"     // the last completion ran into the deadline or close to it
	StateError    = "error"    // the model failed to load or the last completion failed
	StateDisabled = "disabled" // turned off with dream.toggle
)

// Status is the params of the dream/status notification.
type Status struct {
	State         string  `json:"state"`
	Message       string  `json:"message"`
	Backend       string  `json:"backend"`
	Model         string  `json:"model"`
	LastLatencyMs float64 `json:"lastLatencyMs"`
}

// Acceptance holds the local-only acceptance counters. They never leave the
// machine except in answer to dream.status.
type Acceptance struct {
	Shown             int64 `json:"shown"`             // items reported by didShowCompletion
	Accepted          int64 `json:"accepted"`          // items accepted in full (dream.accept)
	PartiallyAccepted int64 `json:"partiallyAccepted"` // didPartiallyAcceptCompletion notifications
	AcceptedChars     int64 `json:"acceptedChars"`     // UTF-16 units accepted, full and partial
}

// StatusResult is the result of the dream.status command: the status plus
// the acceptance counters.
type StatusResult struct {
	Status
	Enabled    bool       `json:"enabled"`
	Acceptance Acceptance `json:"acceptance"`
}

// acceptArgs is the argument of dream.accept.
type acceptArgs struct {
	ID string `json:"id"`
}

// fillHolesArgs is the argument of dream.fillHoles.
type fillHolesArgs struct {
	URI   uri.URI         `json:"uri"`
	Range *protocol.Range `json:"range,omitempty"`
}

// fillHolesResult is the result of dream.fillHoles.
type fillHolesResult struct {
	Edits   int  `json:"edits"`   // holes filled
	Applied bool `json:"applied"` // the client applied the WorkspaceEdit
}

// shownItem is the part of an InlineCompletionItem the acceptance
// notifications need: the id in the accept command's argument.
type shownItem struct {
	Item struct {
		Command struct {
			Arguments []json.RawMessage `json:"arguments"`
		} `json:"command"`
	} `json:"item"`
	AcceptedLength int64 `json:"acceptedLength"`
}

// itemID returns the dream.accept id carried by a shown item, or "".
func (s shownItem) itemID() string {
	if len(s.Item.Command.Arguments) == 0 {
		return ""
	}
	var a acceptArgs
	if json.Unmarshal(s.Item.Command.Arguments[0], &a) != nil {
		return ""
	}
	return a.ID
}

// codec marshals payloads with go.lsp.dev/protocol's union-aware encoder,
// as protocol.NewServer does, and passes raw messages through.
type codec struct{}

// Marshal implements jsonrpc2.Codec.
func (codec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case jsonrpc2.RawMessage:
		if m == nil {
			return []byte("null"), nil
		}
		return m, nil
	case json.RawMessage:
		if m == nil {
			return []byte("null"), nil
		}
		return m, nil
	}
	return protocol.Marshal(v)
}

// Unmarshal implements jsonrpc2.Codec.
func (codec) Unmarshal(data []byte, v any) error {
	if p, ok := v.(*jsonrpc2.RawMessage); ok {
		*p = append(jsonrpc2.RawMessage(nil), data...)
		return nil
	}
	return protocol.Unmarshal(data, v)
}

// rawJSON encodes v with encoding/json for the payloads the server defines
// itself (not generated protocol types).
func rawJSON(v any) jsonrpc2.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the server's own plain structs reach here.
		panic("lsp: encoding " + err.Error())
	}
	return b
}
