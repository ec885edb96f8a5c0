package tokenizer

import "fmt"

// Parts are a byte-level BPE tokenizer's tables as another container
// stores them (a GGUF file's token and merge arrays), so New can build
// the tokenizer without writing them out as files first.
type Parts struct {
	// Vocab maps byte-level token text ("Ġthe") to its id.
	Vocab map[string]int
	// Merges are the merge pairs in rank order.
	Merges [][2]string
	// Added are the added tokens (ids may lie outside Vocab).
	Added []AddedToken
	// GPT2 selects GPT-2's pre-tokenizer without NFC (tokenizer_class
	// GPT2Tokenizer); false is Qwen2's, with NFC.
	GPT2 bool
}

// AddedToken is one added token of Parts. Special ones are dropped by
// DecodeSkipSpecial.
type AddedToken struct {
	Content string
	ID      int
	Special bool
}

// New builds a tokenizer from its parts, checked as Load checks the
// files: ids in range, every merge's tokens in the vocabulary. It gives
// the same tokenizer as Load on vocab.json, merges.txt and a
// tokenizer_config.json holding the same tables.
func New(p Parts) (*Tokenizer, error) {
	b := builder{vocab: p.Vocab, merges: p.Merges, split: splitQwen, nfc: true}
	if p.GPT2 {
		b.split, b.nfc = splitGPT2, false
	}
	for _, a := range p.Added {
		b.added = append(b.added, addedToken{content: a.Content, id: a.ID, special: a.Special})
	}
	t, err := b.build()
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return t, nil
}
