// The MemMamba engine's public API: torch-free (std types only), for the command line,
// ingest and the GUI. Everything torch lives behind these opaque handles (engine/model.h
// and friends are internal).
//
// Threading: a Model is immutable after loading and may be shared by threads; a State
// must be used by one thread at a time. Every call reports failure by throwing
// mm::EngineError (a std::runtime_error) whose message is one line naming the problem;
// each call says below what survives a failure.
//
// Typical use:
//   auto model = mm::Model::load(dir, "auto");
//   mm::State state = model->newState();
//   mm::ReadResult r = model->read(state, tokens);            // surprisal, notes, ...
//   std::vector<uint8_t> blob = model->saveState(state);       // checkpoint
//   mm::GenerateResult g = model->generate(state, options);   // answer
#pragma once

#include "engine/config.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace mm {

namespace engine {
struct Model;
struct ModelState;
}  // namespace engine

class EngineError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Why a model or a state could not be loaded (LoadError::kind).
enum class LoadErrorKind {
    MissingFile,        ///< config.json or model.safetensors cannot be opened
    InvalidModel,       ///< a config refused, or weights missing, unexpected or of the wrong shape
    FormatVersion,      ///< a state of a newer (or no valid) format version
    ModelMismatch,      ///< a state made by another model
    TokenizerMismatch,  ///< made with another tokenizer than the one in use
    WrongDevice,        ///< the device asked for is not there, or not a device
    Corrupt,            ///< not a state at all, truncated or malformed
};

/// Model::load, Model::createRandom and Model::loadState throw this (an EngineError
/// whose message is the one line to show) with what went wrong as a kind to act on.
class LoadError : public EngineError {
public:
    LoadError(LoadErrorKind kind, const std::string& message) : EngineError(message), m_kind(kind) {}
    LoadErrorKind kind() const { return m_kind; }

private:
    LoadErrorKind m_kind;
};

/// One insertion into a layer's note pool, reported when the note chunk that holds the
/// token closes (after its last token has been read).
struct NoteEvent {
    int32_t layer = 0;
    int64_t position = 0;          ///< absolute position of the noted token
    float score = 0;               ///< its importance a_t (the entry's priority)
    int32_t slot = 0;              ///< pool slot it went to
    int64_t evictedPosition = -1;  ///< position of the entry it replaced, -1 for an empty slot
    /// The r-dimensional entry written to the pool (a_t * s_t), exactly as the pool holds
    /// it; empty unless ReadOptions::noteSummaries.
    std::vector<float> summary;
};

/// How strongly the tokens of a read or generation attended to one pool entry: the
/// softmax weight averaged over heads, summed over the tokens. Cross-token attention
/// reads its own layer's pool; cross-layer attention (every p-th layer) reads the pools
/// of layers l-p+1..l.
struct PoolAttentionWeight {
    int32_t layer = 0;        ///< the reading layer
    bool crossLayer = false;  ///< false: cross-token attention
    int32_t sourceLayer = 0;  ///< the layer whose pool holds the entry
    int64_t position = 0;     ///< the entry's source token position
    float weight = 0;
};

/// One occupied slot of a layer's pool (Model::pool).
struct PoolSlot {
    int32_t slot = 0;
    int64_t position = 0;
    float priority = 0;
    std::vector<float> values;  ///< r values
};

constexpr int64_t kDefaultSegmentCpu = 1024;
constexpr int64_t kDefaultSegmentCuda = 65536;

struct ReadOptions {
    bool surprisal = true;    ///< fill ReadResult::surprisal
    bool importance = true;   ///< fill ReadResult::importance
    bool noteEvents = true;   ///< fill ReadResult::notes (onNote is called either way)
    bool noteSummaries = false;  ///< fill NoteEvent::summary (r floats per note)
    bool poolAttention = false;  ///< fill ReadResult::poolAttention
    bool logits = false;      ///< fill ReadResult::logits (tokens x vocab floats: large)
    /// Tokens processed per forward pass: bounds memory for long inputs; results do not
    /// depend on it. Cancel and progress are checked between segments. 0: the device's
    /// default (kDefaultSegmentCpu on the CPU; kDefaultSegmentCuda on CUDA, where short
    /// segments cost a host sync per layer each and read 8x slower at 1M tokens, docs/perf.md).
    int64_t segmentTokens = 0;
    /// Ablation (memmamba eval --no-pool): the note pools are emptied at every step, so
    /// every token reads empty pools (the note branch adds nothing); the rest of the model
    /// is unchanged. The state's pools stay empty afterwards.
    bool noPool = false;
    bool layerOutputs = false;  ///< fill ReadResult::layerOutputs (layers x tokens x d_model floats: large)
    /// readEach only: read just the continuations its one batched pass can (surprisal only,
    /// within the pass's reach); the others come back unread (tokensRead 0), not one by one.
    /// For reading ahead what may be asked for, where a read one by one would cost more than
    /// it could save.
    bool branchesOnly = false;
    const std::atomic<bool>* cancel = nullptr;                        ///< set to stop early
    std::function<void(int64_t done, int64_t total)> onProgress;      ///< after each segment
    std::function<void(const NoteEvent&)> onNote;                     ///< each pool insertion
};

