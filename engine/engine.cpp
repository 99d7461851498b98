// engine/engine.h on top of the internal model: loading, states, reading, generation.
#include "engine/engine.h"

#include "engine/cpu_kernels.h"
#include "engine/cuda_precision.h"
#include "engine/model.h"
#include "engine/safetensors.h"
#include "engine/stage_profile.h"
#include "engine/state_io.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <torch/version.h>
#if defined(MEMMAMBA_WITH_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#endif
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <tuple>
#include <mutex>
#include <numeric>
#include <random>
#include <sstream>
#include <thread>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <sys/stat.h>

namespace mm {

namespace {

// LibTorch starts with one thread (Debian's build): use every core once, or
// $MEMMAMBA_THREADS when set.
void initThreadsOnce()
{
    static std::once_flag once;
    std::call_once(once, [] {
        int n = static_cast<int>(std::thread::hardware_concurrency());
        if (const char* env = std::getenv("MEMMAMBA_THREADS"))
            n = std::atoi(env);
        if (n > 0)
            at::set_num_threads(n);
    });
}

// How a host thread waits for the GPU (a synchronising copy, .item(), a stream sync):
// MEMMAMBA_CUDA_WAIT=spin | yield | block (CUDA's own choice when unset: spin while the
// process has fewer contexts than cores). A spinning wait holds a core for the whole wait;
// answering runs the model's thread beside the text pipeline's (docs/answers.md). Set once,
// before the first CUDA call of the process makes the context (it cannot change after).
void setCudaWaitOnce()
{
#if defined(MEMMAMBA_WITH_CUDA)
    static std::once_flag once;
    std::call_once(once, [] {
        const char* env = std::getenv("MEMMAMBA_CUDA_WAIT");
        if (!env || !*env)
            return;
        const std::string wait(env);
        unsigned flags = cudaDeviceScheduleAuto;
        if (wait == "spin")
            flags = cudaDeviceScheduleSpin;
        else if (wait == "yield")
            flags = cudaDeviceScheduleYield;
        else if (wait == "block")
            flags = cudaDeviceScheduleBlockingSync;
        else
            throw EngineError("MEMMAMBA_CUDA_WAIT must be spin, yield or block, not '" + wait + "'");
        int count = 0;
        if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
            cudaGetLastError();  // no device: nothing to set, and no error left behind
            return;
        }
        if (cudaSetDeviceFlags(flags) != cudaSuccess) {
            cudaGetLastError();
            std::fprintf(stderr, "memmamba: MEMMAMBA_CUDA_WAIT=%s not applied (the CUDA context exists already)\n", env);
        }
    });
#endif
}

at::Device resolveDevice(const std::string& device)
{
    initThreadsOnce();
    if (device == "cpu")
        return at::Device(at::kCPU);
    setCudaWaitOnce();
    if (device == "cuda" || device == "auto") {
        if (at::hasCUDA())
            return at::Device(at::kCUDA, 0);
        if (device == "cuda")
            throw LoadError(LoadErrorKind::WrongDevice,
                            "device cuda requested, but no CUDA device is available to this LibTorch " +
                                std::string(TORCH_VERSION));
        return at::Device(at::kCPU);
    }
    throw LoadError(LoadErrorKind::WrongDevice, "unknown device '" + device + "' (expected cpu, cuda or auto)");
}

std::string readTextFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw EngineError(path + ": cannot open");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string shapeText(at::IntArrayRef shape)
{
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

void finishModel(engine::Model& m, at::Device device)
{
    m.options = at::TensorOptions().dtype(at::kFloat).device(device);
    if (device.is_cuda())
        engine::allowTf32Matmuls();
    m.fingerprint = engine::computeFingerprint(m);
    engine::forEachParameter(m.weights, m.config, [&](const std::string&, at::Tensor& t) { t = t.to(m.options); });
}

// logsumexp of each row of CPU float logits (T', V): one vectorised pass per row
// instead of at::logsumexp's materialised (x - max) and exp (a fifth of the reading
// time with the 8192-token vocabulary).
at::Tensor rowLogSumExp(const at::Tensor& logits)
{
    const at::Tensor x = logits.contiguous();
    at::Tensor out = at::empty({x.size(0)}, x.options());
    const int64_t cols = x.size(1);
    at::parallel_for(0, x.size(0), 16, [&](int64_t b, int64_t e) {
        engine::cpu::rowLogSumExp(x.data_ptr<float>(), cols, out.data_ptr<float>(), b, e);
    });
    return out;
}

// "cuda" (no index) names the current device, where tensors land as "cuda:0".
bool sameDevice(const at::Device& tensorDevice, const at::Device& modelDevice)
{
    return tensorDevice.type() == modelDevice.type() &&
           (!modelDevice.has_index() || !tensorDevice.has_index() || tensorDevice.index() == modelDevice.index());
}

// A State handle made by another Model (other sizes) would fail deep inside torch.
void checkStateFits(const engine::Model& m, const engine::ModelState& st, const char* call)
{
    const ModelConfig& c = m.config;
    const bool fits = int64_t(st.layers.size()) == c.n_layer && !st.layers.empty() &&
                      st.layers[0].ssm.size(0) == c.dInner() && st.layers[0].ssm.size(1) == c.d_state &&
                      st.layers[0].pool.slots() == (c.notes ? c.pool_slots : 0) &&
                      sameDevice(st.layers[0].ssm.device(), m.options.device());
    if (!fits)
        throw EngineError(std::string(call) + ": the state was made by another model (other sizes or device)");
}

// mkdir -p with POSIX calls. Not std::filesystem: the pip LibTorch 2.x libraries export
// their own std::filesystem symbols, and calls resolved to them crash.
void makeDirectories(const std::string& dir)
{
    for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
        const std::string part = dir.substr(0, slash);
        if (!part.empty() && ::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST)
            throw EngineError(part + ": cannot create the model folder (" + std::strerror(errno) + ")");
        if (slash == std::string::npos)
            return;
    }
}

// The first token of a document has no prediction: NaN marks it.
constexpr int64_t kMinTokensForThreads = 64;  // shorter segments run on one thread
constexpr float kNoSurprisal = std::numeric_limits<float>::quiet_NaN();

}  // namespace

