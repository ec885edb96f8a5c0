// Package eval scores infilling on HumanEval-Infilling (Python) and on
// single-line and multi-line tasks derived from HumanEval-X Go reference
// solutions, by executing the tests: pass@1, exact match, the share of
// completions that parse, and latency. It reads the data from the shared
// evaluation tree at run time and never copies it.
package eval

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Task is one infilling task.
type Task struct {
	ID       string // e.g. SingleLineInfilling/HumanEval/0/L3, GoSingleLineInfilling/Go/0/L2
	Set      string // python-single, python-multi, go-single, go-multi
	Problem  string // HumanEval/0, Go/0
	Lang     string // "python" or "go"
	Prefix   string // the document before the hole, as the model sees it
	Suffix   string // the document after the hole
	Middle   string // the reference middle
	test     string
	entry    string
	goHeader string // Go: the model-visible header replaced at execution
	goSetup  string // Go: test_setup
	goImport string // Go: the import block
}

// Path is a file name with the task's language extension.
func (t *Task) Path() string {
	if t.Lang == "go" {
		return "main.go"
	}
	return "main.py"
}

// Sets are the task sets Load knows.
var Sets = []string{"python-single", "python-multi", "go-single", "go-multi"}

// Load reads a task set from the evaluation tree dir (the directory that
// holds humaneval-infilling/ and humaneval-x-go/).
func Load(dir, set string) ([]*Task, error) {
	switch set {
	case "python-single":
		return loadPython(filepath.Join(dir, "humaneval-infilling", "HumanEval-SingleLineInfilling.jsonl.gz"), set)
	case "python-multi":
		return loadPython(filepath.Join(dir, "humaneval-infilling", "HumanEval-MultiLineInfilling.jsonl.gz"), set)
	case "go-single", "go-multi":
		return loadGo(filepath.Join(dir, "humaneval-x-go", "humaneval_go.jsonl.gz"), set)
	}
	return nil, fmt.Errorf("eval: unknown task set %q (want one of %s)", set, strings.Join(Sets, ", "))
}

func readJSONL(path string, each func(map[string]any) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("eval: %s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return fmt.Errorf("eval: %s: %w", path, err)
		}
		if err := each(m); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("eval: read %s: %w", path, err)
	}
	return nil
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func loadPython(path, set string) ([]*Task, error) {
	var out []*Task
	err := readJSONL(path, func(m map[string]any) error {
		id := str(m, "task_id")
		parts := strings.Split(id, "/")
		prob := id
		if len(parts) >= 3 {
			prob = parts[1] + "/" + parts[2]
		}
		out = append(out, &Task{ID: id, Set: set, Problem: prob, Lang: "python",
			Prefix: str(m, "prompt"), Suffix: str(m, "suffix"), Middle: str(m, "canonical_solution"),
			test: str(m, "test"), entry: str(m, "entry_point")})
		return nil
	})
	return out, err
}

// goMultiPerProblem and goMultiMaxLines define the seeded multi-line
// subsample: per problem, this many distinct ranges of 2..goMultiMaxLines
// non-blank body lines, drawn with a PCG seeded by the problem number.
const (
	goMultiPerProblem = 4
	goMultiMaxLines   = 8
)

var funcName = regexp.MustCompile(`func\s+(\w+)\s*\(`)

func loadGo(path, set string) ([]*Task, error) {
	var out []*Task
	num := 0
	err := readJSONL(path, func(m map[string]any) error {
		id := str(m, "task_id")
		prompt, imp := str(m, "prompt"), str(m, "import")
		header := "package main\n\n"
		body := prompt
		if imp != "" && strings.HasPrefix(prompt, imp) {
			header += imp
			body = prompt[len(imp):]
		}
		sol := str(m, "canonical_solution")
		lines := strings.SplitAfter(sol, "\n")
		end := len(lines)
		for i, l := range lines {
			if strings.TrimRight(l, " \t\r\n") == "}" {
				end = i
				break
			}
		}
		entry := ""
		if mm := funcName.FindStringSubmatch(str(m, "declaration")); mm != nil {
			entry = mm[1]
		}
		var nonBlank []int
		for i := 0; i < end; i++ {
			if strings.TrimSpace(lines[i]) != "" {
				nonBlank = append(nonBlank, i)
			}
		}
		mk := func(kind string, a, b int) *Task { // lines[a:b] is the hole
			return &Task{ID: fmt.Sprintf("%s/%s/L%d", kind, id, a), Set: set, Problem: id, Lang: "go",
				Prefix: header + body + strings.Join(lines[:a], ""), Middle: strings.Join(lines[a:b], ""),
				Suffix: strings.Join(lines[b:], ""), test: str(m, "test"), entry: entry,
				goHeader: header, goSetup: str(m, "test_setup"), goImport: imp}
		}
		if set == "go-single" {
			for _, i := range nonBlank {
				out = append(out, mk("GoSingleLineInfilling", i, i+1))
			}
		} else {
			rng := rand.New(rand.NewPCG(1, uint64(num)))
			seen := map[[2]int]bool{}
			for tries := 0; len(seen) < goMultiPerProblem && tries < 100 && len(nonBlank) >= 2; tries++ {
				n := 2 + rng.IntN(min(goMultiMaxLines, len(nonBlank))-1)
				s := rng.IntN(len(nonBlank) - n + 1)
				a, b := nonBlank[s], nonBlank[s+n-1]+1
				if seen[[2]int{a, b}] {
					continue
				}
				seen[[2]int{a, b}] = true
				t := mk("GoMultiLineInfilling", a, b)
				t.ID += fmt.Sprintf("_L%d", b-1)
				out = append(out, t)
			}
		}
		num++
		return nil
	})
	return out, err
}

// Filter keeps tasks whose id contains one of the comma-separated patterns
// (a pattern ending in "/" matches a problem exactly, e.g. "Go/5/"), then at
// most limit tasks (0: all).
func Filter(tasks []*Task, patterns string, limit int) []*Task {
	var pats []string
	for _, p := range strings.Split(patterns, ",") {
		if p = strings.TrimSpace(p); p != "" {
			pats = append(pats, p)
		}
	}
	var out []*Task
	for _, t := range tasks {
		ok := len(pats) == 0
		for _, p := range pats {
			if strings.Contains(t.ID+"/", p) {
				ok = true
				break
			}
		}
		if ok {
			out = append(out, t)
		}
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out
}
