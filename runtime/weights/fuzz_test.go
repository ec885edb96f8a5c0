package weights

import (
	"errors"
	"testing"
	"testing/fstest"
)

// FuzzSafetensorsHeader feeds arbitrary bytes to the safetensors parser:
// it must never panic, must classify every failure as ErrCorrupt or
// ErrUnsupported, and whatever it accepts must lie inside the file
// without overlapping and convert to float32.
func FuzzSafetensorsHeader(f *testing.F) {
	f.Add(encode(f, sample(), map[string]string{"format": "pt"}))
	f.Add(rawFileJSON([]byte(`{"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}`), []byte{1, 2, 3, 4}))
	f.Add(rawFileJSON([]byte(`{"w":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"x":{"dtype":"F16","shape":[1],"data_offsets":[1,3]}}`), []byte{1, 2, 3, 4}))
	f.Add([]byte{})
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 0, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, _, err := ParseHeader("fuzz.safetensors", data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		type span struct{ b, e int64 }
		var spans []span
		for _, tt := range ts {
			if tt.Offset < 8 || tt.Offset+tt.Size > int64(len(data)) || int64(len(tt.data)) != tt.Size {
				t.Fatalf("%s: [%d, +%d) outside %d bytes", tt.Name, tt.Offset, tt.Size, len(data))
			}
			if int64(tt.NumElements()*tt.DType.Size()) != tt.Size {
				t.Fatalf("%s: %d elements of %s in %d bytes", tt.Name, tt.NumElements(), tt.DType, tt.Size)
			}
			dst := make([]float32, tt.NumElements())
			if err := convert(tt, dst); err != nil {
				t.Fatal(err)
			}
			for _, s := range spans {
				if tt.Size > 0 && tt.Offset < s.e && s.b < tt.Offset+tt.Size {
					t.Fatalf("%s overlaps another tensor", tt.Name)
				}
			}
			if tt.Size > 0 {
				spans = append(spans, span{tt.Offset, tt.Offset + tt.Size})
			}
		}
		c, err := OpenFS(fstest.MapFS{SingleFile: {Data: data}})
		if err != nil {
			t.Fatalf("ParseHeader accepted what OpenFS rejects: %v", err)
		}
		if len(c.Tensors()) != len(ts) {
			t.Fatalf("OpenFS found %d tensors, ParseHeader %d", len(c.Tensors()), len(ts))
		}
		c.Close()
	})
}

// FuzzIndex feeds arbitrary text to the index parser.
func FuzzIndex(f *testing.F) {
	f.Add([]byte(`{"metadata":{"total_size":40},"weight_map":{"a":"s-1.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"a":"../x"}}`))
	f.Add([]byte(`{"metadata":{"total_size":1.5e3},"weight_map":{"a":"b"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := ParseIndex(IndexFile, data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		for _, s := range ix.Shards() {
			if !validShardName(s) {
				t.Fatalf("accepted shard name %q", s)
			}
		}
		if ix.TotalSize < 0 {
			t.Fatalf("negative total size %d", ix.TotalSize)
		}
	})
}
