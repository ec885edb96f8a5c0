package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/dream-lsp/dream-lsp/internal/safeio"
)

// ErrUnsupported marks a tokenizer file that uses a feature this package
// does not implement (another model type, normalizer or pre-tokenizer).
var ErrUnsupported = errors.New("tokenizer: unsupported")

// Load reads the tokenizer of the model directory dir: tokenizer.json when
// present, else vocab.json + merges.txt (+ added_tokens.json,
// tokenizer_config.json, special_tokens_map.json).
func Load(dir string) (*Tokenizer, error) {
	t, err := LoadFS(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: load %s: %w", dir, err)
	}
	return t, nil
}

// LoadFS is Load from a file system rooted at the model directory.
func LoadFS(fsys fs.FS) (*Tokenizer, error) {
	if _, err := fs.Stat(fsys, "tokenizer.json"); err == nil {
		return loadTokenizerJSON(fsys)
	}
	return loadVocabMerges(fsys)
}

// builder collects a tokenizer's parts before indexing them.
type builder struct {
	vocab        map[string]int
	merges       [][2]string
	added        []addedToken
	split        splitKind
	nfc          bool
	ignoreMerges bool
}

// hfTokenizer is the subset of Hugging Face's tokenizer.json that matters.
// The vocabulary and merges are read by jsonReader, the rest by
// encoding/json.
type hfTokenizer struct {
	AddedTokens  []hfAddedToken
	Normalizer   json.RawMessage
	PreTokenizer json.RawMessage
	Model        struct {
		Type                    string
		Vocab                   map[string]int
		Merges                  [][2]string
		IgnoreMerges            bool
		ContinuingSubwordPrefix *string
		EndOfWordSuffix         *string
	}
}

type hfAddedToken struct {
	ID      int    `json:"id"`
	Content string `json:"content"`
	Special bool   `json:"special"`
}

