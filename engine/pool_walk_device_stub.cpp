// Builds without CUDA: the pool walk always runs on the host (engine/note_pool.cpp).
#include "engine/pool_walk_device.h"

#include <stdexcept>

namespace mm::engine {

bool deviceWalkApplies(const at::Device&, const PoolRules&, int64_t) { return false; }

DeviceWalk walkPoolsOnDevice(const at::Tensor&, const PoolRules&, int64_t, int64_t, const at::Tensor&, int64_t, int64_t,
                             int64_t, const at::Tensor&, bool)
{
    throw std::logic_error("walkPoolsOnDevice: this build has no CUDA");
}

}  // namespace mm::engine
