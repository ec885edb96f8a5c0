// Package infilltest provides a deterministic fake runtime for tests of
// infill and its users: a byte-level tokenizer and a scripted denoiser.
package infilltest

import (
	"context"
	"fmt"
	"sync"

	"github.com/dream-lsp/dream-lsp/infill"
)

// Special ids of the fake vocabulary (bytes are ids 0..255).
const (
	Mask   = 1000
	EOS    = 1001
	Expand = 1002
)

// Fill is the scripted output for one masked run: the text to place in the
// masks (bytes; cut to fit, the rest becomes EOS) and the confidence of
// every slot.
type Fill struct {
	Text string
	Conf float32
}

// Runtime is a fake infill.Runtime. Script is called once per run of
// masks in a canvas: row is the canvas index in the batch, hole the index
// of the run in the canvas, masks its length, before the decoded canvas
// before the run. A nil Script fills every mask with EOS.
type Runtime struct {
	Script    func(row, hole, masks int, before string) Fill
	HasExpand bool
	BOS       int // when > 0, BOSID returns it
	MaxPos    int // MaxPositions; Denoise rejects longer canvases

	mu    sync.Mutex
	Calls []infill.DenoiseRequest // every request, for assertions
}

var _ infill.Runtime = (*Runtime)(nil)

// Encode maps each byte to its id.
func (r *Runtime) Encode(text string) []int {
	out := make([]int, len(text))
	for i := 0; i < len(text); i++ {
		out[i] = int(text[i])
	}
	return out
}

// Decode maps byte ids back; special ids decode to nothing.
func (r *Runtime) Decode(ids []int) string {
	b := make([]byte, 0, len(ids))
	for _, id := range ids {
		if id >= 0 && id < 256 {
			b = append(b, byte(id))
		}
	}
	return string(b)
}

// MaskID returns Mask.
func (r *Runtime) MaskID() int { return Mask }

// EOSID returns EOS.
func (r *Runtime) EOSID() int { return EOS }

// PadID returns EOS (as Dream does).
func (r *Runtime) PadID() int { return EOS }

// ExpandID returns Expand when HasExpand.
func (r *Runtime) ExpandID() (int, bool) { return Expand, r.HasExpand }

// BOSID returns BOS when set.
func (r *Runtime) BOSID() (int, bool) { return r.BOS, r.BOS > 0 }

// MaxPositions returns MaxPos.
func (r *Runtime) MaxPositions() int { return r.MaxPos }

// Denoise fills every run of masks from the script.
func (r *Runtime) Denoise(ctx context.Context, req infill.DenoiseRequest) (*infill.DenoiseResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req.Steps < 1 {
		return nil, fmt.Errorf("fake: steps %d < 1", req.Steps)
	}
	r.mu.Lock()
	r.Calls = append(r.Calls, req)
	r.mu.Unlock()
	out := &infill.DenoiseResult{}
	for row, c := range req.Canvases {
		if r.MaxPos > 0 && len(c) > r.MaxPos {
			return nil, fmt.Errorf("fake: canvas of %d tokens exceeds %d positions", len(c), r.MaxPos)
		}
		got := append([]int(nil), c...)
		conf := make([]float32, len(c))
		hole := 0
		for i := 0; i < len(c); {
			if c[i] != Mask {
				i++
				continue
			}
			j := i
			for j < len(c) && c[j] == Mask {
				j++
			}
			f := Fill{}
			if r.Script != nil {
				f = r.Script(row, hole, j-i, r.Decode(c[:i]))
			}
			for k := i; k < j; k++ {
				got[k] = EOS
				if k-i < len(f.Text) {
					got[k] = int(f.Text[k-i])
				}
				if f.Text == "\x00expand" {
					got[k] = Expand
				}
				conf[k] = f.Conf
			}
			hole++
			i = j
		}
		out.Canvases = append(out.Canvases, got)
		out.Confidence = append(out.Confidence, conf)
	}
	return out, nil
}
