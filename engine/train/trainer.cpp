#include "engine/train/trainer.h"

#include "engine/config.h"
#include "engine/cuda_precision.h"
#include "engine/engine.h"
#include "engine/model.h"
#include "engine/safetensors.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/train/batched_forward.h"
#include "engine/train/data.h"
#include "engine/train/objectives.h"

#include <ATen/autocast_mode.h>
#include <torch/optim/adamw.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/serialize.h>
#include <torch/version.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

// bf16 autocast through the device-type API of LibTorch >= 2.4; older builds train in fp32.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define MM_TRAIN_HAS_AUTOCAST 1
#else
#define MM_TRAIN_HAS_AUTOCAST 0
#endif

namespace mm::engine::train {

namespace {

using Clock = std::chrono::steady_clock;

// SIGINT / SIGTERM during training: finish the step, checkpoint, write the model, exit.
std::atomic<bool> g_stopRequested{false};
extern "C" void requestStop(int)
{
    g_stopRequested.store(true);
}

double secondsSince(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

void makeDirs(const std::string& dir)
{
    for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
        const std::string part = dir.substr(0, slash);
        if (!part.empty() && ::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST)
            throw TrainError(part + ": cannot create the folder (" + std::strerror(errno) + ")");
        if (slash == std::string::npos)
            return;
    }
}

bool exists(const std::string& path)
{
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

int64_t fileBytes(const std::string& path)
{
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

void removeTree(const std::string& dir)
{
    DIR* d = ::opendir(dir.c_str());
    if (!d)
        return;
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name != "." && name != "..")
            ::unlink((dir + "/" + name).c_str());
    }
    ::closedir(d);
    ::rmdir(dir.c_str());
}

std::string readText(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw TrainError(path + ": cannot open");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void writeText(const std::string& path, const std::string& text)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush())
        throw TrainError(path + ": write failed");
}

/// Switches bf16 autocast on for CUDA for its lifetime (no-op elsewhere or when the
/// LibTorch build lacks the API).
class AutocastScope {
public:
    explicit AutocastScope(bool on) : m_on(on && MM_TRAIN_HAS_AUTOCAST)
    {
#if MM_TRAIN_HAS_AUTOCAST
        if (m_on) {
            at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
            at::autocast::set_autocast_enabled(at::kCUDA, true);
            at::autocast::increment_nesting();
        }
#endif
    }
    ~AutocastScope()
    {
#if MM_TRAIN_HAS_AUTOCAST
        if (m_on) {
            if (at::autocast::decrement_nesting() == 0)
                at::autocast::clear_cache();
            at::autocast::set_autocast_enabled(at::kCUDA, false);
        }
#endif
    }
    AutocastScope(const AutocastScope&) = delete;
    AutocastScope& operator=(const AutocastScope&) = delete;

private:
    bool m_on;
};

uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/// Deterministic coin in [0, 1) for (seed, step, row): the curriculum's choice is a
/// function of the step, so a resumed run drops exactly the rows the uninterrupted one would.
double rowCoin(uint64_t seed, int64_t step, int64_t row)
{
    const uint64_t h = mix64(seed ^ mix64(static_cast<uint64_t>(step) * 0x100000001b3ull + static_cast<uint64_t>(row)));
    return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);
}

at::Tensor longTensor(const std::vector<int64_t>& v, std::vector<int64_t> shape, at::Device device)
{
    return at::from_blob(const_cast<int64_t*>(v.data()), shape, at::TensorOptions().dtype(at::kLong)).clone().to(device);
}

struct StepResult {
    double loss = 0, auxLoss = 0, meanScore = 0, notesPerChunk = 0, gradNorm = 0;
    int64_t answerTokens = 0, answerCorrect = 0, droppedRows = 0;
    bool skipped = false;  ///< non-finite loss or gradient: no update
};

/// Everything a run carries from step to step, and what a checkpoint restores.
struct Session {
    TrainOptions o;
    std::unique_ptr<mm::Model> model;
    engine::Model* m = nullptr;
    std::vector<std::string> names;
    std::vector<at::Tensor> params;
    std::unique_ptr<torch::optim::AdamW> optimizer;
    LrSchedule schedule;
    at::Device device{at::kCPU};
    bool amp = false;
    int64_t step = 0;       // steps done
    int64_t totalSteps = 0; // 0 until known (auto)
    bool curriculum = false;
    int64_t curriculumStep = -1;
    double answerAvg = 0;
    bool answerSeen = false;
    int64_t tokensSeen = 0;
};

