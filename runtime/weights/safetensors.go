package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"sort"
	"strconv"
)

// MaxHeaderSize bounds the JSON header of a safetensors file (the same
// limit as the reference implementation).
const MaxHeaderSize = 100 << 20

// maxDimension bounds one dimension of a tensor shape.
const maxDimension = 1 << 40

// MetadataKey is the reserved header key holding string metadata.
const MetadataKey = "__metadata__"

// rawInfo is one tensor entry of a safetensors header. Pointers tell a
// missing key from an empty one.
type rawInfo struct {
	DType       *string        `json:"dtype"`
	Shape       *[]json.Number `json:"shape"`
	DataOffsets *[]json.Number `json:"data_offsets"`
}

// parseSafetensors validates a whole safetensors file held in data and
// returns its tensors (sorted by name, their data slicing data) and the
// header's __metadata__. file names the file in error messages. It never
// panics, whatever data holds.
func parseSafetensors(file string, data []byte) ([]*Tensor, map[string]string, error) {
	if len(data) < 8 {
		return nil, nil, corrupt(file, "", "file is %d bytes, too short for the 8-byte header length (truncated?)", len(data))
	}
	n := binary.LittleEndian.Uint64(data[:8])
	rest := uint64(len(data) - 8)
	if n > rest {
		return nil, nil, corrupt(file, "", "header length %d past the end of the file (%d bytes after the length field; truncated?)", n, rest)
	}
	if n > MaxHeaderSize {
		return nil, nil, corrupt(file, "", "header length %d exceeds the %d-byte limit", n, MaxHeaderSize)
	}
	if n < 2 {
		return nil, nil, corrupt(file, "", "header length %d is too short for a JSON object", n)
	}
	hdr := data[8 : 8+n]
	body := data[8+n:]
	infos, meta, order, err := decodeHeader(file, hdr)
	if err != nil {
		return nil, nil, err
	}
	tensors := make([]*Tensor, 0, len(infos))
	for _, name := range order {
		t, err := checkInfo(file, name, infos[name], body, int64(8+n))
		if err != nil {
			return nil, nil, err
		}
		tensors = append(tensors, t)
	}
	if err := checkOverlap(file, tensors); err != nil {
		return nil, nil, err
	}
	sort.Slice(tensors, func(i, j int) bool { return tensors[i].Name < tensors[j].Name })
	return tensors, meta, nil
}

// decodeHeader parses the JSON header, rejecting anything but one object
// whose keys are unique.
func decodeHeader(file string, hdr []byte) (map[string]rawInfo, map[string]string, []string, error) {
	bad := func(err error, what string) error {
		return corruptWrap(file, "", err, "invalid JSON header: %s", what)
	}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, nil, bad(err, "cannot read")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, nil, bad(nil, fmt.Sprintf("starts with %v, want an object", tok))
	}
	infos := map[string]rawInfo{}
	var meta map[string]string
	var order []string
	seenMeta := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, nil, bad(err, "cannot read a key")
		}
		key, ok := tok.(string)
		if !ok {
			return nil, nil, nil, bad(nil, fmt.Sprintf("key %v is not a string", tok))
		}
		if key == MetadataKey {
			if seenMeta {
				return nil, nil, nil, corrupt(file, "", "duplicate %s in header", MetadataKey)
			}
			seenMeta = true
			var raw map[string]any
			if err := dec.Decode(&raw); err != nil {
				return nil, nil, nil, bad(err, MetadataKey+" is not an object")
			}
			meta = make(map[string]string, len(raw))
			for k, v := range raw {
				s, ok := v.(string)
				if !ok {
					return nil, nil, nil, corrupt(file, "", "%s[%q] is not a string", MetadataKey, k)
				}
				meta[k] = s
			}
			continue
		}
		if _, dup := infos[key]; dup {
			return nil, nil, nil, corrupt(file, key, "duplicate tensor name in header")
		}
		var info rawInfo
		if err := dec.Decode(&info); err != nil {
			return nil, nil, nil, corruptWrap(file, key, err, "invalid header entry")
		}
		infos[key] = info
		order = append(order, key)
	}
	tok, err = dec.Token()
	if err != nil {
		return nil, nil, nil, bad(err, "unterminated object")
	}
	if d, ok := tok.(json.Delim); !ok || d != '}' {
		return nil, nil, nil, bad(nil, "unterminated object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, nil, bad(err, "trailing data after the object")
	}
	return infos, meta, order, nil
}

