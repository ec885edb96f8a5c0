// Command testsummary runs `go test -json` with its arguments and prints
// what a reader of a CI log needs: one line per package (as go test does),
// the whole output of every failing test, and at the end the number of
// tests run, passed, failed and skipped, with every skip's reason, so a
// suite that passes by skipping shows it. It exits non-zero when go test
// does or when any test failed.
//
//	go run ./internal/testsummary -timeout 20m ./...
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// event is one line of `go test -json` (test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	Elapsed    float64
	ImportPath string // build-output events
}

// key names a test within its package.
type key struct{ pkg, test string }

// summary accumulates the events of one run.
type summary struct {
	out              io.Writer
	output           map[key][]string // output so far, per test ("" = the package)
	passed, failed   []key
	skipped          []skip
	pkgFail, pkgPass int
	buildOut         []string
}

type skip struct {
	key
	reason string
}

func newSummary(out io.Writer) *summary {
	return &summary{out: out, output: map[key][]string{}}
}

// add consumes one event.
func (s *summary) add(e event) {
	if e.Action == "build-output" {
		s.buildOut = append(s.buildOut, e.Output)
		return
	}
	k := key{e.Package, e.Test}
	switch e.Action {
	case "output":
		s.output[k] = append(s.output[k], e.Output)
	case "pass", "fail", "skip":
		if e.Test == "" {
			s.packageDone(e)
			return
		}
		switch e.Action {
		case "pass":
			s.passed = append(s.passed, k)
		case "fail":
			s.failed = append(s.failed, k)
			// A failing subtest's parent prints its children's output too;
			// print each failing test's own lines once, leaf tests first.
			fmt.Fprintf(s.out, "--- FAIL: %s (%s)\n", e.Test, e.Package)
			for _, l := range s.output[k] {
				if !strings.HasPrefix(l, "=== ") {
					fmt.Fprint(s.out, "    ", l)
				}
			}
		case "skip":
			s.skipped = append(s.skipped, skip{k, skipReason(s.output[k])})
		}
		if e.Action != "fail" {
			delete(s.output, k)
		}
	}
}

// packageDone prints go test's package line, and on failure the package's
// own output (a build failure, a panic outside a test, a timeout).
func (s *summary) packageDone(e event) {
	k := key{e.Package, ""}
	switch e.Action {
	case "fail":
		s.pkgFail++
		fmt.Fprintf(s.out, "FAIL\t%s\t%.3fs\n", e.Package, e.Elapsed)
		for _, l := range s.output[k] {
			if strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") || strings.TrimSpace(l) == "FAIL" {
				continue
			}
			fmt.Fprint(s.out, "    ", l)
		}
	case "pass":
		s.pkgPass++
		fmt.Fprintf(s.out, "ok  \t%s\t%.3fs\n", e.Package, e.Elapsed)
	case "skip":
		fmt.Fprintf(s.out, "?   \t%s\t[no test files]\n", e.Package)
	}
	delete(s.output, k)
}

// skipReason finds the reason t.Skip printed: the test's last log line
// (go test streams it before or after the "--- SKIP" line).
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP:") {
			continue
		}
		return l
	}
	return "(no reason given)"
}

// report prints the totals and the skips; it returns whether anything failed.
func (s *summary) report() bool {
	for _, l := range s.buildOut {
		fmt.Fprint(s.out, l)
	}
	top := func(ks []key) (n int) {
		for _, k := range ks {
			if !strings.Contains(k.test, "/") {
				n++
			}
		}
		return n
	}
	sks := make([]key, len(s.skipped))
	for i, sk := range s.skipped {
		sks[i] = sk.key
	}
	run := len(s.passed) + len(s.failed) + len(s.skipped)
	fmt.Fprintf(s.out, "\ntests: %d run (%d top-level), %d passed, %d failed, %d skipped (%d top-level); packages: %d ok, %d failed\n",
		run, top(s.passed)+top(s.failed)+top(sks), len(s.passed), len(s.failed), len(s.skipped), top(sks), s.pkgPass, s.pkgFail)
	sort.Slice(s.skipped, func(i, j int) bool {
		a, b := s.skipped[i], s.skipped[j]
		return a.pkg < b.pkg || a.pkg == b.pkg && a.test < b.test
	})
	for _, sk := range s.skipped {
		fmt.Fprintf(s.out, "SKIP %s %s: %s\n", strings.TrimPrefix(sk.pkg, "github.com/dream-lsp/dream-lsp/"), sk.test, sk.reason)
	}
	for _, f := range s.failed {
		fmt.Fprintf(s.out, "FAIL %s %s\n", strings.TrimPrefix(f.pkg, "github.com/dream-lsp/dream-lsp/"), f.test)
	}
	return len(s.failed) > 0 || s.pkgFail > 0
}

// read consumes a test2json stream; lines that are not JSON (go test's own
// messages) are printed as they are.
func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(s.out, "%s\n", line)
			continue
		}
		s.add(e)
	}
	return sc.Err()
}

func main() {
	start := time.Now()
	cmd := exec.Command("go", append([]string{"test", "-json"}, os.Args[1:]...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	s := newSummary(os.Stdout)
	readErr := s.read(stdout)
	waitErr := cmd.Wait()
	failed := s.report()
	fmt.Printf("go test took %s\n", time.Since(start).Round(time.Second))
	var exit *exec.ExitError
	switch {
	case readErr != nil:
		fmt.Fprintln(os.Stderr, "testsummary: reading go test's output:", readErr)
		os.Exit(2)
	case errors.As(waitErr, &exit):
		os.Exit(max(exit.ExitCode(), 1))
	case waitErr != nil:
		fmt.Fprintln(os.Stderr, "testsummary:", waitErr)
		os.Exit(2)
	case failed:
		os.Exit(1)
	}
}
