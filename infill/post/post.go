// Package post cleans a model's raw middle before it is shown: it keeps a
// single-line span to one line, stops at the end of the enclosing scope,
// drops text that repeats the suffix, balances brackets against the suffix
// and matches the document's indentation.
package post

import (
	"strings"

	"github.com/dream-lsp/dream-lsp/context/window"
)

// Apply runs every filter in order and returns the cleaned middle.
// suffix is the document text after the span.
func Apply(mid string, sp window.Span, suffix string) string {
	mid = strings.ReplaceAll(mid, "\r\n", "\n")
	if !sp.Multiline {
		mid = FirstLine(mid)
	}
	mid = MatchIndent(mid, sp)
	if sp.Multiline {
		mid = StopAtScopeEnd(mid, sp, suffix)
	}
	mid = TrimSuffixRepeat(mid, suffix)
	if !sp.LineStart {
		// Whole inserted lines share no line with the suffix's closers.
		mid = BalanceBrackets(mid, sp.Before, suffix)
	}
	trimmed := strings.TrimRight(mid, " \t\n")
	if gap := mid[len(trimmed):]; !strings.Contains(trimmed, "\n") && startsWord(sp.After) && !strings.Contains(gap, "\n") {
		// Mid-line, the blanks the model wrote at the end separate the
		// middle from the word that follows the cursor ("x + " + "y").
		trimmed += gap
	}
	mid = trimmed
	if sp.LineStart && strings.TrimSpace(mid) != "" {
		mid += "\n" + sp.Before
	}
	if strings.TrimSpace(mid) == "" {
		return ""
	}
	return mid
}

// FirstLine keeps the text up to the first line break that follows some
// non-blank text.
func FirstLine(mid string) string {
	lead := len(mid) - len(strings.TrimLeft(mid, " \t\n"))
	if i := strings.IndexByte(mid[lead:], '\n'); i >= 0 {
		return mid[:lead+i]
	}
	return mid
}

// StopAtScopeEnd cuts the middle before the first non-blank line indented
// less than the span's scope (a line that would close or leave the
// enclosing block, which the suffix already does), unless the middle as a
// whole ends where the suffix continues: its last line leads to the
// indentation the suffix's first line expects (a middle may close a block
// and open the next one the suffix goes on in).
func StopAtScopeEnd(mid string, sp window.Span, suffix string) string {
	lines := strings.SplitAfter(mid, "\n")
	pos := 0
	for i, line := range lines {
		t := strings.TrimSpace(line)
		// The first line continues the cursor's line unless the cursor
		// sits in the indentation of a blank line.
		first := i == 0 && strings.TrimSpace(sp.Before) != ""
		if t != "" && !first {
			ind := leadingWS(line)
			if i == 0 {
				ind = sp.Before + ind
			}
			w, scope := indentWidth(ind, sp.IndentUnit), indentWidth(sp.ScopeIndent, sp.IndentUnit)
			if w < scope && !(w == scope-1 && continuesBlock(t)) {
				if endsWhereSuffixContinues(mid, sp, suffix) {
					return mid
				}
				return mid[:pos]
			}
		}
		pos += len(line)
	}
	return mid
}

// endsWhereSuffixContinues compares the indentation after the middle's
// last line (one level deeper when it opens a block) with the indentation
// the suffix's first non-blank line expects before it (one level deeper
// when that line closes a block or continues one: "}", "else:").
func endsWhereSuffixContinues(mid string, sp window.Span, suffix string) bool {
	unit := sp.IndentUnit
	var last string
	lines := strings.Split(mid, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.TrimSpace(lines[i]) != "" {
			last = lines[i]
			if i == 0 {
				last = sp.Before + last
			}
			break
		}
	}
	next := ""
	for _, l := range strings.Split(suffix, "\n") {
		if strings.TrimSpace(l) != "" {
			next = l
			break
		}
	}
	if last == "" || next == "" {
		return false
	}
	end := indentWidth(leadingWS(last), unit)
	if lt := strings.TrimSpace(last); strings.HasSuffix(lt, "{") || strings.HasSuffix(lt, ":") || strings.HasSuffix(lt, "(") || strings.HasSuffix(lt, "[") {
		end++
	}
	want := indentWidth(leadingWS(next), unit)
	if nt := strings.TrimSpace(next); strings.IndexAny(nt[:1], ")]}") == 0 || continuesBlock(nt) {
		want++
	}
	return end == want
}

