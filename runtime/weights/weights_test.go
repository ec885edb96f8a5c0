package weights

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/internal/testenv"
)

func TestOpenSingleRoundTrip(t *testing.T) {
	dir := t.TempDir()
	ts := sample()
	writeFile(t, dir, SingleFile, encode(t, ts, map[string]string{"format": "pt"}))
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var names []string
	for _, tt := range c.Tensors() {
		names = append(names, tt.Name)
		if tt.File != SingleFile {
			t.Errorf("%s: File = %q, want %q", tt.Name, tt.File, SingleFile)
		}
	}
	if !slices.IsSorted(names) || len(names) != len(ts) {
		t.Fatalf("Tensors() names = %v, want %d sorted names", names, len(ts))
	}
	want := map[string][]float32{
		"a.bf16":   {1, -2, 0.5, 3.25, -0.125, 100},
		"b.f16":    {1, -2, 0.5, 65504},
		"c.f32":    {1.5, -2.25, 3e-8, 7},
		"d.scalar": {42},
	}
	for _, in := range ts {
		got, err := c.Float32(in.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want[in.Name]) {
			t.Errorf("Float32(%s) = %v, want %v", in.Name, got, want[in.Name])
		}
		raw, err := c.Raw(in.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(raw, in.Data) {
			t.Errorf("Raw(%s) differs from the written bytes", in.Name)
		}
		tt, ok := c.Tensor(in.Name)
		if !ok || tt.DType != in.DType || !slices.Equal(tt.Shape, in.Shape) {
			t.Errorf("Tensor(%s) = %v, want %s%v", in.Name, tt, in.DType, in.Shape)
		}
		// Offset/Size locate the bytes in the file for direct uploads.
		file, _ := os.ReadFile(filepath.Join(dir, SingleFile))
		if !bytes.Equal(file[tt.Offset:tt.Offset+tt.Size], in.Data) {
			t.Errorf("%s: Offset/Size do not locate the data", in.Name)
		}
	}
	if md := c.Metadata(SingleFile); md["format"] != "pt" {
		t.Errorf("Metadata = %v", md)
	}
	dst := make([]float32, 3)
	if err := c.Float32Into("a.bf16", dst); err == nil {
		t.Error("Float32Into with a short destination: want error")
	}
	if _, err := c.Float32("nope"); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Float32(missing) = %v, want ErrNotExist naming it", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Float32("a.bf16"); !errors.Is(err, ErrClosed) {
		t.Errorf("Float32 after Close = %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := Open(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), SingleFile) {
		t.Fatalf("Open(empty dir) = %v, want ErrNotExist naming %s", err, SingleFile)
	}
}

// TestCorruptSingle covers every way a single file can be malformed. Each
// case must give an error naming the file and, where one is involved, the
// tensor, and must not panic.
func TestCorruptSingle(t *testing.T) {
	good := encode(t, sample(), nil)
	bf := FromFloat32(BF16, []float32{1, 2, 3, 4})
	cases := []struct {
		name   string
		data   []byte
		tensor string // "" when no tensor is involved
		reason string // a fragment of the message
		unsupp bool   // ErrUnsupported instead of ErrCorrupt
	}{
		{name: "empty file", data: nil, reason: "too short"},
		{name: "shorter than length field", data: []byte{1, 2, 3}, reason: "too short"},
		{name: "header length past end", data: rawFileJSON([]byte(`{}`), nil)[:9], reason: "past the end"},
		{name: "header length huge", data: append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, good[8:]...), reason: "past the end"},
		{name: "truncated shard", data: good[:len(good)-3], tensor: "d.scalar", reason: "out of range"},
		{name: "truncated mid-data", data: good[:len(good)-20], tensor: "c.f32", reason: "out of range"},
		{name: "invalid JSON", data: rawFileJSON([]byte(`{"a": `), nil), reason: "invalid"},
		{name: "header not an object", data: rawFileJSON([]byte(`[1,2]`), nil), reason: "want an object"},
		{name: "trailing garbage", data: rawFileJSON([]byte(`{} x`), nil), reason: "trailing"},
		{name: "duplicate tensor", data: rawFileJSON([]byte(`{"w":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]},"w":{"dtype":"BF16","shape":[1],"data_offsets":[2,4]}}`), bf), tensor: "w", reason: "duplicate"},
		{name: "out-of-range offsets", data: rawFile(t, map[string]any{"w": info("BF16", []int{4}, 0, 8), "x": info("BF16", []int{2}, 8, 12)}, bf), tensor: "x", reason: "out of range"},
		{name: "overlapping offsets", data: rawFile(t, map[string]any{"w": info("BF16", []int{3}, 0, 6), "x": info("BF16", []int{2}, 4, 8)}, bf), tensor: "x", reason: "overlap"},
		{name: "end before begin", data: rawFile(t, map[string]any{"w": info("BF16", []int{0}, 6, 4)}, bf), tensor: "w", reason: "end before"},
		{name: "size disagrees with shape", data: rawFile(t, map[string]any{"w": info("BF16", []int{3}, 0, 8)}, bf), tensor: "w", reason: "needs 6"},
		{name: "size disagrees with dtype", data: rawFile(t, map[string]any{"w": info("F32", []int{4}, 0, 8)}, bf), tensor: "w", reason: "needs 16"},
		{name: "unknown dtype", data: rawFile(t, map[string]any{"w": info("Q4_K", []int{4}, 0, 8)}, bf), tensor: "w", reason: "unknown dtype"},
		{name: "unsupported dtype", data: rawFile(t, map[string]any{"w": info("I64", []int{1}, 0, 8)}, bf), tensor: "w", unsupp: true},
		{name: "missing dtype", data: rawFile(t, map[string]any{"w": map[string]any{"shape": []int{4}, "data_offsets": []int{0, 8}}}, bf), tensor: "w", reason: "missing dtype"},
		{name: "missing shape", data: rawFile(t, map[string]any{"w": map[string]any{"dtype": "BF16", "data_offsets": []int{0, 8}}}, bf), tensor: "w", reason: "missing shape"},
		{name: "negative dim", data: rawFileJSON([]byte(`{"w":{"dtype":"BF16","shape":[-4],"data_offsets":[0,8]}}`), bf), tensor: "w", reason: "not a dimension"},
		{name: "fractional dim", data: rawFileJSON([]byte(`{"w":{"dtype":"BF16","shape":[2.5],"data_offsets":[0,8]}}`), bf), tensor: "w", reason: "not a dimension"},
		{name: "overflowing shape", data: rawFileJSON([]byte(`{"w":{"dtype":"BF16","shape":[1099511627776,1099511627776],"data_offsets":[0,8]}}`), bf), tensor: "w", reason: "needs"},
		{name: "three offsets", data: rawFileJSON([]byte(`{"w":{"dtype":"BF16","shape":[4],"data_offsets":[0,4,8]}}`), bf), tensor: "w", reason: "data_offsets"},
		{name: "negative offset", data: rawFileJSON([]byte(`{"w":{"dtype":"BF16","shape":[4],"data_offsets":[-8,0]}}`), bf), tensor: "w", reason: "not byte offsets"},
		{name: "entry not an object", data: rawFileJSON([]byte(`{"w":5}`), bf), tensor: "w", reason: "invalid header entry"},
		{name: "metadata not strings", data: rawFileJSON([]byte(`{"__metadata__":{"format":1}}`), nil), reason: "not a string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeFile(t, dir, SingleFile, tc.data)
			c, err := Open(dir)
			if err == nil {
				c.Close()
				t.Fatal("Open succeeded on a corrupt file")
			}
			if tc.unsupp {
				if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.tensor) {
					t.Fatalf("err = %v, want ErrUnsupported naming %s and %q", err, path, tc.tensor)
				}
				return
			}
			names := []string{path, tc.reason}
			if tc.tensor != "" {
				names = append(names, `"`+tc.tensor+`"`)
			}
			wantCorrupt(t, err, names...)
			// The same bytes through ParseHeader and OpenFS give the same class.
			if _, _, err := ParseHeader("x.safetensors", tc.data); !errors.Is(err, ErrCorrupt) {
				t.Errorf("ParseHeader: %v, want ErrCorrupt", err)
			}
			_, err = OpenFS(fstest.MapFS{SingleFile: {Data: tc.data}})
			wantCorrupt(t, err, SingleFile)
		})
	}
}

