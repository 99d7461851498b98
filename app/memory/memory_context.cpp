// See memory_context.h.
#include "app/memory/memory_context.h"

#include "engine/util/sha256.h"

#include <algorithm>
#include <cstring>

namespace mm::memory {

using storage::CheckpointRecord;
using storage::MemoryBlockRecord;

MemoryContext::MemoryContext(storage::Database& d, const Model& m, const Tokenizer& t)
    : db(d), store(d), model(m), tok(t)
{
    const ModelInfo info = m.info();
    producer = info.fingerprint + "|" + t.fingerprint();
    modelFingerprint = info.fingerprint;
    layers = int(info.config.n_layer);
    notes = info.config.notes;
    noteDim = int(info.config.note_dim);
    noteChunk = info.config.note_chunk;
    poolSlots = int(info.config.pool_slots);
    cpu = info.device.rfind("cuda", 0) != 0;
    if (!notes)
        layers = 0;
}

storage::DocumentRecord MemoryContext::document(int64_t docId) const
{
    const auto doc = db.document(docId);
    if (!doc)
        throw MemoryError("no document with id " + std::to_string(docId));
    return *doc;
}

storage::MemoryRun MemoryContext::requireMemory(int64_t docId) const
{
    const auto run = store.run(docId);
    if (!run || run->fingerprint != qstr(producer)) {
        const QStringList others = store.producers(docId);
        if (!others.isEmpty() && !others.contains(qstr(producer))) {
            throw StaleMemoryError("document " + std::to_string(docId) + " was read by another model (" +
                                   others.front().left(16).toStdString() + "...), not this one (" +
                                   producer.substr(0, 16) + "...): its memory cannot be used; read it again with "
                                   "`memmamba ingest --doc " + std::to_string(docId) + "`");
        }
        throw MemoryError("document " + std::to_string(docId) +
                          " has not been read by the model yet: run `memmamba ingest --doc " +
                          std::to_string(docId) + "`");
    }
    if (run->doneTokens == 0)
        throw MemoryError("document " + std::to_string(docId) + " has not been read by the model yet: run "
                          "`memmamba ingest --doc " + std::to_string(docId) + "`");
    return *run;
}

Block MemoryContext::loadBlock(const MemoryBlockRecord& r) const
{
    const std::string what = "memory block at token " + std::to_string(r.firstPosition) + " of document " +
                             std::to_string(r.docId);
    const std::vector<uint8_t> raw = decompress(r.data, r.rawBytes, what);
    if (sha256Hex(raw.data(), raw.size()) != r.checksum.toStdString())
        throw MemoryError(what + " fails its checksum");
    return decodeBlock(raw, what);
}

std::vector<Block> MemoryContext::blocksIn(int64_t docId, int64_t from, int64_t to) const
{
    std::vector<Block> out;
    for (const MemoryBlockRecord& r : store.blocks(docId, qstr(producer), from, to))
        out.push_back(loadBlock(r));
    return out;
}

State MemoryContext::loadCheckpoint(int64_t docId, const CheckpointRecord& c) const
{
    return decodeCheckpoint(docId, c, store.checkpointBlob(c.id));
}

State MemoryContext::decodeCheckpoint(int64_t docId, const CheckpointRecord& c, const QByteArray& blob) const
{
    const std::string what = "checkpoint at token " + std::to_string(c.position) + " of document " +
                             std::to_string(docId);
    const std::vector<uint8_t> raw = decompress(blob, c.rawBytes, what);
    if (sha256Hex(raw.data(), raw.size()) != c.checksum.toStdString())
        throw MemoryError(what + " fails its checksum (the library file is damaged); read the document again");
    try {
        return model.loadState(raw);
    } catch (const LoadError& e) {
        if (e.kind() == LoadErrorKind::ModelMismatch || e.kind() == LoadErrorKind::TokenizerMismatch)
            throw StaleMemoryError(what + ": " + e.what() + "; read the document again with `memmamba ingest --doc " +
                                   std::to_string(docId) + "`");
        throw MemoryError(what + ": " + e.what());
    }
}

State MemoryContext::loadBest(int64_t docId, int64_t maxPos, bool spanEndsOnly, int64_t& pos, int& damaged) const
{
    const QVector<CheckpointRecord> cps = store.checkpoints(docId, qstr(producer));
    for (auto it = cps.rbegin(); it != cps.rend(); ++it) {
        if (it->position > maxPos || (spanEndsOnly && it->kind == QStringLiteral("ask")))
            continue;
        try {
            State s = loadCheckpoint(docId, *it);
            pos = it->position;
            return s;
        } catch (const StaleMemoryError&) {
            throw;
        } catch (const MemoryError&) {
            ++damaged;
        }
    }
    pos = 0;
    return model.newState();
}

CheckpointRecord MemoryContext::checkpointRecord(const State& state, int64_t position, int64_t charOffset,
                                                 const std::string& kind, int chapter) const
{
    return checkpointRecord(model.saveState(state), position, charOffset, kind, chapter);
}

CheckpointRecord MemoryContext::checkpointRecord(const std::vector<uint8_t>& raw, int64_t position,
                                                 int64_t charOffset, const std::string& kind, int chapter) const
{
    CheckpointRecord c;
    c.fingerprint = qstr(producer);
    c.position = position;
    c.charOffset = charOffset;
    c.kind = qstr(kind);
    c.chapterIndex = chapter;
    uint32_t stateVersion = 0;
    if (raw.size() >= 12)
        std::memcpy(&stateVersion, raw.data() + 8, 4);
    c.formatVersion = int(stateVersion);
    c.codec = QStringLiteral("zstd");
    c.rawBytes = int64_t(raw.size());
    c.checksum = qstr(sha256Hex(raw.data(), raw.size()));
    c.blob = compress(raw);
    return c;
}

int MemoryContext::chapterOf(const QVector<storage::ChapterRecord>& chapters, int64_t charOffset)
{
    int ch = -1;
    for (const auto& c : chapters)
        if (c.charOffset <= charOffset)
            ch = c.index;
    return ch;
}

std::string MemoryContext::textAround(int64_t docId, int64_t from, int64_t to, int64_t chars, int64_t total) const
{
    const int64_t a = std::max<int64_t>(0, from - chars), b = std::min<int64_t>(total, to + chars);
    return db.documentText(docId, a, b).toStdString();
}

int64_t MemoryContext::positionAt(int64_t docId, int64_t atChar, const storage::MemoryRun& run) const
{
    const auto doc = document(docId);
    if (atChar < 0 || atChar > doc.characters)
        throw MemoryError("position " + std::to_string(atChar) + " is outside document " + std::to_string(docId) +
                          " (0.." + std::to_string(doc.characters) + " characters)");
    if (atChar >= doc.characters)
        return run.totalTokens;
    const auto rec = store.blockAtChar(docId, qstr(producer), atChar);
    if (!rec)
        return 0;
    const Block b = loadBlock(*rec);
    if (atChar >= b.charEnd && b.end() < run.totalTokens)
        return run.doneTokens + 1;  // beyond what has been read (the caller refuses it)
    const auto it = std::lower_bound(b.charStarts.begin(), b.charStarts.end(), atChar);
    return b.first + int64_t(it - b.charStarts.begin());
}

}  // namespace mm::memory
