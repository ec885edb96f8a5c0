package infill

import (
	"slices"
	"strings"

	"github.com/dream-lsp/dream-lsp/context/window"
)

// DefaultMinConfidence is the confidence a candidate needs to be shown
// when neither the request nor the engine's options set one. It was
// calibrated on the HumanEval-X Go single-line tasks of problems 0-49 with
// the built-in model (docs/BENCHMARKS.md, "Suggestion policy"): the lowest
// threshold at which at least 95 % of the shown suggestions keep the file
// parsing on each half of the problems (even and odd) separately, plus one
// 0.01 step of margin. Another model needs its own calibration
// (dream-lsp eval prints the curve).
const DefaultMinConfidence = 0.12

// ConfidenceMeasure names the statistic Candidate.Confidence holds:
// "token-min", the least confidence of any token of the middle. It ranks
// candidates by whether the file keeps parsing better than the mean over
// the slots or over the tokens (AUROC 0.79 / 0.68 on the two halves
// against 0.74-0.77 / 0.61), and reaches 95 % parsing at the highest
// coverage: one unsure token is enough to break a line.
const ConfidenceMeasure = "token-min"

// Threshold turns the user setting minConfidence (0: no threshold) into
// Request.MinConfidence (where 0 means the engine's default).
func Threshold(setting float64) float64 {
	if setting <= 0 {
		return -1
	}
	return setting
}

// threshold is the request's effective MinConfidence (0: none).
func (e *Engine) threshold(req Request) float64 {
	t := req.MinConfidence
	if t == 0 {
		t = e.opts.MinConfidence
	}
	return max(t, 0)
}

// measure picks the policy's confidence statistic.
func measure(c Candidate) float64 {
	switch ConfidenceMeasure {
	case "token-mean":
		return c.TokenMean
	case "token-min":
		return c.TokenMin
	}
	return c.SlotMean
}

// judge applies the suggestion policy to one candidate: it is shown only
// if it is not a no-op (blank, or the text just before or after the
// cursor again), the spliced document parses no worse than before, and
// its confidence reaches min. It returns "" for a candidate to show.
func judge(c Candidate, text string, sp window.Span, min float64) Reason {
	if r := noop(c, text, sp); r != "" {
		return r
	}
	if !c.Parses {
		return DropParse
	}
	if c.Confidence < min {
		return DropConfidence
	}
	return ""
}

// noop reports whether a candidate would change nothing worth showing: it
// is blank, or it repeats the end of the text before it or the start of
// the text after it. Repeats count only when they hold a word: a "}" that
// closes a block above another "}" is a real completion.
func noop(c Candidate, text string, sp window.Span) Reason {
	t := strings.TrimSpace(c.Text)
	if t == "" || emptyComment(t) {
		return DropBlank
	}
	if !hasWord(t) {
		return ""
	}
	before, after := text[:c.Start], text[c.End:]
	if sp.Continues() {
		// The middle continues the cursor's line: "return x" + "x".
		if b := strings.TrimSpace(before); strings.HasSuffix(b, t) && (len(b) == len(t) || !isWordByte(b[len(b)-len(t)-1]) || !isWordByte(t[0])) {
			return DropRepeatsPrefix
		}
	} else if lastLines(before, strings.Count(t, "\n")+1) == normLines(t) {
		// Whole lines that equal the lines just above.
		return DropRepeatsPrefix
	}
	want := normLines(t)
	if rest := firstLines(after, strings.Count(want, "\n")+1); strings.HasPrefix(rest, want) {
		n := len(want)
		if n == len(rest) || !isWordByte(rest[n]) || !isWordByte(want[n-1]) {
			return DropRepeatsSuffix
		}
	}
	return ""
}

// firstLines returns the first n non-blank lines of s, normalised, reading
// no further than it needs.
func firstLines(s string, n int) string {
	var out []string
	for len(out) < n && s != "" {
		l, rest, _ := strings.Cut(s, "\n")
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
		s = rest
	}
	return strings.Join(out, "\n")
}

// emptyComment reports whether t is only comment markers and punctuation
// ("//", "// -", "#", "/* */"): a comment that says nothing.
func emptyComment(t string) bool {
	for _, l := range strings.Split(t, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "//") && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "/*") && !strings.HasPrefix(l, "*") {
			return false
		}
		if hasLetter(strings.TrimLeft(l, "/#*")) {
			return false
		}
	}
	return true
}

// normLines trims every line and drops blank ones.
func normLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// lastLines returns the last n non-blank lines of s, normalised, reading
// back no further than it needs (s is the whole text before the cursor).
func lastLines(s string, n int) string {
	var out []string
	for len(out) < n && s != "" {
		i := strings.LastIndexByte(s, '\n')
		if l := strings.TrimSpace(s[i+1:]); l != "" {
			out = append(out, l)
		}
		s = s[:max(i, 0)]
	}
	slices.Reverse(out)
	return strings.Join(out, "\n")
}

func hasWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if isWordByte(s[i]) {
			return true
		}
	}
	return false
}

func hasLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 {
			return true
		}
	}
	return false
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
