package model

import (
	"encoding/json"
	"testing"
)

// FuzzParseConfig: config.json is untrusted. Parsing must never panic, and
// whatever is accepted must be valid and plan the right number of tensors.
func FuzzParseConfig(f *testing.F) {
	b, _ := json.Marshal(base())
	f.Add(b)
	f.Add([]byte(`{"model_type":"Dream"}`))
	f.Add([]byte(`{"model_type":"Dream","hidden_size":0,"num_attention_heads":0}`))
	f.Add([]byte(`{"model_type":"Dream","eos_token_id":[1,2,3],"head_dim":7}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted an invalid config: %v", err)
		}
		want := 2 + 12*cfg.NumLayers
		if !cfg.TieWordEmbeddings {
			want++
		}
		if n := len(Plan(cfg)); n != want {
			t.Fatalf("Plan has %d tensors, want %d", n, want)
		}
	})
}
