package gguf

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/dream-lsp/dream-lsp/internal/mmapfile"
	"github.com/dream-lsp/dream-lsp/internal/safeio"
	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/quant"
	"github.com/dream-lsp/dream-lsp/runtime/tokenizer"
)

// Arch is the general.architecture of Dream files (llama.cpp's
// LLM_ARCH_DREAM).
const Arch = "dream"

// Mapped is a GGUF file memory-mapped read-only. Tensor data slices the
// mapping: they are valid until Close.
type Mapped struct {
	*File
	mu      sync.Mutex
	release func() error
}

// Open maps and validates the GGUF file at path.
func Open(path string) (*Mapped, error) {
	// Opened without blocking and refused unless a regular file, as the
	// safetensors shards are (a FIFO must not hang the loader).
	fh, fi, err := safeio.OpenRegular(path, -1)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	defer fh.Close()
	data, release, err := mmapfile.Map(fh, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("gguf: map %s: %w", path, err)
	}
	f, err := Parse(path, data)
	if err != nil {
		release()
		return nil, err
	}
	return &Mapped{File: f, release: release}, nil
}

// Close unmaps the file; tensor data slices become invalid.
func (m *Mapped) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.release == nil {
		return nil
	}
	err := m.release()
	m.release = nil
	for _, t := range m.Tensors {
		t.Data = nil
	}
	return err
}

// IsGGUF reports whether the file at path starts with the GGUF magic.
func IsGGUF(path string) bool {
	fh, _, err := safeio.OpenRegular(path, -1)
	if err != nil {
		return false
	}
	defer fh.Close()
	var b [4]byte
	n, _ := fh.Read(b[:])
	return n == 4 && string(b[:]) == Magic
}

// hfNames maps Hugging Face tensor names to llama.cpp's GGUF names
// (gguf-py's TensorNameMap for Qwen2-style blocks; Dream's Q and K are
// stored unpermuted, NeoX RoPE as in the checkpoint).
func hfToGGUF(name string) (string, bool) {
	switch name {
	case model.TensorEmbed:
		return "token_embd.weight", true
	case model.TensorFinalNorm:
		return "output_norm.weight", true
	case model.TensorLMHead:
		return "output.weight", true
	}
	rest, ok := strings.CutPrefix(name, "model.layers.")
	if !ok {
		return "", false
	}
	i := strings.IndexByte(rest, '.')
	if i <= 0 {
		return "", false
	}
	if _, err := strconv.Atoi(rest[:i]); err != nil {
		return "", false
	}
	g, ok := map[string]string{
		"input_layernorm.weight":          "attn_norm.weight",
		"post_attention_layernorm.weight": "ffn_norm.weight",
		"self_attn.q_proj.weight":         "attn_q.weight",
		"self_attn.q_proj.bias":           "attn_q.bias",
		"self_attn.k_proj.weight":         "attn_k.weight",
		"self_attn.k_proj.bias":           "attn_k.bias",
		"self_attn.v_proj.weight":         "attn_v.weight",
		"self_attn.v_proj.bias":           "attn_v.bias",
		"self_attn.o_proj.weight":         "attn_output.weight",
		"mlp.gate_proj.weight":            "ffn_gate.weight",
		"mlp.up_proj.weight":              "ffn_up.weight",
		"mlp.down_proj.weight":            "ffn_down.weight",
	}[rest[i+1:]]
	return "blk." + rest[:i] + "." + g, ok
}

func (f *File) intKey(key string) (int, bool, error) {
	v, ok := f.KV[key]
	if !ok {
		return 0, false, nil
	}
	i, isInt := v.Int()
	if !isInt || i < 0 || i > 1<<40 {
		return 0, true, corrupt(f.Path, key, "want a non-negative integer, have %v", v.V)
	}
	return int(i), true, nil
}

