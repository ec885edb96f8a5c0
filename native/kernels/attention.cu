// attention.cu: non-causal GQA attention with an online softmax
// (FlashAttention-style), split over keys for short query blocks against a
// long cached context, plus the log-sum-exp combine of the splits.
//
// Layouts (row-major): q and out [nq, hq, hd]; k and v [nk, hkv, hd] (the
// K/V cache rows 0..nk-1); key_valid [nk] (null: every key valid; 0 masks
// a padding key out); q_valid [nq] (null: every query valid; a masked query
// row gets a zero output). G = hq / hkv query heads share one K/V head.
//
// One block = 256 threads = 32 rows of 8 lanes. A row is one (query token,
// query head) pair of one K/V head, so the K/V tile loaded into shared
// memory serves all G heads: qt = 32 / G tokens per block. Lane l of a row
// owns head dims {32j + 4l .. 32j + 4l + 3 : j < 4} (16 of hd <= 128), so
// shared-memory reads are 16-byte and conflict-free. Scores are reduced
// across the 8 lanes with a butterfly reduce-scatter (lane l ends with keys
// 4l..4l+3 of the 32-key tile). Math in fp32, exp2 with the scale
// pre-multiplied by log2(e).
//
// Grid: (ceil(nq / qt), hkv, splits). With splits == 1 the block writes the
// normalised output; otherwise it writes the unnormalised partial output
// part_o [splits, nq, hq, hd] and (max, sum) part_ml [splits, nq, hq, 2],
// and attn_combine finishes. tiles_per_split = ceil(ceil(nk/32) / splits).
#include "common.cuh"

#define ATT_HD_MAX 128
#define ATT_ROWS 32
#define ATT_KT 32
#define ATT_PSTRIDE (ATT_KT + 1)

