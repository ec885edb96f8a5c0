package settings

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
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
	o := Default()
	if !o.LanguageEnabled("go") {
		t.Error("empty list should enable all")
	}
	o.EnabledLanguages = []string{"python"}
	if o.LanguageEnabled("go") || !o.LanguageEnabled("python") {
		t.Error("list not honoured")
	}
}
