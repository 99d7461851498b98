// Pool attention on the kernel of kernels/pool_attention.cu, for reading on CUDA
// (engine/model.cpp's poolAttention). MEMMAMBA_POOL_ATTENTION=sdpa takes LibTorch's
// memory-efficient attention instead, =reference the op-by-op form with fp32 scores.
// Without a CUDA build poolAttentionKernelApplies() is false.
#pragma once

#include <ATen/ATen.h>

namespace mm::engine {

/// q on a CUDA device, float, no autograd, the head width and pool size within the kernel's reach.
bool poolAttentionKernelApplies(const at::Tensor& q, int64_t slots, int64_t headDim);

/// q (T, r) columns contiguous; k, v (G, M', r); mask (G, M') bool. Token i reads the
/// snapshot of group (offset + i) / chunk. Returns (T, r).
at::Tensor poolAttentionCuda(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                             int64_t offset, int64_t chunk, int64_t heads);

}  // namespace mm::engine
