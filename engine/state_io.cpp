#include "engine/state_io.h"

#include <cstring>

namespace mm::engine {

namespace {

constexpr char kMagic[8] = {'M', 'M', 'S', 'T', 'A', 'T', 'E', '\0'};

uint32_t tag(const char (&s)[5])
{
    return uint32_t(uint8_t(s[0])) | uint32_t(uint8_t(s[1])) << 8 | uint32_t(uint8_t(s[2])) << 16 |
           uint32_t(uint8_t(s[3])) << 24;
}

std::string tagName(uint32_t t)
{
    std::string s(4, ' ');
    for (int i = 0; i < 4; ++i)
        s[i] = static_cast<char>((t >> (8 * i)) & 0xff);
    return s;
}

std::string shortFingerprint(const std::string& f)
{
    return f.size() > 16 ? f.substr(0, 16) + "..." : (f.empty() ? std::string("(none)") : f);
}

class Writer {
public:
    std::vector<uint8_t> bytes;
    void raw(const void* p, size_t n)
    {
        const auto* b = static_cast<const uint8_t*>(p);
        bytes.insert(bytes.end(), b, b + n);
    }
    template <typename T>
    void pod(T v) { raw(&v, sizeof v); }  // the host is little-endian (checked at load)
    void str(const std::string& s)
    {
        pod<uint32_t>(static_cast<uint32_t>(s.size()));
        raw(s.data(), s.size());
    }
    void values(const at::Tensor& t)
    {
        const at::Tensor c = t.detach().to(at::kCPU).contiguous();
        raw(c.data_ptr(), static_cast<size_t>(c.numel()) * c.element_size());
    }
};

class Reader {
public:
    Reader(const uint8_t* d, size_t n) : m_data(d), m_size(n) {}
    std::string where = "header";