at::Device parseDevice(const std::string& d)
{
    if (d == "cpu")
        return at::Device(at::kCPU);
    if (d == "cuda") {
        if (!at::hasCUDA())
            throw TrainError("--device cuda, but this LibTorch " + std::string(TORCH_VERSION) + " has no CUDA device");
        return at::Device(at::kCUDA, 0);
    }
    throw TrainError("--device must be cpu or cuda, got '" + d + "'");
}

void buildOptimizer(Session& s)
{
    std::vector<at::Tensor> decay, noDecay;
    for (size_t i = 0; i < s.params.size(); ++i)
        (exemptFromWeightDecay(s.names[i]) ? noDecay : decay).push_back(s.params[i]);
    auto options = [&](double wd) {
        auto o = std::make_unique<torch::optim::AdamWOptions>(s.o.lr);
        o->betas({s.o.beta1, s.o.beta2}).eps(1e-8).weight_decay(wd);
        return o;
    };
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decay, options(s.o.weightDecay));
    groups.emplace_back(noDecay, options(0.0));
    s.optimizer = std::make_unique<torch::optim::AdamW>(std::move(groups), torch::optim::AdamWOptions(s.o.lr));
}

void setLearningRate(Session& s, double lr)
{
    for (auto& g : s.optimizer->param_groups())
        static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
}

/// The loss of a batch: mean next-token NLL, the per-token NLL (Bt, T) and the logits.
struct Forward {
    at::Tensor loss, nll, logits;
    BatchOutput out;
};

Forward forwardLoss(Session& s, const at::Tensor& tokens, const BatchOptions& bo)
{
    const int64_t T = tokens.size(1) - 1;
    const at::Tensor inputs = tokens.narrow(1, 0, T), targets = tokens.narrow(1, 1, T);
    Forward f;
    {
        AutocastScope autocast(s.amp);
        f.out = forwardBatch(*s.m, inputs, bo);
        f.logits = at::linear(f.out.hidden, s.m->weights.embedding);  // (Bt, T, V), tied head
    }
    const int64_t V = f.logits.size(2);
    f.nll = at::cross_entropy_loss(f.logits.to(at::kFloat).reshape({-1, V}), targets.reshape({-1}), {},
                                   at::Reduction::None)
                .view({tokens.size(0), T});
    f.loss = f.nll.mean();
    return f;
}

StepResult trainStep(Session& s, const Batch& batch)
{
    const TrainOptions& o = s.o;
    const ModelConfig& c = s.m->config;
    const int64_t Bt = batch.rows, T = batch.length;
    const at::Tensor tokens = longTensor(batch.tokens, {Bt, T + 1}, s.device);
    BatchOptions bo;
    StepResult r;
    if (s.curriculum) {
        bo.dropStateAt.assign(Bt, -1);
        for (int64_t b = 0; b < Bt; ++b)
            if (batch.dropPoint[b] >= 0 && rowCoin(o.seed, s.step, b) < o.curriculumShare) {
                bo.dropStateAt[b] = batch.dropPoint[b];
                ++r.droppedRows;
            }
    }
    Forward f = forwardLoss(s, tokens, bo);
    at::Tensor total = f.loss;
    if (c.notes && !f.out.scoreLogits.empty()) {
        // Surprisal of token t is the NLL of predicting it (column t-1); token 0 has none.
        const at::Tensor nll = f.nll.detach();
        const at::Tensor surprisal = at::cat({at::zeros({Bt, 1}, nll.options()), nll.narrow(1, 0, T - 1)}, 1);
        const auto [target, weight] = surprisalTarget(surprisal, c.note_chunk, c.notes_per_chunk);
        at::Tensor aux = at::zeros({}, f.loss.options());
        double scoreSum = 0;
        for (const at::Tensor& logit : f.out.scoreLogits) {
            aux = aux + scoreLoss(logit, target, weight);
            scoreSum += at::sigmoid(logit.detach().to(at::kFloat)).mean().item<double>();
        }
        aux = aux / static_cast<double>(f.out.scoreLogits.size());
        r.auxLoss = aux.item<double>();
        r.meanScore = scoreSum / static_cast<double>(f.out.scoreLogits.size());
        if (o.auxWeight > 0)
            total = total + o.auxWeight * aux;
        r.notesPerChunk = f.out.chunksClosed ? double(f.out.notesWritten) / double(f.out.chunksClosed) : 0;
    }
    s.optimizer->zero_grad();
    total.backward();
    r.gradNorm = torch::nn::utils::clip_grad_norm_(s.params, o.gradClip);
    r.loss = f.loss.item<double>();
    // A non-finite loss or gradient (bf16 overflow, a bad batch) skips the update, so the
    // weights stay finite; the loop gives up after several in a row.
    r.skipped = !std::isfinite(r.loss) || !std::isfinite(r.gradNorm) || !std::isfinite(r.auxLoss);
    if (!r.skipped) {
        setLearningRate(s, s.schedule.at(s.step));
        s.optimizer->step();
    }

    const at::Tensor mask =
        at::from_blob(const_cast<uint8_t*>(batch.answerMask.data()), {Bt, T}, at::TensorOptions().dtype(at::kByte))
            .to(s.device)
            .to(at::kBool);
    r.answerTokens = mask.sum().item<int64_t>();
    if (r.answerTokens > 0) {
        const at::Tensor targets = tokens.narrow(1, 1, T);
        r.answerCorrect = (f.logits.detach().argmax(-1).eq(targets) & mask).sum().item<int64_t>();
    }
    ++s.step;
    s.tokensSeen += Bt * T;
    return r;
}

