package infill

import (
	"context"
	"errors"
)

// Engine completes code at a cursor. It is safe for concurrent use.
type Engine struct {
	rt Runtime
}

// errNotReady is returned until the engine is wired to a runtime.
var errNotReady = errors.New("infill: engine has no runtime")

// Complete returns candidates for the middle at req.Offset, best first.
func (e *Engine) Complete(ctx context.Context, req Request) (*Result, error) {
	if e == nil || e.rt == nil {
		return nil, errNotReady
	}
	return e.complete(ctx, req)
}

// FillHoles fills every explicit hole marker in Text[Start:End] jointly and
// returns one edit per hole.
func (e *Engine) FillHoles(ctx context.Context, req HolesRequest) ([]Edit, error) {
	if e == nil || e.rt == nil {
		return nil, errNotReady
	}
	return e.fillHoles(ctx, req)
}
