// Builds without CUDA: the pool walk runs on the host (engine/note_pool.cpp) and the
// convolution and pool attention op by op (engine/model.cpp); these say "not here".
#include "engine/conv_cuda.h"
#include "engine/pool_attention_cuda.h"
#include "engine/pool_walk_device.h"

#include <stdexcept>

namespace mm::engine {

bool deviceWalkApplies(const at::Device&, const PoolRules&, int64_t) { return false; }

DeviceWalk walkPoolsOnDevice(const at::Tensor&, const PoolRules&, int64_t, int64_t, const at::Tensor&, int64_t, int64_t,
                             int64_t, const at::Tensor&, bool, const at::Tensor&)
{
    throw std::logic_error("walkPoolsOnDevice: this build has no CUDA");
}

bool convSiluApplies(const at::Tensor&, int64_t) { return false; }

at::Tensor convSiluCuda(const at::Tensor&, at::Tensor&, const at::Tensor&, const at::Tensor&)
{
    throw std::logic_error("convSiluCuda: this build has no CUDA");
}

bool poolAttentionKernelApplies(const at::Tensor&, int64_t, int64_t) { return false; }

at::Tensor poolAttentionCuda(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t, int64_t,
                             int64_t)
{
    throw std::logic_error("poolAttentionCuda: this build has no CUDA");
}

}  // namespace mm::engine