// DreamConfig builds the model configuration from a dream file's
// hyperparameters ({arch}.block_count, .embedding_length, ...), its
// tokenizer special ids (the mask is tokenizer.ggml.mask_token_id) and
// its tensors (vocabulary = rows of token_embd; tied when there is no
// output.weight).
func (f *File) DreamConfig() (model.Config, error) {
	arch, _ := f.String("general.architecture")
	if arch != Arch {
		return model.Config{}, fmt.Errorf("gguf: %s: architecture %q, want %q: %w", f.Path, arch, Arch, ErrUnsupported)
	}
	c := model.Config{
		ModelType: model.ModelTypeDream, Architectures: []string{"DreamModel"}, HiddenAct: "silu",
		RopeTheta: 10000, RMSNormEps: 1e-6,
		BOSTokenID: model.NoToken, EOSTokenID: model.NoToken, PadTokenID: model.NoToken, MaskTokenID: model.NoToken,
	}
	for _, k := range []struct {
		key      string
		dst      *int
		required bool
	}{
		{"block_count", &c.NumLayers, true},
		{"embedding_length", &c.HiddenSize, true},
		{"feed_forward_length", &c.IntermediateSize, true},
		{"attention.head_count", &c.NumHeads, true},
		{"context_length", &c.MaxPositionEmbeddings, true},
		{"attention.head_count_kv", &c.NumKVHeads, false},
		{"attention.key_length", &c.HeadDim, false},
	} {
		v, ok, err := f.intKey(Arch + "." + k.key)
		if err != nil {
			return model.Config{}, err
		}
		if !ok && k.required {
			return model.Config{}, corrupt(f.Path, Arch+"."+k.key, "missing")
		}
		*k.dst = v
	}
	if c.NumKVHeads == 0 {
		c.NumKVHeads = c.NumHeads
	}
	if c.HeadDim == 0 && c.NumHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumHeads
	}
	for key, dst := range map[string]*float64{Arch + ".rope.freq_base": &c.RopeTheta, Arch + ".attention.layer_norm_rms_epsilon": &c.RMSNormEps} {
		if v, ok := f.KV[key]; ok {
			x, isNum := v.Float()
			if !isNum {
				return model.Config{}, corrupt(f.Path, key, "want a number, have %v", v.V)
			}
			*dst = x
		}
	}
	for key, dst := range map[string]*int{
		"tokenizer.ggml.mask_token_id": &c.MaskTokenID, "tokenizer.ggml.bos_token_id": &c.BOSTokenID,
		"tokenizer.ggml.eos_token_id": &c.EOSTokenID, "tokenizer.ggml.padding_token_id": &c.PadTokenID,
	} {
		v, ok, err := f.intKey(key)
		if err != nil {
			return model.Config{}, err
		}
		if ok {
			*dst = v
		}
	}
	if c.MaskTokenID == model.NoToken {
		return model.Config{}, corrupt(f.Path, "tokenizer.ggml.mask_token_id", "missing: a Dream file needs its mask token")
	}
	if c.EOSTokenID != model.NoToken {
		c.EOSTokenIDs = []int{c.EOSTokenID}
	}
	emb, ok := f.Tensor("token_embd.weight")
	if !ok || len(emb.Dims) != 2 {
		return model.Config{}, corrupt(f.Path, "token_embd.weight", "missing or not a matrix")
	}
	c.VocabSize = int(emb.Dims[1])
	_, hasOut := f.Tensor("output.weight")
	c.TieWordEmbeddings = !hasOut
	switch emb.Type {
	case GGMLBF16:
		c.TorchDType = "bfloat16"
	case GGMLF16:
		c.TorchDType = "float16"
	case GGMLF32:
		c.TorchDType = "float32"
	}
	if err := c.Validate(); err != nil {
		return model.Config{}, fmt.Errorf("gguf: %s: %w", f.Path, err)
	}
	return c, nil
}

// Source returns the file's tensors under their Hugging Face names, as a
// model.RawSource: F32, F16, BF16, Q8_0, Q4_K, Q6_K and Q5_0 in place,
// other types refused.
func (f *File) Source() model.RawSource { return source{f: f} }

// Source is File.Source for the mapped file; its Release (and Float32,
// once it has copied a tensor) takes the tensor's pages out of the
// resident set, so converting at load never holds the file and the
// converted weights at once.
func (m *Mapped) Source() model.RawSource { return source{f: m.File, m: m} }

type source struct {
	f *File
	m *Mapped // nil: the data is not a mapping
}

