// The model's memory of the library's documents: the piece that joins the engine
// (engine/engine.h, torch-free) and storage (storage/memory_store.h, model-agnostic).
// Used by the command line (ingest, ask, notes, search) and by the GUI.
//
// A document is read ("ingested") once: its stored text is tokenized with character
// spans and read through the engine in spans that end at every chapter start, every
// checkpointEvery tokens and at the end; each span is committed in one transaction as a
// memory block (token ids, char offsets, surprisal and importance quantised to bytes,
// note events with their summaries) plus the state checkpoint at its end (zstd,
// SHA-256). A killed ingest resumes from its last checkpoint and, because spans and the
// engine's segments are the same, ends in bit-identical state.
//
// Threading: one DocumentMemory per thread (it holds a Database connection's reference).
// Errors: MemoryError (one line naming the problem); StaleMemoryError when the stored
// memory was made by another model or tokenizer (the document is then marked "stale" and
// must be read again). Nothing already stored is lost by any error.
#pragma once

#include "engine/engine.h"
#include "engine/tokenizer/tokenizer.h"
#include "storage/database.h"
#include "storage/memory_store.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mm::memory {

class MemoryError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The stored memory belongs to another model or tokenizer (status "stale").
class StaleMemoryError : public MemoryError {
public:
    using MemoryError::MemoryError;
};

/// Version of the memory block and checkpoint containers (not of the engine's state
/// format, which the state bytes carry themselves).
constexpr int kBlockFormatVersion = 1;
constexpr int kCheckpointContainerVersion = 1;

struct IngestProgress {
    int64_t done = 0;         ///< tokens read (committed or not)
    int64_t total = 0;
    int64_t committed = 0;    ///< tokens up to the last checkpoint
    double tokensPerSecond = 0;
    double etaSeconds = 0;
};

struct IngestOptions {
    int64_t checkpointEvery = 16384;  ///< at most this many tokens between checkpoints
    /// Engine segment: cancel and progress are checked between segments. 0: 512 on the
    /// CPU (about 0.2-0.5 s on 2 cores), the engine's device default on CUDA (65,536).
    int64_t segmentTokens = 0;
    const std::atomic<bool>* cancel = nullptr;  ///< honoured between segments
    std::function<void(const IngestProgress&)> onProgress;
    /// Store each span (zstd, SHA-256, SQLite commit) on a storage thread while the next
    /// span is read. None: on with CUDA (storing costs as much as reading there), off on
    /// the CPU (reading is 99% of the time). Same stored bytes either way.
    std::optional<bool> overlapStorage;
};

struct IngestResult {
    int64_t docId = 0;
    int64_t tokens = 0;          ///< the document's tokens
    int64_t resumedFrom = 0;     ///< position of the checkpoint the run continued from
    int64_t readTokens = 0;      ///< read by this call
    bool cancelled = false;
    bool alreadyRead = false;    ///< the memory was complete: nothing to do
    double seconds = 0;          ///< whole call
    double readSeconds = 0;      ///< inside the engine's read()
    double tokenizeSeconds = 0;  ///< tokenizing the text with character spans
    double storeSeconds = 0;     ///< storing spans (encode, zstd, SHA-256, commit), overlapped with reading or not
    double longestSpanSeconds = 0;  ///< the slowest span's read (cancel waits at most this, plus one commit)
    int64_t checkpoints = 0;     ///< stored for the document now
    int damagedCheckpoints = 0;  ///< skipped (corrupt): read again from an earlier one
    storage::MemoryUsage usage;
};

struct Evidence {
    int64_t docId = 0;
    int chapter = -1;
    int64_t charStart = 0;
    int64_t charEnd = 0;
    std::string text;
    std::string source;          ///< "note" or "fulltext"
    int layer = -1;              ///< the pool the note was in; -1 for fulltext
    double weight = 0;           ///< note: attention weight (mean over answer tokens); fulltext: score
    int64_t tokenPosition = -1;  ///< note: the noted token
};

struct AskOptions {
    std::optional<int64_t> atChar;  ///< answer as of this code point (spoiler-safe); none: the end
    int32_t maxTokens = 48;
    int evidenceNotes = 5;
    int fulltextHits = 3;
    /// Streaming: called with each new piece of the answer's text (UTF-8, complete
    /// characters); return false to stop the answer there.
    std::function<bool(const std::string& piece)> onText;
    const std::atomic<bool>* cancel = nullptr;  ///< stops generation between tokens
    /// Store the state at the asked position as a checkpoint (kind "ask") when it had to
    /// be replayed, so a follow-up question there loads it without replaying (written
    /// after the answer: it does not delay the first token).
    bool keepCheckpoint = true;
};

