package model

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

func TestLoadConfigDream7B(t *testing.T) {
	dir := sharedpath.Path(t, "reference", "dream-v0-7b")
	cfg, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		ModelType: "Dream", Architectures: []string{"DreamModel"},
		HiddenSize: 3584, IntermediateSize: 18944, NumLayers: 28, NumHeads: 28, NumKVHeads: 4, HeadDim: 128,
		VocabSize: 152064, RopeTheta: 1e6, RMSNormEps: 1e-6, MaxPositionEmbeddings: 131072,
		TieWordEmbeddings: false, TorchDType: "bfloat16", HiddenAct: "silu",
		MaskTokenID: 151666, BOSTokenID: 151643, EOSTokenID: 151643, PadTokenID: 151643,
		EOSTokenIDs: []int{151643},
	}
	if !configEqual(cfg, want) {
		t.Fatalf("LoadConfig =\n%+v\nwant\n%+v", cfg, want)
	}
	if cfg.KVDim() != 512 || cfg.GroupSize() != 7 {
		t.Errorf("KVDim %d GroupSize %d, want 512 7", cfg.KVDim(), cfg.GroupSize())
	}
	if dt, err := cfg.DType(); err != nil || dt != weights.BF16 {
		t.Errorf("DType() = %q, %v", dt, err)
	}
	// The same through an fs.FS.
	fcfg, err := LoadConfigFS(os.DirFS(dir))
	if err != nil || !configEqual(fcfg, cfg) {
		t.Errorf("LoadConfigFS = %+v, %v", fcfg, err)
	}
}

func configEqual(a, b Config) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestLoadConfigGolden(t *testing.T) {
	cases := []struct {
		name                          string
		hidden, heads, kv, head, mask int
		theta                         float64
	}{
		{"tiny-gqa", 64, 4, 2, 16, 299, 10000},
		{"tiny-mha-sharded", 96, 3, 3, 32, 511, 1e6},
		{"tiny-qwen-vocab", 16, 2, 1, 8, 151666, 1e6},
	}
	for _, tc := range cases {
		cfg, err := LoadConfig(sharedpath.Path(t, "golden", "models", tc.name))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if cfg.HiddenSize != tc.hidden || cfg.NumHeads != tc.heads || cfg.NumKVHeads != tc.kv ||
			cfg.HeadDim != tc.head || cfg.MaskTokenID != tc.mask || cfg.RopeTheta != tc.theta {
			t.Errorf("%s: got %+v", tc.name, cfg)
		}
	}
}

// base is a valid small Dream config as JSON fields.
func base() map[string]any {
	return map[string]any{
		"model_type": "Dream", "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 300, "rope_theta": 10000.0,
		"rms_norm_eps": 1e-6, "max_position_embeddings": 512, "mask_token_id": 299, "pad_token_id": 298,
		"bos_token_id": 297, "eos_token_id": 297, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
	}
}

func parse(t *testing.T, m map[string]any) (Config, error) {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return ParseConfig(b)
}

func TestParseConfigDefaultsAndVariants(t *testing.T) {
	m := base()
	delete(m, "num_key_value_heads")
	delete(m, "rope_theta")
	delete(m, "bos_token_id")
	m["eos_token_id"] = []int{297, 296}
	cfg, err := parse(t, m)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NumKVHeads != 4 || cfg.RopeTheta != 10000 || cfg.BOSTokenID != NoToken || cfg.EOSTokenID != 297 || len(cfg.EOSTokenIDs) != 2 {
		t.Errorf("defaults: %+v", cfg)
	}
	m = base()
	m["head_dim"] = 16
	m["pad_token_id"] = nil
	m["torch_dtype"] = nil
	m["dtype"] = "float16"
	cfg, err = parse(t, m)
	if err != nil {
		t.Fatal(err)
	}
	m["rope_scaling"] = map[string]any{"rope_type": "default"}
	if c, err := parse(t, m); err != nil || c.RopeScaling != "" {
		t.Errorf("rope_scaling {rope_type: default}: %+v, %v", c, err)
	}
	if cfg.HeadDim != 16 || cfg.PadTokenID != NoToken || cfg.TorchDType != "float16" {
		t.Errorf("variants: %+v", cfg)
	}
}