// Release drops the named tensor's mapped pages (mmapfile.Drop): the
// loader has converted it. The data stays valid.
func (s source) Release(name string) {
	if g, ok := hfToGGUF(name); ok {
		if t, ok := s.f.Tensor(g); ok {
			s.drop(t)
		}
	}
}

// drop takes t's mapped pages out of the resident set, unless the file
// is not a mapping or is closed.
func (s source) drop(t *TensorInfo) {
	if s.m == nil {
		return
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.m.release != nil {
		mmapfile.Drop(t.Data)
	}
}

func (s source) tensor(name string) (*TensorInfo, []int, backend.WeightFormat, error) {
	g, ok := hfToGGUF(name)
	if !ok {
		return nil, nil, "", fmt.Errorf("tensor %s: no GGUF name: %w", name, model.ErrMissingTensor)
	}
	t, ok := s.f.Tensor(g)
	if !ok {
		return nil, nil, "", fmt.Errorf("tensor %s (%s in %s): %w", name, g, s.f.Path, model.ErrMissingTensor)
	}
	if t.Data == nil && t.Size != 0 {
		return nil, nil, "", fmt.Errorf("gguf: %s: tensor %s read after Close", s.f.Path, g)
	}
	shape := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		shape[len(t.Dims)-1-i] = int(d)
	}
	f, ok := WeightFormatOf(t.Type)
	if !ok {
		return nil, nil, "", fmt.Errorf("gguf: %s: tensor %s is %s: %w (read: %s)", s.f.Path, g, t.Type, ErrUnsupported, readTypes())
	}
	return t, shape, f, nil
}

func (s source) Raw(name string) ([]byte, backend.WeightFormat, []int, error) {
	t, shape, f, err := s.tensor(name)
	if err != nil {
		return nil, "", nil, err
	}
	return t.Data, f, shape, nil
}

func (s source) Float32(name string) ([]float32, []int, error) {
	t, shape, f, err := s.tensor(name)
	if err != nil {
		return nil, nil, err
	}
	cols := shape[len(shape)-1]
	v, err := quant.Decode(f, t.Data, int(t.NumElements())/cols, cols)
	if err != nil {
		return nil, nil, fmt.Errorf("gguf: %s: tensor %s: %w", s.f.Path, name, err)
	}
	s.drop(t)
	return v, shape, nil
}

// Token types of tokenizer.ggml.token_type.
const (
	tokenNormal      = 1
	tokenUnknown     = 2
	tokenControl     = 3
	tokenUserDefined = 4
	tokenUnused      = 5
	tokenByte        = 6
)