struct AskResult {
    std::string answer;
    std::vector<int32_t> answerTokens;
    std::vector<Evidence> evidence;
    int64_t position = 0;        ///< tokens of the document read before the question
    int64_t atChar = 0;
    int64_t checkpointPosition = 0;
    int64_t replayedTokens = 0;
    bool checkpointStored = false;  ///< a checkpoint of kind "ask" was stored at position
    int damagedCheckpoints = 0;     ///< skipped (corrupt): replayed from an earlier one
    double stateLoadMs = 0;
    double replayMs = 0;
    double questionMs = 0;       ///< reading the prompt (<q> question <a>)
    double firstTokenMs = 0;     ///< state load + replay + question + first answer token
    double totalMs = 0;
};

struct PoolNote {
    int slot = 0;
    int layer = 0;
    int64_t position = 0;        ///< the noted token
    float score = 0;
    int64_t insertedAt = 0;      ///< tokens read when it entered the pool (its chunk's end)
    int64_t evictedAt = -1;      ///< tokens read when it left; -1: still there (at the position asked)
    int64_t charStart = 0;       ///< the token's characters
    int64_t charEnd = 0;
    int chapter = -1;
    std::string context;         ///< text around the token
    std::vector<float> summary;  ///< dequantised (int8 + scale per note)
};

struct NotesView {
    int64_t position = 0;        ///< tokens read at the char position asked
    int64_t atChar = 0;
    int layer = 0;
    std::vector<PoolNote> entries; ///< by slot
    /// Notes of the layer that entered the pool and left it at or before the position
    /// (evictedAt: the end of the chunk whose note replaced it), oldest first.
    std::vector<PoolNote> evicted;
};

/// Everything a memory map draws for one document (the part committed so far).
struct MemoryMap {
    int64_t docId = 0;
    int layers = 0;
    int poolSlots = 0;
    int64_t noteChunk = 0;
    int64_t textLength = 0;               ///< code points
    int64_t totalTokens = 0;              ///< of the whole document (tokenChars may be shorter while reading)
    std::vector<int64_t> tokenChars;      ///< first code point of each token read
    std::vector<float> surprisal;         ///< nats, 1/16 resolution, NaN for none
    std::vector<std::vector<float>> importance;  ///< [layer][token], 1/255 resolution
    std::vector<NoteEvent> notes;         ///< every insertion in order (summary empty)
    std::vector<int64_t> noteInsertedAt;  ///< tokens read when each note entered its pool
    std::vector<std::pair<int64_t, std::string>> chapters;  ///< char offset, title
};

struct MemorySearchHit {
    int64_t docId = 0;
    int64_t passageId = 0;
    int chapter = -1;
    int64_t charStart = 0;
    int64_t charEnd = 0;
    std::string text;            ///< the passage
    std::vector<std::string> sources;  ///< "fulltext" and/or "note"
    int fulltextRank = 0;        ///< 1-based, 0: not found there
    int noteRank = 0;
    int64_t notePosition = -1;   ///< best note's token
    int noteLayer = -1;
    double score = 0;            ///< reciprocal rank fusion: sum of 1 / (60 + rank)
};

/// Memory status of a document for this model: what the GUI shows and what `ask` needs.
struct MemoryStatus {
    std::string state;           ///< "none", "reading", "ready", "stale"
    int64_t doneTokens = 0;
    int64_t totalTokens = 0;
    std::string producer;        ///< who made the stored memory ("" for none)
};

/// Tokenizer::encodeWithSpans of a long text on several threads: the text is cut at
/// newlines into pieces of at least minPieceBytes (at most one per hardware thread), each
/// encoded on its own and the spans shifted back. The tokenizer is line-canonical
/// (encode(a + "\n" + b) = encode(a), <0x0A>, encode(b)), so the result is identical.
std::vector<TokenSpan> encodeWithSpansParallel(const Tokenizer& tokenizer, std::string_view text,
                                               size_t minPieceBytes = size_t(1) << 16);

/// Pays a fresh process's one-time device costs (CUDA context, cuBLAS handles, kernel
/// loading, the allocator's first blocks) with a short read and generation on a scratch
/// state, so that the first ingest span or question does not. Does nothing on the CPU
/// (returns 0). Returns the milliseconds it took (report it with model loading).
double warmUp(const Model& model, const Tokenizer& tokenizer);

class DocumentMemory {
public:
    DocumentMemory(storage::Database& db, const Model& model, const Tokenizer& tokenizer);
    ~DocumentMemory();

    /// model fingerprint + "|" + tokenizer fingerprint: what a stored memory must match.
    const std::string& producer() const;

    MemoryStatus status(int64_t docId) const;
    /// Reads the document (or continues a killed or cancelled run). Throws MemoryError.
    IngestResult ingest(int64_t docId, const IngestOptions& options = {});
    /// Answers as of options.atChar. Throws StaleMemoryError (memory of another model:
    /// the document is marked "stale"), MemoryError (not read yet, read only up to an
    /// earlier position, corrupt checkpoint).
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
    /// "ask" checkpoints kept per document (the newest; each about 0.5 MB).
    static constexpr int kAskCheckpointsKept = 16;
    /// The state of the checkpoint stored at exactly this token position (tests, tools).
    State checkpointState(int64_t docId, int64_t position);
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

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

}  // namespace mm::memory
