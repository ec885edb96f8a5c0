// Package lang is the registry of the languages dream-lsp understands: their
// tree-sitter grammars, file extensions, LSP language ids, comment syntax,
// hole markers and the tree-sitter queries (kept as .scm files under
// queries/<lang>/ and embedded) that the context window uses.
package lang

import (
	"embed"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	sitter "github.com/smacker/go-tree-sitter"
	"github.com/smacker/go-tree-sitter/c"
	"github.com/smacker/go-tree-sitter/cpp"
	"github.com/smacker/go-tree-sitter/golang"
	"github.com/smacker/go-tree-sitter/java"
	"github.com/smacker/go-tree-sitter/javascript"
	"github.com/smacker/go-tree-sitter/python"
	"github.com/smacker/go-tree-sitter/rust"
	"github.com/smacker/go-tree-sitter/typescript/tsx"
	"github.com/smacker/go-tree-sitter/typescript/typescript"
)

//go:embed queries
var queryFS embed.FS

// Query names every language provides.
const (
	// QueryImports captures @import: package clauses and imports, kept when
	// the prefix window is trimmed.
	QueryImports = "imports"
	// QueryScopes captures @function (a definition whose signature is kept)
	// and @body (its body).
	QueryScopes = "scopes"
)

// Language describes one language.
type Language struct {
	ID          string   // registry id, also the queries/ directory name
	Name        string   // human-readable name
	LSPIDs      []string // LSP language ids that map here
	Extensions  []string // file extensions, with the dot
	LineComment string   // "//" or "#"
	// BlockTypes are node types of statement blocks (function bodies, loop
	// bodies) used to recognise an empty body or an empty line in a block.
	BlockTypes []string
	// ArgTypes are node types of call argument lists.
	ArgTypes []string
	// IndentScoped is true where indentation ends a block (Python).
	IndentScoped bool

	grammar func() *sitter.Language
	once    sync.Once
	lang    *sitter.Language
	qmu     sync.Mutex
	queries map[string]*sitter.Query
}

// Grammar returns the tree-sitter grammar.
func (l *Language) Grammar() *sitter.Language {
	l.once.Do(func() { l.lang = l.grammar() })
	return l.lang
}

// QuerySource returns the text of queries/<id>/<name>.scm.
func (l *Language) QuerySource(name string) (string, error) {
	b, err := queryFS.ReadFile("queries/" + l.ID + "/" + name + ".scm")
	if err != nil {
		return "", fmt.Errorf("lang: query %s/%s: %w", l.ID, name, err)
	}
	return string(b), nil
}

// Query returns the compiled query name, compiled once and cached. The
// returned query is shared: run it with a fresh QueryCursor.
func (l *Language) Query(name string) (*sitter.Query, error) {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	if q, ok := l.queries[name]; ok {
		return q, nil
	}
	src, err := l.QuerySource(name)
	if err != nil {
		return nil, err
	}
	q, err := sitter.NewQuery([]byte(src), l.Grammar())
	if err != nil {
		return nil, fmt.Errorf("lang: compile query %s/%s: %w", l.ID, name, err)
	}
	if l.queries == nil {
		l.queries = map[string]*sitter.Query{}
	}
	l.queries[name] = q
	return q, nil
}

// IsBlock reports whether a node type is one of the language's blocks.
func (l *Language) IsBlock(nodeType string) bool { return contains(l.BlockTypes, nodeType) }

// IsArgs reports whether a node type is one of the language's argument lists.
func (l *Language) IsArgs(nodeType string) bool { return contains(l.ArgTypes, nodeType) }

// HoleMarkers are the explicit hole placeholders of the language, longest
// first. A hole is a marker the user typed to ask for code at that place.
func (l *Language) HoleMarkers() []string {
	var m []string
	if l.LineComment == "#" {
		m = append(m, "# fill")
	} else {
		m = append(m, "/* fill */", "// fill")
	}
	return append(m, "...")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var cBlocks = []string{"compound_statement"}

var registry = []*Language{
	{ID: "go", Name: "Go", LSPIDs: []string{"go"}, Extensions: []string{".go"}, LineComment: "//",
		BlockTypes: []string{"block"}, ArgTypes: []string{"argument_list"}, grammar: golang.GetLanguage},
	{ID: "python", Name: "Python", LSPIDs: []string{"python"}, Extensions: []string{".py", ".pyi"}, LineComment: "#",
		BlockTypes: []string{"block"}, ArgTypes: []string{"argument_list"}, IndentScoped: true, grammar: python.GetLanguage},
	{ID: "javascript", Name: "JavaScript", LSPIDs: []string{"javascript", "javascriptreact"}, Extensions: []string{".js", ".mjs", ".cjs", ".jsx"},
		LineComment: "//", BlockTypes: []string{"statement_block", "class_body"}, ArgTypes: []string{"arguments"}, grammar: javascript.GetLanguage},
	{ID: "typescript", Name: "TypeScript", LSPIDs: []string{"typescript"}, Extensions: []string{".ts", ".mts", ".cts"},
		LineComment: "//", BlockTypes: []string{"statement_block", "class_body"}, ArgTypes: []string{"arguments"}, grammar: typescript.GetLanguage},
	{ID: "tsx", Name: "TSX", LSPIDs: []string{"typescriptreact"}, Extensions: []string{".tsx"},
		LineComment: "//", BlockTypes: []string{"statement_block", "class_body"}, ArgTypes: []string{"arguments"}, grammar: tsx.GetLanguage},
	{ID: "rust", Name: "Rust", LSPIDs: []string{"rust"}, Extensions: []string{".rs"}, LineComment: "//",
		BlockTypes: []string{"block", "declaration_list"}, ArgTypes: []string{"arguments"}, grammar: rust.GetLanguage},
	{ID: "c", Name: "C", LSPIDs: []string{"c"}, Extensions: []string{".c", ".h"}, LineComment: "//",
		BlockTypes: cBlocks, ArgTypes: []string{"argument_list"}, grammar: c.GetLanguage},
	{ID: "cpp", Name: "C++", LSPIDs: []string{"cpp", "cuda-cpp"}, Extensions: []string{".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".cu"},
		LineComment: "//", BlockTypes: []string{"compound_statement", "field_declaration_list"}, ArgTypes: []string{"argument_list"}, grammar: cpp.GetLanguage},
	{ID: "java", Name: "Java", LSPIDs: []string{"java"}, Extensions: []string{".java"}, LineComment: "//",
		BlockTypes: []string{"block", "constructor_body", "class_body"}, ArgTypes: []string{"argument_list"}, grammar: java.GetLanguage},
}

// All returns every registered language, ordered by id.
func All() []*Language {
	out := append([]*Language(nil), registry...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ByID returns the language with a registry id or an LSP language id.
func ByID(id string) (*Language, bool) {
	id = strings.ToLower(strings.TrimSpace(id))
	for _, l := range registry {
		if l.ID == id || contains(l.LSPIDs, id) {
			return l, true
		}
	}
	return nil, false
}

// ForPath returns the language of a file name by its extension.
func ForPath(path string) (*Language, bool) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext == "" {
		return nil, false
	}
	for _, l := range registry {
		if contains(l.Extensions, ext) {
			return l, true
		}
	}
	return nil, false
}

// Detect picks the language from an LSP language id, falling back to the
// path's extension.
func Detect(languageID, path string) (*Language, bool) {
	if languageID != "" {
		if l, ok := ByID(languageID); ok {
			return l, true
		}
	}
	return ForPath(path)
}
