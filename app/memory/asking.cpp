// See asking.h. Today's pipeline: the state at the position, the prompt
// <q> question <a> read with pool attention, greedy generation; evidence from the notes
// the answer attended to and from full-text hits before the position.
#include "app/memory/asking.h"

#include "app/memory/memory_context.h"
#include "app/memory/recall.h"

#include <algorithm>
#include <map>

namespace mm::memory {

AskResult answerQuestion(MemoryContext& memory, int64_t docId, const std::string& question, const AskOptions& options)
{
    const auto t0 = std::chrono::steady_clock::now();
    AskResult r;
    const storage::DocumentRecord doc = memory.document(docId);
    // State: checkpoint + replay.
    Recalled recalled = recallState(memory, docId, options.atChar);
    r.atChar = recalled.atChar;
    r.position = recalled.position;
    r.checkpointPosition = recalled.checkpointPosition;
    r.replayedTokens = recalled.replayedTokens;
    r.damagedCheckpoints = recalled.damagedCheckpoints;
    r.stateLoadMs = recalled.stateLoadMs;
    r.replayMs = recalled.replayMs;
    const int64_t p = recalled.position;
    State& state = recalled.state;
    // Kept for the "ask" checkpoint, written after the answer.
    Recalled atPosition;
    if (options.keepCheckpoint && recalled.replayedTokens > 0) {
        atPosition.state = state.clone();
        atPosition.atChar = recalled.atChar;
        atPosition.position = recalled.position;
        atPosition.replayedTokens = recalled.replayedTokens;
    }
    ReadOptions quiet;
    quiet.surprisal = false;
    quiet.importance = false;
    quiet.noteEvents = false;

    // Prompt: <q> question <a> (docs/memory.md), then greedy generation.
    std::vector<int32_t> prompt{memory.tok.questionId()};
    const std::vector<int32_t> qIds = memory.tok.encode(question);
    prompt.insert(prompt.end(), qIds.begin(), qIds.end());
    prompt.push_back(memory.tok.answerId());
    ReadOptions promptOptions = quiet;
    promptOptions.poolAttention = true;
    const auto tq = std::chrono::steady_clock::now();
    const ReadResult promptRead = memory.model.read(state, prompt, promptOptions);
    r.questionMs = msSince(tq);
    GenerateOptions go;
    go.maxTokens = options.maxTokens;
    go.poolAttention = true;
    go.stopTokens = {memory.tok.eosId(), memory.tok.docSeparatorId(), memory.tok.questionId()};
    go.cancel = options.cancel;
    bool first = true;
    std::vector<int32_t> sofar;
    std::string shownText;
    const std::vector<int32_t> stops = go.stopTokens;
    go.onToken = [&](int32_t token) {
        if (first)
            r.firstTokenMs = msSince(t0);
        first = false;
        if (!options.onText || std::find(stops.begin(), stops.end(), token) != stops.end())
            return true;
        sofar.push_back(token);
        const std::string text = memory.tok.decode(sofar);
        // Emit only complete characters: wait while the text ends inside a UTF-8
        // sequence (byte-fallback pieces come one byte at a time).
        size_t cut = text.size();
        for (size_t back = 1; back <= 3 && back <= text.size(); ++back) {
            const uint8_t c = uint8_t(text[text.size() - back]);
            if ((c & 0xC0) == 0x80)
                continue;
            const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            if (need > back)
                cut = text.size() - back;
            break;
        }
        if (cut <= shownText.size() || text.compare(0, shownText.size(), shownText) != 0)
            return true;
        const std::string piece = text.substr(shownText.size(), cut - shownText.size());
        shownText = text.substr(0, cut);
        return options.onText(piece);
    };
    const GenerateResult g = memory.model.generate(state, go);
    r.answerTokens = g.tokens;
    std::vector<int32_t> shown = g.tokens;
    if (g.reason == StopReason::StopToken && !shown.empty())
        shown.pop_back();
    r.answer = memory.tok.decode(shown);

    // Evidence from notes: attention of the answer's tokens (the question's when the
    // answer is empty), summed over reading layers and both attentions per note.
    const std::vector<PoolAttentionWeight>& att = g.tokens.empty() ? promptRead.poolAttention : g.poolAttention;
    const double steps = double(std::max<size_t>(1, g.tokens.empty() ? prompt.size() : g.tokens.size()));
    std::map<std::pair<int, int64_t>, double> byNote;
    for (const PoolAttentionWeight& a : att)
        if (a.position < p)  // entries of the document, not of the question or answer
            byNote[{a.sourceLayer, a.position}] += a.weight / steps;
    std::vector<std::pair<double, std::pair<int, int64_t>>> ranked;
    for (const auto& [key, w] : byNote)
        ranked.push_back({w, key});
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    if (int(ranked.size()) > options.evidenceNotes)
        ranked.resize(size_t(std::max(0, options.evidenceNotes)));
    const QVector<storage::ChapterRecord> chapters = memory.db.chapters(docId);
    for (const auto& [w, key] : ranked) {
        const int64_t pos = key.second;
        const auto blocks = memory.blocksIn(docId, pos, pos + 1);
        if (blocks.empty())
            continue;
        const Block& b = blocks.front();
        const size_t i = size_t(pos - b.first);
        Evidence e;
        e.docId = docId;
        e.charStart = b.charStarts[i];
        e.charEnd = b.tokenCharEnd(i);
        e.chapter = memory.chapterOf(chapters, e.charStart);
        // Context stops at the asked position: nothing after it is shown (spoiler-safe).
        e.text = memory.textAround(docId, e.charStart, e.charEnd, 60, std::min<int64_t>(doc.characters, r.atChar));
        e.source = "note";
        e.layer = key.first;
        e.weight = w;
        e.tokenPosition = pos;
        r.evidence.push_back(std::move(e));
    }
    // Full-text hits, only before the reading position (spoiler-safe).
    int added = 0;
    for (const storage::SearchHit& h : memory.db.search(qstr(question), 50, docId)) {
        if (added >= options.fulltextHits)
            break;
        if (h.charStart >= r.atChar)
            continue;
        Evidence e;
        e.docId = h.docId;
        e.chapter = h.chapterIndex;
        e.charStart = h.charStart;
        e.charEnd = std::min<int64_t>(h.charEnd, r.atChar);
        e.text = memory.db.documentText(docId, e.charStart, e.charEnd).toStdString();
        e.source = "fulltext";
        e.weight = h.score;
        r.evidence.push_back(std::move(e));
        ++added;
    }
    if (atPosition.state.valid())
        r.checkpointStored = keepAskCheckpoint(memory, docId, atPosition);
    r.totalMs = msSince(t0);
    return r;
}

}  // namespace mm::memory
