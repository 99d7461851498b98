// Reading a document into memory (ingest), with checkpoints, and resuming a killed or
// cancelled reading.
//
// The stored text is tokenized with character spans and read through the engine in
// spans that end at every chapter start, every checkpointEvery tokens and at the end;
// each span is committed in one transaction as a memory block (token ids, char offsets,
// surprisal and importance quantised to bytes, note events with their summaries; the
// format is in stored_format.h) plus the state checkpoint at its end (zstd, SHA-256). A
// killed ingest resumes from its last checkpoint and, because spans and the engine's
// segments are the same, ends in bit-identical state.
#pragma once

#include "storage/memory_store.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

namespace mm {
class Tokenizer;
struct TokenSpan;
}  // namespace mm

namespace mm::memory {

struct MemoryContext;

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

/// Reads the document (or continues a killed or cancelled run). Throws MemoryError.
IngestResult readDocument(MemoryContext& memory, int64_t docId, const IngestOptions& options);

/// Tokenizer::encodeWithSpans of a long text on several threads: the text is cut at
/// newlines into pieces of at least minPieceBytes (at most one per hardware thread), each
/// encoded on its own and the spans shifted back. The tokenizer is line-canonical
/// (encode(a + "\n" + b) = encode(a), <0x0A>, encode(b)), so the result is identical.
std::vector<TokenSpan> encodeWithSpansParallel(const Tokenizer& tokenizer, std::string_view text,
                                               size_t minPieceBytes = size_t(1) << 16);

}  // namespace mm::memory
