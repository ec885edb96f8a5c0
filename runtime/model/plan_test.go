package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// TestPlanDream7BFromIndex builds the full plan of the real 7B model from
// its config and index, without weights.
func TestPlanDream7BFromIndex(t *testing.T) {
	dir := sharedpath.Path(t, "reference", "dream-v0-7b")
	p, err := PlanFromIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tensors) != 339 {
		t.Errorf("plan has %d tensors, want 339", len(p.Tensors))
	}
	if p.TotalBytes != 15_231_233_024 || p.IndexTotal != 15_231_233_024 {
		t.Errorf("TotalBytes %d, index total_size %d, want 15231233024", p.TotalBytes, p.IndexTotal)
	}
	var params int64
	shards := map[string]int{}
	for _, s := range p.Tensors {
		params += s.NumElements()
		if s.DType != weights.BF16 {
			t.Errorf("%s: dtype %q, want BF16", s.Name, s.DType)
		}
		f, ok := p.Shards[s.Name]
		if !ok {
			t.Errorf("%s: not in the index", s.Name)
		}
		shards[f]++
	}
	if params != 7_615_616_512 {
		t.Errorf("parameters %d, want 7615616512", params)
	}
	// Shard populations from the index (dream-model.md §3).
	want := map[string]int{
		"model-00001-of-00004.safetensors": 104, "model-00002-of-00004.safetensors": 122,
		"model-00003-of-00004.safetensors": 112, "model-00004-of-00004.safetensors": 1,
	}
	for f, n := range want {
		if shards[f] != n {
			t.Errorf("%s holds %d planned tensors, want %d", f, shards[f], n)
		}
	}
	shape := map[string][]int{}
	for _, s := range p.Tensors {
		shape[s.Name] = s.Shape
	}
	l := LayerTensorNames(27)
	for name, w := range map[string][]int{
		TensorEmbed: {152064, 3584}, TensorLMHead: {152064, 3584}, TensorFinalNorm: {3584},
		l.QWeight: {3584, 3584}, l.QBias: {3584}, l.KWeight: {512, 3584}, l.KBias: {512},
		l.VWeight: {512, 3584}, l.VBias: {512}, l.OWeight: {3584, 3584},
		l.GateWeight: {18944, 3584}, l.UpWeight: {18944, 3584}, l.DownWeight: {3584, 18944},
		l.InputNorm: {3584}, l.PostAttnNorm: {3584},
	} {
		if !slices.Equal(shape[name], w) {
			t.Errorf("%s: shape %v, want %v", name, shape[name], w)
		}
	}
}

// TestMissingShardNamed: a directory with the 7B index but no shards
// fails to open with an error naming the missing shard.
func TestMissingShardNamed(t *testing.T) {
	ref := sharedpath.Path(t, "reference", "dream-v0-7b")
	dir := t.TempDir()
	for _, f := range []string{ConfigFile, weights.IndexFile} {
		b, err := os.ReadFile(filepath.Join(ref, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	// Index-only planning still works.
	if _, err := PlanFromIndex(dir); err != nil {
		t.Fatalf("PlanFromIndex without shards: %v", err)
	}
	_, err := weights.Open(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "model-00001-of-00004.safetensors")) {
		t.Fatalf("Open = %v, want an error naming model-00001-of-00004.safetensors", err)
	}
	if !errors.Is(err, weights.ErrCorrupt) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(ErrCorrupt, ErrNotExist) false for %v", err)
	}
	if _, _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "model-00001-of-00004.safetensors") {
		t.Errorf("LoadDir = %v, want an error naming the shard", err)
	}
}

func TestCheckPlanGolden(t *testing.T) {
	for _, name := range []string{"tiny-gqa", "tiny-mha-sharded", "tiny-qwen-vocab"} {
		t.Run(name, func(t *testing.T) {
			dir := sharedpath.Path(t, "golden", "models", name)
			cfg, c, err := LoadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if len(c.Tensors()) != len(Plan(cfg)) {
				t.Errorf("%d tensors, plan has %d", len(c.Tensors()), len(Plan(cfg)))
			}
			if name == "tiny-mha-sharded" {
				p, err := PlanFromIndex(dir)
				if err != nil {
					t.Fatal(err)
				}
				if p.TotalBytes != 641088 || len(p.Tensors) != 27 {
					t.Errorf("PlanFromIndex: %d tensors, %d bytes; want 27, 641088", len(p.Tensors), p.TotalBytes)
				}
			}
			_, cf, err := LoadFS(os.DirFS(dir))
			if err != nil {
				t.Fatal(err)
			}
			cf.Close()
		})
	}
}

