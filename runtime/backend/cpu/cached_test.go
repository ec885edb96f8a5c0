package cpu

import (
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/backend/backendtest"
)

var _ backend.CachedAttention = (*Backend)(nil)

func TestCachedAttention(t *testing.T) {
	backendtest.RunCachedAttention(t, func(*testing.T) backend.Backend { return New(3) }, backendtest.Tolerance)
}
