package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
)

// Limits of the framing reader.
const (
	// DefaultMaxMessageBytes is the largest message body read when
	// Options.MaxMessageBytes is zero.
	DefaultMaxMessageBytes = 64 << 20
	// MaxHeaderLineBytes bounds one header line; a longer one is not
	// buffered but skipped up to the next Content-Length header.
	MaxHeaderLineBytes = 8 << 10
	// MaxHeaderLines bounds the header lines of one frame.
	MaxHeaderLines = 32
	// SkipFactor: a well-framed message over the size limit but declared at
	// most SkipFactor times it is skipped byte for byte, unbuffered; a larger
	// Content-Length is taken for a broken header.
	SkipFactor = 16
	// sniffBytes is how much of an oversize message is kept to find its id.
	sniffBytes = 64 << 10
	// readBufBytes is the read buffer; keepBufBytes the largest buffer kept
	// between frames.
	readBufBytes = 64 << 10
	keepBufBytes = 1 << 20
)

// headerName is the one header the base protocol needs, in lower case.
const headerName = "content-length"

var errLineTooLong = errors.New("header line too long")

// frame is one result of framer.next.
type frame struct {
	body []byte     // a message to hand on; valid until the next call
	n    int64      // wire bytes of the frame
	rej  *Rejection // what to log and maybe answer
	err  error      // the stream ended: io.EOF at a frame boundary, else why
	what string     // with err: where it ended and what had arrived
}

// framer reads LSP base-protocol frames from src, bounding every read and
// resynchronising after bad input. It is used by one goroutine at a time.
type framer struct {
	src  io.Reader
	buf  []byte // buffered input is buf[r:w]
	r, w int
	rerr error // sticky error from src
	off  int64 // bytes consumed so far

	max     int   // largest message body
	skipMax int64 // largest declared length skipped rather than distrusted
	body    []byte

	resync  int   // >= 0: before the next frame, skip to a Content-Length header, discarding at least this many bytes first
	discard int64 // bytes of an oversize message still to skip
	oversz  int64 // declared length of the message being skipped

	garbage       int64  // bytes skipped outside frames since takeGarbage
	garbageSample []byte // the start of them
}

func newFramer(src io.Reader, maxBody int) *framer {
	return &framer{src: src, buf: make([]byte, readBufBytes), max: maxBody, skipMax: int64(maxBody) * SkipFactor, resync: -1}
}

// next reads the next frame: a message to hand on, a rejection to answer,
// or the end of the stream. Every call that does not end the stream
// consumes input, so a caller looping on next always makes progress.
func (f *framer) next() frame {
	if cap(f.body) > keepBufBytes {
		f.body = nil
	}
	if f.discard > 0 {
		if err := f.skipBody(); err != nil {
			return f.end(err, fmt.Sprintf("%d bytes into an oversize message of %d bytes that was being skipped", f.oversz-f.discard, f.oversz))
		}
	}
	if f.resync >= 0 {
		from := f.resync
		f.resync = -1
		if err := f.skipToHeader(from); err != nil {
			return f.end(err, "while skipping to the next Content-Length header")
		}
	}
	start := f.off
	length, lenErr, lines := int64(-1), "", 0
	for {
		line, err := f.line()
		if errors.Is(err, errLineTooLong) {
			f.resync = 1 // the line may start with "Content-Length": get past it
			return frame{rej: &Rejection{Code: CodeParseError, Reply: true, Sample: sample(f.buf[f.r:f.w]),
				Reason: fmt.Sprintf("header line longer than %d bytes", MaxHeaderLineBytes)}}
		}
		if err != nil {
			if err == io.EOF && lines == 0 && f.r == f.w {
				return frame{err: io.EOF}
			}
			return f.end(err, fmt.Sprintf("in the header of a frame after %d header lines", lines))
		}
		if len(line) == 0 {
			if lines == 0 {
				continue // a stray blank line between frames
			}
			break
		}
		name, value, ok := splitHeader(line)
		if !ok || !equalFold(name, headerName) {
			// Something before "Content-Length" on the line: a byte order
			// mark, or the end of a body whose Content-Length was short.
			if k := indexFold(line, headerName); k > 0 {
				f.noteGarbage(line[:k])
				lines, length, lenErr = 0, -1, ""
				name, value, ok = splitHeader(line[k:])
			}
		}
		if !ok {
			if lines > 0 {
				return frame{rej: &Rejection{Code: CodeParseError, Reply: true, Sample: sample(line),
					Reason: fmt.Sprintf("header line %q is not \"Name: value\"", clipBytes(line))}}
			}
			f.noteGarbage(line)
			continue
		}
		lines++
		if lines > MaxHeaderLines {
			f.resync = 0
			return frame{rej: &Rejection{Code: CodeParseError, Reply: true, Sample: sample(line),
				Reason: fmt.Sprintf("more than %d header lines", MaxHeaderLines)}}
		}
		if !equalFold(name, headerName) {
			continue // Content-Type and others carry nothing the server needs
		}
		n, ok := parseLength(value)
		switch {
		case !ok:
			lenErr = fmt.Sprintf("Content-Length %q is not a byte count", clipBytes(value))
		case n > f.skipMax:
			lenErr = fmt.Sprintf("Content-Length %s is beyond any message", clipBytes(value))
		case length >= 0 && n != length:
			lenErr = fmt.Sprintf("conflicting Content-Length headers %d and %d", length, n)
		default:
			length = n
		}
	}
	if lenErr == "" && length < 0 {
		lenErr = "no Content-Length header"
	}
	if lenErr != "" {
		return f.recoverBody(lenErr)
	}
	if length == 0 {
		return frame{rej: &Rejection{Code: CodeParseError, Reply: true, Reason: "message body is empty (Content-Length: 0)"}}
	}
	if length > int64(f.max) {
		return f.oversize(length)
	}
	body, err := f.readBody(length)
	if err != nil {
		return f.end(err, fmt.Sprintf("%d bytes into a %d-byte body", len(body), length))
	}
	out, rej := check(body)
	if rej != nil && rej.Code == CodeParseError {
		if k := headerIn(body); k >= 0 {
			// The declared length ran into the next frame: read that frame
			// next, and refuse the message before it.
			f.unread(body[k:])
			return refuse(bytes.TrimRight(body[:k], " \t\r\n"),
				fmt.Sprintf("Content-Length %d runs past the message into the next header", length))
		}
	}
	return frame{body: out, n: f.off - start, rej: rej}
}