// continuesBlock reports whether a trimmed line closes a block and opens
// the next branch of the same statement: "} else {", "else:", "except E:".
func continuesBlock(t string) bool {
	if strings.HasPrefix(t, "}") && strings.HasSuffix(t, "{") {
		return true
	}
	for _, kw := range []string{"else", "elif ", "except", "finally", "case ", "default:"} {
		if strings.HasPrefix(t, kw) && strings.HasSuffix(t, ":") {
			return true
		}
	}
	return false
}

// TrimSuffixRepeat drops the end of the middle where it repeats the start
// of the suffix: a whole line equal to the suffix's next non-blank line, or
// a tail of at least three non-blank characters the suffix starts with.
func TrimSuffixRepeat(mid, suffix string) string {
	// Line level: from some line on, the middle's lines are the suffix's
	// next lines (blank lines ignored): the model ran on into the suffix.
	var sfxLines []string
	for _, l := range strings.Split(suffix, "\n") {
		if t := strings.TrimSpace(l); t != "" {
			sfxLines = append(sfxLines, t)
		}
	}
	lines := strings.SplitAfter(mid, "\n")
	pos := 0
	for i, line := range lines {
		if i > 0 && strings.TrimSpace(line) != "" && repeatsSuffix(lines[i:], sfxLines) {
			mid = mid[:pos]
			break
		}
		pos += len(line)
	}
	trimmed := strings.TrimRight(mid, " \t\n")
	sfx := strings.TrimLeft(suffix, " \t")
	for k := min(len(trimmed), len(sfx)); k > 0; k-- {
		tail := trimmed[len(trimmed)-k:]
		// The overlap must end on a token boundary of the suffix: "return 1"
		// does not repeat "return 18".
		if strings.HasPrefix(sfx, tail) && len(strings.TrimSpace(tail)) >= 3 && !(isWord(tail[len(tail)-1]) && len(sfx) > k && isWord(sfx[k])) {
			return strings.TrimRight(trimmed[:len(trimmed)-k], " \t")
		}
	}
	return mid
}

// repeatsSuffix reports whether the non-blank lines of rest equal the
// first lines of sfx, with at least one line that is more than brackets.
func repeatsSuffix(rest, sfx []string) bool {
	k, substantial := 0, false
	for _, l := range rest {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		if k >= len(sfx) || sfx[k] != t {
			return false
		}
		if len(t) >= 2 && strings.Trim(t, "{}()[];,") != "" {
			substantial = true
		}
		k++
	}
	return substantial
}

var pairs = map[byte]byte{')': '(', ']': '[', '}': '{'}

// BalanceBrackets cuts the middle where it closes something the rest of
// the cursor's line (suffix) already closes: a closer that closes nothing
// opened in the middle, or one that closes an opener the cursor's line
// opened before the cursor ("readConfig(" + "\"config.json\"))" before
// ")"), and the closing quote of a string the line opened before the
// cursor ("readConfig(\"" + "config.json\"))" before "\")"), when the
// suffix starts with that closer. before is the text of the cursor's line
// before the middle: its unclosed openers and quote are where the middle
// starts.
func BalanceBrackets(mid, before, suffix string) string {
	type open struct {
		c      byte
		prefix bool // opened before the cursor
	}
	var stack []open
	var quote byte
	prefixQuote := false
	scan := func(s string, prefix bool, visit func(i int, c byte) bool) {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if quote != 0 {
				if c == '\\' {
					i++
				} else if c == quote {
					if visit != nil && prefixQuote && !visit(i, c) {
						return
					}
					quote, prefixQuote = 0, false
				}
				continue
			}
			switch c {
			case '"', '\'', '`':
				if c == '\'' && i > 0 && isWord(s[i-1]) {
					continue // an apostrophe after a word ("it's") opens no string
				}
				quote, prefixQuote = c, prefix
			case '(', '[', '{':
				stack = append(stack, open{c, prefix})
			case ')', ']', '}':
				if visit != nil && !visit(i, c) {
					return
				}
				if n := len(stack); n > 0 && stack[n-1].c == pairs[c] {
					stack = stack[:n-1]
				}
			}
		}
	}
	scan(before, true, nil)
	// Only a closer on the cursor's own line counts: a closer on a later
	// line of the suffix closes a block the middle may close itself.
	sfx := strings.TrimLeft(suffix, " \t")
	cut := -1
	scan(mid, false, func(i int, c byte) bool {
		if c == '"' || c == '\'' || c == '`' {
			// The middle closes the string the line opened before the
			// cursor, and the suffix closes it already.
			if strings.HasPrefix(sfx, string(c)) {
				cut = i
				return false
			}
			return true
		}
		n := len(stack)
		if n > 0 && stack[n-1].c == pairs[c] && !stack[n-1].prefix {
			return true
		}
		if strings.HasPrefix(sfx, string(c)) && (n == 0 || stack[n-1].c == pairs[c]) {
			cut = i
			return false
		}
		return true
	})
	if cut >= 0 {
		return strings.TrimRight(mid[:cut], " \t")
	}
	return mid
}

