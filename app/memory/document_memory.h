// DocumentMemory: the memory library's front door for one library connection and one
// loaded model. Each call is one job of the library, in its own file:
//   reading.h      ingest (read a document into memory, checkpoints, resume)
//   recall.h       the state and the pools at a reading position
//   asking.h       answering a question as of a position
//   map_queries.h  the memory map, notes at a position, memory search
//   qa_record.h    the question-and-answer record and the library's Q&A history
//   selftest.h     the memory self-test: plant a fact, see whether it comes back
//   model_loader.h loading the model and tokenizer
//
// Threading: one DocumentMemory per thread (it holds a Database connection's reference);
// the model and tokenizer may be shared.
// Errors: MemoryError (one line naming the problem); StaleMemoryError when the stored
// memory was made by another model or tokenizer (it must be read again). Nothing already
// stored is lost by any error, and only reading changes a document's memory status.
#pragma once

#include "app/memory/asking.h"
#include "app/memory/errors.h"
#include "app/memory/map_queries.h"
#include "app/memory/memory_state.h"
#include "app/memory/reading.h"
#include "app/memory/recall.h"
#include "app/memory/selftest.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mm {
class Model;
class Tokenizer;
class State;
}  // namespace mm

namespace mm::storage {
class Database;
}  // namespace mm::storage

namespace mm::memory {

struct MemoryContext;

/// Memory status of a document for this model: what the GUI shows and what `ask` needs.
struct MemoryStatus {
    MemoryState state = MemoryState::None;
    int64_t doneTokens = 0;
    int64_t totalTokens = 0;
    std::string producer;        ///< who made the stored memory ("" for none)
};

class DocumentMemory {
public:
    DocumentMemory(storage::Database& db, const Model& model, const Tokenizer& tokenizer);
    ~DocumentMemory();

    /// model fingerprint + "|" + tokenizer fingerprint: what a stored memory must match.
    const std::string& producer() const;
    /// For the library's jobs that take it directly (qa_record.h).
    MemoryContext& context() { return *d; }

    /// MemoryState::Stale when the stored memory is another model's (derived: nothing is marked).
    MemoryStatus status(int64_t docId) const;
    /// Reads the document (or continues a killed or cancelled run). Throws MemoryError.
    IngestResult ingest(int64_t docId, const IngestOptions& options = {});
    /// Answers as of options.atChar (answerQuestion, asking.h).
    AskResult ask(int64_t docId, const std::string& question, const AskOptions& options = {});
    /// The state after reading the document up to the token covering atChar (none: the
    /// end): nearest checkpoint, then replay. checkpointPos/replayed filled when given.
    State stateAt(int64_t docId, std::optional<int64_t> atChar, int64_t* checkpointPos = nullptr,
                  int64_t* replayed = nullptr, int64_t* position = nullptr);
    /// Makes the first question at atChar fast: when the position is not a checkpoint,
    /// replays to it and stores the state as an "ask" checkpoint (what ask() does after
    /// answering). For the GUI to call in the background at the reading position.
    /// Returns the token position.
    int64_t prepareAt(int64_t docId, int64_t atChar);
    static constexpr int kAskCheckpointsKept = memory::kAskCheckpointsKept;
    /// The state of the checkpoint stored at exactly this token position (tests, tools).
    State checkpointState(int64_t docId, int64_t position);
    /// The same in two halves: the checkpoint is found now (this thread's database); its
    /// stored bytes (storage::MemoryStore::checkpointBlob of the id) may be read on another
    /// connection, and the function decodes them (zstd, checksum, the engine's load) on any
    /// thread while this DocumentMemory lives. Throws as checkpointState; so may the function.
    CheckpointDecoder checkpointDecoder(int64_t docId, int64_t position);
    /// Layer's pool as it stood at atChar, rebuilt from the stored note events.
    NotesView notes(int64_t docId, int layer, std::optional<int64_t> atChar, int contextChars = 60);
    /// Tokens, offsets, surprisal, importance and note events as stored (memory map).
    MemoryMap memoryMap(int64_t docId);
    /// Every note of a layer ever inserted, with inserted/evicted positions (memory map).
    std::vector<PoolNote> noteTimeline(int64_t docId, int layer, bool withContext = false);
    /// Full-text and note hits merged by reciprocal rank fusion; docId < 0: all documents
    /// this model has read.
    std::vector<MemorySearchHit> search(const std::string& query, int64_t docId = -1, int limit = 10);
    /// Token position reached after the characters [0, atChar) (tokens starting before it).
    int64_t tokenPositionAt(int64_t docId, int64_t atChar);
    /// The memory self-test (selftest.h): stores nothing.
    SelfTestResult selfTest(int64_t docId, const SelfTestOptions& options = {});

private:
    std::unique_ptr<MemoryContext> d;
};

}  // namespace mm::memory