// refuse answers a message that came in a broken frame without handling it:
// a request gets an InvalidRequest reply with its id; a response fails the
// server's call it answers.
func refuse(msg []byte, why string) frame {
	out, rej := check(msg)
	if out == nil {
		rej.Reason = why + "; " + rej.Reason
		return frame{rej: rej}
	}
	env := parseEnvelope(msg)
	rej = &Rejection{Code: CodeInvalidRequest, ID: env.replyID(), Reason: why + "; message not processed", Reply: true, Sample: sample(msg)}
	if env.hasMethod {
		return frame{rej: rej}
	}
	rej.Reply = false
	if isID(env.id) {
		return frame{body: errorResponse(env.id, CodeInvalidRequest, "dream-lsp: response not processed: "+why), rej: rej}
	}
	return frame{rej: rej}
}

// recoverBody handles the body of a frame whose header gave no usable
// length. JSON delimits itself: an object or array that ends within the
// size limit is read and refused with its id; anything else is answered
// with a parse error and skipped up to the next Content-Length header.
func (f *framer) recoverBody(why string) frame {
	end, err := f.valueEnd()
	if err != nil {
		return f.end(err, "in the body of a frame with a bad header ("+why+")")
	}
	if end < 0 {
		// Not JSON, or too long to hold: answer with the id if the start
		// has one, and skip to the next header.
		f.resync = 0
		head := f.buf[f.r : f.r+min(f.w-f.r, f.max, sniffBytes)]
		rej := &Rejection{Code: CodeParseError, Reason: why, Reply: true, Sample: sample(head)}
		if firstByte(head) == '{' {
			if id := parseEnvelope(head).replyID(); id != nil {
				rej.Code, rej.ID = CodeInvalidRequest, id
				rej.Reason = why + fmt.Sprintf("; message longer than the %d-byte limit", f.max)
			}
		}
		return frame{rej: rej}
	}
	msg := append(f.body[:0], f.buf[f.r:f.r+end]...)
	f.body = msg
	f.advance(end)
	return refuse(msg, why)
}

