package gguf_test

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/internal/testenv"
	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/gguf"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/quant"
)

// llamaRoot is where infill/remote/testdata/fetch-llama.sh unpacks
// Debian's llama.cpp and python3-gguf.
const llamaRoot = "../../infill/remote/.llama/root"

// ggufPy runs testdata/kquant.py with Debian's gguf-py (an implementation
// of the k-quants this project did not write).
func ggufPy(t testing.TB, args ...string) {
	t.Helper()
	py := pythonWithNumpy()
	pkgs, _ := filepath.Abs(filepath.Join(llamaRoot, "usr/lib/python3/dist-packages"))
	if _, err := os.Stat(filepath.Join(pkgs, "gguf", "quants.py")); err != nil || py == "" {
		testenv.Missingf(t, "Debian's python3-gguf under %s and a python3 with numpy (bash infill/remote/testdata/fetch-llama.sh; apt-get install python3-numpy python3-yaml python3-tqdm): %v", pkgs, err)
	}
	cmd := exec.Command(py, append([]string{"testdata/kquant.py"}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pkgs)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kquant.py %v: %v\n%s", args, err, b)
	}
}

// ggmlC runs testdata/kquant.py with args through the unpacked suite's
// own dynamic loader and libraries (libggml-base needs Debian sid's
// glibc), the library's path appended.
func ggmlC(t testing.TB, args ...string) {
	t.Helper()
	py := pythonWithNumpy()
	root, _ := filepath.Abs(llamaRoot)
	lib := filepath.Join(root, "usr/lib/x86_64-linux-gnu")
	ld, base := filepath.Join(lib, "ld-linux-x86-64.so.2"), filepath.Join(lib, "libggml-base.so.0")
	for _, p := range []string{ld, base} {
		if _, err := os.Stat(p); err != nil || py == "" {
			testenv.Missingf(t, "Debian's libggml-base (bash infill/remote/testdata/fetch-llama.sh) and a python3 with numpy: %v", err)
		}
	}
	cmd := exec.Command(ld, append([]string{"--library-path", lib, py, "testdata/kquant.py"}, append(args, base)...)...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(root, "usr/lib/python3/dist-packages"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kquant.py %v: %v\n%s", args, err, b)
	}
}

// llamaQuantize runs Debian's llama-quantize (through the unpacked
// suite's own dynamic loader, as the llama-server wrapper does).
func llamaQuantize(t testing.TB, in, out, typ, imatrix string) {
	t.Helper()
	root, _ := filepath.Abs(llamaRoot)
	lib := filepath.Join(root, "usr/lib/x86_64-linux-gnu")
	ld := filepath.Join(lib, "ld-linux-x86-64.so.2")
	bin := filepath.Join(root, "usr/bin/llama-quantize")
	for _, p := range []string{ld, bin} {
		if _, err := os.Stat(p); err != nil {
			testenv.Missingf(t, "Debian's llama-quantize not unpacked (bash infill/remote/testdata/fetch-llama.sh): %v", err)
		}
	}
	args := []string{"--library-path", lib + ":" + lib + "/llama:" + lib + "/ggml", bin}
	if imatrix != "" {
		args = append(args, "--imatrix", imatrix)
	}
	cmd := exec.Command(ld, append(args, in, out, typ, "2")...)
	cmd.Env = append(os.Environ(), "GGML_BACKEND_PATH="+filepath.Join(lib, "ggml/backends0/libggml-cpu-sse42.so"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("llama-quantize %s: %v\n%s", typ, err, b)
	}
}

// q4KM writes the k-quant test model (testdata/kquant.py: random Dream
// weights, rows a multiple of 256) in F32, llama-quantize's Q4_K_M of it,
// and gguf-py's float32 dequantization of that.
func q4KM(t testing.TB) (f32, q4km, deq string) {
	dir := t.TempDir()
	f32 = filepath.Join(dir, "f32.gguf")
	ggufPy(t, "model", f32)
	q4km, deq = quantizeQ4KM(t, f32)
	return f32, q4km, deq
}

// quantizeQ4KM makes llama-quantize's Q4_K_M of the F32 file f32 and
// gguf-py's float32 dequantization of it.
func quantizeQ4KM(t testing.TB, f32 string) (q4km, deq string) {
	return quantizeAs(t, f32, "Q4_K_M", "")
}

// quantizeAs makes llama-quantize's file of type typ (Q4_K_M, IQ4_XS,
// ...) from the F32 file f32, and gguf-py's float32 dequantization of it.
func quantizeAs(t testing.TB, f32, typ, imatrix string) (qfile, deq string) {
	dir := t.TempDir()
	qfile, deq = filepath.Join(dir, strings.ToLower(typ)+".gguf"), filepath.Join(dir, "deq.gguf")
	llamaQuantize(t, f32, qfile, typ, imatrix)
	ggufPy(t, "dequant-file", qfile, deq)
	return qfile, deq
}

func load(t testing.TB, path string, mode model.WeightMode) (*model.Model, *gguf.Mapped) {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	cfg, err := f.DreamConfig()
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.LoadWith(cfg, f.Source(), cpu.New(2), model.LoadOptions{Weights: mode})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, f
}

// quantResult is what checkQuantized measured against the float32 model.
type quantResult struct {
	types          map[gguf.GGMLType]int
	rmsOverStd     float64 // logit error rms / logit standard deviation
	agree, total   int     // greedy tokens equal to float32's
	rms, max, sdev float64
}

// checkQuantized runs the exact checks on a file qfile llama-quantize
// made from the float32 model ref (Q4_K_M or another of its types), with
// gguf-py's float32 dequantization deq:
//   - every quantized tensor decodes, bit for bit, to gguf-py's values;
//   - under auto the blocks are used in place (nothing converted) and the
//     logits equal, bit for bit, those of deq loaded as float32 and those
//     of qfile under --weights f32; --weights q8_0 loads and runs;
//
// and measures the logit error and greedy agreement against ref on random
// canvases of ids below vocab.
func checkQuantized(t *testing.T, ref *model.Model, qfile, deq string, vocab int) quantResult {
	qf, err := gguf.Open(qfile)
	if err != nil {
		t.Fatal(err)
	}
	defer qf.Close()
	df, err := gguf.Open(deq)
	if err != nil {
		t.Fatal(err)
	}
	defer df.Close()
	res := quantResult{types: map[gguf.GGMLType]int{}}
	for _, ti := range qf.Tensors {
		res.types[ti.Type]++
		f, ok := gguf.WeightFormatOf(ti.Type)
		switch {
		case !ok:
			t.Fatalf("%s is %s, which is not read", ti.Name, ti.Type)
		case f == backend.WeightF32:
			continue
		}
		cols := int(ti.Dims[0])
		got, err := quant.Decode(f, ti.Data, int(ti.NumElements())/cols, cols)
		if err != nil {
			t.Fatal(err)
		}
		dt, ok := df.Tensor(ti.Name)
		if !ok || dt.Type != gguf.GGMLF32 || len(dt.Data) != 4*len(got) {
			t.Fatalf("%s: no float32 dequantization from gguf-py", ti.Name)
		}
		for i, v := range got {
			if w := binary.LittleEndian.Uint32(dt.Data[4*i:]); math.Float32bits(v) != w {
				t.Fatalf("%s (%s) value %d: %g, gguf-py %g", ti.Name, ti.Type, i, v, math.Float32frombits(w))
			}
		}
	}

	held := quant.Allocated()
	m, _ := load(t, qfile, model.WeightsAuto)
	if d := quant.Allocated() - held; d != 0 || !m.UsesSourceMemory() {
		t.Fatalf("%s under auto: %d bytes converted, in place %v; want 0 and true", qfile, d, m.UsesSourceMemory())
	}
	exact, _ := load(t, deq, model.WeightsF32)
	asQ8, _ := load(t, qfile, model.WeightsQ8_0)
	asF32, _ := load(t, qfile, model.WeightsF32)

	r := rand.New(rand.NewPCG(3, 4))
	var sum, sumSq, errSq float64
	var n int
	for range 4 {
		in, want := randomCanvas(r, vocab)
		q, err := m.Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		for name, other := range map[string]*model.Model{"gguf-py dequantized, f32": exact, "--weights f32": asF32} {
			e, err := other.Forward(in)
			if err != nil {
				t.Fatal(err)
			}
			for i := range q[0] {
				if math.Float32bits(q[0][i]) != math.Float32bits(e[0][i]) {
					t.Fatalf("logit %d: %s in place %g, %s %g", i, qfile, q[0][i], name, e[0][i])
				}
			}
		}
		if _, err := asQ8.Forward(in); err != nil {
			t.Fatal(err)
		}
		f, err := ref.Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		nv := len(q[0]) / len(want)
		for p := range want {
			res.total++
			if argmax(q[0][p*nv:(p+1)*nv]) == argmax(f[0][p*nv:(p+1)*nv]) {
				res.agree++
			}
		}
		for i := range q[0] {
			d := float64(q[0][i]) - float64(f[0][i])
			res.max = max(res.max, math.Abs(d))
			errSq += d * d
			sum += float64(f[0][i])
			sumSq += float64(f[0][i]) * float64(f[0][i])
			n++
		}
	}
	res.sdev = math.Sqrt(sumSq/float64(n) - (sum/float64(n))*(sum/float64(n)))
	res.rms = math.Sqrt(errSq / float64(n))
	res.rmsOverStd = res.rms / res.sdev
	t.Logf("%s %v vs float32: logit error rms %.4f, max %.4f (logit std %.3f: rms/std %.4f), greedy agreement %d/%d = %.3f",
		filepath.Base(qfile), res.types, res.rms, res.max, res.sdev, res.rmsOverStd, res.agree, res.total, float64(res.agree)/float64(res.total))
	return res
}

// TestQ4KMGGUF: a Q4_K_M file whose rows are multiples of 256 mixes Q4_K
// and Q6_K (F32 norms and biases) and passes checkQuantized's exact checks
// (the layer weights are kept as q4_K); against the float32 model it was
// quantized from, the logit error's rms stays under 0.2 of the logits'
// standard deviation (measured 0.138) and greedy tokens agree at 70% of
// positions or more (measured 152/192 = 79%). The loss is Q4_K's own: on
// these Gaussian weights llama-quantize's Q4_K leaves a 7.1% rms error
// per weight (Q6_K 1.8%), compounded over ten random matmuls; a decoder
// off by one scale bit gives errors the size of the logits.
func TestQ4KMGGUF(t *testing.T) {
	f32, q4km, deq := q4KM(t)
	ref, _ := load(t, f32, model.WeightsF32)
	res := checkQuantized(t, ref, q4km, deq, 500)
	if res.types[gguf.GGMLQ4_K] == 0 || res.types[gguf.GGMLQ6_K] == 0 {
		t.Fatalf("tensor types %v: want both Q4_K and Q6_K", res.types)
	}
	m, _ := load(t, q4km, model.WeightsAuto)
	if f := cpu.WeightFormat(m.LinearWeight()); f != backend.WeightQ4_K {
		t.Fatalf("layer 0 q is kept as %s, want q4_K", f)
	}
	if res.rmsOverStd > 0.2 {
		t.Errorf("logit error rms/std %.4f > 0.2", res.rmsOverStd)
	}
	if rate := float64(res.agree) / float64(res.total); rate < 0.7 {
		t.Errorf("greedy agreement %.3f < 0.7", rate)
	}
}

// TestQuantTypesGGUF: the model of TestQ4KMGGUF as each of the other file
// types llama-quantize writes that Dream GGUF files come in (given an
// importance matrix, every column equally important, for the types that
// need one: the "i1" files) passes checkQuantized's exact checks (every
// tensor bit for bit as gguf-py decodes it, the logits those of gguf-py's
// float32 model), holds the type's own tensor type and keeps its layer
// weights in their formats, and stays within the type's bar against the
// float32 model it was quantized from: the logit error's rms over the
// logits' standard deviation and the greedy agreement, set with a margin
// from the values measured here (2026-12-03; each in the table's
// comment). A decoder off by one bit fails the exact checks; a swapped
// nibble or scale fails the bar.
func TestQuantTypesGGUF(t *testing.T) {
	f32 := filepath.Join(t.TempDir(), "f32.gguf")
	ggufPy(t, "model", f32)
	imatrix := filepath.Join(t.TempDir(), "imatrix.gguf")
	ggufPy(t, "imatrix", f32, imatrix)
	ref, _ := load(t, f32, model.WeightsF32)
	for _, c := range []struct {
		typ     string
		imatrix bool
		holds   gguf.GGMLType        // a tensor type the file must hold
		layer   backend.WeightFormat // layer 0's q projection
		rms     float64              // bar on rms/std
		agree   float64              // bar on greedy agreement
	}{
		{"Q4_0", false, gguf.GGMLQ4_0, backend.WeightQ4_0, 0.2, 0.65},         // 0.169, 137/192
		{"Q4_1", false, gguf.GGMLQ4_1, backend.WeightQ4_1, 0.2, 0.65},         // 0.154, 136/192
		{"Q5_0", false, gguf.GGMLQ5_0, backend.WeightQ5_0, 0.11, 0.72},        // 0.087, 152/192
		{"Q5_1", false, gguf.GGMLQ5_1, backend.WeightQ5_1, 0.1, 0.75},         // 0.077, 161/192
		{"IQ4_NL", false, gguf.GGMLIQ4_NL, backend.WeightIQ4_NL, 0.2, 0.7},    // 0.151, 149/192
		{"IQ4_XS", false, gguf.GGMLIQ4_XS, backend.WeightIQ4_XS, 0.2, 0.7},    // 0.152, 147/192
		{"Q2_K", false, gguf.GGMLQ2_K, backend.WeightQ2_K, 0.6, 0.25},         // 0.500, 61/192
		{"Q3_K_M", false, gguf.GGMLQ3_K, backend.WeightQ3_K, 0.33, 0.55},      // 0.269, 121/192
		{"Q4_K_S", false, gguf.GGMLQ4_K, backend.WeightQ4_K, 0.18, 0.68},      // 0.140, 144/192
		{"Q5_K_M", false, gguf.GGMLQ5_K, backend.WeightQ5_K, 0.1, 0.8},        // 0.072, 167/192
		{"Q6_K", false, gguf.GGMLQ6_K, backend.WeightQ6_K, 0.06, 0.85},        // 0.039, 174/192
		{"IQ3_M", false, gguf.GGMLIQ3_S, backend.WeightIQ3_S, 0.37, 0.45},     // 0.307, 101/192
		{"IQ3_S", false, gguf.GGMLIQ3_S, backend.WeightIQ3_S, 0.39, 0.46},     // 0.322, 104/192
		{"IQ3_XXS", true, gguf.GGMLIQ3_XXS, backend.WeightIQ2_S, 0.4, 0.48},   // 0.335, 109/192
		{"IQ2_M", true, gguf.GGMLIQ2_S, backend.WeightIQ2_S, 0.46, 0.4},       // 0.385, 91/192
		{"IQ2_XS", true, gguf.GGMLIQ2_XS, backend.WeightIQ2_XS, 0.66, 0.22},   // 0.548, 55/192
		{"IQ2_XXS", true, gguf.GGMLIQ2_XXS, backend.WeightIQ2_XXS, 0.7, 0.18}, // 0.579, 46/192
		{"IQ1_M", true, gguf.GGMLIQ1_M, backend.WeightIQ1_M, 0.8, 0.13},       // 0.664, 34/192
		{"IQ1_S", true, gguf.GGMLIQ1_S, backend.WeightIQ1_S, 0.83, 0.11},      // 0.690, 30/192
		{"TQ2_0", false, gguf.GGMLTQ2_0, backend.WeightTQ2_0, 1.05, 0.04},     // 0.907, 14/192 (ternary: not trained for it)
		{"TQ1_0", false, gguf.GGMLTQ1_0, backend.WeightTQ1_0, 1.05, 0.04},     // the same values as TQ2_0
	} {
		t.Run(c.typ, func(t *testing.T) {
			im := ""
			if c.imatrix {
				im = imatrix
			}
			qfile, deq := quantizeAs(t, f32, c.typ, im)
			res := checkQuantized(t, ref, qfile, deq, 500)
			if res.types[c.holds] == 0 {
				t.Fatalf("tensor types %v: want %s", res.types, c.holds)
			}
			m, _ := load(t, qfile, model.WeightsAuto)
			if f := cpu.WeightFormat(m.LinearWeight()); f != c.layer {
				t.Fatalf("layer 0 q is kept as %s, want %s", f, c.layer)
			}
			t.Logf("%s: rms/std %.3f, greedy %d/%d", c.typ, res.rmsOverStd, res.agree, res.total)
			if res.rmsOverStd > c.rms {
				t.Errorf("logit error rms/std %.4f > %g", res.rmsOverStd, c.rms)
			}
			if rate := float64(res.agree) / float64(res.total); rate < c.agree {
				t.Errorf("greedy agreement %.3f < %g", rate, c.agree)
			}
			if !cpu.AMXAvailable() {
				t.Logf("tiles not checked: %v", cpu.ErrNoAMX)
				return
			}
			// On the tiles: bf16's rounding only, against the same file
			// on the float32 kernels.
			if tr := onTiles(t, qfile, m, ref); tr.rms > 0.02 || tr.agree < tr.rows*95/100 {
				t.Errorf("tiles vs float32 kernels: rms/std %.4f (max 0.02), greedy %d/%d (min 95%%)", tr.rms, tr.agree, tr.rows)
			}
		})
	}
}

// TestUnreadTypeGGUF: a file holding a weight in a type no weight is
// read in (F64, which gguf-py writes for float64 arrays) opens, and its
// load fails with ErrUnsupported naming the tensor and the type, not as a
// corrupt file.
func TestUnreadTypeGGUF(t *testing.T) {
	tq := filepath.Join(t.TempDir(), "f64.gguf")
	ggufPy(t, "model", tq, "f64")
	f, err := gguf.Open(tq)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	cfg, err := f.DreamConfig()
	if err != nil {
		t.Fatal(err)
	}
	_, err = model.LoadWith(cfg, f.Source(), cpu.New(1), model.LoadOptions{})
	if !errors.Is(err, gguf.ErrUnsupported) || errors.Is(err, gguf.ErrCorrupt) || !strings.Contains(err.Error(), "blk.0.attn_q.weight is F64") {
		t.Fatalf("load: %v, want ErrUnsupported naming blk.0.attn_q.weight and F64", err)
	}
	t.Logf("load: %v", err)
}

// TestQ4KMGoldenGGUF: the golden tiny-gqa model (rows of 64 and 160) as
// llama-quantize's Q4_K_M is Q5_0 and Q8_0 (the fallbacks for rows that
// are not multiples of 256) and passes checkQuantized's exact checks; against
// the safetensors model in float32 the logit error's rms stays under 0.12
// of the logits' standard deviation (measured 0.073) and greedy tokens
// agree at 75% of positions or more (measured 167/192 = 87%; this
// model's logits are nearly flat, std 0.16, so near-ties flip).
func TestQ4KMGoldenGGUF(t *testing.T) {
	dir := sharedpath.Path(t, "golden", "models", "tiny-gqa")
	cfg, ck, err := model.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	ref, err := model.LoadWith(cfg, model.CheckpointSource(ck), cpu.New(2), model.LoadOptions{Weights: model.WeightsF32})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	q4km, deq := quantizeQ4KM(t, convert(t, dir, "f32"))
	res := checkQuantized(t, ref, q4km, deq, cfg.VocabSize)
	if res.types[gguf.GGMLQ5_0] == 0 {
		t.Fatalf("tensor types %v: want Q5_0", res.types)
	}
	if res.rmsOverStd > 0.12 {
		t.Errorf("logit error rms/std %.4f > 0.12", res.rmsOverStd)
	}
	if rate := float64(res.agree) / float64(res.total); rate < 0.75 {
		t.Errorf("greedy agreement %.3f < 0.75", rate)
	}
}

// randomCanvas returns a canvas of 48 ids below vocab drawn from r, every
// position's logits wanted.
func randomCanvas(r *rand.Rand, vocab int) (in []model.Input, want []int) {
	ids := make([]int, 48)
	want = make([]int, len(ids))
	for i := range ids {
		ids[i] = r.IntN(vocab)
		want[i] = i
	}
	return []model.Input{{IDs: ids, Want: want}}, want
}

// ggufOnlyFormats lists the weight formats read from GGUF files only.
func ggufOnlyFormats() []backend.WeightFormat {
	var fs []backend.WeightFormat
	for t := range gguf.GGMLType(64) {
		if f, ok := gguf.WeightFormatOf(t); ok && f.GGUFOnly() {
			fs = append(fs, f)
		}
	}
	return fs
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// randomBlocks returns 512 random rows of 256 values in format f (a
// format read from GGUF files only): every bit pattern of quants, signs,
// grid indices and packed scales, the block scales (quant.PutScales)
// finite and of sizes from 1e-6 to 10.
func randomBlocks(r *rand.Rand, f backend.WeightFormat) []byte {
	const blocks = 512
	rb, _ := f.RowBytes(256)
	_, per, _ := f.Block()
	raw := make([]byte, blocks*rb)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	for b := range len(raw) / per {
		quant.PutScales(f, raw[b*per:(b+1)*per], func() float32 {
			return float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(6))-6))
		})
	}
	return raw
}

