// 4. Memory fidelity proxies (docs/spec/MODEL.md "Evaluation protocols" 4): ETMF and ECLMF, as
// proxies measured on the residual stream after each block.
#include "engine/eval/eval.h"
#include "engine/eval/eval_internal.h"

#include "engine/tokenizer/tokenizer.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace mm::eval {

double cosine(const float* a, const float* b, int64_t n)
{
    double ab = 0, aa = 0, bb = 0;
    for (int64_t i = 0; i < n; ++i) {
        ab += double(a[i]) * b[i];
        aa += double(a[i]) * a[i];
        bb += double(b[i]) * b[i];
    }
    if (aa == 0 && bb == 0)
        return 1;
    if (aa == 0 || bb == 0)
        return 0;
    return std::clamp(ab / std::sqrt(aa * bb), -1.0, 1.0);
}

nlohmann::json runFidelity(const Model& model, const Tokenizer& tok, const std::vector<Book>& books,
                           const FidelityOptions& o, const RunContext& ctx)
{
    if (o.distances.empty())
        throw std::invalid_argument("fidelity needs at least one distance");
    if (o.samples <= 0 || o.context < 0)
        throw std::invalid_argument("fidelity needs samples > 0 and context >= 0");
    const nlohmann::json config = nlohmann::json::parse(model.info().configJson);
    const int64_t L = config.at("n_layer").get<int64_t>(), D = config.at("d_model").get<int64_t>();
    const int64_t V = config.at("vocab_size").get<int64_t>();
    const int64_t maxK = *std::max_element(o.distances.begin(), o.distances.end());
    if (*std::min_element(o.distances.begin(), o.distances.end()) < 0)
        throw std::invalid_argument("distances must be >= 0");
    const int64_t span = maxK + 1, excerptLen = o.context + span;
    constexpr int32_t kFirstOrdinary = 7;  // after the control ids (unk bos eos pad <doc> <q> <a>)
    if (V <= kFirstOrdinary + 1)
        throw std::invalid_argument("vocabulary too small for the fidelity protocol");

    std::vector<const Book*> longBooks;
    for (const Book& b : books)
        if (static_cast<int64_t>(b.tokens.size()) >= excerptLen)
            longBooks.push_back(&b);
    if (!books.empty() && longBooks.empty())
        throw std::invalid_argument("no book has the " + std::to_string(excerptLen) +
                                    " tokens an excerpt needs (context + largest distance + 1)");
    const Filler repeat = books.empty() ? repeatFiller(tok) : Filler{};

    nlohmann::json variants = nlohmann::json::array();
    bool cancelled = false;
    for (const Variant& v : o.variants) {
        std::vector<std::vector<double>> etmf(L, std::vector<double>(o.distances.size(), 0.0));
        std::vector<std::vector<double>> eclmf(L, std::vector<double>(L, 0.0));
        int64_t done = 0;
        for (int64_t s = 0; s < o.samples && !cancelled; ++s) {
            std::mt19937_64 rng(caseSeed(o.seed, {4, static_cast<uint64_t>(s)}));
            std::vector<int32_t> excerpt;
            if (!longBooks.empty()) {
                const Book& b = *longBooks[std::uniform_int_distribution<size_t>(0, longBooks.size() - 1)(rng)];
                const int64_t start = std::uniform_int_distribution<int64_t>(
                    0, static_cast<int64_t>(b.tokens.size()) - excerptLen)(rng);
                excerpt.assign(b.tokens.begin() + start, b.tokens.begin() + start + excerptLen);
            } else {
                Filler f = repeat;
                f.offset = std::uniform_int_distribution<int64_t>(0, static_cast<int64_t>(f.tokens.size()) - 1)(rng);
                excerpt = f.take(0, excerptLen);
            }
            for (int32_t& t : excerpt)  // a model with a smaller vocabulary than the tokenizer
                t = t % static_cast<int32_t>(V);
            const int32_t original = excerpt[o.context];
            int32_t replacement = original;
            while (replacement == original)
                replacement = std::uniform_int_distribution<int32_t>(kFirstOrdinary, static_cast<int32_t>(V) - 1)(rng);

            const std::string what = "fidelity " + v.name + " sample " + std::to_string(s + 1) + "/" +
                                     std::to_string(o.samples);
            if (ctx.progress)
                ctx.progress(what);
            State state = model.newState();
            if (o.context > 0 &&
                readTokens(model, state, {excerpt.begin(), excerpt.begin() + o.context}, {v.noPool}, ctx, what).cancelled) {
                cancelled = true;
                break;
            }
            State perturbed = state.clone();
            std::vector<int32_t> tail(excerpt.begin() + o.context, excerpt.end());
            ReadFlags flags;
            flags.noPool = v.noPool;
            flags.layerOutputs = true;
            const ReadResult a = readTokens(model, state, tail, flags, ctx, what);
            tail[0] = replacement;
            const ReadResult b = a.cancelled ? ReadResult{} : readTokens(model, perturbed, tail, flags, ctx, what);
            if (a.cancelled || b.cancelled) {
                cancelled = true;
                break;
            }
            for (int64_t l = 0; l < L; ++l) {
                for (size_t i = 0; i < o.distances.size(); ++i) {
                    const int64_t k = o.distances[i];
                    etmf[l][i] += 1 - cosine(&a.layerOutputs[l][k * D], &b.layerOutputs[l][k * D], D);
                }
                for (int64_t l2 = l + 1; l2 < L; ++l2) {
                    double sum = 0;
                    for (int64_t t = 0; t < span; ++t)
                        sum += cosine(&a.layerOutputs[l][t * D], &a.layerOutputs[l2][t * D], D);
                    eclmf[l][l2] += sum / span;
                }
            }
            ++done;
        }
        nlohmann::json byOffset = nlohmann::json::array();
        for (int64_t l = 0; l < L; ++l) {
            for (double& x : etmf[l])
                x = done ? x / done : std::nan("");
            eclmf[l][l] = 1;
            for (int64_t l2 = l + 1; l2 < L; ++l2) {
                eclmf[l][l2] = done ? eclmf[l][l2] / done : std::nan("");
                eclmf[l2][l] = eclmf[l][l2];
            }
        }
        for (int64_t j = 1; j < L; ++j) {
            double sum = 0;
            for (int64_t l = 0; l + j < L; ++l)
                sum += eclmf[l][l + j];
            byOffset.push_back(sum / (L - j));
        }
        variants.push_back({{"variant", v.name}, {"samples", done}, {"etmf", etmf}, {"eclmf", eclmf},
                            {"eclmf_by_offset", byOffset}});
    }
    return {{"protocol", "fidelity"},
            {"proxies", "ETMF and ECLMF proxies on the residual stream after each block (docs/spec/MODEL.md)"},
            {"seed", o.seed},
            {"distances", o.distances},
            {"context", o.context},
            {"layers", L},
            {"source", books.empty() ? "repeat filler" : "books"},
            {"cancelled", cancelled},
            {"variants", variants}};
}

}  // namespace mm::eval
