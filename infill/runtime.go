package infill

import "context"

// Runtime is what infill needs from a model runtime. The real one is an
// adapter over runtime/engine.Engine (see FromEngine); tests use a fake.
type Runtime interface {
	// Encode tokenizes user text in plain mode: special tokens typed in the
	// text are ordinary text.
	Encode(text string) []int
	// Decode turns ids back into text.
	Decode(ids []int) string
	// MaskID is the id of the mask token.
	MaskID() int
	// EOSID is the end-of-text id; PadID the padding id (may equal EOSID).
	EOSID() int
	PadID() int
	// ExpandID is DreamOn's expand token when the checkpoint has one.
	ExpandID() (int, bool)
	// BOSID is the token a canvas starts with when its prefix reaches the
	// start of the file, when the model has one.
	BOSID() (int, bool)
	// MaxPositions is the longest canvas the model accepts (0: no limit).
	MaxPositions() int
	// Denoise fills the mask slots of every canvas.
	Denoise(ctx context.Context, req DenoiseRequest) (*DenoiseResult, error)
}

// DenoiseRequest is a batch of canvases for the runtime to fill.
type DenoiseRequest struct {
	Canvases [][]int // slots equal to MaskID are filled; the rest are pinned
	Steps    int     // denoising steps (>= 1)
	RowSteps []int   // optional per-canvas steps (0: Steps); shorter canvases finish and leave the batch early
	Alg      string  // sampler algorithm ("" : the runtime's default)
	// Threshold and BlockSize are confidence_threshold's τ and block of
	// masked slots (0: DefaultThreshold and DefaultBlockSize; BlockSize -1:
	// the whole canvas is one block). Other algorithms ignore them.
	Threshold float64
	BlockSize int
	// EOSRuns fills end-of-text padding a stretch at a time
	// (denoise.Request.EOSRuns).
	EOSRuns bool
}

// DenoiseResult holds the filled canvases and per-slot confidences.
type DenoiseResult struct {
	Canvases   [][]int
	Confidence [][]float32 // per slot; 0 for pinned slots
}
