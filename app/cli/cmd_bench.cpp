// `memmamba bench ingest`: reading speed of the engine on random tokens with a randomly
// initialised default-size model (or --model DIR). Torch-free: engine/engine.h only.
#include "engine_commands.h"
#include "option_values.h"

#include "engine/device_stats.h"
#include "engine/engine.h"
#include "engine/stage_profile.h"
#include "engine/transformer_baseline.h"

#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <random>
#include <stdexcept>

namespace mm::cli {

namespace {

struct BenchArgs {
    int64_t tokens = 16384;
    std::string device = "auto";
    bool json = false;
    std::string notes;  // "" = the model's own setting
    int64_t piece = 0;  // 0 = one read of all tokens
    std::string modelDir;
    uint64_t seed = 1;
    int64_t threads = 0;  // 0 = the engine's default (all cores)
    std::string scan = "kernels";    // kernels | reference (the torch-op scan, CUDA only)
    int64_t segment = 0;             // ReadOptions::segmentTokens; 0 = the engine's default
    std::string arch = "memmamba";   // memmamba | transformer (the SDPA baseline)
    std::string dtype = "fp32";      // transformer only: fp32 | bf16
    bool surprisal = true;           // ReadOptions::surprisal (the LM head over every token)
    bool profile = false;            // per-stage times of the timed read (engine/stage_profile.h)
    std::string poolWalk = "device"; // device | cpu: where the note pool walk runs on CUDA
    std::string poolAttention = "kernel";  // kernel | sdpa | reference: pool attention on CUDA (ours, SDPA, op by op)
    std::string noteSummaries = "candidates";  // candidates | all: notes computed for (device walk)
    std::string conv = "kernel";     // kernel | reference: the mixer's convolution on CUDA
    int64_t dModel = 0;              // 0 = the default model's width (a random model of this width otherwise)
    int64_t layers = 0;              // 0 = the default model's depth
};

int64_t positiveInteger(const std::string& option, const std::string& value)
{
    size_t used = 0;
    long long v = 0;
    try {
        v = std::stoll(value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != value.size() || v <= 0)
        throw BadArgs(option + " must be a positive integer, got '" + value + "'");
    return v;
}

BenchArgs parseArgs(std::vector<std::string> args)
{
    if (!args.empty() && args[0] == "bench")
        args.erase(args.begin());
    if (args.empty() || args[0] != "ingest")
        throw BadArgs("expected 'bench ingest --tokens N [--device cpu|cuda|auto] [--json] [--notes on|off] "
                      "[--piece N] [--segment N] [--surprisal on|off] [--scan kernels|reference] [--pool-walk device|cpu] [--pool-attention kernel|sdpa|reference] [--note-summaries candidates|all] [--conv kernel|reference] "
                      "[--profile] [--arch memmamba|transformer] [--dtype fp32|bf16] [--d-model N] [--layers N] [--model DIR] [--threads N] [--seed S]'");
    BenchArgs b;
    for (size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() -> const std::string& {
            if (i + 1 >= args.size())
                throw BadArgs(a + " needs a value");
            return args[++i];
        };
        if (a == "--json")
            b.json = true;
        else if (a == "--profile")
            b.profile = true;
        else if (a == "--conv") {
            b.conv = value();
            if (b.conv != "kernel" && b.conv != "reference")
                throw BadArgs("--conv must be kernel or reference, got '" + b.conv + "'");
        } else if (a == "--note-summaries") {
            b.noteSummaries = value();
            if (b.noteSummaries != "candidates" && b.noteSummaries != "all")
                throw BadArgs("--note-summaries must be candidates or all, got '" + b.noteSummaries + "'");
        } else if (a == "--pool-attention") {
            b.poolAttention = value();
            if (b.poolAttention != "kernel" && b.poolAttention != "sdpa" && b.poolAttention != "reference")
                throw BadArgs("--pool-attention must be kernel, sdpa or reference, got '" + b.poolAttention + "'");
        } else if (a == "--pool-walk") {
            b.poolWalk = value();
            if (b.poolWalk != "device" && b.poolWalk != "cpu")
                throw BadArgs("--pool-walk must be device or cpu, got '" + b.poolWalk + "'");
        }
        else if (a == "--tokens")
            b.tokens = positiveInteger(a, value());
        else if (a == "--d-model")
            b.dModel = positiveInteger(a, value());
        else if (a == "--layers")
            b.layers = positiveInteger(a, value());
        else if (a == "--piece")
            b.piece = positiveInteger(a, value());
        else if (a == "--threads")
            b.threads = positiveInteger(a, value());
        else if (a == "--seed")
            b.seed = static_cast<uint64_t>(positiveInteger(a, value()));
        else if (a == "--model")
            b.modelDir = value();
        else if (a == "--surprisal") {
            const std::string v = value();
            if (v != "on" && v != "off")
                throw BadArgs("--surprisal must be on or off, got '" + v + "'");
            b.surprisal = v == "on";
        } else if (a == "--segment")
            b.segment = positiveInteger(a, value());
        else if (a == "--scan") {
            b.scan = value();
            if (b.scan != "kernels" && b.scan != "reference")
                throw BadArgs("--scan must be kernels or reference, got '" + b.scan + "'");
        } else if (a == "--arch") {
            b.arch = value();
            if (b.arch != "memmamba" && b.arch != "transformer")
                throw BadArgs("--arch must be memmamba or transformer, got '" + b.arch + "'");
        } else if (a == "--dtype") {
            b.dtype = value();
            if (b.dtype != "fp32" && b.dtype != "bf16")
                throw BadArgs("--dtype must be fp32 or bf16, got '" + b.dtype + "'");
        }
        else if (a == "--device") {
            b.device = value();
            if (b.device != "cpu" && b.device != "cuda" && b.device != "auto")
                throw BadArgs("--device must be cpu, cuda or auto, got '" + b.device + "'");
        } else if (a == "--notes") {
            b.notes = value();
            if (b.notes != "on" && b.notes != "off")
                throw BadArgs("--notes must be on or off, got '" + b.notes + "'");
        } else
            throw BadArgs("unknown option '" + a + "'");
    }
    if (!b.modelDir.empty() && !b.notes.empty())
        throw BadArgs("--notes applies to the random model only, not with --model");
    return b;
}

// The 1-minute load average at the start: other processes on the cores slow every
// parallel region down (2 cores), so a figure is only comparable with its load.
double loadAverage()
{
    std::FILE* f = std::fopen("/proc/loadavg", "r");
    double load = -1;
    if (f) {
        if (std::fscanf(f, "%lf", &load) != 1)
            load = -1;
        std::fclose(f);
    }
    return load;
}

double peakRssMb()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss / 1024.0;  // Linux: kilobytes
}

// The random model's config overrides: notes, width, depth (the rest as the default model).
std::string randomConfig(const BenchArgs& b)
{
    nlohmann::json j = nlohmann::json::object();
    if (!b.notes.empty())
        j["notes"] = b.notes;
    if (b.dModel > 0)
        j["d_model"] = b.dModel;
    if (b.layers > 0)
        j["n_layer"] = b.layers;
    return j.dump();
}

// --arch transformer: the same width, depth and vocabulary as the default MemMamba (or
// --model's) through LibTorch's fused attention, one causal pass over all tokens.
int runTransformerBench(const BenchArgs& b)
{
    try {
        engine::TransformerBenchSpec spec;
        spec.tokens = b.tokens;
        spec.device = b.device == "auto" ? "cuda" : b.device;
        spec.dtype = b.dtype;
        if (b.dModel > 0)
            spec.d_model = b.dModel, spec.heads = std::max<int64_t>(1, b.dModel / 64);  // head width 64, as flash attention likes
        if (b.layers > 0)
            spec.n_layer = b.layers;
        engine::cudaResetPeak();
        const engine::TransformerBenchResult r = engine::benchTransformerRead(spec);
        const int64_t peak = engine::cudaPeakAllocatedBytes();
        const nlohmann::json out = {{"command", "bench ingest"},
                                    {"arch", "transformer"},
                                    {"dtype", b.dtype},
                                    {"tokens", b.tokens},
                                    {"seconds", r.seconds},
                                    {"tokens_per_s", b.tokens / r.seconds},
                                    {"peak_device_mb", peak < 0 ? nlohmann::json(nullptr) : nlohmann::json(peak / 1048576.0)},
                                    {"device", r.device},
                                    {"config", {{"d_model", spec.d_model}, {"n_layer", spec.n_layer}, {"heads", spec.heads},
                                                {"parameters", r.parameters}}}};
        if (b.json)
            std::printf("%s\n", out.dump().c_str());
        else
            std::printf("bench ingest (transformer, %s): %lld tokens in %.3f s = %.0f tokens/s on %s, peak device %s MB\n",
                        b.dtype.c_str(), static_cast<long long>(b.tokens), r.seconds, b.tokens / r.seconds,
                        r.device.c_str(), out["peak_device_mb"].dump().c_str());
        return 0;
    } catch (const std::exception& e) {
        // Out of memory is a result here, not a failure of the command: report it.
        const nlohmann::json out = {{"command", "bench ingest"}, {"arch", "transformer"}, {"dtype", b.dtype},
                                    {"tokens", b.tokens}, {"error", std::string(e.what()).substr(0, 300)}};
        std::printf("%s\n", out.dump().c_str());
        return 1;
    }
}

}  // namespace

int runBench(const std::vector<std::string>& args)
{
    BenchArgs b;
    try {
        b = parseArgs(args);
    } catch (const BadArgs& e) {
        std::fprintf(stderr, "memmamba bench: %s\n", e.what());
        return 2;
    }
    if (b.threads > 0)  // read by the engine when it first starts LibTorch
        setenv("MEMMAMBA_THREADS", std::to_string(b.threads).c_str(), 1);
    if (b.scan == "reference")  // read by engine/scan_cuda.cpp at every scan
        setenv("MEMMAMBA_SCAN", "reference", 1);
    if (b.poolWalk == "cpu")  // read by engine/model.cpp at every forward
        setenv("MEMMAMBA_POOL_WALK", "cpu", 1);
    if (b.poolAttention != "kernel")  // read by engine/model.cpp at every pool attention
        setenv("MEMMAMBA_POOL_ATTENTION", b.poolAttention.c_str(), 1);
    if (b.noteSummaries == "all")  // read by engine/model.cpp at every forward
        setenv("MEMMAMBA_NOTE_SUMMARIES", "all", 1);
    if (b.conv == "reference")  // read by engine/conv_cuda.cpp at every convolution
        setenv("MEMMAMBA_CONV", "reference", 1);
    auto peakDeviceMb = [] {
        const int64_t bytes = engine::cudaPeakAllocatedBytes();
        return bytes < 0 ? nlohmann::json(nullptr) : nlohmann::json(bytes / 1048576.0);
    };
    if (b.arch == "transformer")
        return runTransformerBench(b);
    try {
        std::unique_ptr<Model> model =
            b.modelDir.empty() ? Model::createRandom(randomConfig(b), 0, b.device) : Model::load(b.modelDir, b.device);
        const ModelInfo info = model->info();
        const auto config = nlohmann::json::parse(info.configJson);
        const int64_t vocab = config.at("vocab_size").get<int64_t>();

        std::mt19937_64 rng(b.seed);
        std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(vocab - 1));
        std::vector<int32_t> tokens(b.tokens);
        for (auto& t : tokens)
            t = dist(rng);

        const bool onCuda = info.device.rfind("cuda", 0) == 0;
        const int64_t segment = b.segment > 0 ? b.segment : onCuda ? kDefaultSegmentCuda : kDefaultSegmentCpu;
        // Warm-up: one full segment on a throwaway state, so the caching allocator's
        // first large blocks, library handles and kernel loading stay out of the timing
        // (on an H100 the first 64k segment of a process took 61 ms against 17 ms after;
        // a reader pays that once per process, not per book). Its time is reported apart.
        const auto warmStart = std::chrono::steady_clock::now();
        {
            State warm = model->newState();
            ReadOptions opt;
            opt.segmentTokens = segment;
            opt.surprisal = b.surprisal;
            model->read(warm, std::vector<int32_t>(tokens.begin(), tokens.begin() + std::min(b.tokens, segment)), opt);
            engine::cudaSynchronize();
        }
        const double warmupSeconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - warmStart).count();