struct ReadResult {
    int64_t startPosition = 0;  ///< absolute position of the first token read
    int64_t tokensRead = 0;     ///< < tokens.size() only when cancelled
    bool cancelled = false;
    /// Negative log-likelihood (nats) of each token given everything before it; NaN for
    /// the first token of a document (nothing predicts it).
    std::vector<float> surprisal;
    std::vector<std::vector<float>> importance;  ///< [layer][token] score a_t; empty with notes off
    std::vector<NoteEvent> notes;                ///< in order of occurrence
    std::vector<float> logits;                   ///< [token][vocab]: row i predicts token i + 1
    /// [layer][token * d_model + i]: the residual stream after each block (before the final
    /// norm); only with ReadOptions::layerOutputs.
    std::vector<std::vector<float>> layerOutputs;
    /// Per (layer, attention, source layer, position) the summed weight; only with
    /// ReadOptions::poolAttention. Unordered.
    std::vector<PoolAttentionWeight> poolAttention;
};

enum class StopReason { MaxTokens, StopToken, Callback, Cancelled };

struct GenerateOptions {
    int32_t maxTokens = 64;
    float temperature = 0;   ///< <= 0: greedy (argmax, lowest id on ties)
    float topP = 1;          ///< nucleus: sample among the most likely tokens whose mass reaches topP
    uint64_t seed = 0;       ///< same seed, state and options: same tokens
    std::vector<int32_t> stopTokens;  ///< generation ends after emitting one of these
    /// Streaming: called with each token as soon as it is chosen, before the step that
    /// reads it into the state (so the first token arrives one step earlier); return false
    /// to stop. The state ends with every emitted token read either way.
    std::function<bool(int32_t token)> onToken;
    const std::atomic<bool>* cancel = nullptr;
    bool noPool = false;  ///< the ablation of ReadOptions::noPool, for the generated tokens
    bool poolAttention = false;  ///< fill GenerateResult::poolAttention
};

struct GenerateResult {
    std::vector<int32_t> tokens;  ///< every emitted token (a stop token included)
    StopReason reason = StopReason::MaxTokens;
    /// What the generated tokens' steps attended to (as ReadResult::poolAttention), summed
    /// over the steps that read an emitted token; only with GenerateOptions::poolAttention.
    std::vector<PoolAttentionWeight> poolAttention;
};

struct ModelInfo {
    ModelConfig config;                ///< the full config, defaults filled in
    std::string configJson;            ///< the same as JSON
    int64_t parameterCount = 0;        ///< tied embedding counted once
    std::string fingerprint;           ///< "mm1:" + SHA-256 of the canonical config and weights
    std::string tokenizerFingerprint;  ///< from the config; "" for random models
    std::string device;                ///< "cpu" or "cuda:0"
    int stateFormatVersion = 0;        ///< of the bytes saveState writes (engine/state_io.h)
};

struct RuntimeInfo {
    std::string torchVersion;
    int threads = 0;
    bool cudaAvailable = false;
    std::string cudaDeviceName;  ///< empty without CUDA
};
RuntimeInfo runtimeInfo();

/// The streaming state of one document: conv and SSM states, note pools, position.
/// Movable; copy with clone(). Created by Model::newState or Model::loadState.
class State {
public:
    State();
    ~State();
    State(State&&) noexcept;
    State& operator=(State&&) noexcept;
    State clone() const;
    bool valid() const;           ///< false for a default-constructed or moved-from State
    int64_t position() const;     ///< tokens read so far; throws EngineError if !valid()
    engine::ModelState& impl();   ///< internal (tests, tools); throws if !valid()
    const engine::ModelState& impl() const;

private:
    friend class Model;
    struct Impl;
    explicit State(std::unique_ptr<Impl> d);
    std::unique_ptr<Impl> d;
};

