package lsp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/dream-lsp/dream-lsp/context/crossfile"
	"github.com/dream-lsp/dream-lsp/lsp/document"
	"github.com/dream-lsp/dream-lsp/lsp/settings"
	"github.com/dream-lsp/dream-lsp/lsp/wire"
)

// DefaultMaxDocumentBytes is the largest document the server completes in
// when Options.MaxDocumentBytes is zero.
const DefaultMaxDocumentBytes = 4 << 20

// Options configure a Server.
type Options struct {
	// Logger receives the server's logs; nil uses slog.Default().
	Logger *slog.Logger
	// Load opens the engine. Nil leaves the server without one: requests get
	// empty results and the status reports an error.
	Load Loader
	// Settings are the defaults the client's settings are merged onto (the
	// command line's --model, for example). The zero value means
	// settings.Default().
	Settings settings.Options
	// Name and Version are reported in serverInfo; Name defaults to
	// "dream-lsp".
	Name, Version string
	// MaxDocumentBytes: completions in larger documents are refused with an
	// empty result; 0 means DefaultMaxDocumentBytes.
	MaxDocumentBytes int
	// MaxMessageBytes: larger messages are answered with InvalidRequest and
	// skipped unread; 0 means wire.DefaultMaxMessageBytes (64 MiB).
	MaxMessageBytes int
	// MaxSyncBytes: the server keeps no document larger than this; a
	// didOpen or didChange that would make one is refused with a log line
	// and window/showMessage. 0 means DefaultMaxSyncBytes (64 MiB).
	MaxSyncBytes int
}

// ErrExitWithoutShutdown is returned by Serve when the client sent exit
// without shutdown first; LSP asks the process to exit with code 1 then.
var ErrExitWithoutShutdown = errors.New("lsp: exit without shutdown")

// ErrConnectionLost is returned by Serve when the stream ended before the
// client sent shutdown and exit.
var ErrConnectionLost = errors.New("lsp: connection closed before shutdown")

// errSuperseded is the cancellation cause of a request replaced by a newer
// one for the same document.
var errSuperseded = errors.New("superseded by a newer request for the document")

// Server is one language server session. Create it with New and run it with
// Serve; a Server serves one connection.
type Server struct {
	opts Options
	log  *slog.Logger

	conn jsonrpc2.Conn
	ctx  context.Context // server lifetime; cancelled when Serve returns
	stop context.CancelFunc
	exit chan struct{} // closed by the exit notification

	handlers map[string]handlerFunc

	// life guards the lifecycle state and what initialize negotiated.
	life struct {
		sync.Mutex
		state    lifeState
		enc      document.Encoding
		caps     clientCaps
		exitCode error
	}

	// docs guards the open documents (immutable snapshots) and whether
	// each one's last edit only deleted text.
	docs struct {
		sync.Mutex
		m       map[string]*document.Document
		deleted map[string]bool
	}

	// calls guards the cancel functions of in-flight client requests by id.
	calls struct {
		sync.Mutex
		m map[jsonrpc2.ID]context.CancelCauseFunc
	}

	// latest guards the newest model request per document and kind.
	latest struct {
		sync.Mutex
		seq uint64
		m   map[string]latestSlot
	}

	// conf guards the effective settings and the on/off toggle.
	conf struct {
		sync.Mutex
		cur      settings.Options
		disabled bool
	}

	eng   engineState
	stat  statusState
	cache *resultCache
	// related keeps chunks of the other open documents and recently edited
	// regions, the cross-file context of completions.
	related *crossfile.Ring
	accept  acceptance
	back    backoff // automatic requests after ignored suggestions

	itemSeq atomic.Uint64
}

type lifeState int

const (
	stateCreated lifeState = iota
	stateInitialized
	stateShutdown
)

// clientCaps is what the server uses from the client's capabilities.
type clientCaps struct {
	configuration    bool // workspace/configuration
	applyEdit        bool // workspace/applyEdit
	workDoneProgress bool // window/workDoneProgress/create
	inline           bool // textDocument.inlineCompletion: ghost text is the client's surface
	snippets         bool // textDocument.completion.completionItem.snippetSupport
	documentChanges  bool // workspace.workspaceEdit.documentChanges: versioned edits in applyEdit
}

