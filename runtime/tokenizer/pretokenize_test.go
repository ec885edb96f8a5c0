package tokenizer

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// splitAll returns the pre-tokens of s under kind k.
func splitAll(k splitKind, s string) []string {
	out := []string{}
	for i := 0; i < len(s); {
		j := k.next(s, i)
		if j <= i || j > len(s) {
			panic("pre-tokenizer made no progress")
		}
		out = append(out, s[i:j])
		i = j
	}
	return out
}

// TestPreTokenizeGolden compares the scanner with splits computed by
// Python's regex module (testdata/gen_pretokenize.py) on hand-picked and
// random strings.
func TestPreTokenizeGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/pretokenize_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Text string   `json:"text"`
		Qwen []string `json:"qwen"`
		GPT2 []string `json:"gpt2"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 100 {
		t.Fatalf("only %d golden cases", len(cases))
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.Qwen, splitAll(splitQwen, c.Text)); diff != "" {
			t.Errorf("qwen %q (-want +got):\n%s", c.Text, diff)
		}
		if diff := cmp.Diff(c.GPT2, splitAll(splitGPT2, c.Text)); diff != "" {
			t.Errorf("gpt2 %q (-want +got):\n%s", c.Text, diff)
		}
		// The slow reference must agree too, or it proves nothing.
		if diff := cmp.Diff(c.Qwen, refSplit(refQwen, c.Text)); diff != "" {
			t.Errorf("reference qwen %q (-want +got):\n%s", c.Text, diff)
		}
		if diff := cmp.Diff(c.GPT2, refSplit(refGPT2, c.Text)); diff != "" {
			t.Errorf("reference gpt2 %q (-want +got):\n%s", c.Text, diff)
		}
	}
}

// The slow reference: each alternative of the pattern as its own anchored
// Go regexp, tried in order at each position as a backtracking engine
// tries them. The look-ahead alternative \s+(?!\S) is emulated by trying
// every length of the whitespace run, longest first. \s is spelled out as
// Unicode's White_Space property (Go's \s is ASCII only).
const (
	refWS    = `\t\n\x{0B}\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}`
	refSpace = `[` + refWS + `]`
)

// refAlt is one alternative: a regexp, or the look-ahead emulation.
type refAlt struct {
	re        *regexp.Regexp
	lookahead bool // \s+(?!\S)
}

var (
	refQwen = []refAlt{
		{re: regexp.MustCompile(`^(?i:'s|'t|'re|'ve|'m|'ll|'d)`)},
		{re: regexp.MustCompile(`^[^\r\n\pL\pN]?\pL+`)},
		{re: regexp.MustCompile(`^\pN`)},
		{re: regexp.MustCompile(`^ ?[^` + refWS + `\pL\pN]+[\r\n]*`)},
		{re: regexp.MustCompile(`^` + refSpace + `*[\r\n]+`)},
		{lookahead: true},
		{re: regexp.MustCompile(`^` + refSpace + `+`)},
	}
	refGPT2 = []refAlt{
		{re: regexp.MustCompile(`^(?:'s|'t|'re|'ve|'m|'ll|'d)`)},
		{re: regexp.MustCompile(`^ ?\pL+`)},
		{re: regexp.MustCompile(`^ ?\pN+`)},
		{re: regexp.MustCompile(`^ ?[^` + refWS + `\pL\pN]+`)},
		{lookahead: true},
		{re: regexp.MustCompile(`^` + refSpace + `+`)},
	}
	refSpaceRun = regexp.MustCompile(`^` + refSpace + `+`)
	refSpaceOne = regexp.MustCompile(`^` + refSpace)
)

// match returns the length of the alternative's match at the start of s,
// or -1.
func (a refAlt) match(s string) int {
	if !a.lookahead {
		if loc := a.re.FindStringIndex(s); loc != nil {
			return loc[1]
		}
		return -1
	}
	run := refSpaceRun.FindString(s)
	// Rune boundaries of the run, longest first.
	var ends []int
	for i := range run {
		if i > 0 {
			ends = append(ends, i)
		}
	}
	if run != "" {
		ends = append(ends, len(run))
	}
	for k := len(ends) - 1; k >= 0; k-- {
		end := ends[k]
		if end == len(s) || refSpaceOne.MatchString(s[end:]) {
			return end
		}
	}
	return -1
}

// refSplit splits s with the reference alternatives; text that no
// alternative matches becomes a piece of its own (Split's "Isolated").
func refSplit(alts []refAlt, s string) []string {
	out := []string{}
	gap := 0
	for i := 0; i < len(s); {
		n := -1
		for _, a := range alts {
			if n = a.match(s[i:]); n > 0 {
				break
			}
		}
		if n <= 0 {
			_, w := utf8.DecodeRuneInString(s[i:])
			i += w
			continue
		}
		if gap < i {
			out = append(out, s[gap:i])
		}
		out = append(out, s[i:i+n])
		i += n
		gap = i
	}
	if gap < len(s) {
		out = append(out, s[gap:])
	}
	return out
}

// FuzzPreTokenize compares the scanner with the reference on arbitrary
// bytes (valid UTF-8 or not) for both patterns.
func FuzzPreTokenize(f *testing.F) {
	for _, s := range []string{"", "hello world", "x  \n  y", "don't 'S 'ſ", "a\u3000\u3000b", "}\n\n", "\xff\xfe a", "1½Ⅻ", " \t\r\n", "e\u0301 😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if diff := cmp.Diff(refSplit(refQwen, s), splitAll(splitQwen, s)); diff != "" {
			t.Errorf("qwen %q (-reference +scanner):\n%s", s, diff)
		}
		if diff := cmp.Diff(refSplit(refGPT2, s), splitAll(splitGPT2, s)); diff != "" {
			t.Errorf("gpt2 %q (-reference +scanner):\n%s", s, diff)
		}
	})
}