// ---- State ------------------------------------------------------------------------

struct State::Impl {
    engine::ModelState state;
};

State::State() = default;
State::~State() = default;
State::State(State&&) noexcept = default;
State& State::operator=(State&&) noexcept = default;
State::State(std::unique_ptr<Impl> impl) : d(std::move(impl)) {}

bool State::valid() const { return d != nullptr; }

State State::clone() const
{
    if (!d)
        throw EngineError("State::clone: the state is empty (default-constructed or moved from)");
    return State(std::make_unique<Impl>(Impl{engine::cloneState(d->state)}));
}

int64_t State::position() const { return impl().position; }

engine::ModelState& State::impl()
{
    if (!d)
        throw EngineError("the state is empty (default-constructed or moved from)");
    return d->state;
}

const engine::ModelState& State::impl() const
{
    if (!d)
        throw EngineError("the state is empty (default-constructed or moved from)");
    return d->state;
}

// ---- Model ------------------------------------------------------------------------

RuntimeInfo runtimeInfo()
{
    initThreadsOnce();
    RuntimeInfo r;
    r.torchVersion = TORCH_VERSION;
    r.threads = at::get_num_threads();
    r.cudaAvailable = at::hasCUDA();
#if defined(MEMMAMBA_WITH_CUDA)
    if (r.cudaAvailable)
        r.cudaDeviceName = at::cuda::getDeviceProperties(0)->name;
#endif
    return r;
}

Model::Model() : d(std::make_unique<engine::Model>()) {}
Model::~Model() = default;
engine::Model& Model::impl() { return *d; }
const engine::Model& Model::impl() const { return *d; }

std::string Model::defaultConfigJson() { return configToJson(ModelConfig{}).dump(2); }

std::unique_ptr<Model> Model::createRandom(const std::string& configJson, uint64_t seed, const std::string& device)
{
    const at::Device dev = resolveDevice(device);
    std::unique_ptr<Model> model(new Model());
    try {
        model->d->config = configFromJsonText(configJson);
    } catch (const std::invalid_argument& e) {
        throw LoadError(LoadErrorKind::InvalidModel, e.what());
    }
    model->d->weights = engine::initWeights(model->d->config, seed);
    finishModel(*model->d, dev);
    return model;
}

