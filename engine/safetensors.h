// safetensors files: an 8-byte little-endian header length, a JSON header
// {"name": {"dtype": "F32"|"BF16", "shape": [...], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {...}}, then the raw little-endian data. Only F32 and BF16 are read
// and written (the engine's two storage types).
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <stdexcept>
#include <string>

namespace mm::engine {

class SafetensorsError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct SafetensorsFile {
    std::map<std::string, at::Tensor> tensors;   ///< CPU tensors in their stored dtype
    std::map<std::string, std::string> metadata;
};

/// Throws SafetensorsError naming the file and the problem (missing, truncated, bad
/// header, unsupported dtype, offsets out of range).
SafetensorsFile readSafetensors(const std::string& path);
/// Writes the tensors converted to dtype (at::kFloat or at::kBFloat16), keys sorted.
/// Writes to path + ".tmp" then renames, so a failed save leaves any old file intact.
void writeSafetensors(const std::string& path, const std::map<std::string, at::Tensor>& tensors,
                      at::ScalarType dtype, const std::map<std::string, std::string>& metadata = {});

}  // namespace mm::engine