type latestSlot struct {
	seq    uint64
	cancel context.CancelCauseFunc
}

// handlerFunc handles one method. ctx is cancelled when the client cancels
// the request, when a newer request supersedes it, or when the connection
// ends.
type handlerFunc func(ctx context.Context, req *jsonrpc2.Request) (any, error)

// New returns a server with the given options.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Name == "" {
		opts.Name = "dream-lsp"
	}
	if opts.MaxDocumentBytes == 0 {
		opts.MaxDocumentBytes = DefaultMaxDocumentBytes
	}
	if opts.Settings.Device == "" && opts.Settings.TriggerMode == "" {
		def := settings.Default()
		def.Model = opts.Settings.Model
		opts.Settings = def
	}
	s := &Server{opts: opts, log: opts.Logger, exit: make(chan struct{}), cache: newResultCache(128), related: crossfile.New(0, 0)}
	s.docs.m = map[string]*document.Document{}
	s.docs.deleted = map[string]bool{}
	s.calls.m = map[jsonrpc2.ID]context.CancelCauseFunc{}
	s.latest.m = map[string]latestSlot{}
	s.conf.cur = opts.Settings
	s.eng.state = StateLoading
	s.handlers = map[string]handlerFunc{
		protocol.MethodInitialize:                      s.initialize,
		protocol.MethodInitialized:                     s.initialized,
		protocol.MethodShutdown:                        s.shutdown,
		protocol.MethodExit:                            s.exitNotification,
		protocol.MethodCancelRequest:                   s.cancelRequest,
		protocol.MethodSetTrace:                        ignore,
		protocol.MethodWindowWorkDoneProgressCancel:    ignore,
		protocol.MethodTextDocumentDidOpen:             s.didOpen,
		protocol.MethodTextDocumentDidChange:           s.didChange,
		protocol.MethodTextDocumentDidClose:            s.didClose,
		protocol.MethodTextDocumentDidSave:             s.didSave,
		protocol.MethodTextDocumentInlineCompletion:    s.inlineCompletion,
		protocol.MethodTextDocumentCompletion:          s.completion,
		protocol.MethodTextDocumentCodeAction:          s.codeAction,
		protocol.MethodWorkspaceExecuteCommand:         s.executeCommand,
		protocol.MethodWorkspaceDidChangeConfiguration: s.didChangeConfiguration,
		MethodDidShowCompletion:                        s.didShowCompletion,
		MethodDidPartiallyAcceptCompletion:             s.didPartiallyAcceptCompletion,
	}
	return s
}

func ignore(context.Context, *jsonrpc2.Request) (any, error) { return nil, nil }

// Serve runs the server on a stream with LSP's Content-Length framing until
// the client sends exit, the stream ends or ctx is cancelled. It returns nil
// after shutdown and exit, ErrExitWithoutShutdown after exit alone, and
// ErrConnectionLost when the stream ended first. Serve closes rwc.
func (s *Server) Serve(ctx context.Context, rwc io.ReadWriteCloser) error {
	s.ctx, s.stop = context.WithCancel(ctx)
	defer s.stop()
	// When the client goes away, stop the work still running for it: the
	// connection only reports Done once every handler has returned.
	stream := &stopOnReadError{ReadWriteCloser: rwc, stop: s.stop}
	// wire answers malformed frames and messages and keeps reading, where
	// jsonrpc2's own header stream would end the session.
	wstream := wire.NewStream(stream, wire.Options{Logger: s.log, MaxMessageBytes: s.opts.MaxMessageBytes})
	s.conn = jsonrpc2.NewConn(wstream, jsonrpc2.WithCodec(codec{}))
	s.conn.Go(s.ctx, s.handle)

	var err error
	select {
	case <-s.exit:
		s.life.Lock()
		err = s.life.exitCode
		s.life.Unlock()
	case <-s.conn.Done():
		err = ErrConnectionLost
		s.life.Lock()
		if s.life.state == stateShutdown {
			err = nil
		}
		s.life.Unlock()
	case <-ctx.Done():
		err = ctx.Err()
	}
	// Cancel every request still running so the connection can go idle.
	s.stop()
	s.calls.Lock()
	for _, cancel := range s.calls.m {
		cancel(context.Canceled)
	}
	s.calls.Unlock()
	closed := make(chan struct{})
	go func() {
		_ = s.conn.Close()
		close(closed)
	}()
	// Close waits for the read loop, which may sit in a read of stdin that
	// only the client can end; after exit nothing is left to send, so do not
	// hold the process for it.
	select {
	case <-closed:
	case <-time.After(300 * time.Millisecond):
		s.log.Debug("connection still reading after exit; not waiting")
	}
	_ = rwc.Close()
	s.closeEngine()
	return err
}

