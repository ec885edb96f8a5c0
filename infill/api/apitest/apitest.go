// Package apitest serves the built-in model over infill/api for the tests
// of its clients (infill/remote, serve --remote), so they open it the same
// way.
package apitest

import (
	"net/http/httptest"
	"testing"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/api"
	"github.com/dream-lsp/dream-lsp/runtime/builtin"
	"github.com/dream-lsp/dream-lsp/runtime/denoise"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
)

// Builtin opens the built-in model as serve does (dual K/V cache on) on
// threads CPU threads (0: all cores) and serves it at the returned
// server's URL, batched as `dream-lsp api` serves it; the runtime (the
// engine unbatched) is returned for in-process comparison. Both
// are closed when t ends.
func Builtin(t testing.TB, threads int) (*httptest.Server, infill.Runtime) {
	t.Helper()
	eng, err := engine.OpenFS(builtin.FS(), engine.Options{Threads: threads, Cache: denoise.CacheOptions{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := infill.FromEngine(eng)
	if err != nil {
		eng.Close()
		t.Fatal(err)
	}
	srv, err := api.New(api.Options{Engine: eng, Model: builtin.Name()})
	if err != nil {
		eng.Close()
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Shutdown(); eng.Close() })
	return hs, rt
}
