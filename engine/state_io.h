// The streaming state as bytes (format version 1, little-endian):
//   "MMSTATE\0", u32 format version,
//   str model fingerprint, str tokenizer fingerprint          (str: u32 length + bytes)
//   u32 n_layer, d_model, d_inner, d_state, d_conv, pool slots M (0 when notes are off),
//       note dims r, notes per chunk k, dtype (1 float32, 2 float64)
//   i64 position, i32 last token, u8 has hidden, [d_model values: last final-normed hidden]
//   per layer l, four sections, each "u32 tag, u32 layer, u64 byte size, payload":
//     CONV  (d_conv - 1) x d_inner values, oldest input first
//     SSM_  d_inner x d_state values
//     POOL  u32 fill, M x (i64 position, f32 priority), M x r values
//     CAND  u32 count, count x (i64 position, f32 priority), count x r values
//   u32 tag "END_".
// The loader names the first mismatch: another model, another tokenizer, a newer format,
// other dimensions, or which section of which layer is truncated or malformed.
#pragma once

#include "engine/engine.h"
#include "engine/model.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace mm::engine {

constexpr uint32_t kStateFormatVersion = 1;

class StateFormatError : public std::runtime_error {
public:
    explicit StateFormatError(const std::string& message, LoadErrorKind kind = LoadErrorKind::Corrupt)
        : std::runtime_error(message), m_kind(kind)
    {
    }
    LoadErrorKind kind() const { return m_kind; }

private:
    LoadErrorKind m_kind;
};

std::vector<uint8_t> serializeState(const Model& m, const ModelState& s);
/// Throws StateFormatError; the model is untouched.
ModelState deserializeState(const Model& m, const uint8_t* data, size_t size);

}  // namespace mm::engine