// stopOnReadError calls stop once reading fails (the client closed the
// stream).
type stopOnReadError struct {
	io.ReadWriteCloser
	stop func()
}

// Read implements io.Reader.
func (r *stopOnReadError) Read(p []byte) (int, error) {
	n, err := r.ReadWriteCloser.Read(p)
	if err != nil {
		r.stop()
	}
	return n, err
}

// handle is the jsonrpc2 handler: lifecycle gating, cancellation
// bookkeeping, panic recovery and error mapping around the method handlers.
// It runs on the read loop until a handler calls jsonrpc2.Async.
func (s *Server) handle(ctx context.Context, req *jsonrpc2.Request) (result any, err error) {
	method := strings.Clone(req.Method()) // req's strings are borrowed from the frame
	isCall := req.IsCall()
	var id jsonrpc2.ID
	if isCall {
		id = req.ID()
	}
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("handler panicked", "method", method, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			result, err = nil, nil
			if isCall {
				err = jsonrpc2.Errorf(jsonrpc2.InternalError, "dream-lsp: internal error in %s", method)
			}
		}
	}()

	if gateErr := s.gate(method, isCall); gateErr != nil {
		if isCall {
			return nil, gateErr
		}
		return nil, nil
	}
	h, ok := s.handlers[method]
	if !ok {
		if isCall {
			return nil, jsonrpc2.Errorf(jsonrpc2.MethodNotFound, "method not found: %s", method)
		}
		return nil, nil // unknown notifications, $/ ones included, are ignored
	}
	// The request's own context is pooled by jsonrpc2 and must not be the
	// parent of a context that may outlive the handler (context.WithCancel
	// would watch it from a goroutine), so handlers run under the server's
	// context and keep the request's only for jsonrpc2.Async.
	rpcCtx := ctx
	ctx, cancel := context.WithCancelCause(context.WithValue(s.ctx, rpcCtxKey{}, rpcCtx))
	if !isCall {
		defer cancel(nil)
		if _, err := h(ctx, req); err != nil {
			s.log.Warn("notification failed", "method", method, "err", err)
		}
		return nil, nil // a notification error would fail the connection
	}
	s.calls.Lock()
	s.calls.m[id] = cancel
	s.calls.Unlock()
	defer func() {
		s.calls.Lock()
		delete(s.calls.m, id)
		s.calls.Unlock()
		cancel(nil)
	}()

	result, err = h(ctx, req)
	if ctx.Err() != nil && (err != nil || errors.Is(context.Cause(ctx), errSuperseded)) {
		// Cancelled by $/cancelRequest, by a newer request or by shutdown.
		result, err = nil, cancelledError(ctx)
	}
	if err != nil && s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.Debug("request failed", "method", method, "req_id", fmt.Sprint(id), "err", err)
	}
	s.log.Debug("request", "method", method, "req_id", fmt.Sprint(id), "dur_ms", msSince(start))
	return result, err
}

// rpcCtxKey is the context key of the jsonrpc2 request context, which
// release needs.
type rpcCtxKey struct{}

// release lets the read loop go on with later messages while the calling
// handler keeps running (jsonrpc2.Async). Call it at most once, after the
// params are decoded and the document snapshot is taken.
func release(ctx context.Context) {
	if rpcCtx, ok := ctx.Value(rpcCtxKey{}).(context.Context); ok {
		jsonrpc2.Async(rpcCtx)
	}
}