template <typename T>
__device__ __forceinline__ void attention(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                          const int* __restrict__ key_valid, const int* __restrict__ q_valid, T* __restrict__ out,
                                          float* __restrict__ part_o, float* __restrict__ part_ml,
                                          int nq, int nk, int hq, int hkv, int hd, int qt,
                                          float scale_log2, int tiles_per_split) {
    __shared__ __align__(16) float sk[ATT_KT * ATT_HD_MAX];
    __shared__ __align__(16) float sv[ATT_KT * ATT_HD_MAX];
    __shared__ float sp[ATT_ROWS * ATT_PSTRIDE];

    const int tid = threadIdx.x;
    const int r = tid >> 3, l = tid & 7;
    const int G = hq / hkv;
    const int kvh = blockIdx.y;
    const int token = blockIdx.x * qt + r / G;
    const int head = kvh * G + r % G;
    const bool row_ok = (r < qt * G) && (token < nq);
    // A masked-out query row attends to nothing: zero output, never NaN.
    const bool q_ok = row_ok && (q_valid == nullptr || q_valid[token] != 0);

    float qr[4][4], o[4][4];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int d = 32 * j + 4 * l + e;
            qr[j][e] = (row_ok && d < hd) ? to_f32(q[((long long)token * hq + head) * hd + d]) * scale_log2 : 0.f;
            o[j][e] = 0.f;
        }
    }
    float m = -INFINITY, lsum = 0.f;

    const int ntiles = (nk + ATT_KT - 1) / ATT_KT;
    const int t0 = blockIdx.z * tiles_per_split;
    const int t1 = min(ntiles, t0 + tiles_per_split);
    const long long kv_stride = (long long)hkv * hd;

    for (int tile = t0; tile < t1; ++tile) {
        const int k0 = tile * ATT_KT;
        __syncthreads();  // the previous tile's readers are done
        for (int idx = tid; idx < ATT_KT * hd; idx += blockDim.x) {
            const int kk = idx / hd, d = idx - kk * hd;
            const int key = k0 + kk;
            float kx = 0.f, vx = 0.f;
            if (key < nk) {
                const long long g = key * kv_stride + (long long)kvh * hd + d;
                kx = to_f32(k[g]);
                vx = to_f32(v[g]);
            }
            sk[kk * ATT_HD_MAX + d] = kx;
            sv[kk * ATT_HD_MAX + d] = vx;
        }
        __syncthreads();

        // Partial scores over this lane's dims for all 32 keys.
        float s[ATT_KT];
#pragma unroll
        for (int kk = 0; kk < ATT_KT; ++kk) {
            float acc = 0.f;
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                if (32 * j + 4 * l < hd) {
                    const float4 kv4 = *reinterpret_cast<const float4*>(&sk[kk * ATT_HD_MAX + 32 * j + 4 * l]);
                    acc += qr[j][0] * kv4.x + qr[j][1] * kv4.y + qr[j][2] * kv4.z + qr[j][3] * kv4.w;
                }
            }
            s[kk] = acc;
        }
        // Butterfly reduce-scatter over the 8 lanes: 32 -> 16 -> 8 -> 4 keys.
        float s16[16], s8[8], s4[4];
        {
            const bool hi = (l >> 2) & 1;
#pragma unroll
            for (int i = 0; i < 16; ++i) {
                const float a = s[i], b = s[16 + i];
                const float give = hi ? a : b, keep = hi ? b : a;
                s16[i] = keep + __shfl_xor_sync(0xffffffffu, give, 4);
            }
        }
        {
            const bool hi = (l >> 1) & 1;
#pragma unroll
            for (int i = 0; i < 8; ++i) {
                const float a = s16[i], b = s16[8 + i];
                const float give = hi ? a : b, keep = hi ? b : a;
                s8[i] = keep + __shfl_xor_sync(0xffffffffu, give, 2);
            }
        }
        {
            const bool hi = l & 1;
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const float a = s8[i], b = s8[4 + i];
                const float give = hi ? a : b, keep = hi ? b : a;
                s4[i] = keep + __shfl_xor_sync(0xffffffffu, give, 1);
            }
        }
        // Lane l now holds the full scores of keys k0 + 4l .. k0 + 4l + 3.
        float tmax = -INFINITY;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int key = k0 + 4 * l + i;
            const bool ok = q_ok && key < nk && (key_valid == nullptr || key_valid[key] != 0);
            if (!ok) s4[i] = -INFINITY;
            tmax = fmaxf(tmax, s4[i]);
        }
        tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 1));
        tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 2));
        tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 4));
        const float m_new = fmaxf(m, tmax);
        float alpha = 1.f, psum = 0.f, p[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) p[i] = 0.f;
        if (m_new != -INFINITY) {  // uniform across the 8 lanes of the row
            alpha = exp2f(m - m_new);  // m == -inf gives 0
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                p[i] = exp2f(s4[i] - m_new);
                psum += p[i];
            }
        }
        psum += __shfl_xor_sync(0xffffffffu, psum, 1);
        psum += __shfl_xor_sync(0xffffffffu, psum, 2);
        psum += __shfl_xor_sync(0xffffffffu, psum, 4);
        lsum = lsum * alpha + psum;
        m = m_new;
#pragma unroll
        for (int i = 0; i < 4; ++i) sp[r * ATT_PSTRIDE + 4 * l + i] = p[i];
        __syncwarp();
#pragma unroll
        for (int j = 0; j < 4; ++j) {
#pragma unroll
            for (int e = 0; e < 4; ++e) o[j][e] *= alpha;
        }
