package eval

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Program returns the Python program that tests a completion, as the
// HumanEval-Infilling harness assembles it.
func (t *Task) pythonProgram(completion string) string {
	return t.Prefix + completion + t.Suffix + "\n" + t.test + "\n" + "check(" + t.entry + ")\n"
}

var (
	importPath  = regexp.MustCompile(`"([^"]+)"`)
	lineComment = regexp.MustCompile(`(?m)//.*$`)
)

// goStdlib are packages a solution may use without its prompt importing
// them (CodeGeeX's IMPORT_HELPER for Go, plus unicode).
var goStdlib = []string{"math", "strings", "fmt", "strconv", "time", "bytes", "regexp", "sort", "math/rand", "crypto/md5", "unicode"}

// goProgram returns main_test.go for a completion as CodeGeeX's harness
// assembles it: one file, test_setup's imports plus every known package
// the code uses (by "name." outside comments; unused imports would not
// compile), the prompt without its import block, the function, the test.
func (t *Task) goProgram(completion string) string {
	body := strings.TrimPrefix(t.Prefix, t.goHeader) + completion + t.Suffix + "\n\n" + t.test
	code := lineComment.ReplaceAllString(body, "")
	seen := map[string]bool{}
	var paths []string
	for _, m := range importPath.FindAllStringSubmatch(t.goSetup, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			paths = append(paths, m[1])
		}
	}
	cands := append([]string(nil), goStdlib...)
	for _, m := range importPath.FindAllStringSubmatch(t.goImport, -1) {
		cands = append(cands, m[1])
	}
	for _, p := range cands {
		name := p[strings.LastIndexByte(p, '/')+1:]
		if !seen[p] && regexp.MustCompile(`\b`+regexp.QuoteMeta(name)+`\.`).MatchString(code) {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	var b strings.Builder
	b.WriteString("package main\n\nimport (\n")
	for _, p := range paths {
		fmt.Fprintf(&b, "\t%q\n", p)
	}
	b.WriteString(")\n\n")
	b.WriteString(body)
	b.WriteString("\n")
	return b.String()
}

// Executor runs the tests of completed tasks.
type Executor struct {
	Python  string        // python3 binary; "": "python3"
	Go      string        // go binary; "": "go"
	Timeout time.Duration // per Python program; per Go batch it is scaled; 0: 10 s
	Workers int           // parallel Python programs; 0: 2
	Logf    func(format string, args ...any)
}

func (x *Executor) timeout() time.Duration {
	if x.Timeout <= 0 {
		return 10 * time.Second
	}
	return x.Timeout
}

// Run executes completions[i] for tasks[i] and reports which pass.
func (x *Executor) Run(ctx context.Context, tasks []*Task, completions []string) ([]bool, error) {
	pass := make([]bool, len(tasks))
	var py, gi []int
	for i, t := range tasks {
		if t.Lang == "go" {
			gi = append(gi, i)
		} else {
			py = append(py, i)
		}
	}
	if len(py) > 0 {
		if err := x.runPython(ctx, tasks, completions, py, pass); err != nil {
			return nil, err
		}
	}
	if len(gi) > 0 {
		for start := 0; start < len(gi); start += goBatch {
			if err := x.runGo(ctx, tasks, completions, gi[start:min(start+goBatch, len(gi))], pass); err != nil {
				return nil, err
			}
		}
	}
	return pass, nil
}

// runCmd runs a command in its own process group and kills the whole group
// when the timeout passes.
func runCmd(ctx context.Context, timeout time.Duration, dir string, env []string, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return out.Bytes(), fmt.Errorf("timed out after %v", timeout)
	}
	return out.Bytes(), err
}

