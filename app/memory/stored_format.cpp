// See stored_format.h.
#include "app/memory/stored_format.h"

#include "app/memory/errors.h"

#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace mm::memory {

namespace {

constexpr int kZstdLevel = 3;

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

}  // namespace

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

}  // namespace mm::memory
