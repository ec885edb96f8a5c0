package remote

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/context/crossfile"
	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/api/apitest"
	"github.com/dream-lsp/dream-lsp/runtime/builtin"
)

// TestAgainstDreamAPI: every adapter against `dream-lsp api`'s server over
// the built-in model returns what the same engine gives in-process for the
// same windows and settings (every length's middle and its confidences
// where the shape carries the dream object; the middle of the one length
// for mistral, which does not).
func TestAgainstDreamAPI(t *testing.T) {
	hs, rt := apitest.Builtin(t, 1)
	local := infill.New(rt, infill.Options{})
	if cl, _ := New(Config{URL: hs.URL}); cl != nil {
		info, err := cl.Info(context.Background())
		if err != nil || info.Model != builtin.Name() || info.MaxPositions != rt.MaxPositions() {
			t.Errorf("Info = %+v, %v; want %s with %d positions", info, err, builtin.Name(), rt.MaxPositions())
		}
	}

	reqs := []infill.FillRequest{
		{Prefix: "package main\n\nimport \"os\"\n\nfunc read(path string) ([]byte, error) {\n\tdata, err := os.ReadFile(path)\n", Suffix: "\treturn data, nil\n}\n",
			BOS: true, Lengths: []int{4, 8, 12}},
		{Prefix: "func sum(xs []int) int {\n\ttotal := 0\n\tfor _, x := range xs {\n", Suffix: "\t}\n\treturn total\n}\n", Lengths: []int{6}, Steps: 3, Alg: "maskgit_plus",
			Related: []crossfile.Chunk{{Path: "util.go", Text: "func add(a, b int) int { return a + b }\n"}}, Comment: "//"},
	}
	// The same windows as a single-line request: streamed, same middles.
	streamed := reqs[0]
	streamed.SingleLine = true
	reqs = append(reqs, streamed)
	nonEmpty := 0
	for _, a := range []string{OpenAI, LlamaCpp, Ollama, Mistral} {
		cl, err := New(Config{URL: hs.URL, API: a, Model: builtin.Name()})
		if err != nil {
			t.Fatal(err)
		}
		for i, req := range reqs {
			got, err := cl.Fill(context.Background(), req)
			if err != nil {
				t.Fatalf("%s request %d: %v", a, i, err)
			}
			in := req
			if a == Mistral {
				// No dream object: the server's defaults, one canvas of the longest length.
				in = infill.FillRequest{Prefix: req.Prefix, Suffix: req.Suffix, Related: req.Related, Comment: req.Comment, Lengths: []int{maxTokens(req)}, Expand: true}
			}
			want, err := local.Fill(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if a == Mistral {
				if len(got) != 1 || got[0].Text != want[0].Text {
					t.Errorf("%s request %d: remote %+v, in-process %+v", a, i, got, want)
				}
				continue
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s request %d:\nremote     %+v\nin-process %+v", a, i, got, want)
			}
			for _, m := range want {
				if strings.TrimSpace(m.Text) != "" {
					nonEmpty++
				}
			}
		}
	}
	if nonEmpty == 0 {
		t.Error("every middle was empty: the comparison proves nothing")
	}
}
