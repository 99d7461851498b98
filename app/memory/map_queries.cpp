// See map_queries.h.
#include "app/memory/map_queries.h"

#include "app/memory/memory_context.h"
#include "app/memory/recall.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace mm::memory {

namespace {

// The pool history of one layer's timeline (notes in insertion order).
PoolHistory historyOf(const std::vector<PoolNote>& timeline)
{
    std::vector<PoolHistory::Note> notes;
    notes.reserve(timeline.size());
    for (const PoolNote& n : timeline)
        notes.push_back({n.layer, n.slot, n.position, n.score, n.insertedAt, -1});
    return PoolHistory(std::move(notes));
}

}  // namespace

MemoryMap memoryMap(MemoryContext& memory, int64_t docId)
{
    const storage::MemoryRun run = memory.requireMemory(docId);
    const auto doc = memory.document(docId);
    MemoryMap m;
    m.docId = docId;
    m.layers = memory.layers;
    m.poolSlots = memory.poolSlots;
    m.noteChunk = memory.noteChunk;
    m.textLength = doc.characters;
    m.totalTokens = run.totalTokens;
    m.importance.assign(size_t(memory.layers), {});
    for (const Block& b : memory.blocksIn(docId, 0, std::numeric_limits<int64_t>::max())) {
        m.tokenChars.insert(m.tokenChars.end(), b.charStarts.begin(), b.charStarts.end());
        m.surprisal.insert(m.surprisal.end(), b.surprisal.begin(), b.surprisal.end());
        for (int l = 0; l < memory.layers; ++l)
            m.importance[size_t(l)].insert(m.importance[size_t(l)].end(), b.importance[size_t(l)].begin(),
                                           b.importance[size_t(l)].end());
        for (const StoredNote& n : b.notes) {
            m.notes.push_back({n.layer, n.position, n.score, n.slot, n.evictedPosition, {}});
            m.noteInsertedAt.push_back(n.insertedAt);
        }
    }
    for (const auto& c : memory.db.chapters(docId))
        m.chapters.emplace_back(c.charOffset, c.title.toStdString());
    return m;
}

std::vector<PoolNote> noteTimeline(MemoryContext& memory, int64_t docId, int layer, bool withContext)
{
    memory.requireMemory(docId);
    if (layer < 0 || layer >= memory.layers)
        throw MemoryError("layer " + std::to_string(layer) + " outside 0.." + std::to_string(memory.layers - 1));
    std::vector<PoolNote> out;
    std::vector<Block> blocks = memory.blocksIn(docId, 0, std::numeric_limits<int64_t>::max());
    for (const Block& b : blocks)
        for (const StoredNote& n : b.notes) {
            if (n.layer != layer)
                continue;
            PoolNote pn;
            pn.slot = n.slot;
            pn.layer = n.layer;
            pn.position = n.position;
            pn.score = n.score;
            pn.insertedAt = n.insertedAt;
            pn.summary = dequantise(n);
            out.push_back(std::move(pn));
        }
    const PoolHistory history = historyOf(out);
    for (size_t i = 0; i < out.size(); ++i)
        out[i].evictedAt = history.notes()[i].evictedAt;
    // Char offsets of the noted tokens (the block holding each position).
    const auto doc = memory.document(docId);
    const QVector<storage::ChapterRecord> chapters = memory.db.chapters(docId);
    for (PoolNote& n : out) {
        const auto b = std::upper_bound(blocks.begin(), blocks.end(), n.position,
                                        [](int64_t p, const Block& blk) { return p < blk.first; });
        if (b == blocks.begin())
            continue;
        const Block& blk = *(b - 1);
        if (n.position >= blk.end())
            continue;
        const size_t i = size_t(n.position - blk.first);
        n.charStart = blk.charStarts[i];
        n.charEnd = blk.tokenCharEnd(i);
        n.chapter = memory.chapterOf(chapters, n.charStart);
        if (withContext)
            n.context = memory.textAround(docId, n.charStart, n.charEnd, 60, doc.characters);
    }
    return out;
}

NotesView notesAt(MemoryContext& memory, int64_t docId, int layer, std::optional<int64_t> atChar, int contextChars)
{
    const storage::MemoryRun run = memory.requireMemory(docId);
    NotesView v;
    v.layer = layer;
    const auto doc = memory.document(docId);
    v.atChar = atChar ? *atChar : doc.characters;
    v.position = atChar ? memory.positionAt(docId, *atChar, run) : run.doneTokens;
    if (v.position > run.doneTokens)
        throw MemoryError("document " + std::to_string(docId) + " has been read only up to token " +
                          std::to_string(run.doneTokens));
    std::vector<PoolNote> timeline = noteTimeline(memory, docId, layer, false);
    const PoolHistory::At at = historyOf(timeline).at(v.position, layer);
    for (size_t i : at.evicted)
        v.evicted.push_back(std::move(timeline[i]));
    for (size_t i : at.held) {
        PoolNote& n = timeline[i];
        n.evictedAt = -1;
        n.context = memory.textAround(docId, n.charStart, n.charEnd, contextChars,
                                      std::min<int64_t>(doc.characters, v.atChar));
        v.entries.push_back(std::move(n));
    }
    return v;
}

