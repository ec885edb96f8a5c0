package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
)

// seedFrames are inputs of every malformed class, for the fuzz corpora.
var seedFrames = []string{
	frameOf(okCall) + frameOf(okNote),
	frameOf("hello"),
	frameOf("42"), frameOf(`"x"`), frameOf(`[` + okCall + `]`), frameOf(`[]`), frameOf(`{}`),
	frameOf(`{"jsonrpc":"2.0","id":1.5,"method":"m"}`),
	frameOf(`{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"m"}`),
	frameOf(`{"jsonrpc":"2.0","id":true,"method":"m"}`),
	frameOf(`{"jsonrpc":"2.0","id":{"a":1},"method":"m"}`),
	frameOf(`{"jsonrpc":"2.0","id":[1],"method":"m"}`),
	frameOf(`{"id":3,"method":"m"}`), frameOf(`{"jsonrpc":"1.0","id":3,"method":"m"}`),
	frameOf(`{"jsonrpc":"2.0","id":3,"method":5}`),
	frameOf(okCall + "xyz"), frameOf("\uFEFF" + okNote), "\uFEFF" + frameOf(okNote),
	frameOf(`{"jsonrpc":"2.0","id":3,"result":1,"error":{"code":1,"message":"m"}}`),
	"Content-Length: 0\r\n\r\n" + frameOf(okNote),
	"Content-Length: -5\r\n\r\n" + call7,
	"Content-Length: abc\r\n\r\n" + call7,
	"Content-Length: 99999999999999999999999\r\n\r\n" + call7,
	"Content-Type: application/json\r\n\r\n" + call7,
	fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(okCall)-2, okCall) + frameOf(okNote),
	fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(call7)+30, call7) + frameOf(okCall),
	"Content-Length: 5\r\nbogus\r\n\r\nhello",
	strings.Repeat("A", MaxHeaderLineBytes+10) + "\r\n" + frameOf(okNote),
	"Content-Length: 5\r\n" + strings.Repeat("X-A: b\r\n", 40) + "\r\nhello",
	frameOf(`{"jsonrpc":"2.0","id":4,"method":"m","params":"` + strings.Repeat("x", 300) + `"}`),
	"Content-Length: 50\r\n\r\n{\"jsonrpc\"",
}

// fuzzMax is the size limit under fuzzing, small so that oversize and
// skip paths are reached.
const fuzzMax = 256

// FuzzFramer feeds arbitrary bytes to the framing reader, split into reads
// by the fuzzer. It must end, hand on only messages jsonrpc2 accepts,
// answer only with valid error responses, stay within its memory bounds,
// and give the same frames however the input is split into reads.
func FuzzFramer(f *testing.F) {
	for _, s := range seedFrames {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			whole := fuzzEvents(t, bytes.NewReader(data), len(data))
			var src io.Reader = &chunkReader{data: data, n: int(chunk%17) + 1}
			split := fuzzEvents(t, src, len(data))
			if fmt.Sprint(whole) != fmt.Sprint(split) {
				t.Errorf("frames depend on how the input is read:\nwhole %q\nsplit %q", whole, split)
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("the framer hangs on %q read %d bytes at a time", data, chunk%17+1)
		}
	})
}

// fuzzEvents runs a framer to the end of its input, checking every frame.
func fuzzEvents(t *testing.T, src io.Reader, n int) []string {
	fr := newFramer(src, fuzzMax)
	var out []string
	for calls := 0; ; calls++ {
		if calls > 2*n+2 {
			t.Fatalf("%d frames from %d bytes: no progress", calls, n)
		}
		x := fr.next()
		if cap(fr.buf) > 2*readBufBytes+4*fuzzMax || cap(fr.body) > sniffBytes+fuzzMax {
			t.Fatalf("buffers grew to %d and %d bytes", cap(fr.buf), cap(fr.body))
		}
		if x.err != nil {
			if x.body != nil || x.rej != nil {
				t.Fatalf("end with a frame: %+v", x)
			}
			return append(out, "end "+errName(x.err))
		}
		if x.body == nil && x.rej == nil {
			t.Fatal("a frame with neither a message nor a rejection")
		}
		if x.body != nil {
			if _, err := jsonrpc2.DecodeMessage(x.body); err != nil || firstByte(x.body) != '{' {
				t.Fatalf("handed on %q, which jsonrpc2 refuses: %v", x.body, err)
			}
			if len(x.body) > fuzzMax && x.rej == nil {
				t.Fatalf("handed on %d bytes over the %d-byte limit", len(x.body), fuzzMax)
			}
			out = append(out, "msg "+string(x.body))
		}
		if x.rej != nil {
			checkRejection(t, x.rej)
			out = append(out, fmt.Sprintf("rej %d %s %v", x.rej.Code, x.rej.ID, x.rej.Reply))
		}
	}
}

