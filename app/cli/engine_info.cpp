// `memmamba info`: the engine part (runtime and model). Torch-free: engine/engine.h and
// the one model loader (app/memory/model_loader.h).
#include "engine_commands.h"

#include "app/memory/model_loader.h"
#include "engine/engine.h"
#include "engine/tokenizer/tokenizer.h"

namespace mm::cli {

nlohmann::json engineInfoJson(const std::string& modelDir, const std::string& device)
{
    nlohmann::json out;
    const RuntimeInfo rt = runtimeInfo();
    out["engine"] = {{"torch", rt.torchVersion},
                     {"threads", rt.threads},
                     {"cuda_available", rt.cudaAvailable},
                     {"cuda_device", rt.cudaDeviceName}};
    nlohmann::json model;
    try {
        memory::ModelChoice choice;
        choice.modelDir = modelDir;
        choice.device = device;
        // No folder named and none shipped: describe the default config, randomly
        // initialised, rather than fail (`info` always prints).
        choice.random = modelDir.empty() && !memory::shippedModelPresent();
        const memory::OpenedModel opened = memory::openModel(choice);
        const std::unique_ptr<Model>& m = opened.model;
        if (choice.random)
            model["source"] = "random initialisation of the default config (seed 0): no shipped model in " +
                              resourceDir() + "/models/default";
        else
            model["source"] = opened.source == "shipped" ? resourceDir() + "/models/default" : opened.source;
        const ModelInfo info = m->info();
        model["config"] = nlohmann::json::parse(info.configJson);
        model["parameter_count"] = info.parameterCount;
        model["weights_mb_bf16"] = static_cast<double>(info.parameterCount) * 2 / 1e6;
        model["fingerprint"] = info.fingerprint;
        model["device"] = info.device;
        nlohmann::json tok;
        try {
            const auto t = Tokenizer::loadDefault();
            tok["path"] = t->modelPath();
            tok["fingerprint"] = t->fingerprint();
            tok["matches_model"] = t->fingerprint() == info.tokenizerFingerprint;
        } catch (const std::exception& e) {
            tok["error"] = e.what();
        }
        model["tokenizer"] = tok;
    } catch (const std::exception& e) {
        model["error"] = e.what();
    }
    out["model"] = model;
    return out;
}

}  // namespace mm::cli
