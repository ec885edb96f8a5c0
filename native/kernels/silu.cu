// silu.cu: SwiGLU activation, grid-stride over elements.
#include "common.cuh"

// out[r, c] = round_T(silu(gate[r, c])) * up[r, c], with gate and up rows
// ld elements apart (for a fused gate+up projection [rows, 2f]: gate = gu,
// up = gu + f, ld = 2f). out is [rows, f].
template <typename T>
__device__ __forceinline__ void silu_mul(T* out, const T* gate, const T* up, int rows, int f, int ld) {
    const long long n = (long long)rows * f;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        const long long r = i / f;
        const int c = (int)(i - r * f);
        const float g = to_f32(gate[r * ld + c]);
        const float u = to_f32(up[r * ld + c]);
        const float sg = rnd<T>(g / (1.0f + expf(-g)));
        out[i] = from_f32<T>(sg * u);
    }
}

// Launch: block 256, grid min(ceil(rows*f/256), 132*8).
extern "C" __global__ void __launch_bounds__(256) silu_mul_f32(float* out, const float* gate, const float* up, int rows, int f, int ld) {
    silu_mul<float>(out, gate, up, rows, f, ld);
}

extern "C" __global__ void __launch_bounds__(256) silu_mul_bf16(bf16* out, const bf16* gate, const bf16* up, int rows, int f, int ld) {
    silu_mul<bf16>(out, gate, up, rows, f, ld);
}

// add: out = a + b elementwise over n values (out may alias a or b).
// Launch: block 256, grid-stride.
template <typename T>
__device__ __forceinline__ void add(T* out, const T* a, const T* b, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        out[i] = from_f32<T>(to_f32(a[i]) + to_f32(b[i]));
}

extern "C" __global__ void __launch_bounds__(256) add_f32(float* out, const float* a, const float* b, long long n) {
    add<float>(out, a, b, n);
}

extern "C" __global__ void __launch_bounds__(256) add_bf16(bf16* out, const bf16* a, const bf16* b, long long n) {
    add<bf16>(out, a, b, n);
}
