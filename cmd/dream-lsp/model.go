package main

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda"
	"github.com/dream-lsp/dream-lsp/runtime/builtin"
	"github.com/dream-lsp/dream-lsp/runtime/engine"
)

// openModel opens the model every subcommand serves: dir when set (a Hugging
// Face model directory or cache snapshot), else the built-in model embedded in
// the binary. device is the "device" setting (auto, cpu or cuda; "" means
// auto): the rule is doctor's (chooseBackend), and any CUDA failure falls back
// to the CPU with one log line that says why. It returns the engine and a
// short name for logs and status.
func openModel(dir, device string, opts engine.Options) (*engine.Engine, string, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	name := modelName(dir)
	if opts.Backend == nil {
		if gpu := openGPU(device, log); gpu != nil {
			o := opts
			o.Backend = gpu
			eng, err := open(dir, o)
			if err == nil {
				return eng, name, nil
			}
			gpu.Close()
			log.Warn("loading the model on the GPU failed; using the CPU", "model", name, "err", err)
		}
	}
	eng, err := open(dir, opts)
	if err != nil {
		return nil, "", err
	}
	return eng, name, nil
}

// modelName is the short name openModel reports for dir: the built-in
// model's name when dir is empty, else the directory's base name.
func modelName(dir string) string {
	if dir == "" {
		return builtin.Name()
	}
	return filepath.Base(filepath.Clean(dir))
}

func open(dir string, opts engine.Options) (*engine.Engine, error) {
	if dir != "" {
		return engine.Open(dir, opts)
	}
	eng, err := engine.OpenFS(builtin.FS(), opts)
	if err != nil {
		return nil, fmt.Errorf("open the built-in model %s: %w", builtin.Name(), err)
	}
	return eng, nil
}

// openGPU returns the CUDA backend when the device setting allows it and a
// usable GPU is there, else nil after logging why: at Warn when the user
// asked for cuda, at Info when auto found none (the common laptop case).
func openGPU(device string, log *slog.Logger) backend.Backend {
	if device == "cpu" {
		return nil
	}
	b, err := cuda.Open(cuda.Options{})
	if err == nil {
		log.Info("using the GPU", "backend", "cuda", "device", b.Info().Name)
		return b
	}
	switch {
	case device == "cuda":
		log.Warn("device cuda requested but CUDA is unavailable; using the CPU", "err", err)
	case errors.Is(err, cuda.ErrUnavailable):
		log.Info("no usable GPU; using the CPU", "reason", err)
	default:
		log.Warn("the GPU failed to start; using the CPU", "err", err)
	}
	return nil
}