func TestZeroSizedTensors(t *testing.T) {
	// Empty tensors may share an offset with a real one without overlapping.
	data := rawFile(t, map[string]any{
		"e": info("F32", []int{0, 3}, 0, 0),
		"w": info("BF16", []int{2}, 0, 4),
	}, FromFloat32(BF16, []float32{1, 2}))
	ts, _, err := ParseHeader("z", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].Name != "e" || ts[0].NumElements() != 0 {
		t.Fatalf("tensors = %v", ts)
	}
}

// shardedDir writes two shards and an index, returning the dir.
func shardedDir(t *testing.T) (string, map[string]string) {
	dir := t.TempDir()
	ts := sample()
	writeFile(t, dir, "s-1.safetensors", encode(t, ts[:2], nil))
	writeFile(t, dir, "s-2.safetensors", encode(t, ts[2:], nil))
	wm := map[string]string{
		"a.bf16": "s-1.safetensors", "b.f16": "s-1.safetensors",
		"c.f32": "s-2.safetensors", "d.scalar": "s-2.safetensors",
	}
	writeIndex(t, dir, wm, 12+8+16+4)
	return dir, wm
}

func TestOpenSharded(t *testing.T) {
	dir, wm := shardedDir(t)
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Files(); !slices.Equal(got, []string{"s-1.safetensors", "s-2.safetensors"}) {
		t.Errorf("Files() = %v", got)
	}
	for _, tt := range c.Tensors() {
		if tt.File != wm[tt.Name] {
			t.Errorf("%s: File = %s, want %s", tt.Name, tt.File, wm[tt.Name])
		}
	}
	if c.Index() == nil || c.Index().TotalSize != 40 || c.TotalBytes() != 40 {
		t.Errorf("index total %v, TotalBytes %d, want 40", c.Index(), c.TotalBytes())
	}
	got, err := c.Float32("c.f32")
	if err != nil || got[0] != 1.5 {
		t.Fatalf("Float32(c.f32) = %v, %v", got, err)
	}
	// The same directory through OpenFS.
	cf, err := OpenFS(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer cf.Close()
	if len(cf.Tensors()) != len(c.Tensors()) {
		t.Errorf("OpenFS: %d tensors, Open: %d", len(cf.Tensors()), len(c.Tensors()))
	}
}

func TestCorruptSharded(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(t *testing.T, dir string, wm map[string]string)
		file   string
		tensor string
		reason string
	}{
		{
			name:   "missing shard",
			mutate: func(t *testing.T, dir string, _ map[string]string) { os.Remove(filepath.Join(dir, "s-2.safetensors")) },
			file:   "s-2.safetensors", reason: "missing",
		},
		{
			name: "tensor in index but not in shard",
			mutate: func(t *testing.T, dir string, wm map[string]string) {
				wm["z.extra"] = "s-2.safetensors"
				writeIndex(t, dir, wm, 0)
			},
			file: "s-2.safetensors", tensor: "z.extra", reason: "not stored",
		},
		{
			name: "tensor in shard but not in index",
			mutate: func(t *testing.T, dir string, wm map[string]string) {
				delete(wm, "c.f32")
				writeIndex(t, dir, wm, 0)
			},
			file: "s-2.safetensors", tensor: "c.f32", reason: "not listed",
		},
		{
			name: "index names the wrong shard",
			mutate: func(t *testing.T, dir string, wm map[string]string) {
				wm["c.f32"] = "s-1.safetensors"
				writeIndex(t, dir, wm, 0)
			},
			file: "s-2.safetensors", tensor: "c.f32", reason: "puts it in s-1.safetensors",
		},
		{
			name: "duplicate across shards",
			mutate: func(t *testing.T, dir string, _ map[string]string) {
				writeFile(t, dir, "s-2.safetensors", encode(t, append(sample()[2:], sample()[0]), nil))
			},
			file: "s-2.safetensors", tensor: "a.bf16", reason: "also stored in s-1.safetensors",
		},
		{
			name: "truncated second shard",
			mutate: func(t *testing.T, dir string, _ map[string]string) {
				p := filepath.Join(dir, "s-2.safetensors")
				b, _ := os.ReadFile(p)
				writeFile(t, dir, "s-2.safetensors", b[:len(b)-1])
			},
			file: "s-2.safetensors", tensor: "d.scalar", reason: "out of range",
		},
		{
			name: "shard path escapes the directory",
			mutate: func(t *testing.T, dir string, wm map[string]string) {
				wm["c.f32"] = "../s-2.safetensors"
				writeIndex(t, dir, wm, 0)
			},
			file: IndexFile, tensor: "c.f32", reason: "not a file name",
		},
		{
			name: "invalid index JSON",
			mutate: func(t *testing.T, dir string, _ map[string]string) {
				writeFile(t, dir, IndexFile, []byte(`{"weight_map": [`))
			},
			file: IndexFile, reason: "invalid index JSON",
		},
		{
			name: "empty index",
			mutate: func(t *testing.T, dir string, _ map[string]string) {
				writeFile(t, dir, IndexFile, []byte(`{"metadata": {}, "weight_map": {}}`))
			},
			file: IndexFile, reason: "no weight_map",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, wm := shardedDir(t)
			tc.mutate(t, dir, wm)
			c, err := Open(dir)
			if err == nil {
				c.Close()
				t.Fatal("Open succeeded")
			}
			names := []string{filepath.Join(dir, tc.file), tc.reason}
			if tc.tensor != "" {
				names = append(names, `"`+tc.tensor+`"`)
			}
			wantCorrupt(t, err, names...)
			_, err = OpenFS(os.DirFS(dir))
			wantCorrupt(t, err, tc.file, tc.reason)
		})
	}
}