#pragma unroll 8
        for (int kk = 0; kk < ATT_KT; ++kk) {
            const float pk = sp[r * ATT_PSTRIDE + kk];
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                if (32 * j + 4 * l < hd) {
                    const float4 v4 = *reinterpret_cast<const float4*>(&sv[kk * ATT_HD_MAX + 32 * j + 4 * l]);
                    o[j][0] += pk * v4.x;
                    o[j][1] += pk * v4.y;
                    o[j][2] += pk * v4.z;
                    o[j][3] += pk * v4.w;
                }
            }
        }
        __syncwarp();
    }

    if (!row_ok) return;
    if (gridDim.z == 1) {
        const float inv = lsum > 0.f ? 1.f / lsum : 0.f;  // a row with no valid key gives zeros, not NaN
#pragma unroll
        for (int j = 0; j < 4; ++j) {
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int d = 32 * j + 4 * l + e;
                if (d < hd) out[((long long)token * hq + head) * hd + d] = from_f32<T>(o[j][e] * inv);
            }
        }
    } else {
        const long long idx = ((long long)blockIdx.z * nq + token) * hq + head;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int d = 32 * j + 4 * l + e;
                if (d < hd) part_o[idx * hd + d] = o[j][e];
            }
        }
        if (l == 0) {
            part_ml[2 * idx] = m;
            part_ml[2 * idx + 1] = lsum;
        }
    }
}

extern "C" __global__ void __launch_bounds__(256) attention_f32(const float* q, const float* k, const float* v, const int* key_valid, const int* q_valid, float* out,
                                                               float* part_o, float* part_ml, int nq, int nk, int hq, int hkv, int hd, int qt,
                                                               float scale_log2, int tiles_per_split) {
    attention<float>(q, k, v, key_valid, q_valid, out, part_o, part_ml, nq, nk, hq, hkv, hd, qt, scale_log2, tiles_per_split);
}

extern "C" __global__ void __launch_bounds__(256) attention_bf16(const bf16* q, const bf16* k, const bf16* v, const int* key_valid, const int* q_valid, bf16* out,
                                                                float* part_o, float* part_ml, int nq, int nk, int hq, int hkv, int hd, int qt,
                                                                float scale_log2, int tiles_per_split) {
    attention<bf16>(q, k, v, key_valid, q_valid, out, part_o, part_ml, nq, nk, hq, hkv, hd, qt, scale_log2, tiles_per_split);
}

// attn_combine merges the splits of one (token, head) row.
// Launch: grid nq*hq, block 128.
template <typename T>
__device__ __forceinline__ void attn_combine(const float* part_o, const float* part_ml, T* out, int nq, int hq, int hd, int splits) {
    const long long idx = blockIdx.x;
    const long long rows = (long long)nq * hq;
    if (idx >= rows) return;
    float M = -INFINITY;
    for (int s = 0; s < splits; ++s) M = fmaxf(M, part_ml[2 * (s * rows + idx)]);
    float L = 0.f;
    for (int s = 0; s < splits; ++s) {
        const float ms = part_ml[2 * (s * rows + idx)];
        if (ms != -INFINITY) L += part_ml[2 * (s * rows + idx) + 1] * exp2f(ms - M);
    }
    const float inv = L > 0.f ? 1.f / L : 0.f;
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float acc = 0.f;
        for (int s = 0; s < splits; ++s) {
            const float ms = part_ml[2 * (s * rows + idx)];
            if (ms != -INFINITY) acc += part_o[(s * rows + idx) * hd + d] * exp2f(ms - M);
        }
        out[idx * hd + d] = from_f32<T>(acc * inv);
    }
}

extern "C" __global__ void __launch_bounds__(128) attn_combine_f32(const float* part_o, const float* part_ml, float* out, int nq, int hq, int hd, int splits) {
    attn_combine<float>(part_o, part_ml, out, nq, hq, hd, splits);
}

extern "C" __global__ void __launch_bounds__(128) attn_combine_bf16(const float* part_o, const float* part_ml, bf16* out, int nq, int hq, int hd, int splits) {
    attn_combine<bf16>(part_o, part_ml, out, nq, hq, hd, splits);
}

// ---- Attention through tensor-core GEMMs (cuBLASLt) -----------------------
// For each K/V head g: S_g = Q_g·K_gᵀ (fp32), P_g = softmax(scale·S_g) in
// bf16 (as FlashAttention feeds P to its second product), O_g = P_g·V_g.
// Q_g is [T·G, hd] (bias_rope_kv with q_layout 1), S and P are
// [hkv, T·G, nk], O_g [hkv, T·G, hd]; attn_out_reorder writes O back as
// [T, hq, hd].

