// Package vscode holds the VS Code extension (TypeScript); this Go test checks that the settings the
// extension declares match the server's settings table, so the two cannot drift apart.
package vscode

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/dream-lsp/dream-lsp/lsp/settings"
)

type property struct {
	Type    string   `json:"type"`
	Default any      `json:"default"`
	Enum    []string `json:"enum"`
	Minimum *int     `json:"minimum"`
	Maximum *int     `json:"maximum"`
}

func TestPackageJSONMatchesServerSettings(t *testing.T) {
	raw, err := os.ReadFile("package.json")
	if err != nil {
		t.Fatalf("reading package.json: %v", err)
	}
	var pkg struct {
		Contributes struct {
			Configuration struct {
				Properties map[string]property `json:"properties"`
			} `json:"configuration"`
		} `json:"contributes"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatalf("parsing package.json: %v", err)
	}
	props := pkg.Contributes.Configuration.Properties
	for _, s := range settings.All() {
		p, ok := props["dream."+s.Name]
		if !ok {
			t.Errorf("dream.%s: missing from package.json", s.Name)
			continue
		}
		if p.Type != s.Type {
			t.Errorf("dream.%s: type %q, server says %q", s.Name, p.Type, s.Type)
		}
		want, _ := json.Marshal(s.Default)
		got, _ := json.Marshal(p.Default)
		var w, g any
		_ = json.Unmarshal(want, &w)
		_ = json.Unmarshal(got, &g)
		if !reflect.DeepEqual(w, g) {
			t.Errorf("dream.%s: default %s, server says %s", s.Name, got, want)
		}
		if len(s.Enum) > 0 && !reflect.DeepEqual(p.Enum, s.Enum) {
			t.Errorf("dream.%s: enum %q, server says %q", s.Name, p.Enum, s.Enum)
		}
		if s.Type == "integer" {
			if p.Minimum == nil || *p.Minimum != s.Min || p.Maximum == nil || *p.Maximum != s.Max {
				t.Errorf("dream.%s: bounds %v..%v, server says %d..%d", s.Name, deref(p.Minimum), deref(p.Maximum), s.Min, s.Max)
			}
		}
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}