std::unique_ptr<Model> Model::load(const std::string& dir, const std::string& device)
{
    const at::Device dev = resolveDevice(device);
    std::unique_ptr<Model> model(new Model());
    engine::Model& m = *model->d;
    const std::string configPath = dir + "/config.json";
    if (!std::ifstream(configPath).good())
        throw LoadError(LoadErrorKind::MissingFile, configPath + ": cannot open");
    try {
        m.config = configFromJsonText(readTextFile(configPath));
    } catch (const std::invalid_argument& e) {
        throw LoadError(LoadErrorKind::InvalidModel, configPath + ": " + e.what());
    }
    const std::string weightsPath = dir + "/model.safetensors";
    if (!std::ifstream(weightsPath).good())
        throw LoadError(LoadErrorKind::MissingFile, weightsPath + ": cannot open weights file");
    engine::SafetensorsFile file;
    try {
        file = engine::readSafetensors(weightsPath);
    } catch (const engine::SafetensorsError& e) {
        throw LoadError(LoadErrorKind::InvalidModel, e.what());
    }
    std::map<std::string, std::vector<int64_t>> expected;
    for (const auto& [name, shape] : engine::parameterShapes(m.config))
        expected[name] = shape;
    for (const auto& [name, tensor] : file.tensors)
        if (!expected.count(name))
            throw LoadError(LoadErrorKind::InvalidModel, weightsPath + ": unexpected tensor " + name + " (not in the model config.json describes" +
                              (m.config.notes ? ")" : ": notes are off)"));
    m.weights.layers.resize(m.config.n_layer);
    engine::forEachParameter(m.weights, m.config, [&](const std::string& name, at::Tensor& t) {
        const auto it = file.tensors.find(name);
        if (it == file.tensors.end())
            throw LoadError(LoadErrorKind::InvalidModel, weightsPath + ": missing tensor " + name + " (config.json: d_model " +
                              std::to_string(m.config.d_model) + ", " + std::to_string(m.config.n_layer) +
                              " layers, notes " + (m.config.notes ? "on" : "off") + ")");
        const std::vector<int64_t>& want = expected[name];
        if (it->second.sizes().vec() != want)
            throw LoadError(LoadErrorKind::InvalidModel, weightsPath + ": tensor " + name + " has shape " + shapeText(it->second.sizes()) +
                              ", config.json expects " + shapeText(want));
        t = it->second.to(at::kFloat);
    });
    finishModel(m, dev);
    return model;
}

ModelInfo Model::info() const
{
    ModelInfo i;
    i.config = d->config;
    i.configJson = configToJson(d->config).dump(2);
    i.parameterCount = engine::parameterCount(d->config);
    i.fingerprint = d->fingerprint;
    i.tokenizerFingerprint = d->config.tokenizer_fingerprint;
    i.device = d->options.device().str();
    i.stateFormatVersion = int(engine::kStateFormatVersion);
    return i;
}

void Model::save(const std::string& dir, const std::string& dtype) const
{
    at::ScalarType type;
    if (dtype == "bf16")
        type = at::kBFloat16;
    else if (dtype == "fp32")
        type = at::kFloat;
    else
        throw EngineError("Model::save: dtype must be bf16 or fp32, got '" + dtype + "'");
    makeDirectories(dir);
    std::map<std::string, at::Tensor> tensors;
    engine::forEachParameter(d->weights, d->config, [&](const std::string& name, at::Tensor& t) { tensors[name] = t; });
    try {
        engine::writeSafetensors(dir + "/model.safetensors", tensors, type,
                                 {{"format", "memmamba-v1"}, {"source_fingerprint", d->fingerprint}});
    } catch (const engine::SafetensorsError& e) {
        throw EngineError(e.what());
    }
    const std::string configPath = dir + "/config.json", tmp = configPath + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << configToJson(d->config).dump(2) << "\n";
        if (!out.flush())
            throw EngineError(tmp + ": write failed");
    }
    if (std::rename(tmp.c_str(), configPath.c_str()) != 0)
        throw EngineError(configPath + ": cannot replace (" + std::strerror(errno) + ")");
}

State Model::newState() const
{
    return State(std::make_unique<State::Impl>(State::Impl{engine::newState(*d)}));
}

std::vector<uint8_t> Model::saveState(const State& state) const
{
    checkStateFits(*d, state.impl(), "saveState");
    try {
        return engine::serializeState(*d, state.impl());
    } catch (const engine::StateFormatError& e) {
        throw EngineError(e.what());
    }
}

State Model::loadState(const std::vector<uint8_t>& bytes) const
{
    try {
        return State(std::make_unique<State::Impl>(State::Impl{engine::deserializeState(*d, bytes.data(), bytes.size())}));
    } catch (const engine::StateFormatError& e) {
        throw LoadError(e.kind(), e.what());
    }
}

namespace {

void checkTokens(const ModelConfig& c, const std::vector<int32_t>& tokens, const char* what)
{
    for (size_t i = 0; i < tokens.size(); ++i)
        if (tokens[i] < 0 || tokens[i] >= c.vocab_size)
            throw EngineError(std::string(what) + ": token " + std::to_string(i) + " has id " +
                              std::to_string(tokens[i]) + ", outside the vocabulary [0, " +
                              std::to_string(c.vocab_size) + ")");
}

// Runs the enclosed work with n intra-op threads, then restores the previous count.
// Generation and short reads are chains of small ops that gain nothing from splitting:
// with two threads, every OpenMP region (OpenBLAS threads matmuls from 256k
// multiply-adds) waits for the second thread, and when another process holds a core
// that wait is a scheduler time slice. Measured on the 2-core machine under load:
// generation at 5 to 50 tokens/s with 2 threads, 62 to 91 with 1.
class IntraOpThreads {
public:
    explicit IntraOpThreads(int n) : m_saved(at::get_num_threads())
    {
        if (n != m_saved)
            at::set_num_threads(n);
    }
    ~IntraOpThreads()
    {
        if (at::get_num_threads() != m_saved)
            at::set_num_threads(m_saved);
    }
    IntraOpThreads(const IntraOpThreads&) = delete;
    IntraOpThreads& operator=(const IntraOpThreads&) = delete;

private:
    int m_saved;
};

}  // namespace

