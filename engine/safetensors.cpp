#include "engine/safetensors.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

namespace mm::engine {

namespace {

static_assert(sizeof(float) == 4, "float must be 32-bit");

bool hostIsLittleEndian()
{
    const uint16_t one = 1;
    uint8_t first;
    std::memcpy(&first, &one, 1);
    return first == 1;
}

std::string dtypeName(at::ScalarType t)
{
    if (t == at::kFloat)
        return "F32";
    if (t == at::kBFloat16)
        return "BF16";
    throw SafetensorsError("safetensors: cannot store dtype " + std::string(c10::toString(t)) + " (only F32, BF16)");
}

}  // namespace

SafetensorsFile readSafetensors(const std::string& path)
{
    if (!hostIsLittleEndian())
        throw SafetensorsError("safetensors: big-endian hosts are not supported");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw SafetensorsError(path + ": cannot open weights file");
    in.seekg(0, std::ios::end);
    const uint64_t fileSize = static_cast<uint64_t>(in.tellg());
    in.seekg(0);
    uint8_t lenBytes[8];
    if (fileSize < 8 || !in.read(reinterpret_cast<char*>(lenBytes), 8))
        throw SafetensorsError(path + ": truncated safetensors file (no header length)");
    uint64_t headerLen = 0;
    for (int i = 7; i >= 0; --i)
        headerLen = (headerLen << 8) | lenBytes[i];
    if (headerLen > fileSize - 8)
        throw SafetensorsError(path + ": header length " + std::to_string(headerLen) + " exceeds the file size");
    std::string headerText(headerLen, '\0');
    in.read(headerText.data(), static_cast<std::streamsize>(headerLen));
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(headerText);
    } catch (const nlohmann::json::exception& e) {
        throw SafetensorsError(path + ": header is not valid JSON (" + e.what() + ")");
    }
    if (!header.is_object())
        throw SafetensorsError(path + ": header is not a JSON object");
    const uint64_t dataStart = 8 + headerLen, dataSize = fileSize - dataStart;
    std::vector<char> data(dataSize);
    if (dataSize && !in.read(data.data(), static_cast<std::streamsize>(dataSize)))
        throw SafetensorsError(path + ": cannot read the data section");

    SafetensorsFile out;
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == "__metadata__") {
            for (auto m = it->begin(); m != it->end(); ++m)
                if (m->is_string())
                    out.metadata[m.key()] = m->get<std::string>();
            continue;
        }
        const std::string& name = it.key();
        try {
            const std::string dtype = it->at("dtype").get<std::string>();
            const auto shape = it->at("shape").get<std::vector<int64_t>>();
            const auto offsets = it->at("data_offsets").get<std::vector<uint64_t>>();
            at::ScalarType type;
            size_t elemSize;
            if (dtype == "F32")
                type = at::kFloat, elemSize = 4;
            else if (dtype == "BF16")
                type = at::kBFloat16, elemSize = 2;
            else
                throw SafetensorsError(path + ": tensor " + name + " has dtype " + dtype +
                                       ", this build reads F32 and BF16");
            uint64_t count = 1;
            for (int64_t s : shape) {
                if (s < 0)
                    throw SafetensorsError(path + ": tensor " + name + " has a negative dimension");
                count *= static_cast<uint64_t>(s);
            }
            if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > dataSize)
                throw SafetensorsError(path + ": tensor " + name + " has data offsets outside the file (truncated?)");
            if (offsets[1] - offsets[0] != count * elemSize)
                throw SafetensorsError(path + ": tensor " + name + " has " + std::to_string(offsets[1] - offsets[0]) +
                                       " bytes, its shape needs " + std::to_string(count * elemSize));
            at::Tensor t = at::empty(shape, at::TensorOptions().dtype(type));
            if (count)
                std::memcpy(t.data_ptr(), data.data() + offsets[0], count * elemSize);
            out.tensors[name] = t;
        } catch (const nlohmann::json::exception& e) {
            throw SafetensorsError(path + ": header entry for " + name + " is malformed (" + e.what() + ")");
        }
    }
    return out;
}

void writeSafetensors(const std::string& path, const std::map<std::string, at::Tensor>& tensors,
                      at::ScalarType dtype, const std::map<std::string, std::string>& metadata)
{
    if (!hostIsLittleEndian())
        throw SafetensorsError("safetensors: big-endian hosts are not supported");
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty())
        header["__metadata__"] = metadata;
    std::vector<at::Tensor> ordered;
    uint64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {  // std::map: sorted by name
        at::Tensor t = tensor.detach().to(at::kCPU).to(dtype).contiguous();
        const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
        header[name] = {{"dtype", dtypeName(dtype)}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
        ordered.push_back(t);
    }
    std::string headerText = header.dump();
    while ((headerText.size() + 8) % 8 != 0)  // the format's recommended alignment
        headerText.push_back(' ');
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out)
            throw SafetensorsError(tmp + ": cannot create weights file");
        uint8_t lenBytes[8];
        uint64_t len = headerText.size();
        for (int i = 0; i < 8; ++i, len >>= 8)
            lenBytes[i] = static_cast<uint8_t>(len & 0xff);
        out.write(reinterpret_cast<const char*>(lenBytes), 8);
        out.write(headerText.data(), static_cast<std::streamsize>(headerText.size()));
        for (const at::Tensor& t : ordered)
            out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * t.element_size()));
        if (!out.flush())
            throw SafetensorsError(tmp + ": write failed (disk full?)");
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
        throw SafetensorsError(path + ": cannot replace the weights file");
}

}  // namespace mm::engine
