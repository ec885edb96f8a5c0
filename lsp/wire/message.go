package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
	"go.lsp.dev/jsonrpc2"
)

// JSON-RPC 2.0 error codes of the replies to malformed input.
const (
	CodeParseError     = -32700 // the bytes are not JSON
	CodeInvalidRequest = -32600 // JSON, but not a valid JSON-RPC 2.0 message
)

// A Rejection is a frame or message that is not handed to jsonrpc2 as it
// arrived: why, and the error reply it gets.
type Rejection struct {
	Code   int64
	ID     json.RawMessage // the id to answer, as it arrived; nil for null
	Reason string
	// Reply is false for a malformed response from the client: answering it
	// would look like an answer to one of the client's own requests.
	Reply bool
	// Sample is the start of what arrived, for the log.
	Sample []byte
}

// bom is the UTF-8 byte order mark, which RFC 8259 lets a parser ignore.
var bom = []byte{0xEF, 0xBB, 0xBF}

// check validates body, the payload of one well-framed message, as a single
// JSON-RPC 2.0 object that jsonrpc2 accepts. It returns the bytes to hand on
// (nil for none; a slice of body or, for a malformed response whose id the
// server may be waiting on, a synthesized error response) and, when body is
// not handed on as it is, why. Whatever check hands on decodes with
// jsonrpc2.DecodeMessage, so jsonrpc2's read loop never fails on it.
func check(body []byte) ([]byte, *Rejection) {
	body = bytes.TrimPrefix(body, bom)
	if !validJSON(body) {
		reason := "message is not valid JSON"
		if len(bytes.TrimSpace(body)) == 0 {
			reason = "message body is empty"
		}
		return nil, &Rejection{Code: CodeParseError, Reason: reason, Reply: true, Sample: sample(body)}
	}
	switch firstByte(body) {
	case '{':
	case '[':
		return nil, &Rejection{Code: CodeInvalidRequest, Reason: "batches are not part of LSP", Reply: true, Sample: sample(body)}
	default:
		return nil, &Rejection{Code: CodeInvalidRequest, Reason: "message is not a JSON object", Reply: true, Sample: sample(body)}
	}
	msg, err := jsonrpc2.DecodeMessage(body)
	if err == nil {
		if r, ok := msg.(*jsonrpc2.Response); ok && !r.ID().IsValid() && r.Err() != nil {
			// The client could not read something the server sent. jsonrpc2
			// drops a response without an id; say so in the log.
			return body, &Rejection{Code: CodeInvalidRequest, Reason: "client reported an error without an id: " + r.Err().Error(), Sample: sample(body)}
		}
		return body, nil
	}
	env := parseEnvelope(body)
	rej := &Rejection{Code: CodeInvalidRequest, ID: env.replyID(), Reply: true, Sample: sample(body)}
	switch {
	case env.hasMethod:
		rej.Reason = env.requestProblem(err)
		return nil, rej
	case env.hasResult || env.hasError:
		rej.Reply = false
		rej.Reason = "invalid response: " + env.responseProblem(err)
		if isID(env.id) {
			// Fail the server's call with this id instead of leaving it waiting.
			return errorResponse(env.id, CodeInvalidRequest, "dream-lsp: invalid response from the client: "+rej.Reason), rej
		}
		return nil, rej
	default:
		rej.Reason = `message has no "method", "result" or "error"`
		return nil, rej
	}
}

// validJSON reports whether b is one JSON value. Invalid UTF-8 inside
// strings and duplicate names are left to the handlers' decoders, as
// encoding/json.Valid would; jsontext checks at about twice its speed,
// which counts for multi-megabyte didOpen messages.
func validJSON(b []byte) bool {
	return jsontext.Value(b).IsValid(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
}

// envelope is what parseEnvelope found among a message's top-level members.
type envelope struct {
	jsonrpc, id, method                     json.RawMessage
	hasJSONRPC, hasID, hasMethod, hasResult bool
	hasError                                bool
}

// parseEnvelope reads the top-level members of the JSON object at the start
// of data. It stops at the first syntax error or at the end of data, so it
// also reads the id from the start of a truncated or oversize message.
func parseEnvelope(data []byte) envelope {
	var e envelope
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return e
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return e
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return e // truncated or not JSON: keep what came before
		}
		switch key {
		case "jsonrpc":
			e.jsonrpc, e.hasJSONRPC = v, true
		case "id":
			e.id, e.hasID = v, true
		case "method":
			e.method, e.hasMethod = v, true
		case "result":
			e.hasResult = true
		case "error":
			e.hasError = true
		}
	}
	return e
}