    void raw(void* p, size_t n)
    {
        if (n > m_size - m_pos)
            throw StateFormatError("truncated state: " + where + " needs " + std::to_string(n) + " more bytes, " +
                                   std::to_string(m_size - m_pos) + " left");
        std::memcpy(p, m_data + m_pos, n);
        m_pos += n;
    }
    template <typename T>
    T pod()
    {
        T v;
        raw(&v, sizeof v);
        return v;
    }
    std::string str()
    {
        const uint32_t n = pod<uint32_t>();
        std::string s(n, '\0');
        raw(s.data(), n);
        return s;
    }
    at::Tensor values(std::vector<int64_t> shape, at::ScalarType type)
    {
        at::Tensor t = at::empty(shape, at::TensorOptions().dtype(type));
        raw(t.data_ptr(), static_cast<size_t>(t.numel()) * t.element_size());
        return t;
    }
    size_t pos() const { return m_pos; }
    size_t left() const { return m_size - m_pos; }

private:
    const uint8_t* m_data;
    size_t m_size;
    size_t m_pos = 0;
};

uint32_t dtypeCode(at::ScalarType t)
{
    if (t == at::kFloat)
        return 1;
    if (t == at::kDouble)
        return 2;
    throw StateFormatError("state: cannot serialise a state of dtype " + std::string(c10::toString(t)));
}

void writeSection(Writer& w, uint32_t sectionTag, uint32_t layer, const Writer& payload)
{
    w.pod<uint32_t>(sectionTag);
    w.pod<uint32_t>(layer);
    w.pod<uint64_t>(payload.bytes.size());
    w.raw(payload.bytes.data(), payload.bytes.size());
}

void checkDim(const char* name, uint32_t got, int64_t want)
{
    if (int64_t(got) != want)
        throw StateFormatError(std::string("state ") + name + " is " + std::to_string(got) + ", this model's is " +
                               std::to_string(want));
}

}  // namespace

std::vector<uint8_t> serializeState(const Model& m, const ModelState& s)
{
    const ModelConfig& c = m.config;
    const int64_t M = c.notes ? c.pool_slots : 0;
    Writer w;
    w.raw(kMagic, 8);
    w.pod<uint32_t>(kStateFormatVersion);
    w.str(m.fingerprint);
    w.str(c.tokenizer_fingerprint);
    for (int64_t v : {c.n_layer, c.d_model, c.dInner(), c.d_state, c.d_conv, M, c.note_dim, c.notes_per_chunk})
        w.pod<uint32_t>(static_cast<uint32_t>(v));
    const at::ScalarType type = m.options.dtype().toScalarType();
    w.pod<uint32_t>(dtypeCode(type));
    w.pod<int64_t>(s.position);
    w.pod<int32_t>(s.last_token);
    w.pod<uint8_t>(s.last_hidden.defined() ? 1 : 0);
    if (s.last_hidden.defined())
        w.values(s.last_hidden.to(type));
    for (int64_t l = 0; l < c.n_layer; ++l) {
        const LayerState& ls = s.layers[l];
        const auto layer = static_cast<uint32_t>(l);
        Writer conv, ssm, pool, cand;
        conv.values(ls.conv.to(type));
        writeSection(w, tag("CONV"), layer, conv);
        ssm.values(ls.ssm.to(type));
        writeSection(w, tag("SSM_"), layer, ssm);
        pool.pod<uint32_t>(static_cast<uint32_t>(ls.pool.fill));
        for (int64_t i = 0; i < M; ++i) {
            pool.pod<int64_t>(ls.pool.position[i]);
            pool.pod<float>(ls.pool.priority[i]);
        }
        pool.values(ls.pool_values.to(type));
        writeSection(w, tag("POOL"), layer, pool);
        cand.pod<uint32_t>(static_cast<uint32_t>(ls.pool.candidates.size()));
        for (const NoteCandidate& k : ls.pool.candidates) {
            cand.pod<int64_t>(k.position);
            cand.pod<float>(k.priority);
        }
        cand.values(ls.cand_values.to(type));
        writeSection(w, tag("CAND"), layer, cand);
    }
    w.pod<uint32_t>(tag("END_"));
    return w.bytes;
}

ModelState deserializeState(const Model& m, const uint8_t* data, size_t size)
{
    const ModelConfig& c = m.config;
    Reader r(data, size);
    char magic[8];
    if (size < 8)
        throw StateFormatError("not a MemMamba state: " + std::to_string(size) + " bytes, too short for the header");
    r.raw(magic, 8);
    if (std::memcmp(magic, kMagic, 8) != 0)
        throw StateFormatError("not a MemMamba state (bad magic)");
    const uint32_t version = r.pod<uint32_t>();
    if (version > kStateFormatVersion)
        throw StateFormatError("state format " + std::to_string(version) + " is newer than this build's " +
                                   std::to_string(kStateFormatVersion),
                               LoadErrorKind::FormatVersion);
    if (version < 1)
        throw StateFormatError("state format " + std::to_string(version) + " is not a valid version",
                               LoadErrorKind::FormatVersion);
    const std::string modelFp = r.str();
    if (modelFp != m.fingerprint)
        throw StateFormatError("state was made by model " + shortFingerprint(modelFp) + ", this is " +
                                   shortFingerprint(m.fingerprint),
                               LoadErrorKind::ModelMismatch);
    const std::string tokFp = r.str();
    if (tokFp != c.tokenizer_fingerprint)
        throw StateFormatError("state was made with tokenizer " + shortFingerprint(tokFp) + ", this model uses " +
                                   shortFingerprint(c.tokenizer_fingerprint),
                               LoadErrorKind::TokenizerMismatch);
    const int64_t M = c.notes ? c.pool_slots : 0;
    checkDim("layer count", r.pod<uint32_t>(), c.n_layer);
    checkDim("d_model", r.pod<uint32_t>(), c.d_model);
    checkDim("d_inner", r.pod<uint32_t>(), c.dInner());
    checkDim("d_state", r.pod<uint32_t>(), c.d_state);
    checkDim("d_conv", r.pod<uint32_t>(), c.d_conv);
    checkDim("pool size", r.pod<uint32_t>(), M);
    checkDim("note dims", r.pod<uint32_t>(), c.note_dim);
    checkDim("notes per chunk", r.pod<uint32_t>(), c.notes_per_chunk);
    const at::ScalarType type = m.options.dtype().toScalarType();
    const uint32_t code = r.pod<uint32_t>();
    if (code != dtypeCode(type))
        throw StateFormatError("state dtype code " + std::to_string(code) + " does not match this model's " +
                               std::string(c10::toString(type)));

    ModelState s = newState(m);
    s.position = r.pod<int64_t>();
    s.last_token = r.pod<int32_t>();
    if (s.position < 0)
        throw StateFormatError("state position " + std::to_string(s.position) + " is negative");
    if (r.pod<uint8_t>()) {
        r.where = "last hidden state";
        s.last_hidden = r.values({c.d_model}, type).to(m.options);
    }
    const int64_t E = c.dInner(), rd = c.note_dim;
    for (int64_t l = 0; l < c.n_layer; ++l) {
        LayerState& ls = s.layers[l];
        auto section = [&](const char(&name)[5], const char* what) {
            r.where = "layer " + std::to_string(l) + " " + what + " section";
            const uint32_t t = r.pod<uint32_t>();
            const uint32_t layer = r.pod<uint32_t>();
            const uint64_t bytes = r.pod<uint64_t>();
            if (t != tag(name) || layer != uint32_t(l))
                throw StateFormatError("malformed state: expected " + r.where + ", found tag '" + tagName(t) +
                                       "' of layer " + std::to_string(layer));
            if (bytes > r.left())
                throw StateFormatError("truncated state: " + r.where + " has " + std::to_string(bytes) + " bytes, " +
                                       std::to_string(r.left()) + " left");
            return std::pair<uint64_t, size_t>(bytes, r.pos());
        };
        auto checkEnd = [&](std::pair<uint64_t, size_t> sec) {
            if (r.pos() - sec.second != sec.first)
                throw StateFormatError("malformed state: " + r.where + " is " + std::to_string(sec.first) +
                                       " bytes, its contents " + std::to_string(r.pos() - sec.second));
        };
        auto sec = section("CONV", "conv");
        ls.conv = r.values({c.d_conv - 1, E}, type).to(m.options);
        checkEnd(sec);
        sec = section("SSM_", "ssm");
        ls.ssm = r.values({E, c.d_state}, type).to(m.options);
        checkEnd(sec);
        sec = section("POOL", "pool");
        ls.pool.fill = r.pod<uint32_t>();
        int64_t occupied = 0;
        for (int64_t i = 0; i < M; ++i) {
            ls.pool.position[i] = r.pod<int64_t>();
            ls.pool.priority[i] = r.pod<float>();
            occupied += ls.pool.position[i] >= 0;
            if (ls.pool.position[i] >= s.position)
                throw StateFormatError("malformed state: " + r.where + " holds position " +
                                       std::to_string(ls.pool.position[i]) + ", not yet read");
        }
        if (occupied != ls.pool.fill)
            throw StateFormatError("malformed state: " + r.where + " says " + std::to_string(ls.pool.fill) +
                                   " slots are filled, " + std::to_string(occupied) + " are");
        ls.pool_values = r.values({M, rd}, type).to(m.options);
        checkEnd(sec);
        sec = section("CAND", "candidates");
        const uint32_t count = r.pod<uint32_t>();
        if (int64_t(count) > c.notes_per_chunk)
            throw StateFormatError("malformed state: " + r.where + " has " + std::to_string(count) +
                                   " candidates, more than notes_per_chunk");
        for (uint32_t i = 0; i < count; ++i) {
            NoteCandidate k;
            k.position = r.pod<int64_t>();
            k.priority = r.pod<float>();
            ls.pool.candidates.push_back(k);
        }
        ls.cand_values = r.values({int64_t(count), rd}, type).to(m.options);
        checkEnd(sec);
    }
    r.where = "end marker";
    const uint32_t end = r.pod<uint32_t>();
    if (end != tag("END_"))
        throw StateFormatError("malformed state: expected the end marker, found '" + tagName(end) + "'");
    if (r.left() != 0)
        throw StateFormatError("malformed state: " + std::to_string(r.left()) + " bytes after the end marker");
    return s;
}

}  // namespace mm::engine