func (x *Executor) runPython(ctx context.Context, tasks []*Task, completions []string, idx []int, pass []bool) error {
	bin := x.Python
	if bin == "" {
		bin = "python3"
	}
	if _, err := exec.LookPath(bin); err != nil {
		return fmt.Errorf("eval: python: %w", err)
	}
	dir, err := os.MkdirTemp("", "dream-eval-py-")
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	defer os.RemoveAll(dir)
	workers := x.Workers
	if workers <= 0 {
		workers = 2
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "PYTHONDONTWRITEBYTECODE=1", "PYTHONHASHSEED=0"}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				sub := filepath.Join(dir, fmt.Sprintf("t%d", i))
				if err := os.Mkdir(sub, 0o755); err != nil {
					continue
				}
				f := filepath.Join(sub, "prog.py")
				if err := os.WriteFile(f, []byte(tasks[i].pythonProgram(completions[i])), 0o644); err != nil {
					continue
				}
				out, err := runCmd(ctx, x.timeout(), sub, env, bin, "-I", f)
				pass[i] = err == nil
				if err != nil && x.Logf != nil {
					x.Logf("%s: %v: %s", tasks[i].ID, err, lastLine(out))
				}
			}
		}()
	}
	for _, i := range idx {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return ctx.Err()
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// goBatch is how many Go task packages one `go test` run builds.
const goBatch = 200

// TestifyVersion is the testify release the Go tasks run against when it is
// in the module cache (.ci/run puts it there); the tests never download it.
const TestifyVersion = "v1.8.4"

// testifyFiles returns the go.mod (and, without the real module, the
// stand-in package) of the temporary module the Go tasks run in. The real
// github.com/stretchr/testify is used when its zip is in the module cache,
// read offline (GOPROXY=off); otherwise testifyShim stands in for it.
func testifyFiles(goBin string) map[string]string {
	if RealTestify(goBin) {
		return map[string]string{"go.mod": "module evaltasks\n\ngo 1.21\n\nrequire github.com/stretchr/testify " + TestifyVersion + "\n"}
	}
	return map[string]string{
		"go.mod":                 "module evaltasks\n\ngo 1.21\n\nrequire github.com/stretchr/testify v1.8.0\n\nreplace github.com/stretchr/testify => ./testify\n",
		"testify/go.mod":         "module github.com/stretchr/testify\n\ngo 1.21\n",
		"testify/assert/shim.go": testifyShim,
	}
}

// RealTestify reports whether the real testify module (TestifyVersion) is in
// the module cache of the go command goBin, so the Go tasks can use it offline.
func RealTestify(goBin string) bool {
	out, err := exec.Command(goBin, "env", "GOMODCACHE").Output()
	if err != nil {
		return false
	}
	zip := filepath.Join(strings.TrimSpace(string(out)), "cache", "download", "github.com", "stretchr", "testify", "@v", TestifyVersion+".zip")
	_, err = os.Stat(zip)
	return err == nil
}

// testifyShim is a minimal offline stand-in for the part of
// github.com/stretchr/testify that HumanEval-X Go tests use: assert.New and
// (*Assertions).Equal, with testify's ObjectsAreEqual semantics
// (reflect.DeepEqual, bytes.Equal for []byte, no numeric conversion).
const testifyShim = `// Package assert is a minimal offline stand-in for testify's assert
// (New and Equal only), written by dream-lsp's eval harness.
package assert

import (
	"bytes"
	"reflect"
)

// TestingT is the part of *testing.T that assertions use.
type TestingT interface {
	Errorf(format string, args ...interface{})
}

// Assertions wraps a TestingT.
type Assertions struct{ t TestingT }

// New returns Assertions for t.
func New(t TestingT) *Assertions { return &Assertions{t: t} }

// ObjectsAreEqual is testify's equality.
func ObjectsAreEqual(expected, actual interface{}) bool {
	if expected == nil || actual == nil {
		return expected == actual
	}
	exp, ok := expected.([]byte)
	if !ok {
		return reflect.DeepEqual(expected, actual)
	}
	act, ok := actual.([]byte)
	if !ok {
		return false
	}
	if exp == nil || act == nil {
		return exp == nil && act == nil
	}
	return bytes.Equal(exp, act)
}

// Equal asserts that expected and actual are equal.
func (a *Assertions) Equal(expected, actual interface{}, msgAndArgs ...interface{}) bool {
	if h, ok := a.t.(interface{ Helper() }); ok {
		h.Helper()
	}
	if reflect.TypeOf(expected) != nil && reflect.TypeOf(expected).Kind() == reflect.Func {
		a.t.Errorf("Invalid operation: cannot compare functions")
		return false
	}
	if !ObjectsAreEqual(expected, actual) {
		a.t.Errorf("Not equal:\nexpected: %#v\nactual  : %#v", expected, actual)
		return false
	}
	return true
}

// Equal asserts that expected and actual are equal.
func Equal(t TestingT, expected, actual interface{}, msgAndArgs ...interface{}) bool {
	return New(t).Equal(expected, actual, msgAndArgs...)
}
`

var goResult = regexp.MustCompile(`^(ok|FAIL|---)\s+evaltasks/(t\d+)\b`)

func (x *Executor) runGo(ctx context.Context, tasks []*Task, completions []string, idx []int, pass []bool) error {
	bin := x.Go
	if bin == "" {
		bin = "go"
	}
	if _, err := exec.LookPath(bin); err != nil {
		return fmt.Errorf("eval: go: %w", err)
	}
	dir, err := os.MkdirTemp("", "dream-eval-go-")
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	defer os.RemoveAll(dir)
	files := testifyFiles(bin)
	names := map[string]int{}
	for _, i := range idx {
		name := fmt.Sprintf("t%05d", i)
		names[name] = i
		files[name+"/main_test.go"] = tasks[i].goProgram(completions[i])
	}
	for p, s := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
	}
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local", "GONOSUMCHECK=1", "GOSUMDB=off", "GO111MODULE=on")
	// Building is most of the time: generous, since a loaded machine can
	// be ten times slower than an idle one.
	timeout := 5*time.Minute + time.Duration(len(idx))*3*time.Second
	out, err := runCmd(ctx, timeout, dir, env, bin, "test", "-count=1", "-timeout", "30s", "./...")
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil && strings.Contains(err.Error(), "timed out") {
		return fmt.Errorf("eval: go test: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	seen := 0
	for sc.Scan() {
		m := goResult.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		i, ok := names[m[2]]
		if !ok {
			continue
		}
		seen++
		pass[i] = m[1] == "ok"
		if m[1] != "ok" && x.Logf != nil {
			x.Logf("%s: %s", tasks[i].ID, sc.Text())
		}
	}
	if seen == 0 && err != nil {
		return fmt.Errorf("eval: go test: %w: %s", err, lastLine(out))
	}
	return nil
}
