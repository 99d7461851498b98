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
#include <ctime>
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
    double loss = 0, auxLoss = 0, meanScore = 0, notesPerChunk = 0, gradNorm = 0, answerLoss = 0;
    int64_t answerTokens = 0, answerCorrect = 0, droppedRows = 0;
    int64_t answerSamples = 0, answerExact = 0;  ///< samples asked, and answered right to the last token
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
    bool curriculum = false;     // rows drop their state (the stage says so)
    int64_t curriculumStep = -1; // first step with state drops
    double answerAvg = 0;        // moving average of the exact match: what the gates watch
    bool answerSeen = false;
    int64_t tokensSeen = 0;
    std::vector<CurriculumStage> stages;
    int stage = 0;
    int64_t stageStep = 0;       // step at which the stage began
    int64_t decayStart = -1;     // gated schedule: step at which the decay began (-1: not yet)
    int64_t warmFrom = 0;        // step from which the (re-)warm-up counts
    int64_t warmSteps = 0;
    nlohmann::json history = nlohmann::json::array();  // earlier runs of a continued model
};

/// The learning rate of the step about to be taken.
double learningRate(const Session& s)
{
    const TrainOptions& o = s.o;
    if (o.schedule == "cosine")
        return s.schedule.at(s.step);
    const double warm = s.warmSteps > 0 ? std::min(1.0, double(s.step - s.warmFrom + 1) / double(s.warmSteps)) : 1.0;
    if (s.decayStart < 0)
        return o.lr * warm;
    const double progress = std::min(1.0, double(s.step - s.decayStart) / double(std::max<int64_t>(1, o.decaySteps)));
    return (o.minLr + 0.5 * (o.lr - o.minLr) * (1.0 + std::cos(M_PI * progress))) * warm;
}

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

/// The losses of a batch: the language-model loss (mean next-token NLL over the trained
/// targets), the per-token NLL (Bt, T), and over the answer targets their mean NLL and
/// whether each argmax is right (teacher forcing: all right = greedy decoding gives the answer).
struct Forward {
    at::Tensor loss, nll;  // undefined when only answers are scored
    at::Tensor answerLoss, answerRight;  // answerRight: (answers) bool, in row-major order
    BatchOutput out;
};

/// lossMask (Bt, T) float or undefined (every target); answerMask (Bt, T) bool or
/// undefined. answersOnly: the head runs at the answer targets alone (the LM head over
/// every position is the largest tensor of a step; with --lm-weight 0 it is not needed).
Forward forwardLoss(Session& s, const at::Tensor& tokens, const BatchOptions& bo, const at::Tensor& lossMask = {},
                    const at::Tensor& answerMask = {}, bool answersOnly = false)
{
    const int64_t T = tokens.size(1) - 1;
    const at::Tensor inputs = tokens.narrow(1, 0, T), targets = tokens.narrow(1, 1, T);
    Forward f;
    at::Tensor logits;
    at::Tensor answerIndex;  // flat (Bt * T) indices of the answer targets
    if (answerMask.defined())
        answerIndex = answerMask.reshape({-1}).nonzero().squeeze(1);
    {
        AutocastScope autocast(s.amp);
        f.out = forwardBatch(*s.m, inputs, bo);
        const int64_t D = f.out.hidden.size(2);
        if (answersOnly)
            logits = at::linear(f.out.hidden.reshape({-1, D}).index_select(0, answerIndex), s.m->weights.embedding);
        else
            logits = at::linear(f.out.hidden, s.m->weights.embedding);  // (Bt, T, V), tied head
    }
    const int64_t V = logits.size(-1);
    if (answersOnly) {
        const at::Tensor answerTargets = targets.reshape({-1}).index_select(0, answerIndex);
        const at::Tensor nll = at::cross_entropy_loss(logits.to(at::kFloat), answerTargets, {}, at::Reduction::None);
        f.answerLoss = answerIndex.numel() ? nll.mean() : nll.sum() * 0.0;  // keeps the graph
        f.answerRight = logits.detach().argmax(-1).eq(answerTargets);
        return f;
    }
    f.nll = at::cross_entropy_loss(logits.to(at::kFloat).reshape({-1, V}), targets.reshape({-1}), {},
                                   at::Reduction::None)
                .view({tokens.size(0), T});
    f.loss = lossMask.defined() ? (f.nll * lossMask).sum() / lossMask.sum().clamp_min(1.0) : f.nll.mean();
    if (answerIndex.defined()) {
        const at::Tensor answerTargets = targets.reshape({-1}).index_select(0, answerIndex);
        const at::Tensor nll = f.nll.reshape({-1}).index_select(0, answerIndex);
        f.answerLoss = answerIndex.numel() ? nll.mean() : at::zeros({}, nll.options());
        f.answerRight = logits.detach().reshape({-1, V}).index_select(0, answerIndex).argmax(-1).eq(answerTargets);
    }
    return f;
}