// oversize refuses a well-framed message over the size limit: it keeps the
// start to find the id and skips the rest, unbuffered, before the next
// frame (after the reply has gone out).
func (f *framer) oversize(length int64) frame {
	head, err := f.readBody(min(length, sniffBytes))
	if err != nil {
		return f.end(err, fmt.Sprintf("%d bytes into an oversize message of %d bytes", len(head), length))
	}
	f.discard, f.oversz = length-int64(len(head)), length
	env := parseEnvelope(head)
	rej := &Rejection{Code: CodeInvalidRequest, ID: env.replyID(), Reply: true, Sample: sample(head),
		Reason: fmt.Sprintf("message of %d bytes is over the %d-byte limit", length, f.max)}
	if !env.hasMethod && (env.hasResult || env.hasError) {
		rej.Reply = false
		if isID(env.id) {
			return frame{body: errorResponse(env.id, CodeInvalidRequest, "dream-lsp: response not processed: "+rej.Reason), rej: rej}
		}
	}
	return frame{rej: rej}
}

// end reports the end of the stream with where it happened and what had
// arrived.
func (f *framer) end(err error, where string) frame {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	what := where
	if f.r < f.w {
		what += fmt.Sprintf("; unread input starts %q", sample(f.buf[f.r:f.w]))
	}
	return frame{err: err, what: what}
}