double validationLoss(Session& s, const std::vector<std::vector<int32_t>>& windows)
{
    if (windows.empty())
        return std::nan("");
    at::NoGradGuard noGrad;
    double sum = 0;
    int64_t count = 0;
    for (size_t i = 0; i < windows.size(); i += static_cast<size_t>(s.o.batchRows)) {
        const size_t end = std::min(windows.size(), i + static_cast<size_t>(s.o.batchRows));
        std::vector<int64_t> flat;
        for (size_t w = i; w < end; ++w)
            flat.insert(flat.end(), windows[w].begin(), windows[w].end());
        const int64_t rows = static_cast<int64_t>(end - i), len = static_cast<int64_t>(windows[i].size());
        const Forward f = forwardLoss(s, longTensor(flat, {rows, len}, s.device), {});
        sum += f.nll.sum().item<double>();
        count += f.nll.numel();
    }
    return sum / double(count);
}

std::string checkpointDir(const TrainOptions& o)
{
    return o.outDir + "/checkpoint";
}

void saveCheckpoint(Session& s, const BatchSampler& sampler)
{
    const std::string dir = checkpointDir(s.o), tmp = dir + ".tmp", old = dir + ".old";
    removeTree(tmp);
    makeDirs(tmp);
    {
        at::NoGradGuard noGrad;
        std::map<std::string, at::Tensor> tensors;
        for (size_t i = 0; i < s.params.size(); ++i)
            tensors[s.names[i]] = s.params[i].detach().to(at::kCPU);
        writeSafetensors(tmp + "/weights.safetensors", tensors, at::kFloat);
    }
    torch::save(*s.optimizer, tmp + "/optimizer.pt");
    const nlohmann::json state = {{"step", s.step},
                                  {"total_steps", s.totalSteps},
                                  {"sampler", sampler.saveState()},
                                  {"curriculum", s.curriculum},
                                  {"curriculum_step", s.curriculumStep},
                                  {"answer_accuracy_avg", s.answerAvg},
                                  {"answer_seen", s.answerSeen},
                                  {"tokens_seen", s.tokensSeen},
                                  {"seed", s.o.seed},
                                  {"config", configToJson(s.m->config)}};
    writeText(tmp + "/trainer.json", state.dump(2) + "\n");
    // Swap in whole: a crash leaves either the old or the new folder complete (resume
    // also looks at checkpoint.old).
    removeTree(old);
    if (exists(dir) && std::rename(dir.c_str(), old.c_str()) != 0)
        throw TrainError(dir + ": cannot move the previous checkpoint aside");
    if (std::rename(tmp.c_str(), dir.c_str()) != 0)
        throw TrainError(dir + ": cannot install the checkpoint");
    removeTree(old);
}

std::string findCheckpoint(const TrainOptions& o)
{
    const std::string dir = checkpointDir(o);
    if (exists(dir + "/trainer.json"))
        return dir;
    if (exists(dir + ".old/trainer.json"))
        return dir + ".old";
    return {};
}

