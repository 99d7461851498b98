// The tokenizer module: the sentencepiece calls behind the C API of spm_c_api.h.
// Built as the MODULE libmemmamba_spm.so and loaded with dlopen(RTLD_DEEPBIND) by
// tokenizer.cpp, so the protobuf that libsentencepiece brings stays inside it (see
// tokenizer.h for why).
#include "engine/tokenizer/spm_c_api.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct mm_spm {
    sentencepiece::SentencePieceProcessor processor;
    int32_t newlineId = -1;  ///< the byte piece <0x0A>
};

namespace {

void writeError(char* err, size_t errCap, const std::string& message)
{
    if (err == nullptr || errCap == 0)
        return;
    const size_t n = std::min(message.size(), errCap - 1);
    std::memcpy(err, message.data(), n);
    err[n] = '\0';
}

/// One token of an encoding, with the span sentencepiece reported for it.
struct Piece {
    int32_t id;
    uint32_t begin;
    uint32_t end;
};

/// Makes the spans tile [0, size) exactly. sentencepiece gives every piece the source
/// span of its surface, but the byte-fallback pieces of one character share that
/// character's span (all but one of them reported empty). With identity
/// normalisation, the n byte pieces of an n-byte character are its bytes in order,
/// so each gets one byte of it. Anything else (not expected with this model's
/// identity normalisation) is made to tile: a piece begins where the previous one
/// ended and the last one ends at the text's end.
void tileSpans(const mm_spm& spm, std::vector<Piece>& pieces, uint32_t size)
{
    size_t i = 0;
    while (i < pieces.size()) {
        if (!spm.processor.IsByte(pieces[i].id)) {
            ++i;
            continue;
        }
        // A run of byte pieces: the union of their spans is the bytes they stand for.
        size_t j = i;
        uint32_t runBegin = pieces[i].begin;
        uint32_t runEnd = pieces[i].end;
        while (j < pieces.size() && spm.processor.IsByte(pieces[j].id)) {
            runBegin = std::min(runBegin, pieces[j].begin);
            runEnd = std::max(runEnd, pieces[j].end);
            ++j;
        }
        if (runEnd - runBegin == j - i) {
            for (size_t k = i; k < j; ++k) {
                pieces[k].begin = runBegin + static_cast<uint32_t>(k - i);
                pieces[k].end = pieces[k].begin + 1;
            }
        }
        i = j;
    }
    uint32_t cursor = 0;
    for (Piece& p : pieces) {
        p.begin = cursor;
        p.end = std::min(std::max(p.end, cursor), size);
        cursor = p.end;
    }
    if (!pieces.empty())
        pieces.back().end = size;
}

/// The pieces of one line (no '\n' in it), spans relative to the line.
std::vector<Piece> encodeLine(const mm_spm& spm, std::string_view line)
{
    const auto encoded = spm.processor.EncodeAsImmutableProto(line);
    std::vector<Piece> pieces;
    pieces.reserve(encoded.pieces_size());
    for (size_t i = 0; i < encoded.pieces_size(); ++i) {
        const auto piece = encoded.pieces(static_cast<int>(i));
        pieces.push_back(Piece{static_cast<int32_t>(piece.id()), piece.begin(), piece.end()});
    }
    tileSpans(spm, pieces, static_cast<uint32_t>(line.size()));
    return pieces;
}

}  // namespace