// blocksMatch writes random blocks of every format read from GGUF files
// only to a file, has decode write their values as float32 to another
// (values in all), and requires our decoders to give the same bits.
func blocksMatch(t *testing.T, r *rand.Rand, who string, decode func(f backend.WeightFormat, values int, in, out string)) {
	dir := t.TempDir()
	for _, f := range ggufOnlyFormats() {
		raw := randomBlocks(r, f)
		in, out := filepath.Join(dir, string(f)+".bin"), filepath.Join(dir, string(f)+".f32")
		if err := os.WriteFile(in, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		rb, _ := f.RowBytes(256)
		decode(f, len(raw)/rb*256, in, out)
		want, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		got, err := quant.Decode(f, raw, len(raw)/rb, 256)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) != 4*len(got) {
			t.Fatalf("%s: %s wrote %d bytes, want %d", f, who, len(want), 4*len(got))
		}
		for i, v := range got {
			if w := binary.LittleEndian.Uint32(want[4*i:]); math.Float32bits(v) != w {
				t.Fatalf("%s row %d value %d: %g, %s %g", f, i/256, i%256, v, who, math.Float32frombits(w))
			}
		}
	}
}

// TestKQuantBlocksMatchGGUFPy: gguf-py's dequantize gives our decoders'
// bits on random blocks of every format read from GGUF files only.
func TestKQuantBlocksMatchGGUFPy(t *testing.T) {
	blocksMatch(t, rand.New(rand.NewPCG(5, 6)), "gguf-py", func(f backend.WeightFormat, _ int, in, out string) {
		ggufPy(t, "dequant-blocks", string(f), in, out)
	})
}