// parseUint reads a JSON number that must be a non-negative integer no
// larger than max.
func parseUint(n json.Number, max uint64) (uint64, bool) {
	v, err := strconv.ParseUint(n.String(), 10, 64)
	if err != nil || v > max {
		return 0, false
	}
	return v, true
}

// checkInfo validates one header entry against the data section (body,
// which starts at byte base of the file) and builds its Tensor.
func checkInfo(file, name string, info rawInfo, body []byte, base int64) (*Tensor, error) {
	if name == "" {
		return nil, corrupt(file, name, "empty tensor name")
	}
	if info.DType == nil {
		return nil, corrupt(file, name, "missing dtype")
	}
	dt := DType(*info.DType)
	if !dt.Supported() {
		if knownDTypes[*info.DType] {
			return nil, fmt.Errorf("%w: %s: tensor %q has dtype %s (want BF16, F16 or F32)", ErrUnsupported, file, name, *info.DType)
		}
		return nil, corrupt(file, name, "unknown dtype %q", *info.DType)
	}
	if info.Shape == nil {
		return nil, corrupt(file, name, "missing shape")
	}
	if len(*info.Shape) > 16 {
		return nil, corrupt(file, name, "shape has %d dimensions", len(*info.Shape))
	}
	shape := make([]int, len(*info.Shape))
	numel := uint64(1)
	overflow := false
	for i, d := range *info.Shape {
		v, ok := parseUint(d, maxDimension)
		if !ok {
			return nil, corrupt(file, name, "shape[%d] = %s is not a dimension", i, d)
		}
		shape[i] = int(v)
		hi, lo := bits.Mul64(numel, v)
		if hi != 0 {
			overflow = true
		}
		numel = lo
	}
	if info.DataOffsets == nil || len(*info.DataOffsets) != 2 {
		return nil, corrupt(file, name, "data_offsets must be [begin, end]")
	}
	begin, ok1 := parseUint((*info.DataOffsets)[0], 1<<62)
	end, ok2 := parseUint((*info.DataOffsets)[1], 1<<62)
	if !ok1 || !ok2 {
		return nil, corrupt(file, name, "data_offsets %v are not byte offsets", *info.DataOffsets)
	}
	if begin > end {
		return nil, corrupt(file, name, "data_offsets [%d, %d] end before they begin", begin, end)
	}
	if end > uint64(len(body)) {
		return nil, corrupt(file, name, "data_offsets [%d, %d] out of range: the data section is %d bytes (truncated?)", begin, end, len(body))
	}
	hi, want := bits.Mul64(numel, uint64(dt.Size()))
	if overflow || hi != 0 || want != end-begin {
		return nil, corrupt(file, name, "data_offsets [%d, %d] hold %d bytes, but %s %v needs %d", begin, end, end-begin, dt, shape, want)
	}
	return &Tensor{
		Name:   name,
		DType:  dt,
		Shape:  shape,
		File:   file,
		Offset: base + int64(begin),
		Size:   int64(end - begin),
		data:   body[begin:end:end],
		begin:  begin,
	}, nil
}

// checkOverlap reports two tensors whose byte ranges overlap.
func checkOverlap(file string, ts []*Tensor) error {
	byStart := make([]*Tensor, 0, len(ts))
	for _, t := range ts {
		if t.Size > 0 {
			byStart = append(byStart, t)
		}
	}
	sort.Slice(byStart, func(i, j int) bool { return byStart[i].begin < byStart[j].begin })
	for i := 1; i < len(byStart); i++ {
		prev, cur := byStart[i-1], byStart[i]
		if cur.begin < prev.begin+uint64(prev.Size) {
			return corrupt(file, cur.Name, "data_offsets [%d, %d] overlap tensor %q at [%d, %d]",
				cur.begin, cur.begin+uint64(cur.Size), prev.Name, prev.begin, prev.begin+uint64(prev.Size))
		}
	}
	return nil
}

// ParseHeader validates a whole safetensors file held in memory and
// returns its tensors sorted by name (their data slices data) and its
// metadata. name is used in error messages. Corruption errors match
// ErrCorrupt; unsupported dtypes match ErrUnsupported.
func ParseHeader(name string, data []byte) ([]*Tensor, map[string]string, error) {
	return parseSafetensors(name, data)
}
