package lsp

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"time"

	"go.lsp.dev/protocol"

	"github.com/dream-lsp/dream-lsp/lsp/settings"
)

// engineState is the loaded engine and its loading state.
type engineState struct {
	sync.Mutex
	started bool       // startLoad ran at least once
	ref     *engineRef // nil until loaded
	state   string     // StateLoading, StateReady or StateError
	message string
	gen     int                // bumped by every load
	cancel  context.CancelFunc // cancels the load in progress
}

// engineRef counts the requests using one engine so it is closed only
// after the last of them finishes.
type engineRef struct {
	engine         Engine
	backend, model string
	gen            int
	users          sync.WaitGroup
}

// statusState is what dream/status reports besides the engine state.
type statusState struct {
	sync.Mutex
	busy        int           // completions running the model
	lastLatency time.Duration // of the last completion that ran the model
	slow        bool          // the last completion hit (or nearly hit) the deadline
	failed      string        // message of the last failed completion, "" after a success
	sent        Status        // last notification sent
}

// acquire returns the ready engine, or nil. The caller must call
// ref.users.Done() when it no longer uses the engine.
func (s *Server) acquire() *engineRef {
	s.eng.Lock()
	defer s.eng.Unlock()
	if s.eng.ref == nil {
		return nil
	}
	s.eng.ref.users.Add(1)
	return s.eng.ref
}

// startLoad (re)loads the engine for the current settings in the calling
// goroutine, reporting progress with $/progress when the client supports it
// and the state with dream/status.
func (s *Server) startLoad() {
	opts := s.settings()
	s.eng.Lock()
	if s.eng.cancel != nil {
		s.eng.cancel()
	}
	old := s.eng.ref
	s.eng.ref = nil
	s.eng.started = true
	s.eng.state, s.eng.message = StateLoading, "loading model"
	s.eng.gen++
	gen := s.eng.gen
	ctx, cancel := context.WithCancel(s.ctx)
	s.eng.cancel = cancel
	s.eng.Unlock()
	defer cancel()
	s.retire(old)
	s.sendStatus(true)

	if s.opts.Load == nil {
		s.setEngine(gen, nil, fmt.Errorf("no model runtime is available in this build"))
		return
	}
	progress := s.beginProgress(ctx, gen)
	start := time.Now()
	engine, err := s.load(ctx, opts, progress.report)
	if err == nil && engine == nil {
		err = fmt.Errorf("loader returned no engine")
	}
	if err != nil {
		progress.end("failed")
	} else {
		progress.end("ready")
	}
	if ctx.Err() != nil { // replaced by a newer load or shutting down
		if engine != nil {
			closeEngine(engine)
		}
		return
	}
	if err == nil {
		s.log.Info("model loaded", "model", opts.Model, "device", opts.Device, "dur_ms", msSince(start))
	}
	s.setEngine(gen, engine, err)
}

// load calls the Loader, turning a panic into an error: it runs on a
// goroutine of its own, where a panic would end the process.
func (s *Server) load(ctx context.Context, opts settings.Options, progress func(int, string)) (e Engine, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("model loader panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			e, err = nil, fmt.Errorf("model loader panicked: %v", r)
		}
	}()
	return s.opts.Load(ctx, opts, progress)
}

// setEngine installs the result of load gen unless a newer load started.
func (s *Server) setEngine(gen int, engine Engine, err error) {
	s.eng.Lock()
	if gen != s.eng.gen {
		s.eng.Unlock()
		if engine != nil {
			closeEngine(engine)
		}
		return
	}
	if err != nil {
		s.eng.state, s.eng.message = StateError, fmt.Sprintf("model failed to load: %v", err)
		s.eng.Unlock()
		s.log.Error("model failed to load", "err", err)
		s.sendStatus(true)
		return
	}
	ref := &engineRef{engine: engine, gen: gen, backend: "cpu", model: s.settings().Model}
	if info, ok := engine.(EngineInfo); ok {
		ref.backend, ref.model = info.Backend(), info.ModelName()
	}
	if ref.model == "" {
		ref.model = "builtin"
	}
	s.eng.ref = ref
	s.eng.state, s.eng.message = StateReady, ""
	s.eng.Unlock()
	s.cache.clear()
	s.sendStatus(true)
}

