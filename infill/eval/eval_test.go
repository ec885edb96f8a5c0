package eval

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/infilltest"
	"github.com/dream-lsp/dream-lsp/internal/sharedpath"
	"github.com/dream-lsp/dream-lsp/internal/testenv"
)

func evalDir(t *testing.T) string {
	t.Helper()
	return sharedpath.Path(t, "eval")
}

func need(t *testing.T, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			testenv.Missingf(t, "%s not installed: %v", b, err)
		}
	}
}

func problems(prefix string, n int) string {
	var p []string
	for i := 0; i < n; i++ {
		p = append(p, prefix+itoa(i)+"/")
	}
	return strings.Join(p, ",")
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestLoadCounts(t *testing.T) {
	dir := evalDir(t)
	// go-single: one task per non-blank line of the entry function's body
	// (up to its closing "}" at column 0; whitespace-only lines are blank).
	// The shared evals.md counts 2,076 by also counting whitespace-only
	// lines and Go/72's second function.
	for set, want := range map[string]int{"python-single": 1033, "python-multi": 5815, "go-single": 2065} {
		tasks, err := Load(dir, set)
		if err != nil {
			t.Fatal(err)
		}
		if len(tasks) != want {
			t.Errorf("%s: %d tasks, want %d", set, len(tasks), want)
		}
	}
	tasks, err := Load(dir, "go-multi")
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tasks {
		if strings.Count(strings.TrimRight(tk.Middle, "\n"), "\n") < 1 {
			t.Errorf("%s: multi-line middle has one line: %q", tk.ID, tk.Middle)
		}
		if tk.Prefix+tk.Middle+tk.Suffix == "" || !strings.HasPrefix(tk.Prefix, "package main\n") {
			t.Errorf("%s: bad document", tk.ID)
		}
	}
	// The Go document keeps the whole reference: prefix+middle+suffix is
	// the same for every task of a problem.
	single, _ := Load(dir, "go-single")
	docs := map[string]string{}
	for _, tk := range single {
		d := tk.Prefix + tk.Middle + tk.Suffix
		if prev, ok := docs[tk.Problem]; ok && prev != d {
			t.Fatalf("%s: document differs between tasks", tk.ID)
		}
		docs[tk.Problem] = d
	}
	if _, err := Load(dir, "bogus"); err == nil {
		t.Error("unknown set accepted")
	}
}

// TestOracleMiddlesPass is the harness proof on a subset that fits CI: the
// reference middles pass their tests. The full runs are recorded in
// docs/BENCHMARKS.md ("Infill and eval"); set DREAM_EVAL_FULL=1 to run them.
func TestOracleMiddlesPass(t *testing.T) {
	dir := evalDir(t)
	need(t, "python3", "go")
	cfg := Config{Dir: dir, OracleMiddle: true, Exclude: KnownBroken, Verbose: true,
		Sets: []string{"python-single", "python-multi", "go-single", "go-multi"}}
	if os.Getenv("DREAM_EVAL_FULL") == "" {
		cfg.Tasks = problems("HumanEval/", 6) + "," + problems("Go/", 4)
		cfg.Limit = 40
	}
	rep, err := Run(context.Background(), cfg, nil, &Executor{Timeout: time.Minute}, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Sets {
		if s.Tasks == 0 {
			t.Errorf("%s: no tasks selected", s.Set)
		}
		if s.Passed != s.Tasks {
			t.Errorf("%s: %d/%d reference middles pass; failed: %v", s.Set, s.Passed, s.Tasks, s.Failed)
		}
		if s.ExactMatch != 1 {
			t.Errorf("%s: exact match of the references = %.3f", s.Set, s.ExactMatch)
		}
		if s.ParseRate != 1 {
			t.Errorf("%s: parse rate of the references = %.3f", s.Set, s.ParseRate)
		}
		t.Logf("%s: %d/%d pass", s.Set, s.Passed, s.Tasks)
	}
}

// TestBrokenMiddlesFail proves the tests really execute: a middle that does
// not compile fails every task.
func TestBrokenMiddlesFail(t *testing.T) {
	dir := evalDir(t)
	need(t, "python3", "go")
	for _, set := range []string{"python-single", "go-single"} {
		all, err := Load(dir, set)
		if err != nil {
			t.Fatal(err)
		}
		tasks := Filter(all, "", 6)
		comps := make([]string, len(tasks))
		for i := range comps {
			comps[i] = "$$$ not code\n"
		}
		pass, err := (&Executor{Timeout: time.Minute}).Run(context.Background(), tasks, comps)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range pass {
			if p {
				t.Errorf("%s: a broken middle passed", tasks[i].ID)
			}
		}
	}
}

// TestRunWithEngine runs the whole loop with the infill engine over a fake
// runtime that fills every hole with end-of-text (an empty middle).
func TestRunWithEngine(t *testing.T) {
	dir := evalDir(t)
	need(t, "python3", "go")
	rt := &infilltest.Runtime{}
	eng := infill.New(rt, infill.Options{})
	count := func(s string) int { return len(rt.Encode(s)) }
	for _, length := range []string{"auto", "oracle", "fixed=8"} {
		rep, err := Run(context.Background(), Config{Dir: dir, Sets: []string{"python-single", "go-single"}, Limit: 3, Length: length, Count: count}, eng, &Executor{Timeout: time.Minute}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range rep.Sets {
			if s.Tasks != 3 || s.LatencyP50 <= 0 {
				t.Errorf("%s %s: tasks %d latency %.3f", length, s.Set, s.Tasks, s.LatencyP50)
			}
			if s.ExactMatch != 0 {
				t.Errorf("%s %s: empty middles matched the references", length, s.Set)
			}
		}
	}
	if len(rt.Calls) == 0 {
		t.Error("the engine never ran the runtime")
	}
}

func TestTrivialMiddles(t *testing.T) {
	dir := evalDir(t)
	tasks, err := Load(dir, "go-single")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tk := range tasks {
		if !Trivial(tk.Middle) {
			n++
		}
	}
	// evals.md: 1,562 Go single-line tasks once bracket-only lines are
	// dropped, counted over 2,076 lines (ours: 2,065, see TestLoadCounts).
	if n < 1500 || n > 1600 {
		t.Errorf("%d non-trivial go-single tasks, want about 1,562", n)
	}
	if !Trivial("    }\n") || !Trivial("})\n") || Trivial("return x\n") {
		t.Error("Trivial misclassifies")
	}
}

func TestFilter(t *testing.T) {
	tasks := []*Task{{ID: "GoSingleLineInfilling/Go/5/L1"}, {ID: "GoSingleLineInfilling/Go/55/L1"}, {ID: "X/HumanEval/5/L0"}}
	if got := Filter(tasks, "Go/5/", 0); len(got) != 1 || got[0].ID != tasks[0].ID {
		t.Errorf("Filter Go/5/ = %v", got)
	}
	if got := Filter(tasks, "", 2); len(got) != 2 {
		t.Errorf("limit: %d", len(got))
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
