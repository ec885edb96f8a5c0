// Package mmapfile maps a weights file read-only, so the safetensors and
// GGUF loaders share one implementation (with a plain read where mmap is
// not available).
package mmapfile