ReadResult Model::read(State& state, const std::vector<int32_t>& tokens, const ReadOptions& options) const
{
    const engine::Model& m = *d;
    const ModelConfig& c = m.config;
    engine::ModelState& committed = state.impl();
    checkStateFits(*d, committed, "read");
    checkTokens(c, tokens, "read");
    if (options.segmentTokens < 0)
        throw EngineError("read: segmentTokens must be positive (or 0 for the device's default)");
    const int64_t segmentTokens = options.segmentTokens > 0 ? options.segmentTokens
                                  : m.options.device().is_cuda() ? kDefaultSegmentCuda
                                                                 : kDefaultSegmentCpu;

    ReadResult result;
    result.startPosition = committed.position;
    std::map<std::tuple<int32_t, bool, int32_t, int64_t>, float> attention;
    if (c.notes && options.importance)
        result.importance.assign(c.n_layer, {});
    const int64_t total = static_cast<int64_t>(tokens.size());
    // The forward pass replaces the state's tensors instead of writing into them, so a
    // shallow copy is a cheap snapshot: on an exception the caller's state is untouched.
    engine::ModelState work = committed;
    try {
        c10::NoGradGuard noGrad;
        const at::Tensor all = at::tensor(std::vector<int64_t>(tokens.begin(), tokens.end()),
                                          at::TensorOptions().dtype(at::kLong));
        for (int64_t done = 0; done < total;) {
            if (options.cancel && options.cancel->load()) {
                result.cancelled = true;
                break;
            }
            const int64_t T = std::min(segmentTokens, total - done);
            // Short pieces are all overhead: one thread avoids waiting on the second at
            // every parallel region (see IntraOpThreads).
            // (On CUDA the count is left alone: readEach's threads read at once, and the
            // count is process-wide.)
            const IntraOpThreads threads(T < kMinTokensForThreads && !m.options.device().is_cuda() ? 1
                                                                                                : at::get_num_threads());
            const at::Tensor ids = all.narrow(0, done, T);
            const at::Tensor prevHidden = work.last_hidden;  // (D) or undefined
            engine::ForwardTrace trace;
            trace.keep_layer_outputs = options.layerOutputs;
            trace.keep_attention = options.poolAttention;
            trace.keep_scores = options.importance;
            trace.keep_insertions = options.noteEvents || options.onNote != nullptr;
            trace.keep_insertion_values = options.noteSummaries;
            const at::Tensor hidden = T == 1 ? engine::forwardStep(m, work, tokens[done], &trace, options.noPool)
                                             : engine::forwardSequence(m, work, ids, &trace, options.noPool);  // (T, D)
            if (options.layerOutputs) {
                result.layerOutputs.resize(c.n_layer);
                for (int64_t l = 0; l < c.n_layer; ++l) {
                    const at::Tensor out = trace.layer_outputs[l].to(at::kCPU, at::kFloat).contiguous();
                    const float* p = out.data_ptr<float>();
                    result.layerOutputs[l].insert(result.layerOutputs[l].end(), p, p + out.numel());
                }
            }
            engine::profileMark(engine::Stage::Head);
            if (options.surprisal || options.logits) {
                // Rows that predict this segment's tokens: the previous token's hidden
                // state (if any) and all but the last of ours; the last row's logits are
                // only needed when asked for.
                const bool hasPrev = prevHidden.defined();
                std::vector<at::Tensor> rows;
                if (hasPrev)
                    rows.push_back(prevHidden.unsqueeze(0));
                rows.push_back(options.logits ? hidden : hidden.narrow(0, 0, T - 1));
                // (T', V). On the GPU the surprisal is computed there: copying the logits to
                // the host and reducing them on the CPU was most of a GPU read (docs/perf.md).
                const at::Tensor deviceLogits = engine::lmHead(m, at::cat(rows, 0)).to(at::kFloat);
                const at::Tensor logits = options.logits ? deviceLogits.to(at::kCPU) : deviceLogits;
                if (options.surprisal) {
                    const int64_t predicted = hasPrev ? T : T - 1;  // tokens of the segment with a prediction
                    if (!hasPrev)
                        result.surprisal.push_back(kNoSurprisal);
                    if (predicted > 0) {
                        const at::Tensor target = ids.narrow(0, T - predicted, predicted).unsqueeze(1);
                        // -log softmax(row)[target] = logsumexp(row) - row[target]: one pass
                        // over the (T, V) logits instead of writing their log-softmax.
                        const at::Tensor rowsUsed = logits.narrow(0, 0, predicted);
                        const at::Tensor lse = rowsUsed.is_cpu() ? rowLogSumExp(rowsUsed) : at::logsumexp(rowsUsed, 1);
                        const at::Tensor nll =
                            (lse - rowsUsed.gather(1, target.to(rowsUsed.device())).squeeze(1)).to(at::kCPU).contiguous();
                        const float* p = nll.data_ptr<float>();
                        result.surprisal.insert(result.surprisal.end(), p, p + predicted);
                    }
                }
                if (options.logits) {
                    const at::Tensor own = logits.narrow(0, hasPrev ? 1 : 0, T).contiguous();
                    const float* p = own.data_ptr<float>();
                    result.logits.insert(result.logits.end(), p, p + own.numel());
                }
            }
            engine::profileMark(engine::Stage::Outside);
            if (c.notes) {
                for (int64_t l = 0; l < c.n_layer; ++l) {
                    if (options.importance) {
                        const float* p = trace.scores[l].data_ptr<float>();
                        result.importance[l].insert(result.importance[l].end(), p, p + T);
                    }
                    for (size_t i = 0; i < trace.insertions[l].size(); ++i) {
                        const engine::PoolInsertion& ins = trace.insertions[l][i];
                        NoteEvent ev{static_cast<int32_t>(l), ins.position, ins.score,
                                     static_cast<int32_t>(ins.slot), ins.evicted_position, {}};
                        if (options.noteSummaries && trace.insertion_values[l].defined()) {
                            const at::Tensor row = trace.insertion_values[l][static_cast<int64_t>(i)];
                            const float* p = row.data_ptr<float>();
                            ev.summary.assign(p, p + row.numel());
                        }
                        if (options.noteEvents)
                            result.notes.push_back(ev);
                        if (options.onNote)
                            options.onNote(ev);
                    }
                }
            }
            for (const auto& a : trace.attention)
                attention[{static_cast<int32_t>(a.layer), a.cross_layer, static_cast<int32_t>(a.source_layer),
                           a.position}] += a.weight;
            done += T;
            result.tokensRead = done;
            if (options.onProgress)
                options.onProgress(done, total);
        }
    } catch (const EngineError&) {
        throw;
    } catch (const std::exception& e) {
        throw EngineError(std::string("read failed at position ") + std::to_string(work.position) + ": " + e.what());
    }
    committed = std::move(work);
    for (const auto& [key, weight] : attention)
        result.poolAttention.push_back(
            {std::get<0>(key), std::get<1>(key), std::get<2>(key), std::get<3>(key), weight});
    return result;
}

