// SHA-256, for fingerprints of the tokenizer, the model weights and saved states.
// Plain C++ (the engine links no Qt and no crypto library); checked against the
// FIPS 180-2 test vectors in tests/tokenizer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mm {

class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t size);
    void update(std::string_view s) { update(s.data(), s.size()); }
    std::string hexDigest();  ///< finishes; 64 lower-case hex characters

private:
    void compress(const uint8_t* block);
    uint32_t m_state[8];
    uint8_t m_buffer[64];
    uint64_t m_bytes = 0;
    size_t m_fill = 0;
};

std::string sha256Hex(const void* data, size_t size);
std::string sha256FileHex(const std::string& path);  ///< throws std::runtime_error

}  // namespace mm
