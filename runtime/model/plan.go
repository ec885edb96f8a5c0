package model

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dream-lsp/dream-lsp/runtime/weights"
)

// Names of the tensors outside the layers (Qwen2 naming, as Dream keeps).
const (
	TensorEmbed     = "model.embed_tokens.weight"
	TensorFinalNorm = "model.norm.weight"
	TensorLMHead    = "lm_head.weight"
)

// LayerTensors holds the tensor names of one decoder layer.
type LayerTensors struct {
	InputNorm    string // [hidden]
	PostAttnNorm string // [hidden]
	QWeight      string // [heads*head_dim, hidden]
	QBias        string // [heads*head_dim]
	KWeight      string // [kv_heads*head_dim, hidden]
	KBias        string // [kv_heads*head_dim]
	VWeight      string // [kv_heads*head_dim, hidden]
	VBias        string // [kv_heads*head_dim]
	OWeight      string // [hidden, heads*head_dim]
	GateWeight   string // [intermediate, hidden]
	UpWeight     string // [intermediate, hidden]
	DownWeight   string // [hidden, intermediate]
}

// LayerTensorNames returns the tensor names of decoder layer i.
func LayerTensorNames(i int) LayerTensors {
	p := fmt.Sprintf("model.layers.%d.", i)
	return LayerTensors{
		InputNorm:    p + "input_layernorm.weight",
		PostAttnNorm: p + "post_attention_layernorm.weight",
		QWeight:      p + "self_attn.q_proj.weight",
		QBias:        p + "self_attn.q_proj.bias",
		KWeight:      p + "self_attn.k_proj.weight",
		KBias:        p + "self_attn.k_proj.bias",
		VWeight:      p + "self_attn.v_proj.weight",
		VBias:        p + "self_attn.v_proj.bias",
		OWeight:      p + "self_attn.o_proj.weight",
		GateWeight:   p + "mlp.gate_proj.weight",
		UpWeight:     p + "mlp.up_proj.weight",
		DownWeight:   p + "mlp.down_proj.weight",
	}
}

// TensorSpec is one tensor a Dream checkpoint must hold.
type TensorSpec struct {
	Name  string
	Shape []int         // Linear weights are [out, in]
	DType weights.DType // from the config's torch_dtype; "" accepts any float dtype
}

// NumElements returns the product of the shape.
func (s TensorSpec) NumElements() int64 {
	n := int64(1)
	for _, d := range s.Shape {
		n *= int64(d)
	}
	return n
}

// Bytes returns the stored size, or 0 when DType is unset.
func (s TensorSpec) Bytes() int64 { return s.NumElements() * int64(s.DType.Size()) }

// Plan returns every tensor of a Dream model with cfg, in the order the
// forward pass uses them: the embedding, each layer (norms, q/k/v with
// biases, o, gate/up/down), the final norm and, unless the embeddings are
// tied, lm_head. cfg should be valid (see Config.Validate); an invalid
// torch_dtype leaves DType empty.
func Plan(cfg Config) []TensorSpec {
	dt, _ := cfg.DType()
	h, inter, v := cfg.HiddenSize, cfg.IntermediateSize, cfg.VocabSize
	qd, kvd := cfg.NumHeads*cfg.HeadDim, cfg.KVDim()
	out := make([]TensorSpec, 0, 2+12*cfg.NumLayers+1)
	add := func(name string, shape ...int) {
		out = append(out, TensorSpec{Name: name, Shape: shape, DType: dt})
	}
	add(TensorEmbed, v, h)
	for i := range cfg.NumLayers {
		n := LayerTensorNames(i)
		add(n.InputNorm, h)
		add(n.QWeight, qd, h)
		add(n.QBias, qd)
		add(n.KWeight, kvd, h)
		add(n.KBias, kvd)
		add(n.VWeight, kvd, h)
		add(n.VBias, kvd)
		add(n.OWeight, h, qd)
		add(n.PostAttnNorm, h)
		add(n.GateWeight, inter, h)
		add(n.UpWeight, inter, h)
		add(n.DownWeight, h, inter)
	}
	add(TensorFinalNorm, h)
	if !cfg.TieWordEmbeddings {
		add(TensorLMHead, v, h)
	}
	return out
}

// ErrPlanMismatch marks a checkpoint whose tensors disagree with its
// config (missing, unexpected, wrong shape or dtype). Such errors also
// match weights.ErrCorrupt.
var ErrPlanMismatch = errors.New("model: checkpoint does not match config")

// PlanError lists how a checkpoint (or index) disagrees with the plan of
// its config. Every problem names the file and tensor.
type PlanError struct {
	Dir      string
	Problems []string // one line each: "<file>: tensor \"name\": what"
}

// maxReported bounds the problems quoted in Error.
const maxReported = 5

// Error lists the first few problems and counts the rest.
func (e *PlanError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "model: checkpoint %s does not match config: ", e.Dir)
	for i, p := range e.Problems {
		if i == maxReported {
			fmt.Fprintf(&b, "; and %d more", len(e.Problems)-maxReported)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p)
	}
	return b.String()
}

// Is matches ErrPlanMismatch and weights.ErrCorrupt.
func (e *PlanError) Is(target error) bool {
	return target == ErrPlanMismatch || target == weights.ErrCorrupt
}

// tensorInfo is what CheckPlan needs of a stored tensor.
type tensorInfo struct {
	file  string
	shape []int
	dtype weights.DType // "" when unknown (index only)
}

