// The mixer's causal convolution + SiLU on the kernel of kernels/conv_silu.cu, for
// reading on CUDA (engine/model.cpp's mixerSequence). MEMMAMBA_CONV=reference keeps the
// op-by-op form. Without a CUDA build convSiluApplies() is false.
#pragma once

#include <ATen/ATen.h>

namespace mm::engine {

/// x: (T, E) float on a CUDA device, channels contiguous; no autograd; K within the kernel's reach.
bool convSiluApplies(const at::Tensor& x, int64_t width);

/// silu(causal depthwise conv of [state; x] + bias): (T, E) contiguous. state (K-1, E) is
/// replaced by the last K-1 inputs. weight (E, 1, K), bias (E).
at::Tensor convSiluCuda(const at::Tensor& x, at::Tensor& state, const at::Tensor& weight, const at::Tensor& bias);

}  // namespace mm::engine
