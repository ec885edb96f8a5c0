package infill

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dream-lsp/dream-lsp/context/crossfile"
	"github.com/dream-lsp/dream-lsp/context/lang"
	"github.com/dream-lsp/dream-lsp/context/syntax"
	"github.com/dream-lsp/dream-lsp/context/window"
	"github.com/dream-lsp/dream-lsp/infill/post"
	sitter "github.com/smacker/go-tree-sitter"
)

// ParseBonus is added to the score of a candidate whose spliced document
// parses no worse than the original, so that parsing candidates always rank
// above ones that break the parse (confidences lie in [0, 1]).
const ParseBonus = 1.0

// doc is a parsed request document.
type doc struct {
	lang    *lang.Language
	tree    *syntax.Tree
	baseErr int
}

func (e *Engine) parse(ctx context.Context, languageID, path, text string) (*doc, error) {
	d := &doc{}
	l, ok := lang.Detect(languageID, path)
	if !ok {
		return d, nil
	}
	t, err := syntax.Parse(ctx, l, []byte(text))
	if err != nil {
		return nil, fmt.Errorf("infill: %w", err)
	}
	d.lang, d.tree, d.baseErr = l, t, t.ErrorCount()
	return d, nil
}

func (d *doc) close() { d.tree.Close() }

// scopeBroken reports whether the top-level declaration around offset
// has a syntax error that does not start on the cursor's line: the code
// around the cursor is broken (a block left open, a line missing), not
// merely being typed.
func (d *doc) scopeBroken(text string, offset int) bool {
	if d.tree == nil || d.baseErr == 0 {
		return false
	}
	ls := strings.LastIndexByte(text[:offset], '\n') + 1
	le := len(text)
	if i := strings.IndexByte(text[offset:], '\n'); i >= 0 {
		le = offset + i
	}
	root := d.tree.Root()
	for _, c := range syntax.Children(root) { // Child(i) is O(i): quadratic on wide nodes
		if int(c.StartByte()) <= offset && offset <= int(c.EndByte()) {
			return errorOutside(c, ls, le)
		}
	}
	return errorOutside(root, ls, le)
}

// errorOutside reports whether an ERROR or MISSING node under n starts
// outside [lo, hi].
func errorOutside(n *sitter.Node, lo, hi int) bool {
	found := false
	syntax.Walk(n, func(n *sitter.Node) bool {
		if found || !n.HasError() && !n.IsMissing() {
			return false
		}
		if s := int(n.StartByte()); (n.IsError() || n.IsMissing()) && (s < lo || s > hi) {
			found = true
			return false
		}
		return true
	})
	return found
}

// parses reports whether text parses no worse than the original
// document: it has no more syntax errors, none of them starts on the
// lines written in text[lo:hi] (the spliced middle and the cursor's
// line), and where the cursor's scope was broken before (broken, see
// scopeBroken) it has fewer. The last two rules matter where the document
// was already broken: a candidate that swaps one error for another of its
// own making, or leaves a broken block as broken as it was, does not count
// as parsing.
func (d *doc) parses(ctx context.Context, text string, lo, hi int, broken bool) bool {
	if d.lang == nil {
		return true
	}
	t, err := syntax.Parse(ctx, d.lang, []byte(text))
	if err != nil {
		return false
	}
	defer t.Close()
	n := t.ErrorCount()
	if n > d.baseErr || broken && n == d.baseErr {
		return false
	}
	if n == 0 {
		return true
	}
	lo = strings.LastIndexByte(text[:lo], '\n') + 1
	if i := strings.IndexByte(text[hi:], '\n'); i >= 0 {
		hi += i
	} else {
		hi = len(text)
	}
	return !errorStartsIn(t.Root(), lo, hi)
}

// errorStartsIn reports whether an ERROR or MISSING node starts in [lo, hi].
func errorStartsIn(n *sitter.Node, lo, hi int) bool {
	found := false
	syntax.Walk(n, func(n *sitter.Node) bool {
		if found || !n.HasError() && !n.IsMissing() {
			return false
		}
		if s := int(n.StartByte()); (n.IsError() || n.IsMissing()) && lo <= s && s <= hi {
			found = true
			return false
		}
		return int(n.EndByte()) >= lo && int(n.StartByte()) <= hi
	})
	return found
}

func (e *Engine) count(s string) int { return len(e.rt.Encode(s)) }

