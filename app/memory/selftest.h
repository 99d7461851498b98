// The memory self-test (docs/spec/PRODUCT.md, "a memory self-test per document"): plant
// an invented fact in a copy of a document's memory, read on through the rest of the
// document, ask for it in `ask`'s layout, and see whether it comes back.
//
// Each trial starts from the stored state `distance` tokens before the end of what was
// read (the nearest checkpoint, then replay), reads one planted fact sentence
// (engine/eval/facts.h: invented names, so only memory can answer), then the document's
// own last `distance` tokens, then "<q> question <a>", and decodes greedily until "</s>".
// With noPool the same reading runs with the note pools emptied at every step (the
// ablation): what it still answers, the SSM state alone carried. Nothing is stored: the
// copy lives in memory only.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mm::memory {

struct MemoryContext;

struct SelfTestOptions {
    int64_t distance = 4096;  ///< tokens of the document read after the planted fact
    int trials = 5;
    uint64_t seed = 1;
    bool ablation = true;     ///< also run every trial with the pools emptied
    int maxAnswerTokens = 24;
    const std::atomic<bool>* cancel = nullptr;
    std::function<void(int done, int total)> progress;
};

struct SelfTestTrial {
    std::string fact, question, expected;
    std::string kind;           ///< "who", "what", "where", "when", "how many"
    std::string answer;         ///< generated, up to </s>
    bool correct = false;
    std::string answerNoPool;   ///< with the pools emptied (empty without ablation)
    bool correctNoPool = false;
};

struct SelfTestResult {
    int64_t docId = 0;
    int64_t plantedAt = 0;      ///< token position of the planted fact
    int64_t distance = 0;       ///< tokens read between the fact and the question
    std::vector<SelfTestTrial> trials;
    double accuracy = 0;        ///< share of trials answered exactly (case and spaces aside)
    double accuracyNoPool = -1; ///< -1 without ablation
    double seconds = 0;
    bool cancelled = false;
};

/// Runs the self-test on a document read into memory. Throws MemoryError (not read,
/// read only in part) or StaleMemoryError (memory of another model). Stores nothing.
SelfTestResult selfTest(MemoryContext& memory, int64_t docId, const SelfTestOptions& options);

/// Whether a generated answer says the expected one: equal after trimming spaces and a
/// final full stop, case aside.
bool answerSays(const std::string& generated, const std::string& expected);

}  // namespace mm::memory
