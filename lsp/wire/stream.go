// Package wire is the LSP base protocol (Content-Length framed JSON-RPC 2.0
// messages) under go.lsp.dev/jsonrpc2, made to survive malformed input.
//
// jsonrpc2's own header stream ends the connection on the first frame or
// message it cannot decode, which loses the session's documents and
// settings. Stream instead answers such input with a JSON-RPC error
// (-32700 for bytes that are not JSON, -32600 for JSON that is not a valid
// message, with the id when one can be read), logs it, resynchronises at
// the next Content-Length header and keeps reading; only the end of the
// stream or a read error ends it. Every read is bounded: header lines,
// header count and message size.
package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"go.lsp.dev/jsonrpc2"
)

// Options configure a Stream.
type Options struct {
	// Logger receives a Warn line per malformed frame or message and a line
	// when the stream ends; nil uses slog.Default().
	Logger *slog.Logger
	// MaxMessageBytes is the largest message body read; larger ones are
	// answered with InvalidRequest and skipped. 0 means
	// DefaultMaxMessageBytes.
	MaxMessageBytes int
}

// Stream is a jsonrpc2.Stream with LSP framing that answers malformed input
// instead of failing. It also implements jsonrpc2's raw-frame extension
// (ReadFrame, WriteFrame), as jsonrpc2's own header stream does. Its Write
// is the connection's single writer: jsonrpc2's messages and the error
// replies to bad frames go through one mutex, so frames never interleave.
type Stream struct {
	conn io.ReadWriteCloser
	in   *framer
	log  *slog.Logger

	wmu  sync.Mutex
	wbuf []byte // frame being written; guarded by wmu
	bbuf []byte // body being encoded; guarded by wmu

	rejected atomic.Int64
}

// NewStream returns a Stream over conn; the Stream owns conn.
func NewStream(conn io.ReadWriteCloser, opts Options) *Stream {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = DefaultMaxMessageBytes
	}
	return &Stream{conn: conn, in: newFramer(conn, opts.MaxMessageBytes), log: opts.Logger}
}

// Rejected returns how many frames or messages were refused so far.
func (s *Stream) Rejected() int64 { return s.rejected.Load() }

// ReadFrame returns the body of the next valid message, valid until the next
// read. Malformed frames and messages before it are answered and skipped.
// It returns io.EOF when the client closed the stream between frames and
// another error when the stream broke.
func (s *Stream) ReadFrame(ctx context.Context) ([]byte, int64, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		f := s.in.next()
		if n, start := s.in.takeGarbage(); n > 0 {
			s.log.Warn("skipped bytes outside any frame", "bytes", n, "start", fmt.Sprintf("%q", start))
		}
		if f.err != nil {
			s.logEnd(f)
			return nil, 0, f.err
		}
		if f.rej != nil {
			s.reject(ctx, f.rej)
		}
		if f.body != nil {
			return f.body, f.n, nil
		}
	}
}

// Read implements jsonrpc2.Stream.
func (s *Stream) Read(ctx context.Context) (jsonrpc2.Message, int64, error) {
	body, n, err := s.ReadFrame(ctx)
	if err != nil {
		return nil, 0, err
	}
	msg, err := jsonrpc2.DecodeMessage(body)
	if err != nil {
		// check hands on only what DecodeMessage accepts.
		return nil, 0, fmt.Errorf("wire: decoding a checked message: %w", err)
	}
	return msg, n, nil
}

// Write implements jsonrpc2.Stream: one frame, one write.
func (s *Stream) Write(ctx context.Context, msg jsonrpc2.Message) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.bbuf = jsonrpc2.AppendMessage(s.bbuf[:0], msg)
	n, err := s.writeLocked(s.bbuf)
	if cap(s.bbuf) > keepBufBytes {
		s.bbuf = nil
	}
	return n, err
}

// WriteFrame writes an encoded message as one frame.
func (s *Stream) WriteFrame(ctx context.Context, data []byte) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.writeLocked(data)
}

func (s *Stream) writeLocked(body []byte) (int64, error) {
	buf := append(s.wbuf[:0], "Content-Length: "...)
	buf = strconv.AppendInt(buf, int64(len(body)), 10)
	buf = append(buf, "\r\n\r\n"...)
	buf = append(buf, body...)
	n, err := s.conn.Write(buf)
	s.wbuf = buf
	if cap(s.wbuf) > keepBufBytes {
		s.wbuf = nil
	}
	return int64(n), err
}

// Close closes the underlying connection.
func (s *Stream) Close() error { return s.conn.Close() }

// reject logs a refused frame or message and answers it when it gets an
// answer.
func (s *Stream) reject(ctx context.Context, r *Rejection) {
	s.rejected.Add(1)
	id := "null"
	if r.ID != nil {
		id = clip(r.ID)
	}
	s.log.Warn("malformed message skipped", "reason", r.Reason, "code", r.Code, "id", id,
		"replied", r.Reply, "arrived", fmt.Sprintf("%q", r.Sample))
	if !r.Reply {
		return
	}
	if _, err := s.WriteFrame(ctx, errorResponse(r.ID, r.Code, "dream-lsp: "+r.Reason)); err != nil {
		s.log.Debug("answering a malformed message failed", "err", err)
	}
}

// logEnd says why reading stopped and what had arrived.
func (s *Stream) logEnd(f frame) {
	switch {
	case errors.Is(f.err, io.EOF):
		s.log.Debug("client closed the stream")
	case errors.Is(f.err, io.ErrUnexpectedEOF):
		s.log.Warn("client closed the stream inside a frame", "where", f.what)
	case errors.Is(f.err, io.ErrClosedPipe), errors.Is(f.err, net.ErrClosed), errors.Is(f.err, os.ErrClosed),
		errors.Is(f.err, context.Canceled):
		s.log.Debug("stream closed", "err", f.err, "where", f.what)
	default:
		s.log.Error("reading from the client failed", "err", f.err, "where", f.what)
	}
}
