package infill

import (
	"time"

	"github.com/dream-lsp/dream-lsp/context/crossfile"
)

// Request asks for completions at one cursor position in a document.
type Request struct {
	Path       string // for language detection when LanguageID is empty
	LanguageID string // LSP language id ("go", "python", ...)
	Text       string // the whole document, UTF-8
	Offset     int    // cursor, byte offset into Text
	MaxTokens  int    // upper bound on the middle's length in tokens (0: default)
	Steps      int    // 0: default
	Alg        string // "": default
	Length     string // "auto" (default), "fixed=N", "oracle=N" (eval only)
	Candidates int    // how many to return (1 for automatic triggers)
	// MinConfidence is the least Candidate.Confidence a candidate needs to
	// be shown (see Policy): 0 uses Options.MinConfidence; a negative value
	// shows candidates whatever their confidence (the other checks stay).
	MinConfidence float64
	// Related are chunks of other documents (crossfile.Ring.Chunks). The
	// engine ranks them by similarity to the lines around the cursor and
	// places the best before the prefix, each under a comment naming its
	// path, in the part of the context budget the local window leaves.
	Related []crossfile.Chunk
}

// Candidate is one proposed completion.
type Candidate struct {
	Text       string  // text that replaces Text[Start:End]
	Start, End int     // byte offsets in Request.Text; End > Start when auto-closed characters are swallowed
	Score      float64 // higher is better (model confidence, syntax validity)
	Parses     bool    // the spliced document parses no worse than before
	Tokens     int     // tokens of the middle the model produced
	// Confidence is the model's confidence in the middle that the
	// suggestion policy compares with MinConfidence: ConfidenceMeasure of
	// the three statistics below (all in [0, 1]).
	Confidence float64
	SlotMean   float64 // mean sampler confidence over the canvas's masked slots, end-of-text slots included
	TokenMean  float64 // mean over the middle's own tokens
	TokenMin   float64 // the least confidence of any of the middle's tokens
}

// Timing splits the time of one Complete call into its phases.
type Timing struct {
	Context time.Duration // language detection, parsing, span and windows
	Model   time.Duration // denoising
	Post    time.Duration // post-processing, validation and ranking
}

// Result is the answer to a Request: candidates best first.
type Result struct {
	Candidates []Candidate
	// Dropped are the candidates the suggestion policy held back, best
	// first, each with the reason (for --json output and logs).
	Dropped []Dropped
	Timing  Timing
}

// Dropped is a candidate the suggestion policy did not show.
type Dropped struct {
	Candidate
	Reason Reason
}

// Reason says why the suggestion policy held a candidate back.
type Reason string

// The reasons, in the order the policy checks them.
const (
	DropBlank         Reason = "blank"          // empty or whitespace only
	DropRepeatsPrefix Reason = "repeats-prefix" // the text just before the cursor again
	DropRepeatsSuffix Reason = "repeats-suffix" // the text just after the cursor again
	DropParse         Reason = "parse"          // the spliced document has more syntax errors than before
	DropConfidence    Reason = "confidence"     // Confidence below the request's MinConfidence
)

// HolesRequest asks to fill every marked hole in Text[Start:End]
// (Start = End = 0: the whole document). Markers: "/* fill */", "// fill"
// ("# fill" in Python) and "..." where it is not code (not spread syntax).
type HolesRequest struct {
	LanguageID, Path, Text string
	Start, End             int
}

// Edit replaces Text[Start:End] with NewText.
type Edit struct {
	Start, End int
	NewText    string
}
