// The evaluation protocols of docs/spec/MODEL.md ("Evaluation protocols"), behind `memmamba eval`.
// Torch-free: everything here uses the public engine/engine.h and the tokenizer.
//
// The pure parts (window placement, perplexity arithmetic, haystack generators, the
// answer scorer, cosine arithmetic) are free functions that tests call directly; the
// runners (run*) drive a real mm::Model. Every random choice comes from caseSeed(), a
// hash of the run's seed and the case's coordinates (length, depth, trial...), so a case
// is the same whatever else the run measures, and --seed changes all of them.
#pragma once

#include "engine/engine.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace mm {
class Tokenizer;
}

namespace mm::eval {

// ---- common ------------------------------------------------------------------------

/// "1k,2k,64k,1M" -> 1024, 2048, 65536, 1048576 (k = 1024, M = 1024 * 1024; plain
/// integers as they are). Throws std::invalid_argument naming the bad item.
std::vector<int64_t> parseSizes(const std::string& list);
/// "0,0.25,1" -> doubles in [0, 1]. Throws std::invalid_argument.
std::vector<double> parseFractions(const std::string& list);
/// "1k" for 1024, "1M" for 1048576, else the number.
std::string sizeLabel(int64_t n);

/// splitmix64 over the run's seed and a case's coordinates.
uint64_t caseSeed(uint64_t seed, std::initializer_list<uint64_t> parts);

/// Shared by the runners: progress and cancellation.
struct RunContext {
    const std::atomic<bool>* cancel = nullptr;            ///< set (e.g. by SIGINT) to stop after the current read
    std::function<void(const std::string& line)> progress; ///< one status line (no newline)
    bool cancelled() const { return cancel && cancel->load(); }
};

/// The two variants every protocol reports: the model as it is, and the ablation with
/// the note pools emptied at every step.
struct Variant {
    std::string name;  ///< "notes" or "no_pool" (or "baseline")
    bool noPool = false;
};

// ---- books -------------------------------------------------------------------------

struct Book {
    std::string name;             ///< file name
    std::vector<int32_t> tokens;  ///< the whole text, encoded (no control tokens)
};
/// Files named directly, and every *.txt in directories named (sorted by name).
/// Throws std::runtime_error for a missing path or when no book is found.
std::vector<std::string> listBookFiles(const std::vector<std::string>& pathsOrDirs);
std::vector<Book> loadBooks(const std::vector<std::string>& files, const Tokenizer& tok, const RunContext& ctx = {});

// ---- 1. windowed perplexity ----------------------------------------------------------

/// Start offsets of up to maxWindows windows of `window` tokens evenly spaced in a book
/// of bookTokens tokens: the first at 0, the last ending at the book's end, the rest at
/// rounded even steps between (distinct). Empty when the book is shorter than the window.
std::vector<int64_t> windowStarts(int64_t bookTokens, int64_t window, int64_t maxWindows = 10);

/// The negative log-likelihood (nats) of each token of a sequence read from a fresh
/// state; NaN where a token has no prediction (the first).
using SurprisalFn = std::function<std::vector<float>(const std::vector<int32_t>& tokens)>;

/// exp(mean) of the finite values; NaN when there are none.
double perplexityOf(const std::vector<double>& nll);

struct PplRow {
    int64_t window = 0;
    int64_t books = 0;          ///< books long enough for this window
    int64_t windows = 0;        ///< windows scored (all books)
    int64_t scoredTokens = 0;   ///< windows x last tokens
    double meanNll = 0;
    double ppl = 0;             ///< exp(meanNll), NaN when no book was long enough
    std::vector<std::pair<std::string, double>> perBook;  ///< (book, ppl)
};

/// The windowed protocol for one window length: for each book, windowStarts(), a read
/// of each window from a fresh state (score()), the NLL of its last `lastTokens` tokens.
PplRow perplexityForWindow(const std::vector<Book>& books, int64_t window, const SurprisalFn& score,
                           int64_t lastTokens = 100, int64_t maxWindows = 10, const RunContext& ctx = {});

/// score() through the engine: a fresh state, one read of the tokens, its surprisal.
SurprisalFn engineSurprisal(const Model& model, bool noPool, const RunContext& ctx);

// ---- filler --------------------------------------------------------------------------

/// The filler of a haystack: a token stream, `tokens` repeated from `offset` on.
struct Filler {
    std::vector<int32_t> tokens;
    int64_t offset = 0;
    /// Tokens [from, from + count) of the stream.
    std::vector<int32_t> take(int64_t from, int64_t count) const;
};
/// The classic repeated sentences ("The grass is green. The sky is blue. ...").
Filler repeatFiller(const Tokenizer& tok);
/// Real text: one of the books, from an offset, both drawn with rng.
Filler bookFiller(const std::vector<Book>& books, std::mt19937_64& rng);

/// A five-digit number as text, 10000..99999.
std::string randomFiveDigits(std::mt19937_64& rng);

// ---- 2. passkey ----------------------------------------------------------------------

struct PasskeyCase {
    std::vector<int32_t> context;    ///< exactly `length` tokens: BOS, filler, needle, filler
    int64_t needlePosition = 0;      ///< index in context of the needle's first token
    int64_t needleTokens = 0;
    std::vector<int32_t> question;   ///< " What is the pass key? The pass key is"
    std::string key;                 ///< the five digits
    double depth = 0;
};

/// needlePosition = 1 + round(depth * (length - 1 - needle)); throws std::invalid_argument
/// when length cannot hold BOS and the needle.
PasskeyCase makePasskeyCase(const Tokenizer& tok, const Filler& filler, int64_t length, double depth,
                            const std::string& key);

/// True when the first run of digits in the generated text is exactly `key` (no digit
/// more, none fewer, none different).
bool answerMatches(const std::string& generated, const std::string& key);

/// Greedy answer from a state that holds the context: reads the question, then decodes
/// greedily until the first digit run has ended (or EOS, or maxTokens). Returns the text.
std::string greedyAnswer(const Model& model, const Tokenizer& tok, State& state, const std::vector<int32_t>& question,
                         bool noPool, int32_t maxTokens = 16);

struct RetrievalOptions {
    std::vector<int64_t> lengths;
    std::vector<double> depths{0, 0.25, 0.5, 0.75, 1};  ///< passkey only
    std::vector<int64_t> keyCounts{2, 4, 8, 16};         ///< multikey only
    int64_t trials = 5;
    uint64_t seed = 1;
    std::string filler = "repeat";  ///< "repeat" or "books"
    std::vector<Book> books;        ///< for filler "books"
    std::vector<Variant> variants{{"notes", false}};
};

/// Accuracy per (variant, length, depth) with the case lists. The haystacks of one
/// (length, trial) share the filler stream, so the prefix before the needle is read once
/// and cloned for the depths (one read per (length, trial) plus the part after each
/// needle). JSON: {"rows": [{"variant","length","depth","trials","correct","accuracy",
/// "cases": [{"trial","key","answer","correct","needle_position"}]}], ...}.
nlohmann::json runPasskey(const Model& model, const Tokenizer& tok, const RetrievalOptions& o, const RunContext& ctx);

// ---- 3. multi-key --------------------------------------------------------------------

struct MultiKeyCase {
    std::vector<int32_t> context;  ///< exactly `length` tokens
    std::vector<std::string> keys;    ///< distinct words
    std::vector<std::string> values;  ///< distinct five-digit numbers, values[i] for keys[i]
    std::vector<int64_t> positions;   ///< token index of each key's sentence, ascending
    int64_t asked = 0;                ///< index into keys
    std::vector<int32_t> question;
};

/// The word list the keys are drawn from.
const std::vector<std::string>& multiKeyWords();
/// Plants "The special magic number for KEY is NNNNN." for nKeys distinct keys at random
/// token positions (each once) and asks for one of them.
MultiKeyCase makeMultiKeyCase(const Tokenizer& tok, const Filler& filler, int64_t length, int64_t nKeys,
                              std::mt19937_64& rng);

/// Accuracy per (variant, length, keys). JSON like runPasskey with "keys" for "depth".
nlohmann::json runMultiKey(const Model& model, const Tokenizer& tok, const RetrievalOptions& o, const RunContext& ctx);

// ---- 4. fidelity proxies ---------------------------------------------------------------

/// cos(a, b) over n floats; 1 when both are zero, 0 when only one is.
double cosine(const float* a, const float* b, int64_t n);

struct FidelityOptions {
    std::vector<int64_t> distances{1, 4, 16, 64, 256, 1024, 4096};
    int64_t samples = 8;      ///< perturbed positions t (one excerpt each)
    int64_t context = 256;    ///< tokens read before t
    uint64_t seed = 1;
    std::vector<Variant> variants{{"notes", false}};
};

/// ETMF proxy: etmf[layer][i] = mean over samples of 1 - cos(out_l(t + d_i), out'_l(t + d_i)),
/// out' with token t replaced by another (random, non-control) token, both read from the
/// same state after the context. ECLMF proxy: eclmf[l][l'] = mean over the excerpt's tokens
/// of cos(out_l, out_l'), and eclmf_by_offset[j-1] its mean over l for l' = l + j.
/// Excerpts come from the books (or the repeated filler when books is empty).
nlohmann::json runFidelity(const Model& model, const Tokenizer& tok, const std::vector<Book>& books,
                           const FidelityOptions& o, const RunContext& ctx);

// ---- 5. speed ------------------------------------------------------------------------

struct SpeedOptions {
    std::vector<int64_t> lengths;
    uint64_t seed = 1;
    std::vector<Variant> variants{{"notes", false}};
};

/// bench's measurement per length (random tokens, a warm-up read, one timed read) plus
/// the time to the first answer token: from the state after the read, reading the
/// passkey question and emitting one greedy token. Rows carry bench's JSON keys.
nlohmann::json runSpeed(const Model& model, const Tokenizer& tok, const SpeedOptions& o, const RunContext& ctx);

}  // namespace mm::eval
