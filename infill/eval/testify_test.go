package eval

import (
	"os"
	"testing"
)

// TestRealTestifyInCI makes sure CI scores Go tasks against the real testify
// module, which .ci/run puts in the module cache, not the offline stand-in.
func TestRealTestifyInCI(t *testing.T) {
	if RealTestify("go") {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("github.com/stretchr/testify %s is not in the module cache: .ci/run must download it", TestifyVersion)
	}
	t.Skipf("github.com/stretchr/testify %s is not in the module cache; Go tasks use the offline stand-in (run .ci/run to fetch it)", TestifyVersion)
}
