// Helpers shared by the engine suites: small configs, weight perturbation, comparisons.
#pragma once

#include "engine/engine.h"
#include "engine/model.h"

#include <ATen/ATen.h>

#include <random>
#include <string>
#include <vector>

namespace mm::test {

/// Small dimensions, many note chunks (C = 16), a pool that fills and evicts (M = 6, k = 3),
/// cross-layer attention at layers 1 and 3 (p = 2).
inline std::string smallConfig(const std::string& extra = "")
{
    return std::string(R"({"vocab_size": 64, "d_model": 32, "n_layer": 4, "d_state": 8, "d_conv": 4,)"
                       R"( "expand": 2, "pool_slots": 6, "note_dim": 16, "note_chunk": 16,)"
                       R"( "notes_per_chunk": 3, "attn_heads": 4, "cross_layer_period": 2)") +
           extra + "}";
}

/// Random model whose every weight (also the zero-initialised gate outputs) is perturbed,
/// so the notes really change the outputs.
/// The same weights on any device (drawn on the CPU).
inline std::unique_ptr<Model> perturbedModel(const std::string& config, uint64_t seed, const std::string& device = "cpu")
{
    auto model = Model::createRandom(config, seed, device);
    engine::Model& m = model->impl();
    at::Generator gen = at::detail::createCPUGenerator(seed + 1000);
    engine::forEachParameter(m.weights, m.config, [&](const std::string&, at::Tensor& t) {
        const at::Tensor cpu = t.to(at::kCPU);
        t = (cpu + at::empty(cpu.sizes(), cpu.options()).normal_(0, 0.1, gen)).to(t.device());
    });
    m.fingerprint = engine::computeFingerprint(m);
    return model;
}

inline std::vector<int32_t> randomTokens(int64_t n, int32_t vocab, uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int32_t> dist(0, vocab - 1);
    std::vector<int32_t> out(n);
    for (auto& t : out)
        t = dist(rng);
    return out;
}

/// max |a - b| / max |a| (0 when both are zero).
inline double relativeError(const at::Tensor& a, const at::Tensor& b)
{
    const double scale = a.abs().max().item<double>();
    const double diff = (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
    return scale == 0 ? diff : diff / scale;
}

inline double relativeError(const std::vector<float>& a, const std::vector<float>& b)
{
    if (a.size() != b.size())
        return 1e30;
    return relativeError(at::tensor(a), at::tensor(b));
}

/// Largest relative difference between two states' tensors; -1 when their discrete parts
/// (positions, fills, candidates' positions) differ.
inline double stateDifference(const engine::ModelState& a, const engine::ModelState& b)
{
    if (a.position != b.position || a.last_token != b.last_token || a.layers.size() != b.layers.size())
        return -1;
    double worst = relativeError(a.last_hidden, b.last_hidden);
    for (size_t l = 0; l < a.layers.size(); ++l) {
        const auto &x = a.layers[l], &y = b.layers[l];
        if (x.pool.position != y.pool.position || x.pool.fill != y.pool.fill ||
            x.pool.candidates.size() != y.pool.candidates.size())
            return -1;
        for (size_t i = 0; i < x.pool.candidates.size(); ++i)
            if (x.pool.candidates[i].position != y.pool.candidates[i].position)
                return -1;
        worst = std::max({worst, relativeError(x.conv, y.conv), relativeError(x.ssm, y.ssm)});
        if (x.pool_values.numel())
            worst = std::max(worst, relativeError(x.pool_values, y.pool_values));
        if (x.cand_values.numel())
            worst = std::max(worst, relativeError(x.cand_values, y.cand_values));
    }
    return worst;
}

}  // namespace mm::test
