// The memory-fidelity curves of one document: the engine's fidelity protocol (engine/eval,
// `memmamba eval fidelity`, docs/eval.md section 4) on excerpts of the document's own
// text, sample by sample, with and without the note pools. For the reader's Charts dock.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

namespace mm::storage {
class Database;
}  // namespace mm::storage

namespace mm::memory {

struct LoadedModel;

struct FidelityOptions {
    int samples = 4;  ///< perturbed positions (one excerpt of the document each)
    /// Tokens after the perturbed token at which every layer's output is compared; those
    /// the document cannot hold are left out (a short document gets a shorter context
    /// first).
    std::vector<int64_t> distances{1, 4, 16, 64, 256, 1024, 4096};
    int64_t context = 256;      ///< tokens read before the perturbed one
    bool withAblation = true;   ///< also the same excerpts with the note pools emptied
};

struct DocumentFidelity {
    bool cancelled = false;
    std::vector<int64_t> distances;  ///< ascending, those measured
    int layers = 0;
    int samples = 0;
    int64_t context = 0;
    int64_t documentTokens = 0;
    std::vector<std::vector<double>> etmf;        ///< [layer][distance], mean over samples
    std::vector<std::vector<double>> etmfNoPool;  ///< the same with the pools emptied; empty when not measured
    double seconds = 0;
};

/// Throws MemoryError (no text, too short to measure). onSample(done, total) after each
/// sample; cancel is checked between samples and inside the protocol's reads.
DocumentFidelity measureDocumentFidelity(const LoadedModel& model, storage::Database& db, int64_t docId,
                                         const FidelityOptions& options, const std::atomic<bool>* cancel,
                                         const std::function<void(int done, int total)>& onSample);

}  // namespace mm::memory
