// kernels/conv_silu.h: one thread per (channel, run of time steps); the K-1 previous
// inputs slide through registers, so every input is read once.
#include "kernels/conv_silu.h"

namespace mm::kernels {

namespace {

constexpr int kThreads = 128;
constexpr int64_t kMinSteps = 16;

__global__ void convSiluKernel(ConvSiluArgs a, int64_t steps)
{
    const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (e >= a.channels)
        return;
    const int K = static_cast<int>(a.width);
    const int64_t t0 = static_cast<int64_t>(blockIdx.y) * steps;
    const int64_t t1 = t0 + steps < a.length ? t0 + steps : a.length;
    float w[kConvMaxWidth], window[kConvMaxWidth];  // window[j]: the input j + 1 - K steps before t
#pragma unroll
    for (int k = 0; k < kConvMaxWidth; ++k) {
        w[k] = k < K ? a.weight[e * K + k] : 0.0f;
        const int64_t p = t0 + k - (K - 1);  // index into x; negative: into the carried state
        window[k] = k >= K - 1 ? 0.0f : p >= 0 ? a.x[p * a.xRowStride + e] : a.state[(K - 1 + p) * a.channels + e];
    }
    const float b = a.bias[e];
    for (int64_t t = t0; t < t1; ++t) {
        const float xt = a.x[t * a.xRowStride + e];
        float acc = b;
#pragma unroll
        for (int k = 0; k < kConvMaxWidth - 1; ++k)
            if (k < K - 1)
                acc += w[k] * window[k];
        acc += w[K - 1] * xt;
#pragma unroll
        for (int k = 0; k < kConvMaxWidth - 1; ++k)
            if (k < K - 2)
                window[k] = window[k + 1];
        window[K - 2 >= 0 ? K - 2 : 0] = K >= 2 ? xt : 0.0f;
        a.out[t * a.channels + e] = acc / (1.0f + expf(-acc));  // SiLU, as torch's silu
    }
}

}  // namespace

cudaError_t convSilu(const ConvSiluArgs& a, cudaStream_t stream)
{
    if (a.length < 1 || a.channels < 1 || a.width < 1 || a.width > kConvMaxWidth || !a.x || !a.weight || !a.bias ||
        !a.out || (a.width > 1 && !a.state))
        return cudaErrorInvalidValue;
    int64_t steps = kMinSteps;
    if ((a.length + steps - 1) / steps > 65535)
        steps = (a.length + 65534) / 65535;
    const dim3 grid(static_cast<unsigned>((a.channels + kThreads - 1) / kThreads),
                    static_cast<unsigned>((a.length + steps - 1) / steps));
    convSiluKernel<<<grid, kThreads, 0, stream>>>(a, steps);
    return cudaGetLastError();
}

}  // namespace mm::kernels
