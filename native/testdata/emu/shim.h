// shim.h: runs the CUDA kernels of native/kernels on the CPU so their logic
// (indexing, barriers, warp shuffles, the online softmax) can be tested
// without a GPU. Every CUDA thread of a block is a fiber (ucontext) on one
// OS thread; __syncthreads, __syncwarp and the two phases of a shuffle
// switch to the scheduler, which releases a warp (or the block) once all
// its live threads have arrived. Included before the .cu files; built by
// native's emu_test.go with the host C++ compiler.
#pragma once
#define DREAM_EMU 1
#include <ucontext.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define __restrict__ __restrict

struct emu_dim3 {
    unsigned x = 1, y = 1, z = 1;
};
inline emu_dim3 threadIdx, blockIdx, blockDim, gridDim;

enum { EMU_RUN = 0, EMU_WARP = 1, EMU_BLOCK = 2, EMU_DONE = 3 };
struct emu_fiber {
    ucontext_t ctx;
    int state = EMU_RUN;
};
inline std::vector<emu_fiber>* emu_fibers;
inline ucontext_t emu_sched;
inline int emu_cur;
inline uint32_t emu_slots[1024];
inline std::function<void()>* emu_kernel;

inline void emu_wait(int kind) {
    emu_fiber& f = (*emu_fibers)[emu_cur];
    f.state = kind;
    swapcontext(&f.ctx, &emu_sched);
}

inline void __syncthreads() { emu_wait(EMU_BLOCK); }
inline void __syncwarp(unsigned = 0xffffffffu) { emu_wait(EMU_WARP); }

template <typename T>
inline T __shfl_xor_sync(unsigned, T v, int o) {
    static_assert(sizeof(T) == 4, "32-bit shuffles only");
    const unsigned tid = threadIdx.x;
    uint32_t u;
    std::memcpy(&u, &v, 4);
    emu_slots[tid] = u;
    emu_wait(EMU_WARP);
    u = emu_slots[(tid & ~31u) | ((tid & 31u) ^ (unsigned)o)];
    emu_wait(EMU_WARP);
    T r;
    std::memcpy(&r, &u, 4);
    return r;
}

inline unsigned __float_as_uint(float x) { unsigned u; std::memcpy(&u, &x, 4); return u; }
inline float __uint_as_float(unsigned u) { float x; std::memcpy(&x, &u, 4); return x; }
inline float __int_as_float(int u) { float x; std::memcpy(&x, &u, 4); return x; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
using std::max;
using std::min;

struct alignas(16) float4 {
    float x, y, z, w;
};

inline void emu_entry() {
    (*emu_kernel)();
    (*emu_fibers)[emu_cur].state = EMU_DONE;
    swapcontext(&(*emu_fibers)[emu_cur].ctx, &emu_sched);
}

// emu_launch runs kernel over grid blocks of threads, one block at a time.
template <typename F>
void emu_launch(emu_dim3 grid, unsigned threads, F kernel) {
    std::function<void()> fn = kernel;
    emu_kernel = &fn;
    gridDim = grid;
    blockDim = emu_dim3{threads, 1, 1};
    const size_t stack = 64 << 10;
    std::vector<std::unique_ptr<char[]>> stacks(threads);  // reused by every block
    for (auto& st : stacks) st.reset(new char[stack]);      // not zeroed: cheap
    for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
            for (unsigned x = 0; x < grid.x; ++x) {
                blockIdx = emu_dim3{x, y, z};
                std::vector<emu_fiber> fibers(threads);
                emu_fibers = &fibers;
                for (unsigned t = 0; t < threads; ++t) {
                    emu_fiber& f = fibers[t];
                    getcontext(&f.ctx);
                    f.ctx.uc_stack.ss_sp = stacks[t].get();
                    f.ctx.uc_stack.ss_size = stack;
                    f.ctx.uc_link = &emu_sched;
                    makecontext(&f.ctx, emu_entry, 0);
                }
                for (;;) {
                    bool progress = false, all_done = true;
                    for (unsigned t = 0; t < threads; ++t) {
                        if (fibers[t].state == EMU_RUN) {
                            emu_cur = (int)t;
                            threadIdx = emu_dim3{t, 0, 0};
                            swapcontext(&emu_sched, &fibers[t].ctx);
                            progress = true;
                        }
                    }
                    for (unsigned w = 0; w < threads; w += 32) {
                        bool any = false, all = true;
                        for (unsigned t = w; t < std::min(threads, w + 32); ++t) {
                            if (fibers[t].state == EMU_DONE) continue;
                            any = true;
                            all = all && fibers[t].state == EMU_WARP;
                        }
                        if (any && all) {
                            for (unsigned t = w; t < std::min(threads, w + 32); ++t)
                                if (fibers[t].state == EMU_WARP) fibers[t].state = EMU_RUN;
                            progress = true;
                        }
                    }
                    bool any = false, all = true;
                    for (auto& f : fibers) {
                        if (f.state == EMU_DONE) continue;
                        any = true;
                        all_done = false;
                        all = all && f.state == EMU_BLOCK;
                    }
                    if (any && all) {
                        for (auto& f : fibers) f.state = EMU_RUN;
                        progress = true;
                    }
                    if (all_done) break;
                    if (!progress) {
                        std::fprintf(stderr, "emu: deadlock in block (%u,%u,%u)\n", x, y, z);
                        std::abort();
                    }
                }
            }
}

// Tensor-core emulation: every lane publishes its fragments, then each
// lane computes its own four outputs from the whole warp's fragments (the
// layout documented at mma_bf16_16816 in common.cuh).
inline unsigned emu_mma_a[1024][4], emu_mma_b[1024][2];
inline float emu_bf16_half(unsigned reg, int hi) { return __uint_as_float((hi ? reg >> 16 : reg & 0xffffu) << 16); }
inline void emu_mma_bf16_16816(float* d, const unsigned* a, const unsigned* b) {
    const unsigned tid = threadIdx.x, base = tid & ~31u, lane = tid & 31u;
    for (int i = 0; i < 4; ++i) emu_mma_a[tid][i] = a[i];
    for (int i = 0; i < 2; ++i) emu_mma_b[tid][i] = b[i];
    emu_wait(EMU_WARP);
    const int g = lane >> 2, t = lane & 3;
    auto A = [&](int r, int k) {
        const unsigned src = base + (r % 8) * 4 + (k % 8) / 2;
        return emu_bf16_half(emu_mma_a[src][(r >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0)], k & 1);
    };
    auto B = [&](int k, int c) {
        const unsigned src = base + c * 4 + (k % 8) / 2;
        return emu_bf16_half(emu_mma_b[src][k >= 8 ? 1 : 0], k & 1);
    };
    for (int i = 0; i < 4; ++i) {
        const int r = g + (i >= 2 ? 8 : 0), c = 2 * t + (i & 1);
        float s = d[i];
        for (int k = 0; k < 16; ++k) s += A(r, k) * B(k, c);
        d[i] = s;
    }
    emu_wait(EMU_WARP);
}