// retire closes ref's engine once no request uses it.
func (s *Server) retire(ref *engineRef) {
	if ref == nil {
		return
	}
	go func() {
		ref.users.Wait()
		closeEngine(ref.engine)
	}()
}

// closeEngine stops loading and closes the current engine (Serve's end).
func (s *Server) closeEngine() {
	s.eng.Lock()
	if s.eng.cancel != nil {
		s.eng.cancel()
	}
	ref := s.eng.ref
	s.eng.ref = nil
	s.eng.Unlock()
	if ref != nil {
		ref.users.Wait()
		closeEngine(ref.engine)
	}
}

func closeEngine(e Engine) {
	if c, ok := e.(io.Closer); ok {
		_ = c.Close()
	}
}

// status computes the current status.
func (s *Server) status() Status {
	s.eng.Lock()
	st := Status{State: s.eng.state, Message: s.eng.message}
	if s.eng.ref != nil {
		st.Backend, st.Model = s.eng.ref.backend, s.eng.ref.model
	}
	s.eng.Unlock()
	s.conf.Lock()
	disabled := s.conf.disabled
	s.conf.Unlock()
	s.stat.Lock()
	st.LastLatencyMs = float64(s.stat.lastLatency.Microseconds()) / 1000
	if st.State == StateReady {
		switch {
		case s.stat.busy > 0:
			st.State = StateBusy
		case s.stat.failed != "":
			st.State, st.Message = StateError, s.stat.failed
		case s.stat.slow:
			st.State, st.Message = StateSlow, "completions are running into the deadline (deadlineMs)"
		}
	}
	s.stat.Unlock()
	if disabled {
		st.State, st.Message = StateDisabled, "completions are turned off (dream.toggle)"
	}
	return st
}

// sendStatus sends dream/status if it changed since the last one, or
// always when force is set.
func (s *Server) sendStatus(force bool) {
	st := s.status()
	s.stat.Lock()
	changed := st != s.stat.sent
	s.stat.sent = st
	s.stat.Unlock()
	if changed || force {
		s.notify(MethodStatus, rawJSON(st))
	}
}

// progressReporter sends $/progress for one model load. Its methods are
// no-ops when the client does not support work-done progress.
type progressReporter struct {
	s     *Server
	token string
	mu    sync.Mutex
	last  int
	ended bool
}

func (s *Server) beginProgress(ctx context.Context, gen int) *progressReporter {
	p := &progressReporter{s: s, last: -1}
	s.life.Lock()
	supported := s.life.caps.workDoneProgress
	s.life.Unlock()
	if !supported || s.conn == nil {
		return p
	}
	token := fmt.Sprintf("dream-load-%d", gen)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	params := protocol.WorkDoneProgressCreateParams{Token: protocol.String(token)}
	if _, err := s.conn.Call(cctx, protocol.MethodWindowWorkDoneProgressCreate, &params, nil); err != nil {
		s.log.Debug("window/workDoneProgress/create failed", "err", err)
		return p
	}
	p.token = token
	p.send(map[string]any{"kind": "begin", "title": "dream: loading model", "cancellable": false, "percentage": 0})
	return p
}

func (p *progressReporter) send(value map[string]any) {
	p.s.notify(protocol.MethodProgress, rawJSON(map[string]any{"token": p.token, "value": value}))
}

// report is the Loader's progress callback.
func (p *progressReporter) report(percent int, message string) {
	if p.token == "" {
		return
	}
	percent = max(0, min(percent, 100))
	p.mu.Lock()
	if p.ended || percent == p.last {
		p.mu.Unlock()
		return
	}
	p.last = percent
	p.mu.Unlock()
	p.send(map[string]any{"kind": "report", "message": message, "percentage": percent})
}

func (p *progressReporter) end(message string) {
	if p.token == "" {
		return
	}
	p.mu.Lock()
	p.ended = true
	p.mu.Unlock()
	p.send(map[string]any{"kind": "end", "message": message})
}