// budget is the token budget of the prefix and suffix windows for middles
// of up to longest tokens: the configured context, within the model's
// positions (one kept for a BOS).
func (e *Engine) budget(longest int) (int, error) {
	b := e.opts.ContextTokens
	if mp := e.rt.MaxPositions(); mp > 0 {
		room := mp - longest - 1
		if room < 8 {
			return 0, fmt.Errorf("infill: a middle of %d tokens leaves no room for context in the model's %d positions", longest, mp)
		}
		b = min(b, room)
	}
	return b, nil
}

// around is the code the related chunks are ranked against: up to ten
// lines above the cursor and five below.
func around(text string, offset int) string {
	start := offset
	for i := 0; i < 11 && start > 0; i++ {
		start = strings.LastIndexByte(text[:start], '\n')
		if start < 0 {
			start = 0
		}
	}
	end := offset
	for i := 0; i < 5 && end < len(text); i++ {
		k := strings.IndexByte(text[end+1:], '\n')
		if k < 0 {
			end = len(text)
			break
		}
		end += 1 + k
	}
	return text[start:end]
}

// maxTokens is a request's MaxTokens, or the engine's where it sets none.
func (e *Engine) maxTokens(requested int) int {
	if requested > 0 {
		return requested
	}
	return e.opts.MaxTokens
}

// trimToPositions cuts pre and suf so that they and a middle of longest
// tokens fit in mp positions: most from the prefix's start, a quarter (and
// one) from the suffix's end. A prefix shorter than its share leaves the
// canvas over mp.
func trimToPositions(pre, suf []int, longest, mp int) ([]int, []int) {
	over := len(pre) + len(suf) + longest - mp
	if over <= 0 {
		return pre, suf
	}
	cutS := min(over/4+1, len(suf))
	suf = suf[:len(suf)-cutS]
	if cutP := over - cutS; cutP > 0 {
		pre = pre[min(cutP, len(pre)):]
	}
	return pre, suf
}

// prefixTokens encodes related (other documents' code), the head and the
// prefix windows, starting with the model's BOS when the prefix reaches
// the start of the file.
func (e *Engine) prefixTokens(w window.Window, related string) []int {
	ids := e.rt.Encode(related + w.Head + w.Prefix)
	if bos, ok := e.rt.BOSID(); ok && w.PrefixStart == 0 && w.Head == "" {
		ids = append([]int{bos}, ids...)
	}
	return ids
}

// lengths returns the middle lengths to try.
func (e *Engine) lengths(req Request, sp window.Span) ([]int, error) {
	if req.Length == "" || req.Length == "auto" {
		if !sp.Multiline && e.adaptive {
			return e.adaptiveLengths(req, sp, []int{1, 2, 4}, 2), nil
		}
		if sp.Multiline && e.adaptiveMulti {
			// One line, a few lines, a block.
			return e.adaptiveLengths(req, sp, []int{2, 6, 12}, 2), nil
		}
	}
	maxTok := e.maxTokens(req.MaxTokens)
	mode := req.Length
	switch {
	case mode == "" || mode == "auto":
		set := e.opts.SingleLineLengths
		if sp.Multiline {
			set = e.opts.MultiLineLengths
		}
		var out []int
		for _, n := range set {
			if n > maxTok {
				n = maxTok
			}
			if n > 0 && (len(out) == 0 || out[len(out)-1] != n) {
				out = append(out, n)
			}
		}
		return out, nil
	case strings.HasPrefix(mode, "fixed=") || strings.HasPrefix(mode, "oracle="):
		_, v, _ := strings.Cut(mode, "=")
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxFillLength {
			return nil, fmt.Errorf("infill: bad length %q", mode)
		}
		if n == 0 {
			n = 1
		}
		return []int{n}, nil
	}
	return nil, fmt.Errorf("infill: unknown length strategy %q (want auto, fixed=N or oracle=N)", mode)
}

