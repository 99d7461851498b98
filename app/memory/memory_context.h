// What every job of the memory library works on: one library connection, the loaded
// model and tokenizer, and the reads they share (a document, its memory run, a stored
// block or checkpoint, a token position at a character). Inside the library only; the
// front ends use DocumentMemory (document_memory.h).
//
// Threading: one MemoryContext per thread (it holds a Database connection's reference);
// the model and tokenizer are shared and immutable.
#pragma once

#include "app/memory/errors.h"
#include "app/memory/stored_format.h"
#include "engine/engine.h"
#include "engine/tokenizer/tokenizer.h"
#include "storage/database.h"
#include "storage/memory_store.h"

#include <QString>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace mm::memory {

inline QString qstr(const std::string& s) { return QString::fromStdString(s); }

inline double msSince(const std::chrono::steady_clock::time_point& t0)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct MemoryContext {
    storage::Database& db;
    storage::MemoryStore store;
    const Model& model;
    const Tokenizer& tok;
    /// model fingerprint + "|" + tokenizer fingerprint: what a stored memory must match.
    std::string producer;
    std::string modelFingerprint;  ///< the model's alone (ModelInfo::fingerprint)
    int layers = 0, noteDim = 0;  ///< layers 0 for a notes-off model (nothing noted)
    int64_t noteChunk = 128;
    int poolSlots = 0;
    bool notes = true;
    bool cpu = true;

    MemoryContext(storage::Database& db, const Model& model, const Tokenizer& tokenizer);

    storage::DocumentRecord document(int64_t docId) const;
    /// The run of this producer, read at least in part. Throws StaleMemoryError (memory
    /// of another model or tokenizer) or MemoryError (not read yet); changes nothing.
    storage::MemoryRun requireMemory(int64_t docId) const;

    Block loadBlock(const storage::MemoryBlockRecord& r) const;
    /// Blocks of this producer overlapping tokens [from, to).
    std::vector<Block> blocksIn(int64_t docId, int64_t from, int64_t to) const;
    /// Throws StaleMemoryError (state of another model) or MemoryError (damaged).
    State loadCheckpoint(int64_t docId, const storage::CheckpointRecord& c) const;
    /// loadCheckpoint's second half, from the stored bytes already read: no database, so
    /// any thread may run it.
    State decodeCheckpoint(int64_t docId, const storage::CheckpointRecord& c, const QByteArray& blob) const;
    /// The state of the last loadable checkpoint at or before maxPos (span ends only, or
    /// ask checkpoints too). A damaged checkpoint (zstd, checksum, engine format) is
    /// skipped and counted, so the caller replays from an earlier one; memory of another
    /// model throws StaleMemoryError.
    State loadBest(int64_t docId, int64_t maxPos, bool spanEndsOnly, int64_t& pos, int& damaged) const;

    storage::CheckpointRecord checkpointRecord(const State& state, int64_t position, int64_t charOffset,
                                               const std::string& kind, int chapter) const;
    /// From the engine's state bytes (Model::saveState): zstd and SHA-256. Touches no
    /// model or database, so an ingest runs it on its storage thread.
    storage::CheckpointRecord checkpointRecord(const std::vector<uint8_t>& raw, int64_t position, int64_t charOffset,
                                               const std::string& kind, int chapter) const;

    static int chapterOf(const QVector<storage::ChapterRecord>& chapters, int64_t charOffset);
    std::string textAround(int64_t docId, int64_t from, int64_t to, int64_t chars, int64_t total) const;
    /// Token position reached after reading the characters [0, atChar).
    int64_t positionAt(int64_t docId, int64_t atChar, const storage::MemoryRun& run) const;
};

}  // namespace mm::memory