// cancelledError is the RequestCancelled reply for a cancelled request.
func cancelledError(ctx context.Context) error {
	if errors.Is(context.Cause(ctx), errSuperseded) {
		return jsonrpc2.NewError(protocol.CodeRequestCancelled, "superseded by a newer request for the document")
	}
	return jsonrpc2.NewError(protocol.CodeRequestCancelled, "request cancelled")
}

// gate enforces the lifecycle: before initialize only initialize and exit
// are served; after shutdown only exit is.
func (s *Server) gate(method string, isCall bool) error {
	s.life.Lock()
	state := s.life.state
	s.life.Unlock()
	switch {
	case method == protocol.MethodExit:
		return nil
	case state == stateCreated && method != protocol.MethodInitialize:
		return jsonrpc2.NewError(jsonrpc2.ServerNotInitialized, "server not initialized")
	case state != stateCreated && method == protocol.MethodInitialize:
		return jsonrpc2.NewError(jsonrpc2.InvalidRequest, "initialize sent twice")
	case state == stateShutdown:
		return jsonrpc2.NewError(jsonrpc2.InvalidRequest, "server is shut down")
	}
	return nil
}

// cancelRequest handles $/cancelRequest with a numeric or string id.
func (s *Server) cancelRequest(_ context.Context, req *jsonrpc2.Request) (any, error) {
	id, err := parseCancelID(req.Params())
	if err != nil {
		return nil, err
	}
	s.calls.Lock()
	cancel := s.calls.m[id]
	s.calls.Unlock()
	if cancel != nil {
		cancel(context.Canceled)
	}
	return nil, nil
}

// supersede registers a new model request for key (a document and request
// kind), cancelling the one it replaces, and returns a function that
// unregisters it.
func (s *Server) supersede(key string, cancel context.CancelCauseFunc) (done func()) {
	s.latest.Lock()
	if old, ok := s.latest.m[key]; ok {
		old.cancel(errSuperseded)
	}
	s.latest.seq++
	seq := s.latest.seq
	s.latest.m[key] = latestSlot{seq: seq, cancel: cancel}
	s.latest.Unlock()
	return func() {
		s.latest.Lock()
		if cur, ok := s.latest.m[key]; ok && cur.seq == seq {
			delete(s.latest.m, key)
		}
		s.latest.Unlock()
	}
}

// encoding returns the negotiated position encoding.
func (s *Server) encoding() document.Encoding {
	s.life.Lock()
	defer s.life.Unlock()
	return s.life.enc
}

// settings returns the effective settings.
func (s *Server) settings() settings.Options {
	s.conf.Lock()
	defer s.conf.Unlock()
	return s.conf.cur
}

// snapshot returns the current snapshot of uri, or nil if it is not open.
func (s *Server) snapshot(uri string) *document.Document {
	doc, _ := s.snapshotDeleted(uri)
	return doc
}

// snapshotDeleted is snapshot, also reporting whether the document's last
// edit only deleted text (backspace).
func (s *Server) snapshotDeleted(uri string) (*document.Document, bool) {
	s.docs.Lock()
	defer s.docs.Unlock()
	return s.docs.m[uri], s.docs.deleted[uri]
}

// notify sends a notification to the client, logging failures.
func (s *Server) notify(method string, params any) {
	if s.conn == nil {
		return
	}
	if err := s.conn.Notify(s.ctx, method, params); err != nil && s.ctx.Err() == nil {
		s.log.Debug("notify failed", "method", method, "err", err)
	}
}

// invalidParams wraps err as an InvalidParams reply.
func invalidParams(err error) error {
	return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%v", err)
}

// decode unmarshals params into v, mapping failures to InvalidParams.
func decode(req *jsonrpc2.Request, v any) error {
	params := req.Params()
	if len(params) == 0 {
		return invalidParams(errors.New("missing params"))
	}
	if err := protocol.Unmarshal(params, v); err != nil {
		return invalidParams(fmt.Errorf("decoding %s params: %w", req.Method(), err))
	}
	return nil
}

func msSince(t time.Time) float64 {
	return float64(time.Since(t).Microseconds()) / 1000
}