func (e *Engine) complete(ctx context.Context, req Request) (*Result, error) {
	t0 := time.Now()
	if req.Offset < 0 || req.Offset > len(req.Text) {
		return nil, fmt.Errorf("infill: offset %d outside the document (%d bytes)", req.Offset, len(req.Text))
	}
	if r := e.reuse(req); r != nil {
		r.Timing.Context = time.Since(t0)
		return r, nil
	}
	d, err := e.parse(ctx, req.LanguageID, req.Path, req.Text)
	if err != nil {
		return nil, err
	}
	defer d.close()
	sp := window.DetectSpan(d.tree, req.Text, req.Offset)
	lengths, err := e.lengths(req, sp)
	if err != nil {
		return nil, err
	}
	longest := 0
	for _, n := range lengths {
		longest = max(longest, n)
	}
	budget, err := e.budget(longest)
	if err != nil {
		return nil, err
	}
	w := window.Build(d.tree, req.Text, sp, budget, e.count)
	pre := e.prefixTokens(w, "")
	suf := e.rt.Encode(w.Suffix)
	var relatedUsed []crossfile.Chunk // for a remote model, which renders them itself
	relatedComment := ""
	if rest := budget - len(pre) - len(suf); len(req.Related) > 0 && rest > 0 {
		// Code from other documents goes before the prefix, in what the
		// local window left of the budget: it never crowds the window out.
		comment := "//"
		if d.lang != nil && d.lang.LineComment != "" {
			comment = d.lang.LineComment
		}
		if related, used := crossfile.Select(req.Related, around(req.Text, req.Offset), comment, rest, e.count); related != "" {
			base := len(pre)
			pre = e.prefixTokens(w, related)
			relatedUsed, relatedComment = used, comment
			e.log.Debug("infill related chunks", "chunks", len(used), "tokens", len(pre)-base)
		}
	}
	if mp := e.rt.MaxPositions(); mp > 0 {
		// The line-wise count can differ from the joined text's: trim by tokens.
		pre, suf = trimToPositions(pre, suf, longest, mp)
	}
	res := &Result{}
	res.Timing.Context = time.Since(t0)

	t1 := time.Now()
	steps := req.Steps
	if steps <= 0 {
		steps = e.opts.Steps
	}
	alg := req.Alg
	if alg == "" {
		alg = e.opts.Alg
	}
	var mids []middle
	if e.opts.Remote != nil {
		auto := req.Length == "" || req.Length == "auto"
		mids, err = e.fillRemote(ctx, e.opts.Remote, w, relatedUsed, relatedComment, lengths, e.maxTokens(req.MaxTokens), steps, alg, auto, !sp.Multiline)
	} else if expand, ok := e.rt.ExpandID(); ok && (req.Length == "" || req.Length == "auto") {
		mids, err = e.denoiseExpand(ctx, pre, suf, lengths[0], e.maxTokens(req.MaxTokens), steps, alg, expand)
	} else {
		mids, err = e.denoise(ctx, pre, [][]int{suf}, [][]int{lengths}, steps, alg)
	}
	if err != nil {
		return nil, err
	}
	res.Timing.Model = time.Since(t1)

	t2 := time.Now()
	suffix := req.Text[sp.End:]
	broken := d.scopeBroken(req.Text, req.Offset)
	best := map[string]int{}
	for _, m := range mids {
		raw := e.rt.Decode(m.ids)
		text := post.Apply(raw, sp, suffix)
		e.log.Debug("infill candidate", "span", sp.Kind, "tokens", len(m.ids), "conf", m.conf, "raw", raw, "text", text)
		c := Candidate{Text: text, Start: sp.Start, End: sp.End, Tokens: len(m.ids), SlotMean: m.conf, TokenMean: m.tokMean, TokenMin: m.tokMin}
		c.Confidence = measure(c)
		c.Parses = d.parses(ctx, req.Text[:sp.Start]+text+req.Text[sp.End:], sp.Start, sp.Start+len(text), broken)
		c.Score = m.conf
		if c.Parses {
			c.Score += ParseBonus
		}
		if strings.TrimSpace(text) == "" {
			c.Score -= 2 * ParseBonus // an empty middle is the last resort
		}
		if i, ok := best[text]; ok {
			if c.Score > res.Candidates[i].Score {
				res.Candidates[i] = c
			}
			continue
		}
		best[text] = len(res.Candidates)
		res.Candidates = append(res.Candidates, c)
	}
	sort.SliceStable(res.Candidates, func(i, j int) bool { return res.Candidates[i].Score > res.Candidates[j].Score })
	n := req.Candidates
	if n <= 0 {
		n = DefaultCandidates
	}
	// The suggestion policy: show only candidates worth showing, say why
	// the others were held back.
	min := e.threshold(req)
	shown := res.Candidates[:0:0]
	for _, c := range res.Candidates {
		if r := judge(c, req.Text, sp, min); r != "" {
			res.Dropped = append(res.Dropped, Dropped{Candidate: c, Reason: r})
			e.log.Debug("infill candidate dropped", "reason", r, "text", c.Text, "confidence", c.Confidence, "min", min)
			continue
		}
		shown = append(shown, c)
	}
	res.Candidates = shown
	if len(res.Candidates) > n {
		res.Candidates = res.Candidates[:n]
	}
	res.Timing.Post = time.Since(t2)
	e.remember(req, res)
	return res, nil
}

