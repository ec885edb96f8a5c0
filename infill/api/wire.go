package api

import "github.com/dream-lsp/dream-lsp/infill"

// Dream is the optional "dream" object of a request body: diffusion
// settings that dream-lsp api reads and other servers ignore (they do not
// know the field). Zero fields take the server's defaults.
type Dream struct {
	Steps int    `json:"steps,omitempty"` // denoising steps (0: one per middle token)
	Alg   string `json:"alg,omitempty"`   // sampler algorithm (origin, maskgit_plus, topk_margin, entropy, confidence_threshold)
	// Lengths are the middle lengths in tokens tried together, one canvas
	// each; every middle comes back in DreamResult.Middles (nil: one of
	// the request's max tokens).
	Lengths []int `json:"lengths,omitempty"`
	// Seed is recorded and echoed; the runtime samples greedily, so the
	// same request gives the same middles whatever the seed.
	Seed *uint64 `json:"seed,omitempty"`
	// BOS puts the model's BOS before the prefix: the prefix starts the
	// file (default false; dream-lsp's engine sets it as it does in-process).
	BOS bool `json:"bos,omitempty"`
	// Expand runs DreamOn's variable-length loop on a model with the
	// expand token (nil: when Lengths is empty).
	Expand *bool `json:"expand,omitempty"`
}

// DreamResult is the "dream" object of a response: every middle (in the
// order of the lengths, not post-processed) with its confidences, and the
// settings used.
type DreamResult struct {
	Middles []infill.Middle `json:"middles"`
	Lengths []int           `json:"lengths"`
	Steps   int             `json:"steps"`
	Alg     string          `json:"alg"`
	Seed    *uint64         `json:"seed,omitempty"`
}

// Chunk is a piece of another file (llama.cpp's input_extra).
type Chunk struct {
	Filename string `json:"filename"`
	Text     string `json:"text"`
}

// Endpoint paths of the four request shapes.
const (
	PathOpenAI   = "/v1/completions"
	PathMistral  = "/v1/fim/completions"
	PathLlamaCpp = "/infill"
	PathOllama   = "/api/generate"
)
