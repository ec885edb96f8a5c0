package denoise

import (
	"fmt"

	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// checkRequest checks what Run, runDevice and Stream.Add all need of a
// request before they look at its rows.
func checkRequest(req Request) error {
	if req.Steps < 1 {
		return fmt.Errorf("denoise: steps = %d, need at least 1", req.Steps)
	}
	if len(req.Canvases) == 0 {
		return fmt.Errorf("denoise: no canvases")
	}
	if req.RowSteps != nil && len(req.RowSteps) != len(req.Canvases) {
		return fmt.Errorf("denoise: %d row step counts for %d canvases", len(req.RowSteps), len(req.Canvases))
	}
	return nil
}

// rowStepsOf returns canvas r's step count: req.RowSteps[r] when set,
// else req.Steps.
func rowStepsOf(req Request, r int) (int, error) {
	if req.RowSteps != nil && req.RowSteps[r] != 0 {
		if req.RowSteps[r] < 0 {
			return 0, fmt.Errorf("denoise: canvas %d: steps = %d", r, req.RowSteps[r])
		}
		return req.RowSteps[r], nil
	}
	return req.Steps, nil
}

// rowState is the per-canvas state every runner keeps: the canvases being
// filled with their confidences, each row's schedule and sampler, and the
// confidence_threshold blocks.
type rowState struct {
	steps    int   // the largest row step count
	rowSteps []int // per row
	res      *Result
	samplers []*sampler.Sampler // nil entries when the device draws
	// Fast-dLLM's blocks (confidence_threshold): each masked position's
	// block is its rank among the canvas's initial masks over the block
	// size; nil rows without blocks.
	blockOf [][]int
}

// newRows checks req's canvases row by row (step count, not empty, at
// most maxPos tokens when maxPos > 0, token ids inside the vocabulary)
// and sets up their state, with a sampler per row when draw is set. A bad
// canvas fails here, before any forward pass. req must have passed
// checkRequest.
func newRows(req Request, mask, vocab, maxPos int, draw bool) (*rowState, error) {
	n := len(req.Canvases)
	rs := &rowState{
		steps:    req.Steps,
		rowSteps: make([]int, n),
		res:      &Result{Canvases: make([][]int, n), Confidence: make([][]float32, n)},
		samplers: make([]*sampler.Sampler, n),
		blockOf:  make([][]int, n),
	}
	blockSize := req.Sampler.BlocksOf()
	for r, c := range req.Canvases {
		steps, err := rowStepsOf(req, r)
		if err != nil {
			return nil, err
		}
		rs.rowSteps[r] = steps
		rs.steps = max(rs.steps, steps)
		if len(c) == 0 {
			return nil, fmt.Errorf("denoise: canvas %d is empty", r)
		}
		if maxPos > 0 && len(c) > maxPos {
			return nil, fmt.Errorf("denoise: canvas %d has %d tokens, more than max_position_embeddings %d", r, len(c), maxPos)
		}
		for j, id := range c {
			if id < 0 || id >= vocab {
				return nil, fmt.Errorf("denoise: canvas %d: token id %d at %d outside the vocabulary [0,%d)", r, id, j, vocab)
			}
		}
		rs.res.Canvases[r] = append([]int(nil), c...)
		rs.res.Confidence[r] = make([]float32, len(c))
		if draw {
			s, err := sampler.New(req.Sampler, steps, r)
			if err != nil {
				return nil, fmt.Errorf("denoise: %w", err)
			}
			rs.samplers[r] = s
		}
		if blockSize > 0 {
			rs.blockOf[r] = make([]int, len(c))
			rank := 0
			for j, id := range c {
				if id == mask {
					rs.blockOf[r][j] = rank / blockSize
					rank++
				}
			}
		}
	}
	return rs, nil
}

// maskedInputs gathers one step's forward pass: each canvas that still has
// masks, with its masked positions to score, the canvases' indices and
// the masks left in all.
func maskedInputs(canvases [][]int, mask int) (inputs []model.Input, idx []int, left int) {
	for r, c := range canvases {
		var want []int
		for j, id := range c {
			if id == mask {
				want = append(want, j)
			}
		}
		if len(want) > 0 {
			inputs = append(inputs, model.Input{IDs: c, Want: want})
			idx = append(idx, r)
			left += len(want)
		}
	}
	return inputs, idx, left
}

// slotBlocks returns the confidence_threshold block of each slot in want
// from its row's blockOf (nil, no blocks, when blockOf is nil).
func slotBlocks(blockOf, want []int) []int {
	if blockOf == nil {
		return nil
	}
	blocks := make([]int, len(want))
	for j, p := range want {
		blocks[j] = blockOf[p]
	}
	return blocks
}