namespace {

bool branchesApply(const ReadOptions& options, const engine::ModelState& from)
{
    // Only surprisal comes out of the branch pass; the first token's needs the state's
    // last hidden state.
    return from.last_hidden.defined() && !options.importance && !options.logits && !options.poolAttention &&
           !options.layerOutputs && !options.noteSummaries;
}

// The continuations `batch` of `continuations` read from st in one branch pass
// (engine::forwardBranches); their surprisal into results.
void readBranches(const engine::Model& m, const engine::ModelState& st,
                  const std::vector<std::vector<int32_t>>& continuations, const std::vector<size_t>& batch,
                  const ReadOptions& options, std::vector<ReadResult>& results)
{
    size_t longest = 0;
    for (size_t k : batch)
        longest = std::max(longest, continuations[k].size());
    const int64_t B = static_cast<int64_t>(batch.size()), T = static_cast<int64_t>(longest);
    // (B, T) with each row's last token repeated as padding; the targets of the rows used.
    std::vector<int64_t> ids;
    std::vector<int64_t> lengths;  // each branch's own
    std::vector<int64_t> rows;     // row of (1 + B*T) hidden states predicting each token
    std::vector<int64_t> targets;  // the token it predicts
    ids.reserve(static_cast<size_t>(B * T));
    for (int64_t b = 0; b < B; ++b) {
        const std::vector<int32_t>& tokens = continuations[batch[static_cast<size_t>(b)]];
        lengths.push_back(static_cast<int64_t>(tokens.size()));
        for (int64_t t = 0; t < T; ++t)
            ids.push_back(tokens[std::min(static_cast<size_t>(t), tokens.size() - 1)]);
        for (size_t t = 0; t < tokens.size(); ++t) {
            rows.push_back(t == 0 ? 0 : 1 + b * T + static_cast<int64_t>(t) - 1);  // row 0: the state's last hidden
            targets.push_back(tokens[t]);
        }
    }
    try {
        c10::NoGradGuard noGrad;
        // One thread up to a few hundred rows: measured on the 2-core machine, 5 branches of
        // 13 tokens took 50 ms on two threads and 29 ms on one.
        const IntraOpThreads threads(B * T < 4 * kMinTokensForThreads && !m.options.device().is_cuda() ? 1
                                                                                              : at::get_num_threads());
        const at::Tensor tokens = at::tensor(ids, at::TensorOptions().dtype(at::kLong)).view({B, T});
        const at::Tensor hidden = engine::forwardBranches(m, st, tokens, lengths, options.noPool).reshape({B * T, -1});
        engine::profileMark(engine::Stage::Head);
        std::vector<float> nll(targets.size());
        if (options.surprisal) {
            const at::Tensor index = at::tensor(rows, at::TensorOptions().dtype(at::kLong)).to(hidden.device());
            const at::Tensor used = at::cat({st.last_hidden.unsqueeze(0), hidden}, 0).index_select(0, index);
            const at::Tensor logits = engine::lmHead(m, used).to(at::kFloat);  // (rows, V)
            const at::Tensor target =
                at::tensor(targets, at::TensorOptions().dtype(at::kLong)).to(logits.device()).unsqueeze(1);
            const at::Tensor lse = logits.is_cpu() ? rowLogSumExp(logits) : at::logsumexp(logits, 1);
            const at::Tensor out = (lse - logits.gather(1, target).squeeze(1)).to(at::kCPU).contiguous();
            std::copy(out.data_ptr<float>(), out.data_ptr<float>() + out.numel(), nll.begin());
        }
        engine::profileMark(engine::Stage::Outside);
        size_t next = 0;
        for (size_t k : batch) {
            ReadResult& r = results[k];
            const size_t n = continuations[k].size();
            r.startPosition = st.position;
            r.tokensRead = static_cast<int64_t>(n);
            if (options.surprisal)
                r.surprisal.assign(nll.begin() + static_cast<std::ptrdiff_t>(next),
                                   nll.begin() + static_cast<std::ptrdiff_t>(next + n));
            next += n;
            if (options.onProgress)
                options.onProgress(r.tokensRead, r.tokensRead);
        }
    } catch (const EngineError&) {
        throw;
    } catch (const std::exception& e) {
        throw EngineError(std::string("readEach failed at position ") + std::to_string(st.position) + ": " + e.what());
    }
}

}  // namespace

