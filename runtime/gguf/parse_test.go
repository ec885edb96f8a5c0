package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
)

// builder writes GGUF files for the tests, field by field, so each
// corruption can be made at its exact place.
type builder struct {
	version    uint32
	kv         [][]byte // encoded key, type, value
	tensors    []tb
	align      uint64
	nTensorsAs uint64 // when non-zero, the tensor count written
	nKVAs      uint64
}

type tb struct {
	name   string
	dims   []uint64
	typ    GGMLType
	offset uint64
	data   []byte
}

func le(v any) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, v)
	return b.Bytes()
}

func gstr(s string) []byte { return append(le(uint64(len(s))), s...) }

func (b *builder) kvU32(k string, v uint32) *builder {
	b.kv = append(b.kv, bytes.Join([][]byte{gstr(k), le(uint32(TypeUint32)), le(v)}, nil))
	return b
}

func (b *builder) kvStr(k, v string) *builder {
	b.kv = append(b.kv, bytes.Join([][]byte{gstr(k), le(uint32(TypeString)), gstr(v)}, nil))
	return b
}

func (b *builder) kvRaw(raw []byte) *builder { b.kv = append(b.kv, raw); return b }

// tensor adds a tensor placed after the previous one (aligned).
func (b *builder) tensor(name string, typ GGMLType, data []byte, dims ...uint64) *builder {
	var off uint64
	if n := len(b.tensors); n > 0 {
		p := b.tensors[n-1]
		off = (p.offset + uint64(len(p.data)) + 31) / 32 * 32
	}
	b.tensors = append(b.tensors, tb{name, dims, typ, off, data})
	return b
}

func (b *builder) bytes() []byte {
	var out []byte
	out = append(out, Magic...)
	v := b.version
	if v == 0 {
		v = 3
	}
	out = append(out, le(v)...)
	nt, nk := uint64(len(b.tensors)), uint64(len(b.kv))
	if b.nTensorsAs != 0 {
		nt = b.nTensorsAs
	}
	if b.nKVAs != 0 {
		nk = b.nKVAs
	}
	out = append(out, le(nt)...)
	out = append(out, le(nk)...)
	for _, kv := range b.kv {
		out = append(out, kv...)
	}
	for _, t := range b.tensors {
		out = append(out, gstr(t.name)...)
		out = append(out, le(uint32(len(t.dims)))...)
		for _, d := range t.dims {
			out = append(out, le(d)...)
		}
		out = append(out, le(uint32(t.typ))...)
		out = append(out, le(t.offset)...)
	}
	align := b.align
	if align == 0 {
		align = 32
	}
	for uint64(len(out))%align != 0 {
		out = append(out, 0)
	}
	start := len(out)
	for _, t := range b.tensors {
		for uint64(len(out)-start) < t.offset && t.offset < 1<<20 {
			out = append(out, 0)
		}
		out = append(out, t.data...)
	}
	return out
}

func f32s(v ...float32) []byte { return le(v) }

// sampleFile is a small valid file: metadata of several types, an F32
// matrix, a BF16 vector and a Q8_0 row.
func sampleBuilder() *builder {
	b := &builder{}
	b.kvStr("general.architecture", "dream").kvU32("dream.block_count", 1)
	b.kvRaw(bytes.Join([][]byte{gstr("tokenizer.ggml.tokens"), le(uint32(TypeArray)), le(uint32(TypeString)), le(uint64(2)), gstr("a"), gstr("b")}, nil))
	b.kvRaw(bytes.Join([][]byte{gstr("tokenizer.ggml.token_type"), le(uint32(TypeArray)), le(uint32(TypeInt32)), le(uint64(2)), le(int32(1)), le(int32(3))}, nil))
	b.kvRaw(bytes.Join([][]byte{gstr("dream.rope.freq_base"), le(uint32(TypeFloat32)), le(float32(1e6))}, nil))
	b.kvRaw(bytes.Join([][]byte{gstr("dream.attention.causal"), le(uint32(TypeBool)), {0}}, nil))
	b.tensor("m", GGMLF32, f32s(1, 2, 3, 4, 5, 6), 3, 2)
	b.tensor("v", GGMLBF16, le([]uint16{0x3f80, 0x4000}), 2)
	b.tensor("q", GGMLQ8_0, make([]byte, 34), 32)
	return b
}

