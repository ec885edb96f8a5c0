package wire

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// frameOf frames body with a correct Content-Length.
func frameOf(body string) string {
	return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body)
}

const (
	okCall   = `{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":"ü"}}`
	okNote   = `{"jsonrpc":"2.0","method":"n"}`
	call7    = `{"jsonrpc":"2.0","id":7,"method":"x"}`
	statusOK = `{"jsonrpc":"2.0","id":"s","method":"workspace/executeCommand","params":{"command":"dream.status"}}`
)

// events runs a framer over input to the end and describes each frame:
// "msg BODY", "rej CODE ID reply|log [+ BODY]" or "end ERR".
func events(t *testing.T, input string, maxBody int) []string {
	t.Helper()
	f := newFramer(strings.NewReader(input), maxBody)
	var out []string
	for range 1000 {
		fr := f.next()
		if fr.rej != nil {
			id := "null"
			if fr.rej.ID != nil {
				id = string(fr.rej.ID)
			}
			how := "log"
			if fr.rej.Reply {
				how = "reply"
			}
			e := fmt.Sprintf("rej %d %s %s", fr.rej.Code, id, how)
			if fr.body != nil {
				e += " + " + string(fr.body)
			}
			out = append(out, e)
			if fr.rej.Reason == "" {
				t.Errorf("rejection without a reason: %+v", fr.rej)
			}
			continue
		}
		if fr.err != nil {
			out = append(out, "end "+errName(fr.err))
			if !errors.Is(fr.err, io.EOF) && fr.what == "" {
				t.Errorf("end without saying where: %v", fr.err)
			}
			return out
		}
		out = append(out, "msg "+string(fr.body))
	}
	t.Fatal("framer did not reach the end of its input")
	return nil
}

func errName(err error) string {
	switch {
	case err == io.EOF:
		return "EOF"
	case err == io.ErrUnexpectedEOF:
		return "unexpected EOF"
	}
	return err.Error()
}

