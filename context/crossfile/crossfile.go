// Package crossfile keeps code from other documents the user works on (a
// ring of recent chunks: opened and saved documents, edited regions) and
// picks the chunks most like the code around the cursor to place before
// the prefix, so the model sees the names and shapes used next door.
// Ranking is a cheap Jaccard similarity over identifier tokens; selection
// is deterministic and stays within a token budget.
package crossfile

import (
	"sort"
	"strings"
	"sync"
)

// Defaults of a Ring.
const (
	DefaultCapacity = 16 // chunks kept
	DefaultMaxLines = 64 // lines per chunk
	// PerDocument is how many chunks one opened or saved document adds
	// (its first ones: imports, types and declarations come first).
	PerDocument = 4
)

// Chunk is a piece of another document.
type Chunk struct {
	Path      string // the document's path (shown to the model in a comment)
	StartLine int    // 0-based line of Text's first line in the document
	Text      string // whole lines, at most MaxLines of them
}

func (c Chunk) endLine() int {
	return c.StartLine + strings.Count(strings.TrimSuffix(c.Text, "\n"), "\n") + 1
}

// Ring holds the most recent chunks, newest first, without duplicates. It
// is safe for concurrent use. The zero value is not usable; use New.
type Ring struct {
	mu       sync.Mutex
	capacity int
	maxLines int
	chunks   []Chunk // newest first
}

// New returns a ring of capacity chunks of at most maxLines lines each
// (0: the defaults).
func New(capacity, maxLines int) *Ring {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	if maxLines <= 0 {
		maxLines = DefaultMaxLines
	}
	return &Ring{capacity: capacity, maxLines: maxLines}
}

// add puts c first. A chunk of the same document whose lines overlap c's,
// or one with the same text, is an older copy and goes.
func (r *Ring) add(c Chunk) {
	if strings.TrimSpace(c.Text) == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	kept := r.chunks[:0]
	for _, o := range r.chunks {
		overlap := o.Path == c.Path && o.StartLine < c.endLine() && c.StartLine < o.endLine()
		if overlap || o.Text == c.Text {
			continue
		}
		kept = append(kept, o)
	}
	r.chunks = append([]Chunk{c}, kept...)
	if len(r.chunks) > r.capacity {
		r.chunks = r.chunks[:r.capacity]
	}
}

// AddDocument records an opened or saved document: its first PerDocument
// chunks (split at blank lines where possible). The first chunk ends up
// newest. Only the head of the text is looked at, so a huge document costs
// no more than a small one.
func (r *Ring) AddDocument(path, text string) {
	text = headLines(text, PerDocument*r.maxLines)
	cs := split(path, text, r.maxLines)
	if len(cs) > PerDocument {
		cs = cs[:PerDocument]
	}
	for i := len(cs) - 1; i >= 0; i-- {
		r.add(cs[i])
	}
}

// AddEdit records the region around an edit at byte offset of text (the
// document after the edit): up to maxLines lines centred on the edited
// line. It reads only that region, except for counting the lines before
// it; AddEditAt takes the line number from a caller that knows it.
func (r *Ring) AddEdit(path, text string, offset int) {
	offset = max(0, min(offset, len(text)))
	r.AddEditAt(path, text, offset, strings.Count(text[:offset], "\n"))
}

// AddEditAt is AddEdit for an edit on 0-based line of text. It costs
// O(maxLines) lines of text however long the document is: it runs on every
// keystroke.
func (r *Ring) AddEditAt(path, text string, offset, line int) {
	offset = max(0, min(offset, len(text)))
	// lineBefore returns the start of the line before the one starting at i.
	lineBefore := func(i int) int { return strings.LastIndexByte(text[:i-1], '\n') + 1 }
	// The edited line's start, then up to maxLines/2 lines before it.
	start := strings.LastIndexByte(text[:offset], '\n') + 1
	for k := 0; k < r.maxLines/2 && start > 0; k++ {
		start = lineBefore(start)
	}
	// maxLines lines from there, fewer at the end of the text ...
	end, n := start, 0
	for ; n < r.maxLines && end < len(text); n++ {
		i := strings.IndexByte(text[end:], '\n')
		if i < 0 {
			end = len(text)
			n++
			break
		}
		end += i + 1
	}
	// ... where earlier lines make up the count.
	for ; n < r.maxLines && start > 0; n++ {
		start = lineBefore(start)
	}
	taken := strings.Count(text[start:offset], "\n")
	r.add(Chunk{Path: path, StartLine: max(0, line-taken), Text: text[start:end]})
}

