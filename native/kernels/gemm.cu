// gemm.cu: skinny GEMM for few rows (M <= 64), where cuBLAS reads the
// weights well below bandwidth (gpu-notes §6: 0.6-0.9 TB/s on the QKV and
// O projections). y[M,N] = x[M,K]·w[N,K]ᵀ in bf16 with fp32 accumulation
// on the tensor cores (mma.sync m16n8k16).
//
// A block of 4 warps owns 32 output columns (four 8-column tiles) and all
// M rows. The warps take interleaved 16-wide k-steps (warp w: steps w,
// w+4, ...), so together they read 128 contiguous bytes of each weight row
// per round; each weight byte is read once. Partial sums of the four warps
// are added in shared memory and written as bf16. Requirements (checked by
// the host): M <= 64, K % 16 == 0, rows 4-byte aligned.
#include "common.cuh"

#define SK_WARPS 4
#define SK_COLS 32

__device__ __forceinline__ unsigned ld_pair(const bf16* p) { return *reinterpret_cast<const unsigned*>(p); }

extern "C" __global__ void __launch_bounds__(128) gemm_skinny_bf16(bf16* y, const bf16* x, const bf16* w, int M, int N, int K) {
    __shared__ float red[SK_WARPS][64][SK_COLS];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int g = lane >> 2, t = lane & 3;
    const int n0 = blockIdx.x * SK_COLS;
    const int MT = (M + 15) / 16;

    float acc[4][4][4];
#pragma unroll
    for (int mt = 0; mt < 4; ++mt)
#pragma unroll
        for (int nt = 0; nt < 4; ++nt)
#pragma unroll
            for (int i = 0; i < 4; ++i) acc[mt][nt][i] = 0.f;

    // Row pointers of this lane's B fragments (weight rows n0 + nt*8 + g);
    // rows past N read row 0 and are never stored.
    const bf16* wrow[4];
#pragma unroll
    for (int nt = 0; nt < 4; ++nt) {
        const int n = n0 + nt * 8 + g;
        wrow[nt] = w + (long long)(n < N ? n : 0) * K + 2 * t;
    }
    const int ksteps = K / 16;
    for (int ks = warp; ks < ksteps; ks += SK_WARPS) {
        const int k0 = ks * 16;
        unsigned b[4][2];
#pragma unroll
        for (int nt = 0; nt < 4; ++nt) {
            b[nt][0] = ld_pair(wrow[nt] + k0);
            b[nt][1] = ld_pair(wrow[nt] + k0 + 8);
        }
#pragma unroll
        for (int mt = 0; mt < 4; ++mt) {
            if (mt < MT) {  // uniform across the warp
                const int r0 = mt * 16 + g, r1 = r0 + 8;
                unsigned a[4];
                const bf16* x0 = x + (long long)r0 * K + k0 + 2 * t;
                const bf16* x1 = x + (long long)r1 * K + k0 + 2 * t;
                a[0] = r0 < M ? ld_pair(x0) : 0u;
                a[1] = r1 < M ? ld_pair(x1) : 0u;
                a[2] = r0 < M ? ld_pair(x0 + 8) : 0u;
                a[3] = r1 < M ? ld_pair(x1 + 8) : 0u;
#pragma unroll
                for (int nt = 0; nt < 4; ++nt) mma_bf16_16816(acc[mt][nt], a, b[nt]);
            }
        }
    }
    // Cross-warp reduction of the 4 partial tiles, then bf16 stores.
#pragma unroll
    for (int mt = 0; mt < 4; ++mt) {
        if (mt < MT) {
#pragma unroll
            for (int nt = 0; nt < 4; ++nt) {
#pragma unroll
                for (int i = 0; i < 4; ++i) {
                    const int row = mt * 16 + g + (i >= 2 ? 8 : 0);
                    const int col = nt * 8 + 2 * t + (i & 1);
                    red[warp][row][col] = acc[mt][nt][i];
                }
            }
        }
    }
    __syncthreads();
    for (int e = threadIdx.x; e < MT * 16 * SK_COLS; e += blockDim.x) {
        const int row = e / SK_COLS, col = e % SK_COLS;
        if (row >= M || n0 + col >= N) continue;
        float s = 0.f;
#pragma unroll
        for (int wi = 0; wi < SK_WARPS; ++wi) s += red[wi][row][col];
        y[(long long)row * N + n0 + col] = from_f32<bf16>(s);
    }
}

// gemm_f32_simple: y[M,N] = x[M,K]·w[N,K]ᵀ (+ bias[N]) in fp32, one output
// per thread with a 16×16 tile of x and w staged in shared memory. The
// float32 backend's fallback when cuBLASLt offers no algorithm for a
// shape (and for K = 0); correct, not fast. Launch: block 256 (16×16),
// grid (ceil(N/16), ceil(M/16)).
extern "C" __global__ void __launch_bounds__(256) gemm_f32_simple(float* y, const float* x, const float* w, const float* bias, int M, int N, int K) {
    __shared__ float xs[16][17];
    __shared__ float ws[16][17];
    const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
    const int row = blockIdx.y * 16 + ty, col = blockIdx.x * 16 + tx;
    float acc = 0.f;
    for (int k0 = 0; k0 < K; k0 += 16) {
        const int xr = blockIdx.y * 16 + ty, wr = blockIdx.x * 16 + ty, kk = k0 + tx;
        xs[ty][tx] = (xr < M && kk < K) ? x[(long long)xr * K + kk] : 0.f;
        ws[ty][tx] = (wr < N && kk < K) ? w[(long long)wr * K + kk] : 0.f;
        __syncthreads();
#pragma unroll
        for (int k = 0; k < 16; ++k) acc += xs[ty][k] * ws[tx][k];
        __syncthreads();
    }
    if (row < M && col < N) y[(long long)row * N + col] = acc + (bias ? bias[col] : 0.f);
}