// replyID is the id to answer with: the id as it arrived if it is a string
// or a number (a client that sent 1.5 can match 1.5), else null.
func (e envelope) replyID() json.RawMessage {
	if !e.hasID || len(e.id) == 0 {
		return nil
	}
	switch c := e.id[0]; {
	case c == '"', c == '-', c >= '0' && c <= '9':
		return e.id
	}
	return nil
}

// requestProblem says what makes a request invalid; err is jsonrpc2's
// verdict, the fallback.
func (e envelope) requestProblem(err error) string {
	switch {
	case !e.hasJSONRPC:
		return `"jsonrpc" is missing; it must be "2.0"`
	case string(e.jsonrpc) != `"2.0"`:
		return fmt.Sprintf(`"jsonrpc" is %s; it must be "2.0"`, clip(e.jsonrpc))
	case len(e.method) == 0 || e.method[0] != '"':
		return fmt.Sprintf(`"method" is %s; it must be a string`, clip(e.method))
	case e.hasID && string(e.id) != "null" && !isID(e.id):
		return fmt.Sprintf(`"id" is %s; it must be a string or an integer`, clip(e.id))
	case e.hasResult || e.hasError:
		return `a request cannot carry "result" or "error"`
	}
	return err.Error()
}

// responseProblem says what makes a response invalid.
func (e envelope) responseProblem(err error) string {
	switch {
	case !e.hasJSONRPC:
		return `"jsonrpc" is missing; it must be "2.0"`
	case string(e.jsonrpc) != `"2.0"`:
		return fmt.Sprintf(`"jsonrpc" is %s; it must be "2.0"`, clip(e.jsonrpc))
	case e.hasResult && e.hasError:
		return `it carries both "result" and "error"`
	case e.hasID && string(e.id) != "null" && !isID(e.id):
		return fmt.Sprintf(`"id" is %s; it must be a string or an integer`, clip(e.id))
	case e.hasError:
		return `"error" is not an error object`
	}
	return err.Error()
}

// isID reports whether raw is an id jsonrpc2 accepts: a string or an
// integer that fits int64.
func isID(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return false
	}
	if raw[0] == '"' {
		var s string
		return json.Unmarshal(raw, &s) == nil
	}
	_, err := strconv.ParseInt(string(raw), 10, 64)
	return err == nil
}

// errorResponse is a JSON-RPC error response with the given raw id (nil for
// null).
func errorResponse(id json.RawMessage, code int64, message string) []byte {
	type errObj struct {
		Code    int64  `json:"code"`
		Message string `json:"message"`
	}
	if id == nil {
		id = json.RawMessage("null")
	}
	b, err := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   errObj          `json:"error"`
	}{"2.0", id, errObj{code, message}})
	if err != nil {
		// id came from a valid JSON document, so this cannot happen; answer
		// with a null id rather than nothing.
		b, _ = json.Marshal(struct {
			JSONRPC string `json:"jsonrpc"`
			ID      any    `json:"id"`
			Error   errObj `json:"error"`
		}{"2.0", nil, errObj{code, message}})
	}
	return b
}

func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// sampleBytes is how much of a bad message the log shows.
const sampleBytes = 160

// sample returns a copy of the start of b, for the log.
func sample(b []byte) []byte {
	return bytes.Clone(b[:min(len(b), sampleBytes)])
}

// clip shortens a raw JSON value for an error message.
func clip(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "missing"
	}
	if len(raw) > 40 {
		return string(raw[:40]) + "…"
	}
	return string(raw)
}
