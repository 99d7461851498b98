// 5. Speed: `memmamba bench`'s reading measurement per length, plus the time to the
// first answer token.
#include "engine/eval/eval.h"
#include "engine/eval/eval_internal.h"

#include "engine/tokenizer/tokenizer.h"

#include <sys/resource.h>

#include <chrono>

namespace mm::eval {

namespace {

double peakRssMb()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss / 1024.0;  // Linux: kilobytes
}

double secondsSince(std::chrono::steady_clock::time_point t)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

nlohmann::json runSpeed(const Model& model, const Tokenizer& tok, const SpeedOptions& o, const RunContext& ctx)
{
    const ModelInfo info = model.info();
    const nlohmann::json config = nlohmann::json::parse(info.configJson);
    const int64_t vocab = config.at("vocab_size").get<int64_t>();
    const std::vector<int32_t> question = tok.encode(" What is the pass key? The pass key is");
    nlohmann::json rows = nlohmann::json::array();
    bool cancelled = false;
    for (const Variant& v : o.variants) {
        for (int64_t length : o.lengths) {
            if (length <= 0)
                continue;
            // bench's input: uniform random tokens from a seeded generator
            std::mt19937_64 rng(o.seed);
            std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(vocab - 1));
            std::vector<int32_t> tokens(length);
            for (auto& t : tokens)
                t = dist(rng);
            ReadOptions opt;  // bench's options (surprisal, importance, note events), plus the ablation
            opt.noPool = v.noPool;
            opt.cancel = ctx.cancel;
            {
                State warm = model.newState();
                model.read(warm, std::vector<int32_t>(tokens.begin(), tokens.begin() + std::min<int64_t>(length, 256)),
                           opt);
            }
            const std::string what = "speed " + v.name + " " + sizeLabel(length);
            auto last = std::chrono::steady_clock::now();
            const auto start = std::chrono::steady_clock::now();
            opt.onProgress = [&](int64_t done, int64_t total) {
                if (!ctx.progress || std::chrono::duration<double>(std::chrono::steady_clock::now() - last).count() < 2.0)
                    return;
                last = std::chrono::steady_clock::now();
                ctx.progress(what + ": " + std::to_string(done) + " / " + std::to_string(total) + " tokens, " +
                             std::to_string(static_cast<int64_t>(done / secondsSince(start))) + " tokens/s");
            };
            State state = model.newState();
            const ReadResult r = model.read(state, tokens, opt);
            const double seconds = secondsSince(start);
            if (r.cancelled) {
                cancelled = true;
                break;
            }
            // Time to the first answer token, from the state after the book.
            const auto t0 = std::chrono::steady_clock::now();
            ReadOptions q;
            q.surprisal = q.importance = q.noteEvents = false;
            q.noPool = v.noPool;
            model.read(state, question, q);
            GenerateOptions g;
            g.maxTokens = 1;
            g.noPool = v.noPool;
            model.generate(state, g);
            const double ttft = secondsSince(t0);
            rows.push_back({{"variant", v.name},
                            {"tokens", length},
                            {"seconds", seconds},
                            {"tokens_per_s", length / seconds},
                            {"ttft_ms", ttft * 1000},
                            {"question_tokens", question.size()},
                            {"peak_rss_mb", peakRssMb()},
                            {"note_insertions", r.notes.size()}});
            if (ctx.progress)
                ctx.progress(what + ": done");
        }
        if (cancelled)
            break;
    }
    return {{"protocol", "speed"},
            {"device", info.device},
            {"threads", runtimeInfo().threads},
            {"seed", o.seed},
            {"cancelled", cancelled},
            {"config",
             {{"d_model", config.at("d_model")},
              {"n_layer", config.at("n_layer")},
              {"vocab_size", vocab},
              {"notes", config.at("notes")},
              {"parameters", info.parameterCount},
              {"fingerprint", info.fingerprint}}},
            {"rows", rows}};
}

}  // namespace mm::eval
