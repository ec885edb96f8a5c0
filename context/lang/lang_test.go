package lang

import (
	"testing"
)

func TestEveryQueryCompiles(t *testing.T) {
	for _, l := range All() {
		for _, name := range []string{QueryImports, QueryScopes} {
			if _, err := l.Query(name); err != nil {
				t.Errorf("%s: %v", l.ID, err)
			}
		}
	}
}

func TestDetect(t *testing.T) {
	cases := []struct{ id, path, want string }{
		{"go", "", "go"},
		{"", "a/b/main.go", "go"},
		{"typescriptreact", "x.tsx", "tsx"},
		{"", "x.TS", "typescript"},
		{"javascriptreact", "", "javascript"},
		{"", "lib.rs", "rust"},
		{"", "x.hpp", "cpp"},
		{"", "x.h", "c"},
		{"", "Main.java", "java"},
		{"", "t.py", "python"},
		{"unknown", "t.py", "python"},
	}
	for _, c := range cases {
		l, ok := Detect(c.id, c.path)
		if !ok || l.ID != c.want {
			t.Errorf("Detect(%q, %q) = %v, %v; want %s", c.id, c.path, l, ok, c.want)
		}
	}
	if _, ok := Detect("", "README"); ok {
		t.Error("Detect of a file with no extension found a language")
	}
	if _, ok := Detect("cobol", "x.cob"); ok {
		t.Error("Detect found a language for cobol")
	}
}

func TestRegistryCoversRequiredLanguages(t *testing.T) {
	for _, id := range []string{"go", "python", "javascript", "typescript", "tsx", "rust", "c", "cpp", "java"} {
		l, ok := ByID(id)
		if !ok {
			t.Fatalf("missing %s", id)
		}
		if l.Grammar() == nil {
			t.Errorf("%s: nil grammar", id)
		}
		if len(l.BlockTypes) == 0 || l.LineComment == "" {
			t.Errorf("%s: incomplete entry", id)
		}
	}
}
