// Package llamacpp holds the side-by-side of dream-lsp's runtime against
// llama.cpp's Dream runner, llama-diffusion-cli (Debian's build, unpacked by
// infill/remote/testdata/fetch-llama.sh): mkdream.py writes random-weight
// Dream GGUF files that both read, sidebyside.sh measures CPU per denoising
// step (in rounds taken in turn, ROUNDS=N, since the shared machines' speed
// moves), peak RSS and greedy agreement at the 0.5B shape, and the
// package's test checks token-for-token agreement on a tiny model in CI.
package llamacpp
