// Tokenizer: loads libmemmamba_spm.so with dlopen and calls its C API (spm_c_api.h).
//
// Threads: after load() every member is read-only and each call uses its own
// buffers, and the module's encode/decode are const calls on sentencepiece's
// processor, so one Tokenizer may encode and decode on several threads at once.
#include "engine/tokenizer/tokenizer.h"

#include "engine/tokenizer/spm_c_api.h"
#include "engine/util/sha256.h"

#include <dlfcn.h>

#include <filesystem>
#include <system_error>

namespace mm {

namespace {

constexpr size_t kErrorCapacity = 1024;

/// The module's functions, resolved by name.
struct ModuleApi {
    decltype(&mm_spm_abi_version) abiVersion = nullptr;
    decltype(&mm_spm_load) load = nullptr;
    decltype(&mm_spm_free) free = nullptr;
    decltype(&mm_spm_vocab_size) vocabSize = nullptr;
    decltype(&mm_spm_unk_id) unkId = nullptr;
    decltype(&mm_spm_bos_id) bosId = nullptr;
    decltype(&mm_spm_eos_id) eosId = nullptr;
    decltype(&mm_spm_pad_id) padId = nullptr;
    decltype(&mm_spm_encode) encode = nullptr;
    decltype(&mm_spm_decode) decode = nullptr;
    decltype(&mm_spm_id_to_piece) idToPiece = nullptr;
    decltype(&mm_spm_piece_to_id) pieceToId = nullptr;
};

template <typename Function>
void resolve(void* library, const std::string& modulePath, const char* name, Function& function)
{
    dlerror();
    void* symbol = dlsym(library, name);
    if (symbol == nullptr)
        throw TokenizerError("tokenizer module " + modulePath + " lacks the function " + name +
                             " (not a memmamba_spm module, or an old build)");
    function = reinterpret_cast<Function>(symbol);
}

bool isRegularFile(const std::string& path)
{
    std::error_code error;
    return std::filesystem::is_regular_file(path, error);
}

}  // namespace

struct Tokenizer::Impl {
    void* library = nullptr;
    ModuleApi api;
    mm_spm* spm = nullptr;
    std::string modelPath;
    std::string fingerprint;
    int32_t vocabSize = 0;
    int32_t unk = 0, bos = 0, eos = 0, pad = 0;
    int32_t doc = 0, question = 0, answer = 0;

    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl()
    {
        if (spm != nullptr)
            api.free(spm);
        if (library != nullptr)
            dlclose(library);
    }

    void openModule(const std::string& path)
    {
        if (path.find('/') != std::string::npos && !isRegularFile(path))
            throw TokenizerError("tokenizer module not found: " + path +
                                 " (build the target memmamba_spm or set MEMMAMBA_SPM_MODULE)");
        // RTLD_DEEPBIND: the module's own protobuf (inside libsentencepiece) wins over
        // LibTorch's in this process. RTLD_NODELETE: never unmapped, so no exit-time
        // destructor of its protobuf runs against an unloaded library.
        library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND | RTLD_NODELETE);
        if (library == nullptr) {
            const char* reason = dlerror();
            throw TokenizerError("cannot load tokenizer module " + path + ": " +
                                 (reason != nullptr ? reason : "unknown dlopen error"));
        }
        resolve(library, path, "mm_spm_abi_version", api.abiVersion);
        if (const int32_t version = api.abiVersion(); version != MM_SPM_ABI_VERSION)
            throw TokenizerError("tokenizer module " + path + " has ABI version " +
                                 std::to_string(version) + ", this program needs " +
                                 std::to_string(MM_SPM_ABI_VERSION));
        resolve(library, path, "mm_spm_load", api.load);
        resolve(library, path, "mm_spm_free", api.free);
        resolve(library, path, "mm_spm_vocab_size", api.vocabSize);
        resolve(library, path, "mm_spm_unk_id", api.unkId);
        resolve(library, path, "mm_spm_bos_id", api.bosId);
        resolve(library, path, "mm_spm_eos_id", api.eosId);
        resolve(library, path, "mm_spm_pad_id", api.padId);
        resolve(library, path, "mm_spm_encode", api.encode);
        resolve(library, path, "mm_spm_decode", api.decode);
        resolve(library, path, "mm_spm_id_to_piece", api.idToPiece);
        resolve(library, path, "mm_spm_piece_to_id", api.pieceToId);
    }

