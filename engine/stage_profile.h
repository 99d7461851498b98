// Per-stage timing of a read (`memmamba bench ingest --profile`, docs/perf.md), torch-free.
//
// The model code marks where each stage begins; the time from one mark to the next
// belongs to the stage of the first. On CUDA a mark is an event recorded on the current
// stream, so a stage's figure is device time between two marks (the host's launch gaps
// and host work that the stream waits for included: a host pool walk shows up as its
// copies plus the idle device). On the CPU a mark is the wall clock. Between
// profileStart and profileStop every moment belongs to exactly one stage, so the stages
// add up to the whole. Off unless a profile runs (one branch per mark); one profiled
// thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mm::engine {

enum class Stage {
    Mixer,      ///< RMSNorm, in_proj, x_proj, dt_proj, out_proj, residual
    Conv,       ///< the mixer's causal depthwise convolution and SiLU
    Scan,       ///< the selective scan
    Score,      ///< the Note Block's RMSNorm and scorer a_t
    Summaries,  ///< s_t = W_sum [RMSNorm(h); e(x)] and a_t * s_t
    Walk,       ///< the pool walk: host (score copy, walk, index upload) or device kernels
    Gather,     ///< the pool snapshots and carried candidates gathered from the bank
    Attention,  ///< cross-token and cross-layer attention with their gates
    Copies,     ///< results copied to the host (scores, note events, pool metadata)
    Head,       ///< the LM head and the surprisal (or logits) of a read
    Outside,    ///< the rest: embedding, final norm, the read's bookkeeping
    Count
};

const char* stageName(Stage s);

struct StageTime {
    std::string stage;
    double ms = 0;
    int64_t intervals = 0;  ///< how many times the stage began
};

namespace detail {
extern bool g_profiling;
void mark(Stage s);
}  // namespace detail

/// Starts a profile; cuda: time with CUDA events on the current stream (CUDA builds only,
/// else wall clock). The time until the first mark belongs to Stage::Outside.
void profileStart(bool cuda);
inline void profileMark(Stage s)
{
    if (detail::g_profiling)
        detail::mark(s);
}
/// Ends the profile (waits for the device) and returns every stage, in enum order.
std::vector<StageTime> profileStop();

}  // namespace mm::engine
