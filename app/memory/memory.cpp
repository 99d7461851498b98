// See memory.h. The block and checkpoint containers (format version 1, little-endian):
//
// checkpoint blob: zstd(engine state bytes); the engine state format version (u32 at byte
//   8 of the state) is stored as the row's format_version, SHA-256 of the raw bytes as its
//   checksum, "zstd" as its codec.
// block blob: zstd of
//   "MMBK", u32 version 1, i64 first position, u32 count, i64 char start, i64 char end,
//   u32 layers L, u32 note dims r,
//   u16 ids[count]
//   char offset deltas: per token its start minus the previous token's start (the first:
//     minus char start), one byte when < 255, else 255 then a u32
//   u8 surprisal[count]: round(nats * 16), at most 254; 255 = none (the first token)
//   u8 importance[L][count]: round(a * 255)
//   u32 notes, each: u16 layer, u16 slot, i64 position, i64 evicted position, i64 inserted
//     at, f32 score, f32 scale, i8 values[r] (value = scale * i8 / 127)
#include "app/memory/memory.h"

#include "engine/util/sha256.h"

#include <QElapsedTimer>

#include <nlohmann/json.hpp>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <future>
#include <limits>
#include <map>
#include <thread>
#include <unordered_map>

namespace mm::memory {

namespace {

using storage::CheckpointRecord;
using storage::MemoryBlockRecord;
using storage::MemoryStore;

constexpr int kZstdLevel = 3;

QString q(const std::string& s) { return QString::fromStdString(s); }

double msSince(const std::chrono::steady_clock::time_point& t0)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

QByteArray compress(const std::vector<uint8_t>& raw)
{
    QByteArray out(static_cast<qsizetype>(ZSTD_compressBound(raw.size())), Qt::Uninitialized);
    const size_t n = ZSTD_compress(out.data(), size_t(out.size()), raw.data(), raw.size(), kZstdLevel);
    if (ZSTD_isError(n))
        throw MemoryError(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
    out.truncate(static_cast<qsizetype>(n));
    return out;
}

std::vector<uint8_t> decompress(const QByteArray& blob, int64_t rawBytes, const std::string& what)
{
    std::vector<uint8_t> raw(static_cast<size_t>(rawBytes));
    const size_t n = ZSTD_decompress(raw.data(), raw.size(), blob.constData(), size_t(blob.size()));
    if (ZSTD_isError(n) || n != raw.size())
        throw MemoryError(what + " is corrupt (zstd: " + (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong size") + ")");
    return raw;
}

// ---- little-endian writer/reader ---------------------------------------------------

struct Writer {
    std::vector<uint8_t> b;
    template <typename T> void put(T v)
    {
        const size_t at = b.size();
        b.resize(at + sizeof(T));
        std::memcpy(b.data() + at, &v, sizeof(T));
    }
};

struct Reader {
    const uint8_t* p;
    size_t left;
    std::string what;
    template <typename T> T get()
    {
        if (left < sizeof(T))
            throw MemoryError(what + " is truncated");
        T v;
        std::memcpy(&v, p, sizeof(T));
        p += sizeof(T);
        left -= sizeof(T);
        return v;
    }
};

// ---- blocks ---------------------------------------------------------------------------

struct StoredNote {
    int layer = 0;
    int slot = 0;
    int64_t position = 0;
    int64_t evictedPosition = -1;
    int64_t insertedAt = 0;
    float score = 0;
    float scale = 0;
    std::vector<int8_t> q;
};

struct Block {
    int64_t first = 0;
    int64_t charStart = 0, charEnd = 0;
    std::vector<int32_t> ids;
    std::vector<int64_t> charStarts;  // absolute
    std::vector<float> surprisal;     // NaN for none
    std::vector<std::vector<float>> importance;
    std::vector<StoredNote> notes;
    int64_t end() const { return first + int64_t(ids.size()); }
    int64_t tokenCharEnd(size_t i) const { return i + 1 < charStarts.size() ? charStarts[i + 1] : charEnd; }
};

std::vector<uint8_t> encodeBlock(const Block& b, int layers, int r)
{
    Writer w;
    w.b.insert(w.b.end(), {'M', 'M', 'B', 'K'});
    w.put<uint32_t>(kBlockFormatVersion);
    w.put<int64_t>(b.first);
    w.put<uint32_t>(uint32_t(b.ids.size()));
    w.put<int64_t>(b.charStart);
    w.put<int64_t>(b.charEnd);
    w.put<uint32_t>(uint32_t(layers));
    w.put<uint32_t>(uint32_t(r));
    for (int32_t id : b.ids)
        w.put<uint16_t>(uint16_t(id));
    int64_t prev = b.charStart;
    for (int64_t c : b.charStarts) {
        const int64_t delta = c - prev;
        prev = c;
        if (delta >= 0 && delta < 255) {
            w.put<uint8_t>(uint8_t(delta));
        } else {
            w.put<uint8_t>(255);
            w.put<uint32_t>(uint32_t(delta));
        }
    }
    for (float s : b.surprisal)
        w.put<uint8_t>(std::isnan(s) ? 255 : uint8_t(std::min(254.0f, std::round(std::max(0.0f, s) * 16))));
    for (int l = 0; l < layers; ++l)
        for (size_t i = 0; i < b.ids.size(); ++i)
            w.put<uint8_t>(uint8_t(std::round(std::clamp(b.importance[size_t(l)][i], 0.0f, 1.0f) * 255)));
    w.put<uint32_t>(uint32_t(b.notes.size()));
    for (const StoredNote& n : b.notes) {
        w.put<uint16_t>(uint16_t(n.layer));
        w.put<uint16_t>(uint16_t(n.slot));
        w.put<int64_t>(n.position);
        w.put<int64_t>(n.evictedPosition);
        w.put<int64_t>(n.insertedAt);
        w.put<float>(n.score);
        w.put<float>(n.scale);
        for (int8_t v : n.q)
            w.put<int8_t>(v);
    }
    return w.b;
}

Block decodeBlock(const std::vector<uint8_t>& raw, const std::string& what)
{
    Reader rd{raw.data(), raw.size(), what};
    if (raw.size() < 8 || std::memcmp(raw.data(), "MMBK", 4) != 0)
        throw MemoryError(what + " is not a memory block");
    rd.p += 4;
    rd.left -= 4;
    const uint32_t version = rd.get<uint32_t>();
    if (version != uint32_t(kBlockFormatVersion))
        throw MemoryError(what + " has format " + std::to_string(version) + ", this build reads " +
                          std::to_string(kBlockFormatVersion));
    Block b;
    b.first = rd.get<int64_t>();
    const uint32_t count = rd.get<uint32_t>();
    b.charStart = rd.get<int64_t>();
    b.charEnd = rd.get<int64_t>();
    const uint32_t layers = rd.get<uint32_t>();
    const uint32_t r = rd.get<uint32_t>();
    b.ids.resize(count);
    for (auto& id : b.ids)
        id = rd.get<uint16_t>();
    b.charStarts.resize(count);
    int64_t prev = b.charStart;
    for (auto& c : b.charStarts) {
        uint8_t d8 = rd.get<uint8_t>();
        const int64_t delta = d8 < 255 ? d8 : int64_t(rd.get<uint32_t>());
        c = prev + delta;
        prev = c;
    }
    b.surprisal.resize(count);
    for (auto& s : b.surprisal) {
        const uint8_t v = rd.get<uint8_t>();
        s = v == 255 ? std::numeric_limits<float>::quiet_NaN() : v / 16.0f;
    }
    b.importance.assign(layers, std::vector<float>(count));
    for (auto& row : b.importance)
        for (auto& a : row)
            a = rd.get<uint8_t>() / 255.0f;
    const uint32_t notes = rd.get<uint32_t>();
    b.notes.resize(notes);
    for (StoredNote& n : b.notes) {
        n.layer = rd.get<uint16_t>();
        n.slot = rd.get<uint16_t>();
        n.position = rd.get<int64_t>();
        n.evictedPosition = rd.get<int64_t>();
        n.insertedAt = rd.get<int64_t>();
        n.score = rd.get<float>();
        n.scale = rd.get<float>();
        n.q.resize(r);
        for (auto& v : n.q)
            v = rd.get<int8_t>();
    }
    return b;
}

StoredNote quantiseNote(const NoteEvent& e, int64_t insertedAt, int r)
{
    StoredNote n{e.layer, e.slot, e.position, e.evictedPosition, insertedAt, e.score, 0, {}};
    float maxAbs = 0;
    for (float v : e.summary)
        maxAbs = std::max(maxAbs, std::fabs(v));
    n.scale = maxAbs;
    n.q.assign(size_t(r), 0);  // the block format has r values a note, always
    for (size_t i = 0; i < e.summary.size() && i < n.q.size(); ++i)
        n.q[i] = maxAbs > 0 ? int8_t(std::lround(e.summary[i] / maxAbs * 127)) : 0;
    return n;
}

std::vector<float> dequantise(const StoredNote& n)
{
    std::vector<float> v(n.q.size());
    for (size_t i = 0; i < v.size(); ++i)
        v[i] = n.scale * float(n.q[i]) / 127.0f;
    return v;
}

// Code point offsets of UTF-8 byte offsets (ascending).
std::vector<int64_t> charStartsOf(const std::string& utf8, const std::vector<TokenSpan>& spans)
{
    std::vector<int64_t> out(spans.size());
    size_t byte = 0;
    int64_t cp = 0;
    for (size_t i = 0; i < spans.size(); ++i) {
        for (; byte < spans[i].begin; ++byte)
            if ((uint8_t(utf8[byte]) & 0xC0) != 0x80)
                ++cp;
        // A token starting inside a character (byte fallback) belongs to that character.
        out[i] = (byte < utf8.size() && (uint8_t(utf8[byte]) & 0xC0) == 0x80) ? cp - 1 : cp;
    }
    return out;
}

}  // namespace

struct DocumentMemory::Impl {
    storage::Database& db;
    MemoryStore store;
    const Model& model;
    const Tokenizer& tok;
    std::string producer;
    int layers = 0, noteDim = 0;
    int64_t noteChunk = 128;
    int poolSlots = 0;
    bool notes = true;
    bool cpu = true;

    Impl(storage::Database& d, const Model& m, const Tokenizer& t) : db(d), store(d), model(m), tok(t)
    {
        const ModelInfo info = m.info();
        producer = info.fingerprint + "|" + t.fingerprint();
        const nlohmann::json c = nlohmann::json::parse(info.configJson);
        layers = c.at("n_layer").get<int>();
        notes = c.at("notes").is_boolean() ? c.at("notes").get<bool>() : c.at("notes").get<std::string>() == "on";
        noteDim = c.at("note_dim").get<int>();
        noteChunk = c.at("note_chunk").get<int64_t>();
        poolSlots = c.at("pool_slots").get<int>();
        cpu = info.device.rfind("cuda", 0) != 0;
        if (!notes)
            layers = 0;
    }

    storage::DocumentRecord document(int64_t docId)
    {
        const auto doc = db.document(docId);
        if (!doc)
            throw MemoryError("no document with id " + std::to_string(docId));
        return *doc;
    }

    // Refuses memory of another producer: marks the document stale.
    storage::MemoryRun requireMemory(int64_t docId)
    {
        const auto run = store.run(docId);
        if (!run || run->fingerprint != q(producer)) {
            const QStringList others = store.producers(docId);
            if (!others.isEmpty() && !others.contains(q(producer))) {
                db.setDocumentStatus(docId, QStringLiteral("stale"));
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

    Block loadBlock(const MemoryBlockRecord& r)
    {
        const std::string what = "memory block at token " + std::to_string(r.firstPosition) + " of document " +
                                 std::to_string(r.docId);
        const std::vector<uint8_t> raw = decompress(r.data, r.rawBytes, what);
        if (sha256Hex(raw.data(), raw.size()) != r.checksum.toStdString())
            throw MemoryError(what + " fails its checksum");
        return decodeBlock(raw, what);
    }

    std::vector<Block> blocksIn(int64_t docId, int64_t from, int64_t to)
    {
        std::vector<Block> out;
        for (const MemoryBlockRecord& r : store.blocks(docId, q(producer), from, to))
            out.push_back(loadBlock(r));
        return out;
    }

    State loadCheckpoint(int64_t docId, const CheckpointRecord& c)
    {
        const std::string what = "checkpoint at token " + std::to_string(c.position) + " of document " +
                                 std::to_string(docId);
        const std::vector<uint8_t> raw = decompress(store.checkpointBlob(c.id), c.rawBytes, what);
        if (sha256Hex(raw.data(), raw.size()) != c.checksum.toStdString())
            throw MemoryError(what + " fails its checksum (the library file is damaged); read the document again");
        try {
            return model.loadState(raw);
        } catch (const EngineError& e) {
            const std::string msg = e.what();
            if (msg.find("made by model") != std::string::npos || msg.find("tokenizer") != std::string::npos) {
                db.setDocumentStatus(docId, QStringLiteral("stale"));
                throw StaleMemoryError(what + ": " + msg + "; read the document again with `memmamba ingest --doc " +
                                       std::to_string(docId) + "`");
            }
            throw MemoryError(what + ": " + msg);
        }
    }

    // The state of the last loadable checkpoint at or before maxPos (span ends only, or
    // ask checkpoints too). A damaged checkpoint (zstd, checksum, engine format) is
    // skipped and counted, so the caller replays from an earlier one; memory of another
    // model throws StaleMemoryError.
    State loadBest(int64_t docId, int64_t maxPos, bool spanEndsOnly, int64_t& pos, int& damaged)
    {
        const QVector<CheckpointRecord> cps = store.checkpoints(docId, q(producer));
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

    CheckpointRecord checkpointRecord(const State& state, int64_t position, int64_t charOffset, const std::string& kind,
                                      int chapter)
    {
        return checkpointRecord(model.saveState(state), position, charOffset, kind, chapter);
    }

    // From the engine's state bytes (Model::saveState): zstd and SHA-256. Touches no
    // model or database, so an ingest runs it on its storage thread.
    CheckpointRecord checkpointRecord(const std::vector<uint8_t>& raw, int64_t position, int64_t charOffset,
                                      const std::string& kind, int chapter) const
    {
        CheckpointRecord c;
        c.fingerprint = q(producer);
        c.position = position;
        c.charOffset = charOffset;
        c.kind = q(kind);
        c.chapterIndex = chapter;
        uint32_t stateVersion = 0;
        if (raw.size() >= 12)
            std::memcpy(&stateVersion, raw.data() + 8, 4);
        c.formatVersion = int(stateVersion);
        c.codec = QStringLiteral("zstd");
        c.rawBytes = int64_t(raw.size());
        c.checksum = q(sha256Hex(raw.data(), raw.size()));
        c.blob = compress(raw);
        return c;
    }

    int chapterOf(const QVector<storage::ChapterRecord>& chapters, int64_t charOffset)
    {
        int ch = -1;
        for (const auto& c : chapters)
            if (c.charOffset <= charOffset)
                ch = c.index;
        return ch;
    }

    std::string textAround(int64_t docId, int64_t from, int64_t to, int64_t chars, int64_t total)
    {
        const int64_t a = std::max<int64_t>(0, from - chars), b = std::min<int64_t>(total, to + chars);
        return db.documentText(docId, a, b).toStdString();
    }

    // Token position reached after reading the characters [0, atChar).
    int64_t positionAt(int64_t docId, int64_t atChar, const storage::MemoryRun& run)
    {
        const auto doc = document(docId);
        if (atChar < 0 || atChar > doc.characters)
            throw MemoryError("position " + std::to_string(atChar) + " is outside document " + std::to_string(docId) +
                              " (0.." + std::to_string(doc.characters) + " characters)");
        if (atChar >= doc.characters)
            return run.totalTokens;
        const auto rec = store.blockAtChar(docId, q(producer), atChar);
        if (!rec)
            return 0;
        const Block b = loadBlock(*rec);
        if (atChar >= b.charEnd && b.end() < run.totalTokens)
            return run.doneTokens + 1;  // beyond what has been read (the caller refuses it)
        const auto it = std::lower_bound(b.charStarts.begin(), b.charStarts.end(), atChar);
        return b.first + int64_t(it - b.charStarts.begin());
    }
};

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

double warmUp(const Model& model, const Tokenizer& tokenizer)
{
    if (model.info().device.rfind("cuda", 0) != 0)
        return 0;
    const auto t0 = std::chrono::steady_clock::now();
    // The paths a first ingest span and a first question take: a long read with every
    // output (note chunks close, pools fill), a short prompt read with pool attention,
    // a few generated tokens, and the state's trip to the host and back.
    const std::vector<int32_t> sentence = tokenizer.encode("The warm-up reads a sentence about nothing in particular. ");
    std::vector<int32_t> ids;
    while (!sentence.empty() && ids.size() < 2048)
        ids.insert(ids.end(), sentence.begin(), sentence.end());
    ids.resize(std::min<size_t>(ids.size(), 2048));
    State state = model.newState();
    ReadOptions all;
    all.noteSummaries = true;
    all.poolAttention = true;
    model.read(state, ids, all);
    State loaded = model.loadState(model.saveState(state));
    ReadOptions prompt;
    prompt.surprisal = false;
    prompt.importance = false;
    prompt.noteEvents = false;
    prompt.poolAttention = true;
    model.read(loaded, {tokenizer.questionId(), sentence.empty() ? 0 : sentence.front(), tokenizer.answerId()}, prompt);
    GenerateOptions go;
    go.maxTokens = 3;
    go.poolAttention = true;
    model.generate(loaded, go);
    return msSince(t0);
}

DocumentMemory::DocumentMemory(storage::Database& db, const Model& model, const Tokenizer& tokenizer)
    : d(std::make_unique<Impl>(db, model, tokenizer))
{
}

DocumentMemory::~DocumentMemory() = default;

const std::string& DocumentMemory::producer() const { return d->producer; }

MemoryStatus DocumentMemory::status(int64_t docId) const
{
    MemoryStatus s;
    const auto run = d->store.run(docId);
    const QStringList producers = d->store.producers(docId);
    if (run && run->fingerprint == q(d->producer)) {
        s.state = run->doneTokens >= run->totalTokens ? "ready" : "reading";
        s.doneTokens = run->doneTokens;
        s.totalTokens = run->totalTokens;
        s.producer = d->producer;
    } else if (!producers.isEmpty()) {
        s.state = "stale";
        s.producer = producers.front().toStdString();
    } else {
        s.state = "none";
    }
    return s;
}

IngestResult DocumentMemory::ingest(int64_t docId, const IngestOptions& options)
{
    const auto t0 = std::chrono::steady_clock::now();
    if (options.checkpointEvery <= 0)
        throw MemoryError("--checkpoint-every must be positive");
    const storage::DocumentRecord doc = d->document(docId);
    const std::string text = d->db.documentText(docId).toStdString();
    const auto tokenizeStart = std::chrono::steady_clock::now();
    const std::vector<TokenSpan> spans = encodeWithSpansParallel(d->tok, text);
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
    const QVector<storage::ChapterRecord> chapters = d->db.chapters(docId);
    std::map<int64_t, int> chapterAt;
    for (const auto& c : chapters) {
        const int64_t p = std::lower_bound(charStarts.begin(), charStarts.end(), c.charOffset) - charStarts.begin();
        if (p > 0 && p < total && !chapterAt.count(p))
            chapterAt[p] = c.index;
    }

    nlohmann::json settings = {{"checkpoint_every", options.checkpointEvery}, {"segment_tokens", options.segmentTokens}};
    const storage::MemoryRun run = d->store.beginRun(docId, q(d->producer), total, q(settings.dump()));

    IngestResult result;
    result.docId = docId;
    result.tokens = total;
    // Resume from the checkpoint that closes the last committed block (ask checkpoints
    // inside the read part are not span ends); a damaged one is read again from the
    // previous good checkpoint.
    int64_t pos = 0;
    State state = d->loadBest(docId, run.doneTokens, true, pos, result.damagedCheckpoints);
    d->store.truncateAfter(docId, q(d->producer), pos);  // nothing after the last checkpoint
    result.resumedFrom = pos;
    if (pos >= total) {
        result.alreadyRead = true;
        d->db.setDocumentStatus(docId, QStringLiteral("ready"));
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
    const bool overlap = options.overlapStorage.value_or(!d->cpu);
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
        ro.importance = d->notes;
        ro.noteEvents = true;
        ro.noteSummaries = true;
        ro.segmentTokens = options.segmentTokens > 0 ? options.segmentTokens : d->cpu ? 512 : 0;
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
        ReadResult rr = d->model.read(state, piece, ro);
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
        b.importance.resize(size_t(d->layers), std::vector<float>(piece.size(), 0.0f));
        for (const NoteEvent& e : rr.notes)
            b.notes.push_back(quantiseNote(e, (e.position / d->noteChunk + 1) * d->noteChunk, d->noteDim));
        const auto chIt = chapterAt.find(next);
        const std::string kind = next == total ? "final" : chIt != chapterAt.end() ? "chapter" : "periodic";
        const int chapter = chIt != chapterAt.end() ? chIt->second : -1;
        // The state's bytes now (the next read replaces its tensors); the rest on the
        // storage thread, which touches neither the model nor the state.
        std::vector<uint8_t> stateBytes = d->model.saveState(state);
        finishStoring();  // commits in order: the previous span first
        Impl* impl = d.get();
        const bool last = next == total;
        storing = std::async(std::launch::async, [impl, docId, last, kind, chapter, &storeSeconds,
                                                  b = std::move(b), stateBytes = std::move(stateBytes)] {
            const auto t = std::chrono::steady_clock::now();
            const std::vector<uint8_t> raw = encodeBlock(b, impl->layers, impl->noteDim);
            MemoryBlockRecord rec;
            rec.fingerprint = q(impl->producer);
            rec.firstPosition = b.first;
            rec.endPosition = b.end();
            rec.charStart = b.charStart;
            rec.charEnd = b.charEnd;
            rec.formatVersion = kBlockFormatVersion;
            rec.codec = QStringLiteral("zstd");
            rec.rawBytes = int64_t(raw.size());
            rec.checksum = q(sha256Hex(raw.data(), raw.size()));
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
    result.usage = d->store.usage(docId);
    result.checkpoints = result.usage.checkpoints;
    return result;
}

int64_t DocumentMemory::tokenPositionAt(int64_t docId, int64_t atChar)
{
    return d->positionAt(docId, atChar, d->requireMemory(docId));
}

int64_t DocumentMemory::prepareAt(int64_t docId, int64_t atChar)
{
    int64_t cp = 0, replayed = 0, position = 0;
    const State state = stateAt(docId, atChar, &cp, &replayed, &position);
    if (replayed > 0) {
        d->store.addCheckpoint(docId, d->checkpointRecord(state, position, atChar, "ask", -1));
        d->store.pruneCheckpoints(docId, q(d->producer), QStringLiteral("ask"), kAskCheckpointsKept);
    }
    return position;
}

State DocumentMemory::checkpointState(int64_t docId, int64_t position)
{
    d->requireMemory(docId);
    const auto cp = d->store.checkpointAtOrBefore(docId, q(d->producer), position);
    if (!cp || cp->position != position)
        throw MemoryError("no checkpoint at token " + std::to_string(position));
    return d->loadCheckpoint(docId, *cp);
}

State DocumentMemory::stateAt(int64_t docId, std::optional<int64_t> atChar, int64_t* checkpointPos, int64_t* replayed,
                              int64_t* position)
{
    const storage::MemoryRun run = d->requireMemory(docId);
    const int64_t p = atChar ? d->positionAt(docId, *atChar, run) : run.totalTokens;
    if (p > run.doneTokens)
        throw MemoryError("document " + std::to_string(docId) + " has been read only up to token " +
                          std::to_string(run.doneTokens) + " of " + std::to_string(run.totalTokens) +
                          ": resume reading with `memmamba ingest --doc " + std::to_string(docId) + "`");
    int64_t from = 0;
    int damaged = 0;
    State state = d->loadBest(docId, p, false, from, damaged);
    std::vector<int32_t> ids;
    if (p > from)
        for (const Block& b : d->blocksIn(docId, from, p))
            for (int64_t i = std::max(from, b.first); i < std::min(p, b.end()); ++i)
                ids.push_back(b.ids[size_t(i - b.first)]);
    if (!ids.empty()) {
        ReadOptions ro;
        ro.surprisal = false;
        ro.importance = false;
        ro.noteEvents = false;
        d->model.read(state, ids, ro);
    }
    if (checkpointPos)
        *checkpointPos = from;
    if (replayed)
        *replayed = int64_t(ids.size());
    if (position)
        *position = p;
    return state;
}

AskResult DocumentMemory::ask(int64_t docId, const std::string& question, const AskOptions& options)
{
    const auto t0 = std::chrono::steady_clock::now();
    AskResult r;
    const storage::DocumentRecord doc = d->document(docId);
    r.atChar = options.atChar ? *options.atChar : doc.characters;
    // State: checkpoint + replay.
    const storage::MemoryRun run = d->requireMemory(docId);
    const int64_t p = options.atChar ? d->positionAt(docId, *options.atChar, run) : run.totalTokens;
    if (p > run.doneTokens)
        throw MemoryError("document " + std::to_string(docId) + " has been read only up to token " +
                          std::to_string(run.doneTokens) + " of " + std::to_string(run.totalTokens) +
                          ": resume reading with `memmamba ingest --doc " + std::to_string(docId) + "`");
    State state = d->loadBest(docId, p, false, r.checkpointPosition, r.damagedCheckpoints);
    r.stateLoadMs = msSince(t0);
    r.position = p;
    const auto t1 = std::chrono::steady_clock::now();
    std::vector<int32_t> replay;
    if (p > r.checkpointPosition)
        for (const Block& b : d->blocksIn(docId, r.checkpointPosition, p))
            for (int64_t i = std::max(r.checkpointPosition, b.first); i < std::min(p, b.end()); ++i)
                replay.push_back(b.ids[size_t(i - b.first)]);
    ReadOptions quiet;
    quiet.surprisal = false;
    quiet.importance = false;
    quiet.noteEvents = false;
    if (!replay.empty())
        d->model.read(state, replay, quiet);
    r.replayedTokens = int64_t(replay.size());
    r.replayMs = msSince(t1);
    State atPosition;
    if (options.keepCheckpoint && !replay.empty())
        atPosition = state.clone();

    // Prompt: <q> question <a> (docs/memory.md), then greedy generation.
    std::vector<int32_t> prompt{d->tok.questionId()};
    const std::vector<int32_t> qIds = d->tok.encode(question);
    prompt.insert(prompt.end(), qIds.begin(), qIds.end());
    prompt.push_back(d->tok.answerId());
    ReadOptions promptOptions = quiet;
    promptOptions.poolAttention = true;
    const auto tq = std::chrono::steady_clock::now();
    const ReadResult promptRead = d->model.read(state, prompt, promptOptions);
    r.questionMs = msSince(tq);
    GenerateOptions go;
    go.maxTokens = options.maxTokens;
    go.poolAttention = true;
    go.stopTokens = {d->tok.eosId(), d->tok.docSeparatorId(), d->tok.questionId()};
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
        const std::string text = d->tok.decode(sofar);
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
    const GenerateResult g = d->model.generate(state, go);
    r.answerTokens = g.tokens;
    std::vector<int32_t> shown = g.tokens;
    if (g.reason == StopReason::StopToken && !shown.empty())
        shown.pop_back();
    r.answer = d->tok.decode(shown);

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
    const QVector<storage::ChapterRecord> chapters = d->db.chapters(docId);
    for (const auto& [w, key] : ranked) {
        const int64_t pos = key.second;
        const auto blocks = d->blocksIn(docId, pos, pos + 1);
        if (blocks.empty())
            continue;
        const Block& b = blocks.front();
        const size_t i = size_t(pos - b.first);
        Evidence e;
        e.docId = docId;
        e.charStart = b.charStarts[i];
        e.charEnd = b.tokenCharEnd(i);
        e.chapter = d->chapterOf(chapters, e.charStart);
        // Context stops at the asked position: nothing after it is shown (spoiler-safe).
        e.text = d->textAround(docId, e.charStart, e.charEnd, 60, std::min<int64_t>(doc.characters, r.atChar));
        e.source = "note";
        e.layer = key.first;
        e.weight = w;
        e.tokenPosition = pos;
        r.evidence.push_back(std::move(e));
    }
    // Full-text hits, only before the reading position (spoiler-safe).
    int added = 0;
    for (const storage::SearchHit& h : d->db.search(q(question), 50, docId)) {
        if (added >= options.fulltextHits)
            break;
        if (h.charStart >= r.atChar)
            continue;
        Evidence e;
        e.docId = h.docId;
        e.chapter = h.chapterIndex;
        e.charStart = h.charStart;
        e.charEnd = std::min<int64_t>(h.charEnd, r.atChar);
        e.text = d->db.documentText(docId, e.charStart, e.charEnd).toStdString();
        e.source = "fulltext";
        e.weight = h.score;
        r.evidence.push_back(std::move(e));
        ++added;
    }
    if (atPosition.valid()) {
        CheckpointRecord c = d->checkpointRecord(atPosition, p, r.atChar, "ask", -1);
        d->store.addCheckpoint(docId, c);
        d->store.pruneCheckpoints(docId, q(d->producer), QStringLiteral("ask"), kAskCheckpointsKept);
        r.checkpointStored = true;
    }
    r.totalMs = msSince(t0);
    return r;
}

MemoryMap DocumentMemory::memoryMap(int64_t docId)
{
    const storage::MemoryRun run = d->requireMemory(docId);
    const auto doc = d->document(docId);
    MemoryMap m;
    m.docId = docId;
    m.layers = d->layers;
    m.poolSlots = d->poolSlots;
    m.noteChunk = d->noteChunk;
    m.textLength = doc.characters;
    m.totalTokens = run.totalTokens;
    m.importance.assign(size_t(d->layers), {});
    for (const Block& b : d->blocksIn(docId, 0, std::numeric_limits<int64_t>::max())) {
        m.tokenChars.insert(m.tokenChars.end(), b.charStarts.begin(), b.charStarts.end());
        m.surprisal.insert(m.surprisal.end(), b.surprisal.begin(), b.surprisal.end());
        for (int l = 0; l < d->layers; ++l)
            m.importance[size_t(l)].insert(m.importance[size_t(l)].end(), b.importance[size_t(l)].begin(),
                                           b.importance[size_t(l)].end());
        for (const StoredNote& n : b.notes) {
            m.notes.push_back({n.layer, n.position, n.score, n.slot, n.evictedPosition, {}});
            m.noteInsertedAt.push_back(n.insertedAt);
        }
    }
    for (const auto& c : d->db.chapters(docId))
        m.chapters.emplace_back(c.charOffset, c.title.toStdString());
    return m;
}

std::vector<PoolNote> DocumentMemory::noteTimeline(int64_t docId, int layer, bool withContext)
{
    d->requireMemory(docId);
    if (layer < 0 || layer >= d->layers)
        throw MemoryError("layer " + std::to_string(layer) + " outside 0.." + std::to_string(d->layers - 1));
    std::vector<PoolNote> out;
    std::unordered_map<int, size_t> inSlot;
    std::vector<Block> blocks = d->blocksIn(docId, 0, std::numeric_limits<int64_t>::max());
    for (const Block& b : blocks)
        for (const StoredNote& n : b.notes) {
            if (n.layer != layer)
                continue;
            const auto it = inSlot.find(n.slot);
            if (it != inSlot.end())
                out[it->second].evictedAt = n.insertedAt;
            PoolNote pn;
            pn.slot = n.slot;
            pn.layer = n.layer;
            pn.position = n.position;
            pn.score = n.score;
            pn.insertedAt = n.insertedAt;
            pn.summary = dequantise(n);
            inSlot[n.slot] = out.size();
            out.push_back(std::move(pn));
        }
    // Char offsets of the noted tokens (the block holding each position).
    const auto doc = d->document(docId);
    const QVector<storage::ChapterRecord> chapters = d->db.chapters(docId);
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
        n.chapter = d->chapterOf(chapters, n.charStart);
        if (withContext)
            n.context = d->textAround(docId, n.charStart, n.charEnd, 60, doc.characters);
    }
    return out;
}

NotesView DocumentMemory::notes(int64_t docId, int layer, std::optional<int64_t> atChar, int contextChars)
{
    const storage::MemoryRun run = d->requireMemory(docId);
    NotesView v;
    v.layer = layer;
    const auto doc = d->document(docId);
    v.atChar = atChar ? *atChar : doc.characters;
    v.position = atChar ? d->positionAt(docId, *atChar, run) : run.doneTokens;
    if (v.position > run.doneTokens)
        throw MemoryError("document " + std::to_string(docId) + " has been read only up to token " +
                          std::to_string(run.doneTokens));
    std::map<int, PoolNote> bySlot;
    for (PoolNote& n : noteTimeline(docId, layer, false)) {
        if (n.insertedAt > v.position)
            break;  // in order of insertion
        if (n.evictedAt >= 0 && n.evictedAt <= v.position) {
            v.evicted.push_back(std::move(n));
            continue;
        }
        n.evictedAt = -1;
        bySlot[n.slot] = std::move(n);
    }
    for (auto& [slot, n] : bySlot) {
        n.context = d->textAround(docId, n.charStart, n.charEnd, contextChars, std::min<int64_t>(doc.characters, v.atChar));
        v.entries.push_back(std::move(n));
    }
    return v;
}

std::vector<MemorySearchHit> DocumentMemory::search(const std::string& query, int64_t docId, int limit)
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
    for (const storage::SearchHit& s : d->db.search(q(query), depth, docId)) {
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
    const std::vector<std::vector<float>> u = d->model.noteQuery(d->tok.encode(query));
    if (!u.empty()) {
        std::vector<int64_t> docs;
        if (docId >= 0)
            docs.push_back(docId);
        else
            for (const auto& doc : d->db.documents())
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
            const auto run = d->store.run(doc);
            if (!run || run->fingerprint != q(d->producer))
                continue;
            std::map<std::pair<int, int64_t>, bool> seen;
            for (const Block& b : d->blocksIn(doc, 0, std::numeric_limits<int64_t>::max()))
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
            const auto blocks = d->blocksIn(s.doc, s.position, s.position + 1);
            if (blocks.empty())
                continue;
            const int64_t c = blocks.front().charStarts[size_t(s.position - blocks.front().first)];
            auto& passages = passagesOf[s.doc];
            if (passages.isEmpty())
                passages = d->db.passages(s.doc);
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