/// Samples of the batch answered right to the last token, from the per-answer-target
/// verdicts (row-major order, as Batch::answerSample lists them).
int64_t exactAnswers(const Batch& batch, const at::Tensor& answerRight)
{
    const at::Tensor right = answerRight.to(at::kCPU).to(at::kByte).contiguous();
    const uint8_t* ok = right.data_ptr<uint8_t>();
    std::vector<int8_t> verdict(static_cast<size_t>(batch.answerSamples), -1);  // -1 unseen, 0 wrong, 1 right
    int64_t k = 0;
    for (size_t i = 0; i < batch.answerSample.size(); ++i) {
        const int32_t id = batch.answerSample[i];
        if (id < 0)
            continue;
        const bool r = k < right.numel() && ok[k++];
        verdict[id] = verdict[id] == 0 ? 0 : (r ? 1 : 0);
    }
    return std::count(verdict.begin(), verdict.end(), int8_t(1));
}

StepResult trainStep(Session& s, const Batch& batch)
{
    const TrainOptions& o = s.o;
    const ModelConfig& c = s.m->config;
    const int64_t Bt = batch.rows, T = batch.length;
    const at::Tensor tokens = longTensor(batch.tokens, {Bt, T + 1}, s.device);
    BatchOptions bo;
    bo.segmentStarts = batch.segmentStarts;
    StepResult r;
    if (s.curriculum) {
        bo.dropStateAt.assign(Bt, -1);
        for (int64_t b = 0; b < Bt; ++b)
            if (batch.dropPoint[b] >= 0 && rowCoin(o.seed, s.step, b) < o.curriculumShare) {
                bo.dropStateAt[b] = batch.dropPoint[b];
                ++r.droppedRows;
            }
    }
    const at::Tensor lossMask =
        at::from_blob(const_cast<uint8_t*>(batch.lossMask.data()), {Bt, T}, at::TensorOptions().dtype(at::kByte))
            .to(s.device)
            .to(at::kFloat);
    const at::Tensor answerMask =
        at::from_blob(const_cast<uint8_t*>(batch.answerMask.data()), {Bt, T}, at::TensorOptions().dtype(at::kByte))
            .to(s.device)
            .to(at::kBool);
    // The surprisal target of the note score needs every token's NLL.
    const bool answersOnly = o.lmWeight == 0 && (!c.notes || o.auxWeight == 0);
    Forward f = forwardLoss(s, tokens, bo, lossMask, answerMask, answersOnly);
    at::Tensor total = answersOnly ? at::zeros({}, f.answerLoss.options()) : o.lmWeight * f.loss;
    if (o.answerWeight > 0 && f.answerLoss.defined())
        total = total + o.answerWeight * f.answerLoss;
    if (!answersOnly && c.notes && !f.out.scoreLogits.empty()) {
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
    r.loss = answersOnly ? std::nan("") : f.loss.item<double>();
    r.answerLoss = f.answerLoss.defined() ? f.answerLoss.item<double>() : 0;
    // A non-finite loss or gradient (bf16 overflow, a bad batch) skips the update, so the
    // weights stay finite; the loop gives up after several in a row.
    r.skipped = (!answersOnly && !std::isfinite(r.loss)) || !std::isfinite(r.answerLoss) ||
                !std::isfinite(r.gradNorm) || !std::isfinite(r.auxLoss);
    if (!r.skipped) {
        setLearningRate(s, learningRate(s));
        s.optimizer->step();
    }

    if (f.answerRight.defined() && f.answerRight.numel() > 0) {
        r.answerTokens = f.answerRight.numel();
        r.answerCorrect = f.answerRight.sum().item<int64_t>();
        r.answerSamples = batch.answerSamples;
        r.answerExact = exactAnswers(batch, f.answerRight);
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

/// What a run carries on: written into the checkpoint and, as trainer.json, beside the
/// shipped model, so that a later run (--resume, or --init-from on another machine) goes
/// on from the same step, sampler state, curriculum stage and schedule.
nlohmann::json trainerState(const Session& s, const BatchSampler& sampler)
{
    const CurriculumStage& st = s.stages.at(static_cast<size_t>(s.stage));
    return {{"format", 1},
            {"step", s.step},
            {"total_steps", s.totalSteps},
            {"sampler", sampler.saveState()},
            {"curriculum", s.curriculum},
            {"curriculum_step", s.curriculumStep},
            {"curriculum_mode", s.o.curriculumMode},
            {"stage", s.stage},
            {"stage_name", st.name},
            {"stage_step", s.stageStep},
            {"answer_accuracy_avg", s.answerAvg},
            {"answer_seen", s.answerSeen},
            {"schedule", s.o.schedule},
            {"decay_start", s.decayStart},
            {"lr", s.o.lr},
            {"min_lr", s.o.minLr},
            {"decay_steps", s.o.decaySteps},
            {"tokens_seen", s.tokensSeen},
            {"seed", s.o.seed},
            {"config", configToJson(s.m->config)},
            {"history", s.history}};
}

/// The fields of trainerState() that set where a run stands (not the weights).
void restoreTrainerState(Session& s, const nlohmann::json& j, BatchSampler& sampler)
{
    s.step = j.at("step").get<int64_t>();
    s.curriculum = j.value("curriculum", false);
    s.curriculumStep = j.value("curriculum_step", int64_t(-1));
    s.answerAvg = j.value("answer_accuracy_avg", 0.0);
    s.answerSeen = j.value("answer_seen", false);
    s.tokensSeen = j.value("tokens_seen", int64_t(0));
    s.stage = std::clamp(j.value("stage", 0), 0, static_cast<int>(s.stages.size()) - 1);
    s.stageStep = j.value("stage_step", int64_t(0));
    s.decayStart = j.value("decay_start", int64_t(-1));
    if (j.contains("history") && j["history"].is_array())
        s.history = j["history"];
    const CurriculumStage& st = s.stages[static_cast<size_t>(s.stage)];
    sampler.setTasks(st.tasks, st.minLength, st.maxLength);
    if (j.contains("sampler"))
        sampler.loadState(j.at("sampler").get<std::string>());
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
    writeText(tmp + "/trainer.json", trainerState(s, sampler).dump(2) + "\n");
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
    s.totalSteps = j.at("total_steps").get<int64_t>();
    restoreTrainerState(s, j, sampler);
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
    s += " | exact " + (l.answerExact < 0 ? std::string("-") : fmt("%.2f", l.answerExact)) + " (avg " +
         fmt("%.2f", l.answerAccuracyAvg) + ", " + std::to_string(l.syntheticSamples) + " samples) | token acc " +
         (l.answerAccuracy < 0 ? std::string("-") : fmt("%.2f", l.answerAccuracy)) + " | answer loss " +
         fmt("%.3f", l.answerLoss) + " | stage " + std::to_string(l.stage);
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

std::vector<CurriculumStage> curriculumStages(const TrainOptions& o, bool notes)
{
    const int64_t lo = o.syntheticMin, hi = std::max(o.syntheticMin, o.syntheticMax);
    std::vector<CurriculumStage> st;
    if (o.curriculumMode == "off") {
        st.push_back({"all", o.tasks, lo, hi, false});
    } else {
        // Passkey alone on short haystacks, every task up to half way, then the whole range.
        const unsigned first = (o.tasks & kTaskPasskey) ? unsigned(kTaskPasskey) : o.tasks;
        const int64_t mid = std::max(lo, (lo + hi) / 2);
        st.push_back({first == o.tasks ? "short" : "passkey", first, lo, std::min(mid, lo * 4), false});
        if (o.tasks != first || st.back().maxLength < mid)
            st.push_back({"all-tasks", o.tasks, lo, mid, false});
        if (st.back().maxLength < hi)
            st.push_back({"long", o.tasks, lo, hi, false});
    }
    // The state drop (docs/spec/MODEL.md lesson 1): only notes can carry the fact to the question.
    if (notes && o.curriculumShare > 0)
        st.push_back({"state-drop", o.tasks, lo, hi, true});
    return st;
}

void applyPreset(const std::string& name, TrainOptions& o)
{
    if (name == "passkey-ref" || name == "passkey-ref-notes") {
        const bool notes = name == "passkey-ref-notes";
        o.configJson = notes ? R"({"d_model": 256, "n_layer": 4, "notes": true})"
                             : R"({"d_model": 256, "n_layer": 4, "notes": false})";
        o.batchRows = 32;
        o.seqLen = 2304;  // a 2048-token haystack, its question and answer, in whole note chunks
        o.syntheticShare = 1.0;
        o.syntheticMin = 512;
        o.syntheticMax = 2048;
        o.syntheticPacked = false;
        o.tasks = kTaskPasskey;
        o.filler = "repeat";
        o.curriculumMode = "off";
        o.curriculumShare = notes ? 0.5 : 0.0;
        o.lmWeight = 0;
        o.answerWeight = 1;
        o.auxWeight = notes ? 0.1 : 0.0;
        o.lmWeight = notes ? 0.1 : 0.0;  // the note score's surprisal target needs every token's NLL
        o.lr = 1e-3;
        o.schedule = "gated";
        o.decaySteps = 1000000000;  // a constant rate: the reference never decays
        o.warmupSteps = 1;
        o.validSamples = 128;
        return;
    }
    throw TrainError("unknown --preset '" + name + "' (passkey-ref, passkey-ref-notes)");
}

namespace {

/// Exact match on held-out synthetic samples (drawn once from the validation books with
/// a seed of their own, so every validation scores the same samples).
struct ExactSet {
    std::vector<Batch> batches;
};

ExactSet makeExactSet(const Session& s, const TokenCorpus& corpus, const Tokenizer& tok, int64_t samples)
{
    ExactSet set;
    if (samples <= 0 || s.o.syntheticMax < s.o.syntheticMin)
        return set;
    SamplerOptions so;
    so.rows = std::min<int64_t>(s.o.batchRows, samples);
    so.length = s.o.seqLen;
    so.syntheticShare = 1.0;
    so.syntheticMin = s.o.syntheticMin;
    so.syntheticMax = s.o.syntheticMax;
    so.noteChunk = s.m->config.note_chunk;
    so.tasks = s.o.tasks;
    so.filler = s.o.filler;
    so.isolate = s.o.isolateSamples;
    try {
        BatchSampler sampler(corpus, &tok, so, s.o.seed ^ 0x76616c6964ull);
        for (int64_t n = 0; n < samples; n += so.rows)
            set.batches.push_back(sampler.next());
    } catch (const std::exception&) {
        set.batches.clear();  // validation books too short for one row: no exact-match validation
    }
    return set;
}

double validationExact(Session& s, const ExactSet& set)
{
    if (set.batches.empty())
        return std::nan("");
    at::NoGradGuard noGrad;
    int64_t asked = 0, right = 0;
    for (const Batch& b : set.batches) {
        const at::Tensor tokens = longTensor(b.tokens, {b.rows, b.length + 1}, s.device);
        const at::Tensor answerMask =
            at::from_blob(const_cast<uint8_t*>(b.answerMask.data()), {b.rows, b.length}, at::TensorOptions().dtype(at::kByte))
                .to(s.device)
                .to(at::kBool);
        BatchOptions bo;
        bo.segmentStarts = b.segmentStarts;
        const Forward f = forwardLoss(s, tokens, bo, {}, answerMask, true);
        asked += b.answerSamples;
        right += exactAnswers(b, f.answerRight);
    }
    return asked ? double(right) / double(asked) : std::nan("");
}

std::string todayUtc()
{
    const std::time_t now = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    return buf;
}

}  // namespace

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
    if (o.resume && !o.initFrom.empty())
        throw TrainError("--resume and --init-from exclude each other: --resume continues --out's checkpoint");
    if (o.schedule != "gated" && o.schedule != "cosine")
        throw TrainError("--schedule must be gated or cosine, got '" + o.schedule + "'");
    if (o.curriculumMode != "staged" && o.curriculumMode != "off")
        throw TrainError("--curriculum must be staged or off, got '" + o.curriculumMode + "'");
    if (o.lmWeight == 0 && o.answerWeight == 0)
        throw TrainError("--lm-weight 0 and --answer-weight 0: nothing to train");
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
    nlohmann::json initState;  // --init-from's trainer.json (null when the folder has none)
    try {
        if (!o.initFrom.empty()) {
            // The weights as shipped (bf16, read as fp32) and the config beside them.
            s.model = mm::Model::load(o.initFrom, o.device);
            if (exists(o.initFrom + "/trainer.json"))
                initState = loadCheckpointJson(o.initFrom);
        } else {
            s.model = mm::Model::createRandom(configJson, o.seed, o.device);
        }
    } catch (const EngineError& e) {
        throw TrainError(std::string(o.initFrom.empty() ? "model config: " : "--init-from: ") + e.what());
    }
    s.m = &s.model->impl();
    if (s.m->config.vocab_size != tok->vocabSize())
        throw TrainError("the model's vocab_size " + std::to_string(s.m->config.vocab_size) +
                         " differs from the tokenizer's " + std::to_string(tok->vocabSize()));
    if (!o.initFrom.empty() && !s.m->config.tokenizer_fingerprint.empty() &&
        s.m->config.tokenizer_fingerprint != tok->fingerprint())
        throw TrainError("--init-from " + o.initFrom + ": the model was trained with another tokenizer (fingerprint " +
                         s.m->config.tokenizer_fingerprint + ", this one " + tok->fingerprint() + ")");
    s.m->config.tokenizer_fingerprint = tok->fingerprint();
    forEachParameter(s.m->weights, s.m->config, [&](const std::string& name, at::Tensor& t) {
        if (t.scalar_type() != at::kFloat)
            t = t.to(at::kFloat);
        t.requires_grad_(true);
        s.names.push_back(name);
        s.params.push_back(t);
    });
    buildOptimizer(s);
    const bool notes = s.m->config.notes;
    s.stages = curriculumStages(o, notes);

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
    so.tasks = o.tasks;
    so.filler = o.filler;
    so.isolate = o.isolateSamples;
    std::unique_ptr<BatchSampler> sampler;
    try {
        sampler = std::make_unique<BatchSampler>(corpus, tok.get(), so, o.seed);
        sampler->setTasks(s.stages[0].tasks, s.stages[0].minLength, s.stages[0].maxLength);
    } catch (const std::exception& e) {
        throw TrainError(e.what());
    }
    const ExactSet exactSet = o.syntheticShare > 0
                                  ? makeExactSet(s, validCorpus.stream.empty() ? corpus : validCorpus, *tok, o.validSamples)
                                  : ExactSet{};

    s.totalSteps = o.steps;
    s.warmSteps = o.warmupSteps;
    if (!ckpt.empty()) {
        restoreCheckpoint(s, ckpt, ckptJson, *sampler);
        progress("resumed from " + ckpt + " at step " + std::to_string(s.step));
    } else if (!initState.is_null()) {
        // A continued model: its step, stage, schedule and sampler go on; the optimizer
        // starts afresh (its moments do not travel), so the rate warms up again briefly.
        restoreTrainerState(s, initState, *sampler);
        s.warmFrom = s.step;
        s.warmSteps = std::min<int64_t>(o.warmupSteps, 50);
        if (o.steps > 0)
            s.totalSteps = s.step + o.steps;
        progress("continuing " + o.initFrom + " from step " + std::to_string(s.step) + ", stage " +
                 s.stages[size_t(s.stage)].name + ", " + std::to_string(s.tokensSeen) + " tokens seen");
    } else if (!o.initFrom.empty()) {
        progress("initialised from " + o.initFrom + " (no trainer.json: step 0)");
    }
    s.curriculum = s.stages[size_t(s.stage)].dropState;
    s.schedule.peak = o.lr;
    s.schedule.minLr = o.minLr;
    s.schedule.warmupSteps = o.warmupSteps;
    s.schedule.totalSteps = s.totalSteps > 0 ? s.totalSteps : INT64_MAX / 2;
    progress("model: " + std::to_string(parameterCount(s.m->config)) + " parameters, notes " + (notes ? "on" : "off") +
             ", device " + s.device.str() + (s.amp ? " (bf16 autocast)" : " (fp32)") + ", batch " +
             std::to_string(o.batchRows) + " x " + std::to_string(o.seqLen) + " tokens");
    {
        std::string plan;
        for (size_t i = 0; i < s.stages.size(); ++i)
            plan += (i ? ", " : "") + std::to_string(i) + " " + s.stages[i].name + " (" + tasksToString(s.stages[i].tasks) +
                    " " + std::to_string(s.stages[i].minLength) + "-" + std::to_string(s.stages[i].maxLength) +
                    (s.stages[i].dropState ? ", state drop" : "") + ")";
        progress("curriculum: " + plan + "; now stage " + std::to_string(s.stage) + "; gate: exact match avg >= " +
                 fmt("%.2f", o.curriculumThreshold) + "; loss = " + fmt("%.2g", o.lmWeight) + " x LM + " +
                 fmt("%.2g", o.answerWeight) + " x answers; schedule " + o.schedule);
    }

    std::ofstream log(o.outDir + "/log.jsonl", std::ios::app);
    g_stopRequested.store(false);
    std::signal(SIGINT, requestStop);
    std::signal(SIGTERM, requestStop);
    const double budget = o.timeBudgetMin > 0 ? o.timeBudgetMin * 60.0 : 0;
    const int64_t startStep = s.step;
    const int64_t startTokens = s.tokensSeen;
    Clock::time_point tLog = Clock::now(), tTimed{};
    int64_t tokensAtLog = s.tokensSeen, timedFrom = -1;
    double sumLoss = 0, sumAux = 0, sumScore = 0, sumNotes = 0, sumNorm = 0, sumAnswerLoss = 0;
    int64_t nAcc = 0, nCorrect = 0, nDropped = 0, nSamples = 0, nSteps = 0, nAsked = 0, nExact = 0;
    double lastLoss = std::nan(""), lastValid = std::nan(""), lastExact = std::nan("");
    std::string stopReason = "steps";
    double stepSeconds = 0;
    int64_t skippedInARow = 0;
    auto logEvent = [&](nlohmann::json j) { log << j.dump() << "\n" << std::flush; };
    auto validate = [&](const std::string& label) {
        if (!validSet.empty()) {
            lastValid = validationLoss(s, validSet);
            progress("valid " + label + " | loss " + fmt("%.4f", lastValid) + " | ppl " + fmt("%.2f", std::exp(lastValid)));
        }
        lastExact = validationExact(s, exactSet);
        if (!std::isnan(lastExact))
            progress("valid " + label + " | exact match " + fmt("%.3f", lastExact) + " on " +
                     std::to_string(o.validSamples) + " held-out synthetic samples");
        nlohmann::json j{{"step", s.step}};
        if (!std::isnan(lastValid))
            j["valid_loss"] = lastValid;
        if (!std::isnan(lastExact))
            j["valid_exact"] = lastExact;
        logEvent(j);
    };
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
        if (o.stopWhenLearned && s.decayStart >= 0 && s.step - s.decayStart >= o.decaySteps) {
            stopReason = "learned";
            progress("learned: the last gate passed at step " + std::to_string(s.decayStart) + " and the decay is done");
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
            logEvent({{"step", s.step}, {"skipped", true}});
            if (skippedInARow >= 10) {
                stopReason = "non-finite loss";
                progress("10 steps in a row without a finite loss: stopping (lower --lr, or --amp off?)");
                break;
            }
            continue;
        }
        skippedInARow = 0;
        if (r.answerSamples > 0) {
            const double exact = double(r.answerExact) / double(r.answerSamples);
            s.answerAvg = s.answerSeen ? 0.9 * s.answerAvg + 0.1 * exact : exact;
            s.answerSeen = true;
        }
        // The gate: exact match (moving average) at the threshold, after the stage's minimum steps.
        if (s.answerSeen && s.answerAvg >= o.curriculumThreshold && s.step - s.stageStep >= o.curriculumMinSteps) {
            if (s.stage + 1 < static_cast<int>(s.stages.size())) {
                ++s.stage;
                s.stageStep = s.step;
                s.answerSeen = false;  // the new stage proves itself from its own samples
                const CurriculumStage& st = s.stages[size_t(s.stage)];
                sampler->setTasks(st.tasks, st.minLength, st.maxLength);
                if (st.dropState && !s.curriculum) {
                    s.curriculum = true;
                    s.curriculumStep = s.step;
                }
                progress("curriculum: exact match avg " + fmt("%.2f", s.answerAvg) + " at step " +
                         std::to_string(s.step) + ": stage " + std::to_string(s.stage) + " " + st.name + " (" +
                         tasksToString(st.tasks) + ", " + std::to_string(st.minLength) + "-" +
                         std::to_string(st.maxLength) + " tokens" + (st.dropState ? ", state drops" : "") + ")");
                logEvent({{"step", s.step}, {"stage", s.stage}, {"stage_name", st.name}});
            } else if (o.schedule == "gated" && s.decayStart < 0) {
                s.decayStart = s.step;
                progress("schedule: the last gate passed at step " + std::to_string(s.step) + " (exact match avg " +
                         fmt("%.2f", s.answerAvg) + "); the learning rate decays over " +
                         std::to_string(o.decaySteps) + " steps from now");
                logEvent({{"step", s.step}, {"decay_start", s.step}});
            }
        }
        sumLoss += std::isnan(r.loss) ? 0 : r.loss;
        sumAux += r.auxLoss;
        sumScore += r.meanScore;
        sumNotes += r.notesPerChunk;
        sumNorm += r.gradNorm;
        sumAnswerLoss += r.answerLoss;
        nAcc += r.answerTokens;
        nCorrect += r.answerCorrect;
        nAsked += r.answerSamples;
        nExact += r.answerExact;
        nDropped += r.droppedRows;
        for (int64_t n : batch.samples)
            nSamples += n;
        ++nSteps;
        lastLoss = std::isnan(r.loss) ? r.answerLoss : r.loss;
        if (s.step % o.logEvery == 0 || s.step == s.totalSteps) {
            StepLog l;
            l.step = s.step;
            l.loss = sumLoss / double(nSteps);
            l.auxLoss = sumAux / double(nSteps);
            l.auxWeight = o.auxWeight;
            l.lr = learningRate(s);
            l.tokensPerSecond = double(s.tokensSeen - tokensAtLog) / std::max(1e-9, secondsSince(tLog));
            l.meanScore = sumScore / double(nSteps);
            l.notesPerChunk = sumNotes / double(nSteps);
            l.gradNorm = sumNorm / double(nSteps);
            l.answerAccuracy = nAcc ? double(nCorrect) / double(nAcc) : -1;
            l.answerExact = nAsked ? double(nExact) / double(nAsked) : -1;
            l.answerAccuracyAvg = s.answerAvg;
            l.answerLoss = sumAnswerLoss / double(nSteps);
            l.stage = s.stage;
            l.curriculum = s.curriculum;
            l.droppedRows = nDropped;
            l.syntheticSamples = nSamples;
            progress(logLine(l, s.totalSteps, notes));
            logEvent({{"step", l.step},
                      {"loss", l.loss},
                      {"answer_loss", l.answerLoss},
                      {"aux_loss", l.auxLoss},
                      {"aux_weight", o.auxWeight},
                      {"lr", l.lr},
                      {"tokens_per_s", l.tokensPerSecond},
                      {"grad_norm", l.gradNorm},
                      {"mean_score", l.meanScore},
                      {"notes_per_chunk", l.notesPerChunk},
                      {"answer_exact", l.answerExact},
                      {"answer_accuracy", l.answerAccuracy},
                      {"answer_accuracy_avg", l.answerAccuracyAvg},
                      {"stage", l.stage},
                      {"curriculum", l.curriculum},
                      {"dropped_rows", l.droppedRows},
                      {"synthetic_samples", l.syntheticSamples},
                      {"elapsed_s", secondsSince(t0)}});
            sumLoss = sumAux = sumScore = sumNotes = sumNorm = sumAnswerLoss = 0;
            nAcc = nCorrect = nDropped = nSamples = nSteps = nAsked = nExact = 0;
            tLog = Clock::now();
            tokensAtLog = s.tokensSeen;
        }
        if (!o.bench && o.validEvery > 0 && s.step % o.validEvery == 0)
            validate("step " + std::to_string(s.step));
        if (!o.bench && o.checkpointEvery > 0 && s.step % o.checkpointEvery == 0)
            saveCheckpoint(s, *sampler);
    }
    if (o.bench) {
        const double tps = stepSeconds > 0 ? double(o.batchRows * o.seqLen) / stepSeconds : 0.0;
        progress("bench: " + fmt("%.3f", stepSeconds) + " s a step, " + fmt("%.0f", tps) + " training tokens/s");
        return {{"bench", true},
                {"steps", s.step - startStep},
                {"step_seconds", stepSeconds},
                {"tokens_per_s", tps},
                {"batch", o.batchRows},
                {"seq_len", o.seqLen},
                {"notes", notes},
                {"device", s.device.str()},
                {"amp", s.amp},
                {"parameters", parameterCount(s.m->config)}};
    }
    if (s.step > startStep)
        validate("final");
    saveCheckpoint(s, *sampler);

    const double seconds = secondsSince(t0);
    s.history.push_back({{"finished", todayUtc()},
                         {"device", s.device.str()},
                         {"from_step", startStep},
                         {"to_step", s.step},
                         {"tokens", s.tokensSeen - startTokens},
                         {"seconds", seconds},
                         {"stopped_by", stopReason},
                         {"valid_loss", std::isnan(lastValid) ? nlohmann::json() : nlohmann::json(lastValid)},
                         {"valid_exact", std::isnan(lastExact) ? nlohmann::json() : nlohmann::json(lastExact)},
                         {"stage", s.stages[size_t(s.stage)].name}});
    // The shipping model: bf16 safetensors + config.json with the tokenizer fingerprint,
    // and trainer.json, from which --init-from continues it.
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
        writeText(modelDir + "/trainer.json", trainerState(s, *sampler).dump(2) + "\n");
    }
    const int64_t bytes = fileBytes(modelDir + "/model.safetensors");
    progress("saved " + modelDir + " (" + fmt("%.1f", double(bytes) / 1e6) + " MB, " + s.m->fingerprint + ")" +
             (bytes > 24 * 1000 * 1000 ? "  WARNING: over the 24 MB shipping limit" : ""));
    return {{"steps", s.step},
            {"steps_this_run", s.step - startStep},
            {"total_steps", s.totalSteps},
            {"stopped_by", stopReason},
            {"last_loss", lastLoss},
            {"valid_loss", lastValid},
            {"valid_exact", std::isnan(lastExact) ? nlohmann::json() : nlohmann::json(lastExact)},
            {"tokens_seen", s.tokensSeen},
            {"seconds", seconds},
            {"step_seconds", stepSeconds},
            {"tokens_per_s", stepSeconds > 0 ? double(o.batchRows * o.seqLen) / stepSeconds : 0.0},
            {"curriculum", s.curriculum},
            {"curriculum_step", s.curriculumStep},
            {"stage", s.stage},
            {"stage_name", s.stages[size_t(s.stage)].name},
            {"notes", notes},
            {"model_dir", modelDir},
            {"model_bytes", bytes},
            {"fingerprint", s.m->fingerprint},
            {"checkpoint", checkpointDir(o)}};
}

}  // namespace mm::engine::train
