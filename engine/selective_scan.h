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

/// CPU tensors: selectiveScanCpu; other devices: selectiveScanReference.
ScanResult selectiveScan(const at::Tensor& u, const at::Tensor& delta, const at::Tensor& A,
                         const at::Tensor& B, const at::Tensor& C, const at::Tensor& D,
                         const at::Tensor& h0);

}  // namespace mm::engine
