package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantJSON bool
		wantLog  string
		wantN    int
		wantPos  []string
		wantErr  bool
	}{
		{"flags first", []string{"--json", "-n", "3", "a.go:1:2"}, true, "", 3, []string{"a.go:1:2"}, false},
		{"flags after the position", []string{"a.go:1:2", "--json"}, true, "", 0, []string{"a.go:1:2"}, false},
		{"interleaved", []string{"-n", "2", "a", "--log", "x.log", "b", "--json"}, true, "x.log", 2, []string{"a", "b"}, false},
		{"value form", []string{"a", "-n=4", "--log=l"}, false, "l", 4, []string{"a"}, false},
		{"-- ends the flags", []string{"a", "--", "--json", "-n"}, false, "", 0, []string{"a", "--json", "-n"}, false},
		{"-- as a flag's value", []string{"--log", "--", "a", "--json"}, true, "--", 0, []string{"a"}, false},
		{"- is positional (stdin)", []string{"-", "--json"}, true, "", 0, []string{"-"}, false},
		{"no positional", []string{"--json"}, true, "", 0, nil, false},
		{"unknown flag after the position", []string{"a", "--bogus"}, false, "", 0, nil, true},
		{"missing value after the position", []string{"a", "-n"}, false, "", 0, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			j := fs.Bool("json", false, "")
			log := fs.String("log", "", "")
			n := fs.Int("n", 0, "")
			err := parseFlags(fs, tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if *j != tt.wantJSON || *log != tt.wantLog || *n != tt.wantN {
				t.Errorf("json=%v log=%q n=%d; want %v %q %d", *j, *log, *n, tt.wantJSON, tt.wantLog, tt.wantN)
			}
			if diff := gocmp.Diff(tt.wantPos, fs.Args(), cmpEmpty); diff != "" {
				t.Errorf("positional (-want +got):\n%s", diff)
			}
		})
	}
}

var cmpEmpty = gocmp.Transformer("empty", func(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
})

// TestInfillFlagsAfterPosition runs `dream-lsp infill FILE:LINE:COL --json`
// with the other flags after the position too, on the golden tiny model.
func TestInfillFlagsAfterPosition(t *testing.T) {
	model := sharedpath.Path(t, "golden", "models", "tiny-qwen-vocab")
	var out, errb bytes.Buffer
	code := mainExit([]string{"infill", "../../testdata/examples/fib.go:5:2", "--json", "--model", model,
		"--steps", "2", "--length", "fixed=4", "--candidates", "1"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var res struct {
		Line, Col  int
		Candidates []json.RawMessage
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("--json after the position was not honoured: %v\n%s", err, out.String())
	}
	// The tiny model's weights are random: whether a candidate passes the
	// suggestion policy is not the point here, the flags are.
	if res.Line != 5 || res.Col != 2 || len(res.Candidates) > 1 {
		t.Errorf("unexpected result: %+v", res)
	}
}

// TestVersionRejectsFlagsAnywhere: an unknown flag is a usage error wherever
// it stands.
func TestVersionRejectsFlagsAnywhere(t *testing.T) {
	var out, errb bytes.Buffer
	if code := mainExit([]string{"version", "--bogus"}, &out, &errb); code != 2 {
		t.Errorf("version --bogus: exit %d, want 2", code)
	}
	if code := mainExit([]string{"infill", "x.go:1:1", "--bogus"}, &out, &errb); code != 2 {
		t.Errorf("infill x.go:1:1 --bogus: exit %d, want 2 (%s)", code, errb.String())
	}
}

// TestMatmulFlag: --matmul takes auto (the default), f32 or bf16;
// anything else is a usage error naming the flag. bf16 completes
// everywhere: on the AMX tiles, or where the CPU has none with float32
// matmuls after a warning naming AMX; auto does the same without the
// warning.
func TestMatmulFlag(t *testing.T) {
	at := "../../testdata/examples/readconfig.go:12:1"
	var out, errb bytes.Buffer
	if code := mainExit([]string{"infill", at, "--matmul", "bogus"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--matmul") {
		t.Fatalf("--matmul bogus: exit %d, stderr %q; want 2 naming the flag", code, errb.String())
	}
	out.Reset()
	errb.Reset()
	code := mainExit([]string{"infill", at, "--matmul", "bf16", "--json"}, &out, &errb)
	if !cpu.AMXAvailable() && !strings.Contains(errb.String(), "AMX") {
		t.Fatalf("--matmul bf16 without AMX: stderr %q does not say why it runs float32 matmuls", errb.String())
	}
	if code != 0 {
		t.Fatalf("--matmul bf16: exit %d: %s", code, errb.String())
	}
	var res struct{ Candidates []json.RawMessage }
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res.Candidates) == 0 {
		t.Fatalf("--matmul bf16: %v, %d candidates:\n%s", err, len(res.Candidates), out.String())
	}
	// The default, auto, takes the tiles where they run and says nothing
	// where they do not; f32 is accepted too.
	for _, args := range [][]string{{"infill", at}, {"infill", at, "--matmul", "f32"}} {
		out.Reset()
		errb.Reset()
		if code := mainExit(args, &out, &errb); code != 0 || errb.Len() != 0 || !strings.Contains(out.String(), "return") {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q; want a completion and no warning", args, code, out.String(), errb.String())
		}
	}
}