func TestMissingShardIsNotExist(t *testing.T) {
	dir, _ := shardedDir(t)
	os.Remove(filepath.Join(dir, "s-1.safetensors"))
	os.Remove(filepath.Join(dir, "s-2.safetensors"))
	_, err := Open(dir)
	wantCorrupt(t, err, "s-1.safetensors", "s-2.safetensors")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", err)
	}
}

func TestHFCacheLayout(t *testing.T) {
	root := t.TempDir()
	blobs := filepath.Join(root, "blobs")
	snap := filepath.Join(root, "snapshots", "0123abcd")
	for _, d := range []string{blobs, snap, filepath.Join(root, "refs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, blobs, "e3b0c442", encode(t, sample(), nil))
	if err := os.Symlink(filepath.Join("..", "..", "blobs", "e3b0c442"), filepath.Join(snap, SingleFile)); err != nil {
		testenv.Missingf(t, "symlinks not available: %v", err)
	}
	writeFile(t, filepath.Join(root, "refs"), "main", []byte("0123abcd\n"))
	for _, dir := range []string{snap, root} {
		c, err := Open(dir)
		if err != nil {
			t.Fatalf("Open(%s): %v", dir, err)
		}
		if len(c.Tensors()) != len(sample()) {
			t.Errorf("Open(%s): %d tensors", dir, len(c.Tensors()))
		}
		c.Close()
	}
}

func TestF16Exhaustive(t *testing.T) {
	for h := range 1 << 16 {
		got := F16ToFloat32(uint16(h))
		if tab := f16Table()[h]; math.Float32bits(tab) != math.Float32bits(got) {
			t.Fatalf("f16Table[%#04x] = %v, F16ToFloat32 = %v", h, tab, got)
		}
		sign := 1.0
		if h&0x8000 != 0 {
			sign = -1
		}
		e, m := (h>>10)&0x1f, h&0x3ff
		var want float64
		switch {
		case e == 0x1f && m != 0:
			if !math.IsNaN(float64(got)) {
				t.Fatalf("F16ToFloat32(%#04x) = %v, want NaN", h, got)
			}
			continue
		case e == 0x1f:
			want = math.Inf(int(sign))
		case e == 0:
			want = sign * math.Ldexp(float64(m), -24)
		default:
			want = sign * math.Ldexp(1+float64(m)/1024, e-15)
		}
		if float64(got) != want || math.Signbit(float64(got)) != (sign < 0) {
			t.Fatalf("F16ToFloat32(%#04x) = %v, want %v", h, got, want)
		}
		if back := Float32ToF16(got); back != uint16(h) {
			t.Fatalf("Float32ToF16(F16ToFloat32(%#04x)) = %#04x", h, back)
		}
	}
}

func TestRoundingToHalfTypes(t *testing.T) {
	cases := []struct {
		in   float32
		f16  uint16
		bf16 uint16
	}{
		{1, 0x3c00, 0x3f80},
		{65520, 0x7c00, 0x4780},                         // rounds up to Inf in F16
		{1 + 1.0/2048, 0x3c00, 0x3f80},                  // tie to even
		{1 + 3.0/2048, 0x3c02, 0x3f80},                  // tie to even (up)
		{float32(math.Ldexp(1, -25)), 0x0000, 0x3300},   // tie to zero
		{float32(math.Ldexp(1.5, -25)), 0x0001, 0x3340}, // above the tie
		{float32(math.Inf(-1)), 0xfc00, 0xff80},
	}
	for _, tc := range cases {
		if got := Float32ToF16(tc.in); got != tc.f16 {
			t.Errorf("Float32ToF16(%v) = %#04x, want %#04x", tc.in, got, tc.f16)
		}
		if got := Float32ToBF16(tc.in); got != tc.bf16 {
			t.Errorf("Float32ToBF16(%v) = %#04x, want %#04x", tc.in, got, tc.bf16)
		}
	}
	if !math.IsNaN(float64(BF16ToFloat32(Float32ToBF16(float32(math.NaN()))))) {
		t.Error("BF16 NaN round trip lost the NaN")
	}
}

func TestParallelConversion(t *testing.T) {
	n := parallelMin + 12345
	vals := make([]float32, n)
	for i := range vals {
		vals[i] = float32(i%256) - 128
	}
	dir := t.TempDir()
	writeFile(t, dir, SingleFile, encode(t, []TensorData{{Name: "big", DType: BF16, Shape: []int{n}, Data: FromFloat32(BF16, vals)}}, nil))
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.Float32("big")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, vals) {
		t.Fatal("parallel BF16 conversion differs from the input")
	}
}

func TestWriteRejects(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, []TensorData{{Name: "w", DType: BF16, Shape: []int{3}, Data: make([]byte, 4)}}, nil); err == nil {
		t.Error("Write with wrong data size: want error")
	}
	if err := Write(&buf, []TensorData{{Name: "w", DType: "I8", Shape: []int{1}, Data: make([]byte, 1)}}, nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Write I8 = %v, want ErrUnsupported", err)
	}
}

