package infill_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/infilltest"
)

// TestFillMatchesComplete: Fill with the windows Complete cut sends the
// runtime the very batch Complete sent (canvases with BOS, per-row steps,
// algorithm), and returns the scripted middles in length order.
func TestFillMatchesComplete(t *testing.T) {
	text, off := cursorDoc(goDoc)
	script := func(row, hole, masks int, before string) infilltest.Fill {
		return infilltest.Fill{Text: strings.Repeat("x", row+1) + " = 1", Conf: 0.5 + 0.1*float32(row)}
	}
	rt := &infilltest.Runtime{Script: script, BOS: 900}
	e := infill.New(rt, infill.Options{MultiLineLengths: []int{6, 9, 12}, MinConfidence: -1})
	if _, err := e.Complete(context.Background(), infill.Request{Path: "f.go", Text: text, Offset: off, Steps: 5}); err != nil {
		t.Fatal(err)
	}
	if len(rt.Calls) != 1 {
		t.Fatalf("Complete made %d runtime calls, want 1", len(rt.Calls))
	}
	want := rt.Calls[0]
	var lengths []int
	for _, c := range want.Canvases {
		n := 0
		for _, id := range c {
			if id == infilltest.Mask {
				n++
			}
		}
		lengths = append(lengths, n)
	}
	if !reflect.DeepEqual(lengths, []int{6, 9, 12}) {
		t.Fatalf("Complete's mask counts %v, want the configured lengths", lengths)
	}
	rt2 := &infilltest.Runtime{Script: script, BOS: 900}
	e2 := infill.New(rt2, infill.Options{MultiLineLengths: []int{6, 9, 12}})
	mids, err := e2.Fill(context.Background(), infill.FillRequest{Prefix: text[:off], Suffix: text[off:], BOS: true, Lengths: lengths, Steps: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(rt2.Calls) != 1 || !reflect.DeepEqual(rt2.Calls[0], want) {
		t.Fatalf("Fill sent %+v\nComplete sent %+v", rt2.Calls, want)
	}
	if len(mids) != 3 {
		t.Fatalf("got %d middles, want 3", len(mids))
	}
	for i, m := range mids {
		w := strings.Repeat("x", i+1) + " = 1"
		if m.Text != w || m.Tokens != len(w) || m.TokenMean < 0.49+0.1*float64(i) || m.TokenMin > m.TokenMean {
			t.Errorf("middle %d = %+v, want %q with its scripted confidence", i, m, w)
		}
	}
}

// TestFillBadRequests: lengths out of range and a model too short for the
// longest middle are errors, not panics.
func TestFillBadRequests(t *testing.T) {
	e := infill.New(&infilltest.Runtime{MaxPos: 32}, infill.Options{})
	for _, req := range []infill.FillRequest{
		{Prefix: "a", Lengths: []int{0}},
		{Prefix: "a", Lengths: []int{-3}},
		{Prefix: "a", Lengths: []int{infill.MaxFillLength + 1}},
		{Prefix: "a", Lengths: []int{30}},
	} {
		if _, err := e.Fill(context.Background(), req); err == nil {
			t.Errorf("Fill(%+v) succeeded, want an error", req)
		}
	}
	// Trimmed to the model's positions: still answers.
	mids, err := e.Fill(context.Background(), infill.FillRequest{Prefix: strings.Repeat("a", 100), Suffix: strings.Repeat("b", 100), Lengths: []int{4}})
	if err != nil || len(mids) != 1 {
		t.Fatalf("long context: %v, %d middles", err, len(mids))
	}
}
