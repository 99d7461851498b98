// The CUDA path of the fused selective scan (engine/selective_scan.h's contract) on the
// kernels of kernels/. Only compiled with a CUDA LibTorch (MEMMAMBA_WITH_CUDA);
// engine/scan_cuda.cpp is the one translation unit that sees both torch and the kernels.
#pragma once

#include "engine/selective_scan.h"

namespace mm::engine::cuda {

/// Whether selectiveScanFusedCuda takes these operands: CUDA tensors, u float or bf16,
/// a state size the kernels are built for, and MEMMAMBA_SCAN not set to "reference"
/// (the switch `memmamba bench ingest --scan reference` uses to time the torch-op path).
bool fusedScanApplies(const at::Tensor& u, const at::Tensor& A);

/// selectiveScanFused on the kernels: the same shapes and results; differentiable (an
/// autograd Function whose backward runs the backward kernel) when grad mode is on and an
/// input requires grad. u, deltaRaw, z, Bm, Cm may be views whose last dimension is
/// contiguous (no copy); y has u's dtype, h_last is fp32.
ScanResult selectiveScanFusedCuda(const at::Tensor& u, const at::Tensor& deltaRaw, const at::Tensor& deltaBias,
                                  const at::Tensor& A, const at::Tensor& Bm, const at::Tensor& Cm,
                                  const at::Tensor& D, const at::Tensor& z, const at::Tensor& h0);

}  // namespace mm::engine::cuda
