// Recall: what the model held at a reading position. The state there (the nearest
// stored checkpoint at or before it, then the tokens after it read again) and the note
// pools there (rebuilt from the stored note events, PoolHistory: the one place pools are
// rebuilt, for the command line's `notes` and the reader's pools alike).
#pragma once

#include "engine/engine.h"

#include <QByteArray>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace mm::memory {

struct MemoryContext;

/// "ask" checkpoints kept per document (the newest; each about 0.5 MB).
constexpr int kAskCheckpointsKept = 16;

/// A stored checkpoint found, its bytes not read yet: the row to read them from
/// (storage::MemoryStore::checkpointBlob) and what turns them into the state.
struct CheckpointDecoder {
    int64_t checkpointId = 0;
    std::function<State(const QByteArray&)> decode;
};

/// The state after reading a document up to a position, and how it was got there.
struct Recalled {
    State state;
    int64_t atChar = 0;              ///< the character position asked (the text's end when none)
    int64_t position = 0;            ///< tokens of the document read
    int64_t checkpointPosition = 0;  ///< the checkpoint it started from
    int64_t replayedTokens = 0;      ///< read again after it
    int damagedCheckpoints = 0;      ///< skipped (corrupt): replayed from an earlier one
    double stateLoadMs = 0;
    double replayMs = 0;
};

/// The state after reading the document up to the token covering atChar (none: the
/// end): nearest checkpoint, then replay. Throws StaleMemoryError (memory of another
/// model), MemoryError (not read yet, read only up to an earlier position). Stores
/// nothing.
Recalled recallState(MemoryContext& memory, int64_t docId, std::optional<int64_t> atChar);

/// Stores the recalled state as an "ask" checkpoint when it had to be replayed, so that
/// the next recall there loads it (keeps the newest kAskCheckpointsKept). A cache of the
/// memory, not a change to it.
bool keepAskCheckpoint(MemoryContext& memory, int64_t docId, const Recalled& recalled);

/// Makes the first question at atChar fast: recallState, then keepAskCheckpoint.
/// Returns the token position.
int64_t prepareAt(MemoryContext& memory, int64_t docId, int64_t atChar);

/// The state of the checkpoint stored at exactly this token position (tests, tools).
State checkpointState(MemoryContext& memory, int64_t docId, int64_t position);
/// checkpointState in two halves: finds the checkpoint now (the context's database, this
/// thread) and returns its id and what decodes its stored bytes into the state (no
/// database: any thread, while the context lives), so that the bytes can be read elsewhere.
CheckpointDecoder checkpointDecoder(MemoryContext& memory, int64_t docId, int64_t position);

/// Token position reached after the characters [0, atChar) (tokens starting before it).
int64_t tokenPositionAt(MemoryContext& memory, int64_t docId, int64_t atChar);

/// Every note a reading inserted, with the token count at which it entered its pool and
/// at which it left (the next note written to its slot entered), so the pools as they
/// stood after any position are a filter, not a replay.
class PoolHistory {
public:
    struct Note {
        int layer = 0;
        int slot = 0;
        int64_t position = 0;     ///< the noted token
        float score = 0;
        int64_t insertedAt = 0;   ///< tokens read when it entered (its note chunk's end)
        int64_t evictedAt = -1;   ///< tokens read when it left; -1: never (so far)
    };
    struct At {
        std::vector<size_t> held;     ///< indices into notes(), by layer then slot
        std::vector<size_t> evicted;  ///< entered and left at or before the position, in order per layer
    };

    PoolHistory() = default;
    /// Notes in the order the reading inserted them within each layer (blocks store them
    /// so); evictedAt is filled here.
    explicit PoolHistory(std::vector<Note> notes);

    const std::vector<Note>& notes() const { return m_notes; }
    /// The pools after `position` tokens were read; layer < 0: every layer.
    At at(int64_t position, int layer = -1) const;

private:
    std::vector<Note> m_notes;
};

}  // namespace mm::memory
