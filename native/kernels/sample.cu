// sample.cu: per-row sampling on the device, one block per masked row.
//
// For row r of logits [rows, vocab] (fp32, the LM head output):
//   z = logits / T (T = temperature; T <= 0 means greedy and uses T = 1 for
//   the probabilities, as Dream's sampler does).
//   Pass 1: the largest z (top1, smallest index on ties), the second largest
//   value (top2) and, when T > 0, the Gumbel-max draw argmax(z + g) with
//   g = -log(-log(u)), u from a counter-based hash of (seed, step, row, idx).
//   Pass 2: S = sum exp(z - top1) and E = sum exp(z - top1) * (z - top1).
// Outputs per row: tok (the greedy or sampled token) and stats[4] =
//   { p(tok), p(top1), p(top2), sum p log p } from which Go derives the
//   confidence of every Dream algorithm: maskgit_plus = p(tok),
//   topk_margin = p(top1) - p(top2), entropy = sum p log p.
// The seed and step are read from device memory (seed_step[0], [1]) so a
// captured CUDA graph draws fresh numbers on every replay.
// Not done here: top-p and top-k filtering (the backend samples those rows
// on the host).
#include "common.cuh"

#define SAMPLE_THREADS 512  // must equal the __launch_bounds__ of sample_rows

// uniform01 returns u in (0, 1) from (seed, step, row, idx).
__device__ __forceinline__ float uniform01(unsigned long long seed, unsigned long long step, int row, int idx) {
    unsigned long long h = mix64(seed ^ 0x9e3779b97f4a7c15ULL);
    h = mix64(h ^ (step * 0xd1b54a32d192ed03ULL));
    h = mix64(h ^ (((unsigned long long)(unsigned)row << 32) | (unsigned)idx));
    return ((float)(h >> 40) + 0.5f) * (1.0f / 16777216.0f);
}

struct Top2 {
    float v1;
    int i1;
    float v2;
};

__device__ __forceinline__ Top2 merge_top2(Top2 a, Top2 b) {
    Top2 r;
    const bool a_first = a.v1 > b.v1 || (a.v1 == b.v1 && a.i1 < b.i1);
    if (a_first) {
        r.v1 = a.v1;
        r.i1 = a.i1;
        r.v2 = fmaxf(a.v2, b.v1);
    } else {
        r.v1 = b.v1;
        r.i1 = b.i1;
        r.v2 = fmaxf(b.v2, a.v1);
    }
    return r;
}

extern "C" __global__ void __launch_bounds__(512) sample_rows(const float* logits, int rows, int vocab, float temperature,
                                                                     const unsigned long long* seed_step, int* tok, float* stats) {
    __shared__ Top2 sh_top[SAMPLE_THREADS / 32];
    __shared__ float sh_g[SAMPLE_THREADS / 32];
    __shared__ int sh_gi[SAMPLE_THREADS / 32];
    __shared__ float sh_sum[32];
    const int row = blockIdx.x;
    if (row >= rows || vocab <= 0) return;
    const float* z = logits + (long long)row * vocab;
    const bool sample = temperature > 0.f;
    const float invT = sample ? 1.f / temperature : 1.f;
    const unsigned long long seed = seed_step ? seed_step[0] : 0ULL;
    const unsigned long long step = seed_step ? seed_step[1] : 0ULL;

    Top2 t;
    t.v1 = -INFINITY;
    t.i1 = 0x7fffffff;
    t.v2 = -INFINITY;
    float gbest = -INFINITY;
    int gidx = 0x7fffffff;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        const float x = z[i] * invT;
        if (x > t.v1) {  // strided ascending i: ties keep the smaller index
            t.v2 = t.v1;
            t.v1 = x;
            t.i1 = i;
        } else if (x > t.v2) {
            t.v2 = x;
        }
        if (sample) {
            const float u = uniform01(seed, step, row, i);
            const float g = x - logf(-logf(u));
            if (g > gbest) {
                gbest = g;
                gidx = i;
            }
        }
    }
    // Warp, then block reduction of the top two and the Gumbel winner.
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        Top2 u;
        u.v1 = __shfl_xor_sync(0xffffffffu, t.v1, o);
        u.i1 = __shfl_xor_sync(0xffffffffu, t.i1, o);
        u.v2 = __shfl_xor_sync(0xffffffffu, t.v2, o);
        t = merge_top2(t, u);
        const float og = __shfl_xor_sync(0xffffffffu, gbest, o);
        const int oi = __shfl_xor_sync(0xffffffffu, gidx, o);
        if (og > gbest || (og == gbest && oi < gidx)) {
            gbest = og;
            gidx = oi;
        }
    }
    const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (lane == 0) {
        sh_top[w] = t;
        sh_g[w] = gbest;
        sh_gi[w] = gidx;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int i = 1; i < nw; ++i) {
            t = merge_top2(t, sh_top[i]);
            if (sh_g[i] > gbest || (sh_g[i] == gbest && sh_gi[i] < gidx)) {
                gbest = sh_g[i];
                gidx = sh_gi[i];
            }
        }
        sh_top[0] = t;
        sh_gi[0] = sample ? gidx : t.i1;
    }
    __syncthreads();
    t = sh_top[0];
    const int chosen = sh_gi[0];

    // Pass 2: normaliser and entropy term (logits are still in L2).
    float S = 0.f, E = 0.f;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        const float d = z[i] * invT - t.v1;
        const float e = expf(d);
        S += e;
        E += e * d;
    }
    S = block_sum(S, sh_sum);
    E = block_sum(E, sh_sum);
    if (threadIdx.x == 0) {
        int c = chosen;
        if (c < 0 || c >= vocab) c = (t.i1 >= 0 && t.i1 < vocab) ? t.i1 : 0;  // all -inf or NaN logits
        tok[row] = c;
        const float invS = 1.f / S;
        float* st = stats + 4 * (long long)row;
        st[0] = expf(z[c] * invT - t.v1) * invS;
        st[1] = invS;
        st[2] = expf(t.v2 - t.v1) * invS;
        st[3] = E * invS - logf(S);
    }
}
