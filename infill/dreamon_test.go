package infill_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/internal/dreamontest"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
)

// spyRuntime wraps the engine runtime and records which path infill took.
type spyRuntime struct {
	infill.Runtime
	fixed   int
	expands []infill.ExpandRequest
	results []*infill.ExpandResult
}

func (s *spyRuntime) Denoise(ctx context.Context, req infill.DenoiseRequest) (*infill.DenoiseResult, error) {
	s.fixed++
	return s.Runtime.Denoise(ctx, req)
}

func (s *spyRuntime) DenoiseExpand(ctx context.Context, req infill.ExpandRequest) (*infill.ExpandResult, error) {
	s.expands = append(s.expands, req)
	res, err := s.Runtime.(infill.ExpandDenoiser).DenoiseExpand(ctx, req)
	s.results = append(s.results, res)
	return res, err
}

func openTinyDreamOn(t *testing.T) *spyRuntime {
	t.Helper()
	// The tiny DreamOn-layout checkpoint: expand id 151667 in its
	// vocabulary and tokenizer (bench/gpu/dreamon_ref.py).
	e, err := engine.Open(dreamontest.Dir(t), engine.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if id, ok := e.ExpandTokenID(); !ok || id != 151667 {
		t.Fatalf("ExpandTokenID = %d, %v; want 151667", id, ok)
	}
	rt, err := infill.FromEngine(e)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rt.(infill.ExpandDenoiser); !ok {
		t.Fatal("the engine runtime does not run DreamOn's loop")
	}
	return &spyRuntime{Runtime: rt}
}

// TestDreamOnEngine completes on the tiny DreamOn checkpoint and checks
// that infill took DreamOn's loop with its settings: BOS, prefix, 4 masks,
// suffix, EOS; a 64-token cap; entropy, temperature 0.2, top-p 0.9; no
// fixed-canvas denoising.
func TestDreamOnEngine(t *testing.T) {
	spy := openTinyDreamOn(t)
	text := "def f(x):\n    return \n\nprint(f(2))\n"
	off := strings.Index(text, "return ") + len("return ")
	res, err := infill.New(spy, infill.Options{}).Complete(context.Background(), infill.Request{Path: "f.py", Text: text, Offset: off})
	if err != nil {
		t.Fatal(err)
	}
	if spy.fixed != 0 || len(spy.expands) != 1 {
		t.Fatalf("fixed denoise calls %d, DreamOn calls %d; want 0 and 1", spy.fixed, len(spy.expands))
	}
	req := spy.expands[0]
	c := req.Canvas
	masks := 0
	for _, id := range c {
		if id == 151666 {
			masks++
		}
	}
	if c[0] != 151665 || c[len(c)-1] != 151643 || masks != infill.DreamOnInitialMasks {
		t.Errorf("canvas %v: want BOS first, EOS last and %d masks", c, infill.DreamOnInitialMasks)
	}
	if req.MaxNewTokens != infill.DefaultMaxTokens || req.Alg != "entropy" || req.Temperature != 0.2 || req.TopP != 0.9 {
		t.Errorf("settings %+v: want cap 64, entropy, temperature 0.2, top-p 0.9", req)
	}
	out := spy.results[0]
	if out == nil || len(out.Middle) > infill.DefaultMaxTokens || len(out.Middle) != len(out.Confidence) || out.Steps == 0 {
		t.Fatalf("DreamOn result %+v: want a middle of at most 64 tokens with confidences", out)
	}
	for _, id := range out.Middle {
		if id == 151666 || id == 151667 || id == 151643 {
			t.Errorf("middle %v keeps a mask, expand or delete token", out.Middle)
		}
	}
	// The suggestion policy may hold a random model's middle back; when
	// shown, it is the DreamOn middle.
	for _, cand := range res.Candidates {
		if cand.Tokens != len(out.Middle) {
			t.Errorf("candidate of %d tokens, DreamOn middle has %d", cand.Tokens, len(out.Middle))
		}
	}
	t.Logf("DreamOn: %d steps, %d expansions, %d deletions, middle %d tokens; %d candidates shown",
		out.Steps, out.Expansions, out.Deletions, len(out.Middle), len(res.Candidates))
}

// TestDreamOnDeadline: an expired deadline stops DreamOn's loop with the
// context's error.
func TestDreamOnDeadline(t *testing.T) {
	spy := openTinyDreamOn(t)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	text := "x = 1\ny = \n"
	_, err := infill.New(spy, infill.Options{}).Complete(ctx, infill.Request{Path: "f.py", Text: text, Offset: strings.Index(text, "y = ") + 4})
	if err == nil {
		t.Fatal("no error past the deadline")
	}
}

// TestDreamOnUnsupportedAlg: a configured algorithm the loop cannot run
// (confidence_threshold, origin) falls back to entropy instead of failing
// every completion.
func TestDreamOnUnsupportedAlg(t *testing.T) {
	spy := openTinyDreamOn(t)
	text := "x = 1\ny = \n"
	for _, alg := range []string{"confidence_threshold", "origin"} {
		_, err := infill.New(spy, infill.Options{Alg: alg}).Complete(context.Background(), infill.Request{Path: "f.py", Text: text, Offset: strings.Index(text, "y = ") + 4})
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if got := spy.expands[len(spy.expands)-1].Alg; got != "entropy" {
			t.Errorf("%s: the loop ran %q, want entropy", alg, got)
		}
	}
}

// TestDreamOnSteps: a request's steps cap DreamOn's loop (the eval
// generator's `steps`); none keeps upstream's cap.
func TestDreamOnSteps(t *testing.T) {
	spy := openTinyDreamOn(t)
	text := "x = 1\ny = \n"
	off := strings.Index(text, "y = ") + 4
	for _, steps := range []int{0, 2} {
		if _, err := infill.New(spy, infill.Options{}).Complete(context.Background(), infill.Request{Path: "f.py", Text: text, Offset: off, Steps: steps}); err != nil {
			t.Fatal(err)
		}
		req, res := spy.expands[len(spy.expands)-1], spy.results[len(spy.results)-1]
		if req.MaxIters != steps || steps > 0 && res.Steps > steps {
			t.Errorf("steps %d: loop cap %d, ran %d", steps, req.MaxIters, res.Steps)
		}
	}
}
