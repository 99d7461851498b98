// `memmamba train`: parses the options into engine/train's TrainOptions and runs the loop.
// Every flag is documented in docs/training.md.
#include "train_commands.h"
#include "option_values.h"

#include "engine/train/data.h"
#include "engine/train/trainer.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mm::cli {

namespace {

const char* kTrainUsage =
    "usage: memmamba train --data DIR --out DIR [--valid DIR] [--config FILE] [--notes on|off]\n"
    "       [--device cpu|cuda] [--seed S] [--batch N] [--seq-len N] [--steps N|auto] [--time-budget-min M]\n"
    "       [--lr X] [--min-lr X] [--warmup N] [--weight-decay X] [--grad-clip X] [--amp on|off]\n"
    "       [--synthetic X] [--synthetic-min N] [--synthetic-max N] [--synthetic-packed] [--aux-weight X]\n"
    "       [--curriculum-threshold X] [--curriculum-min-steps N] [--curriculum-share X]\n"
    "       [--log-every N] [--valid-every N] [--valid-windows N] [--checkpoint-every N] [--stop-after N]\n"
    "       [--threads N] [--token-cache FILE] [--tokenizer FILE] [--resume] [--json]\n"
    "       [--preset passkey-ref|passkey-ref-notes] [--init-from MODEL_DIR] [--tasks passkey,multikey,fact]\n"
    "       [--filler mixed|repeat|books] [--curriculum staged|off] [--schedule gated|cosine] [--decay-steps N]\n"
    "       [--answer-weight X] [--lm-weight X] [--isolate on|off] [--valid-samples N] [--bench]\n"
    "       [--stop-when-learned]\n"
    "  (docs/training.md describes every option)\n";

bool onOff(const std::string& option, const std::string& value)
{
    if (value == "on")
        return true;
    if (value == "off")
        return false;
    throw BadArgs(option + " must be on or off, got '" + value + "'");
}

std::string readConfigFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw BadArgs("--config " + path + ": cannot open");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

struct Parsed {
    engine::train::TrainOptions o;
    bool json = false;
    bool help = false;
};

Parsed parse(std::vector<std::string> args)
{
    if (!args.empty() && args[0] == "train")
        args.erase(args.begin());
    Parsed p;
    engine::train::TrainOptions& o = p.o;
    std::string notes, configPath;
    // A preset first, whatever its place: the options given with it override it.
    for (size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == "--preset") {
            try {
                engine::train::applyPreset(args[i + 1], o);
            } catch (const engine::train::TrainError& e) {
                throw BadArgs(e.what());
            }
        }
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() -> const std::string& {
            if (i + 1 >= args.size())
                throw BadArgs(a + " needs a value");
            return args[++i];
        };
        if (a == "--help" || a == "-h")
            p.help = true;
        else if (a == "--json")
            p.json = true;
        else if (a == "--resume")
            o.resume = true;
        else if (a == "--synthetic-packed")
            o.syntheticPacked = true;
        else if (a == "--bench")
            o.bench = true;
        else if (a == "--stop-when-learned")
            o.stopWhenLearned = true;
        else if (a == "--preset")
            value();  // applied above
        else if (a == "--init-from")
            o.initFrom = value();
        else if (a == "--tasks") {
            try {
                o.tasks = engine::train::parseTasks(value());
            } catch (const std::invalid_argument& e) {
                throw BadArgs(std::string("--tasks: ") + e.what());
            }
        } else if (a == "--filler") {
            o.filler = value();
            if (o.filler != "mixed" && o.filler != "repeat" && o.filler != "books")
                throw BadArgs("--filler must be mixed, repeat or books, got '" + o.filler + "'");
        } else if (a == "--curriculum") {
            o.curriculumMode = value();
            if (o.curriculumMode != "staged" && o.curriculumMode != "off")
                throw BadArgs("--curriculum must be staged or off, got '" + o.curriculumMode + "'");
        } else if (a == "--schedule") {
            o.schedule = value();
            if (o.schedule != "gated" && o.schedule != "cosine")
                throw BadArgs("--schedule must be gated or cosine, got '" + o.schedule + "'");
        } else if (a == "--decay-steps")
            o.decaySteps = integerValue(a, value(), 1);
        else if (a == "--answer-weight")
            o.answerWeight = numberValue(a, value(), 0, 1000);
        else if (a == "--lm-weight")
            o.lmWeight = numberValue(a, value(), 0, 1000);
        else if (a == "--isolate")
            o.isolateSamples = onOff(a, value());
        else if (a == "--valid-samples")
            o.validSamples = integerValue(a, value(), 0);
        else if (a == "--data")
            o.dataDir = value();
        else if (a == "--valid")
            o.validDir = value();
        else if (a == "--out")
            o.outDir = value();
        else if (a == "--config")
            configPath = value();
        else if (a == "--notes")
            notes = onOff(a, value()) ? "on" : "off";
        else if (a == "--device") {
            o.device = value();
            if (o.device != "cpu" && o.device != "cuda")
                throw BadArgs("--device must be cpu or cuda, got '" + o.device + "'");
        } else if (a == "--seed")
            o.seed = static_cast<uint64_t>(integerValue(a, value(), 0));
        else if (a == "--batch")
            o.batchRows = integerValue(a, value(), 1);
        else if (a == "--seq-len")
            o.seqLen = integerValue(a, value(), 2);
        else if (a == "--steps") {
            const std::string& v = value();
            o.steps = v == "auto" ? 0 : integerValue(a, v, 1);
        } else if (a == "--time-budget-min")
            o.timeBudgetMin = numberValue(a, value(), 0, 1e6);
        else if (a == "--lr")
            o.lr = numberValue(a, value(), 0, 1);
        else if (a == "--min-lr")
            o.minLr = numberValue(a, value(), 0, 1);
        else if (a == "--warmup")
            o.warmupSteps = integerValue(a, value(), 1);
        else if (a == "--weight-decay")
            o.weightDecay = numberValue(a, value(), 0, 10);
        else if (a == "--grad-clip")
            o.gradClip = numberValue(a, value(), 1e-6, 1e6);
        else if (a == "--amp")
            o.amp = onOff(a, value());
        else if (a == "--synthetic")
            o.syntheticShare = numberValue(a, value(), 0, 1);
        else if (a == "--synthetic-min")
            o.syntheticMin = integerValue(a, value(), 64);
        else if (a == "--synthetic-max")
            o.syntheticMax = integerValue(a, value(), 64);
        else if (a == "--aux-weight")
            o.auxWeight = numberValue(a, value(), 0, 100);
        else if (a == "--curriculum-threshold")
            o.curriculumThreshold = numberValue(a, value(), 0, 1);
        else if (a == "--curriculum-min-steps")
            o.curriculumMinSteps = integerValue(a, value(), 0);
        else if (a == "--curriculum-share")
            o.curriculumShare = numberValue(a, value(), 0, 1);
        else if (a == "--log-every")
            o.logEvery = integerValue(a, value(), 1);
        else if (a == "--valid-every")
            o.validEvery = integerValue(a, value(), 0);
        else if (a == "--valid-windows")
            o.validWindows = integerValue(a, value(), 1);
        else if (a == "--checkpoint-every")
            o.checkpointEvery = integerValue(a, value(), 0);
        else if (a == "--stop-after")
            o.stopAfterSteps = integerValue(a, value(), 1);
        else if (a == "--threads")
            o.threads = static_cast<int>(integerValue(a, value(), 1));
        else if (a == "--token-cache")
            o.tokenCache = value();
        else if (a == "--tokenizer")
            o.tokenizerPath = value();
        else
            throw BadArgs("unknown option '" + a + "' (try memmamba train --help)");
    }
    if (p.help)
        return p;
    if (o.bench && o.outDir.empty())
        o.outDir = "/tmp/memmamba-train-bench";
    if (o.bench && o.stopAfterSteps == 0)
        o.stopAfterSteps = 15;
    if (o.dataDir.empty() || o.outDir.empty())
        throw BadArgs("--data DIR and --out DIR are required (try memmamba train --help)");
    if (o.syntheticMin > o.syntheticMax)
        throw BadArgs("--synthetic-min must not exceed --synthetic-max");
    // The preset's config, then --config's keys over it, then --notes.
    nlohmann::json config = nlohmann::json::parse(o.configJson, nullptr, false);
    if (!config.is_object())
        config = nlohmann::json::object();
    if (!configPath.empty()) {
        const nlohmann::json file = nlohmann::json::parse(readConfigFile(configPath), nullptr, false);
        if (file.is_discarded() || !file.is_object())
            throw BadArgs("--config " + configPath + ": not a JSON object");
        config.update(file);
    }
    if (!notes.empty())
        config["notes"] = notes == "on";
    o.configJson = config.dump();
    return p;
}

}  // namespace

int runTrain(const std::vector<std::string>& args)
{
    Parsed p;
    try {
        p = parse(args);
    } catch (const BadArgs& e) {
        std::fprintf(stderr, "memmamba train: %s\n", e.what());
        return 2;
    }
    if (p.help) {
        std::fputs(kTrainUsage, stdout);
        return 0;
    }
    try {
        const nlohmann::json summary = engine::train::runTraining(p.o, [](const std::string& line) {
            std::fprintf(stderr, "%s\n", line.c_str());
            std::fflush(stderr);
        });
        if (p.json || p.o.bench)
            std::printf("%s\n", summary.dump(2).c_str());
        else
            std::printf("trained %lld steps; model in %s\n", static_cast<long long>(summary["steps"].get<int64_t>()),
                        summary["model_dir"].get<std::string>().c_str());
        return 0;
    } catch (const std::exception& e) {
        // One line: LibTorch's errors carry a backtrace after the first line.
        const std::string what = e.what();
        std::fprintf(stderr, "memmamba train: %s\n", what.substr(0, what.find('\n')).c_str());
        return 1;
    }
}

}  // namespace mm::cli