func TestParseSample(t *testing.T) {
	data := sampleBuilder().bytes()
	f, err := Parse("sample.gguf", data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 || len(f.Tensors) != 3 || len(f.KV) != 6 {
		t.Fatalf("version %d, %d tensors, %d keys", f.Version, len(f.Tensors), len(f.KV))
	}
	if s, _ := f.String("general.architecture"); s != "dream" {
		t.Fatalf("architecture %q", s)
	}
	if toks := f.KV["tokenizer.ggml.tokens"].V.([]string); strings.Join(toks, ",") != "a,b" {
		t.Fatalf("tokens %v", toks)
	}
	if tt := f.KV["tokenizer.ggml.token_type"].V.([]int64); tt[1] != 3 {
		t.Fatalf("token types %v", tt)
	}
	if x, _ := f.KV["dream.rope.freq_base"].Float(); x != 1e6 {
		t.Fatalf("freq_base %v", x)
	}
	m, _ := f.Tensor("m")
	if m.Size != 24 || math.Float32frombits(binary.LittleEndian.Uint32(m.Data[20:])) != 6 {
		t.Fatalf("m: size %d data %v", m.Size, m.Data)
	}
	if q, _ := f.Tensor("q"); q.Size != 34 || q.Offset%32 != 0 {
		t.Fatalf("q: size %d offset %d", q.Size, q.Offset)
	}
}

// corruptions lists every malformation the parser must name, each as a
// whole file; the fuzz target starts from them too.
func corruptions() map[string][]byte {
	good := sampleBuilder().bytes()
	c := map[string][]byte{
		"empty":              {},
		"truncated magic":    good[:3],
		"bad magic":          append([]byte("GGUG"), good[4:]...),
		"truncated counts":   good[:12],
		"truncated metadata": good[:60],
		"truncated tensor infos": func() []byte {
			f, _ := Parse("", good)
			return good[:f.DataStart-40]
		}(),
		"truncated data": good[:len(good)-10],
	}
	v := sampleBuilder()
	v.version = 1
	c["version 1"] = v.bytes()
	v.version = 4
	c["version 4"] = v.bytes()
	b := sampleBuilder()
	b.nTensorsAs = 1 << 40
	c["tensor count too large"] = b.bytes()
	b = sampleBuilder()
	b.nKVAs = 1 << 40
	c["metadata count too large"] = b.bytes()
	b = sampleBuilder()
	b.nKVAs = 7 // one more than present: reads tensor infos as metadata
	c["metadata count past the keys"] = b.bytes()
	b = sampleBuilder().kvRaw(bytes.Join([][]byte{le(uint64(1 << 62)), []byte("k")}, nil))
	c["string length too large"] = b.bytes()
	b = sampleBuilder().kvRaw(bytes.Join([][]byte{gstr("big"), le(uint32(TypeArray)), le(uint32(TypeUint32)), le(uint64(1 << 40))}, nil))
	c["array count too large"] = b.bytes()
	b = sampleBuilder().kvRaw(bytes.Join([][]byte{gstr("odd"), le(uint32(13)), le(uint32(0))}, nil))
	c["unknown value type"] = b.bytes()
	b = sampleBuilder().kvRaw(bytes.Join([][]byte{gstr("arr"), le(uint32(TypeArray)), le(uint32(99)), le(uint64(1))}, nil))
	c["unknown array element type"] = b.bytes()
	b = sampleBuilder().kvRaw(bytes.Join([][]byte{gstr("flag"), le(uint32(TypeBool)), {7}}, nil))
	c["bool out of range"] = b.bytes()
	b = sampleBuilder().kvStr("general.architecture", "again")
	c["duplicate key"] = b.bytes()
	b = sampleBuilder().kvRaw(bytes.Join([][]byte{gstr("bad"), le(uint32(TypeString)), gstr("\xff\xfe")}, nil))
	c["invalid UTF-8"] = b.bytes()
	b = sampleBuilder().kvU32("general.alignment", 24)
	c["alignment not a power of two"] = b.bytes()
	b = sampleBuilder().kvU32("general.alignment", 0)
	c["alignment zero"] = b.bytes()
	b = sampleBuilder()
	b.tensors[1].offset += 2
	c["offset not aligned"] = b.bytes()
	b = sampleBuilder()
	b.tensors[2].offset = 1 << 30
	c["offset past the end"] = b.bytes()
	b = sampleBuilder()
	b.tensors[1].offset = 0
	c["overlapping tensors"] = b.bytes()
	b = sampleBuilder()
	b.tensors[0].typ = 99
	c["unknown tensor type"] = b.bytes()
	b = sampleBuilder()
	b.tensors[0].dims = nil
	c["rank 0"] = b.bytes()
	b = sampleBuilder()
	b.tensors[0].dims = []uint64{1, 1, 1, 1, 6}
	c["rank 5"] = b.bytes()
	b = sampleBuilder()
	b.tensors[0].dims = []uint64{6, 0}
	c["zero dimension"] = b.bytes()
	b = sampleBuilder()
	b.tensors[0].dims = []uint64{1 << 40, 1 << 40}
	c["element count overflow"] = b.bytes()
	b = sampleBuilder()
	b.tensors[2].dims = []uint64{16}
	c["row not a multiple of the block"] = b.bytes()
	b = sampleBuilder()
	b.tensors[1].name = "m"
	c["duplicate tensor"] = b.bytes()
	return c
}

func TestParseCorrupt(t *testing.T) {
	c := corruptions()
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("bad.gguf", c[name])
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "bad.gguf") {
				t.Fatalf("error %v: want ErrCorrupt naming the file", err)
			}
			t.Log(err)
		})
	}
}