// TestGoldenModels opens the tiny golden checkpoints (one of them sharded).
func TestGoldenModels(t *testing.T) {
	cases := []struct {
		name    string
		files   int
		tensors int
		bytes   int64
	}{
		{"tiny-gqa", 1, 3*12 + 3, 336512},
		{"tiny-mha-sharded", 3, 2*12 + 3, 641088},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := sharedpath.Path(t, "golden", "models", tc.name)
			c, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if len(c.Files()) != tc.files || len(c.Tensors()) != tc.tensors || c.TotalBytes() != tc.bytes {
				t.Fatalf("files %d tensors %d bytes %d, want %d %d %d",
					len(c.Files()), len(c.Tensors()), c.TotalBytes(), tc.files, tc.tensors, tc.bytes)
			}
			if ix := c.Index(); ix != nil && ix.TotalSize != tc.bytes {
				t.Errorf("index total_size %d, want %d", ix.TotalSize, tc.bytes)
			}
			for _, tt := range c.Tensors() {
				if tt.DType != BF16 {
					t.Errorf("%s: dtype %s, want BF16", tt.Name, tt.DType)
				}
				v, err := c.Float32(tt.Name)
				if err != nil {
					t.Fatal(err)
				}
				for i, x := range v {
					if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
						t.Fatalf("%s[%d] = %v", tt.Name, i, x)
					}
				}
			}
		})
	}
}

