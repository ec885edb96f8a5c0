package infill

import "context"

func (e *Engine) complete(ctx context.Context, req Request) (*Result, error) {
	return nil, errNotReady
}

func (e *Engine) fillHoles(ctx context.Context, req HolesRequest) ([]Edit, error) {
	return nil, errNotReady
}
