// The question-and-answer record: one struct and one JSON schema for a question asked
// about a document and its answer, used by the command line (`memmamba ask`) and by the
// reader (its Q&A history), and kept in the library (storage's answers table).
//
// JSON (format 2; docs/memory.md "The question-and-answer record"):
//   {"format": 2, "doc": 1, "ask_id": -1, "question": "...", "answer": "...",
//    "support": null | {"text": "...", "char_start": N, "char_end": N},
//    "evidence": [{"doc", "source": "note"|"fulltext", "char_start", "char_end",
//                  "chapter": index (-1 before the first), "chapter_title", "page",
//                  "text", "weight", "layer" (null for fulltext), "token" (null for fulltext)}],
//    "as_of_char": N | -1 (the whole document), "position": tokens read | -1,
//    "chapter": index at the asked position, "chapter_title",
//    "model": {"fingerprint": "..."}, "asked_at_ms": N,
//    "timings": {"state_load_ms", "first_token_ms", "total_ms"},
//    "finished": bool, "cancelled": bool, "error": ""}
// Format 1 (written before this record existed) stored the evidence's chapter as an
// index (command line) or a title (reader), and the reader's ask id among the timings;
// QaHistory upgrades such rows when it opens a library, keeping every field.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mm::storage {
class Database;
}  // namespace mm::storage

namespace mm::memory {

struct AskResult;
struct MemoryContext;

constexpr int kQaRecordFormat = 2;

struct QaEvidence {
    int64_t docId = 0;
    std::string source;        ///< "note" or "fulltext"
    int64_t charStart = 0;     ///< code points of the document's text
    int64_t charEnd = 0;
    int chapter = -1;          ///< index of the chapter holding charStart; -1 before the first
    std::string chapterTitle;
    int page = -1;             ///< where the format has pages, else -1
    std::string text;
    double weight = 0;         ///< note: attention weight; fulltext: rank score
    int layer = -1;            ///< note: its pool's layer
    int64_t token = -1;        ///< note: the noted token
};

/// The sentence an answer rests on.
struct QaSupport {
    std::string text;
    int64_t charStart = 0;
    int64_t charEnd = 0;
};

struct QaTimings {
    double stateLoadMs = -1;
    double firstTokenMs = -1;
    double totalMs = -1;
};

struct QaRecord {
    int64_t id = 0;            ///< the history's row; 0 until stored
    int64_t askId = -1;        ///< the reader's id of the question; -1 from the command line
    int64_t docId = 0;
    std::string question;
    std::string answer;
    std::optional<QaSupport> support;
    std::vector<QaEvidence> evidence;
    int64_t asOfChar = -1;     ///< answered as of this code point; -1: the whole document
    int64_t position = -1;     ///< tokens of the document read before the question; -1: not known
    int chapter = -1;          ///< the chapter at the asked position
    std::string chapterTitle;
    std::string modelFingerprint;  ///< the model that answered (ModelInfo::fingerprint); "" when not known
    int64_t askedAtMs = 0;     ///< ms since the epoch, UTC; 0: now, when stored
    QaTimings timings;
    bool finished = false;
    bool cancelled = false;
    std::string error;         ///< non-empty when the answer failed
};

nlohmann::json toJson(const QaEvidence& e);
nlohmann::json toJson(const QaRecord& r);
/// Reads format 2, and format 1's evidence (chapter as index or title).
QaEvidence qaEvidenceFromJson(const nlohmann::json& j);
QaRecord qaRecordFromJson(const nlohmann::json& j);

/// The record of an answer (finished) with the chapters of its evidence and position.
QaRecord qaRecordOf(MemoryContext& memory, int64_t docId, const std::string& question, bool wholeDocument,
                    const AskResult& answer);

/// A library's Q&A history. Opening it upgrades rows of an older format (chapter indices
/// and titles from the document's chapters; the rest kept as it was).
class QaHistory {
public:
    explicit QaHistory(storage::Database& db);
    /// Stores a new record (id 0; returns its id) or replaces the one with that id.
    int64_t save(const QaRecord& record);
    /// The document's records, oldest first.
    std::vector<QaRecord> records(int64_t docId) const;
    /// Rows upgraded when this history was opened.
    int upgraded() const { return m_upgraded; }

private:
    storage::Database& m_db;
    int m_upgraded = 0;
};

}  // namespace mm::memory