// fill reads more input after the buffered bytes, moving them to the front
// when the buffer's end is reached and growing it only when it is full of
// them.
func (f *framer) fill() error {
	if f.r == f.w {
		f.r, f.w = 0, 0
		if len(f.buf) > keepBufBytes {
			f.buf = make([]byte, readBufBytes)
		}
	}
	if f.rerr != nil {
		return f.rerr
	}
	if f.w == len(f.buf) && f.r > 0 {
		f.w = copy(f.buf, f.buf[f.r:f.w])
		f.r = 0
	}
	if f.w == len(f.buf) {
		nb := make([]byte, 2*len(f.buf))
		copy(nb, f.buf[:f.w])
		f.buf = nb
	}
	for range 100 {
		n, err := f.src.Read(f.buf[f.w:])
		f.w += n
		if err != nil {
			f.rerr = err
			if n > 0 {
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	f.rerr = io.ErrNoProgress
	return f.rerr
}

func (f *framer) advance(n int) {
	f.r += n
	f.off += int64(n)
}

// line returns the next line without its "\n" or "\r\n", valid until the
// next read. A line over MaxHeaderLineBytes is left unread and reported as
// errLineTooLong, so at most that much of it is ever buffered.
func (f *framer) line() ([]byte, error) {
	scanned := 0
	for {
		data := f.buf[f.r:f.w]
		if i := bytes.IndexByte(data[scanned:], '\n'); i >= 0 {
			end := scanned + i
			if end > MaxHeaderLineBytes {
				return nil, errLineTooLong
			}
			f.advance(end + 1)
			return bytes.TrimSuffix(data[:end], []byte{'\r'}), nil
		}
		if len(data) > MaxHeaderLineBytes {
			return nil, errLineTooLong
		}
		scanned = len(data)
		if err := f.fill(); err != nil {
			return nil, err
		}
	}
}

// skipToHeader discards input up to the next "Content-Length" (in any case),
// discarding at least from bytes first. It holds at most a few bytes of what
// it discards.
func (f *framer) skipToHeader(from int) error {
	for {
		if data := f.buf[f.r:f.w]; len(data) > from {
			if i := indexFold(data[from:], headerName); i >= 0 {
				f.noteGarbage(data[:from+i])
				f.advance(from + i)
				return nil
			}
			drop := max(len(data)-(len(headerName)-1), from)
			f.noteGarbage(data[:drop])
			f.advance(drop)
			from = 0
		}
		if err := f.fill(); err != nil {
			return err
		}
	}
}

// skipBody discards the rest of an oversize message.
func (f *framer) skipBody() error {
	for f.discard > 0 {
		if f.r == f.w {
			if err := f.fill(); err != nil {
				return err
			}
		}
		n := int(min(int64(f.w-f.r), f.discard))
		f.advance(n)
		f.discard -= int64(n)
	}
	return nil
}

// readBody reads n bytes into the reused body buffer, growing it as the
// bytes arrive rather than trusting the declared length up front.
func (f *framer) readBody(n int64) ([]byte, error) {
	body := f.body[:0]
	if cap(body) < int(n) && n <= keepBufBytes {
		body = make([]byte, 0, n)
	}
	for int64(len(body)) < n {
		if f.r == f.w {
			if err := f.fill(); err != nil {
				f.body = body
				return body, err
			}
		}
		k := int(min(int64(f.w-f.r), n-int64(len(body))))
		body = append(body, f.buf[f.r:f.r+k]...)
		f.advance(k)
	}
	f.body = body
	return body, nil
}

// unread puts p back in front of the buffered input.
func (f *framer) unread(p []byte) {
	f.off -= int64(len(p))
	if len(p) <= f.r {
		f.r -= len(p)
		copy(f.buf[f.r:], p)
		return
	}
	nb := make([]byte, max(readBufBytes, len(p)+f.w-f.r))
	n := copy(nb, p)
	n += copy(nb[n:], f.buf[f.r:f.w])
	f.buf, f.r, f.w = nb, 0, n
}

// valueEnd skips whitespace and returns the length of the JSON object or
// array at the start of the input, reading more as needed up to the
// size limit; -1 if the input starts with something else or the value is
// longer than the limit.
func (f *framer) valueEnd() (int, error) {
	// Leading whitespace is consumed, not kept.
	for {
		data := f.buf[f.r:f.w]
		ws := len(data) - len(bytes.TrimLeft(data, " \t\r\n"))
		f.advance(ws)
		if ws < len(data) {
			break
		}
		if err := f.fill(); err != nil {
			return 0, err
		}
	}
	depth, inStr, esc := 0, false, false
	i := 0
	for {
		data := f.buf[f.r:f.w]
		for ; i < len(data); i++ {
			if i >= f.max {
				return -1, nil
			}
			c := data[i]
			switch {
			case inStr:
				switch {
				case esc:
					esc = false
				case c == '\\':
					esc = true
				case c == '"':
					inStr = false
				}
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
				if depth < 0 {
					return -1, nil
				}
			case depth == 0:
				return -1, nil
			case c == '"':
				inStr = true
			}
		}
		if err := f.fill(); err != nil {
			return 0, err
		}
	}
}

// noteGarbage counts skipped bytes for the log, keeping the first ones.
func (f *framer) noteGarbage(p []byte) {
	if len(p) == 0 {
		return
	}
	if len(f.garbageSample) < sampleBytes {
		f.garbageSample = append(f.garbageSample, p[:min(len(p), sampleBytes-len(f.garbageSample))]...)
	}
	f.garbage += int64(len(p))
}

// takeGarbage returns and resets the count and start of the bytes skipped
// outside frames.
func (f *framer) takeGarbage() (int64, []byte) {
	n, s := f.garbage, f.garbageSample
	f.garbage, f.garbageSample = 0, nil
	return n, s
}

// splitHeader splits "Name: value"; ok is false unless the name is a
// non-empty HTTP token.
func splitHeader(line []byte) (name, value []byte, ok bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return nil, nil, false
	}
	name = line[:i]
	for _, c := range name {
		if !isTokenByte(c) {
			return nil, nil, false
		}
	}
	return name, bytes.Trim(line[i+1:], " \t"), true
}

// isTokenByte reports whether c may appear in an HTTP header name.
func isTokenByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return c < 0x7f && bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0
}

// parseLength parses a decimal byte count, saturating at math.MaxInt64.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxInt64-int64(c-'0'))/10 {
			n = math.MaxInt64
			continue
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// headerIn returns where a complete Content-Length header line starts in
// body, or -1. It needs a real line break after the number, which a JSON
// string cannot hold, so text that merely mentions the header is not taken
// for one.
func headerIn(body []byte) int {
	for off := 0; ; {
		k := indexFold(body[off:], headerName)
		if k < 0 {
			return -1
		}
		k += off
		rest := bytes.TrimLeft(body[k+len(headerName):], " \t")
		if len(rest) > 0 && rest[0] == ':' {
			rest = bytes.TrimLeft(rest[1:], " \t")
			digits := len(rest) - len(bytes.TrimLeft(rest, "0123456789"))
			if digits > 0 {
				rest = bytes.TrimPrefix(rest[digits:], []byte{'\r'})
				if len(rest) > 0 && rest[0] == '\n' {
					return k
				}
			}
		}
		off = k + 1
	}
}

// indexFold is bytes.Index for a lower-case ASCII pattern, ignoring case.
func indexFold(s []byte, pat string) int {
	for i := 0; i+len(pat) <= len(s); i++ {
		j := bytes.IndexAny(s[i:], pat[:1]+string(pat[0]-'a'+'A'))
		if j < 0 || i+j+len(pat) > len(s) {
			return -1
		}
		i += j
		if equalFold(s[i:i+len(pat)], pat) {
			return i
		}
	}
	return -1
}

// equalFold reports whether b equals the lower-case ASCII string s,
// ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(s) {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// clipBytes shortens b for an error message.
func clipBytes(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}