        const double loadBefore = loadAverage();
        engine::cudaResetPeak();  // the peak of the timed read alone (weights included)
        if (b.profile)
            engine::profileStart(onCuda);
        State state = model->newState();
        const int64_t piece = b.piece > 0 ? b.piece : b.tokens;
        const auto start = std::chrono::steady_clock::now();
        auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
        int64_t notes = 0;
        for (int64_t done = 0; done < b.tokens;) {
            const int64_t n = std::min(piece, b.tokens - done);
            ReadOptions opt;
            if (b.segment > 0)
                opt.segmentTokens = b.segment;
            opt.surprisal = b.surprisal;
            opt.onProgress = [&](int64_t segDone, int64_t) {
                const int64_t total = done + segDone;
                std::fprintf(stderr, "\rbench: %lld / %lld tokens, %.0f tokens/s", static_cast<long long>(total),
                             static_cast<long long>(b.tokens), total / elapsed());
            };
            const ReadResult r = model->read(state, {tokens.begin() + done, tokens.begin() + done + n}, opt);
            notes += static_cast<int64_t>(r.notes.size());
            done += n;
        }
        engine::cudaSynchronize();
        const double seconds = elapsed();
        std::fputc('\n', stderr);
        const std::vector<engine::StageTime> stages = b.profile ? engine::profileStop() : std::vector<engine::StageTime>{};

