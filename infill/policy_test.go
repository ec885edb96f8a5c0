package infill_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/infilltest"
	"github.com/dream-lsp/dream-lsp/lsp/settings"
)

// TestSuggestionPolicy runs candidates through the engine and checks which
// are shown and why the others are held back.
func TestSuggestionPolicy(t *testing.T) {
	const body = "package p\n\nfunc f(xs []int) int {\n\ttotal := 0\n%s\n\treturn total\n}\n"
	cases := []struct {
		name    string
		line    string // the cursor's line, with ┃
		raw     string
		conf    float32
		reqMin  float64 // Request.MinConfidence
		optMin  float64 // Options.MinConfidence
		want    infill.Reason
		wantTxt string // the shown or dropped text
	}{
		{"shown", "\t┃", "total = len(xs)", 0.9, 0, 0, "", "total = len(xs)"},
		{"blank", "\t┃", "   \n  ", 0.9, 0, 0, infill.DropBlank, ""},
		{"repeats the line above", "\t┃", "total := 0", 0.9, 0, 0, infill.DropRepeatsPrefix, "total := 0"},
		{"repeats the line below", "\t┃", "return total", 0.9, 0, 0, infill.DropRepeatsSuffix, "return total"},
		{"repeats the word before the cursor", "\ttotal = total┃", " total", 0.9, 0, 0, infill.DropRepeatsPrefix, " total"},
		{"repeats the word after the cursor", "\ttotal = f(┃xs)", "xs", 0.9, 0, 0, infill.DropRepeatsSuffix, "xs"},
		{"a closer above a closer is no repeat", "\tfor range xs {\n\t\tif total > 0 {\n\t\t\ttotal--\n\t\t┃\n\t}", "}", 0.9, 0, 0, "", "}"},
		{"a longer word is no repeat", "\ttotal = f(┃xs)", "x", 0.9, 0, 0, "", "x"},
		{"parses worse", "\t┃", "total += 1 +", 0.9, 0, 0, infill.DropParse, "total += 1 +"},
		{"below the default threshold", "\t┃", "total = len(xs)", float32(infill.DefaultMinConfidence) - 0.01, 0, 0, infill.DropConfidence, "total = len(xs)"},
		{"at the default threshold", "\t┃", "total = len(xs)", float32(infill.DefaultMinConfidence) + 0.001, 0, 0, "", "total = len(xs)"},
		{"request threshold", "\t┃", "total = len(xs)", 0.3, 0.2, 0, "", "total = len(xs)"},
		{"request threshold above", "\t┃", "total = len(xs)", 0.3, 0.4, 0, infill.DropConfidence, "total = len(xs)"},
		{"request turns the threshold off", "\t┃", "total = len(xs)", 0.01, -1, 0, "", "total = len(xs)"},
		{"options turn the threshold off", "\t┃", "total = len(xs)", 0.01, 0, -1, "", "total = len(xs)"},
		{"options threshold", "\t┃", "total = len(xs)", 0.3, 0, 0.35, infill.DropConfidence, "total = len(xs)"},
		{"an empty comment is blank", "\t┃", "// -", 0.9, 0, 0, infill.DropBlank, "// -"},
		{"a comment that says something", "\t┃", "// sum the items", 0.9, 0, 0, "", "// sum the items"},
		{"completing a keyword being typed", "\tif┃\n\t\ttotal++\n\t}", " total == 0 {", 0.9, 0, 0, "", " total == 0 {"},
		{"a broken block left as broken", "\tfor range xs {\n\t\ttotal++\n\t┃", "total--", 0.9, 0, 0, infill.DropParse, "\ttotal--"},
		{"a broken block closed", "\tfor range xs {\n\t\ttotal++\n\t┃", "}", 0.9, 0, 0, "", "}"},
		{"no threshold still drops a broken parse", "\t┃", "total += 1 +", 0.9, -1, 0, infill.DropParse, "total += 1 +"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text, off := cursorDoc(sprintf(body, c.line))
			rt := &infilltest.Runtime{Script: func(row, hole, masks int, before string) infilltest.Fill {
				return infilltest.Fill{Text: c.raw, Conf: c.conf}
			}}
			e := infill.New(rt, infill.Options{MinConfidence: c.optMin})
			res, err := e.Complete(context.Background(), infill.Request{Path: "f.go", Text: text, Offset: off, Length: "fixed=40", MinConfidence: c.reqMin})
			if err != nil {
				t.Fatal(err)
			}
			if c.want == "" {
				if len(res.Candidates) != 1 || res.Candidates[0].Text != c.wantTxt || len(res.Dropped) != 0 {
					t.Fatalf("want %q shown, got %+v", c.wantTxt, res)
				}
				return
			}
			if len(res.Candidates) != 0 || len(res.Dropped) != 1 {
				t.Fatalf("want one dropped candidate, got %+v", res)
			}
			if d := res.Dropped[0]; d.Reason != c.want || d.Text != c.wantTxt {
				t.Errorf("dropped %q for %q, want %q for %q", d.Text, d.Reason, c.wantTxt, c.want)
			}
		})
	}
}

// TestConfidenceStatistics: a middle's slot mean counts its end-of-text
// slots, the token statistics only its own tokens.
func TestConfidenceStatistics(t *testing.T) {
	text, off := cursorDoc(goDoc)
	rt := &infilltest.Runtime{Script: func(row, hole, masks int, before string) infilltest.Fill {
		return infilltest.Fill{Text: "total++", Conf: 0.75}
	}}
	res, err := infill.New(rt, infill.Options{}).Complete(context.Background(), infill.Request{Path: "f.go", Text: text, Offset: off, Length: "fixed=10"})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Candidates[0]
	if c.SlotMean != 0.75 || c.TokenMean != 0.75 || c.TokenMin != 0.75 || c.Confidence != 0.75 {
		t.Errorf("statistics %+v, want 0.75 each", c)
	}
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

// TestSettingDefaultIsTheEngineDefault: the server's minConfidence default
// is the calibrated engine default, and the setting's 0 means no threshold.
func TestSettingDefaultIsTheEngineDefault(t *testing.T) {
	if d := settings.Default().MinConfidence; d != infill.DefaultMinConfidence {
		t.Errorf("settings default minConfidence %v, engine default %v", d, infill.DefaultMinConfidence)
	}
	if infill.Threshold(0) >= 0 || infill.Threshold(0.4) != 0.4 {
		t.Errorf("Threshold(0) = %v, Threshold(0.4) = %v", infill.Threshold(0), infill.Threshold(0.4))
	}
}
