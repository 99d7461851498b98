// The tokenizer: a sentencepiece unigram model (resources/tokenizer/) behind a small
// C++ API that does not link sentencepiece.
//
// Why a module: Debian's libsentencepiece bundles protobuf 3.14 and LibTorch uses
// protobuf 3.21; a process linking both crashes at start. Every sentencepiece call
// lives in the MODULE library memmamba_spm (spm_module.cpp, an extern "C" API), loaded
// with dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND), so its protobuf symbols resolve
// inside the module. Nothing else may link sentencepiece.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mm {

class TokenizerError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One token and the bytes of the source text it covers: [begin, end) in UTF-8 bytes.
/// The spans of an encoding tile the source exactly: the first begins at 0, each
/// begins where the previous ended, the last ends at the text's size.
struct TokenSpan {
    int32_t id = 0;
    uint32_t begin = 0;
    uint32_t end = 0;
};

class Tokenizer {
public:
    /// Loads the model at modelPath through the module at modulePath (empty: found by
    /// spmModulePath()). Throws TokenizerError naming the missing or broken file.
    static std::unique_ptr<Tokenizer> load(const std::string& modelPath,
                                           const std::string& modulePath = {});
    /// The shipped tokenizer (defaultTokenizerModelPath()).
    static std::unique_ptr<Tokenizer> loadDefault();
    ~Tokenizer();

    std::vector<int32_t> encode(std::string_view utf8) const;
    std::vector<TokenSpan> encodeWithSpans(std::string_view utf8) const;
    std::string decode(const std::vector<int32_t>& ids) const;
    std::string idToPiece(int32_t id) const;
    int32_t pieceToId(std::string_view piece) const;  ///< unkId() when absent
    int32_t vocabSize() const;

    int32_t unkId() const;
    int32_t bosId() const;
    int32_t eosId() const;
    int32_t padId() const;
    int32_t docSeparatorId() const;  ///< "<doc>": between documents
    int32_t questionId() const;      ///< "<q>": starts a question
    int32_t answerId() const;        ///< "<a>": starts an answer

    /// "spm-unigram-8192:" + SHA-256 (hex) of the model file: states and models record
    /// it, and a state made with another tokenizer is refused.
    const std::string& fingerprint() const;
    const std::string& modelPath() const;

private:
    struct Impl;
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> d;
};

/// Where the tokenizer module is: $MEMMAMBA_SPM_MODULE, else next to the executable
/// (../lib/libmemmamba_spm.so, ../lib/memmamba/libmemmamba_spm.so), else the build tree.
std::string spmModulePath();
/// The resources folder: $MEMMAMBA_RESOURCES, else ../share/memmamba beside the
/// executable, else the source tree's resources/ (for builds run in place).
std::string resourceDir();
std::string defaultTokenizerModelPath();  ///< resourceDir() + "/tokenizer/memmamba.model"

}  // namespace mm
