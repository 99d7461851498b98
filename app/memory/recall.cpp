// See recall.h.
#include "app/memory/recall.h"

#include "app/memory/memory_context.h"

#include <algorithm>
#include <map>

namespace mm::memory {

Recalled recallState(MemoryContext& memory, int64_t docId, std::optional<int64_t> atChar)
{
    const auto t0 = std::chrono::steady_clock::now();
    Recalled r;
    const storage::DocumentRecord doc = memory.document(docId);
    r.atChar = atChar ? *atChar : doc.characters;
    const storage::MemoryRun run = memory.requireMemory(docId);
    const int64_t p = atChar ? memory.positionAt(docId, *atChar, run) : run.totalTokens;
    if (p > run.doneTokens)
        throw MemoryError("document " + std::to_string(docId) + " has been read only up to token " +
                          std::to_string(run.doneTokens) + " of " + std::to_string(run.totalTokens) +
                          ": resume reading with `memmamba ingest --doc " + std::to_string(docId) + "`");
    r.position = p;
    r.state = memory.loadBest(docId, p, false, r.checkpointPosition, r.damagedCheckpoints);
    r.stateLoadMs = msSince(t0);
    const auto t1 = std::chrono::steady_clock::now();
    std::vector<int32_t> replay;
    if (p > r.checkpointPosition)
        for (const Block& b : memory.blocksIn(docId, r.checkpointPosition, p))
            for (int64_t i = std::max(r.checkpointPosition, b.first); i < std::min(p, b.end()); ++i)
                replay.push_back(b.ids[size_t(i - b.first)]);
    if (!replay.empty()) {
        ReadOptions quiet;
        quiet.surprisal = false;
        quiet.importance = false;
        quiet.noteEvents = false;
        memory.model.read(r.state, replay, quiet);
    }
    r.replayedTokens = int64_t(replay.size());
    r.replayMs = msSince(t1);
    return r;
}

bool keepAskCheckpoint(MemoryContext& memory, int64_t docId, const Recalled& recalled)
{
    if (recalled.replayedTokens <= 0)
        return false;
    memory.store.addCheckpoint(docId,
                               memory.checkpointRecord(recalled.state, recalled.position, recalled.atChar, "ask", -1));
    memory.store.pruneCheckpoints(docId, qstr(memory.producer), QStringLiteral("ask"), kAskCheckpointsKept);
    return true;
}

int64_t prepareAt(MemoryContext& memory, int64_t docId, int64_t atChar)
{
    const Recalled r = recallState(memory, docId, atChar);
    keepAskCheckpoint(memory, docId, r);
    return r.position;
}

State checkpointState(MemoryContext& memory, int64_t docId, int64_t position)
{
    const CheckpointDecoder checkpoint = checkpointDecoder(memory, docId, position);
    return checkpoint.decode(memory.store.checkpointBlob(checkpoint.checkpointId));
}

CheckpointDecoder checkpointDecoder(MemoryContext& memory, int64_t docId, int64_t position)
{
    memory.requireMemory(docId);
    const auto cp = memory.store.checkpointAtOrBefore(docId, qstr(memory.producer), position);
    if (!cp || cp->position != position)
        throw MemoryError("no checkpoint at token " + std::to_string(position));
    return {cp->id, [context = &memory, docId, record = *cp](const QByteArray& blob) {
                return context->decodeCheckpoint(docId, record, blob);
            }};
}

int64_t tokenPositionAt(MemoryContext& memory, int64_t docId, int64_t atChar)
{
    return memory.positionAt(docId, atChar, memory.requireMemory(docId));
}

PoolHistory::PoolHistory(std::vector<Note> notes) : m_notes(std::move(notes))
{
    std::map<std::pair<int, int>, size_t> holder;  // (layer, slot) -> the note in it
    for (size_t i = 0; i < m_notes.size(); ++i) {
        const auto key = std::make_pair(m_notes[i].layer, m_notes[i].slot);
        if (const auto it = holder.find(key); it != holder.end())
            m_notes[it->second].evictedAt = m_notes[i].insertedAt;
        holder[key] = i;
    }
}

PoolHistory::At PoolHistory::at(int64_t position, int layer) const
{
    At out;
    std::map<std::pair<int, int>, size_t> held;  // (layer, slot) -> note
    for (size_t i = 0; i < m_notes.size(); ++i) {
        const Note& n = m_notes[i];
        if ((layer >= 0 && n.layer != layer) || n.insertedAt > position)
            continue;
        if (n.evictedAt >= 0 && n.evictedAt <= position) {
            out.evicted.push_back(i);
            continue;
        }
        held[{n.layer, n.slot}] = i;
    }
    out.held.reserve(held.size());
    for (const auto& [key, i] : held)
        out.held.push_back(i);
    return out;
}

}  // namespace mm::memory
