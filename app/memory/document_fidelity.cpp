// See document_fidelity.h.
#include "app/memory/document_fidelity.h"

#include "app/memory/errors.h"
#include "app/memory/model_loader.h"
#include "engine/eval/eval.h"
#include "storage/database.h"

#include <algorithm>
#include <chrono>

namespace mm::memory {

DocumentFidelity measureDocumentFidelity(const LoadedModel& model, storage::Database& db, int64_t docId,
                                         const FidelityOptions& options, const std::atomic<bool>* cancel,
                                         const std::function<void(int done, int total)>& onSample)
{
    const auto t0 = std::chrono::steady_clock::now();
    DocumentFidelity out;
    auto stopped = [&] { return cancel && cancel->load(); };
    const std::string text = db.documentText(docId).toStdString();
    if (text.empty())
        throw MemoryError("the document has no text");
    std::vector<eval::Book> books(1);
    books[0].name = "document " + std::to_string(docId);
    books[0].tokens = model.tokenizer->encode(text);
    const int64_t n = int64_t(books[0].tokens.size());

    // The distances an excerpt of this document can hold (context + distance + 1
    // tokens); a short document gets a shorter context before giving up.
    int64_t context = std::max<int64_t>(0, options.context);
    auto fitting = [&](int64_t ctx) {
        std::vector<int64_t> d;
        for (int64_t x : options.distances)
            if (x >= 0 && ctx + x + 1 <= n)
                d.push_back(x);
        std::sort(d.begin(), d.end());
        d.erase(std::unique(d.begin(), d.end()), d.end());
        return d;
    };
    std::vector<int64_t> distances = fitting(context);
    if (distances.empty() && context > 0) {
        context = std::min<int64_t>(context, n / 4);
        distances = fitting(context);
    }
    if (distances.empty())
        throw MemoryError("the document is too short to measure (" + std::to_string(n) + " tokens)");

    const int samples = std::max(1, options.samples);
    std::vector<eval::Variant> variants{{"notes", false}};
    if (options.withAblation)
        variants.push_back({"no_pool", true});
    const int total = samples * int(variants.size());
    std::vector<std::vector<std::vector<double>>> sums(variants.size());
    int layers = 0;
    int done = 0;
    eval::RunContext ctx;
    ctx.cancel = cancel;
    for (size_t v = 0; v < variants.size(); ++v) {
        for (int sample = 0; sample < samples; ++sample) {
            if (stopped()) {
                out.cancelled = true;
                return out;
            }
            eval::FidelityOptions o;
            o.distances = distances;
            o.samples = 1;
            o.context = context;
            // Sample s of every variant reads the same excerpt: a paired comparison.
            o.seed = uint64_t(sample) + 1;
            o.variants = {variants[v]};
            const nlohmann::json result = eval::runFidelity(*model.model, *model.tokenizer, books, o, ctx);
            if (result.at("cancelled").get<bool>() || stopped()) {
                out.cancelled = true;
                return out;
            }
            const nlohmann::json& etmf = result.at("variants").at(0).at("etmf");
            layers = int(etmf.size());
            if (sums[v].empty())
                sums[v].assign(size_t(layers), std::vector<double>(distances.size(), 0.0));
            for (int l = 0; l < layers; ++l)
                for (size_t i = 0; i < distances.size(); ++i)
                    sums[v][size_t(l)][i] += etmf.at(size_t(l)).at(i).get<double>();
            ++done;
            if (onSample)
                onSample(done, total);
        }
    }

    out.distances = distances;
    out.layers = layers;
    out.samples = samples;
    out.context = context;
    out.documentTokens = n;
    for (size_t v = 0; v < variants.size(); ++v) {
        auto& curves = variants[v].noPool ? out.etmfNoPool : out.etmf;
        for (const std::vector<double>& layer : sums[v]) {
            std::vector<double> row;
            for (double x : layer)
                row.push_back(x / samples);
            curves.push_back(std::move(row));
        }
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

}  // namespace mm::memory
