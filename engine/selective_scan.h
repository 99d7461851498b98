// The selective scan of the Mamba-1 mixer over a whole sequence (one document, no batch):
//   h_t = exp(delta_t * A) * h_{t-1} + delta_t * B_t * u_t      (per channel e, state n)
//   y_t = C_t . h_t + D * u_t
// Letters: T time steps, E channels (d_inner), N state size.
// Shapes: u, delta (T, E); A (E, N); B, C (T, N); D (E); h0 (E, N) -> y (T, E), h_last (E, N).
// Two implementations that must agree (tests/engine/test_scan.cpp):
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

/// CPU tensors: selectiveScanCpu; other devices: selectiveScanReference.
ScanResult selectiveScan(const at::Tensor& u, const at::Tensor& delta, const at::Tensor& A,
                         const at::Tensor& B, const at::Tensor& C, const at::Tensor& D,
                         const at::Tensor& h0);

}  // namespace mm::engine
