// Package testenv decides what a test does when something it needs from the
// environment is missing (a tool, a Node module, a Neovim build, a compiler,
// the ../shared reference tree): on a developer's machine it skips with the
// reason; under CI it fails with the same reason, because .ci/run installs
// everything the tests need and a suite must not pass by skipping.
//
// Only tests that need a GPU, opt-in measurements and -short mode may skip
// under CI; they call t.Skip directly with their reason.
package testenv

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// CI reports whether the tests run under CI: the environment variable CI is
// set to anything but "", "0" or "false" (.ci/run exports CI=true).
func CI() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv("CI")))
	return v != "" && v != "0" && v != "false"
}

// Missing reports that something the test needs is not there: it skips t
// with reason, or fails t with it under CI. It does not return.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if CI() {
		t.Fatalf("CI=%s: %s (CI must provide it: .ci/run installs what the tests need)", os.Getenv("CI"), reason)
	}
	t.Skip(reason)
}

// Missingf is Missing with a format.
func Missingf(t testing.TB, format string, args ...any) {
	t.Helper()
	Missing(t, fmt.Sprintf(format, args...))
}