// adaptiveLengths sizes a single-line middle from the lines around the
// cursor: L is the median token count of up to four non-blank lines above
// and below; the part of the cursor's line already typed is subtracted;
// the batch tries L times each factor divided by div.
func (e *Engine) adaptiveLengths(req Request, sp window.Span, factors []int, div int) []int {
	maxTok := e.maxTokens(req.MaxTokens)
	text := req.Text
	ls := strings.LastIndexByte(text[:sp.Start], '\n') + 1
	le := len(text)
	if i := strings.IndexByte(text[sp.End:], '\n'); i >= 0 {
		le = sp.End + i
	}
	var counts []int
	for i, up := ls-1, 0; i > 0 && up < 4; up++ {
		s := strings.LastIndexByte(text[:i], '\n') + 1
		if line := strings.TrimSpace(text[s:i]); line != "" {
			counts = append(counts, e.count(line))
		}
		i = s - 1
	}
	for i, down := le+1, 0; i < len(text) && down < 4; down++ {
		j := len(text)
		if k := strings.IndexByte(text[i:], '\n'); k >= 0 {
			j = i + k
		}
		if line := strings.TrimSpace(text[i:j]); line != "" {
			counts = append(counts, e.count(line))
		}
		i = j + 1
	}
	l := 8
	if len(counts) > 0 {
		sort.Ints(counts)
		l = counts[len(counts)/2] + 1 // + the newline
	}
	if typed := strings.TrimSpace(sp.Before); typed != "" {
		l -= e.count(typed)
	}
	l = max(l, 3)
	var out []int
	for _, f := range factors {
		n := min(max(2, l*f/div), maxTok)
		if len(out) == 0 || out[len(out)-1] != n {
			out = append(out, n)
		}
	}
	return out
}

// middle is one denoised middle: its tokens (special tokens removed), the
// mean confidence of the slots, and the mean and least confidence of its
// own tokens.
type middle struct {
	ids             []int
	conf            float64
	tokMean, tokMin float64
}

// denoise builds one canvas per length per hole set: prefix, then for each
// hole a run of masks followed by the segment after it. segs[k] is the
// text after hole k; lens[k] the lengths tried for hole k (all holes use
// the same index into their length lists). It returns the middles of hole
// 0 for every length when there is one hole, else the middles of every
// hole of the single canvas.
func (e *Engine) denoise(ctx context.Context, pre []int, segs [][]int, lens [][]int, steps int, alg string) ([]middle, error) {
	mask := e.rt.MaskID()
	rows := len(lens[0])
	canvases := make([][]int, rows)
	spans := make([][][2]int, rows)
	totals := make([]int, rows) // masks per canvas
	for r := 0; r < rows; r++ {
		c := append([]int(nil), pre...)
		total := 0
		for k := range segs {
			n := lens[k][r]
			spans[r] = append(spans[r], [2]int{len(c), len(c) + n})
			for i := 0; i < n; i++ {
				c = append(c, mask)
			}
			c = append(c, segs[k]...)
			total += n
		}
		canvases[r] = c
		totals[r] = total
	}
	// Each length candidate runs its own schedule (rowSteps).
	perRow, longest := rowSteps(totals, steps, e.opts.MaxSteps)
	out, err := e.rt.Denoise(ctx, DenoiseRequest{Canvases: canvases, Steps: longest, RowSteps: perRow, Alg: alg,
		Threshold: e.opts.Threshold, BlockSize: e.opts.BlockSize, EOSRuns: !e.opts.DreamPadding})
	if err != nil {
		return nil, fmt.Errorf("infill: denoise: %w", err)
	}
	if len(out.Canvases) != rows {
		return nil, fmt.Errorf("infill: denoise returned %d canvases for %d", len(out.Canvases), rows)
	}
	var mids []middle
	for r := 0; r < rows; r++ {
		for _, s := range spans[r] {
			if len(out.Canvases[r]) < s[1] {
				return nil, fmt.Errorf("infill: denoise returned a canvas of %d tokens, want %d", len(out.Canvases[r]), len(canvases[r]))
			}
			var conf []float32
			if r < len(out.Confidence) && len(out.Confidence[r]) >= s[1] {
				conf = out.Confidence[r][s[0]:s[1]]
			}
			mids = append(mids, e.cleanMiddle(out.Canvases[r][s[0]:s[1]], conf))
		}
	}
	return mids, nil
}

