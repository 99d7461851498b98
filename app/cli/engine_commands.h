// The command line's engine commands (app/cli/engine_info.cpp, app/cli/cmd_bench.cpp).
// They use only the torch-free engine/engine.h.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace mm::cli {

/// For `memmamba info`: {"engine": runtime (torch version, threads, CUDA), "model": config,
/// parameter count, fingerprint, source, tokenizer}. modelDir empty: the shipped model
/// (resources/models/default) if present, else the engine's default config, randomly
/// initialised (seed 0). device: "auto", "cpu" or "cuda". Errors are reported inside the
/// object ("error" fields), never thrown, so `info` always prints.
nlohmann::json engineInfoJson(const std::string& modelDir, const std::string& device);

/// `memmamba bench ingest --tokens N [--device cpu|cuda|auto] [--json] [--notes on|off]
/// [--piece N] [--model DIR] [--threads N] [--seed S]` (args after "bench"; a leading "bench" is
/// skipped). Prints one summary line, or one JSON object with --json; progress on stderr.
/// Returns 0, or 2 after one line on stderr for bad arguments, 1 for engine errors.
int runBench(const std::vector<std::string>& args);

}  // namespace mm::cli
