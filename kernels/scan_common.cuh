// Device helpers shared by the scan kernels: loads of fp32/bf16 operands and the
// mixer's elementwise functions, written to match PyTorch's definitions.
#pragma once

#include "kernels/selective_scan.h"

#include <cuda_bf16.h>

namespace mm::kernels::detail {

__device__ __forceinline__ float toFloat(float v) { return v; }
__device__ __forceinline__ float toFloat(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ void store(float* p, float v) { *p = v; }
__device__ __forceinline__ void store(__nv_bfloat16* p, float v) { *p = __float2bfloat16(v); }

template <typename T>
__device__ __forceinline__ float loadAt(const StridedInput& in, int64_t b, int64_t t, int64_t x)
{
    return toFloat(__ldg(static_cast<const T*>(in.ptr) + b * in.batchStride + t * in.rowStride + x));
}

// torch.nn.functional.softplus with its default threshold 20.
__device__ __forceinline__ float softplus(float x) { return x > 20.f ? x : log1pf(expf(x)); }
__device__ __forceinline__ float sigmoid(float x) { return 1.f / (1.f + expf(-x)); }

// Chunking shared by the kernels and the host code that sizes the workspace.
struct Chunking {
    int64_t length, count;
};

}  // namespace mm::kernels::detail
