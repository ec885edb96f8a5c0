package mmapfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rssFileKiB reads RssFile (file pages mapped into this process) from
// /proc/self/status.
func rssFileKiB(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// TestDrop: after Drop the mapped file's pages leave the resident set,
// and the bytes still read back from the file.
func TestDrop(t *testing.T) {
	const size = 32 << 20
	want := bytes.Repeat([]byte("dream-lsp pages "), size/16)
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, release, err := Map(f, size)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	before := rssFileKiB(t)
	if !bytes.Equal(data, want) { // touches every page
		t.Fatal("mapped bytes differ from the file")
	}
	touched := rssFileKiB(t)
	Drop(data[1:]) // the first page is not wholly inside: kept
	dropped := rssFileKiB(t)
	if touched-before < size/1024/2 || touched-dropped < size/1024/2 {
		t.Fatalf("RssFile %d kB → %d kB after reading %d MiB → %d kB after Drop: want the pages in, then out", before, touched, size>>20, dropped)
	}
	if !bytes.Equal(data, want) {
		t.Fatal("bytes after Drop differ from the file")
	}
	Drop(nil)
	Drop(data[:10])
}
