package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
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
// weighted sums (4·T²·H·head_dim per layer). Norms, RoPE and softmax are
// left out (they are O(T·D)).
func ForwardFLOPs(cfg Config, tokens, logitRows int) float64 {
	T, D := float64(tokens), float64(cfg.HiddenSize)
	qd, kv, I := float64(cfg.NumHeads*cfg.HeadDim), float64(cfg.KVDim()), float64(cfg.IntermediateSize)
	perLayer := 2*T*D*(qd+2*kv) + 2*T*qd*D + 2*T*D*I*3 + 4*T*T*qd
	return float64(cfg.NumLayers)*perLayer + 2*float64(logitRows)*D*float64(cfg.VocabSize)
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
