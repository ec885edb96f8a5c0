package model_test

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/model"
)

// goldenForward is one forward case of a golden.json.
type goldenForward struct {
	Name         string `json:"name"`
	InputIDs     []int  `json:"input_ids"`
	LogitsTensor string `json:"logits_tensor"`
	LogitsShape  []int  `json:"logits_shape"`
}

// goldenCase is one case of tiny-qwen-vocab's golden.json (top-5 logits).
type goldenCase struct {
	InputIDs   []int       `json:"input_ids"`
	Top5IDs    [][]int     `json:"top5_ids"`
	Top5Logits [][]float64 `json:"top5_logits"`
}

func loadModel(t *testing.T, dir string, threads int) *model.Model {
	t.Helper()
	cfg, ck, err := model.LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir(%s): %v", dir, err)
	}
	defer ck.Close()
	m, err := model.Load(cfg, model.CheckpointSource(ck), cpu.New(threads))
	if err != nil {
		t.Fatalf("Load(%s): %v", dir, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// readF32Safetensors reads every F32 tensor of a small safetensors file.
func readF32Safetensors(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(data)
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &hdr); err != nil {
		t.Fatal(err)
	}
	body := data[8+n:]
	out := map[string][]float32{}
	for name, raw := range hdr {
		if name == "__metadata__" {
			continue
		}
		var info struct {
			DType   string `json:"dtype"`
			Offsets [2]int `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &info); err != nil || info.DType != "F32" {
			t.Fatalf("%s: tensor %s: %v (dtype %s)", path, name, err, info.DType)
		}
		b := body[info.Offsets[0]:info.Offsets[1]]
		v := make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		out[name] = v
	}
	return out
}

func allPositions(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}

func TestForwardGolden(t *testing.T) {
	root := sharedpath.Path(t, "golden", "models")
	for _, name := range []string{"tiny-gqa", "tiny-mha-sharded"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			var g struct {
				Forward []goldenForward `json:"forward"`
			}
			data, err := os.ReadFile(filepath.Join(dir, "golden.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &g); err != nil {
				t.Fatal(err)
			}
			if len(g.Forward) == 0 {
				t.Fatal("golden.json has no forward cases")
			}
			want := readF32Safetensors(t, filepath.Join(dir, "golden_logits.safetensors"))
			for _, threads := range []int{1, 2} {
				m := loadModel(t, dir, threads)
				V := m.Config().VocabSize
				for _, c := range g.Forward {
					out, err := m.Forward([]model.Input{{IDs: c.InputIDs, Want: allPositions(len(c.InputIDs))}})
					if err != nil {
						t.Fatalf("%s: %v", c.Name, err)
					}
					w := want[c.LogitsTensor]
					if len(w) != len(c.InputIDs)*V || len(out[0]) != len(w) {
						t.Fatalf("%s: got %d logits, golden %d, want %d×%d", c.Name, len(out[0]), len(w), len(c.InputIDs), V)
					}
					compareLogits(t, c.Name, out[0], w)
				}
			}
		})
	}
}

// compareLogits requires |got−want| ≤ 1e-4·max|want| elementwise.
func compareLogits(t *testing.T, name string, got, want []float32) {
	t.Helper()
	var scale float64
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	tol := 1e-4 * scale
	var worst float64
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) || d > tol {
			t.Fatalf("%s: logit %d = %g, want %g (tolerance %g)", name, i, got[i], want[i], tol)
		}
		worst = math.Max(worst, d)
	}
	t.Logf("%s: max |diff| %.3g (tolerance %.3g)", name, worst, tol)
}

// TestForwardBatchAndSelection checks that packing canvases into one batch
// and asking for a subset of positions gives the same logits as one canvas
// at a time over all positions.
func TestForwardBatchAndSelection(t *testing.T) {
	dir := sharedpath.Path(t, "golden", "models", "tiny-gqa")
	m := loadModel(t, dir, 2)
	V := m.Config().VocabSize
	a := []int{5, 17, 299, 299, 42, 7, 299}
	b := []int{1, 2, 3, 299, 299}
	fullA, err := m.Forward([]model.Input{{IDs: a, Want: allPositions(len(a))}})
	if err != nil {
		t.Fatal(err)
	}
	fullB, err := m.Forward([]model.Input{{IDs: b, Want: allPositions(len(b))}})
	if err != nil {
		t.Fatal(err)
	}
	wantA, wantB := []int{6, 0, 2}, []int{4}
	out, err := m.Forward([]model.Input{{IDs: a, Want: wantA}, {IDs: b, Want: wantB}})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range wantA {
		compareLogits(t, "batched a", out[0][i*V:(i+1)*V], fullA[0][p*V:(p+1)*V])
	}
	compareLogits(t, "batched b", out[1][:V], fullB[0][4*V:5*V])
	// Position 0 reads raw row 0, as does position 1.
	compareLogits(t, "shift at 0", fullA[0][:V], fullA[0][V:2*V])

	// Left padding: invalid slots with positions restarting at 0 give the
	// same logits for the real tokens as the unpadded canvas.
	padded := append([]int{298, 298}, b...)
	valid := []bool{false, false, true, true, true, true, true}
	pos := []int{1, 1, 0, 1, 2, 3, 4}
	outP, err := m.Forward([]model.Input{{IDs: padded, Positions: pos, Valid: valid, Want: []int{6, 3}}})
	if err != nil {
		t.Fatal(err)
	}
	compareLogits(t, "padded", outP[0][:V], fullB[0][4*V:5*V])
	compareLogits(t, "padded", outP[0][V:], fullB[0][1*V:2*V])
}

func TestForwardRejectsBadInput(t *testing.T) {
	dir := sharedpath.Path(t, "golden", "models", "tiny-gqa")
	m := loadModel(t, dir, 1)
	for name, in := range map[string]model.Input{
		"id out of range":   {IDs: []int{1, 300}},
		"negative id":       {IDs: []int{-1}},
		"empty":             {IDs: nil},
		"want out of range": {IDs: []int{1, 2}, Want: []int{2}},
		"positions length":  {IDs: []int{1, 2}, Positions: []int{0}},
		"position too big":  {IDs: []int{1}, Positions: []int{512}},
	} {
		if _, err := m.Forward([]model.Input{in}); err == nil {
			t.Errorf("%s: Forward succeeded, want an error", name)
		}
	}
}

func TestForwardTop5QwenVocab(t *testing.T) {
	dir := sharedpath.Path(t, "golden", "models", "tiny-qwen-vocab")
	var g struct {
		Cases []goldenCase `json:"cases"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	m := loadModel(t, dir, 2)
	V := m.Config().VocabSize
	for n, c := range g.Cases {
		out, err := m.Forward([]model.Input{{IDs: c.InputIDs, Want: allPositions(len(c.InputIDs))}})
		if err != nil {
			t.Fatal(err)
		}
		for p := range c.InputIDs {
			row := out[0][p*V : (p+1)*V]
			var scale float64
			for _, v := range c.Top5Logits[p] {
				scale = math.Max(scale, math.Abs(v))
			}
			tol := 1e-4 * scale
			for r, id := range c.Top5IDs[p] {
				if d := math.Abs(float64(row[id]) - c.Top5Logits[p][r]); d > tol {
					t.Fatalf("case %d position %d: logit of %d = %g, want %g", n, p, id, row[id], c.Top5Logits[p][r])
				}
			}
			// The golden top-5 must be our top-5 too: fewer than five
			// logits may exceed the golden fifth by more than the tolerance.
			fifth, above := c.Top5Logits[p][4], 0
			for _, v := range row {
				if float64(v) > fifth+tol {
					above++
				}
			}
			if above >= 5 {
				t.Fatalf("case %d position %d: %d logits above the golden 5th (%g)", n, p, above, fifth)
			}
		}
	}
}
