// `memmamba eval`: the evaluation protocols (engine/eval, docs/spec/MODEL.md "Evaluation protocols")
// on any model folder, a randomly initialised model, or the shipped one. Torch-free.
#include "eval_commands.h"
#include "option_values.h"

#include "engine/engine.h"
#include "engine/eval/eval.h"
#include "engine/tokenizer/tokenizer.h"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace mm::cli {

namespace {

const char* kEvalUsage =
    "usage: memmamba eval <protocol> [options]\n"
    "protocols:\n"
    "  ppl       --books DIR_OR_FILE... --windows 1k,2k,4k [--last 100] [--max-windows 10]\n"
    "  passkey   --lengths 1k,4k [--depths 0,0.25,0.5,0.75,1] [--filler repeat|books] [--books ...] [--trials 5]\n"
    "  multikey  --lengths 1k,4k [--keys 2,4,8,16] [--filler repeat|books] [--books ...] [--trials 5]\n"
    "  fidelity  [--books ...] [--distances 1,4,16,64,256,1024,4096] [--samples 8] [--context 256] [--baseline DIR]\n"
    "  speed     --lengths 8k,32k\n"
    "  plot      RESULT.json[=LABEL]... --plot FILE.png [--layers 0,7]   (a chart of saved results)\n"
    "common options:\n"
    "  --model DIR            model folder (default: the shipped model, resources/models/default)\n"
    "  --random [--config JSON]  a randomly initialised model (the default config, or JSON overrides)\n"
    "  --device cpu|cuda|auto --seed N --no-pool (also report the ablation: pools emptied at every step)\n"
    "  --json (print one JSON object) --out FILE.json --plot FILE.png\n";

struct EvalArgs {
    std::string protocol;
    std::string modelDir, baselineDir, configJson = "{}", device = "auto";
    bool random = false, json = false, noPool = false;
    std::string out, plot;
    uint64_t seed = 1;
    std::vector<std::string> books;
    std::vector<int64_t> windows, lengths, keyCounts{2, 4, 8, 16};
    std::vector<int64_t> distances{1, 4, 16, 64, 256, 1024, 4096};
    std::vector<double> depths{0, 0.25, 0.5, 0.75, 1};
    std::string filler = "repeat";
    int64_t trials = 5, last = 100, maxWindows = 10, samples = 8, context = 256;
};

EvalArgs parseArgs(std::vector<std::string> args)
{
    if (!args.empty() && args[0] == "eval")
        args.erase(args.begin());
    static const std::set<std::string> protocols = {"ppl", "passkey", "multikey", "fidelity", "speed"};
    if (args.empty() || !protocols.count(args[0]))
        throw BadArgs(args.empty() ? "expected a protocol: ppl, passkey, multikey, fidelity or speed"
                                   : "unknown protocol '" + args[0] + "' (ppl, passkey, multikey, fidelity, speed)");
    EvalArgs a;
    a.protocol = args[0];
    std::set<std::string> seen;
    for (size_t i = 1; i < args.size(); ++i) {
        const std::string o = args[i];
        seen.insert(o);
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size())
                throw BadArgs(o + " needs a value");
            return args[++i];
        };
        auto sizes = [&](const std::string& v) {
            try {
                return eval::parseSizes(v);
            } catch (const std::invalid_argument& e) {
                throw BadArgs(o + ": " + e.what());
            }
        };
        if (o == "--json")
            a.json = true;
        else if (o == "--random")
            a.random = true;
        else if (o == "--no-pool")
            a.noPool = true;
        else if (o == "--model")
            a.modelDir = value();
        else if (o == "--baseline")
            a.baselineDir = value();
        else if (o == "--config")
            a.configJson = value();
        else if (o == "--device") {
            a.device = value();
            if (a.device != "cpu" && a.device != "cuda" && a.device != "auto")
                throw BadArgs("--device must be cpu, cuda or auto, got '" + a.device + "'");
        } else if (o == "--out")
            a.out = value();
        else if (o == "--plot")
            a.plot = value();
        else if (o == "--seed")
            a.seed = static_cast<uint64_t>(integerValue(o, value(), 0));
        else if (o == "--books") {
            // one or more paths, up to the next option
            a.books.push_back(value());
            while (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0)
                a.books.push_back(args[++i]);
        } else if (o == "--windows")
            a.windows = sizes(value());
        else if (o == "--lengths")
            a.lengths = sizes(value());
        else if (o == "--keys")
            a.keyCounts = sizes(value());
        else if (o == "--distances")
            a.distances = sizes(value());
        else if (o == "--depths") {
            try {
                a.depths = eval::parseFractions(value());
            } catch (const std::invalid_argument& e) {
                throw BadArgs(o + ": " + e.what());
            }
        } else if (o == "--filler") {
            a.filler = value();
            if (a.filler != "repeat" && a.filler != "books")
                throw BadArgs("--filler must be repeat or books, got '" + a.filler + "'");
        } else if (o == "--trials")
            a.trials = integerValue(o, value(), 1);
        else if (o == "--last")
            a.last = integerValue(o, value(), 1);
        else if (o == "--max-windows")
            a.maxWindows = integerValue(o, value(), 1);
        else if (o == "--samples")
            a.samples = integerValue(o, value(), 1);
        else if (o == "--context")
            a.context = integerValue(o, value(), 0);
        else
            throw BadArgs("unknown option '" + o + "' for eval " + a.protocol);
    }
    if (a.random && !a.modelDir.empty())
        throw BadArgs("--random and --model exclude each other");
    if (seen.count("--config") && !a.random)
        throw BadArgs("--config applies to --random only");
    if (a.protocol == "ppl" && (a.books.empty() || a.windows.empty()))
        throw BadArgs("ppl needs --books and --windows");
    if ((a.protocol == "passkey" || a.protocol == "multikey" || a.protocol == "speed") && a.lengths.empty())
        throw BadArgs(a.protocol + " needs --lengths");
    if (a.filler == "books" && a.books.empty())
        throw BadArgs("--filler books needs --books");
    if (!a.baselineDir.empty() && a.protocol != "fidelity")
        throw BadArgs("--baseline applies to fidelity only");
    for (int64_t k : a.keyCounts)
        if (k < 1)
            throw BadArgs("--keys must be positive");
    for (int64_t w : a.windows)
        if (w < 2)
            throw BadArgs("--windows must be at least 2 tokens");
