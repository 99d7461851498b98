// The Mamba mixer's causal depthwise convolution with its SiLU, for reading on CUDA:
//   xc[t, e] = silu(bias[e] + sum_k w[e, k] * xpad[t + k, e]),   xpad = [state (K-1 rows); x (T rows)]
// in one pass over x (the op-by-op form writes and reads (T, E) about eight times).
// fp32, torch-free; K <= kConvMaxWidth.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace mm::kernels {

constexpr int kConvMaxWidth = 8;

struct ConvSiluArgs {
    int64_t length = 0, channels = 0, width = 0;  // T, E, K
    const float* x = nullptr;                     // (T, E), row stride below, channels contiguous
    int64_t xRowStride = 0;
    const float* state = nullptr;                 // (K-1, E) contiguous: the inputs before x, oldest first
    const float* weight = nullptr;                // (E, K) contiguous
    const float* bias = nullptr;                  // (E)
    float* out = nullptr;                         // (T, E) contiguous
};

cudaError_t convSilu(const ConvSiluArgs& args, cudaStream_t stream);

}  // namespace mm::kernels