// attn_softmax: one block per row r of S (r = (g·T + t)·G + j).
// Launch: grid hkv·T·G, block 256.
template <typename T>
__device__ __forceinline__ void attn_softmax(const float* S, T* P, const int* key_valid, const int* q_valid,
                                             int T_, int G, int nk, int rows, float scale) {
    __shared__ float sh[32];
    const long long r = blockIdx.x;
    if (r >= rows) return;
    const int t = (int)((r / G) % T_);
    const float* s = S + r * nk;
    T* p = P + r * nk;
    const bool q_ok = q_valid == nullptr || q_valid[t] != 0;
    float m = -INFINITY;
    for (int j = threadIdx.x; j < nk; j += blockDim.x)
        if (q_ok && (key_valid == nullptr || key_valid[j] != 0)) m = fmaxf(m, s[j] * scale);
    m = warp_max(m);
    if ((threadIdx.x & 31) == 0) sh[threadIdx.x >> 5] = m;
    __syncthreads();
    if (threadIdx.x < 32) {
        float v = threadIdx.x < (blockDim.x >> 5) ? sh[threadIdx.x] : -INFINITY;
        v = warp_max(v);
        if (threadIdx.x == 0) sh[0] = v;
    }
    __syncthreads();
    m = sh[0];
    __syncthreads();
    float sum = 0.f;
    for (int j = threadIdx.x; j < nk; j += blockDim.x)
        if (m != -INFINITY && q_ok && (key_valid == nullptr || key_valid[j] != 0)) sum += expf(s[j] * scale - m);
    sum = block_sum(sum, sh);
    const float inv = sum > 0.f ? 1.f / sum : 0.f;  // no valid key: zeros, never NaN
    for (int j = threadIdx.x; j < nk; j += blockDim.x) {
        const bool ok = m != -INFINITY && q_ok && (key_valid == nullptr || key_valid[j] != 0);
        p[j] = from_f32<T>(ok ? expf(s[j] * scale - m) * inv : 0.f);
    }
}

extern "C" __global__ void __launch_bounds__(256) attn_softmax_f32(const float* S, float* P, const int* key_valid, const int* q_valid,
                                                                  int T_, int G, int nk, int rows, float scale) {
    attn_softmax<float>(S, P, key_valid, q_valid, T_, G, nk, rows, scale);
}

extern "C" __global__ void __launch_bounds__(256) attn_softmax_bf16(const float* S, bf16* P, const int* key_valid, const int* q_valid,
                                                                   int T_, int G, int nk, int rows, float scale) {
    attn_softmax<bf16>(S, P, key_valid, q_valid, T_, G, nk, rows, scale);
}

// attn_out_reorder: out[t, g·G + j, d] = og[g, t·G + j, d]. Grid-stride,
// block 256.
template <typename T>
__device__ __forceinline__ void attn_out_reorder(const T* og, T* out, int T_, int hkv, int G, int hd) {
    const long long n = (long long)T_ * hkv * G * hd;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        const int d = (int)(i % hd);
        const long long h = (i / hd) % ((long long)hkv * G);
        const long long t = i / ((long long)hd * hkv * G);
        const long long g = h / G, j = h % G;
        out[i] = og[((g * T_ + t) * G + j) * hd + d];
    }
}

extern "C" __global__ void __launch_bounds__(256) attn_out_reorder_f32(const float* og, float* out, int T_, int hkv, int G, int hd) {
    attn_out_reorder<float>(og, out, T_, hkv, G, hd);
}

extern "C" __global__ void __launch_bounds__(256) attn_out_reorder_bf16(const bf16* og, bf16* out, int T_, int hkv, int G, int hd) {
    attn_out_reorder<bf16>(og, out, T_, hkv, G, hd);
}
