#include "engine/train/objectives.h"

#include <algorithm>
#include <numeric>
#include <vector>

namespace mm::engine::train {

std::pair<at::Tensor, at::Tensor> surprisalTarget(const at::Tensor& nll, int64_t chunk, int64_t topK)
{
    // On the CPU: (Bt, T) floats once per step, and a tie rule that is easy to state.
    const at::Tensor s = nll.detach().to(at::kCPU, at::kFloat).contiguous();
    const int64_t Bt = s.size(0), T = s.size(1);
    at::Tensor target = at::zeros({Bt, T}, at::kFloat);
    at::Tensor weight = at::ones({Bt, T}, at::kFloat);
    const float* in = s.data_ptr<float>();
    float* tgt = target.data_ptr<float>();
    std::vector<int64_t> order;
    for (int64_t b = 0; b < Bt; ++b) {
        weight[b][0] = 0.0f;
        for (int64_t c0 = 0; c0 < T; c0 += chunk) {
            const int64_t first = std::max<int64_t>(c0, 1), end = std::min(T, c0 + chunk);
            if (end <= first)
                continue;
            order.resize(end - first);
            std::iota(order.begin(), order.end(), first);
            const int64_t k = std::min<int64_t>(topK, static_cast<int64_t>(order.size()));
            const float* row = in + b * T;
            std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t x, int64_t y) {
                return row[x] > row[y] || (row[x] == row[y] && x < y);
            });
            for (int64_t i = 0; i < k; ++i)
                tgt[b * T + order[i]] = 1.0f;
        }
    }
    return {target.to(nll.device()), weight.to(nll.device())};
}

at::Tensor scoreLoss(const at::Tensor& scoreLogits, const at::Tensor& target, const at::Tensor& weight)
{
    const at::Tensor per = at::binary_cross_entropy_with_logits(scoreLogits.to(at::kFloat), target, {}, {},
                                                                at::Reduction::None);
    return (per * weight).sum() / weight.sum().clamp_min(1.0);
}

}  // namespace mm::engine::train