extern "C" {

int32_t mm_spm_abi_version(void)
{
    return MM_SPM_ABI_VERSION;
}

mm_spm* mm_spm_load(const char* model_path, char* err,
                                                          size_t err_cap)
{
    try {
        auto spm = std::make_unique<mm_spm>();
        const auto status = spm->processor.Load(model_path);
        if (!status.ok()) {
            writeError(err, err_cap, status.ToString());
            return nullptr;
        }
        spm->newlineId = spm->processor.PieceToId("<0x0A>");
        if (spm->newlineId == spm->processor.unk_id() || !spm->processor.IsByte(spm->newlineId)) {
            writeError(err, err_cap, "model has no byte piece <0x0A> (trained without --byte_fallback?)");
            return nullptr;
        }
        return spm.release();
    } catch (const std::exception& e) {
        writeError(err, err_cap, e.what());
        return nullptr;
    }
}

void mm_spm_free(mm_spm* spm)
{
    delete spm;
}

int32_t mm_spm_vocab_size(const mm_spm* spm)
{
    return spm->processor.GetPieceSize();
}
int32_t mm_spm_unk_id(const mm_spm* spm)
{
    return spm->processor.unk_id();
}
int32_t mm_spm_bos_id(const mm_spm* spm)
{
    return spm->processor.bos_id();
}
int32_t mm_spm_eos_id(const mm_spm* spm)
{
    return spm->processor.eos_id();
}
int32_t mm_spm_pad_id(const mm_spm* spm)
{
    return spm->processor.pad_id();
}

int64_t mm_spm_encode(const mm_spm* spm, const char* text,
                                                            size_t len, int32_t* ids,
                                                            uint32_t* begins, uint32_t* ends,
                                                            size_t cap, char* err, size_t err_cap)
{
    try {
        if (len >= UINT32_MAX) {
            writeError(err, err_cap, "text too long to encode: " + std::to_string(len) + " bytes");
            return -1;
        }
        // Line-canonical: each line is encoded on its own and each '\n' is the byte
        // piece <0x0A>. No piece holds a newline, so this is a segmentation the model
        // could pick anyway; it makes encode(a + "\n" + b) equal encode(a), <0x0A>,
        // encode(b), so a text encoded whole or in pieces cut at newlines gives the
        // same ids. (Over a whole book, sentencepiece's Viterbi breaks exact score ties
        // by the rounding of the path score so far: "caution" came out as ca|ut|ion or
        // c|au|tion depending on what preceded it.)
        const std::string_view all(text, len);
        std::vector<Piece> pieces;
        pieces.reserve(len / 3 + 16);
        size_t lineBegin = 0;
        while (lineBegin < len) {
            const size_t newline = std::min(all.find('\n', lineBegin), len);
            if (newline > lineBegin) {
                std::vector<Piece> linePieces = encodeLine(*spm, all.substr(lineBegin, newline - lineBegin));
                for (Piece& p : linePieces) {
                    p.begin += static_cast<uint32_t>(lineBegin);
                    p.end += static_cast<uint32_t>(lineBegin);
                }
                pieces.insert(pieces.end(), linePieces.begin(), linePieces.end());
            }
            if (newline < len) {
                const auto at = static_cast<uint32_t>(newline);
                pieces.push_back(Piece{spm->newlineId, at, at + 1});
            }
            lineBegin = newline + 1;
        }
        const size_t n = std::min(cap, pieces.size());
        for (size_t i = 0; i < n; ++i) {
            ids[i] = pieces[i].id;
            begins[i] = pieces[i].begin;
            ends[i] = pieces[i].end;
        }
        return static_cast<int64_t>(pieces.size());
    } catch (const std::exception& e) {
        writeError(err, err_cap, std::string("encode failed: ") + e.what());
        return -1;
    }
}

int64_t mm_spm_decode(const mm_spm* spm, const int32_t* ids,
                                                            size_t n, char* out, size_t cap,
                                                            char* err, size_t err_cap)
{
    try {
        const int32_t vocab = spm->processor.GetPieceSize();
        std::vector<int> idVector(ids, ids + n);
        for (size_t i = 0; i < n; ++i) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                writeError(err, err_cap,
                           "cannot decode token id " + std::to_string(ids[i]) + " at position " +
                               std::to_string(i) + ": vocabulary has " + std::to_string(vocab) +
                               " ids");
                return -1;
            }
        }
        std::string text;
        const auto status = spm->processor.Decode(idVector, &text);
        if (!status.ok()) {
            writeError(err, err_cap, "decode failed: " + status.ToString());
            return -1;
        }
        std::memcpy(out, text.data(), std::min(cap, text.size()));
        return static_cast<int64_t>(text.size());
    } catch (const std::exception& e) {
        writeError(err, err_cap, std::string("decode failed: ") + e.what());
        return -1;
    }
}

int64_t mm_spm_id_to_piece(const mm_spm* spm, int32_t id,
                                                                 char* out, size_t cap)
{
    if (id < 0 || id >= spm->processor.GetPieceSize())
        return -1;
    const std::string& piece = spm->processor.IdToPiece(id);
    std::memcpy(out, piece.data(), std::min(cap, piece.size()));
    return static_cast<int64_t>(piece.size());
}

int32_t mm_spm_piece_to_id(const mm_spm* spm,
                                                                 const char* piece, size_t len)
{
    return spm->processor.PieceToId(absl::string_view(piece, len));
}

}  // extern "C"