// FuzzGGUFHeader feeds arbitrary bytes to Parse: it must never panic,
// must classify every failure as ErrCorrupt, and whatever it accepts must
// lie inside the file, aligned and without overlaps.
// tokenizerBuilder is a file with a three-token BPE tokenizer (a, b, ab),
// the special <|mask|> and the given merges.
func tokenizerBuilder(merges ...string) *builder {
	b := &builder{}
	b.kvStr("general.architecture", "dream").kvStr("tokenizer.ggml.model", "gpt2").kvStr("tokenizer.ggml.pre", "qwen2")
	b.kvRaw(bytes.Join([][]byte{gstr("tokenizer.ggml.tokens"), le(uint32(TypeArray)), le(uint32(TypeString)), le(uint64(4)), gstr("a"), gstr("b"), gstr("ab"), gstr("<|mask|>")}, nil))
	b.kvRaw(bytes.Join([][]byte{gstr("tokenizer.ggml.token_type"), le(uint32(TypeArray)), le(uint32(TypeInt32)), le(uint64(4)), le(int32(1)), le(int32(1)), le(int32(1)), le(int32(3))}, nil))
	m := [][]byte{gstr("tokenizer.ggml.merges"), le(uint32(TypeArray)), le(uint32(TypeString)), le(uint64(len(merges)))}
	for _, x := range merges {
		m = append(m, gstr(x))
	}
	b.kvRaw(bytes.Join(m, nil))
	return b
}

// TestEmbeddedTokenizer: the tokenizer built from the arrays merges,
// knows its special token, and refuses a malformed merge.
func TestEmbeddedTokenizer(t *testing.T) {
	f, err := Parse("tok.gguf", tokenizerBuilder("a b").bytes())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.EncodeSpecial("abba<|mask|>"); !slices.Equal(got, []int{2, 1, 0, 3}) {
		t.Errorf("EncodeSpecial(abba<|mask|>) = %v, want [2 1 0 3]", got)
	}
	if !tok.IsSpecial(3) {
		t.Error("<|mask|> (control) is not special")
	}
	for _, bad := range []string{"ab", "a  b", "a b c", " a", "a\tb"} {
		f, err := Parse("tok.gguf", tokenizerBuilder(bad).bytes())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Tokenizer(); !errors.Is(err, ErrCorrupt) {
			t.Errorf("merge %q: err = %v, want ErrCorrupt", bad, err)
		}
	}
}

func FuzzGGUFHeader(f *testing.F) {
	f.Add(sampleBuilder().bytes())
	for _, data := range corruptions() {
		f.Add(data)
	}
	f.Add(tokenizerBuilder("a b").bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse("fuzz.gguf", data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		// The embedded tokenizer and the config are read from the same
		// untrusted metadata: they must fail with an error, not a panic.
		if tk, err := g.Tokenizer(); err == nil && tk != nil {
			tk.Decode(tk.EncodeSpecial("ab<|mask|>ba\xff"))
		} else if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) && !strings.Contains(err.Error(), "embedded tokenizer") {
			t.Fatalf("unclassified tokenizer error: %v", err)
		}
		g.DreamConfig()
		type span struct{ b, e uint64 }
		var spans []span
		for _, tt := range g.Tensors {
			b := g.DataStart + tt.Offset
			if tt.Offset%g.Alignment != 0 || b+tt.Size > uint64(len(data)) || uint64(len(tt.Data)) != tt.Size {
				t.Fatalf("tensor %q: [%d,+%d) of %d bytes", tt.Name, b, tt.Size, len(data))
			}
			spans = append(spans, span{b, b + tt.Size})
		}
		sort.Slice(spans, func(i, j int) bool { return spans[i].b < spans[j].b })
		for i := 1; i < len(spans); i++ {
			if spans[i].b < spans[i-1].e {
				t.Fatalf("overlap %v %v", spans[i-1], spans[i])
			}
		}
	})
}
