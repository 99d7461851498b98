#include "engine/config.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace mm {

namespace {

const std::set<std::string>& knownKeys()
{
    static const std::set<std::string> keys = {
        "format",           "vocab_size",  "d_model",        "n_layer",         "d_state",
        "d_conv",           "expand",      "dt_rank",        "norm_eps",        "notes",
        "pool_slots",       "note_dim",    "note_chunk",     "note_threshold",  "notes_per_chunk",
        "attn_heads",       "cross_layer_period",            "eviction",        "tokenizer_fingerprint"};
    return keys;
}

template <typename T>
void readField(const nlohmann::json& j, const char* key, T& out)
{
    if (!j.contains(key))
        return;
    try {
        out = j.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
        throw std::invalid_argument(std::string("model config: field '") + key + "' has the wrong type (" +
                                    j.at(key).dump() + ")");
    }
}

void requirePositive(int64_t v, const char* name)
{
    if (v <= 0)
        throw std::invalid_argument(std::string("model config: ") + name + " must be positive, got " +
                                    std::to_string(v));
}

}  // namespace

int64_t ModelConfig::crossLayerSources(int64_t layer) const
{
    return std::min<int64_t>(cross_layer_period, layer + 1);
}

void ModelConfig::validate() const
{
    requirePositive(vocab_size, "vocab_size");
    requirePositive(d_model, "d_model");
    requirePositive(n_layer, "n_layer");
    requirePositive(d_state, "d_state");
    requirePositive(d_conv, "d_conv");
    requirePositive(expand, "expand");
    if (dt_rank < 0)
        throw std::invalid_argument("model config: dt_rank must be positive or 0 (auto)");
    if (!(norm_eps > 0))
        throw std::invalid_argument("model config: norm_eps must be positive");
    if (!notes)
        return;
    requirePositive(pool_slots, "pool_slots");
    requirePositive(note_dim, "note_dim");
    requirePositive(note_chunk, "note_chunk");
    requirePositive(notes_per_chunk, "notes_per_chunk");
    requirePositive(attn_heads, "attn_heads");
    requirePositive(cross_layer_period, "cross_layer_period");
    if (notes_per_chunk > pool_slots)
        throw std::invalid_argument("model config: notes_per_chunk (" + std::to_string(notes_per_chunk) +
                                    ") must not exceed pool_slots (" + std::to_string(pool_slots) + ")");
    if (note_dim % attn_heads != 0)
        throw std::invalid_argument("model config: note_dim (" + std::to_string(note_dim) +
                                    ") must be divisible by attn_heads (" + std::to_string(attn_heads) + ")");
    if (!(note_threshold >= 0 && note_threshold < 1))
        throw std::invalid_argument("model config: note_threshold must be in [0, 1)");
}

ModelConfig configFromJson(const nlohmann::json& j)
{
    if (!j.is_object())
        throw std::invalid_argument("model config: expected a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it)
        if (!knownKeys().count(it.key()))
            throw std::invalid_argument("model config: unknown field '" + it.key() + "'");
    if (j.contains("format") && j.at("format") != "memmamba-v1")
        throw std::invalid_argument("model config: format " + j.at("format").dump() +
                                    " is not supported (this build reads \"memmamba-v1\")");
    ModelConfig c;
    readField(j, "vocab_size", c.vocab_size);
    readField(j, "d_model", c.d_model);
    readField(j, "n_layer", c.n_layer);
    readField(j, "d_state", c.d_state);
    readField(j, "d_conv", c.d_conv);
    readField(j, "expand", c.expand);
    if (j.contains("dt_rank") && j.at("dt_rank") == "auto")
        c.dt_rank = 0;
    else
        readField(j, "dt_rank", c.dt_rank);
    readField(j, "norm_eps", c.norm_eps);
    if (j.contains("notes")) {
        const auto& n = j.at("notes");
        if (n.is_boolean())
            c.notes = n.get<bool>();
        else if (n == "on")
            c.notes = true;
        else if (n == "off")
            c.notes = false;
        else
            throw std::invalid_argument("model config: notes must be \"on\" or \"off\", got " + n.dump());
    }
    readField(j, "pool_slots", c.pool_slots);
    readField(j, "note_dim", c.note_dim);
    readField(j, "note_chunk", c.note_chunk);
    readField(j, "note_threshold", c.note_threshold);
    readField(j, "notes_per_chunk", c.notes_per_chunk);
    readField(j, "attn_heads", c.attn_heads);
    readField(j, "cross_layer_period", c.cross_layer_period);
    if (j.contains("eviction")) {
        const auto& e = j.at("eviction");
        if (e == "priority")
            c.eviction = EvictionPolicy::Priority;
        else if (e == "fifo")
            c.eviction = EvictionPolicy::Fifo;
        else
            throw std::invalid_argument("model config: eviction must be \"priority\" or \"fifo\", got " + e.dump());
    }
    readField(j, "tokenizer_fingerprint", c.tokenizer_fingerprint);
    c.validate();
    return c;
}

ModelConfig configFromJsonText(const std::string& text)
{
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        throw std::invalid_argument(std::string("model config: not valid JSON: ") + e.what());
    }
    return configFromJson(j);
}

nlohmann::json configToJson(const ModelConfig& c)
{
    nlohmann::json j;
    j["format"] = "memmamba-v1";
    j["vocab_size"] = c.vocab_size;
    j["d_model"] = c.d_model;
    j["n_layer"] = c.n_layer;
    j["d_state"] = c.d_state;
    j["d_conv"] = c.d_conv;
    j["expand"] = c.expand;
    j["dt_rank"] = c.dtRank();
    j["norm_eps"] = c.norm_eps;
    j["notes"] = c.notes ? "on" : "off";
    j["pool_slots"] = c.pool_slots;
    j["note_dim"] = c.note_dim;
    j["note_chunk"] = c.note_chunk;
    j["note_threshold"] = c.note_threshold;
    j["notes_per_chunk"] = c.notes_per_chunk;
    j["attn_heads"] = c.attn_heads;
    j["cross_layer_period"] = c.cross_layer_period;
    j["eviction"] = c.eviction == EvictionPolicy::Priority ? "priority" : "fifo";
    j["tokenizer_fingerprint"] = c.tokenizer_fingerprint;
    return j;
}

std::string canonicalConfigText(const ModelConfig& c)
{
    nlohmann::json j = configToJson(c);
    j.erase("tokenizer_fingerprint");
    return j.dump();  // nlohmann::json objects keep keys sorted: canonical
}

}  // namespace mm