func TestFramer(t *testing.T) {
	big := strings.Repeat("A", 100<<10)
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"valid frames", frameOf(okCall) + frameOf(okNote), []string{"msg " + okCall, "msg " + okNote, "end EOF"}},
		{"lower-case header, LF only, Content-Type", "content-length: " + fmt.Sprint(len(okNote)) + "\nContent-Type: application/vscode-jsonrpc; charset=utf-8\n\n" + okNote,
			[]string{"msg " + okNote, "end EOF"}},
		{"stray blank lines between frames", "\r\n\r\n" + frameOf(okNote) + "\r\n" + frameOf(okNote), []string{"msg " + okNote, "msg " + okNote, "end EOF"}},
		{"body not JSON", frameOf("hello") + frameOf(okNote), []string{"rej -32700 null reply", "msg " + okNote, "end EOF"}},
		{"JSON not an object", frameOf("42") + frameOf(`"x"`) + frameOf("null") + frameOf(okNote),
			[]string{"rej -32600 null reply", "rej -32600 null reply", "rej -32600 null reply", "msg " + okNote, "end EOF"}},
		{"batch", frameOf(`[`+okCall+`]`) + frameOf(`[]`) + frameOf(okNote), []string{"rej -32600 null reply", "rej -32600 null reply", "msg " + okNote, "end EOF"}},
		{"empty object", frameOf(`{}`) + frameOf(okNote), []string{"rej -32600 null reply", "msg " + okNote, "end EOF"}},
		{"id float", frameOf(`{"jsonrpc":"2.0","id":1.5,"method":"m"}`), []string{"rej -32600 1.5 reply", "end EOF"}},
		{"id exponent", frameOf(`{"jsonrpc":"2.0","id":1e3,"method":"m"}`), []string{"rej -32600 1e3 reply", "end EOF"}},
		{"id huge", frameOf(`{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"m"}`), []string{"rej -32600 123456789012345678901234567890 reply", "end EOF"}},
		{"id boolean", frameOf(`{"jsonrpc":"2.0","id":true,"method":"m"}`), []string{"rej -32600 null reply", "end EOF"}},
		{"id object", frameOf(`{"jsonrpc":"2.0","id":{"a":1},"method":"m"}`), []string{"rej -32600 null reply", "end EOF"}},
		{"id array", frameOf(`{"jsonrpc":"2.0","id":[1],"method":"m"}`), []string{"rej -32600 null reply", "end EOF"}},
		{"id string and null are fine", frameOf(`{"jsonrpc":"2.0","id":"é","method":"m"}`) + frameOf(`{"jsonrpc":"2.0","id":null,"method":"m"}`),
			[]string{`msg {"jsonrpc":"2.0","id":"é","method":"m"}`, `msg {"jsonrpc":"2.0","id":null,"method":"m"}`, "end EOF"}},
		{"jsonrpc missing", frameOf(`{"id":3,"method":"m"}`), []string{"rej -32600 3 reply", "end EOF"}},
		{"jsonrpc wrong", frameOf(`{"jsonrpc":"1.0","id":3,"method":"m"}`) + frameOf(`{"jsonrpc":2.0,"id":"q","method":"m"}`),
			[]string{"rej -32600 3 reply", `rej -32600 "q" reply`, "end EOF"}},
		{"method not a string", frameOf(`{"jsonrpc":"2.0","id":3,"method":5}`) + frameOf(`{"jsonrpc":"2.0","method":null}`),
			[]string{"rej -32600 3 reply", "rej -32600 null reply", "end EOF"}},
		{"request with a result", frameOf(`{"jsonrpc":"2.0","id":3,"method":"m","result":1}`), []string{"rej -32600 3 reply", "end EOF"}},
		{"trailing text", frameOf(okCall+"xyz") + frameOf(okNote), []string{"rej -32700 null reply", "msg " + okNote, "end EOF"}},
		{"two messages in one frame", frameOf(okNote + okNote), []string{"rej -32700 null reply", "end EOF"}},
		{"BOM in the body is ignored", frameOf("\uFEFF" + okNote), []string{"msg " + okNote, "end EOF"}},
		{"BOM before the header is skipped", "\uFEFF" + frameOf(okNote), []string{"msg " + okNote, "end EOF"}},
		{"garbage between frames is skipped", frameOf(okNote) + "junk\r\nmore junk" + frameOf(okCall), []string{"msg " + okNote, "msg " + okCall, "end EOF"}},
		{"response with result and error, numeric id: the server's call fails",
			frameOf(`{"jsonrpc":"2.0","id":3,"result":1,"error":{"code":1,"message":"m"}}`),
			[]string{`rej -32600 3 log + {"jsonrpc":"2.0","id":3,"error":{"code":-32600,"message":"dream-lsp: invalid response from the client: invalid response: it carries both \"result\" and \"error\""}}`, "end EOF"}},
		{"response with a bad id is dropped", frameOf(`{"jsonrpc":"2.0","id":true,"result":1}`), []string{"rej -32600 null log", "end EOF"}},
		{"response without jsonrpc", frameOf(`{"id":"r","result":1}`),
			[]string{`rej -32600 "r" log + {"jsonrpc":"2.0","id":"r","error":{"code":-32600,"message":"dream-lsp: invalid response from the client: invalid response: \"jsonrpc\" is missing; it must be \"2.0\""}}`, "end EOF"}},
		{"client error without an id is logged and handed on", frameOf(`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}`),
			[]string{`rej -32600 null log + {"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}`, "end EOF"}},
		{"Content-Length 0", "Content-Length: 0\r\n\r\n" + frameOf(okNote), []string{"rej -32700 null reply", "msg " + okNote, "end EOF"}},
		{"Content-Length 0 with a body", "Content-Length: 0\r\n\r\n" + okNote + frameOf(okCall), []string{"rej -32700 null reply", "msg " + okCall, "end EOF"}},
		{"Content-Length -5", "Content-Length: -5\r\n\r\n" + call7 + frameOf(okNote), []string{"rej -32600 7 reply", "msg " + okNote, "end EOF"}},
		{"Content-Length abc", "Content-Length: abc\r\n\r\n" + call7 + frameOf(okNote), []string{"rej -32600 7 reply", "msg " + okNote, "end EOF"}},
		{"Content-Length huge", "Content-Length: 99999999999999999999999\r\n\r\n" + call7 + frameOf(okNote), []string{"rej -32600 7 reply", "msg " + okNote, "end EOF"}},
		{"Content-Length missing", "Content-Type: application/json\r\n\r\n" + call7 + frameOf(okNote), []string{"rej -32600 7 reply", "msg " + okNote, "end EOF"}},
		{"Content-Length conflicting", "Content-Length: 37\r\nContent-Length: 12\r\n\r\n" + call7 + frameOf(okNote), []string{"rej -32600 7 reply", "msg " + okNote, "end EOF"}},
		{"bad Content-Length, body not JSON", "Content-Length: x\r\n\r\nhello\r\n" + frameOf(okNote), []string{"rej -32700 null reply", "msg " + okNote, "end EOF"}},
		{"bad Content-Length, body is the next frame", "Content-Length: x\r\n\r\n" + frameOf(okNote), []string{"rej -32700 null reply", "msg " + okNote, "end EOF"}},
		{"Content-Length 2 bytes short (characters, not bytes)",
			fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(okCall)-2, okCall) + frameOf(okNote),
			[]string{"rej -32700 null reply", "msg " + okNote, "end EOF"}},
		{"Content-Length too long runs into the next frame",
			fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(call7)+30, call7) + frameOf(okCall),
			[]string{"rej -32600 7 reply", "msg " + okCall, "end EOF"}},
		{"header line without a colon", "Content-Length: 5\r\nbogus\r\n\r\nhello" + frameOf(okNote), []string{"rej -32700 null reply", "msg " + okNote, "end EOF"}},
		{"endless header line", big + frameOf(okNote), []string{"rej -32700 null reply", "msg " + okNote, "end EOF"}},
		{"endless header line that starts like one", "Content-Length: " + big + "\r\n\r\n" + frameOf(okNote), []string{"rej -32700 null reply", "msg " + okNote, "end EOF"}},
		{"endless header line to the end", big, []string{"rej -32700 null reply", "end unexpected EOF"}},
		{"too many header lines", "Content-Length: 5\r\n" + strings.Repeat("X-A: b\r\n", 40) + "\r\nhello" + frameOf(okNote),
			[]string{"rej -32700 null reply", "msg " + okNote, "end EOF"}},
		{"oversize message is skipped with its id", frameOf(`{"jsonrpc":"2.0","id":4,"method":"m","params":"`+strings.Repeat("x", 5000)+`"}`) + frameOf(okNote),
			[]string{"rej -32600 4 reply", "msg " + okNote, "end EOF"}},
		{"oversize response fails the server's call", frameOf(`{"jsonrpc":"2.0","id":4,"result":"`+strings.Repeat("x", 5000)+`"}`) + frameOf(okNote),
			[]string{`rej -32600 4 log + {"jsonrpc":"2.0","id":4,"error":{"code":-32600,"message":"dream-lsp: response not processed: message of 5036 bytes is over the 4096-byte limit"}}`, "msg " + okNote, "end EOF"}},
		{"end inside the body", "Content-Length: 50\r\n\r\n{\"jsonrpc\"", []string{"end unexpected EOF"}},
		{"end inside the header", "Content-Len", []string{"end unexpected EOF"}},
		{"end after a header", "Content-Length: 5\r\n", []string{"end unexpected EOF"}},
		{"nothing", "", []string{"end EOF"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := events(t, tt.input, 4096)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFramerBoundedMemory: a hostile header line or declared length never
// makes the framer hold more than its limits.
func TestFramerBoundedMemory(t *testing.T) {
	const limit = 1 << 20
	tests := []struct {
		name   string
		input  io.Reader
		maxBuf int
	}{
		{"endless header line", io.MultiReader(strings.NewReader("Content-"), &repeatReader{b: 'A', n: 64 << 20}), readBufBytes},
		{"huge declared length, then blanks", io.MultiReader(strings.NewReader("Content-Length: 1073741824\r\n\r\n"), &repeatReader{b: ' ', n: 32 << 20}), readBufBytes},
		{"huge declared length, then an endless string", io.MultiReader(strings.NewReader("Content-Length: 1073741824\r\n\r\n{\"a\":\""), &repeatReader{b: 'x', n: 32 << 20}), 4 * limit},
		{"oversize length, skipped", io.MultiReader(strings.NewReader("Content-Length: 16000000\r\n\r\n"), &repeatReader{b: 'x', n: 32 << 20}), readBufBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFramer(tt.input, limit)
			for range 100 {
				fr := f.next()
				if cap(f.buf) > tt.maxBuf || cap(f.body) > sniffBytes {
					t.Fatalf("buffers grew to %d and %d bytes", cap(f.buf), cap(f.body))
				}
				if fr.err != nil {
					if !errors.Is(fr.err, io.ErrUnexpectedEOF) {
						t.Fatalf("end: %v", fr.err)
					}
					return
				}
			}
			t.Fatal("no end")
		})
	}
}

// repeatReader yields n copies of b.
type repeatReader struct {
	b byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n)
	for i := range k {
		p[i] = r.b
	}
	r.n -= k
	return k, nil
}

