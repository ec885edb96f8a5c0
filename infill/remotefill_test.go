package infill_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/dream-lsp/dream-lsp/context/crossfile"
	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/infilltest"
)

// fakeFiller records the requests a remote model gets and answers from a
// script.
type fakeFiller struct {
	reqs   []infill.FillRequest
	answer func(req infill.FillRequest) ([]infill.Middle, error)
}

func (f *fakeFiller) Fill(ctx context.Context, req infill.FillRequest) ([]infill.Middle, error) {
	f.reqs = append(f.reqs, req)
	return f.answer(req)
}

// TestRemoteFiller: with Options.Remote the engine sends the remote model
// the windows, lengths, BOS and related code the in-process path puts in
// its canvases, and post-processes, validates and ranks the middles that
// come back; a middle without confidences passes the threshold; a remote
// error reaches the caller.
func TestRemoteFiller(t *testing.T) {
	text, off := cursorDoc("package p\n\nfunc load(path string) (Config, error) {\n\tcfg, err := ┃\n\treturn cfg, err\n}\n")
	related := []crossfile.Chunk{
		{Path: "config.go", Text: "func readConfig(path string) (Config, error) {\n\treturn Config{}, nil\n}\n"},
		{Path: "util.go", Text: "func unrelated() {}\n"},
	}
	req := infill.Request{Path: "f.go", Text: text, Offset: off, Related: related, MinConfidence: 0.5, Candidates: 3}

	// In-process, for the canvas it builds.
	rt := &infilltest.Runtime{BOS: 900, Script: func(row, hole, masks int, before string) infilltest.Fill {
		return infilltest.Fill{Text: "readConfig(path)", Conf: 0.9}
	}}
	if _, err := infill.New(rt, infill.Options{ContextTokens: 1000}).Complete(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	canvas := rt.Calls[0].Canvases[0]
	var lengths []int
	for _, c := range rt.Calls[0].Canvases {
		n := 0
		for _, id := range c {
			if id == infilltest.Mask {
				n++
			}
		}
		lengths = append(lengths, n)
	}

	f := &fakeFiller{answer: func(req infill.FillRequest) ([]infill.Middle, error) {
		return []infill.Middle{
			{Text: "readConfig(path)", Tokens: 5, SlotMean: 0.9, TokenMean: 0.9, TokenMin: 0.8},
			{Text: "load(path)", Tokens: 3, SlotMean: 0.2, TokenMean: 0.2, TokenMin: 0.1}, // below the threshold
		}, nil
	}}
	rt2 := &infilltest.Runtime{BOS: 900}
	res, err := infill.New(rt2, infill.Options{ContextTokens: 1000, Remote: f}).Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(rt2.Calls) != 0 {
		t.Errorf("the local runtime denoised %d times with a remote model", len(rt2.Calls))
	}
	if len(f.reqs) != 1 {
		t.Fatalf("%d remote requests, want 1", len(f.reqs))
	}
	got := f.reqs[0]
	// The remote request rebuilds the in-process canvas: BOS, related code, prefix, masks, suffix.
	rebuilt := rt.Encode(infill.RenderRelated(got.Related, got.Comment) + got.Prefix)
	if got.BOS {
		rebuilt = append([]int{900}, rebuilt...)
	}
	for range lengths[0] {
		rebuilt = append(rebuilt, infilltest.Mask)
	}
	rebuilt = append(rebuilt, rt.Encode(got.Suffix)...)
	if !reflect.DeepEqual(rebuilt, canvas) {
		t.Errorf("remote request %+v\nrebuilds %q\nin-process canvas %q", got, rt.Decode(rebuilt), rt.Decode(canvas))
	}
	if !reflect.DeepEqual(got.Lengths, lengths) || got.Comment != "//" || len(got.Related) != 2 || got.Related[1].Path != "config.go" {
		t.Errorf("lengths %v (want %v), comment %q, related %+v", got.Lengths, lengths, got.Comment, got.Related)
	}
	var shown []string
	for _, c := range res.Candidates {
		shown = append(shown, c.Text)
	}
	if !reflect.DeepEqual(shown, []string{"readConfig(path)"}) || len(res.Dropped) != 1 || res.Dropped[0].Reason != infill.DropConfidence {
		t.Errorf("shown %q (dropped %+v), want the confident middle", shown, res.Dropped)
	}
	// A FIM server's middle has no confidence: the threshold does not hold it back.
	f.answer = func(infill.FillRequest) ([]infill.Middle, error) {
		return []infill.Middle{{Text: "nil, nil", NoConfidence: true}}, nil
	}
	res, err = infill.New(rt2, infill.Options{Remote: f}).Complete(context.Background(), req)
	if err != nil || len(res.Candidates) != 1 || res.Candidates[0].Text != "nil, nil" {
		t.Errorf("unscored middle: %+v %v", res, err)
	}

	boom := errors.New("server unreachable")
	f.answer = func(infill.FillRequest) ([]infill.Middle, error) { return nil, boom }
	if _, err := infill.New(rt2, infill.Options{Remote: f}).Complete(context.Background(), req); !errors.Is(err, boom) {
		t.Errorf("remote error: %v", err)
	}
}