nlohmann::json loadCheckpointJson(const std::string& dir)
{
    const nlohmann::json j = nlohmann::json::parse(readText(dir + "/trainer.json"), nullptr, false);
    if (j.is_discarded())
        throw TrainError(dir + "/trainer.json: not valid JSON");
    return j;
}

void restoreCheckpoint(Session& s, const std::string& dir, const nlohmann::json& j, BatchSampler& sampler)
{
    SafetensorsFile file;
    try {
        file = readSafetensors(dir + "/weights.safetensors");
    } catch (const SafetensorsError& e) {
        throw TrainError(e.what());
    }
    {
        at::NoGradGuard noGrad;
        for (size_t i = 0; i < s.params.size(); ++i) {
            const auto it = file.tensors.find(s.names[i]);
            if (it == file.tensors.end())
                throw TrainError(dir + "/weights.safetensors: missing tensor " + s.names[i]);
            s.params[i].copy_(it->second.to(s.params[i].options()));
        }
    }
    torch::load(*s.optimizer, dir + "/optimizer.pt", s.device);
    s.step = j.at("step").get<int64_t>();
    s.totalSteps = j.at("total_steps").get<int64_t>();
    s.curriculum = j.at("curriculum").get<bool>();
    s.curriculumStep = j.at("curriculum_step").get<int64_t>();
    s.answerAvg = j.at("answer_accuracy_avg").get<double>();
    s.answerSeen = j.at("answer_seen").get<bool>();
    s.tokensSeen = j.at("tokens_seen").get<int64_t>();
    sampler.loadState(j.at("sampler").get<std::string>());
}

std::string fmt(const char* f, double v)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string logLine(const StepLog& l, int64_t total, bool notes)
{
    std::string s = "step " + std::to_string(l.step) + "/" + (total > 0 ? std::to_string(total) : std::string("?")) +
                    " | loss " + fmt("%.4f", l.loss);
    if (notes)
        s += " | aux " + fmt("%.4f", l.auxLoss) + " (w " + fmt("%.2g", l.auxWeight) + ")";
    s += " | lr " + fmt("%.2e", l.lr) + " | " + fmt("%.0f", l.tokensPerSecond) + " tok/s | gnorm " +
         fmt("%.2f", l.gradNorm);
    if (notes)
        s += " | score " + fmt("%.3f", l.meanScore) + " | notes/chunk " + fmt("%.2f", l.notesPerChunk);
    s += " | answer acc " + (l.answerAccuracy < 0 ? std::string("-") : fmt("%.2f", l.answerAccuracy)) + " (avg " +
         fmt("%.2f", l.answerAccuracyAvg) + ", " + std::to_string(l.syntheticSamples) + " samples)";
    if (notes)
        s += std::string(" | curriculum ") + (l.curriculum ? "on" : "off") +
             (l.droppedRows ? " (" + std::to_string(l.droppedRows) + " rows dropped)" : "");
    return s;
}

}  // namespace

