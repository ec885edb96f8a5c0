// rmsnorm.cu: fused residual add + RMSNorm, one block per row.
#include "common.cuh"

// resid[r] += x[r] (skipped when x is null), then
// out[r] = w * round_T(resid[r] * rsqrt(mean(resid[r]^2) + eps)),
// in fp32 with T rounding where PyTorch rounds (Qwen2RMSNorm: upcast,
// normalise, cast back, multiply by the weight). out may alias x.
template <typename T>
__device__ __forceinline__ void add_rmsnorm(T* resid, const T* x, const T* w, T* out, int rows, int dim, float eps) {
    __shared__ float sh[32];
    const int row = blockIdx.x;
    if (row >= rows) return;
    T* r = resid + (long long)row * dim;
    const T* xr = x ? x + (long long)row * dim : nullptr;
    T* o = out + (long long)row * dim;
    float ss = 0.f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        float v = to_f32(r[i]);
        if (xr) {
            v = rnd<T>(v + to_f32(xr[i]));
            r[i] = from_f32<T>(v);
        }
        ss += v * v;
    }
    ss = block_sum(ss, sh);
    const float inv = rsqrtf(ss / (float)dim + eps);
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        const float v = to_f32(r[i]);  // this thread's own write above
        o[i] = from_f32<T>(to_f32(w[i]) * rnd<T>(v * inv));
    }
}

// Launch: grid rows, block 256.
extern "C" __global__ void __launch_bounds__(256) add_rmsnorm_f32(float* resid, const float* x, const float* w, float* out, int rows, int dim, float eps) {
    add_rmsnorm<float>(resid, x, w, out, rows, dim, eps);
}

extern "C" __global__ void __launch_bounds__(256) add_rmsnorm_bf16(bf16* resid, const bf16* x, const bf16* w, bf16* out, int rows, int dim, float eps) {
    add_rmsnorm<bf16>(resid, x, w, out, rows, dim, eps);
}
