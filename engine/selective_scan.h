// The selective scan of the Mamba-1 mixer over a whole sequence (one document, no batch):
//   h_t = exp(delta_t * A) * h_{t-1} + delta_t * B_t * u_t      (per channel e, state n)
//   y_t = C_t . h_t + D * u_t
// Letters: T time steps, E channels (d_inner), N state size.
// Shapes: u, delta (T, E); A (E, N); B, C (T, N); D (E); h0 (E, N) -> y (T, E), h_last (E, N).
// Two implementations that must agree (tests/engine/tst_engine_ops.cpp):
//  - selectiveScanCpu: a C++ loop over time, parallel over channel blocks
//    (at::parallel_for), float or double, with its own autograd Function whose backward
//    runs the reverse recurrence;
//  - selectiveScanReference: torch ops only (chunks of 16 steps, decays from cumulative
//    sums of delta*A), differentiable by autograd, any device. The CUDA path uses it until
//    the kernels replace it, and stays the reference they are tested against.
#pragma once

#include <ATen/ATen.h>

namespace mm::engine {

struct ScanResult {
    at::Tensor y;       // (T, E)
    at::Tensor h_last;  // (E, N)
};

ScanResult selectiveScanCpu(const at::Tensor& u, const at::Tensor& delta, const at::Tensor& A,
                            const at::Tensor& B, const at::Tensor& C, const at::Tensor& D,
                            const at::Tensor& h0);

ScanResult selectiveScanReference(const at::Tensor& u, const at::Tensor& delta, const at::Tensor& A,
                                  const at::Tensor& B, const at::Tensor& C, const at::Tensor& D,
                                  const at::Tensor& h0, int64_t chunk = 16);

/// Inference only (no autograd; reading runs under NoGradGuard), CPU float or double:
/// the scan fused with the mixer's softplus and output gate: delta = softplus(deltaRaw),
/// y = (C.h + D u) * silu(z), z (T, E) with any row stride (a view into in_proj's output).
/// h: (E, N) in, the last state out.
at::Tensor selectiveScanGatedInference(const at::Tensor& u, const at::Tensor& deltaRaw, const at::Tensor& A,
                                       const at::Tensor& B, const at::Tensor& C, const at::Tensor& D,
                                       const at::Tensor& z, at::Tensor& h);

/// Inference only, CPU float: silu(causal depthwise conv1d(x)) continuing from state.
/// x (T, E) with any row stride; state (K-1, E) in, the last K-1 inputs out; w (E, 1, K);
/// bias (E) -> (T, E).
at::Tensor convSiluInference(const at::Tensor& x, at::Tensor& state, const at::Tensor& w, const at::Tensor& bias);

/// The mixer's scan for a batch of sequences, fused with its softplus, skip and gate:
///   delta_t = softplus(deltaRaw_t + deltaBias)
///   h_t = exp(delta_t * A) * h_{t-1} + delta_t * B_t * u_t,   y_t = (C_t . h_t + D * u_t) * silu(z_t)
/// Shapes: u, deltaRaw, z (Bt, T, E); A (E, N); Bm, Cm (Bt, T, N); D, deltaBias (E);
/// h0 (Bt, E, N) -> y (Bt, T, E), h_last (Bt, E, N). Differentiable in every input.
/// Used by training (engine/train) and by the CUDA reading path. On CUDA float tensors,
/// when the kernels of kernels/ are compiled in, it runs them; otherwise it is
/// selectiveScanFusedReference.
ScanResult selectiveScanFused(const at::Tensor& u, const at::Tensor& deltaRaw, const at::Tensor& deltaBias,
                              const at::Tensor& A, const at::Tensor& Bm, const at::Tensor& Cm,
                              const at::Tensor& D, const at::Tensor& z, const at::Tensor& h0);
/// The same through selectiveScan per batch row and elementwise torch ops: the reference
/// the kernels are tested against (any device, autograd by composition).
ScanResult selectiveScanFusedReference(const at::Tensor& u, const at::Tensor& deltaRaw, const at::Tensor& deltaBias,
                                       const at::Tensor& A, const at::Tensor& Bm, const at::Tensor& Cm,
                                       const at::Tensor& D, const at::Tensor& z, const at::Tensor& h0);

/// CPU tensors: selectiveScanCpu; other devices: selectiveScanReference.
ScanResult selectiveScan(const at::Tensor& u, const at::Tensor& delta, const at::Tensor& A,
                         const at::Tensor& B, const at::Tensor& C, const at::Tensor& D,
                         const at::Tensor& h0);

}  // namespace mm::engine
