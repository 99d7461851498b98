// See selftest.h.
#include "app/memory/selftest.h"

#include "app/memory/memory_context.h"
#include "engine/eval/facts.h"

#include <algorithm>
#include <cctype>
#include <random>

namespace mm::memory {

namespace {

std::string normalised(std::string s)
{
    while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.back())) || s.back() == '.'))
        s.pop_back();
    size_t b = 0;
    while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b])))
        ++b;
    s = s.substr(b);
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

/// Reads fact + tail + question from a copy of `start` and decodes the answer.
std::string askAfter(const MemoryContext& memory, const State& start, const std::vector<int32_t>& fact,
                     const std::vector<int32_t>& tail, const std::vector<int32_t>& prompt, bool noPool, int maxTokens,
                     const std::atomic<bool>* cancel)
{
    State s = start.clone();
    ReadOptions quiet;
    quiet.surprisal = false;
    quiet.importance = false;
    quiet.noteEvents = false;
    quiet.noPool = noPool;
    quiet.cancel = cancel;
    memory.model.read(s, fact, quiet);
    memory.model.read(s, tail, quiet);
    memory.model.read(s, prompt, quiet);
    GenerateOptions g;
    g.maxTokens = maxTokens;
    g.noPool = noPool;
    g.cancel = cancel;
    g.stopTokens = {memory.tok.eosId(), memory.tok.docSeparatorId(), memory.tok.questionId()};
    GenerateResult r = memory.model.generate(s, g);
    if (!r.tokens.empty() &&
        std::find(g.stopTokens.begin(), g.stopTokens.end(), r.tokens.back()) != g.stopTokens.end())
        r.tokens.pop_back();
    return memory.tok.decode(r.tokens);
}

}  // namespace

bool answerSays(const std::string& generated, const std::string& expected)
{
    return !expected.empty() && normalised(generated) == normalised(expected);
}

SelfTestResult selfTest(MemoryContext& memory, int64_t docId, const SelfTestOptions& o)
{
    const auto t0 = std::chrono::steady_clock::now();
    const storage::MemoryRun run = memory.requireMemory(docId);
    if (run.doneTokens < run.totalTokens)
        throw MemoryError("document " + std::to_string(docId) + " has been read only up to token " +
                          std::to_string(run.doneTokens) + " of " + std::to_string(run.totalTokens) +
                          ": finish reading it (`memmamba ingest --doc " + std::to_string(docId) + "`) first");
    if (o.distance < 0 || o.trials < 1)
        throw MemoryError("self-test: the distance must be >= 0 and trials >= 1");
    SelfTestResult result;
    result.docId = docId;
    const int64_t end = run.doneTokens;
    result.plantedAt = std::max<int64_t>(0, end - o.distance);
    result.distance = end - result.plantedAt;

    // The state where the fact is planted, and the document's tokens after it.
    int64_t checkpoint = 0;
    int damaged = 0;
    State start = memory.loadBest(docId, result.plantedAt, false, checkpoint, damaged);
    std::vector<int32_t> replay, tail;
    for (const Block& b : memory.blocksIn(docId, checkpoint, end))
        for (int64_t i = std::max(checkpoint, b.first); i < std::min(end, b.end()); ++i)
            (i < result.plantedAt ? replay : tail).push_back(b.ids[size_t(i - b.first)]);
    ReadOptions quiet;
    quiet.surprisal = false;
    quiet.importance = false;
    quiet.noteEvents = false;
    if (!replay.empty())
        memory.model.read(start, replay, quiet);

    std::mt19937_64 rng(o.seed);
    const int steps = o.trials * (o.ablation ? 2 : 1);
    int done = 0, right = 0, rightNoPool = 0;
    for (int t = 0; t < o.trials; ++t) {
        if (o.cancel && o.cancel->load()) {
            result.cancelled = true;
            break;
        }
        const eval::PlantedFact f = eval::randomFact(rng);
        SelfTestTrial trial;
        trial.fact = f.sentence.substr(1);
        trial.question = f.question;
        trial.expected = f.answer;
        trial.kind = f.kind;
        std::vector<int32_t> prompt{memory.tok.questionId()};
        const std::vector<int32_t> q = memory.tok.encode(f.question);
        prompt.insert(prompt.end(), q.begin(), q.end());
        prompt.push_back(memory.tok.answerId());
        const std::vector<int32_t> fact = memory.tok.encode(f.sentence);
        trial.answer = askAfter(memory, start, fact, tail, prompt, false, o.maxAnswerTokens, o.cancel);
        trial.correct = answerSays(trial.answer, f.answer);
        right += trial.correct;
        if (o.progress)
            o.progress(++done, steps);
        if (o.ablation) {
            trial.answerNoPool = askAfter(memory, start, fact, tail, prompt, true, o.maxAnswerTokens, o.cancel);
            trial.correctNoPool = answerSays(trial.answerNoPool, f.answer);
            rightNoPool += trial.correctNoPool;
            if (o.progress)
                o.progress(++done, steps);
        }
        result.trials.push_back(std::move(trial));
    }
    const double n = std::max<size_t>(1, result.trials.size());
    result.accuracy = right / n;
    result.accuracyNoPool = o.ablation ? rightNoPool / n : -1;
    result.seconds = msSince(t0) / 1000.0;
    return result;
}

}  // namespace mm::memory
