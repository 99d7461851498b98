// The scan forward: one thread per (batch row, channel, time chunk) holding the N states
// of its channel in registers. A sequence of one chunk runs one kernel; a longer one
// runs three: local chunk states from zero, a short sequential carry over the chunks
// (one state per chunk in the workspace), then every chunk again from its true start,
// writing y. Batch 1 at 1M tokens thus keeps ~10^5 threads busy instead of E.
#include "kernels/scan_common.cuh"

#include <algorithm>

namespace mm::kernels {

namespace {

using detail::loadAt;
using detail::softplus;

constexpr int kThreads = 128;
// Enough independent threads to fill an H200 (132 SMs) several times over.
constexpr int64_t kTargetThreads = 132 * 1024;
constexpr int64_t kMinChunk = 64;
constexpr float kLog2e = 1.4426950408889634f;

// Pass 1 (multi-chunk only): the state each chunk reaches from a zero start, and the
// chunk's sum of delta (its decay is exp(A * sum)).
template <typename TIn, int N>
__global__ void __launch_bounds__(kThreads) chunkLocalStates(ScanForwardArgs a, int64_t chunkLen, int64_t chunks)
{
    const int64_t e = int64_t(blockIdx.x) * kThreads + threadIdx.x;
    const int64_t c = blockIdx.y, b = blockIdx.z;
    if (e >= a.channels)
        return;
    const int64_t E = a.channels, t0 = c * chunkLen, t1 = ::min(a.length, t0 + chunkLen);
    float A2[N], h[N];
#pragma unroll
    for (int n = 0; n < N; ++n) {
        A2[n] = a.A[e * N + n] * kLog2e;
        h[n] = 0.f;
    }
    const float bias = a.deltaBias ? a.deltaBias[e] : 0.f;
    float deltaSum = 0.f;
    // The next step's inputs are loaded one step ahead: their loads from memory overlap
    // this step's arithmetic instead of stalling the start of every step.
    float xNext = t0 < t1 ? loadAt<TIn>(a.u, b, t0, e) : 0.f, dNext = t0 < t1 ? loadAt<TIn>(a.deltaRaw, b, t0, e) : 0.f;
    for (int64_t t = t0; t < t1; ++t) {
        const float x = xNext, dRaw = dNext;
        if (t + 1 < t1)
            xNext = loadAt<TIn>(a.u, b, t + 1, e), dNext = loadAt<TIn>(a.deltaRaw, b, t + 1, e);
        const float d = softplus(dRaw + bias);
        deltaSum += d;
        const float dx = d * x;
#pragma unroll
        for (int n = 0; n < N; ++n)
            h[n] = exp2f(d * A2[n]) * h[n] + dx * loadAt<TIn>(a.B, b, t, n);
    }
    float* out = a.workspace + ((b * chunks + c) * E + e) * N;
#pragma unroll
    for (int n = 0; n < N; ++n)
        out[n] = h[n];
    // The delta sums follow all the states: (Bt, chunks, E) after (Bt, chunks, E, N).
    a.workspace[a.batch * chunks * E * N + (b * chunks + c) * E + e] = deltaSum;
}

// Pass 2: walk the chunks in order, turning each local end state into the true start
// state of the next (in place: the workspace then holds every chunk's start state).
__global__ void chunkCarry(ScanForwardArgs a, int64_t chunks)
{
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;  // (b, e, n)
    const int64_t E = a.channels, N = a.state;
    if (i >= a.batch * E * N)
        return;
    const int64_t b = i / (E * N), e = (i / N) % E, n = i % N;
    const float* deltaSums = a.workspace + a.batch * chunks * E * N;
    const float An = a.A[e * N + n];
    float h = a.h0 ? a.h0[i] : 0.f;
    for (int64_t c = 0; c < chunks; ++c) {
        float* slot = a.workspace + ((b * chunks + c) * E + e) * N + n;
        const float local = *slot;
        *slot = h;
        h = expf(An * deltaSums[(b * chunks + c) * E + e]) * h + local;
    }
}

// Pass 3 (or the only pass): scan each chunk from its start state, writing the gated
// output, the checkpoints for the backward, and the last state.
template <typename TIn, int N>
__global__ void __launch_bounds__(kThreads) chunkOutput(ScanForwardArgs a, int64_t chunkLen, int64_t chunks)
{
    const int64_t e = int64_t(blockIdx.x) * kThreads + threadIdx.x;
    const int64_t c = blockIdx.y, b = blockIdx.z;
    if (e >= a.channels)
        return;
    const int64_t E = a.channels, t0 = c * chunkLen, t1 = ::min(a.length, t0 + chunkLen);
    const int64_t groups = (a.length + kCheckpointSteps - 1) / kCheckpointSteps;
    const float* start = chunks > 1 ? a.workspace + ((b * chunks + c) * E + e) * N
                                    : (a.h0 ? a.h0 + (b * E + e) * N : nullptr);
    float A2[N], h[N];
#pragma unroll
    for (int n = 0; n < N; ++n) {
        A2[n] = a.A[e * N + n] * kLog2e;
        h[n] = start ? start[n] : 0.f;
    }
    const float bias = a.deltaBias ? a.deltaBias[e] : 0.f;
    const float Dv = a.D ? a.D[e] : 0.f;
    TIn* y = static_cast<TIn*>(a.y);
    // Inputs loaded one step ahead, as in chunkLocalStates.
    float xNext = 0.f, dNext = 0.f, zNext = 0.f;
    if (t0 < t1) {
        xNext = loadAt<TIn>(a.u, b, t0, e), dNext = loadAt<TIn>(a.deltaRaw, b, t0, e);
        zNext = a.z.ptr ? loadAt<TIn>(a.z, b, t0, e) : 0.f;
    }
    for (int64_t t = t0; t < t1; ++t) {
        const float x = xNext, dRaw = dNext, zz = zNext;
        if (t + 1 < t1) {
            xNext = loadAt<TIn>(a.u, b, t + 1, e), dNext = loadAt<TIn>(a.deltaRaw, b, t + 1, e);
            if (a.z.ptr)
                zNext = loadAt<TIn>(a.z, b, t + 1, e);
        }
        if (a.checkpoints && t % kCheckpointSteps == 0) {
            float* cp = a.checkpoints + ((b * groups + t / kCheckpointSteps) * E + e) * N;
#pragma unroll
            for (int n = 0; n < N; ++n)
                cp[n] = h[n];
        }
        const float d = softplus(dRaw + bias);
        const float dx = d * x;
        float acc = 0.f;
#pragma unroll
        for (int n = 0; n < N; ++n) {
            h[n] = exp2f(d * A2[n]) * h[n] + dx * loadAt<TIn>(a.B, b, t, n);
            acc += loadAt<TIn>(a.C, b, t, n) * h[n];
        }
        float out = acc + Dv * x;
        if (a.z.ptr)
            out *= zz * detail::sigmoid(zz);
        detail::store(y + (b * a.length + t) * E + e, out);
    }
    if (c == chunks - 1) {
        float* last = a.hLast + (b * E + e) * N;
#pragma unroll
        for (int n = 0; n < N; ++n)
            last[n] = h[n];
    }
}

int64_t chunkCount(int64_t length, int64_t chunkLen) { return (length + chunkLen - 1) / chunkLen; }

template <typename TIn, int N>
cudaError_t launch(const ScanForwardArgs& a, cudaStream_t stream)
{
    const int64_t chunkLen = scanChunkLength(a.batch, a.length, a.channels);
    const int64_t chunks = chunkCount(a.length, chunkLen);
    const dim3 grid(unsigned((a.channels + kThreads - 1) / kThreads), unsigned(chunks), unsigned(a.batch));
    if (chunks > 1) {
        chunkLocalStates<TIn, N><<<grid, kThreads, 0, stream>>>(a, chunkLen, chunks);
        const int64_t states = a.batch * a.channels * N;
        chunkCarry<<<unsigned((states + 255) / 256), 256, 0, stream>>>(a, chunks);
    }
    chunkOutput<TIn, N><<<grid, kThreads, 0, stream>>>(a, chunkLen, chunks);
    return cudaGetLastError();
}

template <typename TIn>
cudaError_t launchForState(const ScanForwardArgs& a, cudaStream_t stream)
{
    switch (a.state) {
    case 4: return launch<TIn, 4>(a, stream);
    case 8: return launch<TIn, 8>(a, stream);
    case 16: return launch<TIn, 16>(a, stream);
    case 32: return launch<TIn, 32>(a, stream);
    default: return cudaErrorInvalidValue;
    }
}

}  // namespace

bool scanSupportsState(int64_t state) { return state == 4 || state == 8 || state == 16 || state == 32; }

int64_t scanChunkLength(int64_t batch, int64_t length, int64_t channels)
{
    const int64_t rows = std::max<int64_t>(1, batch * channels);
    const int64_t wanted = std::max<int64_t>(1, (kTargetThreads + rows - 1) / rows);  // chunks per row
    int64_t len = std::max<int64_t>(kMinChunk, (length + wanted - 1) / wanted);
    len = (len + kCheckpointSteps - 1) / kCheckpointSteps * kCheckpointSteps;
    // The chunk grid's y dimension is at most 65535.
    while (chunkCount(length, len) > 65535)
        len *= 2;
    return len;
}

int64_t scanForwardWorkspaceFloats(int64_t batch, int64_t length, int64_t channels, int64_t state)
{
    const int64_t chunks = chunkCount(length, scanChunkLength(batch, length, channels));
    return chunks > 1 ? batch * chunks * channels * (state + 1) : 0;
}

cudaError_t scanForward(const ScanForwardArgs& a, cudaStream_t stream)
{
    if (a.length <= 0 || a.batch <= 0 || a.channels <= 0)
        return cudaSuccess;
    if (a.batch > 65535 || !scanSupportsState(a.state))
        return cudaErrorInvalidValue;
    return a.dtype == ScanDType::BF16 ? launchForState<__nv_bfloat16>(a, stream) : launchForState<float>(a, stream);
}

}  // namespace mm::kernels