    void loadModel(const std::string& path)
    {
        if (!isRegularFile(path))
            throw TokenizerError("tokenizer model not found: " + path);
        char error[kErrorCapacity] = {};
        spm = api.load(path.c_str(), error, sizeof(error));
        if (spm == nullptr)
            throw TokenizerError("tokenizer model is corrupt or not a sentencepiece model: " +
                                 path + " (" + error + ")");
        modelPath = path;
        vocabSize = api.vocabSize(spm);
        unk = api.unkId(spm);
        bos = api.bosId(spm);
        eos = api.eosId(spm);
        pad = api.padId(spm);
        doc = controlSymbol("<doc>");
        question = controlSymbol("<q>");
        answer = controlSymbol("<a>");
        fingerprint = "spm-unigram-" + std::to_string(vocabSize) + ":" + sha256FileHex(path);
    }

    int32_t controlSymbol(const std::string& piece) const
    {
        const int32_t id = api.pieceToId(spm, piece.data(), piece.size());
        if (id == unk)
            throw TokenizerError("tokenizer model " + modelPath + " lacks the control symbol " +
                                 piece);
        return id;
    }
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : d(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string& modelPath,
                                           const std::string& modulePath)
{
    auto impl = std::make_unique<Impl>();
    impl->openModule(modulePath.empty() ? spmModulePath() : modulePath);
    impl->loadModel(modelPath);
    return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(impl)));
}

std::unique_ptr<Tokenizer> Tokenizer::loadDefault()
{
    return load(defaultTokenizerModelPath());
}

std::vector<TokenSpan> Tokenizer::encodeWithSpans(std::string_view utf8) const
{
    // A text of n bytes encodes to at most n tokens, so one call normally suffices.
    size_t capacity = utf8.size() + 1;
    for (;;) {
        std::vector<int32_t> ids(capacity);
        std::vector<uint32_t> begins(capacity), ends(capacity);
        char error[kErrorCapacity] = {};
        const int64_t count = d->api.encode(d->spm, utf8.data(), utf8.size(), ids.data(),
                                            begins.data(), ends.data(), capacity, error,
                                            sizeof(error));
        if (count < 0)
            throw TokenizerError(std::string("tokenizer: ") + error);
        if (static_cast<size_t>(count) > capacity) {
            capacity = static_cast<size_t>(count);
            continue;
        }
        std::vector<TokenSpan> spans(static_cast<size_t>(count));
        for (size_t i = 0; i < spans.size(); ++i)
            spans[i] = TokenSpan{ids[i], begins[i], ends[i]};
        return spans;
    }
}

std::vector<int32_t> Tokenizer::encode(std::string_view utf8) const
{
    const std::vector<TokenSpan> spans = encodeWithSpans(utf8);
    std::vector<int32_t> ids;
    ids.reserve(spans.size());
    for (const TokenSpan& span : spans)
        ids.push_back(span.id);
    return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const
{
    // Pieces are at most 16 characters; most are far shorter, so start at 8 bytes a token.
    size_t capacity = ids.size() * 8 + 64;
    for (;;) {
        std::string text(capacity, '\0');
        char error[kErrorCapacity] = {};
        const int64_t size = d->api.decode(d->spm, ids.data(), ids.size(), text.data(), capacity,
                                           error, sizeof(error));
        if (size < 0)
            throw TokenizerError(std::string("tokenizer: ") + error);
        if (static_cast<size_t>(size) > capacity) {
            capacity = static_cast<size_t>(size);
            continue;
        }
        text.resize(static_cast<size_t>(size));
        return text;
    }
}

std::string Tokenizer::idToPiece(int32_t id) const
{
    std::string piece(64, '\0');
    int64_t size = d->api.idToPiece(d->spm, id, piece.data(), piece.size());
    if (size < 0)
        throw TokenizerError("tokenizer: token id " + std::to_string(id) + " is outside [0, " +
                             std::to_string(d->vocabSize) + ")");
    if (static_cast<size_t>(size) > piece.size()) {
        piece.assign(static_cast<size_t>(size), '\0');
        size = d->api.idToPiece(d->spm, id, piece.data(), piece.size());
    }
    piece.resize(static_cast<size_t>(size));
    return piece;
}

int32_t Tokenizer::pieceToId(std::string_view piece) const
{
    return d->api.pieceToId(d->spm, piece.data(), piece.size());
}

int32_t Tokenizer::vocabSize() const { return d->vocabSize; }
int32_t Tokenizer::unkId() const { return d->unk; }
int32_t Tokenizer::bosId() const { return d->bos; }
int32_t Tokenizer::eosId() const { return d->eos; }
int32_t Tokenizer::padId() const { return d->pad; }
int32_t Tokenizer::docSeparatorId() const { return d->doc; }
int32_t Tokenizer::questionId() const { return d->question; }
int32_t Tokenizer::answerId() const { return d->answer; }
const std::string& Tokenizer::fingerprint() const { return d->fingerprint; }
const std::string& Tokenizer::modelPath() const { return d->modelPath; }

}  // namespace mm