        nlohmann::json out = {
            {"command", "bench ingest"},
            {"tokens", b.tokens},
            {"seconds", seconds},
            {"tokens_per_s", b.tokens / seconds},
            {"peak_rss_mb", peakRssMb()},
            {"peak_device_mb", peakDeviceMb()},
            {"arch", "memmamba"},
            {"scan", b.scan},
            {"segment", segment},
            {"warmup_seconds", warmupSeconds},
            {"surprisal", b.surprisal},
            {"device", info.device},
            {"threads", runtimeInfo().threads},
            {"piece", piece},
            {"pool_walk", b.poolWalk},
            {"pool_attention", b.poolAttention},
            {"note_summaries", b.noteSummaries},
            {"conv", b.conv},
            {"loadavg_1m_before", loadBefore},
            {"note_insertions", notes},
            {"config",
             {{"d_model", config.at("d_model")},
              {"n_layer", config.at("n_layer")},
              {"vocab_size", vocab},
              {"notes", config.at("notes")},
              {"parameters", info.parameterCount},
              {"fingerprint", info.fingerprint}}}};
        double stagesMs = 0;
        for (const engine::StageTime& t : stages)
            stagesMs += t.ms;
        if (b.profile) {
            nlohmann::json profile = nlohmann::json::array();
            for (const engine::StageTime& t : stages)
                profile.push_back({{"stage", t.stage}, {"ms", t.ms}, {"intervals", t.intervals}});
            out["profile"] = profile;
            out["profile_ms"] = stagesMs;
        }
        if (b.json) {
            std::printf("%s\n", out.dump().c_str());
        } else {
            std::printf("bench ingest: %lld tokens in %.2f s = %.0f tokens/s on %s (%d threads), peak RSS %.0f MB, "
                        "peak device %s MB, scan %s, d_model %lld x %lld layers, notes %s\n",
                        static_cast<long long>(b.tokens), seconds, b.tokens / seconds, info.device.c_str(),
                        runtimeInfo().threads, peakRssMb(), out["peak_device_mb"].dump().c_str(), b.scan.c_str(),
                        static_cast<long long>(config.at("d_model").get<int64_t>()),
                        static_cast<long long>(config.at("n_layer").get<int64_t>()),
                        config.at("notes").get<std::string>().c_str());
            if (b.profile) {
                std::printf("%-16s %10s %7s %10s\n", "stage", "ms", "share", "intervals");
                for (const engine::StageTime& t : stages)
                    std::printf("%-16s %10.2f %6.1f%% %10lld\n", t.stage.c_str(), t.ms,
                                stagesMs > 0 ? 100.0 * t.ms / stagesMs : 0.0, static_cast<long long>(t.intervals));
                std::printf("%-16s %10.2f (%s)\n", "all stages", stagesMs,
                            onCuda ? "CUDA events" : "wall clock");
            }
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "memmamba bench: %s\n", e.what());
        return 1;
    }
}

}  // namespace mm::cli
