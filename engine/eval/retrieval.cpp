// 2. Passkey retrieval and 3. multi-key retrieval (docs/spec/MODEL.md "Evaluation protocols").
#include "engine/eval/eval.h"
#include "engine/eval/eval_internal.h"

#include "engine/tokenizer/tokenizer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <stdexcept>

namespace mm::eval {

namespace {

void append(std::vector<int32_t>& out, const std::vector<int32_t>& more)
{
    out.insert(out.end(), more.begin(), more.end());
}

Filler fillerFor(const Tokenizer& tok, const RetrievalOptions& o, std::mt19937_64& rng)
{
    if (o.filler == "repeat")
        return repeatFiller(tok);
    if (o.filler == "books")
        return bookFiller(o.books, rng);
    throw std::invalid_argument("filler must be 'repeat' or 'books', got '" + o.filler + "'");
}

// First run of ASCII digits in s: [begin, end), or begin == npos.
std::pair<size_t, size_t> firstDigitRun(const std::string& s)
{
    size_t b = 0;
    while (b < s.size() && !std::isdigit(static_cast<unsigned char>(s[b])))
        ++b;
    if (b == s.size())
        return {std::string::npos, std::string::npos};
    size_t e = b;
    while (e < s.size() && std::isdigit(static_cast<unsigned char>(s[e])))
        ++e;
    return {b, e};
}

}  // namespace

// ---- passkey -----------------------------------------------------------------------

PasskeyCase makePasskeyCase(const Tokenizer& tok, const Filler& filler, int64_t length, double depth,
                            const std::string& key)
{
    PasskeyCase c;
    c.key = key;
    c.depth = depth;
    const std::vector<int32_t> needle =
        tok.encode(" The pass key is " + key + ". Remember it. " + key + " is the pass key.");
    c.needleTokens = static_cast<int64_t>(needle.size());
    const int64_t free = length - 1 - c.needleTokens;
    if (free < 0)
        throw std::invalid_argument("length " + std::to_string(length) + " cannot hold the pass key sentence (" +
                                    std::to_string(c.needleTokens + 1) + " tokens)");
    const int64_t before = static_cast<int64_t>(std::llround(depth * static_cast<double>(free)));
    c.needlePosition = 1 + before;
    c.context.reserve(length);
    c.context.push_back(tok.bosId());
    append(c.context, filler.take(0, before));
    append(c.context, needle);
    append(c.context, filler.take(before, free - before));
    c.question = tok.encode(" What is the pass key? The pass key is");
    return c;
}

bool answerMatches(const std::string& generated, const std::string& key)
{
    const auto [b, e] = firstDigitRun(generated);
    return b != std::string::npos && generated.compare(b, e - b, key) == 0 && e - b == key.size();
}

std::string greedyAnswer(const Model& model, const Tokenizer& tok, State& state, const std::vector<int32_t>& question,
                         bool noPool, int32_t maxTokens)
{
    ReadOptions ro;
    ro.surprisal = ro.importance = ro.noteEvents = false;
    ro.noPool = noPool;
    model.read(state, question, ro);
    std::vector<int32_t> emitted;
    GenerateOptions go;
    go.maxTokens = maxTokens;
    go.temperature = 0;
    go.noPool = noPool;
    go.stopTokens = {tok.eosId()};
    go.onToken = [&](int32_t t) {
        emitted.push_back(t);
        const std::string text = tok.decode(emitted);
        const auto [b, e] = firstDigitRun(text);
        return !(b != std::string::npos && e < text.size());  // stop once the first number has ended
    };
    const GenerateResult g = model.generate(state, go);
    std::vector<int32_t> shown = g.tokens;
    if (!shown.empty() && shown.back() == tok.eosId())
        shown.pop_back();
    return tok.decode(shown);
}

nlohmann::json runPasskey(const Model& model, const Tokenizer& tok, const RetrievalOptions& o, const RunContext& ctx)
{
    nlohmann::json rows = nlohmann::json::array();
    bool cancelled = false;
    for (const Variant& v : o.variants) {
        for (int64_t length : o.lengths) {
            // rows of this length, one per depth, filled trial by trial
            std::vector<nlohmann::json> cases(o.depths.size(), nlohmann::json::array());
            std::vector<int64_t> correct(o.depths.size(), 0);
            for (int64_t trial = 0; trial < o.trials && !cancelled; ++trial) {
                std::mt19937_64 rng(caseSeed(o.seed, {1, static_cast<uint64_t>(length), static_cast<uint64_t>(trial)}));
                const Filler filler = fillerFor(tok, o, rng);
                std::vector<PasskeyCase> cs;
                for (size_t d = 0; d < o.depths.size(); ++d) {
                    std::mt19937_64 keyRng(caseSeed(o.seed, {2, static_cast<uint64_t>(length),
                                                            static_cast<uint64_t>(trial), static_cast<uint64_t>(d)}));
                    cs.push_back(makePasskeyCase(tok, filler, length, o.depths[d], randomFiveDigits(keyRng)));
                }
                // Every haystack of this trial starts with the same BOS + filler: read the
                // prefix once, in needle order, and clone the state at each needle.
                std::vector<size_t> order(cs.size());
                for (size_t i = 0; i < order.size(); ++i)
                    order[i] = i;
                std::stable_sort(order.begin(), order.end(),
                                 [&](size_t a, size_t b) { return cs[a].needlePosition < cs[b].needlePosition; });
                State prefix = model.newState();
                int64_t read = 0;
                const std::vector<int32_t>& ref = cs[order.back()].context;  // longest prefix
                for (size_t idx : order) {
                    const PasskeyCase& c = cs[idx];
                    const std::string what = "passkey " + v.name + " " + sizeLabel(length) + " trial " +
                                             std::to_string(trial + 1) + "/" + std::to_string(o.trials) + " depth " +
                                             std::to_string(c.depth).substr(0, 4);
                    if (c.needlePosition > read) {
                        ReadResult r = readTokens(model, prefix,
                                                  {ref.begin() + read, ref.begin() + c.needlePosition}, {v.noPool},
                                                  ctx, what);
                        if (r.cancelled) {
                            cancelled = true;
                            break;
                        }
                        read = c.needlePosition;
                    }
                    State state = prefix.clone();
                    ReadResult r = readTokens(model, state, {c.context.begin() + read, c.context.end()}, {v.noPool},
                                              ctx, what);
                    if (r.cancelled) {
                        cancelled = true;
                        break;
                    }
                    const std::string answer = greedyAnswer(model, tok, state, c.question, v.noPool);
                    const bool ok = answerMatches(answer, c.key);
                    correct[idx] += ok;
                    cases[idx].push_back({{"trial", trial},
                                          {"key", c.key},
                                          {"answer", answer},
                                          {"correct", ok},
                                          {"needle_position", c.needlePosition}});
                    if (ctx.progress)
                        ctx.progress(what + ": key " + c.key + ", answered '" + answer + "' " + (ok ? "(right)" : "(wrong)"));
                }
            }
            for (size_t d = 0; d < o.depths.size(); ++d) {
                const int64_t n = static_cast<int64_t>(cases[d].size());
                rows.push_back({{"variant", v.name},
                                {"length", length},
                                {"depth", o.depths[d]},
                                {"trials", n},
                                {"correct", correct[d]},
                                {"accuracy", n ? static_cast<double>(correct[d]) / n : std::nan("")},
                                {"cases", cases[d]}});
            }
            if (cancelled)
                break;
        }
        if (cancelled)
            break;
    }
    return {{"protocol", "passkey"}, {"filler", o.filler}, {"seed", o.seed}, {"trials", o.trials},
            {"cancelled", cancelled}, {"rows", rows}};
}

// ---- multi-key ---------------------------------------------------------------------

const std::vector<std::string>& multiKeyWords()
{
    static const std::vector<std::string> words = {
        "apple",   "river",   "candle",  "falcon",  "garden",  "harbor",  "island",  "jacket",  "kettle",
        "lantern", "meadow",  "needle",  "orchard", "pepper",  "quarry",  "rabbit",  "saddle",  "tunnel",
        "umbrella", "violin", "walnut",  "yellow",  "zephyr",  "anchor",  "bishop",  "copper",  "dragon",
        "engine",  "forest",  "glacier", "hammer",  "ivory",   "jungle",  "kingdom", "lizard",  "marble",
        "nectar",  "oyster",  "pilgrim", "quartz",  "ribbon",  "silver",  "thunder", "velvet",  "whistle",
        "Alice",   "Bernard", "Clara",   "Dmitri",  "Eleanor", "Felix",   "Greta",   "Hugo",    "Ingrid"};
    return words;
}

MultiKeyCase makeMultiKeyCase(const Tokenizer& tok, const Filler& filler, int64_t length, int64_t nKeys,
                              std::mt19937_64& rng)
{
    const std::vector<std::string>& words = multiKeyWords();
    if (nKeys <= 0 || nKeys > static_cast<int64_t>(words.size()))
        throw std::invalid_argument("keys must be between 1 and " + std::to_string(words.size()) + ", got " +
                                    std::to_string(nKeys));
    MultiKeyCase c;
    std::vector<std::string> pool = words;
    std::shuffle(pool.begin(), pool.end(), rng);
    c.keys.assign(pool.begin(), pool.begin() + nKeys);
    std::set<std::string> used;
    while (static_cast<int64_t>(c.values.size()) < nKeys) {
        std::string v = randomFiveDigits(rng);
        if (used.insert(v).second)
            c.values.push_back(v);
    }
    std::vector<std::vector<int32_t>> needles;
    int64_t needleTotal = 0;
    for (int64_t i = 0; i < nKeys; ++i) {
        needles.push_back(tok.encode(" The special magic number for " + c.keys[i] + " is " + c.values[i] + "."));
        needleTotal += static_cast<int64_t>(needles.back().size());
    }
    const int64_t free = length - 1 - needleTotal;
    if (free < 0)
        throw std::invalid_argument("length " + std::to_string(length) + " cannot hold " + std::to_string(nKeys) +
                                    " key sentences (" + std::to_string(needleTotal + 1) + " tokens)");
    std::vector<int64_t> cuts(nKeys);
    std::uniform_int_distribution<int64_t> at(0, free);
    for (int64_t& x : cuts)
        x = at(rng);
    std::sort(cuts.begin(), cuts.end());
    c.context.reserve(length);
    c.context.push_back(tok.bosId());
    int64_t cursor = 0;
    for (int64_t i = 0; i < nKeys; ++i) {
        append(c.context, filler.take(cursor, cuts[i] - cursor));
        cursor = cuts[i];
        c.positions.push_back(static_cast<int64_t>(c.context.size()));
        append(c.context, needles[i]);
    }
    append(c.context, filler.take(cursor, free - cursor));
    c.asked = std::uniform_int_distribution<int64_t>(0, nKeys - 1)(rng);
    const std::string& k = c.keys[c.asked];
    c.question = tok.encode(" What is the special magic number for " + k + "? The special magic number for " + k + " is");
    return c;
}

nlohmann::json runMultiKey(const Model& model, const Tokenizer& tok, const RetrievalOptions& o, const RunContext& ctx)
{
    nlohmann::json rows = nlohmann::json::array();
    bool cancelled = false;
    for (const Variant& v : o.variants) {
        for (int64_t length : o.lengths) {
            for (int64_t nKeys : o.keyCounts) {
                nlohmann::json cases = nlohmann::json::array();
                int64_t correct = 0;
                for (int64_t trial = 0; trial < o.trials; ++trial) {
                    std::mt19937_64 rng(caseSeed(o.seed, {3, static_cast<uint64_t>(length),
                                                         static_cast<uint64_t>(nKeys), static_cast<uint64_t>(trial)}));
                    const Filler filler = fillerFor(tok, o, rng);
                    const MultiKeyCase c = makeMultiKeyCase(tok, filler, length, nKeys, rng);
                    const std::string what = "multikey " + v.name + " " + sizeLabel(length) + " keys " +
                                             std::to_string(nKeys) + " trial " + std::to_string(trial + 1) + "/" +
                                             std::to_string(o.trials);
                    State state = model.newState();
                    if (readTokens(model, state, c.context, {v.noPool}, ctx, what).cancelled) {
                        cancelled = true;
                        break;
                    }
                    const std::string answer = greedyAnswer(model, tok, state, c.question, v.noPool);
                    const std::string& want = c.values[c.asked];
                    const bool ok = answerMatches(answer, want);
                    correct += ok;
                    cases.push_back({{"trial", trial},
                                     {"key", c.keys[c.asked]},
                                     {"value", want},
                                     {"answer", answer},
                                     {"correct", ok},
                                     {"positions", c.positions}});
                    if (ctx.progress)
                        ctx.progress(what + ": " + c.keys[c.asked] + " = " + want + ", answered '" + answer + "' " +
                                     (ok ? "(right)" : "(wrong)"));
                }
                const int64_t n = static_cast<int64_t>(cases.size());
                rows.push_back({{"variant", v.name},
                                {"length", length},
                                {"keys", nKeys},
                                {"trials", n},
                                {"correct", correct},
                                {"accuracy", n ? static_cast<double>(correct) / n : std::nan("")},
                                {"cases", cases}});
                if (cancelled)
                    break;
            }
            if (cancelled)
                break;
        }
        if (cancelled)
            break;
    }
    return {{"protocol", "multikey"}, {"filler", o.filler}, {"seed", o.seed}, {"trials", o.trials},
            {"cancelled", cancelled}, {"rows", rows}};
}

}  // namespace mm::eval
