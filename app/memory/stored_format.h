// The memory library's own stored formats (inside the library; storage keeps them as
// opaque blobs). Format version 1, little-endian:
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
#pragma once

#include "engine/engine.h"
#include "engine/tokenizer/tokenizer.h"

#include <QByteArray>

#include <cstdint>
#include <string>
#include <vector>

namespace mm::memory {

/// Version of the memory block and checkpoint containers (not of the engine's state
/// format, which the state bytes carry themselves).
constexpr int kBlockFormatVersion = 1;
constexpr int kCheckpointContainerVersion = 1;

/// A note as a block stores it: the summary quantised to int8 with one scale.
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

/// One span of a document's reading: tokens [first, end()) and what the model made of them.
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

QByteArray compress(const std::vector<uint8_t>& raw);
/// Throws MemoryError naming `what` when the blob is damaged.
std::vector<uint8_t> decompress(const QByteArray& blob, int64_t rawBytes, const std::string& what);

std::vector<uint8_t> encodeBlock(const Block& b, int layers, int r);
Block decodeBlock(const std::vector<uint8_t>& raw, const std::string& what);

StoredNote quantiseNote(const NoteEvent& e, int64_t insertedAt, int r);
std::vector<float> dequantise(const StoredNote& n);

/// Code point offsets of the tokens' UTF-8 byte offsets (ascending).
std::vector<int64_t> charStartsOf(const std::string& utf8, const std::vector<TokenSpan>& spans);

}  // namespace mm::memory
