// Attention of every token to the note pool snapshot of its chunk, for reading on CUDA:
//   out[i, h] = sum_j softmax_j(q[i, h] . k[g, j, h] / sqrt(dh)) v[g, j, h]
// over the filled slots j of group g = (offset + i) / C only; a token whose snapshot is
// empty reads 0. The snapshots are small (M or P*M slots of r = H * dh), so one block per
// (group, head) keeps its keys and values in shared memory and each thread walks one
// token's row with an online softmax: the (G, H, C, M') scores are never written and the
// queries need no padding to whole chunks (engine/model.cpp poolAttention is the
// reference; docs/perf.md "Note path on the GPU"). fp32, torch-free.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace mm::kernels {

struct PoolAttentionArgs {
    int64_t tokens = 0;       // T
    int64_t groups = 0;       // G, chunks the piece touches
    int64_t chunk = 0;        // C
    int64_t offset = 0;       // start % C: token i is in group (offset + i) / C
    int64_t slots = 0;        // M' per snapshot
    int64_t heads = 0;        // H
    int64_t headDim = 0;      // dh; r = H * dh
    const float* q = nullptr;      // (T, r), rows qRowStride apart, columns contiguous
    int64_t qRowStride = 0;
    const float* k = nullptr;      // (G, M', r) contiguous
    const float* v = nullptr;      // (G, M', r) contiguous
    const bool* mask = nullptr;    // (G, M'): slot filled
    float* out = nullptr;          // (T, r) contiguous
};

/// Whether the kernel takes this shape (head width and shared memory within reach).
bool poolAttentionSupports(int64_t slots, int64_t headDim);

cudaError_t poolAttention(const PoolAttentionArgs& args, cudaStream_t stream);

}  // namespace mm::kernels