std::vector<ReadResult> Model::readEach(const State& from, const std::vector<std::vector<int32_t>>& continuations,
                                        const ReadOptions& options) const
{
    checkStateFits(*d, from.impl(), "readEach");
    for (size_t k = 0; k < continuations.size(); ++k)
        checkTokens(d->config, continuations[k], "readEach");
    // MEMMAMBA_READ_EACH=serial: one after another, also on CUDA; =threads: no branch
    // pass (to measure what each saves).
    static const std::string mode = [] {
        const char* v = std::getenv("MEMMAMBA_READ_EACH");
        return std::string(v ? v : "");
    }();
    std::vector<ReadResult> results(continuations.size());
    // The continuations within the branch pass's reach (engine::branchReach) go through one
    // batched pass; the others are read as below.
    std::vector<size_t> batch, rest;
    if (mode.empty() && branchesApply(options, from.impl())) {
        // A merge inside the piece would make note events, which the branch pass does not report.
        const int64_t reach = engine::branchReach(*d, from.impl(), !options.noteEvents && !options.onNote);
        for (size_t k = 0; k < continuations.size(); ++k) {
            const auto n = static_cast<int64_t>(continuations[k].size());
            (n > 0 && n <= reach ? batch : rest).push_back(k);
        }
    }
    if (options.branchesOnly) {
        if (!batch.empty())
            readBranches(*d, from.impl(), continuations, batch, options, results);
        return results;
    }
    if (batch.size() > 1) {
        readBranches(*d, from.impl(), continuations, batch, options, results);
    } else {  // a pass of one branch saves nothing
        rest.resize(continuations.size());
        std::iota(rest.begin(), rest.end(), size_t(0));
    }
    // read() replaces the state's tensors instead of writing into them, so a shallow copy
    // of `from` is a copy each reader may advance: no device copies.
    auto copyOf = [&] { return State(std::make_unique<State::Impl>(State::Impl{from.impl()})); };
#if defined(MEMMAMBA_WITH_CUDA)
    if (d->options.device().is_cuda() && rest.size() > 1 && mode != "serial") {
        // The copies share `from`'s tensors: they must be written before other streams read them.
        c10::cuda::getCurrentCUDAStream().synchronize();
        std::vector<std::exception_ptr> errors(continuations.size());
        std::vector<std::thread> readers;
        readers.reserve(rest.size());
        const c10::DeviceIndex device = d->options.device().index() < 0 ? 0 : d->options.device().index();
        for (size_t i : rest)
            readers.emplace_back([&, i] {
                try {
                    const c10::cuda::CUDAStreamGuard stream(c10::cuda::getStreamFromPool(false, device));
                    State copy = copyOf();
                    results[i] = read(copy, continuations[i], options);
                    // Its tensors die with this thread: their stream must be done with them.
                    c10::cuda::getCurrentCUDAStream().synchronize();
                } catch (...) {
                    errors[i] = std::current_exception();
                }
            });
        for (std::thread& t : readers)
            t.join();
        for (const std::exception_ptr& e : errors)
            if (e)
                std::rethrow_exception(e);
        return results;
    }
#endif
    for (size_t i : rest) {
        State copy = copyOf();
        results[i] = read(copy, continuations[i], options);
    }
    return results;
}

