package cpu

import (
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/backend/backendtest"
)

func TestConformance(t *testing.T) {
	for _, threads := range []int{1, 3} {
		backendtest.Run(t, func(t *testing.T) backend.Backend { return New(threads) })
	}
}
