#include "engine/stage_profile.h"

#include <chrono>
#include <stdexcept>

#if defined(MEMMAMBA_WITH_CUDA)
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#endif

namespace mm::engine {

namespace detail {
bool g_profiling = false;
}

namespace {

using Clock = std::chrono::steady_clock;

struct Mark {
    Stage stage;
    Clock::time_point wall;
};

struct Profile {
    bool cuda = false;
    std::vector<Mark> marks;
#if defined(MEMMAMBA_WITH_CUDA)
    std::vector<cudaEvent_t> events;  // events[i] belongs to marks[i]; kept for the next profile
    size_t eventsUsed = 0;
#endif
};

Profile& profile()
{
    static Profile p;
    return p;
}

#if defined(MEMMAMBA_WITH_CUDA)
void check(bool ok, const char* what)
{
    if (!ok)
        throw std::runtime_error(std::string("stage profile: ") + what);
}
#endif

}  // namespace

const char* stageName(Stage s)
{
    switch (s) {
    case Stage::Mixer: return "mixer";
    case Stage::Conv: return "conv";
    case Stage::Scan: return "scan";
    case Stage::Score: return "score";
    case Stage::Summaries: return "summaries";
    case Stage::Walk: return "walk";
    case Stage::Gather: return "gather";
    case Stage::Attention: return "attention";
    case Stage::Copies: return "copies";
    case Stage::Head: return "LM head";
    case Stage::Outside: return "outside layers";
    case Stage::Count: break;
    }
    return "?";
}

void detail::mark(Stage s)
{
    Profile& p = profile();
#if defined(MEMMAMBA_WITH_CUDA)
    if (p.cuda) {
        if (p.eventsUsed == p.events.size()) {
            cudaEvent_t ev = nullptr;
            check(cudaEventCreate(&ev) == cudaSuccess, "cudaEventCreate failed");
            p.events.push_back(ev);
        }
        check(cudaEventRecord(p.events[p.eventsUsed++], c10::cuda::getCurrentCUDAStream().stream()) == cudaSuccess,
              "cudaEventRecord failed");
    }
#endif
    p.marks.push_back({s, Clock::now()});
}

void profileStart(bool cuda)
{
    Profile& p = profile();
    p.marks.clear();
#if defined(MEMMAMBA_WITH_CUDA)
    p.cuda = cuda;
    p.eventsUsed = 0;
#else
    (void)cuda;
    p.cuda = false;
#endif
    detail::g_profiling = true;
    detail::mark(Stage::Outside);
}

std::vector<StageTime> profileStop()
{
    Profile& p = profile();
    std::vector<StageTime> out(static_cast<size_t>(Stage::Count));
    for (size_t i = 0; i < out.size(); ++i)
        out[i].stage = stageName(static_cast<Stage>(i));
    if (!detail::g_profiling)
        return out;
    detail::mark(Stage::Outside);  // the end: its own interval is never counted
    detail::g_profiling = false;
#if defined(MEMMAMBA_WITH_CUDA)
    if (p.cuda)
        check(cudaEventSynchronize(p.events[p.eventsUsed - 1]) == cudaSuccess, "cudaEventSynchronize failed");
#endif
    for (size_t i = 0; i + 1 < p.marks.size(); ++i) {
        double ms = std::chrono::duration<double, std::milli>(p.marks[i + 1].wall - p.marks[i].wall).count();
#if defined(MEMMAMBA_WITH_CUDA)
        if (p.cuda) {
            float deviceMs = 0;
            check(cudaEventElapsedTime(&deviceMs, p.events[i], p.events[i + 1]) == cudaSuccess,
                  "cudaEventElapsedTime failed");
            ms = deviceMs;
        }
#endif
        StageTime& t = out[static_cast<size_t>(p.marks[i].stage)];
        t.ms += ms;
        // Consecutive marks of one stage (a stage that spans a function boundary) are one interval.
        if (i == 0 || p.marks[i - 1].stage != p.marks[i].stage)
            ++t.intervals;
    }
    p.marks.clear();
    return out;
}

}  // namespace mm::engine
