// memmamba-engine: the engine's commands without Qt or the library storage, for machines
// that have LibTorch and nothing else (the GPU machine's engine-only build,
// -DMEMMAMBA_ENGINE_ONLY=ON; docs/training.md):
//   memmamba-engine train ...                       `memmamba train` (same options)
//   memmamba-engine bench ingest ...                `memmamba bench` (same options)
//   memmamba-engine info [MODEL_DIR] [DEVICE]       the model and device, JSON
//   memmamba-engine recall --model DIR [--lengths 1k,4k] [--trials N] [--device D]
//                          [--tasks passkey,multikey] [--filler repeat|books --books DIR]
//                          [--keys 4] [--seed S] [--no-pool-too]
//       exact-match recall by length (engine/eval's passkey and multi-key protocols,
//       greedy decoding), one JSON object; with --no-pool-too also the ablation with the
//       pools emptied, row for row.
#include "engine_commands.h"
#include "option_values.h"
#include "train_commands.h"

#include "engine/engine.h"
#include "engine/eval/eval.h"
#include "engine/tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

namespace {

int runRecall(const std::vector<std::string>& args)
{
    std::string modelDir, device = "auto", lengths = "1k,4k", tasks = "passkey", filler = "repeat", booksDir;
    int64_t trials = 5, keys = 4;
    uint64_t seed = 1;
    bool ablation = false;
    try {
        for (size_t i = 0; i < args.size(); ++i) {
            const std::string& a = args[i];
            auto value = [&]() -> const std::string& {
                if (i + 1 >= args.size())
                    throw mm::cli::BadArgs(a + " needs a value");
                return args[++i];
            };
            if (a == "--model")
                modelDir = value();
            else if (a == "--device")
                device = value();
            else if (a == "--lengths")
                lengths = value();
            else if (a == "--trials")
                trials = mm::cli::integerValue(a, value(), 1);
            else if (a == "--keys")
                keys = mm::cli::integerValue(a, value(), 1);
            else if (a == "--seed")
                seed = static_cast<uint64_t>(mm::cli::integerValue(a, value(), 0));
            else if (a == "--tasks")
                tasks = value();
            else if (a == "--filler")
                filler = value();
            else if (a == "--books")
                booksDir = value();
            else if (a == "--no-pool-too")
                ablation = true;
            else
                throw mm::cli::BadArgs("unknown option '" + a + "'");
        }
        if (modelDir.empty())
            throw mm::cli::BadArgs("--model DIR is required");
        if (filler != "repeat" && filler != "books")
            throw mm::cli::BadArgs("--filler must be repeat or books");
        if (filler == "books" && booksDir.empty())
            throw mm::cli::BadArgs("--filler books needs --books DIR");
    } catch (const mm::cli::BadArgs& e) {
        std::fprintf(stderr, "memmamba-engine recall: %s\n", e.what());
        return 2;
    }
    try {
        auto model = mm::Model::load(modelDir, device);
        auto tok = mm::Tokenizer::loadDefault();
        mm::eval::RetrievalOptions o;
        o.lengths = mm::eval::parseSizes(lengths);
        o.trials = trials;
        o.seed = seed;
        o.keyCounts = {keys};
        o.filler = filler;
        mm::eval::RunContext ctx;
        ctx.progress = [](const std::string& line) { std::fprintf(stderr, "\r%-78.78s", line.c_str()); };
        if (filler == "books")
            o.books = mm::eval::loadBooks(mm::eval::listBookFiles({booksDir}), *tok, ctx);
        o.variants = {{"notes", false}};
        const nlohmann::json notes = nlohmann::json::parse(model->info().configJson).value("notes", nlohmann::json("on"));
        if (ablation && notes != "off" && notes != false)
            o.variants.push_back({"no_pool", true});
        nlohmann::json out{{"model", modelDir}, {"fingerprint", model->info().fingerprint}, {"filler", filler}};
        std::stringstream list(tasks);
        std::string task;
        while (std::getline(list, task, ',')) {
            if (task == "passkey")
                out["passkey"] = mm::eval::runPasskey(*model, *tok, o, ctx);
            else if (task == "multikey")
                out["multikey"] = mm::eval::runMultiKey(*model, *tok, o, ctx);
            else
                throw std::invalid_argument("unknown task '" + task + "' (passkey, multikey)");
        }
        std::fprintf(stderr, "\n");
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    } catch (const std::exception& e) {
        const std::string what = e.what();
        std::fprintf(stderr, "\nmemmamba-engine recall: %s\n", what.substr(0, what.find('\n')).c_str());
        return 1;
    }
}

}  // namespace

int main(int argc, char** argv)
{
    const std::vector<std::string> args(argv + 1, argv + argc);
    const std::string command = args.empty() ? "" : args[0];
    const std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
    if (command == "train")
        return mm::cli::runTrain(rest);
    if (command == "bench")
        return mm::cli::runBench(rest);
    if (command == "recall")
        return runRecall(rest);
    if (command == "info") {
        const auto j = mm::cli::engineInfoJson(rest.size() > 0 ? rest[0] : "", rest.size() > 1 ? rest[1] : "auto");
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::fprintf(stderr, "usage: memmamba-engine train ... | bench ingest ... | recall --model DIR ... | info [DIR] [DEVICE]\n");
    return 2;
}
