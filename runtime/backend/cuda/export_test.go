package cuda

import "github.com/dream-lsp/dream-lsp/runtime/model"

// WrapDreamForTest puts the engine's DeviceModel around a model already on
// the device: the timing report runs runtime/denoise on its random Dream 7B
// weights, the path serve and infill take on a GPU.
func WrapDreamForTest(m *BF16Model, cfg model.Config) *DreamModel {
	return &DreamModel{m: m, cfg: cfg, seen: map[string]bool{}}
}
