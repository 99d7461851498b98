// Training data: the book corpus as one token stream, and the batches drawn from it.
//
// The stream is "<doc> book0 <doc> book1 ...": a window of the stream crosses from one
// book into the next only through the <doc> separator (id 4), as documents are read in
// the reader. Windows start anywhere in the stream (uniform over tokens, so longer books
// give proportionally more windows).
//
// A share of the rows (--synthetic, default 8%) starts with a short synthetic retrieval
// sample: passkey or multi-key from engine/eval's generators (filler either the repeated
// sentences or a book excerpt), or a planted fact asked in `ask`'s layout (facts.h),
// followed by its question and answer, then <doc> and a book window filling the row.
// With SamplerOptions::syntheticPacked (--synthetic-packed) such a row instead holds
// synthetic samples one after the other, then the book window.
//
// Samples never share state (SamplerOptions::isolate, the default): each sample and the
// book window after them start at a note-chunk boundary (the gap is <pad>, not trained)
// and are listed in Batch::segmentStarts, where the forward resets the SSM, conv and
// pool state (batched_forward.h). Without it an earlier sample's key would still be in
// memory when a later one asks.
// Its random stream is seeded through
// std::seed_seq with the tag "memmamba-train-synthetic", while evaluation seeds
// std::mt19937_64 directly with caseSeed(): the two never draw the same sequence of cases.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace mm {
class Tokenizer;
}

namespace mm::engine::train {

struct TokenCorpus {
    std::vector<int32_t> stream;     ///< <doc> book <doc> book ...
    std::vector<int64_t> bookStart;  ///< stream index of each book's <doc>
    std::vector<std::string> names;  ///< file name of each book
    int64_t bookTokens(size_t i) const;  ///< tokens of book i (its <doc> excluded)
};

/// Every *.txt directly in dir (sorted by name). Throws std::runtime_error when dir is
/// missing or holds none.
std::vector<std::string> listTextFiles(const std::string& dir);

/// Reads and encodes the files on `threads` threads (the Tokenizer is safe to share:
/// engine/tokenizer). Order of books = order of files. docId: the separator.
TokenCorpus tokenizeBooks(const std::vector<std::string>& files, const Tokenizer& tok, int32_t docId, int threads);

/// The corpus of the files in dir, through a cache file when cachePath is not empty:
/// read when its header (tokenizer fingerprint, file names and byte sizes) matches,
/// else written after tokenizing.
TokenCorpus loadCorpus(const std::string& dir, const Tokenizer& tok, int threads, const std::string& cachePath,
                       std::string* note = nullptr);

struct Batch {
    std::vector<int64_t> tokens;      ///< (Bt, T + 1): inputs are [:, :T], targets [:, 1:]
    std::vector<uint8_t> answerMask;  ///< (Bt, T) over targets: 1 where the target is an answer token
    /// (Bt) note-chunk boundary after the planted fact and before the question of the row's
    /// FIRST synthetic sample, -1 if none. One per row: the forward drops the state at one
    /// position per row (BatchOptions::dropStateAt). With packing, the later samples of the
    /// row start after that point and are read with their full state, as undropped rows are.
    std::vector<int64_t> dropPoint;
    std::vector<uint8_t> synthetic;   ///< (Bt) 1 for rows that start with a synthetic sample
    std::vector<int64_t> samples;     ///< (Bt) synthetic samples in the row (0 for book rows)
    /// (Bt, T) over targets: the batch-wide index of the sample whose answer the target
    /// belongs to, -1 elsewhere. Exact match is "every target of one sample right".
    std::vector<int32_t> answerSample;
    /// (Bt, T) over targets: 1 where the target is trained by the language-model loss
    /// (0 for <pad> and for the last target of a segment, which would predict across a reset).
    std::vector<uint8_t> lossMask;
    /// Per row, the positions > 0 where a new segment starts (multiples of the note
    /// chunk); empty without isolation.
    std::vector<std::vector<int64_t>> segmentStarts;
    int64_t answerSamples = 0;        ///< samples with an answer in the batch
    int64_t rows = 0, length = 0;     ///< Bt, T
};

/// Kinds of synthetic samples (bits of SamplerOptions::tasks).
enum SyntheticTask : unsigned {
    kTaskPasskey = 1u,   ///< "What is the pass key? The pass key is" NNNNN.
    kTaskMultiKey = 2u,  ///< "What is the special magic number for KEY?" with 1-4 keys planted
    kTaskFact = 4u,      ///< a planted fact, asked as <q> question <a> answer </s>
    kTaskAll = 7u,
};

/// "passkey,multikey,fact" -> bits; throws std::invalid_argument for an unknown name.
unsigned parseTasks(const std::string& list);
std::string tasksToString(unsigned tasks);

struct SamplerOptions {
    int64_t rows = 8;              ///< Bt
    int64_t length = 8192;         ///< T
    double syntheticShare = 0.08;  ///< probability that a row starts with a synthetic sample
    int64_t syntheticMin = 256;    ///< synthetic context length, tokens (uniform in [min, max])
    int64_t syntheticMax = 2048;
    int64_t noteChunk = 128;       ///< C, for the drop points
    /// A synthetic row holds samples back to back (each: context, question, answer, <doc>;
    /// lengths drawn in [min, max] as for one) until the next would not fit, then book
    /// text. Off: one sample, then book text (the batches of earlier versions, bit for bit).
    bool syntheticPacked = false;
    unsigned tasks = kTaskPasskey | kTaskMultiKey;  ///< which synthetic samples are drawn
    /// Filler of passkey and multi-key haystacks: "mixed" (half repeated sentences, half
    /// book text), "repeat" or "books".
    std::string filler = "mixed";
    /// Each sample and the book window start at a note-chunk boundary with fresh state
    /// (segmentStarts); the gap is <pad>. Off: samples follow each other directly and share state.
    bool isolate = true;
};

/// Draws batches; deterministic for a seed, and its whole state is a string (checkpoints).
class BatchSampler {
public:
    /// tok may be null when syntheticShare is 0.
    BatchSampler(const TokenCorpus& corpus, const Tokenizer* tok, SamplerOptions options, uint64_t seed);
    Batch next();
    /// A window of `count` tokens of the stream at a random start (tests, validation).
    std::vector<int32_t> window(int64_t count);
    std::string saveState() const;
    void loadState(const std::string& state);

    struct Sample {
        std::vector<int32_t> tokens;          ///< context, question, answer
        std::vector<int64_t> answerPositions; ///< indices into tokens of the answer's tokens
        int64_t factEnd = 0;                  ///< index just after the asked fact's sentence
        int64_t questionStart = 0;
        std::string kind;                     ///< "passkey", "multikey", "fact"
    };
    Sample syntheticSample(int64_t contextLength);
    /// Options that change during a run (the curriculum's stages): tasks and lengths.
    void setTasks(unsigned tasks, int64_t minLength, int64_t maxLength);
    const SamplerOptions& options() const { return m_opt; }

private:
    const TokenCorpus& m_corpus;
    const Tokenizer* m_tok;
    SamplerOptions m_opt;
    std::mt19937_64 m_windows;    ///< window starts and row kinds
    std::mt19937_64 m_synthetic;  ///< synthetic cases (seed_seq-seeded, see above)
};

/// Deterministic validation windows: `count` windows of `length` + 1 tokens evenly spaced
/// over the stream (the same every evaluation, so validation losses compare).
std::vector<std::vector<int32_t>> validationWindows(const TokenCorpus& corpus, int64_t length, int64_t count);

}  // namespace mm::engine::train