class Model {
public:
    /// Loads dir/config.json and dir/model.safetensors (F32 or BF16) onto device "cpu",
    /// "cuda" or "auto" (cuda when available). Throws LoadError: MissingFile (a file
    /// cannot be opened), InvalidModel (config.json: unknown field 'x'; unreadable
    /// weights; a tensor missing, unexpected or of the wrong shape for the config),
    /// WrongDevice ("cuda" without a CUDA device).
    static std::unique_ptr<Model> load(const std::string& dir, const std::string& device = "auto");
    /// A randomly initialised model (docs/spec/MODEL.md init: gates' output projections zero).
    /// configJson may be partial ("{}" = the defaults). Throws EngineError on a bad config.
    static std::unique_ptr<Model> createRandom(const std::string& configJson, uint64_t seed = 0,
                                               const std::string& device = "auto");
    /// The engine's default config (vocab 8192, d_model 320, 8 layers, notes on) as JSON.
    static std::string defaultConfigJson();
    ~Model();

    ModelInfo info() const;
    /// Writes dir/config.json and dir/model.safetensors with dtype "bf16" or "fp32"
    /// (creating dir). Each file is written to a temporary name and renamed, so a failed
    /// save (EngineError) leaves any previous file whole.
    void save(const std::string& dir, const std::string& dtype = "bf16") const;

    State newState() const;
    /// Bytes of the state (format in engine/state_io.h) with this model's and tokenizer's
    /// fingerprints. Throws EngineError if state is invalid.
    std::vector<uint8_t> saveState(const State& state) const;
    /// Throws LoadError naming the first mismatch: "not a MemMamba state" (Corrupt), "state
    /// format 3 is newer than this build's 1" (FormatVersion), "state was made by model
    /// mm1:..., this is mm1:..." (ModelMismatch), "state was made with tokenizer ..."
    /// (TokenizerMismatch), "truncated state: layer 5 ssm section ..." (Corrupt).
    State loadState(const std::vector<uint8_t>& bytes) const;

    /// Reads tokens into state (sequence path; a single token takes the step path).
    /// Throws EngineError for a token id outside [0, vocab) (nothing read) or any failure
    /// during reading; in every failure the state is left exactly as before the call.
    /// Cancellation is not a failure: the state then holds the segments read
    /// (result.tokensRead tokens) and result.cancelled is true.
    ReadResult read(State& state, const std::vector<int32_t>& tokens, const ReadOptions& options = {}) const;

    /// Reads each continuation into its own copy of `from` and returns one result per
    /// continuation, in order; `from` is left unchanged. For scoring alternatives after one
    /// prompt ("<q> question <a>", then each candidate answer). Where only surprisal is
    /// asked for, the continuations that cross at most one note-chunk end (none when note
    /// events are asked for) are read together in one batched pass (engine::forwardBranches):
    /// a read of a few tokens is mostly per-op overhead. The others: on CUDA at once, each
    /// on a thread and a stream of its own (options' callbacks are then called from those
    /// threads); on the CPU one after another. Throws as read() does (the first failure).
    std::vector<ReadResult> readEach(const State& from, const std::vector<std::vector<int32_t>>& continuations,
                                     const ReadOptions& options = {}) const;

    /// Generates from the state's last token (the state must have read at least one
    /// token, else EngineError). Every emitted token is read into the state, so afterwards
    /// state equals prompt + result.tokens. On an exception the state holds the tokens
    /// emitted before it.
    GenerateResult generate(State& state, const GenerateOptions& options) const;

    /// The occupied slots of a layer's pool in the state, by slot. Empty with notes off.
    std::vector<PoolSlot> pool(const State& state, int32_t layer) const;
    /// A query in note-summary space per layer, for ranking stored notes: the tokens are
    /// read from an empty state and each layer's cross-token query projection (mean over
    /// the tokens) is mapped through the key projection, u_l = W_k^T mean_t(W_q hn_t), so
    /// dot(u_l, summary) is the attention logit (summed over heads, unscaled) that layer
    /// would give a pool entry holding that summary. Empty with notes off.
    std::vector<std::vector<float>> noteQuery(const std::vector<int32_t>& tokens) const;
    /// The largest absolute difference between two states' tensors; +infinity when their
    /// positions, last tokens, pool slots or candidates differ. 0: identical values.
    double stateDifference(const State& a, const State& b) const;

    engine::Model& impl();  ///< internal (tests, tools)
    const engine::Model& impl() const;

private:
    Model();
    std::unique_ptr<engine::Model> d;
};

}  // namespace mm
