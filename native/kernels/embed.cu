// embed.cu: embedding gather, one block per token.
#include "common.cuh"

template <typename T>
__device__ __forceinline__ void embed_gather(T* out, const T* table, const int* ids, int n, int dim, int vocab) {
    const int row = blockIdx.x;
    if (row >= n) return;
    const int id = ids[row];
    T* o = out + (long long)row * dim;
    if (id < 0 || id >= vocab) {  // out-of-range ids give a zero row, never a wild read
        for (int i = threadIdx.x; i < dim; i += blockDim.x) o[i] = from_f32<T>(0.f);
        return;
    }
    const T* src = table + (long long)id * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) o[i] = src[i];
}

// out[n, dim] = table[ids[i], :]. Launch: grid n, block 256.
extern "C" __global__ void __launch_bounds__(256) embed_gather_f32(float* out, const float* table, const int* ids, int n, int dim, int vocab) {
    embed_gather<float>(out, table, ids, n, dim, vocab);
}

extern "C" __global__ void __launch_bounds__(256) embed_gather_bf16(bf16* out, const bf16* table, const int* ids, int n, int dim, int vocab) {
    embed_gather<bf16>(out, table, ids, n, dim, vocab);
}

// gather_rows: out[i, :] = in[src, :] with src = rows[i], or rows[i] - 1
// (0 stays 0) when shift is set: Dream's shifted logits, so the LM head
// runs only on the hidden rows that predict masked slots.
// Launch: grid n, block 256.
template <typename T>
__device__ __forceinline__ void gather_rows(T* out, const T* in, const int* rows, int n, int dim, int nrows, int shift) {
    const int i = blockIdx.x;
    if (i >= n) return;
    int src = rows[i];
    if (shift && src > 0) src -= 1;
    T* o = out + (long long)i * dim;
    if (src < 0 || src >= nrows) {
        for (int c = threadIdx.x; c < dim; c += blockDim.x) o[c] = from_f32<T>(0.f);
        return;
    }
    const T* s = in + (long long)src * dim;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) o[c] = s[c];
}

extern "C" __global__ void __launch_bounds__(256) gather_rows_f32(float* out, const float* in, const int* rows, int n, int dim, int nrows, int shift) {
    gather_rows<float>(out, in, rows, n, dim, nrows, shift);
}

extern "C" __global__ void __launch_bounds__(256) gather_rows_bf16(bf16* out, const bf16* in, const int* rows, int n, int dim, int nrows, int shift) {
    gather_rows<bf16>(out, in, rows, n, dim, nrows, shift);
}

// Conversions between float32 and bf16 buffers (grid-stride; block 256).
extern "C" __global__ void __launch_bounds__(256) cast_f32_bf16(bf16* out, const float* in, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        out[i] = from_f32<bf16>(in[i]);
}

extern "C" __global__ void __launch_bounds__(256) cast_bf16_f32(float* out, const bf16* in, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        out[i] = to_f32(in[i]);
}

// fill_uniform_* writes offset + scale * u with u uniform in [-1, 1) from a
// hash of (seed, index): random weights generated on the device for
// benchmarks and tests (block 256, grid-stride).
__device__ __forceinline__ float hash_uniform(unsigned long long seed, long long i) {
    const unsigned long long h = mix64(mix64(seed ^ 0x5851f42d4c957f2dULL) ^ (unsigned long long)i);
    return (float)(h >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

extern "C" __global__ void __launch_bounds__(256) fill_uniform_bf16(bf16* out, long long n, unsigned long long seed, float scale, float offset) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        out[i] = from_f32<bf16>(offset + scale * hash_uniform(seed, i));
}

extern "C" __global__ void __launch_bounds__(256) fill_uniform_f32(float* out, long long n, unsigned long long seed, float scale, float offset) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        out[i] = offset + scale * hash_uniform(seed, i);
}
