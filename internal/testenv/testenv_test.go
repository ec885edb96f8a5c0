package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestCI(t *testing.T) {
	for _, c := range []struct {
		v    string
		want bool
	}{{"", false}, {"0", false}, {"false", false}, {"FALSE", false}, {"true", true}, {"1", true}, {"yes", true}} {
		t.Setenv("CI", c.v)
		if got := CI(); got != c.want {
			t.Errorf("CI=%q: CI() = %v, want %v", c.v, got, c.want)
		}
	}
}

// TestMissing runs a child test that calls Missing with and without CI and
// reads its verdict from go test's verbose output: a skip without CI, a
// failure carrying the reason under CI.
func TestMissing(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") != "" {
		Missingf(t, "no %s on PATH", "frobnicate")
		t.Fatal("Missing returned")
	}
	for _, c := range []struct {
		ci, want string
	}{{"", "--- SKIP: TestMissing"}, {"false", "--- SKIP: TestMissing"}, {"true", "--- FAIL: TestMissing"}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissing$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI="+c.ci)
		out, _ := cmd.CombinedOutput()
		s := string(out)
		if !strings.Contains(s, c.want) || !strings.Contains(s, "no frobnicate on PATH") || strings.Contains(s, "Missing returned") {
			t.Errorf("CI=%q: want %q with the reason, got:\n%s", c.ci, c.want, s)
		}
	}
}