// MatchIndent rewrites the indentation of the lines the middle starts to
// the document's unit (tabs or spaces) and fixes the first line's
// indentation against the text already before the cursor. A first line
// that continues the cursor's line (sp.Continues) has no indentation: its
// leading blanks separate it from the word before the cursor ("if" +
// " err != nil {") and are kept, except that they collapse when the text
// before the cursor already ends in a blank ("if " + " err").
func MatchIndent(mid string, sp window.Span) string {
	lines := strings.SplitAfter(mid, "\n")
	cont := sp.Continues()
	if cont && len(lines) > 0 && strings.TrimSpace(lines[0]) != "" && (strings.HasSuffix(sp.Before, " ") || strings.HasSuffix(sp.Before, "\t")) {
		lines[0] = strings.TrimLeft(lines[0], " \t")
	}
	unit := sp.IndentUnit
	if unit == "" {
		return strings.Join(lines, "")
	}
	// starts reports whether line i starts a line of the buffer (its
	// leading blanks are indentation).
	starts := func(i int) bool { return i > 0 || !cont }
	// Convert between tabs and spaces: a run of spaces becomes tabs at
	// two or four spaces a level (see spacesPerLevel).
	per := spacesPerLevel(lines, starts, sp)
	for i, l := range lines {
		if !starts(i) {
			continue
		}
		ws := leadingWS(l)
		switch {
		case unit == "\t" && strings.Contains(ws, " "):
			n := strings.Count(ws, "\t") + strings.Count(ws, " ")/per
			lines[i] = strings.Repeat("\t", n) + l[len(ws):]
		case unit != "\t" && strings.Contains(ws, "\t"):
			lines[i] = strings.ReplaceAll(ws, "\t", unit) + l[len(ws):]
		}
	}
	if !cont && sp.Kind != window.MidLine && sp.Kind != window.ArgList && len(lines) > 0 {
		// The cursor sits in the indentation: the first line's indentation
		// plus what is before the cursor should equal the span's.
		l := lines[0]
		ws := leadingWS(l)
		if strings.TrimSpace(l) != "" {
			// Trust indentation the model wrote; supply it where none was
			// (not before a closer, which belongs one level out).
			if ws == "" && strings.IndexByte(")]}", l[0]) < 0 && indentWidth(sp.Before, unit) < indentWidth(sp.Indent, unit) && strings.HasPrefix(sp.Indent, sp.Before) {
				lines[0] = sp.Indent[len(sp.Before):] + l
			}
		}
	}
	return strings.Join(lines, "")
}

// spacesPerLevel guesses how many spaces make one level in the lines a
// middle starts: 2 when the runs' greatest common divisor is 2, or when
// the first started line after the cursor's line has exactly two spaces
// per level of the indentation the span expects there (a model writing
// two-space code two levels deep); else 4.
func spacesPerLevel(lines []string, starts func(int) bool, sp window.Span) int {
	g, first, firstAt := 0, -1, -1
	for i, l := range lines {
		ws := leadingWS(l)
		if !starts(i) || strings.TrimSpace(l) == "" || ws == "" || strings.Contains(ws, "\t") {
			continue
		}
		if first < 0 {
			first, firstAt = len(ws), i
		}
		g = gcd(g, len(ws))
	}
	if g == 0 {
		return 4
	}
	if g%4 != 0 && g%2 == 0 {
		return 2
	}
	if k := strings.Count(sp.Indent, "\t"); firstAt > 0 && k > 0 && first == 2*k {
		return 2
	}
	return 4
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// startsWord reports whether after (the rest of the cursor's line) starts
// with a word, a quote or an opening bracket: a blank the middle ends in
// must stay to keep the two apart.
func startsWord(after string) bool {
	return after != "" && (isWord(after[0]) || strings.IndexByte("\"'`([{", after[0]) >= 0)
}

func isWord(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func leadingWS(s string) string { return s[:len(s)-len(strings.TrimLeft(s, " \t"))] }

// indentWidth counts indentation levels of ws in units of unit (a tab is
// one level; spaces count len(unit) per level).
func indentWidth(ws, unit string) int {
	n := len(unit)
	if unit == "\t" || n == 0 {
		n = 4
	}
	cols := 0
	for _, c := range ws {
		if c == '\t' {
			cols += n
		} else {
			cols++
		}
	}
	return cols / n
}
