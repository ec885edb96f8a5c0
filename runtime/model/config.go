package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"strings"

	"github.com/dream-lsp/dream-lsp/internal/safeio"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// ConfigFile and GenerationConfigFile are the file names read from a model
// directory.
const (
	ConfigFile           = "config.json"
	GenerationConfigFile = "generation_config.json"
)

// ModelTypeDream is the only config.json model_type this runtime accepts.
const ModelTypeDream = "Dream"

// NoToken marks an absent (null or missing) token id in Config and
// GenerationConfig.
const NoToken = -1

// Config is a Dream model configuration, parsed from a Hugging Face
// config.json of model_type "Dream" (the fields of DreamConfig that change
// the computation, plus the special token ids).
//
// Keys missing from config.json take DreamConfig's class defaults, as
// transformers would; NumKVHeads defaults to NumHeads and HeadDim to
// HiddenSize/NumHeads (Dream computes it; a head_dim key is honoured).
type Config struct {
	ModelType     string   // "Dream"
	Architectures []string // e.g. ["DreamModel"]

	HiddenSize            int     // model width (3584 for Dream 7B)
	IntermediateSize      int     // SwiGLU width (18944)
	NumLayers             int     // num_hidden_layers (28)
	NumHeads              int     // num_attention_heads (28)
	NumKVHeads            int     // num_key_value_heads (4): GQA groups
	HeadDim               int     // per-head width (128)
	VocabSize             int     // rows of embed_tokens and lm_head (152064)
	RopeTheta             float64 // RoPE base (1e6)
	RMSNormEps            float64 // RMSNorm epsilon (1e-6)
	MaxPositionEmbeddings int     // largest position (131072)
	TieWordEmbeddings     bool    // lm_head shares embed_tokens (false for Dream)
	TorchDType            string  // "bfloat16", "float16", "float32" or "" (unknown)
	HiddenAct             string  // "silu"

	MaskTokenID int // <|mask|> (151666)
	BOSTokenID  int // NoToken when absent
	EOSTokenID  int // first eos id; NoToken when absent
	PadTokenID  int // NoToken when absent

	// EOSTokenIDs holds every eos id when config.json lists several.
	EOSTokenIDs []int

	// RopeScaling is the raw rope_scaling value ("" or "null" when unset;
	// anything else is rejected by Validate).
	RopeScaling string
	// UseSlidingWindow is use_sliding_window (rejected by Validate when set:
	// Dream attends over the whole canvas).
	UseSlidingWindow bool
}

// Defaults of DreamConfig's constructor, used for keys missing from
// config.json.
const (
	defaultVocabSize        = 151936
	defaultHiddenSize       = 4096
	defaultIntermediateSize = 22016
	defaultNumLayers        = 32
	defaultNumHeads         = 32
	defaultMaxPositions     = 32768
	defaultRopeTheta        = 10000.0
	defaultRMSNormEps       = 1e-6
	defaultMaskTokenID      = 151666
	defaultPadTokenID       = 151643
	defaultHiddenAct        = "silu"
)

// rawConfig mirrors config.json. Pointers tell a missing or null key from
// a zero.
type rawConfig struct {
	ModelType             *string         `json:"model_type"`
	Architectures         []string        `json:"architectures"`
	HiddenSize            *int            `json:"hidden_size"`
	IntermediateSize      *int            `json:"intermediate_size"`
	NumHiddenLayers       *int            `json:"num_hidden_layers"`
	NumAttentionHeads     *int            `json:"num_attention_heads"`
	NumKeyValueHeads      *int            `json:"num_key_value_heads"`
	HeadDim               *int            `json:"head_dim"`
	VocabSize             *int            `json:"vocab_size"`
	RopeTheta             *float64        `json:"rope_theta"`
	RMSNormEps            *float64        `json:"rms_norm_eps"`
	MaxPositionEmbeddings *int            `json:"max_position_embeddings"`
	TieWordEmbeddings     *bool           `json:"tie_word_embeddings"`
	TorchDType            *string         `json:"torch_dtype"`
	DType                 *string         `json:"dtype"` // newer transformers spell torch_dtype this way
	HiddenAct             *string         `json:"hidden_act"`
	MaskTokenID           json.RawMessage `json:"mask_token_id"`
	BOSTokenID            json.RawMessage `json:"bos_token_id"`
	EOSTokenID            json.RawMessage `json:"eos_token_id"`
	PadTokenID            json.RawMessage `json:"pad_token_id"`
	RopeScaling           json.RawMessage `json:"rope_scaling"`
	UseSlidingWindow      *bool           `json:"use_sliding_window"`
}