bool exemptFromWeightDecay(const std::string& name)
{
    auto endsWith = [&](const std::string& suffix) {
        return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    return endsWith(".A_log") || endsWith(".D") || endsWith(".bias") || endsWith("norm.weight") ||
           endsWith("norm_f.weight");
}

nlohmann::json runTraining(const TrainOptions& opt, const std::function<void(const std::string&)>& progress)
{
    const Clock::time_point t0 = Clock::now();
    Session s;
    s.o = opt;
    const TrainOptions& o = s.o;
    if (o.dataDir.empty() || o.outDir.empty())
        throw TrainError("--data DIR and --out DIR are required");
    if (o.steps <= 0 && o.timeBudgetMin <= 0)
        throw TrainError("--steps auto needs --time-budget-min");
    if (o.seqLen < 2 || o.batchRows < 1)
        throw TrainError("--seq-len must be >= 2 and --batch >= 1");
    s.device = parseDevice(o.device);
    if (s.device.is_cuda())
        engine::allowTf32Matmuls();
    s.amp = o.amp && s.device.is_cuda() && MM_TRAIN_HAS_AUTOCAST;
    makeDirs(o.outDir);

    // Resume takes the model config from the checkpoint: the run continues the same model.
    std::string ckpt;
    nlohmann::json ckptJson;
    std::string configJson = o.configJson;
    if (o.resume) {
        ckpt = findCheckpoint(o);
        if (ckpt.empty())
            throw TrainError("--resume: no checkpoint in " + checkpointDir(o));
        ckptJson = loadCheckpointJson(ckpt);
        configJson = ckptJson.at("config").dump();
    }

    std::unique_ptr<Tokenizer> tok;
    try {
        tok = o.tokenizerPath.empty() ? Tokenizer::loadDefault() : Tokenizer::load(o.tokenizerPath);
    } catch (const TokenizerError& e) {
        throw TrainError(e.what());
    }
    try {
        s.model = mm::Model::createRandom(configJson, o.seed, o.device);
    } catch (const EngineError& e) {
        throw TrainError(std::string("model config: ") + e.what());
    }
    s.m = &s.model->impl();
    if (s.m->config.vocab_size != tok->vocabSize())
        throw TrainError("the model's vocab_size " + std::to_string(s.m->config.vocab_size) +
                         " differs from the tokenizer's " + std::to_string(tok->vocabSize()));
    s.m->config.tokenizer_fingerprint = tok->fingerprint();
    forEachParameter(s.m->weights, s.m->config, [&](const std::string& name, at::Tensor& t) {
        t.requires_grad_(true);
        s.names.push_back(name);
        s.params.push_back(t);
    });
    buildOptimizer(s);

    const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::string note;
    Clock::time_point tData = Clock::now();
    TokenCorpus corpus;
    try {
        corpus = loadCorpus(o.dataDir, *tok, threads, o.tokenCache, &note);
    } catch (const std::runtime_error& e) {
        throw TrainError(e.what());
    }
    progress("data: " + std::to_string(corpus.bookStart.size()) + " books, " + std::to_string(corpus.stream.size()) +
             " tokens (" + note + ", " + fmt("%.1f", secondsSince(tData)) + " s, " + std::to_string(threads) +
             " threads)");
    TokenCorpus validCorpus;
    std::vector<std::vector<int32_t>> validSet;
    if (!o.validDir.empty()) {
        try {
            validCorpus = loadCorpus(o.validDir, *tok, threads, {}, nullptr);
        } catch (const std::runtime_error& e) {
            throw TrainError(e.what());
        }
        validSet = validationWindows(validCorpus, std::min<int64_t>(o.seqLen, int64_t(validCorpus.stream.size()) - 1),
                                     o.validWindows);
    }
    SamplerOptions so;
    so.rows = o.batchRows;
    so.length = o.seqLen;
    so.syntheticShare = o.syntheticShare;
    so.syntheticMin = o.syntheticMin;
    so.syntheticMax = o.syntheticMax;
    so.syntheticPacked = o.syntheticPacked;
    so.noteChunk = s.m->config.note_chunk;
    std::unique_ptr<BatchSampler> sampler;
    try {
        sampler = std::make_unique<BatchSampler>(corpus, tok.get(), so, o.seed);
    } catch (const std::exception& e) {
        throw TrainError(e.what());
    }

    s.totalSteps = o.steps;
    if (!ckpt.empty()) {
        restoreCheckpoint(s, ckpt, ckptJson, *sampler);
        progress("resumed from " + ckpt + " at step " + std::to_string(s.step));
    }
    s.schedule.peak = o.lr;
    s.schedule.minLr = o.minLr;
    s.schedule.warmupSteps = o.warmupSteps;
    s.schedule.totalSteps = s.totalSteps > 0 ? s.totalSteps : INT64_MAX / 2;
    const bool notes = s.m->config.notes;
    progress("model: " + std::to_string(parameterCount(s.m->config)) + " parameters, notes " + (notes ? "on" : "off") +
             ", device " + s.device.str() + (s.amp ? " (bf16 autocast)" : " (fp32)") + ", batch " +
             std::to_string(o.batchRows) + " x " + std::to_string(o.seqLen) + " tokens");

    std::ofstream log(o.outDir + "/log.jsonl", std::ios::app);
    g_stopRequested.store(false);
    std::signal(SIGINT, requestStop);
    std::signal(SIGTERM, requestStop);
    const double budget = o.timeBudgetMin > 0 ? o.timeBudgetMin * 60.0 : 0;
    const int64_t startStep = s.step;
    Clock::time_point tLog = Clock::now(), tTimed{};
    int64_t tokensAtLog = s.tokensSeen, timedFrom = -1;
    double sumLoss = 0, sumAux = 0, sumScore = 0, sumNotes = 0, sumNorm = 0;
    int64_t nAcc = 0, nCorrect = 0, nDropped = 0, nSamples = 0, nSteps = 0;
    double lastLoss = std::nan(""), lastValid = std::nan("");
    std::string stopReason = "steps";
    double stepSeconds = 0;
    int64_t skippedInARow = 0;
    while (s.totalSteps <= 0 || s.step < s.totalSteps) {
        if (g_stopRequested.load()) {
            stopReason = "signal";
            progress("stop requested: saving");
            break;
        }
        if (o.stopAfterSteps > 0 && s.step - startStep >= o.stopAfterSteps) {
            stopReason = "stop-after";
            break;
        }
        // Stop while a step and a checkpoint still fit in the budget.
        if (budget > 0 && stepSeconds > 0 && secondsSince(t0) + 2 * stepSeconds + 20 > budget) {
            stopReason = "time budget";
            break;
        }
        const Batch batch = sampler->next();
        const StepResult r = trainStep(s, batch);
        const int64_t done = s.step - startStep;
        // Step time from the 3rd step on (the first ones pay allocation and warm-up).
        if (done == 2) {
            tTimed = Clock::now();
            timedFrom = s.step;
        } else if (timedFrom >= 0) {
            stepSeconds = secondsSince(tTimed) / double(s.step - timedFrom);
        }
        if (done == 12) {
            std::string fits;
            if (budget > 0) {
                const double left = budget - secondsSince(t0) - 30;
                const int64_t fit = s.step + static_cast<int64_t>(std::max(0.0, left / stepSeconds));
                if (s.totalSteps <= 0) {
                    s.totalSteps = std::max<int64_t>(s.step + 1, static_cast<int64_t>(double(fit) * 0.97));
                    s.schedule.totalSteps = s.totalSteps;
                    s.schedule.warmupSteps = std::min<int64_t>(o.warmupSteps, std::max<int64_t>(1, s.totalSteps / 10));
                }
                fits = "about " + std::to_string(fit) + " steps fit in the budget; ";
            }
            progress("estimate: " + fmt("%.3f", stepSeconds) + " s a step, " +
                     fmt("%.0f", double(o.batchRows * o.seqLen) / stepSeconds) + " tokens/s; " + fits + "running " +
                     std::to_string(s.totalSteps) + " steps (" +
                     fmt("%.1f", double(s.totalSteps - s.step) * stepSeconds / 60.0) + " min more)");
        }
        if (r.skipped) {
            ++skippedInARow;
            progress("step " + std::to_string(s.step) + ": loss or gradient not finite, update skipped");
            log << nlohmann::json{{"step", s.step}, {"skipped", true}}.dump() << "\n" << std::flush;
            if (skippedInARow >= 10) {
                stopReason = "non-finite loss";
                progress("10 steps in a row without a finite loss: stopping (lower --lr, or --amp off?)");
                break;
            }
            continue;
        }
        skippedInARow = 0;
        if (r.answerTokens > 0) {
            const double acc = double(r.answerCorrect) / double(r.answerTokens);
            s.answerAvg = s.answerSeen ? 0.9 * s.answerAvg + 0.1 * acc : acc;
            s.answerSeen = true;
        }
        if (notes && !s.curriculum && o.curriculumShare > 0 && s.step >= o.curriculumMinSteps &&
            s.answerSeen && s.answerAvg >= o.curriculumThreshold) {
            s.curriculum = true;
            s.curriculumStep = s.step;
            progress("curriculum: synthetic answers learned with full state (accuracy avg " + fmt("%.2f", s.answerAvg) +
                     ") at step " + std::to_string(s.step) + "; dropping SSM/conv state after planted facts from now on");
        }
        sumLoss += r.loss;
        sumAux += r.auxLoss;
        sumScore += r.meanScore;
        sumNotes += r.notesPerChunk;
        sumNorm += r.gradNorm;
        nAcc += r.answerTokens;
        nCorrect += r.answerCorrect;
        nDropped += r.droppedRows;
        for (int64_t n : batch.samples)
            nSamples += n;
        ++nSteps;
        lastLoss = r.loss;
        if (s.step % o.logEvery == 0 || s.step == s.totalSteps) {
            StepLog l;
            l.step = s.step;
            l.loss = sumLoss / double(nSteps);
            l.auxLoss = sumAux / double(nSteps);
            l.auxWeight = o.auxWeight;
            l.lr = s.schedule.at(s.step - 1);
            l.tokensPerSecond = double(s.tokensSeen - tokensAtLog) / std::max(1e-9, secondsSince(tLog));
            l.meanScore = sumScore / double(nSteps);
            l.notesPerChunk = sumNotes / double(nSteps);
            l.gradNorm = sumNorm / double(nSteps);
            l.answerAccuracy = nAcc ? double(nCorrect) / double(nAcc) : -1;
            l.answerAccuracyAvg = s.answerAvg;
            l.curriculum = s.curriculum;
            l.droppedRows = nDropped;
            l.syntheticSamples = nSamples;
            progress(logLine(l, s.totalSteps, notes));
            log << nlohmann::json{{"step", l.step},
                                  {"loss", l.loss},
                                  {"aux_loss", l.auxLoss},
                                  {"aux_weight", o.auxWeight},
                                  {"lr", l.lr},
                                  {"tokens_per_s", l.tokensPerSecond},
                                  {"grad_norm", l.gradNorm},
                                  {"mean_score", l.meanScore},
                                  {"notes_per_chunk", l.notesPerChunk},
                                  {"answer_accuracy", l.answerAccuracy},
                                  {"answer_accuracy_avg", l.answerAccuracyAvg},
                                  {"curriculum", l.curriculum},
                                  {"dropped_rows", l.droppedRows},
                                  {"synthetic_samples", l.syntheticSamples},
                                  {"elapsed_s", secondsSince(t0)}}
                       .dump()
                << "\n"
                << std::flush;
            sumLoss = sumAux = sumScore = sumNotes = sumNorm = 0;
            nAcc = nCorrect = nDropped = nSamples = nSteps = 0;
            tLog = Clock::now();
            tokensAtLog = s.tokensSeen;
        }
        if (!validSet.empty() && o.validEvery > 0 && s.step % o.validEvery == 0) {
            lastValid = validationLoss(s, validSet);
            progress("valid step " + std::to_string(s.step) + " | loss " + fmt("%.4f", lastValid) + " | ppl " +
                     fmt("%.2f", std::exp(lastValid)));
            log << nlohmann::json{{"step", s.step}, {"valid_loss", lastValid}}.dump() << "\n" << std::flush;
        }
        if (o.checkpointEvery > 0 && s.step % o.checkpointEvery == 0)
            saveCheckpoint(s, *sampler);
    }
    if (!validSet.empty() && s.step > startStep) {
        lastValid = validationLoss(s, validSet);
        progress("valid final | loss " + fmt("%.4f", lastValid) + " | ppl " + fmt("%.2f", std::exp(lastValid)));
        log << nlohmann::json{{"step", s.step}, {"valid_loss", lastValid}}.dump() << "\n" << std::flush;
    }
    saveCheckpoint(s, *sampler);

    // The shipping model: bf16 safetensors + config.json with the tokenizer fingerprint.
    const std::string modelDir = o.outDir + "/model";
    {
        at::NoGradGuard noGrad;
        try {
            s.model->save(modelDir, "bf16");
            // The fingerprint of the weights as shipped (rounded to bf16), which is what
            // every later load reports and what saved states are checked against; the
            // training copy's fp32 weights would give another one.
            s.m->fingerprint = mm::Model::load(modelDir, "cpu")->info().fingerprint;
        } catch (const EngineError& e) {
            throw TrainError(e.what());
        }
    }
    const int64_t bytes = fileBytes(modelDir + "/model.safetensors");
    progress("saved " + modelDir + " (" + fmt("%.1f", double(bytes) / 1e6) + " MB, " + s.m->fingerprint + ")" +
             (bytes > 24 * 1000 * 1000 ? "  WARNING: over the 24 MB shipping limit" : ""));
    const double seconds = secondsSince(t0);
    return {{"steps", s.step},
            {"total_steps", s.totalSteps},
            {"stopped_by", stopReason},
            {"last_loss", lastLoss},
            {"valid_loss", lastValid},
            {"tokens_seen", s.tokensSeen},
            {"seconds", seconds},
            {"step_seconds", stepSeconds},
            {"curriculum", s.curriculum},
            {"curriculum_step", s.curriculumStep},
            {"notes", notes},
            {"model_dir", modelDir},
            {"model_bytes", bytes},
            {"fingerprint", s.m->fingerprint},
            {"checkpoint", checkpointDir(o)}};
}

}  // namespace mm::engine::train
