// engine/conv_cuda.h on kernels/conv_silu.cu. CUDA builds only.
#include "engine/conv_cuda.h"

#include "kernels/conv_silu.h"

#include <ATen/cuda/CUDAContext.h>
#include <c10/core/GradMode.h>
#include <c10/cuda/CUDAGuard.h>

#include <cstdlib>
#include <cstring>

namespace mm::engine {

bool convSiluApplies(const at::Tensor& x, int64_t width)
{
    if (!x.is_cuda() || x.scalar_type() != at::kFloat || x.dim() != 2 || x.stride(1) != 1 || width < 1 ||
        width > kernels::kConvMaxWidth || c10::GradMode::is_enabled())
        return false;
    const char* choice = std::getenv("MEMMAMBA_CONV");
    return !(choice && std::strcmp(choice, "reference") == 0);
}

at::Tensor convSiluCuda(const at::Tensor& x, at::Tensor& state, const at::Tensor& weight, const at::Tensor& bias)
{
    const int64_t T = x.size(0), E = x.size(1), K = weight.size(-1);
    TORCH_CHECK(convSiluApplies(x, K) && weight.numel() == E * K && bias.numel() == E &&
                    state.sizes() == at::IntArrayRef({K - 1, E}),
                "conv + SiLU (CUDA): x (T, E) float, weight (E, 1, K), bias (E), state (K-1, E)");
    const c10::cuda::CUDAGuard guard(x.device());
    const at::Tensor w = weight.to(at::kFloat).contiguous(), b = bias.to(at::kFloat).contiguous();
    const at::Tensor s = state.to(at::kFloat).contiguous();
    at::Tensor out = at::empty({T, E}, x.options());
    kernels::ConvSiluArgs a;
    a.length = T, a.channels = E, a.width = K;
    a.x = x.data_ptr<float>(), a.xRowStride = x.stride(0);
    a.state = s.data_ptr<float>(), a.weight = w.data_ptr<float>(), a.bias = b.data_ptr<float>();
    a.out = out.data_ptr<float>();
    const cudaError_t err = kernels::convSilu(a, at::cuda::getCurrentCUDAStream());
    TORCH_CHECK(err == cudaSuccess, "conv + SiLU kernel: ", cudaGetErrorString(err));
    // The last K-1 inputs, for the next piece (small copies; x is a strided view).
    state = T >= K - 1 ? x.narrow(0, T - (K - 1), K - 1).clone() : at::cat({s, x}, 0).narrow(0, T, K - 1).clone();
    return out;
}

}  // namespace mm::engine