// checkRejection checks that r has a reason and, if it is answered, that
// the answer is a JSON-RPC error response jsonrpc2 decodes, with r's id.
func checkRejection(t *testing.T, r *Rejection) {
	t.Helper()
	if r.Reason == "" {
		t.Fatalf("rejection without a reason: %+v", r)
	}
	if r.Code != CodeParseError && r.Code != CodeInvalidRequest {
		t.Fatalf("rejection code %d", r.Code)
	}
	if r.Code == CodeParseError && r.ID != nil {
		t.Fatalf("parse error with an id %s", r.ID)
	}
	if !r.Reply {
		return
	}
	reply := errorResponse(r.ID, r.Code, "dream-lsp: "+r.Reason)
	msg, err := jsonrpc2.DecodeMessage(reply)
	if err != nil {
		// jsonrpc2 reads only int64 and string ids; any JSON value must at
		// least be valid JSON with the code.
		var v struct {
			ID    json.RawMessage      `json:"id"`
			Error struct{ Code int64 } `json:"error"`
		}
		if json.Unmarshal(reply, &v) != nil || v.Error.Code != r.Code || !bytes.Equal(v.ID, r.ID) {
			t.Fatalf("reply %s is not an error response with id %s: %v", reply, r.ID, err)
		}
		return
	}
	resp, ok := msg.(*jsonrpc2.Response)
	var rpcErr *jsonrpc2.Error
	if !ok || resp.Err() == nil || !asRPC(resp.Err(), &rpcErr) || int64(rpcErr.Code) != r.Code {
		t.Fatalf("reply %s is not an error response with code %d", reply, r.Code)
	}
}

func asRPC(err error, target **jsonrpc2.Error) bool {
	e, ok := err.(*jsonrpc2.Error)
	*target = e
	return ok
}

// chunkReader returns data n bytes at a time.
type chunkReader struct {
	data []byte
	n    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[k:]
	return k, nil
}

// FuzzCheck feeds arbitrary bodies to the message validator. It hands on
// only what jsonrpc2 decodes, refuses only with a reason, answers bytes
// that are not JSON with -32700 and id null, and hands on every single
// JSON-RPC object jsonrpc2 accepts.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		okCall, okNote, call7, "hello", "42", `"x"`, "[]", "[1]", "{}", "null", "\uFEFF" + okNote,
		`{"jsonrpc":"2.0","id":1.5,"method":"m"}`, `{"jsonrpc":"2.0","id":-9223372036854775809,"method":"m"}`,
		`{"jsonrpc":"2.0","id":true,"method":"m"}`, `{"jsonrpc":"2.0","id":{"a":1},"method":"m"}`,
		`{"id":3,"method":"m"}`, `{"jsonrpc":"2.0","id":3,"method":5}`, okCall + "xyz",
		`{"jsonrpc":"2.0","id":3,"result":1,"error":{"code":1,"message":"m"}}`,
		`{"jsonrpc":"2.0","id":"r","error":{"code":1.5,"message":"m"}}`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"m"}}`,
		`{"jsonrpc":"2.0","id":3,"method":"m","result":1}`, `{"jsonrpc":"2.0","\u0069d":1.5,"method":"m"}`,
		`{"jsonrpc":"2.0","id":3,"method":"m","params":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in := bytes.Clone(body)
		out, rej := check(body)
		if !bytes.Equal(in, body) {
			t.Fatal("check changed its input")
		}
		if out == nil && rej == nil {
			t.Fatal("neither handed on nor refused")
		}
		if out != nil {
			if _, err := jsonrpc2.DecodeMessage(out); err != nil || firstByte(out) != '{' {
				t.Fatalf("handed on %q, which jsonrpc2 refuses: %v", out, err)
			}
		}
		if rej != nil {
			checkRejection(t, rej)
		}
		trimmed := bytes.TrimPrefix(body, bom)
		if json.Valid(trimmed) != validJSON(trimmed) {
			t.Fatalf("encoding/json and jsontext disagree on %q", body)
		}
		if !validJSON(trimmed) && (rej == nil || rej.Code != CodeParseError || out != nil) {
			t.Fatalf("not JSON, but got %q, %+v", out, rej)
		}
		if _, err := jsonrpc2.DecodeMessage(trimmed); err == nil && validJSON(trimmed) && firstByte(trimmed) == '{' && out == nil {
			t.Fatalf("jsonrpc2 accepts %q but check refused it: %+v", body, rej)
		}
	})
}
