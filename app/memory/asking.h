// Answering a question about a document as of a reading position (spoiler-safe): the
// one entry point, answerQuestion(), and what it returns. The pipeline behind it is
// replaced by the answers work (docs/memory.md, "Asking"); callers see only this header.
//
// Asking changes nothing stored but a cache: the state at the asked position may be kept
// as an "ask" checkpoint (AskOptions::keepCheckpoint). It never changes a document's
// status; the Q&A history is written by the caller (qa_record.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mm::memory {

struct MemoryContext;

struct Evidence {
    int64_t docId = 0;
    int chapter = -1;            ///< index of the chapter holding it, -1 before the first
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

/// Answers as of options.atChar. Throws StaleMemoryError (memory of another model),
/// MemoryError (not read yet, read only up to an earlier position, corrupt checkpoint).
AskResult answerQuestion(MemoryContext& memory, int64_t docId, const std::string& question,
                         const AskOptions& options = {});

}  // namespace mm::memory