// TestFramerOneByteReads: the result does not depend on how the input is
// split into reads.
func TestFramerOneByteReads(t *testing.T) {
	input := "\uFEFF" + frameOf(okCall) + "Content-Length: abc\r\n\r\n" + call7 + fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(okCall)-2, okCall) + frameOf(okNote)
	whole := events(t, input, 4096)
	f := newFramer(&oneByteReader{r: strings.NewReader(input)}, 4096)
	var split []string
	for {
		fr := f.next()
		switch {
		case fr.rej != nil:
			split = append(split, fmt.Sprintf("rej %d", fr.rej.Code))
			continue
		case fr.err != nil:
			split = append(split, "end "+errName(fr.err))
		default:
			split = append(split, "msg "+string(fr.body))
			continue
		}
		break
	}
	var wholeShort []string
	for _, e := range whole {
		if strings.HasPrefix(e, "rej ") {
			e = e[:len("rej -32600")]
		}
		wholeShort = append(wholeShort, e)
	}
	if diff := cmp.Diff(wholeShort, split); diff != "" {
		t.Errorf("one-byte reads (-whole +split):\n%s", diff)
	}
}

type oneByteReader struct{ r io.Reader }

func (o *oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func TestHeaderIn(t *testing.T) {
	tests := []struct {
		body string
		want int
	}{
		{`{"a":"Content-Length: 5"}`, -1},        // a mention inside a string has no line break
		{`{"a":1}Content-Length: 5` + "\r\n", 7}, // the next frame's header
		{`{"a":1}content-length:5` + "\n", 7},
		{`{"a":1}Content-Length: x` + "\r\n", -1},
		{`Content-Length`, -1},
	}
	for _, tt := range tests {
		if got := headerIn([]byte(tt.body)); got != tt.want {
			t.Errorf("headerIn(%q) = %d, want %d", tt.body, got, tt.want)
		}
	}
}

func TestIndexFold(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"Content-Length", 0}, {"xxCONTENT-length", 2}, {"content-lengt", -1}, {"cccontent-length", 2}, {"", -1},
	}
	for _, tt := range tests {
		if got := indexFold([]byte(tt.s), headerName); got != tt.want {
			t.Errorf("indexFold(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}
