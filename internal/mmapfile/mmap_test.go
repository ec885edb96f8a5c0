package mmapfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestMap(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"bytes", []byte("dream weights\x00\x01\x02")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, release, err := Map(f, int64(len(tc.data)))
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			if !bytes.Equal(got, tc.data) {
				t.Errorf("Map = %q, want %q", got, tc.data)
			}
			if err := release(); err != nil {
				t.Errorf("release: %v", err)
			}
		})
	}
}