// tinyConfig is a small valid Dream config.
func tinyConfig(t *testing.T) Config {
	t.Helper()
	cfg, err := parse(t, base())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// writeModel writes config.json and a checkpoint of Plan(cfg) in dir,
// after edit (which may change, drop or add specs). With shards > 1 the
// tensors are spread over that many files plus an index.
func writeModel(t *testing.T, dir string, cfg Config, shards int, edit func([]weights.TensorData) []weights.TensorData) {
	t.Helper()
	var ts []weights.TensorData
	for i, s := range Plan(cfg) {
		vals := make([]float32, s.NumElements())
		for j := range vals {
			vals[j] = float32((i+j)%17-8) / 16
		}
		ts = append(ts, weights.TensorData{Name: s.Name, DType: s.DType, Shape: s.Shape, Data: weights.FromFloat32(s.DType, vals)})
	}
	if edit != nil {
		ts = edit(ts)
	}
	cj, err := json.Marshal(base())
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, ConfigFile), cj, 0o644)
	if shards <= 1 {
		var buf bytes.Buffer
		if err := weights.Write(&buf, ts, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, weights.SingleFile), buf.Bytes(), 0o644)
		return
	}
	wm := map[string]string{}
	per := (len(ts) + shards - 1) / shards
	var total int
	for k := range shards {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", k+1, shards)
		part := ts[min(k*per, len(ts)):min((k+1)*per, len(ts))]
		var buf bytes.Buffer
		if err := weights.Write(&buf, part, nil); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644)
		for _, p := range part {
			wm[p.Name] = name
			total += len(p.Data)
		}
	}
	ij, _ := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": wm})
	os.WriteFile(filepath.Join(dir, weights.IndexFile), ij, 0o644)
}

func replace(name string, f func(*weights.TensorData)) func([]weights.TensorData) []weights.TensorData {
	return func(ts []weights.TensorData) []weights.TensorData {
		for i := range ts {
			if ts[i].Name == name {
				f(&ts[i])
			}
		}
		return ts
	}
}