// checkPlan compares plan with the stored tensors, sorted by name for the
// unexpected ones. names lists the stored tensors in a stable order.
func checkPlan(dir string, plan []TensorSpec, names []string, stored map[string]tensorInfo, missingFile func(string) string) error {
	e := &PlanError{Dir: dir}
	planned := make(map[string]bool, len(plan))
	for _, s := range plan {
		planned[s.Name] = true
		t, ok := stored[s.Name]
		if !ok {
			e.Problems = append(e.Problems, fmt.Sprintf("%s: tensor %q: missing (want %s%v)", missingFile(s.Name), s.Name, s.DType, s.Shape))
			continue
		}
		if !equalShape(t.shape, s.Shape) && t.shape != nil {
			e.Problems = append(e.Problems, fmt.Sprintf("%s: tensor %q: shape %v, config wants %v", t.file, s.Name, t.shape, s.Shape))
		}
		if t.dtype != "" && s.DType != "" && t.dtype != s.DType {
			e.Problems = append(e.Problems, fmt.Sprintf("%s: tensor %q: dtype %s, config torch_dtype wants %s", t.file, s.Name, t.dtype, s.DType))
		}
	}
	for _, n := range names {
		if planned[n] {
			continue
		}
		e.Problems = append(e.Problems, fmt.Sprintf("%s: tensor %q: unexpected (not part of a Dream model with this config)", stored[n].file, n))
	}
	if len(e.Problems) > 0 {
		return e
	}
	return nil
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// CheckPlan verifies that c holds exactly the tensors of Plan(cfg): each
// present with the planned shape and the config's dtype, nothing else. The
// error is a *PlanError (matching ErrPlanMismatch and weights.ErrCorrupt)
// naming file and tensor for each problem.
func CheckPlan(cfg Config, c *weights.Checkpoint) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	stored := map[string]tensorInfo{}
	var names []string
	for _, t := range c.Tensors() {
		stored[t.Name] = tensorInfo{file: t.File, shape: t.Shape, dtype: t.DType}
		names = append(names, t.Name)
	}
	missingFile := func(name string) string {
		if ix := c.Index(); ix != nil {
			if f, ok := ix.WeightMap[name]; ok {
				return f
			}
			return weights.IndexFile
		}
		if files := c.Files(); len(files) == 1 {
			return files[0]
		}
		return c.Dir()
	}
	return checkPlan(c.Dir(), Plan(cfg), names, stored, missingFile)
}

// DirPlan is the tensor plan of a model directory built from config.json
// and model.safetensors.index.json without reading any weights.
type DirPlan struct {
	Dir        string
	Config     Config
	Tensors    []TensorSpec      // Plan(Config)
	Shards     map[string]string // tensor name -> shard file, from the index
	TotalBytes int64             // sum of the planned tensor sizes
	IndexTotal int64             // metadata.total_size of the index
}

// PlanFromIndex reads dir's config.json and model.safetensors.index.json
// (no shard is opened) and checks that the index lists exactly the planned
// tensors and that its total_size equals the planned byte count.
func PlanFromIndex(dir string) (*DirPlan, error) {
	dir = weights.ResolveDir(dir)
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	ix, err := weights.ReadIndex(dir)
	if err != nil {
		return nil, err
	}
	p := &DirPlan{Dir: dir, Config: cfg, Tensors: Plan(cfg), Shards: ix.WeightMap, IndexTotal: ix.TotalSize}
	for _, s := range p.Tensors {
		p.TotalBytes += s.Bytes()
	}
	stored := make(map[string]tensorInfo, len(ix.WeightMap))
	for name, file := range ix.WeightMap {
		stored[name] = tensorInfo{file: file}
	}
	if err := checkPlan(dir, p.Tensors, ix.Names(), stored, func(string) string { return weights.IndexFile }); err != nil {
		return nil, err
	}
	if ix.TotalSize != 0 && ix.TotalSize != p.TotalBytes {
		return nil, &PlanError{Dir: dir, Problems: []string{fmt.Sprintf("%s: metadata.total_size %d, the config's tensors need %d bytes",
			filepath.Join(dir, weights.IndexFile), ix.TotalSize, p.TotalBytes)}}
	}
	return p, nil
}

// LoadDir opens the checkpoint in dir, reads its config, and checks the
// tensors against the plan. The caller closes the checkpoint.
func LoadDir(dir string) (Config, *weights.Checkpoint, error) {
	dir = weights.ResolveDir(dir)
	if _, err := os.Stat(dir); err != nil {
		return Config{}, nil, fmt.Errorf("model: open %s: %w", dir, err)
	}
	cfg, err := LoadConfig(dir)
	if err != nil {
		return Config{}, nil, err
	}
	c, err := weights.Open(dir)
	if err != nil {
		return Config{}, nil, err
	}
	if err := CheckPlan(cfg, c); err != nil {
		c.Close()
		return Config{}, nil, err
	}
	return cfg, c, nil
}

// LoadFS is LoadDir for a model directory given as an fs.FS (the files are
// read into memory).
func LoadFS(fsys fs.FS) (Config, *weights.Checkpoint, error) {
	cfg, err := LoadConfigFS(fsys)
	if err != nil {
		return Config{}, nil, err
	}
	c, err := weights.OpenFS(fsys)
	if err != nil {
		return Config{}, nil, err
	}
	if err := CheckPlan(cfg, c); err != nil {
		c.Close()
		return Config{}, nil, err
	}
	return cfg, c, nil
}