// cleanMiddle trims a middle at its first end-of-text (unused slots decode
// as EOS; what follows one is not part of the middle Dream meant) and drops
// leftover masks and expand tokens. Its confidence is the mean over all
// slots, EOS slots included (they are the model's length choice).
func (e *Engine) cleanMiddle(ids []int, conf []float32) middle {
	eos, pad, mask := e.rt.EOSID(), e.rt.PadID(), e.rt.MaskID()
	expand, hasExpand := e.rt.ExpandID()
	var m middle
	tokSum := 0.0
	for i, id := range ids {
		if id == eos || id == pad {
			break
		}
		if id == mask || hasExpand && id == expand {
			continue
		}
		m.ids = append(m.ids, id)
		if i < len(conf) {
			c := float64(conf[i])
			tokSum += c
			if len(m.ids) == 1 || c < m.tokMin {
				m.tokMin = c
			}
		}
	}
	if len(m.ids) > 0 && len(conf) > 0 {
		m.tokMean = tokSum / float64(len(m.ids))
	}
	if math.IsNaN(m.tokMean) || math.IsNaN(m.tokMin) {
		m.tokMean, m.tokMin = 0, 0
	}
	if len(conf) > 0 {
		sum := 0.0
		for _, c := range conf {
			sum += float64(c)
		}
		m.conf = sum / float64(len(conf))
	}
	if math.IsNaN(m.conf) || math.IsInf(m.conf, 0) {
		m.conf = 0
	}
	return m
}

// denoiseExpand infills with a checkpoint that has DreamOn's expand token.
// A runtime that runs DreamOn's own loop (ExpandDenoiser) gets it with
// DreamOn's settings (dreamon.go). Otherwise it approximates the loop pass
// by pass: start with n masks; after each pass every committed expand
// token becomes two masks and every EOS inside the middle is deleted, the
// other committed tokens stay pinned, and the canvas is denoised again,
// until no expand is left, the middle reaches maxTok, or four passes ran.
func (e *Engine) denoiseExpand(ctx context.Context, pre, suf []int, n, maxTok, steps int, alg string, expand int) ([]middle, error) {
	if rt, ok := e.rt.(ExpandDenoiser); ok {
		return e.dreamOn(ctx, rt, pre, suf, maxTok, steps, alg)
	}
	mask, eos, pad := e.rt.MaskID(), e.rt.EOSID(), e.rt.PadID()
	mid := make([]int, n)
	for i := range mid {
		mid[i] = mask
	}
	for pass := 0; pass < 4; pass++ {
		canvas := append(append(append([]int(nil), pre...), mid...), suf...)
		s := steps
		if s <= 0 {
			s = len(mid)
		}
		out, err := e.rt.Denoise(ctx, DenoiseRequest{Canvases: [][]int{canvas}, Steps: max(s, 1), Alg: alg})
		if err != nil {
			return nil, fmt.Errorf("infill: denoise: %w", err)
		}
		if len(out.Canvases) != 1 || len(out.Canvases[0]) != len(canvas) {
			return nil, fmt.Errorf("infill: denoise returned a malformed batch")
		}
		got := out.Canvases[0][len(pre) : len(pre)+len(mid)]
		var conf []float32
		if len(out.Confidence) == 1 && len(out.Confidence[0]) == len(canvas) {
			conf = out.Confidence[0][len(pre) : len(pre)+len(mid)]
		}
		expands := 0
		for _, id := range got {
			if id == expand {
				expands++
			}
		}
		if expands == 0 || len(got) >= maxTok || pass == 3 {
			return []middle{e.cleanMiddle(got, conf)}, nil
		}
		var next []int
		for _, id := range got {
			switch {
			case id == expand && len(next)+2 <= maxTok:
				next = append(next, mask, mask)
			case id == expand:
				next = append(next, mask)
			case id == eos || id == pad:
				// delete
			default:
				next = append(next, id)
			}
		}
		mid = next
	}
	return nil, fmt.Errorf("infill: expand loop ended without a middle")
}