func TestCheckPlanSynthetic(t *testing.T) {
	cfg := tinyConfig(t)
	l1 := LayerTensorNames(1)
	cases := []struct {
		name   string
		shards int
		edit   func([]weights.TensorData) []weights.TensorData
		file   string // "" : the single file
		tensor string
		reason string
	}{
		{name: "ok single", shards: 1},
		{name: "ok sharded", shards: 3},
		{
			name: "shape disagrees with config", shards: 1,
			edit: replace(l1.KWeight, func(d *weights.TensorData) {
				d.Shape = []int{64, 64}
				d.Data = weights.FromFloat32(weights.BF16, make([]float32, 64*64))
			}),
			tensor: l1.KWeight, reason: "shape [64 64], config wants [32 64]",
		},
		{
			name: "dtype disagrees with config", shards: 3,
			edit: replace(l1.DownWeight, func(d *weights.TensorData) {
				d.DType = weights.F32
				d.Data = weights.FromFloat32(weights.F32, make([]float32, 64*160))
			}),
			file: "model-00003-of-00003.safetensors", tensor: l1.DownWeight, reason: "dtype F32, config torch_dtype wants BF16",
		},
		{
			name: "missing tensor", shards: 1,
			edit: func(ts []weights.TensorData) []weights.TensorData {
				return slices.DeleteFunc(ts, func(d weights.TensorData) bool { return d.Name == l1.VBias })
			},
			tensor: l1.VBias, reason: "missing",
		},
		{
			name: "missing lm_head sharded", shards: 2,
			edit: func(ts []weights.TensorData) []weights.TensorData {
				return slices.DeleteFunc(ts, func(d weights.TensorData) bool { return d.Name == TensorLMHead })
			},
			file: weights.IndexFile, tensor: TensorLMHead, reason: "missing",
		},
		{
			name: "unexpected tensor", shards: 1,
			edit: func(ts []weights.TensorData) []weights.TensorData {
				return append(ts, weights.TensorData{Name: "model.layers.2.self_attn.q_proj.weight", DType: weights.BF16,
					Shape: []int{1}, Data: make([]byte, 2)})
			},
			tensor: "model.layers.2.self_attn.q_proj.weight", reason: "unexpected",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeModel(t, dir, cfg, tc.shards, tc.edit)
			_, c, err := LoadDir(dir)
			if tc.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				c.Close()
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("LoadDir succeeded")
			}
			file := tc.file
			if file == "" {
				file = weights.SingleFile
			}
			if !errors.Is(err, weights.ErrCorrupt) || !errors.Is(err, ErrPlanMismatch) {
				t.Errorf("errors.Is(%v, ErrCorrupt/ErrPlanMismatch) = false", err)
			}
			for _, want := range []string{file, `"` + tc.tensor + `"`, tc.reason} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestPlanErrorListsFirstFew(t *testing.T) {
	cfg := tinyConfig(t)
	dir := t.TempDir()
	writeModel(t, dir, cfg, 1, func(ts []weights.TensorData) []weights.TensorData {
		for i := range 8 {
			ts = append(ts, weights.TensorData{Name: fmt.Sprintf("extra.%d", i), DType: weights.BF16, Shape: []int{1}, Data: make([]byte, 2)})
		}
		return ts
	})
	_, _, err := LoadDir(dir)
	var pe *PlanError
	if !errors.As(err, &pe) || len(pe.Problems) != 8 {
		t.Fatalf("err = %v, want a PlanError with 8 problems", err)
	}
	if !strings.Contains(err.Error(), `"extra.0"`) || !strings.Contains(err.Error(), "and 3 more") {
		t.Errorf("error %q should quote the first names and count the rest", err)
	}
}

func TestTiedEmbeddingsPlan(t *testing.T) {
	m := base()
	m["tie_word_embeddings"] = true
	cfg, err := parse(t, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Plan(cfg) {
		if s.Name == TensorLMHead {
			t.Fatal("tied plan lists lm_head.weight")
		}
	}
	if n := len(Plan(cfg)); n != 2+12*2 {
		t.Errorf("tied plan has %d tensors, want %d", n, 2+12*2)
	}
}

func TestLoadDirImpossibleConfig(t *testing.T) {
	cfg := tinyConfig(t)
	dir := t.TempDir()
	writeModel(t, dir, cfg, 1, nil)
	m := base()
	m["num_attention_heads"] = 6
	b, _ := json.Marshal(m)
	os.WriteFile(filepath.Join(dir, ConfigFile), b, 0o644)
	_, _, err := LoadDir(dir)
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), filepath.Join(dir, ConfigFile)) ||
		!strings.Contains(err.Error(), "num_attention_heads") {
		t.Fatalf("LoadDir = %v, want ErrInvalidConfig naming config.json and num_attention_heads", err)
	}
}

func TestPlanFromIndexMismatch(t *testing.T) {
	cfg := tinyConfig(t)
	t.Run("missing entry", func(t *testing.T) {
		dir := t.TempDir()
		writeModel(t, dir, cfg, 2, func(ts []weights.TensorData) []weights.TensorData {
			return slices.DeleteFunc(ts, func(d weights.TensorData) bool { return d.Name == TensorFinalNorm })
		})
		_, err := PlanFromIndex(dir)
		if !errors.Is(err, ErrPlanMismatch) || !strings.Contains(err.Error(), TensorFinalNorm) || !strings.Contains(err.Error(), weights.IndexFile) {
			t.Fatalf("PlanFromIndex = %v", err)
		}
	})
	t.Run("total size", func(t *testing.T) {
		dir := t.TempDir()
		writeModel(t, dir, cfg, 2, nil)
		p := filepath.Join(dir, weights.IndexFile)
		b, _ := os.ReadFile(p)
		var ix map[string]any
		json.Unmarshal(b, &ix)
		ix["metadata"] = map[string]any{"total_size": 12345}
		b, _ = json.Marshal(ix)
		os.WriteFile(p, b, 0o644)
		_, err := PlanFromIndex(dir)
		if !errors.Is(err, ErrPlanMismatch) || !strings.Contains(err.Error(), "total_size 12345") {
			t.Fatalf("PlanFromIndex = %v", err)
		}
	})
}
