// The training objectives: next-token cross-entropy and docs/spec/MODEL.md's surprisal target for
// the note score (lesson 3: no sparsity penalty; the score gets its own target instead).
//
// Surprisal target: within each note chunk of C positions (counted from the window's
// first token), the k tokens of highest surprisal (NLL under the model, detached) get
// target 1, the others 0; the score logits are pulled towards it with BCE. Token 0 of a
// window has no prediction and is left out of the target (weight 0).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace mm::engine::train {

/// nll: (Bt, T) surprisal of each token (column 0 ignored). Returns (target, weight),
/// both (Bt, T) float on nll's device: target 1 for the chunk's top-k tokens (ties: the
/// earlier), weight 0 for column 0 and 1 elsewhere.
std::pair<at::Tensor, at::Tensor> surprisalTarget(const at::Tensor& nll, int64_t chunk, int64_t topK);

/// Mean BCE-with-logits of scoreLogits (Bt, T) against the target, weighted.
at::Tensor scoreLoss(const at::Tensor& scoreLogits, const at::Tensor& target, const at::Tensor& weight);

}  // namespace mm::engine::train