// TestNoMappingLeft checks on Linux that Close and a failed Open leave no
// mapping of the file behind.
func TestNoMappingLeft(t *testing.T) {
	if _, err := os.Stat("/proc/self/maps"); err != nil {
		testenv.Missing(t, "no /proc/self/maps on this system")
	}
	mapped := func(path string) bool {
		b, err := os.ReadFile("/proc/self/maps")
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Contains(b, []byte(path))
	}
	dir := t.TempDir()
	good := encode(t, sample(), nil)
	path := writeFile(t, dir, SingleFile, good)
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !mapped(path) {
		t.Fatalf("%s is not mapped while open", path)
	}
	c.Close()
	if mapped(path) {
		t.Errorf("%s still mapped after Close", path)
	}
	writeFile(t, dir, SingleFile, good[:len(good)-1])
	if _, err := Open(dir); err == nil {
		t.Fatal("Open of a truncated file succeeded")
	}
	if mapped(path) {
		t.Errorf("%s still mapped after a failed Open", path)
	}
	sdir, _ := shardedDir(t)
	os.Remove(filepath.Join(sdir, "s-2.safetensors"))
	if _, err := Open(sdir); err == nil {
		t.Fatal("Open with a missing shard succeeded")
	}
	if mapped(filepath.Join(sdir, "s-1.safetensors")) {
		t.Errorf("s-1 still mapped after a failed sharded Open")
	}
}