// LoadConfig reads and validates dir/config.json.
func LoadConfig(dir string) (Config, error) {
	return readConfig(osReader, filepath.Join(dir, ConfigFile))
}

// LoadConfigFS reads and validates config.json at the root of fsys.
func LoadConfigFS(fsys fs.FS) (Config, error) {
	return readConfig(fsReader(fsys), ConfigFile)
}

// readConfig reads path with read and parses it; parse errors name path.
func readConfig(read func(string) ([]byte, error), path string) (Config, error) {
	data, err := read(path)
	if err != nil {
		return Config{}, fmt.Errorf("model: read config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// osReader reads a config file from disk: a regular file of at most
// safeio.MaxConfigBytes (a FIFO or /dev/zero named config.json is refused,
// not read forever).
func osReader(path string) ([]byte, error) { return safeio.ReadFile(path, safeio.MaxConfigBytes) }

// fsReader is osReader for a file in fsys.
func fsReader(fsys fs.FS) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) { return safeio.ReadFS(fsys, name, safeio.MaxConfigBytes) }
}

// ParseConfig parses the text of a config.json, fills DreamConfig's
// defaults for missing keys, and validates the result (see
// Config.Validate).
func ParseConfig(data []byte) (Config, error) {
	var raw rawConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return Config{}, fmt.Errorf("model: parse config: %w", err)
	}
	cfg := Config{
		Architectures:         raw.Architectures,
		HiddenSize:            intOr(raw.HiddenSize, defaultHiddenSize),
		IntermediateSize:      intOr(raw.IntermediateSize, defaultIntermediateSize),
		NumLayers:             intOr(raw.NumHiddenLayers, defaultNumLayers),
		NumHeads:              intOr(raw.NumAttentionHeads, defaultNumHeads),
		VocabSize:             intOr(raw.VocabSize, defaultVocabSize),
		RopeTheta:             floatOr(raw.RopeTheta, defaultRopeTheta),
		RMSNormEps:            floatOr(raw.RMSNormEps, defaultRMSNormEps),
		MaxPositionEmbeddings: intOr(raw.MaxPositionEmbeddings, defaultMaxPositions),
		HiddenAct:             defaultHiddenAct,
	}
	if raw.ModelType != nil {
		cfg.ModelType = *raw.ModelType
	}
	cfg.NumKVHeads = intOr(raw.NumKeyValueHeads, cfg.NumHeads)
	if raw.HeadDim != nil {
		cfg.HeadDim = *raw.HeadDim
	} else if cfg.NumHeads > 0 {
		cfg.HeadDim = cfg.HiddenSize / cfg.NumHeads
	}
	if raw.TieWordEmbeddings != nil {
		cfg.TieWordEmbeddings = *raw.TieWordEmbeddings
	}
	switch {
	case raw.TorchDType != nil:
		cfg.TorchDType = *raw.TorchDType
	case raw.DType != nil:
		cfg.TorchDType = *raw.DType
	}
	if raw.HiddenAct != nil {
		cfg.HiddenAct = *raw.HiddenAct
	}
	if raw.UseSlidingWindow != nil {
		cfg.UseSlidingWindow = *raw.UseSlidingWindow
	}
	if s := strings.TrimSpace(string(raw.RopeScaling)); s != "" && s != "null" && !defaultRope(raw.RopeScaling) {
		cfg.RopeScaling = s
	}
	var err error
	if cfg.MaskTokenID, _, err = tokenIDs(raw.MaskTokenID, "mask_token_id", defaultMaskTokenID); err != nil {
		return Config{}, err
	}
	if cfg.BOSTokenID, _, err = tokenIDs(raw.BOSTokenID, "bos_token_id", NoToken); err != nil {
		return Config{}, err
	}
	if cfg.EOSTokenID, cfg.EOSTokenIDs, err = tokenIDs(raw.EOSTokenID, "eos_token_id", NoToken); err != nil {
		return Config{}, err
	}
	if cfg.PadTokenID, _, err = tokenIDs(raw.PadTokenID, "pad_token_id", defaultPadTokenID); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// tokenIDs decodes a token id key that may be missing, null, an integer or
// a list of integers (eos_token_id in some configs). A missing key takes
// def; null is NoToken.
func tokenIDs(raw json.RawMessage, key string, def int) (int, []int, error) {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "":
		if def == NoToken {
			return NoToken, nil, nil
		}
		return def, []int{def}, nil
	case s == "null":
		return NoToken, nil, nil
	case strings.HasPrefix(s, "["):
		var ids []int
		if err := json.Unmarshal(raw, &ids); err != nil {
			return 0, nil, fmt.Errorf("model: parse config: %s: %w", key, err)
		}
		if len(ids) == 0 {
			return NoToken, nil, nil
		}
		return ids[0], ids, nil
	default:
		var id int
		if err := json.Unmarshal(raw, &id); err != nil {
			return 0, nil, fmt.Errorf("model: parse config: %s: %w", key, err)
		}
		return id, []int{id}, nil
	}
}

