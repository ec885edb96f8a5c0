package settings

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dream-lsp/dream-lsp/internal/testenv"
)

func TestMerge(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		edit     func(*Options)
		problems int
	}{
		{"null", `null`, func(*Options) {}, 0},
		{"flat", `{"steps": 8, "debounceMs": 0, "model": "/m"}`, func(o *Options) { o.Steps, o.DebounceMs, o.Model = 8, 0, "/m" }, 0},
		{"nested section", `{"dream": {"maxTokens": 32, "enabledLanguages": ["go"]}}`, func(o *Options) { o.MaxTokens, o.EnabledLanguages = 32, []string{"go"} }, 0},
		{"bad values kept out", `{"steps": "x", "device": "tpu", "deadlineMs": 10, "triggerMode": "manual", "nope": 1}`, func(o *Options) { o.TriggerMode = "manual" }, 4},
		{"fraction", `{"steps": 1.5}`, func(*Options) {}, 1},
		{"other sections only", `{"go": {"steps": 3}, "editor": {}}`, func(*Options) {}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := Default()
			tt.edit(&want)
			got, problems, err := Default().Merge([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Merge (-want +got):\n%s", diff)
			}
			if len(problems) != tt.problems {
				t.Errorf("problems = %q, want %d", problems, tt.problems)
			}
		})
	}
	if _, _, err := Default().Merge([]byte(`[1]`)); err == nil {
		t.Error("Merge of an array: no error")
	}
}

// TestAllCoversOptions checks that every field of Options is documented in
// All under its JSON name, so editor docs generated from All are complete.
func TestAllCoversOptions(t *testing.T) {
	names := map[string]bool{}
	for _, s := range All() {
		names[s.Name] = true
	}
	typ := reflect.TypeFor[Options]()
	for i := range typ.NumField() {
		tag := typ.Field(i).Tag.Get("json")
		if !names[tag] {
			t.Errorf("field %s (%q) is not in All()", typ.Field(i).Name, tag)
		}
		delete(names, tag)
	}
	for n := range names {
		t.Errorf("All() documents %q, which Options lacks", n)
	}
}

func TestLanguageEnabled(t *testing.T) {
	tests := []struct {
		list []string // nil: the default
		lang string
		want bool
	}{
		{nil, "go", true},
		{nil, "typescriptreact", true},
		{nil, "cpp", true},
		{nil, "json", false},
		{nil, "jsonc", false},
		{nil, "markdown", false},
		{nil, "plaintext", false},
		{nil, "text", false},
		{[]string{}, "go", true}, // empty: the default list
		{[]string{}, "markdown", false},
		{[]string{"python"}, "python", true},
		{[]string{"python"}, "go", false},
		{[]string{"*"}, "markdown", true},
		{[]string{"*"}, "jsonc", true},
	}
	for _, tt := range tests {
		o := Default()
		if tt.list != nil {
			o.EnabledLanguages = tt.list
		}
		if got := o.LanguageEnabled(tt.lang); got != tt.want {
			t.Errorf("enabledLanguages %q: LanguageEnabled(%q) = %v, want %v", tt.list, tt.lang, got, tt.want)
		}
	}
}

// TestProtocolDocMatches checks that the settings table in docs/protocol.md
// lists exactly the settings of All, with their defaults.
func TestProtocolDocMatches(t *testing.T) {
	b, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		testenv.Missingf(t, "docs/protocol.md not readable: %v", err)
	}
	documented := map[string]string{} // name -> default column
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cols := strings.Split(strings.ReplaceAll(line, `\|`, "or"), "|")
		if len(cols) < 5 {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cols[1]), "`")
		documented[name] = strings.Trim(strings.TrimSpace(cols[3]), "`")
	}
	for _, s := range All() {
		def, ok := documented[s.Name]
		if !ok {
			t.Errorf("setting %q is not in docs/protocol.md", s.Name)
			continue
		}
		want := fmt.Sprint(s.Default)
		switch v := s.Default.(type) {
		case string:
			want = strconv.Quote(v)
		case []string:
			want = "[]"
			if slices.Equal(v, DefaultLanguages()) {
				// Too long for the table: the cell points to a list below it.
				want = "programming languages (below)"
				if !strings.Contains(string(b), "Default `enabledLanguages`: `"+strings.Join(v, "`, `")+"`.") {
					t.Errorf("docs/protocol.md: no line \"Default `enabledLanguages`: `%s`.\"", strings.Join(v, "`, `"))
				}
			} else if len(v) > 0 {
				want = fmt.Sprintf("%q", v)
			}
		}
		if def != want && def != strings.Trim(want, `"`) {
			t.Errorf("docs/protocol.md: default of %q is %s, want %s", s.Name, def, want)
		}
		delete(documented, s.Name)
	}
	for name := range documented {
		if !strings.HasPrefix(name, "dream.") { // the commands table shares the row shape
			t.Errorf("docs/protocol.md documents %q, which is not a setting", name)
		}
	}
}

// TestRemoteSetting: the remote object is read whole and checked (api
// among the four shapes, an http(s) URL, no unknown keys); a bad one is
// reported and leaves the previous value.
func TestRemoteSetting(t *testing.T) {
	base := Default()
	got, problems, err := base.Merge([]byte(`{"remote": {"url": "http://gpu:8080", "api": "llamacpp", "model": "m", "apiKeyEnv": "DREAM_KEY"}}`))
	if err != nil || len(problems) > 0 {
		t.Fatalf("%v %v", err, problems)
	}
	if want := (Remote{URL: "http://gpu:8080", API: "llamacpp", Model: "m", APIKeyEnv: "DREAM_KEY"}); got.Remote != want {
		t.Errorf("remote = %+v, want %+v", got.Remote, want)
	}
	if got, _, _ := base.Merge([]byte(`{"remote": {"url": "https://x"}}`)); got.Remote.API != "openai" {
		t.Errorf("api defaults to %q, want openai", got.Remote.API)
	}
	for _, bad := range []string{`{"url": "gpu:8080"}`, `{"url": "http://x", "api": "grpc"}`, `{"url": "http://x", "key": "s"}`, `"http://x"`, `{"url": 5}`} {
		got, problems, _ := base.Merge([]byte(`{"remote": ` + bad + `}`))
		if len(problems) != 1 || !strings.Contains(problems[0], `"remote"`) || got.Remote != base.Remote {
			t.Errorf("remote %s: problems %q, remote %+v", bad, problems, got.Remote)
		}
	}
}
