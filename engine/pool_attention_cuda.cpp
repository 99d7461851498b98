// engine/pool_attention_cuda.h on kernels/pool_attention.cu. CUDA builds only.
#include "engine/pool_attention_cuda.h"

#include "kernels/pool_attention.h"

#include <ATen/cuda/CUDAContext.h>
#include <c10/core/GradMode.h>
#include <c10/cuda/CUDAGuard.h>

#include <cstdlib>
#include <cstring>

namespace mm::engine {

bool poolAttentionKernelApplies(const at::Tensor& q, int64_t slots, int64_t headDim)
{
    if (!q.is_cuda() || q.scalar_type() != at::kFloat || c10::GradMode::is_enabled() ||
        !kernels::poolAttentionSupports(slots, headDim))
        return false;
    const char* choice = std::getenv("MEMMAMBA_POOL_ATTENTION");
    return !(choice && (std::strcmp(choice, "reference") == 0 || std::strcmp(choice, "sdpa") == 0));
}

at::Tensor poolAttentionCuda(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                             int64_t offset, int64_t chunk, int64_t heads)
{
    const int64_t T = q.size(0), r = q.size(1), G = k.size(0), M = k.size(1);
    TORCH_CHECK(q.dim() == 2 && q.stride(1) == 1 && k.sizes() == v.sizes() && k.size(2) == r && r % heads == 0 &&
                    mask.sizes() == at::IntArrayRef({G, M}) && poolAttentionKernelApplies(q, M, r / heads),
                "pool attention (CUDA): q (T, r), k and v (G, M', r), mask (G, M')");
    const c10::cuda::CUDAGuard guard(q.device());
    const at::Tensor kc = k.to(at::kFloat).contiguous(), vc = v.to(at::kFloat).contiguous();
    const at::Tensor mc = mask.to(at::kBool).contiguous();
    at::Tensor out = at::empty({T, r}, q.options());
    kernels::PoolAttentionArgs a;
    a.tokens = T, a.groups = G, a.chunk = chunk, a.offset = offset, a.slots = M, a.heads = heads, a.headDim = r / heads;
    a.q = q.data_ptr<float>(), a.qRowStride = q.stride(0);
    a.k = kc.data_ptr<float>(), a.v = vc.data_ptr<float>(), a.mask = mc.data_ptr<bool>();
    a.out = out.data_ptr<float>();
    const cudaError_t err = kernels::poolAttention(a, at::cuda::getCurrentCUDAStream());
    TORCH_CHECK(err == cudaSuccess, "pool attention kernel: ", cudaGetErrorString(err));
    return out;
}

}  // namespace mm::engine
