// `memmamba info`: the engine part (runtime and model). Torch-free: engine/engine.h only.
#include "engine_commands.h"

#include "engine/engine.h"
#include "engine/tokenizer/tokenizer.h"

#include <fstream>

namespace mm::cli {

namespace {

std::string shippedModelDir()
{
    return resourceDir() + "/models/default";
}

}  // namespace

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
        std::unique_ptr<Model> m;
        std::string dir = modelDir;
        if (dir.empty() && std::ifstream(shippedModelDir() + "/config.json").good())
            dir = shippedModelDir();
        if (dir.empty()) {
            m = Model::createRandom("{}", 0, device);
            model["source"] = "random initialisation of the default config (seed 0): no shipped model in " +
                              shippedModelDir();
        } else {
            m = Model::load(dir, device);
            model["source"] = dir;
        }
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
