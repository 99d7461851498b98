// Queries over a document's stored memory that need no model run: the memory map (every
// token's offsets, surprisal and importance, every note), the timeline of a layer's
// notes, the pool at a position with the notes' text, and memory search (full text and
// notes merged).
#pragma once

#include "engine/engine.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mm::memory {

struct MemoryContext;

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

/// Tokens, offsets, surprisal, importance and note events as stored (memory map).
MemoryMap memoryMap(MemoryContext& memory, int64_t docId);
/// Every note of a layer ever inserted, with inserted/evicted positions (memory map).
std::vector<PoolNote> noteTimeline(MemoryContext& memory, int64_t docId, int layer, bool withContext = false);
/// Layer's pool as it stood at atChar (none: the end), rebuilt from the stored note
/// events (PoolHistory, recall.h).
NotesView notesAt(MemoryContext& memory, int64_t docId, int layer, std::optional<int64_t> atChar,
                  int contextChars = 60);
/// Full-text and note hits merged by reciprocal rank fusion; docId < 0: all documents
/// this model has read.
std::vector<MemorySearchHit> searchMemory(MemoryContext& memory, const std::string& query, int64_t docId = -1,
                                          int limit = 10);

}  // namespace mm::memory
