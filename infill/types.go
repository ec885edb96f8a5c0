package infill

import "time"

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
}

// Candidate is one proposed completion.
type Candidate struct {
	Text       string  // text that replaces Text[Start:End]
	Start, End int     // byte offsets in Request.Text; End > Start when auto-closed characters are swallowed
	Score      float64 // higher is better (model confidence, syntax validity)
	Parses     bool    // the spliced document parses no worse than before
	Tokens     int     // tokens of the middle the model produced
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
	Reason string
}

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