// parseTokenizerJSON reads tokenizer.json.
func parseTokenizerJSON(data []byte) (*hfTokenizer, error) {
	var hf hfTokenizer
	r := jsonReader{data: data}
	field := func(name string, v any) error {
		raw, err := r.skip()
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	err := r.object(func(key string) error {
		switch key {
		case "added_tokens":
			return field(key, &hf.AddedTokens)
		case "normalizer":
			return field(key, &hf.Normalizer)
		case "pre_tokenizer":
			return field(key, &hf.PreTokenizer)
		case "model":
		default:
			_, err := r.skip()
			return err
		}
		m := &hf.Model
		return r.object(func(key string) error {
			var err error
			switch key {
			case "vocab":
				m.Vocab, err = r.vocabObject()
			case "merges":
				if r.peek() == 'n' {
					_, err = r.skip() // null
				} else {
					m.Merges, err = r.mergesArray()
				}
			case "type":
				err = field(key, &m.Type)
			case "ignore_merges":
				err = field(key, &m.IgnoreMerges)
			case "continuing_subword_prefix":
				err = field(key, &m.ContinuingSubwordPrefix)
			case "end_of_word_suffix":
				err = field(key, &m.EndOfWordSuffix)
			default:
				_, err = r.skip()
			}
			if err != nil {
				return fmt.Errorf("model.%s: %w", key, err)
			}
			return nil
		})
	})
	if err == nil && r.peek() != 0 {
		err = r.fail("trailing data")
	}
	if err != nil {
		return nil, err
	}
	return &hf, nil
}

// hfComponent is a normalizer or pre-tokenizer entry.
type hfComponent struct {
	Type          string          `json:"type"`
	Normalizers   json.RawMessage `json:"normalizers"`
	PreTokenizers json.RawMessage `json:"pretokenizers"`
	Pattern       *struct {
		Regex  *string `json:"Regex"`
		String *string `json:"String"`
	} `json:"pattern"`
	Behavior       string `json:"behavior"`
	Invert         bool   `json:"invert"`
	UseRegex       *bool  `json:"use_regex"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
}

func loadTokenizerJSON(fsys fs.FS) (*Tokenizer, error) {
	data, err := safeio.ReadFS(fsys, "tokenizer.json", safeio.MaxTokenizerBytes)
	if err != nil {
		return nil, fmt.Errorf("read tokenizer.json: %w", err)
	}
	hf, err := parseTokenizerJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parse tokenizer.json: %w", err)
	}
	b := builder{vocab: hf.Model.Vocab, ignoreMerges: hf.Model.IgnoreMerges}
	if hf.Model.Type != "" && hf.Model.Type != "BPE" {
		return nil, fmt.Errorf("tokenizer.json: model type %q: %w", hf.Model.Type, ErrUnsupported)
	}
	if p := hf.Model.ContinuingSubwordPrefix; p != nil && *p != "" {
		return nil, fmt.Errorf("tokenizer.json: continuing_subword_prefix: %w", ErrUnsupported)
	}
	if p := hf.Model.EndOfWordSuffix; p != nil && *p != "" {
		return nil, fmt.Errorf("tokenizer.json: end_of_word_suffix: %w", ErrUnsupported)
	}
	b.merges = hf.Model.Merges
	if b.nfc, err = parseNormalizer(hf.Normalizer); err != nil {
		return nil, fmt.Errorf("tokenizer.json: normalizer: %w", err)
	}
	if b.split, err = parsePreTokenizer(hf.PreTokenizer); err != nil {
		return nil, fmt.Errorf("tokenizer.json: pre_tokenizer: %w", err)
	}
	// tokenizer_config.json's added_tokens_decoder, when present beside
	// tokenizer.json, decides which added tokens are special, as in
	// transformers (Qwen2.5's tokenizer.json marks all of them special, its
	// config does not mark <|fim_prefix|> and friends).
	cfg, err := readTokenizerConfig(fsys)
	if err != nil {
		return nil, err
	}
	for _, a := range hf.AddedTokens {
		special := a.Special
		if d, ok := cfg.Decoder[fmt.Sprint(a.ID)]; ok && d.Content == a.Content {
			special = d.Special
		}
		b.added = append(b.added, addedToken{content: a.Content, id: a.ID, special: special})
	}
	t, err := b.build()
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	return t, nil
}

// parseNormalizer accepts no normalizer, NFC, or a Sequence of those.
func parseNormalizer(raw json.RawMessage) (nfc bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	var c hfComponent
	if err := json.Unmarshal(raw, &c); err != nil {
		return false, fmt.Errorf("parse: %w", err)
	}
	switch c.Type {
	case "NFC":
		return true, nil
	case "Sequence":
		var list []json.RawMessage
		if err := json.Unmarshal(c.Normalizers, &list); err != nil {
			return false, fmt.Errorf("parse Sequence: %w", err)
		}
		for _, item := range list {
			n, err := parseNormalizer(item)
			if err != nil {
				return false, err
			}
			nfc = nfc || n
		}
		return nfc, nil
	}
	return false, fmt.Errorf("type %q: %w", c.Type, ErrUnsupported)
}

// parsePreTokenizer accepts Qwen2's layout, Sequence[Split(pattern),
// ByteLevel(use_regex=false)], and GPT-2's, ByteLevel(use_regex=true)
// alone (or a Sequence holding just that).
func parsePreTokenizer(raw json.RawMessage) (splitKind, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, fmt.Errorf("missing: %w (want a ByteLevel pre-tokenizer)", ErrUnsupported)
	}
	var c hfComponent
	if err := json.Unmarshal(raw, &c); err != nil {
		return 0, fmt.Errorf("parse: %w", err)
	}
	list := []hfComponent{c}
	if c.Type == "Sequence" {
		var items []json.RawMessage
		if err := json.Unmarshal(c.PreTokenizers, &items); err != nil {
			return 0, fmt.Errorf("parse Sequence: %w", err)
		}
		list = list[:0]
		for _, item := range items {
			var ic hfComponent
			if err := json.Unmarshal(item, &ic); err != nil {
				return 0, fmt.Errorf("parse Sequence item: %w", err)
			}
			list = append(list, ic)
		}
	}
	split, haveSplit, haveByteLevel := splitNone, false, false
	for _, ic := range list {
		switch ic.Type {
		case "Split":
			if haveSplit || haveByteLevel {
				return 0, fmt.Errorf("Split after another splitting step: %w", ErrUnsupported)
			}
			if ic.Pattern == nil || ic.Pattern.Regex == nil {
				return 0, fmt.Errorf("Split without a Regex pattern: %w", ErrUnsupported)
			}
			if ic.Invert || (ic.Behavior != "" && ic.Behavior != "Isolated") {
				return 0, fmt.Errorf("Split behavior %q invert %v: %w", ic.Behavior, ic.Invert, ErrUnsupported)
			}
			switch *ic.Pattern.Regex {
			case qwenPattern:
				split = splitQwen
			case gpt2Pattern:
				split = splitGPT2
			default:
				return 0, fmt.Errorf("Split pattern %q: %w", *ic.Pattern.Regex, ErrUnsupported)
			}
			haveSplit = true
		case "ByteLevel":
			if haveByteLevel {
				return 0, fmt.Errorf("two ByteLevel steps: %w", ErrUnsupported)
			}
			if ic.AddPrefixSpace {
				return 0, fmt.Errorf("ByteLevel add_prefix_space: %w", ErrUnsupported)
			}
			useRegex := ic.UseRegex == nil || *ic.UseRegex
			if useRegex {
				if haveSplit {
					return 0, fmt.Errorf("ByteLevel use_regex after Split: %w", ErrUnsupported)
				}
				split, haveSplit = splitGPT2, true
			}
			haveByteLevel = true
		default:
			return 0, fmt.Errorf("type %q: %w", ic.Type, ErrUnsupported)
		}
	}
	if !haveByteLevel {
		return 0, fmt.Errorf("no ByteLevel step: %w", ErrUnsupported)
	}
	return split, nil
}

// loadVocabMerges reads the slow tokenizer's files.
func loadVocabMerges(fsys fs.FS) (*Tokenizer, error) {
	b := builder{split: splitQwen, nfc: true}
	data, err := safeio.ReadFS(fsys, "vocab.json", safeio.MaxTokenizerBytes)
	if err != nil {
		return nil, fmt.Errorf("read vocab.json: %w", err)
	}
	r := jsonReader{data: data}
	if b.vocab, err = r.vocabObject(); err == nil && r.peek() != 0 {
		err = r.fail("trailing data")
	}
	if err != nil {
		return nil, fmt.Errorf("parse vocab.json: %w", err)
	}
	data, err = safeio.ReadFS(fsys, "merges.txt", safeio.MaxTokenizerBytes)
	if err != nil {
		return nil, fmt.Errorf("read merges.txt: %w", err)
	}
	if b.merges, err = parseMergesTxt(data); err != nil {
		return nil, fmt.Errorf("merges.txt: %w", err)
	}

	// Added tokens: ids from added_tokens.json and tokenizer_config.json's
	// added_tokens_decoder; "special" from the latter, else from
	// special_tokens_map.json.
	addedIDs := map[string]int{}
	if err := readOptionalJSON(fsys, "added_tokens.json", &addedIDs); err != nil {
		return nil, err
	}
	cfg, err := readTokenizerConfig(fsys)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(cfg.TokenizerClass, "GPT2Tokenizer") {
		b.split, b.nfc = splitGPT2, false
	}
	special := map[string]bool{}
	for idText, d := range cfg.Decoder {
		id, err := strconv.Atoi(idText)
		if err != nil {
			return nil, fmt.Errorf("tokenizer_config.json: added_tokens_decoder key %q: not an id", idText)
		}
		addedIDs[d.Content] = id
		special[d.Content] = d.Special
	}
	var smap map[string]json.RawMessage
	if err := readOptionalJSON(fsys, "special_tokens_map.json", &smap); err != nil {
		return nil, err
	}
	for _, v := range smap {
		for _, content := range specialMapContents(v) {
			if _, ok := special[content]; !ok {
				special[content] = true
			}
		}
	}
	for content, id := range addedIDs {
		b.added = append(b.added, addedToken{content: content, id: id, special: special[content]})
	}
	return b.build()
}

// tokenizerConfig is the part of tokenizer_config.json that matters.
type tokenizerConfig struct {
	TokenizerClass string `json:"tokenizer_class"`
	Decoder        map[string]struct {
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens_decoder"`
}

func readTokenizerConfig(fsys fs.FS) (tokenizerConfig, error) {
	var cfg tokenizerConfig
	err := readOptionalJSON(fsys, "tokenizer_config.json", &cfg)
	return cfg, err
}

// specialMapContents returns the token texts of one special_tokens_map.json
// value: a string, an object with "content", or a list of either.
func specialMapContents(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var obj struct {
		Content string `json:"content"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Content != "" {
		return []string{obj.Content}
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	var out []string
	for _, item := range list {
		out = append(out, specialMapContents(item)...)
	}
	return out
}

// readOptionalJSON decodes name into v; a missing file leaves v unchanged.
func readOptionalJSON(fsys fs.FS, name string, v any) error {
	data, err := safeio.ReadFS(fsys, name, safeio.MaxConfigBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("parse %s: %w", name, err)
	}
	return nil
}

// parseMergesTxt reads merges.txt: an optional "#version" line, then one
// merge per line, two tokens separated by a space.
func parseMergesTxt(data []byte) ([][2]string, error) {
	out := make([][2]string, 0, bytes.Count(data, []byte{'\n'})+1)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if text == "" || (line == 1 && strings.HasPrefix(text, "#version")) {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 2 {
			return nil, fmt.Errorf("line %d %q: want two tokens", line, text)
		}
		out = append(out, [2]string{fields[0], fields[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line, err)
	}
	return out, nil
}

// build indexes the collected parts.
func (b *builder) build() (*Tokenizer, error) {
	if len(b.vocab) == 0 {
		return nil, errors.New("empty vocabulary")
	}
	t := &Tokenizer{
		vocab:        b.vocab,
		addedIDs:     map[string]int{},
		split:        b.split,
		nfc:          b.nfc,
		ignoreMerges: b.ignoreMerges,
	}
	// Ids may have gaps, but a corrupt file must not make the tables huge.
	maxID := 2*(len(b.vocab)+len(b.added)) + 1024
	size := 0
	for tok, id := range b.vocab {
		if id < 0 || id >= maxID {
			return nil, fmt.Errorf("vocabulary token %q: id %d out of range", tok, id)
		}
		size = max(size, id+1)
	}
	for _, a := range b.added {
		if a.id < 0 || a.id >= maxID {
			return nil, fmt.Errorf("added token %q: id %d out of range", a.content, a.id)
		}
		if a.content == "" {
			return nil, fmt.Errorf("added token %d: empty content", a.id)
		}
		size = max(size, a.id+1)
	}
	t.size = size
	t.cache.seed = maphash.MakeSeed()
	t.pieces = make([]string, size)
	t.flags = make([]uint8, size)
	for tok, id := range b.vocab {
		t.pieces[id] = string(byteLevelDecode(tok))
		t.flags[id] |= flagModel
	}
	for i := range t.byteID {
		t.byteID[i] = -1
		if id, ok := b.vocab[byteLevelString[i]]; ok {
			t.byteID[i] = int32(id)
		}
	}
	t.merges = newMergeTable(len(b.merges))
	var cat []byte
	for rank, m := range b.merges {
		left, ok1 := b.vocab[m[0]]
		right, ok2 := b.vocab[m[1]]
		cat = append(append(cat[:0], m[0]...), m[1]...)
		merged, ok3 := b.vocab[string(cat)]
		if !ok1 || !ok2 || !ok3 {
			return nil, fmt.Errorf("merge %d %q %q: token not in the vocabulary", rank, m[0], m[1])
		}
		t.merges.put(int32(left), int32(right), uint32(rank), int32(merged))
	}
	for _, a := range b.added {
		t.pieces[a.id] = a.content
		t.flags[a.id] |= flagAdded
		if a.special {
			t.flags[a.id] |= flagSpecial
		}
		t.addedIDs[a.content] = a.id
	}
	// Deduplicate by content (the last id wins, as in a JSON object) and
	// order longest first for matching.
	for content, id := range t.addedIDs {
		t.added = append(t.added, addedToken{content: content, id: id, special: t.flags[id]&flagSpecial != 0})
		t.addedFirst[content[0]] = true
	}
	sort.Slice(t.added, func(i, j int) bool {
		if len(t.added[i].content) != len(t.added[j].content) {
			return len(t.added[i].content) > len(t.added[j].content)
		}
		return t.added[i].content < t.added[j].content
	})
	return t, nil
}