std::vector<MemorySearchHit> searchMemory(MemoryContext& memory, const std::string& query, int64_t docId, int limit)
{
    constexpr double kRrf = 60;
    const int depth = std::max(limit * 3, 30);
    std::map<int64_t, MemorySearchHit> byPassage;  // passage id -> hit
    auto hitFor = [&](int64_t doc, const storage::PassageRecord& pr) -> MemorySearchHit& {
        MemorySearchHit& h = byPassage[pr.id];
        if (h.passageId == 0) {
            h.docId = doc;
            h.passageId = pr.id;
            h.chapter = pr.chapterIndex;
            h.charStart = pr.charStart;
            h.charEnd = pr.charEnd;
            h.text = pr.text.toStdString();
        }
        return h;
    };
    // Full text.
    int rank = 0;
    for (const storage::SearchHit& s : memory.db.search(qstr(query), depth, docId)) {
        storage::PassageRecord pr;
        pr.id = s.passageId;
        pr.chapterIndex = s.chapterIndex;
        pr.charStart = s.charStart;
        pr.charEnd = s.charEnd;
        pr.text = s.text;
        MemorySearchHit& h = hitFor(s.docId, pr);
        h.fulltextRank = ++rank;
        h.sources.push_back("fulltext");
        h.score += 1.0 / (kRrf + rank);
    }
    // Notes: every note ever inserted by this model in the documents, scored by the
    // query's per-layer vector in summary space (Model::noteQuery).
    const std::vector<std::vector<float>> u = memory.model.noteQuery(memory.tok.encode(query));
    if (!u.empty()) {
        std::vector<int64_t> docs;
        if (docId >= 0)
            docs.push_back(docId);
        else
            for (const auto& doc : memory.db.documents())
                docs.push_back(doc.id);
        struct Scored {
            double score;
            int64_t doc;
            int layer;
            int64_t position;
            int64_t charStart;
        };
        std::vector<Scored> scored;
        for (int64_t doc : docs) {
            const auto run = memory.store.run(doc);
            if (!run || run->fingerprint != qstr(memory.producer))
                continue;
            std::map<std::pair<int, int64_t>, bool> seen;
            for (const Block& b : memory.blocksIn(doc, 0, std::numeric_limits<int64_t>::max()))
                for (const StoredNote& n : b.notes) {
                    if (n.layer >= int(u.size()) || seen[{n.layer, n.position}])
                        continue;
                    seen[{n.layer, n.position}] = true;
                    const std::vector<float>& ul = u[size_t(n.layer)];
                    double dot = 0, norm = 0;
                    for (size_t i = 0; i < ul.size() && i < n.q.size(); ++i) {
                        dot += double(ul[i]) * n.q[i];
                        norm += double(ul[i]) * ul[i];
                    }
                    // Per-layer query norms differ: rank by the cosine-like projection.
                    const double s = norm > 0 ? dot * n.scale / 127.0 / std::sqrt(norm) : 0;
                    scored.push_back({s, doc, n.layer, n.position, -1});
                }
        }
        std::sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) { return a.score > b.score; });
        std::map<int64_t, QVector<storage::PassageRecord>> passagesOf;
        int noteRank = 0;
        std::map<int64_t, bool> passageSeen;
        for (const Scored& s : scored) {
            if (noteRank >= depth)
                break;
            const auto blocks = memory.blocksIn(s.doc, s.position, s.position + 1);
            if (blocks.empty())
                continue;
            const int64_t c = blocks.front().charStarts[size_t(s.position - blocks.front().first)];
            auto& passages = passagesOf[s.doc];
            if (passages.isEmpty())
                passages = memory.db.passages(s.doc);
            const auto it = std::upper_bound(passages.begin(), passages.end(), c,
                                             [](int64_t x, const storage::PassageRecord& p) { return x < p.charStart; });
            if (it == passages.begin())
                continue;
            const storage::PassageRecord& pr = *(it - 1);
            if (passageSeen[pr.id])
                continue;  // a passage ranks once, by its best note
            passageSeen[pr.id] = true;
            MemorySearchHit& h = hitFor(s.doc, pr);
            h.noteRank = ++noteRank;
            h.notePosition = s.position;
            h.noteLayer = s.layer;
            h.sources.push_back("note");
            h.score += 1.0 / (kRrf + noteRank);
        }
    }
    std::vector<MemorySearchHit> out;
    for (auto& [id, h] : byPassage)
        out.push_back(std::move(h));
    std::sort(out.begin(), out.end(), [](const MemorySearchHit& a, const MemorySearchHit& b) {
        return a.score > b.score || (a.score == b.score && a.passageId < b.passageId);
    });
    if (int(out.size()) > limit)
        out.resize(size_t(std::max(0, limit)));
    return out;
}

}  // namespace mm::memory
