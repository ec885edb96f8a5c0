// Package lsptest provides test fixtures for the language server: fake
// engines with deterministic output and an in-process client that talks to a
// real Server over a pipe. The fake engines are also what the dream-lsp
// binary serves when DREAM_LSP_TEST_ENGINE is set (a test fixture, never a
// user feature), so tests in other languages can run it without a model.
package lsptest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/lsp"
	"github.com/dream-lsp/dream-lsp/lsp/settings"
)

// HoleMarker is the hole the fake engines fill in FillHoles.
const HoleMarker = "/*?*/"

// Closers are the characters Echo swallows right of the cursor, as a model
// re-typing auto-closed brackets and quotes would.
const Closers = ")]}\"'`>"

// EchoText returns the text of Echo's k-th candidate for the word before the
// cursor and the closers right of it.
func EchoText(word string, k int, closers string) string {
	return fmt.Sprintf("echo%d(%s)%s", k, word, closers)
}

// Echo is a deterministic engine. Its k-th candidate at a cursor is
// EchoText(word, k, closers), where word is the identifier before the cursor
// and closers the run of Closers right of it on the same line; the candidate
// replaces those closers. It waits Delay (honouring ctx) before answering.
// FillHoles replaces each HoleMarker with "hole<i>". Safe for concurrent use.
type Echo struct {
	Delay time.Duration
	calls atomic.Int64
}

// Calls returns how many times Complete was called.
func (e *Echo) Calls() int64 { return e.calls.Load() }

// Complete implements lsp.Engine.
func (e *Echo) Complete(ctx context.Context, req infill.Request) (*infill.Result, error) {
	e.calls.Add(1)
	if req.Offset < 0 || req.Offset > len(req.Text) {
		return nil, fmt.Errorf("echo: offset %d outside a %d-byte text", req.Offset, len(req.Text))
	}
	if err := sleep(ctx, e.Delay); err != nil {
		return nil, err
	}
	return EchoResult(req), nil
}

// EchoResult computes Echo's answer without waiting.
func EchoResult(req infill.Request) *infill.Result {
	start := req.Offset
	for start > 0 {
		r, size := utf8.DecodeLastRuneInString(req.Text[:start])
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		start -= size
	}
	word := req.Text[start:req.Offset]
	end := req.Offset
	for end < len(req.Text) && strings.IndexByte(Closers, req.Text[end]) >= 0 {
		end++
	}
	closers := req.Text[req.Offset:end]
	n := max(req.Candidates, 1)
	res := &infill.Result{}
	for k := range n {
		res.Candidates = append(res.Candidates, infill.Candidate{
			Text: EchoText(word, k, closers), Start: req.Offset, End: end, Score: 1 / float64(k+1), Parses: true, Tokens: 4,
		})
	}
	return res
}

// FillHoles implements lsp.Engine.
func (e *Echo) FillHoles(ctx context.Context, req infill.HolesRequest) ([]infill.Edit, error) {
	if err := sleep(ctx, e.Delay); err != nil {
		return nil, err
	}
	if req.Start < 0 || req.End < req.Start || req.End > len(req.Text) {
		return nil, errors.New("echo: range outside the text")
	}
	var edits []infill.Edit
	for off := req.Start; ; {
		i := strings.Index(req.Text[off:req.End], HoleMarker)
		if i < 0 {
			break
		}
		edits = append(edits, infill.Edit{Start: off + i, End: off + i + len(HoleMarker), NewText: fmt.Sprintf("hole%d", len(edits))})
		off += i + len(HoleMarker)
	}
	return edits, nil
}

// Backend implements lsp.EngineInfo.
func (e *Echo) Backend() string { return "cpu" }

// ModelName implements lsp.EngineInfo.
func (e *Echo) ModelName() string { return "test-echo" }

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Gate is an engine that blocks every Complete call whose text contains
// Marker until Release is called or the call's ctx is done; other calls
// answer like Echo at once. It shows that a stuck model holds up nothing
// else.
type Gate struct {
	Marker  string
	Started chan string // receives the path of each blocking call as it starts (buffered by NewGate)
	once    sync.Once
	release chan struct{}
	echo    Echo
}

// NewGate returns a Gate blocking on texts that contain marker.
func NewGate(marker string) *Gate {
	return &Gate{Marker: marker, Started: make(chan string, 64), release: make(chan struct{})}
}

// Release lets every blocked and future call proceed.
func (g *Gate) Release() { g.once.Do(func() { close(g.release) }) }

// Complete implements lsp.Engine.
func (g *Gate) Complete(ctx context.Context, req infill.Request) (*infill.Result, error) {
	if g.Marker != "" && strings.Contains(req.Text, g.Marker) {
		select {
		case g.Started <- req.Path:
		default:
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-g.release:
		}
	}
	return g.echo.Complete(ctx, req)
}

// FillHoles implements lsp.Engine.
func (g *Gate) FillHoles(ctx context.Context, req infill.HolesRequest) ([]infill.Edit, error) {
	return g.echo.FillHoles(ctx, req)
}

// Panicker panics in Complete when the text contains Marker, else echoes.
type Panicker struct {
	Marker string
	echo   Echo
}

// Complete implements lsp.Engine.
func (p *Panicker) Complete(ctx context.Context, req infill.Request) (*infill.Result, error) {
	if strings.Contains(req.Text, p.Marker) {
		panic("lsptest: deliberate panic")
	}
	return p.echo.Complete(ctx, req)
}

// FillHoles implements lsp.Engine.
func (p *Panicker) FillHoles(ctx context.Context, req infill.HolesRequest) ([]infill.Edit, error) {
	return p.echo.FillHoles(ctx, req)
}

// Loader returns a Loader that hands out e at once.
func Loader(e lsp.Engine) lsp.Loader {
	return func(ctx context.Context, _ settings.Options, progress func(int, string)) (lsp.Engine, error) {
		progress(100, "test engine")
		return e, ctx.Err()
	}
}

// EngineByName returns the fake engine a binary under test serves
// (DREAM_LSP_TEST_ENGINE): "echo" answers at once, "slow" waits delay per
// request, "panic" panics on texts containing "PANIC".
func EngineByName(name string, delay time.Duration) (lsp.Engine, error) {
	switch name {
	case "echo":
		return &Echo{}, nil
	case "slow":
		return &Echo{Delay: delay}, nil
	case "panic":
		return &Panicker{Marker: "PANIC"}, nil
	}
	return nil, fmt.Errorf("lsptest: unknown test engine %q (want echo, slow or panic)", name)
}
