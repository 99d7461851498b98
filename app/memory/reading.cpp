// See reading.h.
#include "app/memory/reading.h"

#include "app/memory/memory_context.h"
#include "engine/util/sha256.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <thread>

namespace mm::memory {

using storage::CheckpointRecord;
using storage::MemoryBlockRecord;

std::vector<TokenSpan> encodeWithSpansParallel(const Tokenizer& tokenizer, std::string_view text, size_t minPieceBytes)
{
    const size_t threads = std::max(1u, std::thread::hardware_concurrency());
    const size_t pieces = std::min(threads, text.size() / std::max<size_t>(1, minPieceBytes));
    if (pieces <= 1)
        return tokenizer.encodeWithSpans(text);
    // Cut just after a newline near each 1/pieces mark.
    std::vector<size_t> cuts{0};
    for (size_t k = 1; k < pieces; ++k) {
        const size_t nl = text.find('\n', std::max(cuts.back(), k * text.size() / pieces));
        if (nl == std::string_view::npos || nl + 1 >= text.size())
            break;
        cuts.push_back(nl + 1);
    }
    cuts.push_back(text.size());
    std::vector<std::future<std::vector<TokenSpan>>> parts;
    for (size_t k = 0; k + 1 < cuts.size(); ++k)
        parts.push_back(std::async(std::launch::async, [&tokenizer, text, a = cuts[k], b = cuts[k + 1]] {
            std::vector<TokenSpan> spans = tokenizer.encodeWithSpans(text.substr(a, b - a));
            for (TokenSpan& s : spans) {
                s.begin += uint32_t(a);
                s.end += uint32_t(a);
            }
            return spans;
        }));
    std::vector<TokenSpan> out;
    for (auto& f : parts) {
        std::vector<TokenSpan> spans = f.get();
        out.insert(out.end(), spans.begin(), spans.end());
    }
    return out;
}

IngestResult readDocument(MemoryContext& memory, int64_t docId, const IngestOptions& options)
{
    const auto t0 = std::chrono::steady_clock::now();
    if (options.checkpointEvery <= 0)
        throw MemoryError("--checkpoint-every must be positive");
    const storage::DocumentRecord doc = memory.document(docId);
    const std::string text = memory.db.documentText(docId).toStdString();
    const auto tokenizeStart = std::chrono::steady_clock::now();
    const std::vector<TokenSpan> spans = encodeWithSpansParallel(memory.tok, text);
    if (spans.empty())
        throw MemoryError("document " + std::to_string(docId) + " has no text to read");
    const int64_t total = int64_t(spans.size());
    const std::vector<int64_t> charStarts = charStartsOf(text, spans);
    const int64_t totalChars = doc.characters;
    std::vector<int32_t> ids(spans.size());
    for (size_t i = 0; i < spans.size(); ++i)
        ids[i] = spans[i].id;
    const double tokenizeSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - tokenizeStart).count();

    // Chapter starts as token positions (the first token at or after the chapter's start).
    const QVector<storage::ChapterRecord> chapters = memory.db.chapters(docId);
    std::map<int64_t, int> chapterAt;
    for (const auto& c : chapters) {
        const int64_t p = std::lower_bound(charStarts.begin(), charStarts.end(), c.charOffset) - charStarts.begin();
        if (p > 0 && p < total && !chapterAt.count(p))
            chapterAt[p] = c.index;
    }

    nlohmann::json settings = {{"checkpoint_every", options.checkpointEvery}, {"segment_tokens", options.segmentTokens}};
    const storage::MemoryRun run = memory.store.beginRun(docId, qstr(memory.producer), total, qstr(settings.dump()));

    IngestResult result;
    result.docId = docId;
    result.tokens = total;
    // Resume from the checkpoint that closes the last committed block (ask checkpoints
    // inside the read part are not span ends); a damaged one is read again from the
    // previous good checkpoint.
    int64_t pos = 0;
    State state = memory.loadBest(docId, run.doneTokens, true, pos, result.damagedCheckpoints);
    memory.store.truncateAfter(docId, qstr(memory.producer), pos);  // nothing after the last checkpoint
    result.resumedFrom = pos;
    if (pos >= total) {
        result.alreadyRead = true;
        memory.db.setDocumentStatus(docId, QStringLiteral("ready"));
    }

