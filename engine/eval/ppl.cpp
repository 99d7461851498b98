// 1. Windowed perplexity (docs/spec/MODEL.md "Evaluation protocols" 1).
#include "engine/eval/eval.h"
#include "engine/eval/eval_internal.h"

#include <cmath>
#include <stdexcept>

namespace mm::eval {

std::vector<int64_t> windowStarts(int64_t bookTokens, int64_t window, int64_t maxWindows)
{
    std::vector<int64_t> starts;
    if (window <= 0 || maxWindows <= 0 || bookTokens < window)
        return starts;
    const int64_t slack = bookTokens - window;
    const int64_t count = std::min(maxWindows, slack + 1);
    if (count == 1)
        return {0};
    for (int64_t i = 0; i < count; ++i)  // round(i * slack / (count - 1)), in integers
        starts.push_back((2 * i * slack + (count - 1)) / (2 * (count - 1)));
    return starts;
}

double perplexityOf(const std::vector<double>& nll)
{
    double sum = 0;
    int64_t n = 0;
    for (double v : nll)
        if (std::isfinite(v)) {
            sum += v;
            ++n;
        }
    return n ? std::exp(sum / n) : std::nan("");
}

PplRow perplexityForWindow(const std::vector<Book>& books, int64_t window, const SurprisalFn& score,
                           int64_t lastTokens, int64_t maxWindows, const RunContext& ctx)
{
    PplRow row;
    row.window = window;
    std::vector<double> all;
    for (const Book& book : books) {
        const std::vector<int64_t> starts = windowStarts(static_cast<int64_t>(book.tokens.size()), window, maxWindows);
        if (starts.empty())
            continue;
        ++row.books;
        std::vector<double> mine;
        for (size_t w = 0; w < starts.size(); ++w) {
            if (ctx.cancelled())
                break;
            if (ctx.progress)
                ctx.progress("ppl " + sizeLabel(window) + ": " + book.name + " window " + std::to_string(w + 1) + "/" +
                             std::to_string(starts.size()));
            const std::vector<int32_t> tokens(book.tokens.begin() + starts[w], book.tokens.begin() + starts[w] + window);
            const std::vector<float> s = score(tokens);
            if (ctx.cancelled())
                break;
            if (static_cast<int64_t>(s.size()) != window)
                throw std::runtime_error("surprisal of " + std::to_string(s.size()) + " tokens for a window of " +
                                         std::to_string(window));
            const int64_t last = std::min(lastTokens, window);
            for (int64_t i = window - last; i < window; ++i)
                if (std::isfinite(s[i]))
                    mine.push_back(s[i]);
            ++row.windows;
        }
        if (!mine.empty())
            row.perBook.emplace_back(book.name, perplexityOf(mine));
        all.insert(all.end(), mine.begin(), mine.end());
    }
    row.scoredTokens = static_cast<int64_t>(all.size());
    double sum = 0;
    for (double v : all)
        sum += v;
    row.meanNll = all.empty() ? std::nan("") : sum / all.size();
    row.ppl = perplexityOf(all);
    return row;
}

SurprisalFn engineSurprisal(const Model& model, bool noPool, const RunContext& ctx)
{
    return [&model, noPool, ctx](const std::vector<int32_t>& tokens) {
        State state = model.newState();
        ReadFlags flags;
        flags.noPool = noPool;
        flags.surprisal = true;
        ReadResult r = readTokens(model, state, tokens, flags, ctx, "ppl window");
        return r.surprisal;
    };
}

}  // namespace mm::eval
