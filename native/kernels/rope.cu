// rope.cu: q/k/v bias + rotary embedding + K/V cache write, one block per token.
#include "common.cuh"

// rope_cs returns the cosine and sine of angle p * theta^(-2i/hd), rounded
// to T. The float path computes in double and rounds once (the reference
// semantics of the CPU backend); the bf16 path follows HF Qwen2: inv_freq,
// angle, cos and sin in fp32, then cast to the activation dtype.
template <typename T> __device__ __forceinline__ void rope_cs(float p, int i, int hd, float theta, float* c, float* s);
template <> __device__ __forceinline__ void rope_cs<float>(float p, int i, int hd, float theta, float* c, float* s) {
    const double a = (double)p * pow((double)theta, -(double)(2 * i) / (double)hd);
    *c = (float)cos(a);
    *s = (float)sin(a);
}
template <> __device__ __forceinline__ void rope_cs<bf16>(float p, int i, int hd, float theta, float* c, float* s) {
    const float inv_freq = 1.0f / powf(theta, (float)(2 * i) / (float)hd);
    const float a = p * inv_freq;
    *c = rnd<bf16>(cosf(a));
    *s = rnd<bf16>(sinf(a));
}

// qkv is the fused projection output [rows, (hq + 2*hkv) * hd]: q heads,
// then k heads, then v heads. For each token: add the bias (if any),
// rotate q and k (NeoX rotate-half: dim i pairs with i + hd/2,
// inv_freq = theta^(-2i/hd) in fp32, cos/sin rounded to T as HF does),
// write q to q_out and k, v to row slots[r] (r when slots is null) of
// k_cache, v_cache [*, hkv*hd]: Fast-dLLM's replace_position. q_layout 0
// writes q as [rows, hq, hd]; 1 writes it grouped by K/V head,
// [hkv, rows, hq/hkv, hd], the layout of the GEMM attention path.
template <typename T>
__device__ __forceinline__ void bias_rope_kv(const T* qkv, const T* bias, const int* pos, const int* slots,
                                             T* q_out, T* k_cache, T* v_cache,
                                             int rows, int hq, int hkv, int hd, float theta, int q_layout) {
    const int row = blockIdx.x;
    if (row >= rows) return;
    const int half = hd / 2;
    const int width = (hq + 2 * hkv) * hd;
    const int G = hq / hkv;
    const T* in = qkv + (long long)row * width;
    const float p = (float)pos[row];
    const long long slot = slots ? slots[row] : row;
    T* qo = q_out + (long long)row * hq * hd;
    T* ko = k_cache + slot * hkv * hd;
    T* vo = v_cache + slot * hkv * hd;
    // A token's (head, pair) items and v values are spread over gridDim.y
    // blocks: one block of 128 threads per token left the GPU nearly idle
    // for a cached step's few tokens (20 us a layer on an H200).
    const int first = blockIdx.y * blockDim.x + threadIdx.x, stride = gridDim.y * blockDim.x;
    for (int t = first; t < (hq + hkv) * half; t += stride) {
        const int h = t / half, i = t - h * half;
        const int base = h * hd;
        float x1 = to_f32(in[base + i]), x2 = to_f32(in[base + i + half]);
        if (bias) {
            x1 = rnd<T>(x1 + to_f32(bias[base + i]));
            x2 = rnd<T>(x2 + to_f32(bias[base + i + half]));
        }
        float c, s;
        rope_cs<T>(p, i, hd, theta, &c, &s);
        const float y1 = rnd<T>(rnd<T>(x1 * c) + rnd<T>(-x2 * s));
        const float y2 = rnd<T>(rnd<T>(x2 * c) + rnd<T>(x1 * s));
        T* dst;
        if (h >= hq) dst = ko + (h - hq) * hd;
        else if (q_layout == 1) dst = q_out + (((long long)(h / G) * rows + row) * G + h % G) * hd;
        else dst = qo + base;
        dst[i] = from_f32<T>(y1);
        dst[i + half] = from_f32<T>(y2);
    }
    const int voff = (hq + hkv) * hd;
    for (int t = first; t < hkv * hd; t += stride) {
        float v = to_f32(in[voff + t]);
        if (bias) v = rnd<T>(v + to_f32(bias[voff + t]));
        vo[t] = from_f32<T>(v);
    }
}

// Launch: grid (rows, any y: (hq + hkv) * hd / 2 / 128 spreads a token's
// pairs one a thread), block 128.
extern "C" __global__ void __launch_bounds__(128) bias_rope_kv_f32(const float* qkv, const float* bias, const int* pos, const int* slots,
                                                                  float* q_out, float* k_cache, float* v_cache,
                                                                  int rows, int hq, int hkv, int hd, float theta, int q_layout) {
    bias_rope_kv<float>(qkv, bias, pos, slots, q_out, k_cache, v_cache, rows, hq, hkv, hd, theta, q_layout);
}

extern "C" __global__ void __launch_bounds__(128) bias_rope_kv_bf16(const bf16* qkv, const bf16* bias, const int* pos, const int* slots,
                                                                   bf16* q_out, bf16* k_cache, bf16* v_cache,
                                                                   int rows, int hq, int hkv, int hd, float theta, int q_layout) {
    bias_rope_kv<bf16>(qkv, bias, pos, slots, q_out, k_cache, v_cache, rows, hq, hkv, hd, theta, q_layout);
}

// rope_inplace rotates x [rows, heads*hd] in place (no bias, no cache):
// the unfused RoPE of backend.Backend. Launch: grid rows, block 128.
template <typename T>
__device__ __forceinline__ void rope_inplace(T* x, const int* pos, int rows, int heads, int hd, float theta) {
    const int row = blockIdx.x;
    if (row >= rows) return;
    const int half = hd / 2;
    T* in = x + (long long)row * heads * hd;
    const float p = (float)pos[row];
    for (int t = threadIdx.x; t < heads * half; t += blockDim.x) {
        const int h = t / half, i = t - h * half;
        T* v = in + h * hd;
        const float x1 = to_f32(v[i]), x2 = to_f32(v[i + half]);
        float c, s;
        rope_cs<T>(p, i, hd, theta, &c, &s);
        v[i] = from_f32<T>(rnd<T>(rnd<T>(x1 * c) + rnd<T>(-x2 * s)));
        v[i + half] = from_f32<T>(rnd<T>(rnd<T>(x2 * c) + rnd<T>(x1 * s)));
    }
}

extern "C" __global__ void __launch_bounds__(128) rope_inplace_f32(float* x, const int* pos, int rows, int heads, int hd, float theta) {
    rope_inplace<float>(x, pos, rows, heads, hd, theta);
}

extern "C" __global__ void __launch_bounds__(128) rope_inplace_bf16(bf16* x, const int* pos, int rows, int heads, int hd, float theta) {
    rope_inplace<bf16>(x, pos, rows, heads, hd, theta);
}
