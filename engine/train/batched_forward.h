// The training forward pass: docs/spec/MODEL.md's model over a batch of token windows, sharing
// engine/model.h's Weights. Every window starts a fresh document state at position 0
// (empty pools, zero SSM and conv state), so note chunks are counted from the window's
// first token.
//
// It must compute exactly what engine/model.cpp's forwardSequence computes for each row
// (tests/train/tst_train.cpp checks it row by row); the differences are only in how the
// work is laid out: the mixer's scan is the batched selectiveScanFused, and the note
// path walks every row's pool on the CPU (walkPool, one host sync per layer) and then
// gathers all rows' snapshots with one index_select.
//
// Letters: Bt batch rows, T tokens a row, D d_model, E d_inner, N d_state, K d_conv,
// M pool slots, r note dims, H heads, C note chunk, G = ceil(T / C) chunks a row.
#pragma once

#include "engine/model.h"

#include <ATen/ATen.h>

#include <vector>

namespace mm::engine::train {

struct BatchOptions {
    /// Per row: a note-chunk boundary (multiple of C, in (0, T)) where the SSM and conv
    /// states are dropped (set to zero) while the pools are kept, or -1 for none. The
    /// curriculum of docs/spec/MODEL.md lesson 1: after the drop, only notes carry what came before.
    std::vector<int64_t> dropStateAt;
    /// Per row: positions > 0 (multiples of C) where a new sample starts. There the SSM,
    /// conv and pool state all start again from zero, as if the row were cut in two, so
    /// packed samples never share state (data.h). Empty: one segment a row.
    std::vector<std::vector<int64_t>> segmentStarts;
    bool noPool = false;  ///< the ablation: pools read as empty (the note branch adds nothing)
};

/// Where each row's segments start, as the mixer consumes it (built once per forward).
struct SegmentResets {
    at::Tensor since;  ///< (Bt, T) int64: tokens since the row's segment started (0 at a start)
    at::Tensor start;  ///< (Bt, T) bool: a segment starts here (never at 0: the row starts fresh anyway)
    bool any = false;
    /// From BatchOptions::segmentStarts; an undefined result (any = false) when there are none.
    static SegmentResets of(const std::vector<std::vector<int64_t>>& segmentStarts, int64_t rows, int64_t length,
                            at::Device device);
};

struct BatchOutput {
    at::Tensor hidden;                   // (Bt, T, D) final-normed
    std::vector<at::Tensor> scoreLogits; // per layer (Bt, T): w_note . RMSNorm(h) + b (a = sigmoid); empty with notes off
    int64_t notesWritten = 0;            // pool insertions, all layers and rows
    int64_t chunksClosed = 0;            // note chunks closed, all layers and rows
};

/// tokens: (Bt, T) int64 on the model's device. Differentiable in every weight.
BatchOutput forwardBatch(const Model& m, const at::Tensor& tokens, const BatchOptions& options = {});

/// The Mamba-1 mixer over a batch, from zero state, with optional per-row state drops.
/// u: (Bt, T, D) -> (Bt, T, D).
at::Tensor mixerBatch(const MixerWeights& w, const ModelConfig& c, const at::Tensor& u,
                      const std::vector<int64_t>& dropStateAt, const SegmentResets& resets = {});

}  // namespace mm::engine::train
