// The pool walk kernels on tensors (engine/pool_walk_device.h). CUDA builds only.
#include "engine/pool_walk_device.h"

#include "kernels/pool_walk.h"

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <cstdlib>
#include <cstring>

namespace mm::engine {

bool deviceWalkApplies(const at::Device& device, const PoolRules& rules, int64_t slots)
{
    if (!device.is_cuda() || !kernels::poolWalkSupports(slots, rules.per_chunk, rules.chunk))
        return false;
    const char* choice = std::getenv("MEMMAMBA_POOL_WALK");
    return !(choice && std::strcmp(choice, "cpu") == 0);
}

DeviceWalk walkPoolsOnDevice(const at::Tensor& scores, const PoolRules& rules, int64_t slots, int64_t start,
                             const at::Tensor& stateIn, int64_t carriedBase, int64_t notesBase, int64_t bankRowStride,
                             const at::Tensor& records, bool compactNotes, const at::Tensor& emptyBefore)
{
    TORCH_CHECK(scores.is_cuda() && scores.dim() == 2 && scores.size(1) > 0, "pool walk (CUDA): scores must be (rows, T) on a CUDA device");
    const c10::cuda::CUDAGuard guard(scores.device());
    const at::Tensor s = scores.to(at::kFloat).contiguous();
    const int64_t rows = s.size(0), T = s.size(1);
    DeviceWalk w;
    w.layout = walkRecordLayout(rules, slots, start, T);
    w.snapshots = kernels::pool::chunksOf(start, T, rules.chunk).closed + 1;
    const auto longs = s.options().dtype(at::kLong);
    TORCH_CHECK(records.is_cuda() && records.scalar_type() == at::kLong && records.is_contiguous() &&
                    records.sizes() == at::IntArrayRef({rows, w.layout.length()}),
                "pool walk (CUDA): records must be contiguous int64 (rows, ", w.layout.length(), ") on the device");
    TORCH_CHECK(!stateIn.defined() || (stateIn.is_cuda() && stateIn.scalar_type() == at::kLong && stateIn.is_contiguous() &&
                                       stateIn.sizes() == at::IntArrayRef({rows, w.layout.stateLength()})),
                "pool walk (CUDA): stateIn must be contiguous int64 (rows, ", w.layout.stateLength(), ") on the device");
    const int64_t chunks = kernels::pool::chunksOf(start, T, rules.chunk).count;
    TORCH_CHECK(!emptyBefore.defined() || (emptyBefore.is_cuda() && emptyBefore.scalar_type() == at::kByte &&
                                           emptyBefore.is_contiguous() && emptyBefore.sizes() == at::IntArrayRef({rows, chunks})),
                "pool walk (CUDA): emptyBefore must be contiguous uint8 (rows, ", chunks, ") on the device");
    w.slotBank = at::empty({rows, w.snapshots, slots}, longs);
    if (compactNotes)
        w.noteSources = at::empty({rows, chunks * rules.per_chunk}, longs);
    const at::Tensor workspace = at::empty(
        {static_cast<int64_t>(kernels::poolWalkWorkspaceBytes(rows, start, T, rules.chunk, rules.per_chunk))},
        s.options().dtype(at::kByte));

    kernels::PoolWalkArgs a;
    a.rows = rows, a.length = T, a.start = start;
    a.slots = slots, a.perChunk = rules.per_chunk, a.chunk = rules.chunk;
    a.threshold = rules.threshold;
    a.fifo = rules.eviction == EvictionPolicy::Fifo;
    a.scores = s.data_ptr<float>(), a.scoreRowStride = T;
    a.stateIn = stateIn.defined() ? stateIn.data_ptr<int64_t>() : nullptr;
    a.carriedBase = carriedBase, a.notesBase = notesBase, a.bankRowStride = bankRowStride;
    a.slotBank = w.slotBank.data_ptr<int64_t>();
    a.noteSources = compactNotes ? w.noteSources.data_ptr<int64_t>() : nullptr;
    a.emptyBefore = emptyBefore.defined() ? emptyBefore.data_ptr<uint8_t>() : nullptr;
    a.recordOut = records.data_ptr<int64_t>();
    a.workspace = workspace.data_ptr();
    const cudaError_t err = kernels::poolWalk(a, at::cuda::getCurrentCUDAStream());
    TORCH_CHECK(err == cudaSuccess, "pool walk kernels: ", cudaGetErrorString(err));
    return w;
}

}  // namespace mm::engine