// defaultRope reports whether a rope_scaling object only restates plain
// RoPE ({"rope_type": "default"} or {"type": "default"}), which newer
// transformers versions write.
func defaultRope(raw json.RawMessage) bool {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return false
	}
	for k, v := range m {
		switch k {
		case "rope_type", "type":
			if v != "default" {
				return false
			}
		case "rope_theta":
			// Restates rope_theta; the top-level key is authoritative.
		default:
			return false
		}
	}
	return true
}

func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

func floatOr(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// DType returns the safetensors dtype matching TorchDType ("" when
// TorchDType is unset, meaning any float dtype is acceptable).
func (c Config) DType() (weights.DType, error) {
	switch strings.TrimPrefix(c.TorchDType, "torch.") {
	case "":
		return "", nil
	case "bfloat16":
		return weights.BF16, nil
	case "float16", "half":
		return weights.F16, nil
	case "float32", "float":
		return weights.F32, nil
	default:
		return "", fmt.Errorf("torch_dtype %q is not supported (want bfloat16, float16 or float32)", c.TorchDType)
	}
}

// maxDim bounds every dimension so that products of two dimensions fit
// comfortably in an int64 and absurd configs are rejected early.
const maxDim = 1 << 24

// ErrInvalidConfig marks every error returned by Config.Validate.
var ErrInvalidConfig = errors.New("model: invalid config")

// Validate reports the first impossible or unsupported setting: non-Dream
// model_type, non-positive or absurd sizes, heads that do not divide the
// hidden size, KV heads that do not divide the heads, an odd head
// dimension (RoPE rotates halves), token ids outside the vocabulary, a
// non-silu activation, rope_scaling, sliding-window attention or an
// unsupported torch_dtype. The error matches ErrInvalidConfig.
func (c Config) Validate() error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

func (c Config) validate() error {
	if c.ModelType != ModelTypeDream {
		if c.ModelType == "" {
			return fmt.Errorf("model_type is missing, want %q", ModelTypeDream)
		}
		return fmt.Errorf("model_type %q is not supported, want %q", c.ModelType, ModelTypeDream)
	}
	dims := []struct {
		key string
		v   int
	}{
		{"hidden_size", c.HiddenSize},
		{"intermediate_size", c.IntermediateSize},
		{"num_hidden_layers", c.NumLayers},
		{"num_attention_heads", c.NumHeads},
		{"num_key_value_heads", c.NumKVHeads},
		{"head_dim", c.HeadDim},
		{"vocab_size", c.VocabSize},
		{"max_position_embeddings", c.MaxPositionEmbeddings},
	}
	for _, d := range dims {
		if d.v <= 0 {
			return fmt.Errorf("%s = %d, must be positive", d.key, d.v)
		}
		if d.v > maxDim {
			return fmt.Errorf("%s = %d, larger than the supported %d", d.key, d.v, maxDim)
		}
	}
	if c.NumLayers > 4096 {
		return fmt.Errorf("num_hidden_layers = %d, larger than the supported 4096", c.NumLayers)
	}
	if c.HiddenSize%c.NumHeads != 0 {
		return fmt.Errorf("num_attention_heads = %d does not divide hidden_size = %d", c.NumHeads, c.HiddenSize)
	}
	if c.NumHeads%c.NumKVHeads != 0 {
		return fmt.Errorf("num_key_value_heads = %d does not divide num_attention_heads = %d", c.NumKVHeads, c.NumHeads)
	}
	if c.HeadDim*c.NumHeads != c.HiddenSize {
		return fmt.Errorf("head_dim = %d times num_attention_heads = %d is not hidden_size = %d", c.HeadDim, c.NumHeads, c.HiddenSize)
	}
	if c.HeadDim%2 != 0 {
		return fmt.Errorf("head_dim = %d is odd; RoPE needs an even head dimension", c.HeadDim)
	}
	if !(c.RopeTheta > 0) || math.IsInf(c.RopeTheta, 0) {
		return fmt.Errorf("rope_theta = %v, must be positive and finite", c.RopeTheta)
	}
	if !(c.RMSNormEps > 0) || c.RMSNormEps >= 1 {
		return fmt.Errorf("rms_norm_eps = %v, must be in (0, 1)", c.RMSNormEps)
	}
	if c.HiddenAct != "silu" {
		return fmt.Errorf("hidden_act %q is not supported, want \"silu\"", c.HiddenAct)
	}
	if c.RopeScaling != "" {
		return fmt.Errorf("rope_scaling %s is not supported (Dream uses plain RoPE)", c.RopeScaling)
	}
	if c.UseSlidingWindow {
		return errors.New("use_sliding_window = true is not supported (Dream attends over the whole canvas)")
	}
	if c.MaskTokenID < 0 || c.MaskTokenID >= c.VocabSize {
		return fmt.Errorf("mask_token_id = %d outside the vocabulary [0, %d)", c.MaskTokenID, c.VocabSize)
	}
	ids := []struct {
		key string
		v   int
	}{{"bos_token_id", c.BOSTokenID}, {"pad_token_id", c.PadTokenID}}
	for _, id := range c.EOSTokenIDs {
		ids = append(ids, struct {
			key string
			v   int
		}{"eos_token_id", id})
	}
	if len(c.EOSTokenIDs) == 0 {
		ids = append(ids, struct {
			key string
			v   int
		}{"eos_token_id", c.EOSTokenID})
	}
	for _, id := range ids {
		if id.v == NoToken {
			continue
		}
		if id.v < 0 || id.v >= c.VocabSize {
			return fmt.Errorf("%s = %d outside the vocabulary [0, %d)", id.key, id.v, c.VocabSize)
		}
	}
	if _, err := c.DType(); err != nil {
		return err
	}
	return nil
}

// KVDim is the width of the K and V projections: NumKVHeads*HeadDim.
func (c Config) KVDim() int { return c.NumKVHeads * c.HeadDim }

// GroupSize is the number of query heads sharing one KV head.
func (c Config) GroupSize() int { return c.NumHeads / c.NumKVHeads }

// GenerationConfig is Dream's generation_config.json (DreamGenerationConfig).
// Optional values use 0 for "off" and NoToken for an absent token id.
type GenerationConfig struct {
	Temperature  float64 // 0: greedy
	TopP         float64 // 0: off (null)
	TopK         int     // 0: off (null)
	Steps        int     // denoising steps (512)
	Alg          string  // "origin", "maskgit_plus", "topk_margin", "entropy"
	AlgTemp      float64 // 0: off (null)
	Eps          float64 // last timestep (1e-3)
	MaxLength    int     // 20 unless set
	MaxNewTokens int     // 0: unset (null)
	MaskTokenID  int     // NoToken: null, take the model config's
	BOSTokenID   int
	EOSTokenID   int
	PadTokenID   int
}

// DefaultGenerationConfig returns DreamGenerationConfig's defaults, which
// the shipped generation_config.json repeats.
func DefaultGenerationConfig() GenerationConfig {
	return GenerationConfig{
		Temperature: 0,
		Steps:       512,
		Alg:         "origin",
		Eps:         1e-3,
		MaxLength:   20,
		MaskTokenID: NoToken,
		BOSTokenID:  NoToken,
		EOSTokenID:  NoToken,
		PadTokenID:  NoToken,
	}
}

type rawGenerationConfig struct {
	Temperature  *float64        `json:"temperature"`
	TopP         *float64        `json:"top_p"`
	TopK         *int            `json:"top_k"`
	Steps        *int            `json:"steps"`
	Alg          *string         `json:"alg"`
	AlgTemp      *float64        `json:"alg_temp"`
	Eps          *float64        `json:"eps"`
	MaxLength    *int            `json:"max_length"`
	MaxNewTokens *int            `json:"max_new_tokens"`
	MaskTokenID  json.RawMessage `json:"mask_token_id"`
	BOSTokenID   json.RawMessage `json:"bos_token_id"`
	EOSTokenID   json.RawMessage `json:"eos_token_id"`
	PadTokenID   json.RawMessage `json:"pad_token_id"`
}

// ParseGenerationConfig parses the text of a generation_config.json; keys
// that are missing or null keep DefaultGenerationConfig's values.
func ParseGenerationConfig(data []byte) (GenerationConfig, error) {
	var raw rawGenerationConfig
	if err := json.Unmarshal(data, &raw); err != nil {
		return GenerationConfig{}, fmt.Errorf("model: parse generation config: %w", err)
	}
	g := DefaultGenerationConfig()
	g.Temperature = floatOr(raw.Temperature, g.Temperature)
	g.TopP = floatOr(raw.TopP, g.TopP)
	g.TopK = intOr(raw.TopK, g.TopK)
	g.Steps = intOr(raw.Steps, g.Steps)
	if raw.Alg != nil {
		g.Alg = *raw.Alg
	}
	g.AlgTemp = floatOr(raw.AlgTemp, g.AlgTemp)
	g.Eps = floatOr(raw.Eps, g.Eps)
	g.MaxLength = intOr(raw.MaxLength, g.MaxLength)
	g.MaxNewTokens = intOr(raw.MaxNewTokens, g.MaxNewTokens)
	var err error
	for _, f := range []struct {
		raw json.RawMessage
		key string
		dst *int
	}{
		{raw.MaskTokenID, "mask_token_id", &g.MaskTokenID},
		{raw.BOSTokenID, "bos_token_id", &g.BOSTokenID},
		{raw.EOSTokenID, "eos_token_id", &g.EOSTokenID},
		{raw.PadTokenID, "pad_token_id", &g.PadTokenID},
	} {
		if *f.dst, _, err = tokenIDs(f.raw, f.key, NoToken); err != nil {
			return GenerationConfig{}, err
		}
	}
	if err := g.Validate(); err != nil {
		return GenerationConfig{}, err
	}
	return g, nil
}

// Validate rejects generation settings the sampler cannot honour.
func (g GenerationConfig) Validate() error {
	switch {
	case g.Steps < 1:
		return fmt.Errorf("%w: generation steps = %d, must be at least 1", ErrInvalidConfig, g.Steps)
	case !(g.Temperature >= 0) || math.IsInf(g.Temperature, 0):
		return fmt.Errorf("%w: generation temperature = %v, must be finite and >= 0", ErrInvalidConfig, g.Temperature)
	case !(g.TopP >= 0 && g.TopP <= 1):
		return fmt.Errorf("%w: generation top_p = %v, must be in [0, 1]", ErrInvalidConfig, g.TopP)
	case g.TopK < 0:
		return fmt.Errorf("%w: generation top_k = %d, must be >= 0", ErrInvalidConfig, g.TopK)
	case !(g.AlgTemp >= 0) || math.IsInf(g.AlgTemp, 0):
		return fmt.Errorf("%w: generation alg_temp = %v, must be finite and >= 0", ErrInvalidConfig, g.AlgTemp)
	case !(g.Eps >= 0 && g.Eps < 1):
		return fmt.Errorf("%w: generation eps = %v, must be in [0, 1)", ErrInvalidConfig, g.Eps)
	case g.MaxNewTokens < 0 || g.MaxLength < 0:
		return fmt.Errorf("%w: generation max_length/max_new_tokens must be >= 0", ErrInvalidConfig)
	}
	switch g.Alg {
	case "origin", "maskgit_plus", "topk_margin", "entropy", "confidence_threshold":
	default:
		return fmt.Errorf("%w: generation alg %q is not one of origin, maskgit_plus, topk_margin, entropy, confidence_threshold", ErrInvalidConfig, g.Alg)
	}
	return nil
}

// WithModel fills the token ids the generation config leaves unset from
// the model config, as DreamGenerationConfig.from_model_config does (the
// source of mask_token_id 151666 for Dream).
func (g GenerationConfig) WithModel(c Config) GenerationConfig {
	if g.MaskTokenID == NoToken {
		g.MaskTokenID = c.MaskTokenID
	}
	if g.BOSTokenID == NoToken {
		g.BOSTokenID = c.BOSTokenID
	}
	if g.EOSTokenID == NoToken {
		g.EOSTokenID = c.EOSTokenID
	}
	if g.PadTokenID == NoToken {
		g.PadTokenID = c.PadTokenID
	}
	return g
}

// LoadGenerationConfig reads dir/generation_config.json, or returns
// DefaultGenerationConfig when the file does not exist.
func LoadGenerationConfig(dir string) (GenerationConfig, error) {
	return readGenerationConfig(osReader, filepath.Join(dir, GenerationConfigFile))
}

// LoadGenerationConfigFS is LoadGenerationConfig for a model directory
// given as an fs.FS.
func LoadGenerationConfigFS(fsys fs.FS) (GenerationConfig, error) {
	return readGenerationConfig(fsReader(fsys), GenerationConfigFile)
}

// readGenerationConfig reads path with read and parses it (defaults when
// it does not exist); parse errors name path.
func readGenerationConfig(read func(string) ([]byte, error), path string) (GenerationConfig, error) {
	data, err := read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultGenerationConfig(), nil
	}
	if err != nil {
		return GenerationConfig{}, fmt.Errorf("model: read generation config: %w", err)
	}
	g, err := ParseGenerationConfig(data)
	if err != nil {
		return GenerationConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}
