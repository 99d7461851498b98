// Loading the model and its tokenizer: the one loader the command line (its memory
// commands and `info`), memmamba-engine's `info` and the reader share. A model folder (the
// shipped one by default) or a random model, on a device; the tokenizer the model was
// trained with must be the installed one. Engine only (no storage, no Qt): its own small
// target, mm_model_loader, so the engine-only build links it too.
#pragma once

#include "engine/engine.h"
#include "engine/tokenizer/tokenizer.h"

#include <memory>
#include <string>

namespace mm::memory {

struct ModelChoice {
    std::string modelDir;             ///< empty: the shipped model (resources/models/default)
    bool random = false;              ///< a randomly initialised model (seed 0)
    std::string randomConfig = "{}";  ///< its config (JSON, may be partial)
    std::string device = "auto";      ///< "auto", "cpu" or "cuda"
};

/// A loaded model and tokenizer, immutable afterwards (shared by threads).
struct LoadedModel {
    std::unique_ptr<Model> model;
    std::unique_ptr<Tokenizer> tokenizer;
    ModelInfo info;
    std::string source;     ///< "shipped", "random" or the folder given
    int layers = 0;
    int poolSlots = 0;
    int64_t noteChunk = 0;
    double loadMs = 0;
    double warmupMs = 0;    ///< warmUp after loading (CUDA only; 0 on the CPU or when not asked)
};

/// The model alone, and where it came from ("shipped", "random" or the folder given):
/// the first half of loadModel, for callers that report on the tokenizer themselves
/// (`memmamba info`). Throws as loadModel does, tokenizer errors aside.
struct OpenedModel {
    std::unique_ptr<Model> model;
    std::string source;
};
OpenedModel openModel(const ModelChoice& choice);

/// Throws the engine's LoadError (engine/engine.h): MissingFile (no config.json in the
/// folder, or no shipped model), InvalidModel, WrongDevice, TokenizerMismatch (the model
/// was trained with another tokenizer than the installed one); std::runtime_error when
/// the tokenizer cannot be loaded. warm: pay the device's first-use costs now (warmUp).
LoadedModel loadModel(const ModelChoice& choice, bool warm = false);

/// True when a model can be loaded without naming one (the shipped model exists).
bool shippedModelPresent();

/// Pays a fresh process's one-time device costs (CUDA context, cuBLAS handles, kernel
/// loading, the allocator's first blocks) with a short read and generation on a scratch
/// state, so that the first ingest span or question does not. Does nothing on the CPU
/// (returns 0). Returns the milliseconds it took (report it with model loading).
double warmUp(const Model& model, const Tokenizer& tokenizer);

/// Where the model runs, for showing it.
struct DeviceInfo {
    bool gpu = false;
    std::string cudaDeviceName;  ///< empty on the CPU
    int threads = 0;             ///< CPU threads the engine uses
};
DeviceInfo deviceOf(const LoadedModel& model);

/// Reading speed of this model on its device (tokens/s): 512 tokens after a short warm-up.
double measureReadingSpeed(const Model& model, const Tokenizer& tokenizer);

}  // namespace mm::memory