// Tokenizer builds the embedded byte-level BPE tokenizer
// (tokenizer.ggml.model "gpt2": tokens, token_type, merges; pre-tokenizer
// "qwen2" or "gpt-2"), or returns nil when the file has no tokenizer.
// Control tokens become special added tokens, user-defined ones plain
// added tokens; unused [PADn] fillers are left out.
func (f *File) Tokenizer() (*tokenizer.Tokenizer, error) {
	tv, ok := f.KV["tokenizer.ggml.tokens"]
	if !ok {
		return nil, nil
	}
	if m, _ := f.String("tokenizer.ggml.model"); m != "gpt2" {
		return nil, fmt.Errorf("gguf: %s: tokenizer model %q: %w (byte-level BPE, \"gpt2\", is read)", f.Path, m, ErrUnsupported)
	}
	tokens, ok := tv.V.([]string)
	if !ok {
		return nil, corrupt(f.Path, "tokenizer.ggml.tokens", "not an array of strings")
	}
	types := make([]int64, len(tokens))
	for i := range types {
		types[i] = tokenNormal
	}
	if v, ok := f.KV["tokenizer.ggml.token_type"]; ok {
		tt, isInts := v.V.([]int64)
		if !isInts || len(tt) != len(tokens) {
			return nil, corrupt(f.Path, "tokenizer.ggml.token_type", "want %d integers", len(tokens))
		}
		types = tt
	}
	var merges []string
	if v, ok := f.KV["tokenizer.ggml.merges"]; ok {
		if merges, ok = v.V.([]string); !ok {
			return nil, corrupt(f.Path, "tokenizer.ggml.merges", "not an array of strings")
		}
	}
	gpt2 := false
	switch pre, _ := f.String("tokenizer.ggml.pre"); pre {
	case "", "qwen2":
	case "gpt-2", "gpt2":
		gpt2 = true
	default:
		return nil, fmt.Errorf("gguf: %s: pre-tokenizer %q: %w (qwen2 and gpt-2 are read)", f.Path, pre, ErrUnsupported)
	}
	parts := tokenizer.Parts{Vocab: make(map[string]int, len(tokens)), GPT2: gpt2}
	for id, tok := range tokens {
		switch types[id] {
		case tokenNormal, tokenUnknown, tokenByte:
			parts.Vocab[tok] = id
		case tokenControl, tokenUserDefined:
			parts.Added = append(parts.Added, tokenizer.AddedToken{Content: tok, ID: id, Special: types[id] == tokenControl})
		case tokenUnused:
		default:
			return nil, corrupt(f.Path, "tokenizer.ggml.token_type", "token %d has type %d", id, types[id])
		}
	}
	parts.Merges = make([][2]string, len(merges))
	for i, m := range merges {
		a, b, ok := strings.Cut(m, " ")
		if !ok || a == "" || b == "" || strings.ContainsAny(a, " \t\n\r") || strings.ContainsAny(b, " \t\n\r") {
			return nil, corrupt(f.Path, "tokenizer.ggml.merges", "merge %q is not two tokens", m)
		}
		parts.Merges[i] = [2]string{a, b}
	}
	tok, err := tokenizer.New(parts)
	if err != nil {
		return nil, fmt.Errorf("gguf: %s: embedded tokenizer: %w", f.Path, err)
	}
	return tok, nil
}

// weightFormats maps the tensor types a Dream model's weights are read in
// to the backends' weight formats: the float types and every block
// format llama-quantize writes (the IQ1–IQ3 grids of the "i1" files,
// TQ1_0/TQ2_0 and MXFP4/NVFP4 included); F64, the integer types and the
// activation-only Q8_1/Q8_K are refused.
var weightFormats = map[GGMLType]backend.WeightFormat{
	GGMLF32: backend.WeightF32, GGMLF16: backend.WeightF16, GGMLBF16: backend.WeightBF16,
	GGMLQ8_0: backend.WeightQ8_0, GGMLQ5_0: backend.WeightQ5_0, GGMLQ5_1: backend.WeightQ5_1,
	GGMLQ4_0: backend.WeightQ4_0, GGMLQ4_1: backend.WeightQ4_1, GGMLIQ4_NL: backend.WeightIQ4_NL,
	GGMLQ2_K: backend.WeightQ2_K, GGMLQ3_K: backend.WeightQ3_K, GGMLQ4_K: backend.WeightQ4_K,
	GGMLQ5_K: backend.WeightQ5_K, GGMLQ6_K: backend.WeightQ6_K, GGMLIQ4_XS: backend.WeightIQ4_XS,
	GGMLIQ1_S: backend.WeightIQ1_S, GGMLIQ1_M: backend.WeightIQ1_M, GGMLIQ2_XXS: backend.WeightIQ2_XXS,
	GGMLIQ2_XS: backend.WeightIQ2_XS, GGMLIQ2_S: backend.WeightIQ2_S, GGMLIQ3_XXS: backend.WeightIQ3_XXS,
	GGMLIQ3_S: backend.WeightIQ3_S, GGMLTQ1_0: backend.WeightTQ1_0, GGMLTQ2_0: backend.WeightTQ2_0,
	GGMLMXFP4: backend.WeightMXFP4, GGMLNVFP4: backend.WeightNVFP4,
}

// WeightFormatOf returns the weight format a tensor of type t is kept in,
// or false for a type this package does not read weights in.
func WeightFormatOf(t GGMLType) (backend.WeightFormat, bool) {
	f, ok := weightFormats[t]
	return f, ok
}

// readTypes lists the types WeightFormatOf takes, for errors.
func readTypes() string {
	var names []string
	for t := range weightFormats {
		names = append(names, t.String())
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