    const int64_t startPos = pos;
    double readSeconds = 0;
    // Storing a span (block encoding, zstd, SHA-256, the SQLite commit) runs on a storage
    // thread. With overlap (the default on CUDA, where a span reads in tens of ms and
    // storing it takes about as long) it runs while the engine reads the next span, and
    // the main thread waits for it before storing the next one: commits stay in order, a
    // cancel or an error waits for the commit in flight, and a killed process loses at
    // most the span being stored (it resumes from the checkpoint before). Without overlap
    // (the CPU default) each span is stored before the next is read, as before.
    const bool overlap = options.overlapStorage.value_or(!memory.cpu);
    std::future<void> storing;
    int64_t committedPos = pos;
    int64_t storingTo = pos;
    double storeSeconds = 0;  // storage thread busy time (written there, read after get())
    auto finishStoring = [&] {
        if (storing.valid()) {
            storing.get();
            committedPos = storingTo;
        }
    };
    while (pos < total) {
        // The span ends at the next chapter start, checkpointEvery tokens on, or the end.
        int64_t next = std::min(total, pos + options.checkpointEvery);
        const auto ch = chapterAt.upper_bound(pos);
        if (ch != chapterAt.end() && ch->first < next)
            next = ch->first;

        ReadOptions ro;
        ro.surprisal = true;
        ro.importance = memory.notes;
        ro.noteEvents = true;
        ro.noteSummaries = true;
        ro.segmentTokens = options.segmentTokens > 0 ? options.segmentTokens : memory.cpu ? 512 : 0;
        ro.cancel = options.cancel;
        const auto spanStart = std::chrono::steady_clock::now();
        ro.onProgress = [&](int64_t done, int64_t) {
            if (!options.onProgress)
                return;
            IngestProgress p;
            p.done = pos + done;
            p.total = total;
            p.committed = committedPos;
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            p.tokensPerSecond = s > 0 ? double(p.done - startPos) / s : 0;
            p.etaSeconds = p.tokensPerSecond > 0 ? double(total - p.done) / p.tokensPerSecond : 0;
            options.onProgress(p);
        };
        const std::vector<int32_t> piece(ids.begin() + pos, ids.begin() + next);
        ReadResult rr = memory.model.read(state, piece, ro);
        const double spanSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - spanStart).count();
        readSeconds += spanSeconds;
        result.longestSpanSeconds = std::max(result.longestSpanSeconds, spanSeconds);
        if (rr.cancelled) {
            result.cancelled = true;
            break;  // the span is not committed; the next run starts at pos again
        }

        Block b;
        b.first = pos;
        b.charStart = charStarts[size_t(pos)];
        b.charEnd = next < total ? charStarts[size_t(next)] : totalChars;
        b.ids = piece;
        b.charStarts.assign(charStarts.begin() + pos, charStarts.begin() + next);
        b.surprisal = std::move(rr.surprisal);
        b.importance = std::move(rr.importance);
        b.importance.resize(size_t(memory.layers), std::vector<float>(piece.size(), 0.0f));
        for (const NoteEvent& e : rr.notes)
            b.notes.push_back(quantiseNote(e, (e.position / memory.noteChunk + 1) * memory.noteChunk, memory.noteDim));
        const auto chIt = chapterAt.find(next);
        const std::string kind = next == total ? "final" : chIt != chapterAt.end() ? "chapter" : "periodic";
        const int chapter = chIt != chapterAt.end() ? chIt->second : -1;
        // The state's bytes now (the next read replaces its tensors); the rest on the
        // storage thread, which touches neither the model nor the state.
        std::vector<uint8_t> stateBytes = memory.model.saveState(state);
        finishStoring();  // commits in order: the previous span first
        MemoryContext* impl = &memory;
        const bool last = next == total;
        storing = std::async(std::launch::async, [impl, docId, last, kind, chapter, &storeSeconds,
                                                  b = std::move(b), stateBytes = std::move(stateBytes)] {
            const auto t = std::chrono::steady_clock::now();
            const std::vector<uint8_t> raw = encodeBlock(b, impl->layers, impl->noteDim);
            MemoryBlockRecord rec;
            rec.fingerprint = qstr(impl->producer);
            rec.firstPosition = b.first;
            rec.endPosition = b.end();
            rec.charStart = b.charStart;
            rec.charEnd = b.charEnd;
            rec.formatVersion = kBlockFormatVersion;
            rec.codec = QStringLiteral("zstd");
            rec.rawBytes = int64_t(raw.size());
            rec.checksum = qstr(sha256Hex(raw.data(), raw.size()));
            rec.data = compress(raw);
            const CheckpointRecord cp = impl->checkpointRecord(stateBytes, b.end(), b.charEnd, kind, chapter);
            impl->store.commitStep(docId, rec, cp, last);
            storeSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
        });
        storingTo = next;
        if (!overlap)
            finishStoring();
        result.readTokens += next - pos;
        pos = next;
    }
    finishStoring();
    result.readSeconds = readSeconds;
    result.tokenizeSeconds = tokenizeSeconds;
    result.storeSeconds = storeSeconds;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    result.usage = memory.store.usage(docId);
    result.checkpoints = result.usage.checkpoints;
    return result;
}

}  // namespace mm::memory
