package tokenizer

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/internal/testenv"
)

// benchCorpora are the two corpora: whole files up to 256 KiB (skipping
// huge generated files such as cmd/compile's 3 MB opGen.go, which would
// dominate), about 2 MiB in all; and small files up to 16 KiB (the size of
// the windows the language server encodes), about 1 MiB in all.
var benchCorpora = []struct {
	name           string
	limit, maxFile int
}{
	{"files", 2 << 20, 256 << 10},
	{"small", 1 << 20, 16 << 10},
}

// benchCorpus reads real Go source files from the toolchain's src tree at
// benchmark time (up to about limit bytes), sorted by path so every run
// sees the same files. bench/tokenizer/bench.mjs picks the same files for
// the JavaScript comparison.
func benchCorpus(b *testing.B, limit, maxFile int) []string {
	b.Helper()
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		testenv.Missingf(b, "go env GOROOT: %v", err)
	}
	root := filepath.Join(strings.TrimSpace(string(goroot)), "src")
	var paths []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil || len(paths) == 0 {
		testenv.Missingf(b, "Go sources not readable under %s: %v", root, err)
	}
	sort.Strings(paths)
	// Take every k-th file so the sample spans the whole tree.
	var files []string
	total := 0
	for i := 0; i < len(paths) && total < limit; i += 7 {
		data, err := os.ReadFile(paths[i])
		if err != nil || len(data) > maxFile {
			continue
		}
		files = append(files, string(data))
		total += len(data)
	}
	return files
}

func corpusBytes(files []string) int64 {
	var n int64
	for _, f := range files {
		n += int64(len(f))
	}
	return n
}

// BenchmarkEncode encodes whole Go source files one after another on one
// goroutine (plain mode, as the language server does), with a warm word
// cache. MB/s counts input bytes.
func BenchmarkEncode(b *testing.B) {
	tok := referenceTokenizers(b)["tokenizer.json"]
	for _, c := range benchCorpora {
		b.Run(c.name, func(b *testing.B) {
			files := benchCorpus(b, c.limit, c.maxFile)
			b.SetBytes(corpusBytes(files))
			b.ReportAllocs()
			var ntok int
			cpu := startCPU()
			for b.Loop() {
				ntok = 0
				for _, f := range files {
					ntok += len(tok.Encode(f))
				}
			}
			cpu.report(b, corpusBytes(files))
			b.ReportMetric(float64(ntok), "tokens/op")
			b.ReportMetric(float64(len(files)), "files")
		})
	}
}

// cpuMeter reports CPU time per op next to wall time: on a shared machine
// wall time includes waiting for a core, CPU time does not.
type cpuMeter struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuMeter {
	d, ok := processCPU()
	return cpuMeter{d, ok}
}

// report adds cpu-ms/op and, for bytes > 0, cpu-MB/s (input bytes per CPU
// second).
func (m cpuMeter) report(b *testing.B, bytes int64) {
	end, ok := processCPU()
	if !m.ok || !ok || b.N == 0 {
		return
	}
	per := (end - m.start).Seconds() / float64(b.N)
	b.ReportMetric(per*1e3, "cpu-ms/op")
	if bytes > 0 && per > 0 {
		b.ReportMetric(float64(bytes)/per/1e6, "cpu-MB/s")
	}
}

// BenchmarkEncodeParallel encodes the same whole files spread over all
// cores (GOMAXPROCS goroutines taking whole files from a shared counter).
func BenchmarkEncodeParallel(b *testing.B) {
	tok := referenceTokenizers(b)["tokenizer.json"]
	c := benchCorpora[0]
	files := benchCorpus(b, c.limit, c.maxFile)
	b.SetBytes(corpusBytes(files))
	workers := runtime.GOMAXPROCS(0)
	b.ReportMetric(float64(workers), "goroutines")
	cpu := startCPU()
	defer cpu.report(b, corpusBytes(files))
	for b.Loop() {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= len(files) {
						return
					}
					tok.Encode(files[i])
				}
			})
		}
		wg.Wait()
	}
}

// BenchmarkLoad measures loading the 151k-token reference tokenizer with
// each loader.
func BenchmarkLoad(b *testing.B) {
	fsys := os.DirFS(referenceDir(b))
	b.Run("tokenizer.json", func(b *testing.B) {
		cpu := startCPU()
		defer cpu.report(b, 0)
		for b.Loop() {
			if _, err := loadTokenizerJSON(fsys); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("vocab+merges", func(b *testing.B) {
		cpu := startCPU()
		defer cpu.report(b, 0)
		for b.Loop() {
			if _, err := loadVocabMerges(fsys); err != nil {
				b.Fatal(err)
			}
		}
	})
}
