// nvrtc_prelude.h: what NVRTC declares built in, for compiling the kernel
// units with clang's CUDA front end and no CUDA toolkit (-nocudainc
// -nocudalib). Only the declarations the kernels use are provided; the
// math and bit-cast functions come from clang's own CUDA headers.
#pragma once
#define __host__ __attribute__((host))
#define __device__ __attribute__((device))
#define __global__ __attribute__((global))
#define __shared__ __attribute__((shared))
#define __constant__ __attribute__((constant))
#define __forceinline__ __inline__ __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...) __attribute__((launch_bounds(__VA_ARGS__)))
#define __align__(n) __attribute__((aligned(n)))
#define CUDA_VERSION 12000
typedef __SIZE_TYPE__ size_t;
#define INT_MAX __INT_MAX__
#define INT_MIN (-__INT_MAX__ - 1)
#define HUGE_VAL __builtin_huge_val()
#define HUGE_VALF __builtin_huge_valf()
#include <__clang_cuda_builtin_vars.h>
#include <__clang_cuda_libdevice_declares.h>
#include <__clang_cuda_device_functions.h>
#include <__clang_cuda_math.h>

// Vector types (NVRTC defines them with these alignments).
struct __align__(8) float2 { float x, y; };
struct __align__(16) float4 { float x, y, z, w; };
struct __align__(8) uint2 { unsigned x, y; };
struct __align__(16) uint4 { unsigned x, y, z, w; };
struct __align__(16) int4 { int x, y, z, w; };

// Warp-level primitives.
__device__ inline float __shfl_xor_sync(unsigned mask, float v, int lane, int width = 32) {
  return __nvvm_shfl_sync_bfly_f32(mask, v, lane, ((32 - width) << 8) | 0x1f);
}
__device__ inline int __shfl_xor_sync(unsigned mask, int v, int lane, int width = 32) {
  return __nvvm_shfl_sync_bfly_i32(mask, v, lane, ((32 - width) << 8) | 0x1f);
}
__device__ inline unsigned __shfl_xor_sync(unsigned mask, unsigned v, int lane, int width = 32) {
  return (unsigned)__nvvm_shfl_sync_bfly_i32(mask, (int)v, lane, ((32 - width) << 8) | 0x1f);
}
__device__ inline float __shfl_sync(unsigned mask, float v, int src, int width = 32) {
  return __nvvm_shfl_sync_idx_f32(mask, v, src, ((32 - width) << 8) | 0x1f);
}
__device__ inline int __shfl_sync(unsigned mask, int v, int src, int width = 32) {
  return __nvvm_shfl_sync_idx_i32(mask, v, src, ((32 - width) << 8) | 0x1f);
}
__device__ inline void __syncwarp(unsigned mask = 0xffffffffu) { __nvvm_bar_warp_sync(mask); }