std::vector<PoolSlot> Model::pool(const State& state, int32_t layer) const
{
    const engine::ModelState& st = state.impl();
    checkStateFits(*d, st, "pool");
    if (layer < 0 || layer >= d->config.n_layer)
        throw EngineError("pool: layer " + std::to_string(layer) + " outside [0, " +
                          std::to_string(d->config.n_layer) + ")");
    const engine::LayerState& ls = st.layers[layer];
    const at::Tensor values = ls.pool_values.to(at::kCPU, at::kFloat).contiguous();
    std::vector<PoolSlot> out;
    for (int64_t i = 0; i < ls.pool.slots(); ++i) {
        if (ls.pool.position[i] < 0)
            continue;
        PoolSlot slot{static_cast<int32_t>(i), ls.pool.position[i], ls.pool.priority[i], {}};
        const float* p = values[i].data_ptr<float>();
        slot.values.assign(p, p + values.size(1));
        out.push_back(std::move(slot));
    }
    return out;
}

std::vector<std::vector<float>> Model::noteQuery(const std::vector<int32_t>& tokens) const
{
    const engine::Model& m = *d;
    if (!m.config.notes || tokens.empty())
        return {};
    for (int32_t t : tokens)
        if (t < 0 || t >= m.config.vocab_size)
            throw EngineError("noteQuery: token id " + std::to_string(t) + " outside the vocabulary");
    c10::NoGradGuard noGrad;
    engine::ModelState st = engine::newState(m);
    engine::ForwardTrace trace;
    trace.keep_queries = true;
    const IntraOpThreads threads(1);
    try {
        engine::forwardSequence(
            m, st, at::tensor(std::vector<int64_t>(tokens.begin(), tokens.end()), at::TensorOptions().dtype(at::kLong)),
            &trace);
    } catch (const std::exception& e) {
        throw EngineError(std::string("noteQuery failed: ") + e.what());
    }
    std::vector<std::vector<float>> out;
    for (const at::Tensor& q : trace.queries) {
        const at::Tensor c = q.contiguous();
        out.emplace_back(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    }
    return out;
}

double Model::stateDifference(const State& a, const State& b) const
{
    const engine::ModelState& x = a.impl();
    const engine::ModelState& y = b.impl();
    const double inf = std::numeric_limits<double>::infinity();
    if (x.position != y.position || x.last_token != y.last_token || x.layers.size() != y.layers.size() ||
        x.last_hidden.defined() != y.last_hidden.defined())
        return inf;
    double diff = 0;
    auto maxAbs = [&](const at::Tensor& s, const at::Tensor& t) {
        if (s.sizes() != t.sizes())
            return inf;
        if (s.numel() == 0)
            return 0.0;
        return (s.to(at::kCPU, at::kDouble) - t.to(at::kCPU, at::kDouble)).abs().max().item<double>();
    };
    if (x.last_hidden.defined())
        diff = std::max(diff, maxAbs(x.last_hidden, y.last_hidden));
    for (size_t l = 0; l < x.layers.size(); ++l) {
        const engine::LayerState& p = x.layers[l];
        const engine::LayerState& q = y.layers[l];
        if (p.pool.position != q.pool.position || p.pool.fill != q.pool.fill ||
            p.pool.candidates.size() != q.pool.candidates.size())
            return inf;
        for (size_t i = 0; i < p.pool.priority.size(); ++i)
            diff = std::max(diff, std::fabs(double(p.pool.priority[i]) - q.pool.priority[i]));
        // The running candidates are a set: their order depends on where pieces ended.
        auto byPosition = [](const engine::PoolMeta& meta) {
            std::vector<int64_t> order(meta.candidates.size());
            std::iota(order.begin(), order.end(), 0);
            std::sort(order.begin(), order.end(), [&](int64_t i, int64_t j) {
                return meta.candidates[size_t(i)].position < meta.candidates[size_t(j)].position;
            });
            return order;
        };
        const std::vector<int64_t> po = byPosition(p.pool), qo = byPosition(q.pool);
        for (size_t i = 0; i < po.size(); ++i) {
            const auto& ca = p.pool.candidates[size_t(po[i])];
            const auto& cb = q.pool.candidates[size_t(qo[i])];
            if (ca.position != cb.position)
                return inf;
            diff = std::max(diff, std::fabs(double(ca.priority) - cb.priority));
        }
        const auto longs = at::TensorOptions().dtype(at::kLong);
        const at::Tensor pc = po.empty() ? p.cand_values : p.cand_values.index_select(0, at::tensor(po, longs).to(p.cand_values.device()));
        const at::Tensor qc = qo.empty() ? q.cand_values : q.cand_values.index_select(0, at::tensor(qo, longs).to(q.cand_values.device()));
        for (const auto& [s, t] : {std::pair{p.conv, q.conv}, std::pair{p.ssm, q.ssm},
                                   std::pair{p.pool_values, q.pool_values}, std::pair{pc, qc}})
            diff = std::max(diff, maxAbs(s, t));
    }
    return diff;
}

namespace {

int32_t sampleToken(const std::vector<float>& logits, const GenerateOptions& o, std::mt19937_64& rng)
{
    const int32_t V = static_cast<int32_t>(logits.size());
    if (o.temperature <= 0)
        return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    std::vector<int32_t> order(V);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    });
    std::vector<double> probs(V);
    double sum = 0;
    for (int32_t i = 0; i < V; ++i)
        sum += probs[i] = std::exp((double(logits[order[i]]) - logits[order[0]]) / o.temperature);
    // Nucleus: the shortest prefix of the sorted tokens whose mass reaches topP.
    int32_t keep = 0;
    double mass = 0;
    while (keep < V && (keep == 0 || mass < o.topP * sum))
        mass += probs[keep++];
    double u = std::uniform_real_distribution<double>(0.0, mass)(rng);
    for (int32_t i = 0; i < keep; ++i) {
        u -= probs[i];
        if (u < 0)
            return order[i];
    }
    return order[keep - 1];
}

}  // namespace

