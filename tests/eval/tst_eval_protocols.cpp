// The evaluation protocols (engine/eval): their arithmetic on stub scorers, the seeded
// haystack generators, the answer scorer, and each runner through the real engine with a
// tiny random model. Torch-free, like engine/eval.
#include "engine/engine.h"
#include "engine/eval/eval.h"
#include "engine/tokenizer/tokenizer.h"

#include <QtTest>

#include <cmath>
#include <set>

namespace {

const char* kTinyConfig = R"({"d_model": 32, "n_layer": 2, "pool_slots": 4, "note_dim": 8, "note_chunk": 16,
                              "notes_per_chunk": 2, "attn_heads": 2, "cross_layer_period": 2})";

std::string decode(const mm::Tokenizer& tok, const std::vector<int32_t>& ids, size_t from, size_t count)
{
    return tok.decode(std::vector<int32_t>(ids.begin() + from, ids.begin() + from + count));
}

int countOccurrences(const std::string& text, const std::string& what)
{
    int n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

}  // namespace

class EvalProtocolsTest : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<mm::Tokenizer> tok;
    std::unique_ptr<mm::Model> model;

private slots:
    void initTestCase()
    {
        tok = mm::Tokenizer::loadDefault();
        model = mm::Model::createRandom(kTinyConfig, 3, "cpu");
    }

    void sizesAndDepths()
    {
        QCOMPARE(mm::eval::parseSizes("1k,2K,64k,1M,300"),
                 (std::vector<int64_t>{1024, 2048, 65536, 1048576, 300}));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, mm::eval::parseSizes("1x"));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, mm::eval::parseSizes("k"));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, mm::eval::parseSizes(""));
        QCOMPARE(mm::eval::parseFractions("0,0.25,1"), (std::vector<double>{0, 0.25, 1}));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, mm::eval::parseFractions("1.5"));
        QCOMPARE(mm::eval::sizeLabel(4096), std::string("4k"));
        QCOMPARE(mm::eval::sizeLabel(1048576), std::string("1M"));
        QCOMPARE(mm::eval::sizeLabel(1000), std::string("1000"));
    }

    void windowPlacement()
    {
        using mm::eval::windowStarts;
        QVERIFY(windowStarts(999, 1000).empty());           // book shorter than the window
        QCOMPARE(windowStarts(1000, 1000), (std::vector<int64_t>{0}));
        QCOMPARE(windowStarts(1003, 1000), (std::vector<int64_t>{0, 1, 2, 3}));  // no duplicates
        for (int64_t n : {1000, 1500, 4321, 100000, 1 << 20})
            for (int64_t w : {100, 1000, 4096}) {
                const std::vector<int64_t> s = windowStarts(n, w);
                if (n < w) {
                    QVERIFY(s.empty());
                    continue;
                }
                QVERIFY(!s.empty() && s.size() <= 10);
                QCOMPARE(s.front(), int64_t(0));
                QCOMPARE(s.back() + w, n);  // the last window ends at the book's end
                for (size_t i = 1; i < s.size(); ++i) {
                    QVERIFY(s[i] > s[i - 1]);
                    const double step = double(n - w) / (s.size() - 1);  // evenly spaced: within rounding
                    QVERIFY(std::abs(s[i] - s[i - 1] - step) <= 1.0);
                }
            }
        QCOMPARE(windowStarts(100000, 1000, 3).size(), size_t(3));
    }

    void perplexityArithmetic()
    {
        // A model that gives the right token probability 1: NLL 0 everywhere, ppl 1.
        std::vector<mm::eval::Book> books(2);
        books[0].name = "a";
        books[0].tokens.assign(5000, 7);
        books[1].name = "b";
        books[1].tokens.assign(700, 8);
        int64_t calls = 0;
        auto certain = [&](const std::vector<int32_t>& t) {
            ++calls;
            std::vector<float> s(t.size(), 0.0f);
            s[0] = std::nanf("");
            return s;
        };
        mm::eval::PplRow r = mm::eval::perplexityForWindow(books, 1000, certain);
        QCOMPARE(r.ppl, 1.0);
        QCOMPARE(r.books, int64_t(1));  // book b is shorter than the window
        QCOMPARE(r.windows, int64_t(10));
        QCOMPARE(calls, int64_t(10));
        QCOMPARE(r.scoredTokens, int64_t(1000));  // last 100 of each window

        // Uniform over V: NLL log V everywhere, ppl V.
        const double V = 8192;
        auto uniform = [&](const std::vector<int32_t>& t) {
            std::vector<float> s(t.size(), static_cast<float>(std::log(V)));
            s[0] = std::nanf("");
            return s;
        };
        r = mm::eval::perplexityForWindow(books, 512, uniform);
        QVERIFY(std::abs(r.ppl - V) / V < 1e-5);
        QCOMPARE(r.books, int64_t(2));
        QCOMPARE(r.windows, int64_t(20));

        // Only the last tokens count: a scorer wrong everywhere but there still gives ppl 1.
        auto onlyLast = [&](const std::vector<int32_t>& t) {
            std::vector<float> s(t.size(), 50.0f);
            for (size_t i = t.size() - 100; i < t.size(); ++i)
                s[i] = 0;
            return s;
        };
        QCOMPARE(mm::eval::perplexityForWindow(books, 600, onlyLast).ppl, 1.0);
        // exp of the mean, not the mean of exps
        QVERIFY(std::abs(mm::eval::perplexityOf({0.0, 2.0}) - std::exp(1.0)) < 1e-12);
        QVERIFY(std::isnan(mm::eval::perplexityOf({})));
    }

    void passkeyCase()
    {
        const mm::eval::Filler filler = mm::eval::repeatFiller(*tok);
        for (int64_t length : {200, 1000, 4096})
            for (double depth : {0.0, 0.25, 0.5, 0.75, 1.0}) {
                const mm::eval::PasskeyCase c = mm::eval::makePasskeyCase(*tok, filler, length, depth, "40917");
                QCOMPARE(static_cast<int64_t>(c.context.size()), length);  // exact length
                QCOMPARE(c.context[0], tok->bosId());
                const int64_t free = length - 1 - c.needleTokens;
                QCOMPARE(c.needlePosition, 1 + static_cast<int64_t>(std::llround(depth * free)));
                const std::string needle = decode(*tok, c.context, c.needlePosition, c.needleTokens);
                QCOMPARE(needle, std::string(" The pass key is 40917. Remember it. 40917 is the pass key."));
                const std::string all = tok->decode(c.context);
                QCOMPARE(countOccurrences(all, "pass key"), 2);  // planted once
                QCOMPARE(countOccurrences(all, "40917"), 2);
                if (depth == 1.0)
                    QCOMPARE(c.needlePosition + c.needleTokens, length);
                QCOMPARE(tok->decode(c.question), std::string(" What is the pass key? The pass key is"));
            }
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, mm::eval::makePasskeyCase(*tok, filler, 10, 0.5, "12345"));
        // The haystacks of one stream share the prefix before the needle (read once).
        const auto a = mm::eval::makePasskeyCase(*tok, filler, 1000, 0.25, "11111");
        const auto b = mm::eval::makePasskeyCase(*tok, filler, 1000, 0.75, "22222");
        QVERIFY(std::equal(a.context.begin(), a.context.begin() + a.needlePosition, b.context.begin()));
    }

    void answerScorer()
    {
        using mm::eval::answerMatches;
        QVERIFY(answerMatches(" 40917.", "40917"));
        QVERIFY(answerMatches("40917", "40917"));
        QVERIFY(answerMatches(" is 40917 and 12345", "40917"));  // the first number counts
        QVERIFY(!answerMatches(" 409170", "40917"));              // a digit more
        QVERIFY(!answerMatches(" 4091", "40917"));                // a digit fewer
        QVERIFY(!answerMatches(" 40918", "40917"));               // a wrong digit
        QVERIFY(!answerMatches(" 140917", "40917"));
        QVERIFY(!answerMatches(" 12345 40917", "40917"));
        QVERIFY(!answerMatches(" no number", "40917"));
        QVERIFY(!answerMatches("", "40917"));
    }

    void fiveDigits()
    {
        std::mt19937_64 rng(5);
        for (int i = 0; i < 1000; ++i) {
            const std::string k = mm::eval::randomFiveDigits(rng);
            QCOMPARE(k.size(), size_t(5));
            QVERIFY(k[0] != '0');
            for (char ch : k)
                QVERIFY(ch >= '0' && ch <= '9');
        }
    }

    void multiKeyCase()
    {
        const mm::eval::Filler filler = mm::eval::repeatFiller(*tok);
        for (int64_t nKeys : {1, 2, 4, 8, 16})
            for (uint64_t seed : {1u, 2u, 3u}) {
                std::mt19937_64 rng(seed);
                const int64_t length = 1500;
                const mm::eval::MultiKeyCase c = mm::eval::makeMultiKeyCase(*tok, filler, length, nKeys, rng);
                QCOMPARE(static_cast<int64_t>(c.context.size()), length);
                QCOMPARE(static_cast<int64_t>(c.keys.size()), nKeys);
                QCOMPARE(std::set<std::string>(c.keys.begin(), c.keys.end()).size(), size_t(nKeys));
                QCOMPARE(std::set<std::string>(c.values.begin(), c.values.end()).size(), size_t(nKeys));
                QVERIFY(std::is_sorted(c.positions.begin(), c.positions.end()));
                const std::string all = tok->decode(c.context);
                QCOMPARE(countOccurrences(all, "special magic number"), static_cast<int>(nKeys));
                for (int64_t i = 0; i < nKeys; ++i) {
                    // every key planted exactly once, with its own value
                    QCOMPARE(countOccurrences(all, "special magic number for " + c.keys[i] + " is "), 1);
                    QCOMPARE(countOccurrences(all, "for " + c.keys[i] + " is " + c.values[i] + "."), 1);
                    const std::string sentence = " The special magic number for " + c.keys[i] + " is " + c.values[i] + ".";
                    const std::vector<int32_t> enc = tok->encode(sentence);
                    QCOMPARE(decode(*tok, c.context, c.positions[i], enc.size()), sentence);
                }
                QVERIFY(c.asked >= 0 && c.asked < nKeys);
                const std::string& k = c.keys[c.asked];
                QCOMPARE(tok->decode(c.question),
                         " What is the special magic number for " + k + "? The special magic number for " + k + " is");
            }
        std::mt19937_64 rng(1);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, mm::eval::makeMultiKeyCase(*tok, filler, 30, 4, rng));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, mm::eval::makeMultiKeyCase(*tok, filler, 3000, 0, rng));
    }

    void seededReproducibility()
    {
        const mm::eval::Filler filler = mm::eval::repeatFiller(*tok);
        auto make = [&](uint64_t seed) {
            std::mt19937_64 rng(mm::eval::caseSeed(seed, {3, 2048, 4, 0}));
            return mm::eval::makeMultiKeyCase(*tok, filler, 2048, 4, rng);
        };
        const auto a = make(1), b = make(1), c = make(2);
        QCOMPARE(a.context, b.context);
        QCOMPARE(a.keys, b.keys);
        QCOMPARE(a.values, b.values);
        QVERIFY(a.context != c.context || a.keys != c.keys);
        QVERIFY(mm::eval::caseSeed(1, {1, 2}) != mm::eval::caseSeed(1, {2, 1}));
        QVERIFY(mm::eval::caseSeed(1, {1, 2}) != mm::eval::caseSeed(2, {1, 2}));

        // Book filler: a book and an offset drawn from the seed.
        std::vector<mm::eval::Book> books(3);
        for (int i = 0; i < 3; ++i)
            books[i].tokens.assign(100 + i, 10 + i);
        std::mt19937_64 r1(9), r2(9);
        const auto f1 = mm::eval::bookFiller(books, r1), f2 = mm::eval::bookFiller(books, r2);
        QCOMPARE(f1.take(0, 300), f2.take(0, 300));
        QCOMPARE(f1.take(0, 300).size(), size_t(300));  // wraps around the book
    }

    void cosineMath()
    {
        const std::vector<float> a{1, 2, 3}, b{2, 4, 6}, c{-1, -2, -3}, z{0, 0, 0}, o{3, 0, -1};
        QVERIFY(std::abs(mm::eval::cosine(a.data(), b.data(), 3) - 1) < 1e-12);
        QVERIFY(std::abs(mm::eval::cosine(a.data(), c.data(), 3) + 1) < 1e-12);
        QVERIFY(std::abs(mm::eval::cosine(a.data(), o.data(), 3)) < 1e-12);
        QCOMPARE(mm::eval::cosine(z.data(), z.data(), 3), 1.0);
        QCOMPARE(mm::eval::cosine(a.data(), z.data(), 3), 0.0);
    }

    void fidelityOnTinyModel()
    {
        mm::eval::FidelityOptions o;
        o.distances = {0, 1, 4, 16};
        o.samples = 3;
        o.context = 20;
        o.variants = {{"notes", false}, {"no_pool", true}};
        const nlohmann::json r = mm::eval::runFidelity(*model, *tok, {}, o, {});
        QCOMPARE(r.at("layers").get<int64_t>(), int64_t(2));
        QCOMPARE(r.at("variants").size(), size_t(2));
        for (const auto& v : r.at("variants")) {
            QCOMPARE(v.at("samples").get<int64_t>(), int64_t(3));
            const auto& etmf = v.at("etmf");
            QCOMPARE(etmf.size(), size_t(2));
            for (const auto& layer : etmf) {
                QCOMPARE(layer.size(), size_t(4));
                for (const auto& x : layer)
                    QVERIFY(x.get<double>() >= -1e-9 && x.get<double>() <= 2 + 1e-9);
                // distance 0: the replaced token itself differs most
                QVERIFY(layer[0].get<double>() > 0.05);
                QVERIFY(layer[0].get<double>() >= layer[3].get<double>());
            }
            const auto& eclmf = v.at("eclmf");
            QCOMPARE(eclmf[0][0].get<double>(), 1.0);
            QVERIFY(std::abs(eclmf[0][1].get<double>()) <= 1);
            QCOMPARE(eclmf[0][1].get<double>(), eclmf[1][0].get<double>());
            QCOMPARE(v.at("eclmf_by_offset").size(), size_t(1));
        }
        // Reproducible for a seed.
        const nlohmann::json again = mm::eval::runFidelity(*model, *tok, {}, o, {});
        QCOMPARE(again.at("variants").dump(), r.at("variants").dump());
    }

    void runnersThroughTheEngine()
    {
        mm::eval::RetrievalOptions o;
        o.lengths = {128, 300};
        o.depths = {0, 0.5, 1};
        o.keyCounts = {2, 3};
        o.trials = 2;
        o.variants = {{"notes", false}, {"no_pool", true}};
        const nlohmann::json p = mm::eval::runPasskey(*model, *tok, o, {});
        QCOMPARE(p.at("rows").size(), size_t(2 * 2 * 3));
        for (const auto& row : p.at("rows")) {
            QCOMPARE(row.at("trials").get<int64_t>(), int64_t(2));
            QCOMPARE(row.at("cases").size(), size_t(2));
            int64_t correct = 0;
            for (const auto& c : row.at("cases"))
                correct += mm::eval::answerMatches(c.at("answer").get<std::string>(), c.at("key").get<std::string>());
            QCOMPARE(row.at("correct").get<int64_t>(), correct);
            QCOMPARE(row.at("accuracy").get<double>(), correct / 2.0);
        }
        // the same cases for both variants, and for the same seed
        QCOMPARE(p.at("rows")[0].at("cases")[0].at("key"), p.at("rows")[6].at("cases")[0].at("key"));
        QCOMPARE(mm::eval::runPasskey(*model, *tok, o, {}).dump(), p.dump());

        const nlohmann::json m = mm::eval::runMultiKey(*model, *tok, o, {});
        QCOMPARE(m.at("rows").size(), size_t(2 * 2 * 2));
        for (const auto& row : m.at("rows"))
            QCOMPARE(row.at("cases").size(), size_t(2));

        // The prefix-sharing passkey runner answers exactly as a plain read of each haystack.
        const auto& c0 = p.at("rows")[2].at("cases")[1];  // length 128, depth 1, trial 1
        std::mt19937_64 rng(mm::eval::caseSeed(1, {1, 128, 1}));
        const mm::eval::Filler filler = mm::eval::repeatFiller(*tok);
        const auto pc = mm::eval::makePasskeyCase(*tok, filler, 128, 1.0, c0.at("key").get<std::string>());
        mm::State s = model->newState();
        model->read(s, pc.context);
        QCOMPARE(mm::eval::greedyAnswer(*model, *tok, s, pc.question, false), c0.at("answer").get<std::string>());

        mm::eval::SpeedOptions so;
        so.lengths = {64, 256};
        const nlohmann::json sp = mm::eval::runSpeed(*model, *tok, so, {});
        QCOMPARE(sp.at("rows").size(), size_t(2));
        for (const auto& row : sp.at("rows")) {
            QVERIFY(row.at("tokens_per_s").get<double>() > 0);
            QVERIFY(row.at("ttft_ms").get<double>() > 0);
        }

        // Cancellation: a set flag stops before any read and says so.
        std::atomic<bool> stop{true};
        mm::eval::RunContext ctx;
        ctx.cancel = &stop;
        const nlohmann::json cp = mm::eval::runPasskey(*model, *tok, o, ctx);
        QVERIFY(cp.at("cancelled").get<bool>());
    }

    void perplexityThroughTheEngine()
    {
        std::vector<mm::eval::Book> books(1);
        books[0].name = "b";
        std::mt19937_64 rng(4);
        for (int i = 0; i < 3000; ++i)
            books[0].tokens.push_back(static_cast<int32_t>(7 + rng() % 8000));
        const auto score = mm::eval::engineSurprisal(*model, false, {});
        const mm::eval::PplRow r = mm::eval::perplexityForWindow(books, 256, score);
        QCOMPARE(r.windows, int64_t(10));
        QVERIFY(std::isfinite(r.ppl) && r.ppl > 1);
        // A fresh state per window: the same window gives the same figure twice.
        const std::vector<int32_t> w(books[0].tokens.begin(), books[0].tokens.begin() + 200);
        const std::vector<float> s1 = score(w), s2 = score(w);
        QCOMPARE(s1.size(), size_t(200));
        QVERIFY(std::isnan(s1[0]));  // the window's first token has no prediction
        QCOMPARE(std::vector<float>(s1.begin() + 1, s1.end()), std::vector<float>(s2.begin() + 1, s2.end()));
    }
};

QTEST_GUILESS_MAIN(EvalProtocolsTest)
#include "tst_eval_protocols.moc"
