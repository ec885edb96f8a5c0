package eval

import (
	"testing"

	"github.com/dream-lsp/dream-lsp/internal/testenv"
)

// TestRealTestifyInCI makes sure CI scores Go tasks against the real testify
// module, which .ci/run puts in the module cache, not the offline stand-in.
func TestRealTestifyInCI(t *testing.T) {
	if RealTestify("go") {
		return
	}
	testenv.Missingf(t, "github.com/stretchr/testify %s is not in the module cache; Go tasks use the offline stand-in (.ci/run fetches it)", TestifyVersion)
}