#ifndef MEMMAMBA_EVAL_PLOT
    if (!a.plot.empty())
        throw BadArgs("--plot is not available: this build has no Qt Charts/Widgets");
#endif
    return a;
}

std::atomic<bool> g_cancel{false};

extern "C" void onInterrupt(int)
{
    g_cancel.store(true);
    std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

std::unique_ptr<Model> loadModel(const EvalArgs& a)
{
    if (a.random)
        return Model::createRandom(a.configJson, 0, a.device);
    std::string dir = a.modelDir;
    if (dir.empty()) {
        dir = resourceDir() + "/models/default";
        if (!std::ifstream(dir + "/config.json").good())
            throw std::runtime_error("no shipped model exists yet (" + dir +
                                     "): pass --model DIR, or --random for a randomly initialised model");
    }
    return Model::load(dir, a.device);
}

nlohmann::json modelJson(const Model& m, const EvalArgs& a, const std::string& dir)
{
    const ModelInfo info = m.info();
    const nlohmann::json c = nlohmann::json::parse(info.configJson);
    return {{"source", a.random ? "random" : dir.empty() ? "shipped" : dir},
            {"fingerprint", info.fingerprint},
            {"parameters", info.parameterCount},
            {"device", info.device},
            {"d_model", c.at("d_model")},
            {"n_layer", c.at("n_layer")},
            {"notes", c.at("notes")}};
}

// ---- tables ----------------------------------------------------------------------

std::string fmt(double v, int precision = 2)
{
    if (!std::isfinite(v))
        return "-";
    std::ostringstream s;
    s << std::fixed << std::setprecision(precision) << v;
    return s.str();
}

// Three significant digits, so that the small values of long distances stay visible.
std::string sci(double v)
{
    if (!std::isfinite(v))
        return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

struct Table {
    std::vector<std::vector<std::string>> rows;
    void print() const
    {
        std::vector<size_t> width;
        for (const auto& r : rows)
            for (size_t i = 0; i < r.size(); ++i) {
                width.resize(std::max(width.size(), r.size()));
                width[i] = std::max(width[i], r[i].size());
            }
        for (const auto& r : rows) {
            std::string line;
            for (size_t i = 0; i < r.size(); ++i)
                line += (i ? "  " : "") + r[i] + std::string(width[i] - r[i].size(), ' ');
            while (!line.empty() && line.back() == ' ')
                line.pop_back();
            std::printf("%s\n", line.c_str());
        }
    }
};

std::vector<std::string> variantNames(const nlohmann::json& rows)
{
    std::vector<std::string> names;
    for (const auto& r : rows) {
        const std::string v = r.at("variant");
        if (std::find(names.begin(), names.end(), v) == names.end())
            names.push_back(v);
    }
    return names;
}

std::string accuracyCell(const nlohmann::json& r)
{
    if (r.is_null())
        return "-";
    return std::to_string(r.at("correct").get<int64_t>()) + "/" + std::to_string(r.at("trials").get<int64_t>()) +
           " (" + fmt(r.at("accuracy").is_null() ? NAN : 100 * r.at("accuracy").get<double>(), 0) + "%)";
}

void printRetrieval(const nlohmann::json& res, const std::string& what)  // what: "depth" or "keys"
{
    const auto names = variantNames(res.at("rows"));
    std::map<std::pair<int64_t, std::string>, std::map<std::string, nlohmann::json>> grid;
    std::vector<std::pair<int64_t, std::string>> order;
    for (const auto& r : res.at("rows")) {
        const std::string col = what == "depth" ? fmt(r.at("depth").get<double>()) : std::to_string(r.at("keys").get<int64_t>());
        const auto key = std::make_pair(r.at("length").get<int64_t>(), col);
        if (!grid.count(key))
            order.push_back(key);
        grid[key][r.at("variant")] = r;
    }
    Table t;
    std::vector<std::string> head{"length", what};
    for (const auto& n : names)
        head.push_back(n);
    t.rows.push_back(head);
    for (const auto& key : order) {
        std::vector<std::string> row{eval::sizeLabel(key.first), key.second};
        for (const auto& n : names)
            row.push_back(grid[key].count(n) ? accuracyCell(grid[key][n]) : "-");
        t.rows.push_back(row);
    }
    std::printf("%s (%s filler, exact match on five digits, seed %llu)\n", res.at("protocol").get<std::string>().c_str(),
                res.at("filler").get<std::string>().c_str(),
                static_cast<unsigned long long>(res.at("seed").get<uint64_t>()));
    t.print();
}

void printTable(const nlohmann::json& res)
{
    const std::string p = res.at("protocol");
    if (p == "ppl") {
        const auto names = variantNames(res.at("rows"));
        std::map<int64_t, std::map<std::string, nlohmann::json>> grid;
        std::vector<int64_t> order;
        for (const auto& r : res.at("rows")) {
            if (!grid.count(r.at("window")))
                order.push_back(r.at("window"));
            grid[r.at("window")][r.at("variant")] = r;
        }
        Table t;
        std::vector<std::string> head{"window", "books", "windows", "scored"};
        for (const auto& n : names)
            head.push_back("ppl " + n);
        t.rows.push_back(head);
        for (int64_t w : order) {
            const auto& first = grid[w].begin()->second;
            std::vector<std::string> row{eval::sizeLabel(w), std::to_string(first.at("books").get<int64_t>()),
                                         std::to_string(first.at("windows").get<int64_t>()),
                                         std::to_string(first.at("scored_tokens").get<int64_t>())};
            for (const auto& n : names)
                row.push_back(grid[w].count(n) && !grid[w][n].at("ppl").is_null() ? fmt(grid[w][n].at("ppl").get<double>())
                                                                                  : "-");
            t.rows.push_back(row);
        }
        std::printf("perplexity: NLL of the last %lld tokens of up to %lld evenly spaced windows per book\n",
                    static_cast<long long>(res.at("last_tokens").get<int64_t>()),
                    static_cast<long long>(res.at("max_windows").get<int64_t>()));
        t.print();
    } else if (p == "passkey") {
        printRetrieval(res, "depth");
    } else if (p == "multikey") {
        printRetrieval(res, "keys");
    } else if (p == "fidelity") {
        std::printf("fidelity proxies (%s; %s)\n", res.at("proxies").get<std::string>().c_str(),
                    res.at("source").get<std::string>().c_str());
        for (const auto& v : res.at("variants")) {
            std::printf("\nETMF proxy, %s (%lld samples): 1 - cos(layer output at t+k, same with token t replaced)\n",
                        v.at("variant").get<std::string>().c_str(), static_cast<long long>(v.at("samples").get<int64_t>()));
            Table t;
            std::vector<std::string> head{"layer"};
            for (const auto& d : res.at("distances"))
                head.push_back("k=" + std::to_string(d.get<int64_t>()));
            t.rows.push_back(head);
            int l = 0;
            for (const auto& layer : v.at("etmf")) {
                std::vector<std::string> row{std::to_string(l++)};
                for (const auto& x : layer)
                    row.push_back(x.is_null() ? "-" : sci(x.get<double>()));
                t.rows.push_back(row);
            }
            t.print();
            std::printf("ECLMF proxy, %s: mean cos(layer l, layer l+j) by j:", v.at("variant").get<std::string>().c_str());
            int j = 1;
            for (const auto& x : v.at("eclmf_by_offset"))
                std::printf("  j=%d %s", j++, x.is_null() ? "-" : fmt(x.get<double>(), 4).c_str());
            std::printf("\n");
        }
    } else if (p == "speed") {
        const auto& c = res.at("config");
        for (const auto& r : res.at("rows")) {
            // `memmamba bench ingest`'s line, with the variant and the time to the first answer token
            std::printf("speed %s: %lld tokens in %.2f s = %.0f tokens/s on %s (%d threads), peak RSS %.0f MB, "
                        "d_model %lld x %lld layers, notes %s, first answer token %.1f ms\n",
                        r.at("variant").get<std::string>().c_str(), static_cast<long long>(r.at("tokens").get<int64_t>()),
                        r.at("seconds").get<double>(), r.at("tokens_per_s").get<double>(),
                        res.at("device").get<std::string>().c_str(), res.at("threads").get<int>(),
                        r.at("peak_rss_mb").get<double>(), static_cast<long long>(c.at("d_model").get<int64_t>()),
                        static_cast<long long>(c.at("n_layer").get<int64_t>()), c.at("notes").get<std::string>().c_str(),
                        r.at("ttft_ms").get<double>());
        }
    }
    if (res.value("cancelled", false))
        std::printf("(interrupted: partial results)\n");
}

}  // namespace

// ---- charts --------------------------------------------------------------------------

ChartSpec chartFor(const nlohmann::json& res)
{
    ChartSpec c;
    const std::string p = res.at("protocol");
    auto seriesFor = [&](const std::string& name) -> std::vector<std::pair<double, double>>& {
        for (auto& s : c.series)
            if (s.first == name)
                return s.second;
        c.series.emplace_back(name, std::vector<std::pair<double, double>>{});
        return c.series.back().second;
    };
    if (p == "ppl") {
        c = {"Perplexity by window (last tokens of each window)", "window (tokens)", "perplexity", true, false, {}};
        for (const auto& r : res.at("rows"))
            if (!r.at("ppl").is_null())
                seriesFor(r.at("variant")).push_back({r.at("window").get<double>(), r.at("ppl").get<double>()});
    } else if (p == "passkey" || p == "multikey") {
        c = {p == "passkey" ? "Passkey retrieval: accuracy by length" : "Multi-key retrieval: accuracy by length",
             "haystack (tokens)", "accuracy", true, false, {}};
        c.fixedY = true;
        c.yMin = 0;
        c.yMax = 1;
        // passkey: one curve per variant and depth; multikey: per variant and key count
        for (const auto& r : res.at("rows")) {
            if (r.at("accuracy").is_null())
                continue;
            const std::string name = r.at("variant").get<std::string>() +
                                     (p == "passkey" ? ", depth " + fmt(r.at("depth").get<double>())
                                                     : ", " + std::to_string(r.at("keys").get<int64_t>()) + " keys");
            seriesFor(name).push_back({r.at("length").get<double>(), r.at("accuracy").get<double>()});
        }
    } else if (p == "fidelity") {
        c = {"ETMF proxy: 1 - cos(layer output at t+k, with token t replaced)", "distance k (tokens)", "ETMF proxy",
             true, false, {}};
        c.logY = true;
        const auto& d = res.at("distances");
        for (const auto& v : res.at("variants")) {
            int l = 0;
            for (const auto& layer : v.at("etmf")) {
                if (layer.is_null()) {  // a layer left out (eval plot --layers)
                    ++l;
                    continue;
                }
                auto& s = seriesFor(v.at("variant").get<std::string>() + ", layer " + std::to_string(l++));
                for (size_t i = 0; i < d.size(); ++i)
                    if (!layer[i].is_null())
                        s.push_back({d[i].get<double>(), layer[i].get<double>()});
            }
        }
    } else if (p == "speed") {
        c = {"Reading speed", "tokens read", "tokens/s", true, false, {}};
        for (const auto& r : res.at("rows"))
            seriesFor(r.at("variant")).push_back({r.at("tokens").get<double>(), r.at("tokens_per_s").get<double>()});
    }
    return c;
}

std::unique_ptr<QCoreApplication> createApplication(int& argc, char** argv)
{
#ifdef MEMMAMBA_EVAL_PLOT
    bool eval = argc > 1 && std::string(argv[1]) == "eval", plot = false;
    for (int i = 2; i < argc; ++i)
        plot = plot || std::string(argv[i]) == "--plot";
    if (eval && plot)
        return createGuiApplication(argc, argv);
#endif
    return std::make_unique<QCoreApplication>(argc, argv);
}

namespace {

/// Results of several `--out` files of one protocol as one result whose variants carry
/// the files' labels ("memmamba: notes", "baseline: notes"), so one chart compares
/// models evaluated on another machine (the GPU runs of docs/results.md).
nlohmann::json mergeResults(const std::vector<std::pair<std::string, nlohmann::json>>& labelled,
                            const std::set<int64_t>& layers)
{
    nlohmann::json merged = labelled.front().second;
    const std::string protocol = merged.at("protocol");
    const bool prefix = labelled.size() > 1;
    const char* listKey = protocol == "fidelity" ? "variants" : "rows";
    merged[listKey] = nlohmann::json::array();
    for (const auto& [label, res] : labelled) {
        if (res.at("protocol") != protocol)
            throw std::runtime_error("cannot plot '" + res.at("protocol").get<std::string>() + "' results with '" +
                                     protocol + "' results in one chart");
        for (nlohmann::json item : res.at(listKey)) {
            if (prefix)
                item["variant"] = label + ": " + item.at("variant").get<std::string>();
            if (protocol == "fidelity" && !layers.empty()) {
                nlohmann::json kept = nlohmann::json::array();
                for (size_t l = 0; l < item.at("etmf").size(); ++l)
                    kept.push_back(layers.count(static_cast<int64_t>(l)) ? item["etmf"][l] : nlohmann::json());
                item["etmf"] = kept;
            }
            merged[listKey].push_back(item);
        }
    }
    return merged;
}

int runEvalPlot(const std::vector<std::string>& args)
{
    std::vector<std::pair<std::string, nlohmann::json>> labelled;
    std::string plot;
    std::set<int64_t> layers;
    try {
        for (size_t i = 1; i < args.size(); ++i) {
            if (args[i] == "--plot" || args[i] == "--layers") {
                if (i + 1 >= args.size())
                    throw BadArgs(args[i] + " needs a value");
                if (args[i] == "--plot")
                    plot = args[++i];
                else
                    for (int64_t l : eval::parseSizes(args[++i]))
                        layers.insert(l);
                continue;
            }
            if (args[i].rfind("--", 0) == 0)
                throw BadArgs("unknown option '" + args[i] + "' for plot");
            const size_t eq = args[i].find('=');
            const std::string path = args[i].substr(0, eq);
            std::string label = eq == std::string::npos ? path.substr(path.find_last_of('/') + 1) : args[i].substr(eq + 1);
            std::ifstream in(path, std::ios::binary);
            if (!in)
                throw std::runtime_error(path + ": cannot open");
            nlohmann::json res = nlohmann::json::parse(in, nullptr, false);
            if (res.is_discarded() || !res.is_object() || !res.contains("protocol"))
                throw std::runtime_error(path + ": not the JSON of memmamba eval --out");
            labelled.emplace_back(label, std::move(res));
        }
        if (labelled.empty() || plot.empty())
            throw BadArgs("plot needs at least one RESULT.json and --plot FILE.png");
    } catch (const BadArgs& e) {
        std::fprintf(stderr, "memmamba eval: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "memmamba eval: %s\n", e.what());
        return 1;
    }
#ifdef MEMMAMBA_EVAL_PLOT
    try {
        renderChart(chartFor(mergeResults(labelled, layers)), plot);
        std::printf("%s\n", plot.c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "memmamba eval: %s\n", e.what());
        return 1;
    }
#else
    (void)layers;
    std::fprintf(stderr, "memmamba eval: --plot is not available: this build has no Qt Charts/Widgets\n");
    return 2;
#endif
}

}  // namespace

int runEval(const std::vector<std::string>& rawArgs)
{
    for (const std::string& s : rawArgs)
        if (s == "--help" || s == "-h") {
            std::fputs(kEvalUsage, stdout);
            return 0;
        }
    {
        std::vector<std::string> args = rawArgs;
        if (!args.empty() && args[0] == "eval")
            args.erase(args.begin());
        if (!args.empty() && args[0] == "plot")
            return runEvalPlot(args);
    }
    EvalArgs a;
    try {
        a = parseArgs(rawArgs);
    } catch (const BadArgs& e) {
        std::fprintf(stderr, "memmamba eval: %s\n", e.what());
        if (rawArgs.size() <= 1)
            std::fputs(kEvalUsage, stderr);
        return 2;
    }
    try {
        g_cancel.store(false);
        std::signal(SIGINT, onInterrupt);
        eval::RunContext ctx;
        ctx.cancel = &g_cancel;
        ctx.progress = [](const std::string& line) { std::fprintf(stderr, "eval: %s\n", line.c_str()); };

        const std::unique_ptr<Tokenizer> tok = Tokenizer::loadDefault();
        const std::unique_ptr<Model> model = loadModel(a);
        const ModelInfo info = model->info();
        if (!info.tokenizerFingerprint.empty() && info.tokenizerFingerprint != tok->fingerprint())
            throw std::runtime_error("the model was trained with tokenizer " + info.tokenizerFingerprint +
                                     ", this build has " + tok->fingerprint());
        std::vector<eval::Variant> variants{{"notes", false}};
        if (a.noPool)
            variants.push_back({"no_pool", true});
        std::vector<eval::Book> books;
        if (!a.books.empty())
            books = eval::loadBooks(eval::listBookFiles(a.books), *tok, ctx);

        nlohmann::json res;
        if (a.protocol == "ppl") {
            nlohmann::json rows = nlohmann::json::array();
            for (const auto& v : variants)
                for (int64_t w : a.windows) {
                    if (ctx.cancelled())
                        break;
                    const eval::PplRow r = eval::perplexityForWindow(
                        books, w, eval::engineSurprisal(*model, v.noPool, ctx), a.last, a.maxWindows, ctx);
                    nlohmann::json perBook = nlohmann::json::object();
                    for (const auto& [name, ppl] : r.perBook)
                        perBook[name] = ppl;
                    rows.push_back({{"variant", v.name}, {"window", r.window}, {"books", r.books},
                                    {"windows", r.windows}, {"scored_tokens", r.scoredTokens},
                                    {"mean_nll", r.meanNll}, {"ppl", r.ppl}, {"per_book", perBook}});
                }
            nlohmann::json bookList = nlohmann::json::array();
            for (const auto& b : books)
                bookList.push_back({{"name", b.name}, {"tokens", b.tokens.size()}});
            res = {{"protocol", "ppl"}, {"last_tokens", a.last}, {"max_windows", a.maxWindows},
                   {"books", bookList}, {"cancelled", ctx.cancelled()}, {"rows", rows}};
        } else if (a.protocol == "passkey" || a.protocol == "multikey") {
            eval::RetrievalOptions o;
            o.lengths = a.lengths;
            o.depths = a.depths;
            o.keyCounts = a.keyCounts;
            o.trials = a.trials;
            o.seed = a.seed;
            o.filler = a.filler;
            o.books = books;
            o.variants = variants;
            res = a.protocol == "passkey" ? eval::runPasskey(*model, *tok, o, ctx) : eval::runMultiKey(*model, *tok, o, ctx);
        } else if (a.protocol == "fidelity") {
            eval::FidelityOptions o;
            o.distances = a.distances;
            o.samples = a.samples;
            o.context = a.context;
            o.seed = a.seed;
            o.variants = variants;
            res = eval::runFidelity(*model, *tok, books, o, ctx);
            if (!a.baselineDir.empty() && !ctx.cancelled()) {
                const std::unique_ptr<Model> base = Model::load(a.baselineDir, a.device);
                o.variants = {{"baseline", false}};
                const nlohmann::json b = eval::runFidelity(*base, *tok, books, o, ctx);
                for (const auto& v : b.at("variants"))
                    res["variants"].push_back(v);
                res["baseline"] = modelJson(*base, EvalArgs{}, a.baselineDir);
                res["cancelled"] = res["cancelled"].get<bool>() || b.at("cancelled").get<bool>();
            }
        } else {
            eval::SpeedOptions o;
            o.lengths = a.lengths;
            o.seed = a.seed;
            o.variants = variants;
            res = eval::runSpeed(*model, *tok, o, ctx);
        }
        res["command"] = "eval " + a.protocol;
        res["model"] = modelJson(*model, a, a.modelDir);
        std::signal(SIGINT, SIG_DFL);

        if (!a.out.empty()) {
            std::ofstream out(a.out, std::ios::binary | std::ios::trunc);
            out << res.dump(2) << "\n";
            if (!out.flush())
                throw std::runtime_error(a.out + ": cannot write");
        }
#ifdef MEMMAMBA_EVAL_PLOT
        if (!a.plot.empty())
            renderChart(chartFor(res), a.plot);
#endif
        if (a.json)
            std::printf("%s\n", res.dump().c_str());
        else
            printTable(res);
        std::fflush(stdout);
        return res.value("cancelled", false) ? 130 : 0;
    } catch (const std::exception& e) {
        std::signal(SIGINT, SIG_DFL);
        std::fprintf(stderr, "memmamba eval: %s\n", e.what());
        return 1;
    }
}

}  // namespace mm::cli