// TestBlocksMatchGGML: ggml's own C decoders (dequantize_row_* in
// Debian's libggml-base, which llama.cpp runs) give our decoders' bits on
// random blocks of every format read from GGUF files only.
func TestBlocksMatchGGML(t *testing.T) {
	blocksMatch(t, rand.New(rand.NewPCG(7, 8)), "ggml", func(f backend.WeightFormat, values int, in, out string) {
		ggmlC(t, "ggml-blocks", string(f), strconv.Itoa(values), in, out)
	})
}

// TestQ4KMCorrupt: a truncated Q4_K_M file is refused at Open with an
// error naming the file and a tensor; a file whose k-quant tensor has
// rows that are not whole super-blocks is refused too.
func TestQ4KMCorrupt(t *testing.T) {
	_, q4km, _ := q4KM(t)
	data, err := os.ReadFile(q4km)
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(t.TempDir(), "trunc.gguf")
	if err := os.WriteFile(trunc, data[:len(data)-100], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = gguf.Open(trunc)
	var ce *gguf.CorruptError
	if !errors.Is(err, gguf.ErrCorrupt) || !errors.As(err, &ce) || ce.What == "" {
		t.Fatalf("truncated Q4_K_M: %v, want a CorruptError naming a tensor", err)
	}
	t.Logf("truncated: %v", err)
}

// TestQ4KMGGUFOnTiles: on a CPU with AMX (SetBF16Matmul) the Q4_K_M
// file's q4_K and q6_K layer weights multiply on the tiles, decoded and
// rounded to bf16 strip by strip, with the activations rounded to bf16:
// against the same file on the float32 kernels the logits move by bf16's
// rounding only (rms under 2% of their standard deviation, greedy tokens
// the same at 95% of positions or more), and against the float32 model
// the file was quantized from they keep TestQ4KMGGUF's bar.
func TestQ4KMGGUFOnTiles(t *testing.T) {
	if !cpu.AMXAvailable() {
		t.Skip(cpu.ErrNoAMX)
	}
	f32, q4km, _ := q4KM(t)
	ref, _ := load(t, f32, model.WeightsF32)
	exact, _ := load(t, q4km, model.WeightsAuto)
	tr := onTiles(t, q4km, exact, ref)
	if tr.rms > 0.02 || tr.agree < tr.rows*95/100 {
		t.Errorf("tiles vs float32 kernels: rms/std %.4f (max 0.02), greedy %d/%d (min 95%%)", tr.rms, tr.agree, tr.rows)
	}
	if tr.rmsRef > 0.2 || tr.agreeRef < tr.rows*70/100 {
		t.Errorf("tiles vs the float32 model: rms/std %.4f (max 0.2), greedy %d/%d (min 70%%)", tr.rmsRef, tr.agreeRef, tr.rows)
	}
}

// tilesResult is what onTiles measured.
type tilesResult struct {
	rms, rmsRef           float64 // logit error rms / std against exact, ref
	agree, agreeRef, rows int     // greedy tokens equal to exact's, ref's
}

// onTiles loads qfile with SetBF16Matmul (its weights multiplied on the
// AMX tiles) and compares its logits on random canvases with exact's
// (the same file on the float32 kernels) and ref's (the float32 model).
func onTiles(t *testing.T, qfile string, exact, ref *model.Model) tilesResult {
	f, err := gguf.Open(qfile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := f.DreamConfig()
	if err != nil {
		t.Fatal(err)
	}
	be := cpu.New(2)
	if err := be.SetBF16Matmul(true); err != nil {
		t.Fatal(err)
	}
	tiles, err := model.LoadWith(cfg, f.Source(), be, model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tiles.Close()
	if w := cpu.WeightFormat(tiles.LinearWeight()); !cpu.AMXTakes(w) {
		t.Fatalf("layer 0 q is %s, which the tiles do not take", w)
	}
	r := rand.New(rand.NewPCG(5, 6))
	var e2, s, s2, r2 float64
	var n int
	var tr tilesResult
	for range 4 {
		in, want := randomCanvas(r, 500)
		got, err := tiles.Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		ex, err := exact.Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := ref.Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		nv := len(got[0]) / len(want)
		for p := range want {
			g := got[0][p*nv : (p+1)*nv]
			if argmax(g) == argmax(ex[0][p*nv:(p+1)*nv]) {
				tr.agree++
			}
			if argmax(g) == argmax(fr[0][p*nv:(p+1)*nv]) {
				tr.agreeRef++
			}
			tr.rows++
		}
		for i, v := range got[0] {
			d := float64(v) - float64(ex[0][i])
			e2 += d * d
			dr := float64(v) - float64(fr[0][i])
			r2 += dr * dr
			s += float64(ex[0][i])
			s2 += float64(ex[0][i]) * float64(ex[0][i])
			n++
		}
	}
	sd := math.Sqrt(s2/float64(n) - (s/float64(n))*(s/float64(n)))
	tr.rms, tr.rmsRef = math.Sqrt(e2/float64(n))/sd, math.Sqrt(r2/float64(n))/sd
	t.Logf("%s on the tiles vs float32 kernels: rms/std %.4f, greedy %d/%d; vs the float32 model: rms/std %.4f, greedy %d/%d",
		filepath.Base(qfile), tr.rms, tr.agree, tr.rows, tr.rmsRef, tr.agreeRef, tr.rows)
	return tr
}