// TestImpossibleConfigs: each config is rejected with ErrInvalidConfig and a
// message naming the offending key.
func TestImpossibleConfigs(t *testing.T) {
	cases := []struct {
		name string
		edit func(m map[string]any)
		key  string
	}{
		{"not Dream", func(m map[string]any) { m["model_type"] = "llama" }, "model_type"},
		{"no model_type", func(m map[string]any) { delete(m, "model_type") }, "model_type"},
		{"zero hidden", func(m map[string]any) { m["hidden_size"] = 0 }, "hidden_size"},
		{"negative intermediate", func(m map[string]any) { m["intermediate_size"] = -1 }, "intermediate_size"},
		{"zero layers", func(m map[string]any) { m["num_hidden_layers"] = 0 }, "num_hidden_layers"},
		{"absurd vocab", func(m map[string]any) { m["vocab_size"] = 1 << 40 }, "vocab_size"},
		{"heads do not divide hidden", func(m map[string]any) { m["num_attention_heads"] = 5; m["num_key_value_heads"] = 5 }, "does not divide hidden_size"},
		{"kv heads do not divide heads", func(m map[string]any) { m["num_key_value_heads"] = 3 }, "num_key_value_heads = 3 does not divide"},
		{"zero kv heads", func(m map[string]any) { m["num_key_value_heads"] = 0 }, "num_key_value_heads"},
		{"odd head dim", func(m map[string]any) { m["hidden_size"] = 60; m["num_attention_heads"] = 4 }, "odd"},
		{"head_dim disagrees", func(m map[string]any) { m["head_dim"] = 32 }, "head_dim"},
		{"mask outside vocab", func(m map[string]any) { m["mask_token_id"] = 300 }, "mask_token_id"},
		{"negative mask", func(m map[string]any) { m["mask_token_id"] = -3 }, "mask_token_id"},
		{"null mask", func(m map[string]any) { m["mask_token_id"] = nil }, "mask_token_id"},
		{"eos outside vocab", func(m map[string]any) { m["eos_token_id"] = []int{297, 5000} }, "eos_token_id"},
		{"pad outside vocab", func(m map[string]any) { m["pad_token_id"] = 300 }, "pad_token_id"},
		{"zero theta", func(m map[string]any) { m["rope_theta"] = 0 }, "rope_theta"},
		{"bad eps", func(m map[string]any) { m["rms_norm_eps"] = -1e-6 }, "rms_norm_eps"},
		{"gelu", func(m map[string]any) { m["hidden_act"] = "gelu" }, "hidden_act"},
		{"rope scaling", func(m map[string]any) { m["rope_scaling"] = map[string]any{"type": "yarn", "factor": 4} }, "rope_scaling"},
		{"sliding window", func(m map[string]any) { m["use_sliding_window"] = true }, "use_sliding_window"},
		{"int8 dtype", func(m map[string]any) { m["torch_dtype"] = "int8" }, "torch_dtype"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			tc.edit(m)
			_, err := parse(t, m)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("err = %v, want ErrInvalidConfig naming %q", err, tc.key)
			}
		})
	}
}

func TestParseConfigBadJSON(t *testing.T) {
	for _, in := range []string{``, `{`, `[]`, `{"hidden_size": "big"}`, `{"eos_token_id": "x"}`, `{"eos_token_id": [1.5]}`} {
		if _, err := ParseConfig([]byte(in)); err == nil {
			t.Errorf("ParseConfig(%q) succeeded", in)
		}
	}
}

func TestLoadConfigNamesFile(t *testing.T) {
	dir := t.TempDir()
	m := base()
	m["num_key_value_heads"] = 3
	b, _ := json.Marshal(m)
	os.WriteFile(filepath.Join(dir, ConfigFile), b, 0o644)
	_, err := LoadConfig(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, ConfigFile)) {
		t.Fatalf("LoadConfig = %v, want an error naming the file", err)
	}
	if _, err := LoadConfig(t.TempDir()); err == nil {
		t.Fatal("LoadConfig of an empty dir succeeded")
	}
}

func TestGenerationConfig(t *testing.T) {
	g, err := LoadGenerationConfig(sharedpath.Path(t, "reference", "dream-v0-7b"))
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultGenerationConfig()
	def.BOSTokenID, def.EOSTokenID, def.PadTokenID = 151643, 151643, 151643
	if g != def {
		t.Errorf("reference generation config = %+v, want %+v", g, def)
	}
	if g.MaskTokenID != NoToken || g.Steps != 512 || g.Alg != "origin" || g.Eps != 1e-3 {
		t.Errorf("reference generation config = %+v", g)
	}
	cfg, err := LoadConfig(sharedpath.Path(t, "reference", "dream-v0-7b"))
	if err != nil {
		t.Fatal(err)
	}
	if w := g.WithModel(cfg); w.MaskTokenID != 151666 {
		t.Errorf("WithModel mask = %d, want 151666", w.MaskTokenID)
	}

	// Missing file: Dream's defaults.
	g, err = LoadGenerationConfig(t.TempDir())
	if err != nil || g != DefaultGenerationConfig() {
		t.Errorf("missing file: %+v, %v", g, err)
	}
	g, err = LoadGenerationConfigFS(fstest.MapFS{})
	if err != nil || g != DefaultGenerationConfig() {
		t.Errorf("missing file (FS): %+v, %v", g, err)
	}

	// Explicit values and nulls.
	g, err = ParseGenerationConfig([]byte(`{"temperature":0.2,"top_p":0.95,"top_k":null,"steps":128,"alg":"entropy","alg_temp":0.1,"max_new_tokens":64,"mask_token_id":151666}`))
	if err != nil {
		t.Fatal(err)
	}
	if g.Temperature != 0.2 || g.TopP != 0.95 || g.TopK != 0 || g.Steps != 128 || g.Alg != "entropy" ||
		g.AlgTemp != 0.1 || g.MaxNewTokens != 64 || g.MaskTokenID != 151666 || g.Eps != 1e-3 {
		t.Errorf("parsed %+v", g)
	}

	for _, bad := range []string{`{"steps":0}`, `{"alg":"random"}`, `{"top_p":1.5}`, `{"temperature":-1}`, `{"eps":1}`, `{"top_k":-2}`, `[`} {
		if _, err := ParseGenerationConfig([]byte(bad)); err == nil {
			t.Errorf("ParseGenerationConfig(%s) succeeded", bad)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, GenerationConfigFile), []byte(`{"steps":0}`), 0o644)
	if _, err := LoadGenerationConfig(dir); err == nil || !strings.Contains(err.Error(), GenerationConfigFile) {
		t.Errorf("LoadGenerationConfig(bad) = %v, want an error naming the file", err)
	}
}