GenerateResult Model::generate(State& state, const GenerateOptions& options) const
{
    const engine::Model& m = *d;
    engine::ModelState& st = state.impl();
    checkStateFits(m, st, "generate");
    if (!st.last_hidden.defined())
        throw EngineError("generate: the state has read no token yet; read a prompt of at least one token first");
    if (!(options.topP > 0 && options.topP <= 1))
        throw EngineError("generate: topP must be in (0, 1], got " + std::to_string(options.topP));
    GenerateResult result;
    std::mt19937_64 rng(options.seed);
    c10::NoGradGuard noGrad;
    IntraOpThreads oneThread(1);
    std::map<std::tuple<int32_t, bool, int32_t, int64_t>, float> attention;
    auto finish = [&](StopReason reason) {
        result.reason = reason;
        for (const auto& [key, weight] : attention)
            result.poolAttention.push_back(
                {std::get<0>(key), std::get<1>(key), std::get<2>(key), std::get<3>(key), weight});
        return result;
    };
    for (int32_t i = 0; i < options.maxTokens; ++i) {
        if (options.cancel && options.cancel->load())
            return finish(StopReason::Cancelled);
        const at::Tensor logits = engine::lmHead(m, st.last_hidden.unsqueeze(0)).to(at::kCPU, at::kFloat).contiguous();
        const float* p = logits.data_ptr<float>();
        const int32_t token = sampleToken(std::vector<float>(p, p + logits.numel()), options, rng);
        // The token is streamed as soon as it is chosen, before the step that reads it
        // (a whole forward step earlier: time to first token); it is read into the state
        // whatever the callback returns.
        const bool goOn = !options.onToken || options.onToken(token);
        engine::ModelState work = st;  // shallow: on an exception st keeps the tokens before
        engine::ForwardTrace trace;
        trace.keep_attention = options.poolAttention;
        engine::forwardStep(m, work, token, options.poolAttention ? &trace : nullptr, options.noPool);
        for (const auto& a : trace.attention)
            attention[{static_cast<int32_t>(a.layer), a.cross_layer, static_cast<int32_t>(a.source_layer),
                       a.position}] += a.weight;
        st = std::move(work);
        result.tokens.push_back(token);
        if (!goOn)
            return finish(StopReason::Callback);
        if (std::find(options.stopTokens.begin(), options.stopTokens.end(), token) != options.stopTokens.end())
            return finish(StopReason::StopToken);
    }
    return finish(StopReason::MaxTokens);
}

}  // namespace mm
