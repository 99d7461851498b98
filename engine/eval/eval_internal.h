// Helpers shared by the protocol files of engine/eval (not part of eval.h).
#pragma once

#include "engine/eval/eval.h"

namespace mm::eval {

struct ReadFlags {
    bool noPool = false;
    bool surprisal = false;
    bool layerOutputs = false;
};

/// model.read with the notes' outputs off, the run's cancel flag and throttled progress
/// lines (for reads over 4096 tokens) prefixed by `what`.
ReadResult readTokens(const Model& model, State& state, const std::vector<int32_t>& tokens, const ReadFlags& flags,
                      const RunContext& ctx, const std::string& what);

}  // namespace mm::eval
