package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/quant"
	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// BenchConfig returns the synthetic Dream configuration used by
// benchmarks: Dream's architecture (GQA 4:1, SwiGLU, untied head, θ = 1e6)
// at about 30M parameters (hidden 512, 8 layers, 8 heads of 64, 2 KV heads,
// intermediate 1536, vocabulary 6144).
func BenchConfig() Config {
	return Config{
		ModelType:             ModelTypeDream,
		Architectures:         []string{"DreamModel"},
		HiddenSize:            512,
		IntermediateSize:      1536,
		NumLayers:             8,
		NumHeads:              8,
		NumKVHeads:            2,
		HeadDim:               64,
		VocabSize:             6144,
		RopeTheta:             1e6,
		RMSNormEps:            1e-6,
		MaxPositionEmbeddings: 4096,
		HiddenAct:             "silu",
		MaskTokenID:           6143,
		BOSTokenID:            6141,
		EOSTokenID:            6142,
		EOSTokenIDs:           []int{6142},
		PadTokenID:            6142,
	}
}

// NumParams returns the parameter count of a model with cfg.
func NumParams(cfg Config) int64 {
	var n int64
	for _, s := range Plan(cfg) {
		n += s.NumElements()
	}
	return n
}

// ForwardFLOPs estimates the floating-point operations of one forward pass
// over tokens positions with lm_head on logitRows rows: 2 per
// multiply-add of every projection, plus the attention scores and
// weighted sums (4·T²·H·head_dim per layer). The last layer's output
// projection and MLP count only the logitRows rows they run on (stack).
// Norms, RoPE and softmax are left out (they are O(T·D)).
func ForwardFLOPs(cfg Config, tokens, logitRows int) float64 {
	T, D := float64(tokens), float64(cfg.HiddenSize)
	R := float64(min(logitRows, tokens))
	qd, kv, I := float64(cfg.NumHeads*cfg.HeadDim), float64(cfg.KVDim()), float64(cfg.IntermediateSize)
	layer := func(rows float64) float64 { return 2*T*D*(qd+2*kv) + 4*T*T*qd + rows*(2*qd*D+6*D*I) }
	return float64(cfg.NumLayers-1)*layer(T) + layer(R) + 2*float64(logitRows)*D*float64(cfg.VocabSize)
}

// RandomSource returns a WeightSource of random weights for cfg: normal
// with standard deviation 0.02 (biases too), norms at 1. It is
// deterministic in seed. For benchmarks and tests; the model it makes is
// meaningless.
func RandomSource(cfg Config, seed uint64) WeightSource {
	shapes := map[string][]int{}
	for _, s := range Plan(cfg) {
		shapes[s.Name] = s.Shape
	}
	return randomSource{shapes: shapes, seed: seed}
}

type randomSource struct {
	shapes map[string][]int
	seed   uint64
}

func (r randomSource) Float32(name string) ([]float32, []int, error) {
	shape, ok := r.shapes[name]
	if !ok {
		return nil, nil, fmt.Errorf("tensor %s: %w", name, ErrMissingTensor)
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	if strings.HasSuffix(name, "norm.weight") {
		for i := range v {
			v[i] = 1
		}
		return v, shape, nil
	}
	var h uint64 = 14695981039346656037 // FNV-1a of the name: a stable per-tensor stream
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	rng := rand.New(rand.NewPCG(r.seed, h))
	for i := range v {
		v[i] = float32(rng.NormFloat64() * 0.02)
	}
	if math.IsNaN(float64(v[0])) {
		return nil, nil, fmt.Errorf("tensor %s: random init produced NaN", name)
	}
	return v, shape, nil
}

// Qwen05BConfig returns a synthetic Dream configuration shaped like
// Qwen2.5-0.5B with an untied head (hidden 896, 24 layers, 14 heads of
// 64, 2 KV heads, intermediate 4864, vocabulary 151936: 630M
// parameters), the model the llama.cpp comparisons of issue 15 use.
func Qwen05BConfig() Config {
	c := BenchConfig()
	c.HiddenSize, c.IntermediateSize, c.NumLayers = 896, 4864, 24
	c.NumHeads, c.NumKVHeads, c.HeadDim = 14, 2, 64
	c.VocabSize, c.MaxPositionEmbeddings = 151936, 32768
	c.MaskTokenID, c.BOSTokenID, c.EOSTokenID, c.PadTokenID = 151666, 151643, 151643, 151643
	c.EOSTokenIDs = []int{151643}
	return c
}

// RandomBF16Source is RandomSource with every tensor stored as bfloat16
// (as Dream checkpoints are): a RawSource whose Raw generates the bf16
// bytes directly, without a float32 copy of the tensor, outside the Go
// heap as a mapped file would be. For benchmarks: the bytes are released
// only when a load converts the tensor (Release), as closing a mapped
// checkpoint would.
func RandomBF16Source(cfg Config, seed uint64) RawSource {
	return &randomBF16{r: RandomSource(cfg, seed).(randomSource), frees: map[string]func(){}}
}

type randomBF16 struct {
	r     randomSource
	mu    sync.Mutex
	frees map[string]func()
}

// Release frees the bytes Raw returned for name.
func (s *randomBF16) Release(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.frees[name]; ok {
		f()
		delete(s.frees, name)
	}
}

func (s *randomBF16) Float32(name string) ([]float32, []int, error) {
	raw, _, shape, err := s.Raw(name)
	if err != nil {
		return nil, nil, err
	}
	v := make([]float32, len(raw)/2)
	for i := range v {
		v[i] = weights.BF16ToFloat32(uint16(raw[2*i]) | uint16(raw[2*i+1])<<8)
	}
	return v, shape, nil
}

func (s *randomBF16) Raw(name string) ([]byte, backend.WeightFormat, []int, error) {
	shape, ok := s.r.shapes[name]
	if !ok {
		return nil, "", nil, fmt.Errorf("tensor %s: %w", name, ErrMissingTensor)
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	out, free := quant.Alloc(2 * n)
	s.mu.Lock()
	s.frees[name] = free // an earlier Raw's bytes may be in use: never freed
	s.mu.Unlock()
	put := func(i int, f float32) {
		h := weights.Float32ToBF16(f)
		out[2*i], out[2*i+1] = byte(h), byte(h>>8)
	}
	if strings.HasSuffix(name, "norm.weight") {
		for i := range n {
			put(i, 1)
		}
		return out, backend.WeightBF16, shape, nil
	}
	var h uint64 = 14695981039346656037
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	rng := rand.New(rand.NewPCG(s.r.seed, h))
	for i := range n {
		put(i, float32(rng.NormFloat64()*0.02))
	}
	return out, backend.WeightBF16, shape, nil
}