// headLines returns the first n lines of text.
func headLines(text string, n int) string {
	end := 0
	for range n {
		i := strings.IndexByte(text[end:], '\n')
		if i < 0 {
			return text
		}
		end += i + 1
	}
	return text[:end]
}

// Forget drops the chunks of a document (closed or deleted).
func (r *Ring) Forget(path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	kept := r.chunks[:0]
	for _, c := range r.chunks {
		if c.Path != path {
			kept = append(kept, c)
		}
	}
	r.chunks = kept
}

// Chunks returns the chunks of documents other than path, newest first:
// what a completion request in path carries as related code.
func (r *Ring) Chunks(path string) []Chunk {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Chunk
	for _, c := range r.chunks {
		if c.Path != path {
			out = append(out, c)
		}
	}
	return out
}

// split cuts text into chunks of at most maxLines lines, ending a chunk at
// the last blank line of its second half when there is one.
func split(path, text string, maxLines int) []Chunk {
	lines := strings.SplitAfter(text, "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	var out []Chunk
	for start := 0; start < len(lines); {
		end := min(len(lines), start+maxLines)
		if end < len(lines) {
			for k := end - 1; k > start+maxLines/2; k-- {
				if strings.TrimSpace(lines[k]) == "" {
					end = k + 1
					break
				}
			}
		}
		if t := strings.Join(lines[start:end], ""); strings.TrimSpace(t) != "" {
			out = append(out, Chunk{Path: path, StartLine: start, Text: t})
		}
		start = end
	}
	return out
}

// Identifiers returns the set of identifier tokens of s (letters, digits,
// underscores; starting with a letter or underscore; at least two bytes).
func Identifiers(s string) map[string]bool {
	set := map[string]bool{}
	for i := 0; i < len(s); {
		if !isIdentStart(s[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && (isIdentStart(s[j]) || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		if j-i >= 2 {
			set[s[i:j]] = true
		}
		i = j
	}
	return set
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// Jaccard is |a ∩ b| / |a ∪ b| (0 when both are empty).
func Jaccard(a, b map[string]bool) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 0
	}
	inter := 0
	for k := range a {
		if b[k] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// Scored is a chunk with its similarity to the query.
type Scored struct {
	Chunk
	Score float64
}

// Rank scores chunks against query (the code around the cursor) and
// returns those sharing at least one identifier with it, best first; ties
// keep the given order (newest first).
func Rank(chunks []Chunk, query string) []Scored {
	q := Identifiers(query)
	var out []Scored
	for _, c := range chunks {
		if s := Jaccard(Identifiers(c.Text), q); s > 0 {
			out = append(out, Scored{c, s})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

// Header is the comment line that names a chunk's document, in the
// language's line comment ("//" when comment is empty).
func Header(comment, path string) string {
	if comment == "" {
		comment = "//"
	}
	return comment + " " + path + "\n"
}

// Render is one chunk as it goes before the prefix: its Header, its text
// and a blank line.
func Render(comment string, c Chunk) string {
	return Header(comment, c.Path) + strings.TrimRight(c.Text, "\n") + "\n\n"
}

// Select ranks chunks against query and renders the best ones, each as its
// Header and text followed by a blank line, while the tokens (by count)
// stay within budget. A chunk that does not fit is skipped and smaller
// ones after it may still go in; the chosen chunks keep their rank order,
// the best one last, next to the prefix. It returns the text to place
// before the prefix and the chunks it holds.
func Select(chunks []Chunk, query, comment string, budget int, count func(string) int) (string, []Chunk) {
	if budget <= 0 {
		return "", nil
	}
	var picked []string
	var used []Chunk
	left := budget
	for _, s := range Rank(chunks, query) {
		piece := Render(comment, s.Chunk)
		n := count(piece)
		if n > left {
			continue
		}
		left -= n
		picked = append(picked, piece)
		used = append(used, s.Chunk)
	}
	var b strings.Builder
	for i := len(picked) - 1; i >= 0; i-- {
		b.WriteString(picked[i])
	}
	return b.String(), used
}
