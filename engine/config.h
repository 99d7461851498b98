// ModelConfig: every dimension and Note Block parameter of a MemMamba model (docs/spec/MODEL.md v1),
// read from and written to JSON. Torch-free.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>

namespace mm {

enum class EvictionPolicy { Priority, Fifo };

struct ModelConfig {
    // Sizes. Letters used throughout engine/: V vocab, D d_model, L n_layer,
    // E d_inner = expand * D, N d_state, K d_conv, R dt_rank.
    int64_t vocab_size = 8192;
    int64_t d_model = 320;
    int64_t n_layer = 8;
    int64_t d_state = 16;
    int64_t d_conv = 4;
    int64_t expand = 2;
    int64_t dt_rank = 0;  ///< 0 in JSON or "auto": ceil(d_model / 16)
    double norm_eps = 1e-5;

    // Note Block. M pool slots of r dims, chunks of C tokens, at most k notes a chunk
    // with score > tau, H attention heads, cross-layer attention every p layers.
    bool notes = true;
    int64_t pool_slots = 50;     // M
    int64_t note_dim = 64;       // r
    int64_t note_chunk = 128;    // C
    double note_threshold = 0.5; // tau
    int64_t notes_per_chunk = 8; // k
    int64_t attn_heads = 4;      // H
    int64_t cross_layer_period = 4;  // p
    EvictionPolicy eviction = EvictionPolicy::Priority;

    /// Tokenizer the model was trained with ("" for random models). Not part of the
    /// model fingerprint: states check it separately.
    std::string tokenizer_fingerprint;

    int64_t dInner() const { return expand * d_model; }
    int64_t dtRank() const { return dt_rank > 0 ? dt_rank : (d_model + 15) / 16; }
    /// Layer l has cross-layer attention over the pools of layers l-p+1..l.
    bool hasCrossLayer(int64_t layer) const { return notes && (layer + 1) % cross_layer_period == 0; }
    int64_t crossLayerSources(int64_t layer) const;  ///< how many pools layer l reads (<= p)

    /// Throws std::invalid_argument naming the first bad field.
    void validate() const;
};

/// Parses a config; fields left out take the defaults above; unknown fields are refused
/// (a typo must not silently give a default). Throws std::invalid_argument.
ModelConfig configFromJson(const nlohmann::json& j);
ModelConfig configFromJsonText(const std::string& text);
nlohmann::json configToJson(const ModelConfig& c);
/// Canonical text of the architecture (sorted keys, no tokenizer): hashed into the fingerprint.
std::string canonicalConfigText(const ModelConfig& c);

}  // namespace mm
