package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	gocmp "github.com/google/go-cmp/cmp"
)

func TestDebugTokenize(t *testing.T) {
	dir := sharedpath.Path(t, "reference", "dream-v0-7b")
	run := func(stdin string, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := debugTokenizeIO(append([]string{"--model", dir}, args...), strings.NewReader(stdin), &out, &errb); err != nil {
			t.Fatalf("debug tokenize %v: %v\n%s", args, err, errb.String())
		}
		return out.String()
	}
	var special, plain tokenizeOutput
	if err := json.Unmarshal([]byte(run("Hello, world!<|mask|>")), &special); err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff([]int{9707, 11, 1879, 0, 151666}, special.IDs); diff != "" {
		t.Errorf("special ids (-want +got):\n%s", diff)
	}
	if err := json.Unmarshal([]byte(run("<|mask|>", "--plain", "--offsets")), &plain); err != nil {
		t.Fatal(err)
	}
	if plain.Mode != "plain" || plain.Count != len(plain.IDs) || len(plain.Offsets) != len(plain.IDs) || len(plain.IDs) < 2 {
		t.Errorf("plain output %+v: want several ids with offsets", plain)
	}
	// The encode output pipes into --decode.
	got := run(run("a<|mask|>b"), "--decode")
	if want := `{"text":"a<|mask|>b"}` + "\n"; got != want {
		t.Errorf("decode = %q, want %q", got, want)
	}
	if got, want := run("[64, 151666, 65]", "--decode", "--skip-special"), `{"text":"ab"}`+"\n"; got != want {
		t.Errorf("decode --skip-special = %q, want %q", got, want)
	}
	var out, errb bytes.Buffer
	if err := debugTokenizeIO([]string{"--model", dir, "--decode"}, strings.NewReader("not json"), &out, &errb); err == nil {
		t.Error("decode of malformed input succeeded")
	}
}
