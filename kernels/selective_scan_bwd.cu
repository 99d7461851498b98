// The scan backward: one thread per (batch row, channel, state n); the N threads of a
// channel are adjacent lanes of a warp, so sums over n are warp shuffles. Each thread
// walks time backwards in groups of 16 steps: it recomputes the group's states from the
// forward's checkpoint into registers, then runs the reverse recurrence over them.
// Gradients of B and C sum over channels: a block's channels are summed in shared
// memory once per group, then added to device memory atomically.
#include "kernels/scan_common.cuh"

#include <algorithm>

namespace mm::kernels {

namespace {

using detail::sigmoid;
using detail::softplus;

constexpr int kThreads = 256;
constexpr int K = kCheckpointSteps;

template <int N>
__device__ __forceinline__ float sumOverState(float v)
{
#pragma unroll
    for (int offset = N / 2; offset > 0; offset /= 2)
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

template <int N>
__global__ void __launch_bounds__(kThreads) scanBackwardKernel(ScanBackwardArgs a)
{
    constexpr int kChannels = kThreads / N;  // per block
    __shared__ float sharedDB[K][kChannels][N];
    __shared__ float sharedDC[K][kChannels][N];
    const int n = threadIdx.x % N, local = threadIdx.x / N;
    const int64_t E = a.channels, T = a.length, b = blockIdx.y;
    const int64_t channel = int64_t(blockIdx.x) * kChannels + local;
    // Channels past E still run (every lane takes part in the shuffles and barriers) on
    // the last real channel's data, and write nothing.
    const bool active = channel < E;
    const int64_t e = active ? channel : E - 1;
    const int64_t groups = (T + K - 1) / K;

    const float An = a.A[e * N + n];
    const float Dv = a.D ? a.D[e] : 0.f;
    const float bias = a.deltaBias ? a.deltaBias[e] : 0.f;
    float gh = a.ghLast ? a.ghLast[(b * E + e) * N + n] : 0.f;  // dL/dh after the current step
    float dA = 0.f, dD = 0.f, dBias = 0.f;

    for (int64_t g = groups - 1; g >= 0; --g) {
        const int64_t t0 = g * K;
        const int len = int(::min(int64_t(K), T - t0));
        float hPrev[K], delta[K], x[K], deltaSig[K];
        float h = a.checkpoints[((b * groups + g) * E + e) * N + n];
#pragma unroll
        for (int k = 0; k < K; ++k) {
            if (k < len) {
                const int64_t row = b * T + t0 + k;
                const float raw = a.deltaRaw[row * E + e] + bias;
                x[k] = a.u[row * E + e];
                delta[k] = softplus(raw);
                deltaSig[k] = sigmoid(raw);
                hPrev[k] = h;
                h = expf(delta[k] * An) * h + delta[k] * a.B[row * N + n] * x[k];
            }
        }
#pragma unroll
        for (int k = K - 1; k >= 0; --k) {
            if (k < len) {
                const int64_t row = b * T + t0 + k;
                const float Bn = a.B[row * N + n], Cn = a.C[row * N + n];
                const float decay = expf(delta[k] * An);
                const float hk = decay * hPrev[k] + delta[k] * Bn * x[k];
                const float gyv = a.gy[row * E + e];
                float dyScan = gyv;
                if (a.z) {
                    const float zz = a.z[row * E + e], s = sigmoid(zz);
                    dyScan = gyv * zz * s;
                    const float yScan = sumOverState<N>(Cn * hk) + Dv * x[k];
                    if (n == 0 && active)
                        a.dz[row * E + e] = gyv * yScan * s * (1.f + zz * (1.f - s));
                }
                gh += dyScan * Cn;  // now dL/dh_t
                const float duSum = sumOverState<N>(gh * delta[k] * Bn);
                const float dDeltaSum = sumOverState<N>(gh * (hPrev[k] * decay * An + Bn * x[k]));
                dA += gh * hPrev[k] * decay * delta[k];
                if (n == 0) {
                    const float dRaw = dDeltaSum * deltaSig[k];
                    dD += dyScan * x[k];
                    dBias += dRaw;
                    if (active) {
                        a.du[row * E + e] = duSum + dyScan * Dv;
                        a.dDeltaRaw[row * E + e] = dRaw;
                    }
                }
                sharedDB[k][local][n] = active ? gh * delta[k] * x[k] : 0.f;
                sharedDC[k][local][n] = active ? dyScan * hk : 0.f;
                gh *= decay;  // on to dL/dh_{t-1}
            }
        }
        __syncthreads();
        for (int i = threadIdx.x; i < len * N; i += kThreads) {
            const int k = i / N, m = i % N;
            float sB = 0.f, sC = 0.f;
            for (int j = 0; j < kChannels; ++j) {
                sB += sharedDB[k][j][m];
                sC += sharedDC[k][j][m];
            }
            const int64_t row = b * T + t0 + k;
            atomicAdd(a.dB + row * N + m, sB);
            atomicAdd(a.dC + row * N + m, sC);
        }
        __syncthreads();
    }
    if (!active)
        return;
    a.dh0[(b * E + e) * N + n] = gh;
    a.dA[(b * E + e) * N + n] = dA;
    if (n == 0) {
        a.dD[b * E + e] = dD;
        a.dDeltaBias[b * E + e] = dBias;
    }
}

template <int N>
cudaError_t launch(const ScanBackwardArgs& a, cudaStream_t stream)
{
    constexpr int kChannels = kThreads / N;
    const dim3 grid(unsigned((a.channels + kChannels - 1) / kChannels), unsigned(a.batch));
    scanBackwardKernel<N><<<grid, kThreads, 0, stream>>>(a);
    return cudaGetLastError();
}

}  // namespace

cudaError_t scanBackward(const ScanBackwardArgs& a, cudaStream_t stream)
{
    if (a.length <= 0 || a.batch <= 0 || a.channels <= 0)
        return cudaSuccess;
    if (a.batch > 65535)
        return cudaErrorInvalidValue;
    switch (a.state) {
    case 4: return launch<4>(a, stream);
    case 8: return launch<8>(a, stream);
    case 16: return launch<16>(a, stream);
    case 32: return launch<32>(a, stream);
    default: return cudaErrorInvalidValue;
    }
}

}  // namespace mm::kernels
