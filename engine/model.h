// The MemMamba model of docs/spec/MODEL.md v1 on LibTorch: weights, initialisation, and the two
// execution paths (a sequence path for prefill/training, a one-token step path for
// generation). Internal to engine/: the public, torch-free API is engine/engine.h.
//
// Letters (one document, no batch): T tokens of a piece, D d_model, E d_inner, N d_state,
// K d_conv, R dt_rank, V vocab, M pool slots, r note dims, H heads, S pool snapshots of a
// piece (one per note chunk it touches, plus the pool after it), P pools read by
// cross-layer attention.
#pragma once

#include "engine/config.h"
#include "engine/note_pool.h"

#include <ATen/ATen.h>

#include <functional>
#include <string>
#include <vector>

namespace mm::engine {

struct MixerWeights {
    at::Tensor in_proj;    // (2E, D)
    at::Tensor conv_w;     // (E, 1, K)
    at::Tensor conv_b;     // (E)
    at::Tensor x_proj;     // (R + 2N, E)
    at::Tensor dt_proj_w;  // (E, R)
    at::Tensor dt_proj_b;  // (E)
    at::Tensor A_log;      // (E, N)
    at::Tensor D;          // (E)
    at::Tensor out_proj;   // (D, E)
};

/// Attention from the tokens to pool entries, with its gate and zero-initialised output.
struct PoolAttentionWeights {
    at::Tensor q;          // (r, D)   query from RMSNorm(h)
    at::Tensor k, v;       // (r, r)   keys and values from pool entries
    at::Tensor source;     // (P, r)   cross-layer only: embedding of the source layer offset
    at::Tensor gate_w;     // (1, D + r)  g = sigmoid(gate_w [RMSNorm(h); c] + gate_b)
    at::Tensor gate_b;     // (1)
    at::Tensor out;        // (D, r)   W_o, zero at initialisation
};

struct NoteWeights {
    at::Tensor norm;       // (D)
    at::Tensor score_w;    // (1, D)
    at::Tensor score_b;    // (1)
    at::Tensor summary;    // (r, 2D)  s = W_sum [RMSNorm(h); e(x)]
    PoolAttentionWeights tok;
    PoolAttentionWeights lay;  // undefined tensors unless the layer has cross-layer attention
};

struct LayerWeights {
    at::Tensor norm;  // (D)
    MixerWeights mixer;
    NoteWeights note;
};

struct Weights {
    at::Tensor embedding;  // (V, D), tied with the LM head
    std::vector<LayerWeights> layers;
    at::Tensor norm_f;     // (D)
};

/// Every parameter with its safetensors name, in a fixed order.
void forEachParameter(Weights& w, const ModelConfig& c, const std::function<void(const std::string&, at::Tensor&)>& fn);
/// Names and shapes the config implies, in the same order.
std::vector<std::pair<std::string, std::vector<int64_t>>> parameterShapes(const ModelConfig& c);
int64_t parameterCount(const ModelConfig& c);

/// Mamba's initialisation (S4D-real A, dt in [1e-3, 1e-1], D = 1), embeddings N(0, 0.02),
/// gates' output projections zero (docs/spec/MODEL.md). Deterministic for a seed.
Weights initWeights(const ModelConfig& c, uint64_t seed, at::ScalarType dtype = at::kFloat);

struct LayerState {
    at::Tensor conv;         // (K-1, E) last K-1 inputs of the convolution, oldest first
    at::Tensor ssm;          // (E, N)
    at::Tensor pool_values;  // (M, r) slot values (zero where empty)
    at::Tensor cand_values;  // (k', r) values of the running candidates, k' <= k
    PoolMeta pool;           // positions, priorities, fill, candidates
};

struct ModelState {
    int64_t position = 0;      ///< tokens read so far (absolute position of the next token)
    int32_t last_token = -1;   ///< -1 before the first token
    at::Tensor last_hidden;    // (D) final-normed hidden of the last token; undefined if none
    std::vector<LayerState> layers;
};

struct Model {
    ModelConfig config;
    Weights weights;
    at::TensorOptions options;  // dtype and device of the weights and state
    std::string fingerprint;    // "mm1:" + sha256(canonical config, weights)
};

std::string computeFingerprint(Model& m);
ModelState newState(const Model& m);
ModelState cloneState(const ModelState& s);

/// What a forward pass reports besides the hidden states.
struct ForwardTrace {
    bool keep_scores = true;                               // set by the caller to skip (a copy on the GPU):
    std::vector<at::Tensor> scores;                        // per layer (T), importance a_t
    bool keep_insertions = true;                           // set by the caller to skip (a copy on the GPU):
    std::vector<std::vector<PoolInsertion>> insertions;    // per layer
    bool keep_layer_outputs = false;                       // set by the caller to fill:
    std::vector<at::Tensor> layer_outputs;                 // per layer (T, D), residual stream after the block
    bool keep_insertion_values = true;                     // set by the caller to skip:
    std::vector<at::Tensor> insertion_values;              // per layer (insertions, r) CPU float: the pool entries written
    /// Attention over pool entries, summed over the piece's tokens, averaged over heads.
    struct AttentionSum {
        int64_t layer = 0;         // the reading layer
        bool cross_layer = false;  // cross-layer attention (else cross-token)
        int64_t source_layer = 0;  // the layer whose pool holds the entry
        int64_t position = 0;      // the entry's source position
        float weight = 0;
    };
    bool keep_attention = false;                           // set by the caller to fill:
    std::vector<AttentionSum> attention;
    bool keep_queries = false;                             // set by the caller to fill:
    std::vector<at::Tensor> queries;                       // per layer (r): W_k^T mean_t(W_q hn_t), summary space
};

/// Sequence path: reads tokens (T, int64) at positions state.position.. into the state;
/// returns the final-normed hidden states (T, D). Autograd flows through it when enabled.
/// noPool: the ablation of ReadOptions::noPool (pools emptied at every step, read as empty).
at::Tensor forwardSequence(const Model& m, ModelState& st, const at::Tensor& tokens, ForwardTrace* trace = nullptr,
                           bool noPool = false);
/// Step path: one token; same result as forwardSequence with T = 1 (up to rounding).
at::Tensor forwardStep(const Model& m, ModelState& st, int64_t token, ForwardTrace* trace = nullptr,
                       bool noPool = false);

/// Branch path, for scoring alternatives after one prompt: B continuations of st, each
/// read as into its own copy of it, in one pass. tokens (B, T) int64, shorter rows padded
/// at their ends (a padding token changes no row before it). Every branch's tokens up to
/// st's note chunk's end read the pools as they stand in st; when the piece crosses that
/// end, each branch merges its own candidates there (a host walk per branch and layer)
/// and its later tokens read its own pool. At most one merge: T <= branchReach(m, st,
/// true). Inference only; st is not changed. Returns final-normed hidden states (B, T, D).
/// lengths: each branch's own length (empty: all T); the mixer's projections, most of a
/// pass's arithmetic, skip the padding.
at::Tensor forwardBranches(const Model& m, const ModelState& st, const at::Tensor& tokens,
                           const std::vector<int64_t>& lengths = {}, bool noPool = false);
/// The longest piece forwardBranches takes from st: with merge, one that may cross the
/// chunk's end; without, one that ends before the chunk's last token (no merge, so no
/// note events that a read would report). Unbounded with notes off.
int64_t branchReach(const Model& m, const ModelState& st, bool merge);

/// Logits (T, V) from final-normed hidden states (T, D): the tied LM head.
at::Tensor lmHead(const Model& m, const at::Tensor& hidden);

/// The Mamba-1 mixer alone: u (T, D) -> (T, D); conv (K-1, E) and ssm (E, N) are updated.
at::Tensor mixerSequence(const MixerWeights& w, const ModelConfig& c, const at::Tensor& u, at::Tensor& conv,
                         at::Tensor& ssm);
at::Tensor mixerStep(const MixerWeights& w, const ModelConfig& c, const at::Tensor& u, at::Tensor& conv,
                     at::Tensor& ssm);

at::Tensor rmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps);

}  // namespace mm::engine
