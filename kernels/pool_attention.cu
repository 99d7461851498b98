// kernels/pool_attention.h: one block per (group, head), keys and values of the group's
// snapshot in shared memory, one thread per token row with an online softmax.
#include "kernels/pool_attention.h"

#include <cmath>

namespace mm::kernels {

namespace {

constexpr int kThreads = 128;
constexpr size_t kMaxShared = 48 * 1024;  // without opting in to more

size_t sharedBytes(int64_t slots, int64_t headDim)
{
    return static_cast<size_t>(slots) * (2 * headDim * sizeof(float) + sizeof(int));
}

template <int DH>
__global__ void poolAttentionKernel(PoolAttentionArgs a, float scale)
{
    extern __shared__ float smem[];
    const int64_t g = blockIdx.x, h = blockIdx.y, r = a.heads * DH, M = a.slots;
    float* ks = smem;                                     // (M', DH)
    float* vs = smem + M * DH;                            // (M', DH)
    int* filled = reinterpret_cast<int*>(vs + M * DH);    // (M') indices of the filled slots, compacted
    __shared__ int count;
    if (threadIdx.x < 32) {  // warp 0 compacts the filled slots, in slot order, 32 at a time
        const unsigned lane = threadIdx.x;
        int n = 0;
        for (int64_t base = 0; base < M; base += 32) {
            const int64_t j = base + lane;
            const bool on = j < M && a.mask[g * M + j];
            const unsigned ballot = __ballot_sync(0xffffffffu, on);
            if (on)
                filled[n + __popc(ballot & ((1u << lane) - 1u))] = static_cast<int>(j);
            n += __popc(ballot);
        }
        if (lane == 0)
            count = n;
    }
    __syncthreads();
    const int n = count;
    for (int64_t i = threadIdx.x; i < static_cast<int64_t>(n) * DH; i += blockDim.x) {
        const int64_t j = filled[i / DH], d = i % DH;
        ks[i] = a.k[(g * M + j) * r + h * DH + d];
        vs[i] = a.v[(g * M + j) * r + h * DH + d];
    }
    __syncthreads();
    const int64_t first = g == 0 ? 0 : g * a.chunk - a.offset;
    int64_t last = (g + 1) * a.chunk - a.offset;
    if (last > a.tokens)
        last = a.tokens;
    for (int64_t t = first + threadIdx.x; t < last; t += blockDim.x) {
        float q[DH], acc[DH];
        const float* qrow = a.q + t * a.qRowStride + h * DH;
#pragma unroll
        for (int d = 0; d < DH; ++d)
            q[d] = qrow[d], acc[d] = 0.0f;
        float m = -INFINITY, l = 0.0f;
        for (int j = 0; j < n; ++j) {
            float s = 0.0f;
#pragma unroll
            for (int d = 0; d < DH; ++d)
                s += q[d] * ks[j * DH + d];
            s *= scale;
            if (s > m) {  // a new maximum: rescale what was summed so far
                const float c = expf(m - s);
                l = l * c + 1.0f;
#pragma unroll
                for (int d = 0; d < DH; ++d)
                    acc[d] = acc[d] * c + vs[j * DH + d];
                m = s;
            } else {
                const float p = expf(s - m);
                l += p;
#pragma unroll
                for (int d = 0; d < DH; ++d)
                    acc[d] += p * vs[j * DH + d];
            }
        }
        float* orow = a.out + t * r + h * DH;
        const float inv = n > 0 ? 1.0f / l : 0.0f;  // an empty snapshot reads 0
#pragma unroll
        for (int d = 0; d < DH; ++d)
            orow[d] = acc[d] * inv;
    }
}

template <int DH>
cudaError_t launch(const PoolAttentionArgs& a, cudaStream_t stream)
{
    const dim3 grid(static_cast<unsigned>(a.groups), static_cast<unsigned>(a.heads));
    poolAttentionKernel<DH><<<grid, kThreads, sharedBytes(a.slots, DH), stream>>>(a, 1.0f / std::sqrt(float(DH)));
    return cudaGetLastError();
}

}  // namespace

bool poolAttentionSupports(int64_t slots, int64_t headDim)
{
    const bool width = headDim == 8 || headDim == 16 || headDim == 32 || headDim == 64;
    return width && slots >= 1 && sharedBytes(slots, headDim) <= kMaxShared;
}

cudaError_t poolAttention(const PoolAttentionArgs& a, cudaStream_t stream)
{
    if (!poolAttentionSupports(a.slots, a.headDim) || a.groups <= 0 || a.groups > 0x7fffffff || a.heads <= 0 ||
        a.heads > 65535 || a.tokens <= 0)
        return cudaErrorInvalidValue;
    switch (a.headDim) {
    case 8: return launch<8>(a, stream);
    case 16: return launch<16>(a, stream);
    case 32: return launch<32>(a, stream);
    default: return launch<64>(a, stream);
    }
}

}  // namespace mm::kernels
