// CUDA kernels of the Mamba-1 selective scan, fused with the mixer's elementwise work:
//   delta_t = softplus(deltaRaw_t + deltaBias)
//   h_t = exp(delta_t * A) * h_{t-1} + delta_t * B_t * u_t
//   y_t = (C_t . h_t + D * u_t) * silu(z_t)
// Letters: Bt batch rows, T time steps, E channels, N state size (4, 8, 16 or 32).
// Torch-free: raw pointers, element strides, a stream. The scan state is fp32 always;
// u, deltaRaw, z, B, C and y are fp32 or bf16. A, D, deltaBias are fp32.
// Intermediate states never reach device memory except one per chunk (forward workspace)
// and, for training, one per 16 steps (the backward's checkpoints).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace mm::kernels {

enum class ScanDType { F32, BF16 };

/// A (Bt, T, X) operand whose last dimension is contiguous: element (b, t, x) sits at
/// ptr + b * batchStride + t * rowStride + x (strides in elements). Views into a wider
/// projection (z in in_proj's output, B and C in x_proj's) need no copy.
struct StridedInput {
    const void* ptr = nullptr;
    int64_t batchStride = 0;
    int64_t rowStride = 0;
};

/// Steps between two saved states for the backward (its registers hold this many).
constexpr int kCheckpointSteps = 16;

struct ScanForwardArgs {
    int64_t batch = 1, length = 0, channels = 0, state = 0;
    ScanDType dtype = ScanDType::F32;  // of u, deltaRaw, z, B, C and y
    StridedInput u, deltaRaw, z, B, C;   // z.ptr null: no gate
    const float* deltaBias = nullptr;  // (E) or null
    const float* A = nullptr;          // (E, N)
    const float* D = nullptr;          // (E) or null
    const float* h0 = nullptr;         // (Bt, E, N) contiguous or null (zeros)
    void* y = nullptr;                 // (Bt, T, E) contiguous, dtype
    float* hLast = nullptr;            // (Bt, E, N); may alias h0 (each thread reads before it writes)
    float* checkpoints = nullptr;      // (Bt, ceil(T/16), E, N): the state before steps 0, 16, 32, ... or null
    float* workspace = nullptr;        // scanForwardWorkspaceFloats() floats
};

/// Time steps a thread scans in one go: long sequences are cut into chunks scanned in
/// parallel (first from a zero state, then again from the carried true state), so that
/// batch 1 still fills the GPU. A multiple of kCheckpointSteps.
int64_t scanChunkLength(int64_t batch, int64_t length, int64_t channels);
/// Floats of device workspace the forward needs (0 when the sequence is one chunk).
int64_t scanForwardWorkspaceFloats(int64_t batch, int64_t length, int64_t channels, int64_t state);
/// Whether the kernels are compiled for this state size.
bool scanSupportsState(int64_t state);

cudaError_t scanForward(const ScanForwardArgs& args, cudaStream_t stream);

/// Backward of scanForward, fp32 only, every operand contiguous. Recomputes the states
/// of each 16-step group from the forward's checkpoints. dB and dC are accumulated
/// (atomically): zero them first. dA, dD, dDeltaBias are per batch row (sum them).
struct ScanBackwardArgs {
    int64_t batch = 1, length = 0, channels = 0, state = 0;
    const float *u = nullptr, *deltaRaw = nullptr, *z = nullptr;  // (Bt, T, E); z null: no gate
    const float *B = nullptr, *C = nullptr;                        // (Bt, T, N)
    const float *deltaBias = nullptr, *A = nullptr, *D = nullptr;  // (E), (E, N), (E); bias/D may be null
    const float* checkpoints = nullptr;                            // from scanForward
    const float* gy = nullptr;                                     // (Bt, T, E)
    const float* ghLast = nullptr;                                 // (Bt, E, N) or null
    float *du = nullptr, *dDeltaRaw = nullptr, *dz = nullptr;      // (Bt, T, E); dz null when z is
    float *dB = nullptr, *dC = nullptr;                            // (Bt, T, N), zeroed by the caller
    float* dA = nullptr;                                           // (Bt, E, N)
    float *dD = nullptr, *dDeltaBias = nullptr;                    // (Bt, E)
    float* dh0 = nullptr;                                          // (Bt, E, N)
};

cudaError_t scanBackward(const ScanBackwardArgs& args, cudaStream_t stream);

}  // namespace mm::kernels
