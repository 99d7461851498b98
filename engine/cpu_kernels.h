// The CPU loops of the mixer on raw pointers (no torch): the selective scan forward and
// backward, and the causal depthwise convolution with SiLU. engine/selective_scan.cpp
// wraps them in tensors, autograd and at::parallel_for; each call here handles one range
// of channels (scan) or time steps (convolution), so ranges can run on different threads.
//
// Letters: T time steps, E channels (d_inner), N state size, K convolution width.
// Row-major layouts: u, delta, y (T, E); A, h0, hLast (E, N); B, C (T, N); D (E).
// float runs vectorised (AVX2+FMA when the CPU has it, chosen at run time); double is the
// plain loop used by the fp64 gradient checks.
#pragma once

#include <cstdint>
#include <vector>

namespace mm::engine::cpu {

struct ScanShape {
    int64_t T, E, N;
};

/// h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t;  y_t = (C_t . h_t + D u_t) * gate_t
/// for channels [eBegin, eEnd). gate_t = silu(z_t) when z is given (z (T, E) with row
/// stride zStride, fused for inference), else 1. softplusDelta: delta holds the
/// pre-activation and the kernel applies softplus (fused for inference).
void scanForward(const float* u, const float* delta, const float* A, const float* B, const float* C, const float* D,
                 const float* h0, const float* z, int64_t zStride, bool softplusDelta, float* y, float* hLast, ScanShape s,
                 int64_t eBegin, int64_t eEnd);
void scanForward(const double* u, const double* delta, const double* A, const double* B, const double* C,
                 const double* D, const double* h0, const double* z, int64_t zStride, bool softplusDelta, double* y, double* hLast,
                 ScanShape s, int64_t eBegin, int64_t eEnd);

/// Gradients of the ungated scan for channel e, from gy (T, E) and ghLast (E, N) (either
/// may be null: zero). Writes du, ddelta (column e), dA, dh0 (row e), dD[e]; adds into
/// dB and dC (T, N), which the caller keeps per thread. hs is scratch.
template <typename S>
void scanBackwardChannel(const S* u, const S* delta, const S* A, const S* B, const S* C, const S* D, const S* h0,
                         const S* gy, const S* ghLast, S* du, S* ddelta, S* dA, S* dB, S* dC, S* dD, S* dh0,
                         ScanShape s, int64_t e, std::vector<S>& hs);

/// out_t = silu(bias + sum_k w[:, k] * x_{t-K+1+k}) for t in [tBegin, tEnd), where rows
/// before 0 come from state ((K-1, E), oldest first). x (T, E) has row stride xStride;
/// w (E, K); out (T, E) contiguous.
void convSilu(const float* x, int64_t xStride, const float* state, const float* w, const float* bias, float* out,
              int64_t T, int64_t E, int64_t K, int64_t tBegin, int64_t tEnd);

/// out[i] = log(sum_j exp(x[i, j])) for rows [rowBegin, rowEnd) of x (rows, cols),
/// contiguous: the softmax normaliser of each row of logits, read twice, never written.
void rowLogSumExp(const float* x, int64_t cols, float* out, int64_t rowBegin, int64_t rowEnd);

}  // namespace mm::engine::cpu
