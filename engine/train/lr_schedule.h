// The learning-rate schedule: linear warm-up from 0 to the peak over warmupSteps, then a
// cosine decay to minLr at totalSteps (and minLr after). Defined over --steps, not over
// time, so a resumed run follows the same curve.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace mm::engine::train {

struct LrSchedule {
    double peak = 6e-4;
    double minLr = 6e-5;
    int64_t warmupSteps = 100;
    int64_t totalSteps = 1000;

    /// Learning rate of step `step` (0-based: the first update uses at(0)).
    double at(int64_t step) const
    {
        if (step < warmupSteps)
            return peak * double(step + 1) / double(warmupSteps);
        if (step >= totalSteps)
            return minLr;
        const double progress = double(step - warmupSteps) / double(std::max<int64_t>(1, totalSteps - warmupSteps));
        return minLr + 0.5 * (peak - minLr) * (1.0 + std::cos(M_PI * progress));
    }
};

}  // namespace mm::engine::train
