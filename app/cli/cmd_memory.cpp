// memmamba ingest | ask | notes, and the memory half of search (docs/spec/PRODUCT.md's command
// line; docs/memory.md). The model only through the memory library (app/memory).
#include "memory_commands.h"

#include "app/memory/answer/answer_json.h"
#include "app/memory/answer/answer_record.h"
#include "app/memory/answer/model_likelihood.h"

#include "app/memory/memory.h"
#include "cli_common.h"
#include "storage/database.h"
#include "storage/import/importer.h"

#include <QFileInfo>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace mm::cli {

namespace {

std::atomic<bool> g_cancel{false};

extern "C" void mmMemoryOnInterrupt(int)
{
    g_cancel.store(true);
    std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

// Milliseconds since the process started (the first call of main is close enough:
// QCoreApplication exists before any command runs).
double processMs()
{
    static const auto start = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

bool haveModelChoice(const QCommandLineParser& p)
{
    return p.isSet(QStringLiteral("random")) || p.isSet(QStringLiteral("model")) || memory::shippedModelPresent();
}

}  // namespace

bool haveModel(const QCommandLineParser& parser)
{
    return haveModelChoice(parser);
}

memory::LoadedModel loadEngine(const QCommandLineParser& p, bool warm)
{
    if (p.isSet(QStringLiteral("random")) && p.isSet(QStringLiteral("model")))
        throw UsageError("--random and --model exclude each other");
    if (p.isSet(QStringLiteral("config")) && !p.isSet(QStringLiteral("random")))
        throw UsageError("--config applies to --random only");
    memory::ModelChoice choice;
    choice.device = p.isSet(QStringLiteral("device")) ? utf8(p.value(QStringLiteral("device"))) : "auto";
    choice.random = p.isSet(QStringLiteral("random"));
    if (p.isSet(QStringLiteral("config")))
        choice.randomConfig = utf8(p.value(QStringLiteral("config")));
    choice.modelDir = utf8(p.value(QStringLiteral("model")));
    return memory::loadModel(choice, warm);
}

namespace {

nlohmann::json modelJson(const memory::LoadedModel& engine)
{
    return {{"source", engine.source}, {"fingerprint", engine.info.fingerprint}};
}

std::optional<int64_t> atOption(const QCommandLineParser& p)
{
    if (!p.isSet(QStringLiteral("at")))
        return std::nullopt;
    const qint64 at = integerOption(p, QStringLiteral("at"), 0);
    if (at < 0)
        throw UsageError("--at must be a character position (>= 0)");
    return at;
}

std::string oneLine(std::string s)
{
    for (char& c : s)
        if (c == '\n' || c == '\r' || c == '\t')
            c = ' ';
    return s;
}

}  // namespace

void addModelOptions(QCommandLineParser& parser)
{
    parser.addOption({QStringLiteral("model"), QStringLiteral("Model folder (default: the shipped model)."),
                      QStringLiteral("DIR")});
    parser.addOption({QStringLiteral("random"), QStringLiteral("A randomly initialised model (seed 0).")});
    parser.addOption({QStringLiteral("config"), QStringLiteral("Config overrides for --random (JSON)."),
                      QStringLiteral("JSON")});
    parser.addOption({QStringLiteral("device"), QStringLiteral("auto (default), cpu or cuda."), QStringLiteral("D")});
}

int runIngest(const QStringList& args)
{
    processMs();
    QCommandLineParser parser;
    addModelOptions(parser);
    parser.addOption({QStringLiteral("doc"), QStringLiteral("A document already in the library."), QStringLiteral("ID")});
    parser.addOption({QStringLiteral("collection"), QStringLiteral("Collection for imported files."),
                      QStringLiteral("NAME")});
    parser.addOption({QStringLiteral("checkpoint-every"),
                      QStringLiteral("At most N tokens between state checkpoints (default 16384)."), QStringLiteral("N")});
    parser.addPositionalArgument(QStringLiteral("FILE"), QStringLiteral("Files to import and read."));
    parseCommand(parser, args,
                 QStringLiteral("memmamba ingest FILE... | --doc ID [--checkpoint-every N] [--collection NAME] "
                                "[--device auto|cpu|cuda] [--model DIR | --random] [--db PATH] [--json]"));
    const QStringList files = parser.positionalArguments();
    if (files.isEmpty() == !parser.isSet(QStringLiteral("doc")))
        throw UsageError("ingest needs FILE... or --doc ID (not both)");
    memory::IngestOptions options;
    options.checkpointEvery = integerOption(parser, QStringLiteral("checkpoint-every"), 16384);
    if (options.checkpointEvery < 1)
        throw UsageError("--checkpoint-every must be at least 1");
    const bool json = parser.isSet(QStringLiteral("json"));

    storage::Database db(databasePathFrom(parser));
    std::vector<qint64> docs;
    if (parser.isSet(QStringLiteral("doc"))) {
        docs.push_back(integerOption(parser, QStringLiteral("doc"), 0));
        if (!db.document(docs.back()))
            throw std::runtime_error("no document with id " + std::to_string(docs.back()));
    }
    for (const QString& f : files) {
        import::ImportOptions io;
        io.collection = parser.value(QStringLiteral("collection"));
        const import::ImportResult r = import::importFile(db, f, io);
        std::fprintf(stderr, "%s: document %lld%s\n", utf8(f).c_str(), static_cast<long long>(r.docId),
                     r.alreadyPresent ? " (already in the library)" : "");
        docs.push_back(r.docId);
    }

    const memory::LoadedModel engine = loadEngine(parser, true);
    memory::DocumentMemory mem(db, *engine.model, *engine.tokenizer);
    std::signal(SIGINT, mmMemoryOnInterrupt);
    options.cancel = &g_cancel;
    // Test hook: SIGKILL this process once reading passes the given token (a real kill,
    // no cleanup), so tests can check that a killed ingest resumes from its checkpoint.
    const char* killAt = std::getenv("MEMMAMBA_TEST_KILL_AT_TOKEN");
    const long long killToken = killAt ? std::atoll(killAt) : -1;
    double lastPrint = -1;
    options.onProgress = [&](const memory::IngestProgress& p) {
        if (killToken >= 0 && p.done >= killToken)
            std::raise(SIGKILL);
        const double now = processMs();
        if (now - lastPrint < 500 && p.done < p.total)
            return;
        lastPrint = now;
        std::fprintf(stderr, "reading: %lld/%lld tokens (%.1f%%), %.0f tokens/s, ETA %.0f s\n",
                     static_cast<long long>(p.done), static_cast<long long>(p.total),
                     100.0 * double(p.done) / double(std::max<int64_t>(1, p.total)), p.tokensPerSecond, p.etaSeconds);
    };

    nlohmann::json list = nlohmann::json::array();
    bool cancelled = false;
    for (qint64 doc : docs) {
        const memory::IngestResult r = mem.ingest(doc, options);
        cancelled = cancelled || r.cancelled;
        const auto rec = db.document(doc);
        nlohmann::json j = {{"doc", doc},
                            {"title", rec ? utf8(rec->title) : ""},
                            {"tokens", r.tokens},
                            {"resumed_from", r.resumedFrom},
                            {"read_tokens", r.readTokens},
                            {"cancelled", r.cancelled},
                            {"already_read", r.alreadyRead},
                            {"status", rec ? utf8(rec->status) : ""},
                            {"seconds", r.seconds},
                            {"read_seconds", r.readSeconds},
                            {"tokenize_seconds", r.tokenizeSeconds},
                            {"store_seconds", r.storeSeconds},
                            {"longest_span_seconds", r.longestSpanSeconds},
                            {"read_tokens_per_s", r.readSeconds > 0 ? double(r.readTokens) / r.readSeconds : 0.0},
                            {"tokens_per_s", r.seconds > 0 ? double(r.readTokens) / r.seconds : 0.0},
                            {"checkpoints", r.checkpoints},
                            {"damaged_checkpoints", r.damagedCheckpoints},
                            {"checkpoint_bytes", r.usage.checkpointBytes},
                            {"block_bytes", r.usage.blockBytes},
                            {"checkpoint_every", options.checkpointEvery}};
        list.push_back(j);
        if (!json)
            std::printf("doc %lld: %s, %lld tokens%s, %lld read in %.1f s (%.0f tokens/s), %lld checkpoints, "
                        "%.1f MB stored\n",
                        static_cast<long long>(doc), rec ? utf8(rec->status).c_str() : "?",
                        static_cast<long long>(r.tokens),
                        r.resumedFrom > 0 ? (" (resumed at " + std::to_string(r.resumedFrom) + ")").c_str() : "",
                        static_cast<long long>(r.readTokens), r.seconds,
                        r.seconds > 0 ? double(r.readTokens) / r.seconds : 0.0, static_cast<long long>(r.checkpoints),
                        double(r.usage.checkpointBytes + r.usage.blockBytes) / 1e6);
        if (r.cancelled)
            break;
    }
    if (json)
        printJson({{"documents", list},
                   {"model", modelJson(engine)},
                   {"device", engine.info.device},
                   {"model_load_ms", engine.loadMs},
                   {"warmup_ms", engine.warmupMs}});
    if (cancelled) {
        std::fprintf(stderr, "memmamba ingest: cancelled; run the same command again to resume from the last checkpoint\n");
        return 1;
    }
    return 0;
}

int runAsk(const QStringList& args)
{
    const double startMs = processMs();
    QCommandLineParser parser;
    addModelOptions(parser);
    parser.addOption({QStringLiteral("doc"), QStringLiteral("Document id."), QStringLiteral("ID")});
    parser.addOption({QStringLiteral("at"), QStringLiteral("Answer as of this character position (default: the end)."),
                      QStringLiteral("POSITION")});
    parser.addOption({QStringLiteral("no-model"), QStringLiteral("Answer without the model's likelihood of each candidate.")});
    parser.addOption({QStringLiteral("scorer"),
                      QStringLiteral("hand (the hand-set weights), learned (the shipped learned scorer; the default) or a scorer JSON file."),
                      QStringLiteral("WHICH")});
    parser.addPositionalArgument(QStringLiteral("QUESTION"), QStringLiteral("The question."));
    parseCommand(parser, args,
                 QStringLiteral("memmamba ask --doc ID [--at POSITION] QUESTION [--no-model] [--scorer WHICH] [--model DIR | --random] "
                                "[--db PATH] [--json]"));
    if (!parser.isSet(QStringLiteral("doc")))
        throw UsageError("ask needs --doc ID");
    const QString question = parser.positionalArguments().join(QLatin1Char(' ')).trimmed();
    if (question.isEmpty())
        throw UsageError("ask needs a QUESTION");
    const qint64 docId = integerOption(parser, QStringLiteral("doc"), 0);
    answer::AnswerOptions options;
    options.atChar = atOption(parser);
    answer::RankerModel scorerFile;
    try {
        options.scorer = answer::chooseScorer(parser.value(QStringLiteral("scorer")), scorerFile);
    } catch (const answer::RankerError& e) {
        throw UsageError(e.what());
    }

    storage::Database db(databasePathFrom(parser));
    const std::optional<storage::DocumentRecord> doc = db.document(docId);
    if (!doc)
        throw std::runtime_error("no document with id " + std::to_string(docId));
    // The model's part (its likelihood of each candidate, from the stored state at or before
    // the position) needs the document read by this model; without it the answer comes from
    // the text alone and says so. Asking changes nothing but the history (issue 16): a memory
    // of another model is named in the note, the document's status stays as it is.
    memory::LoadedModel engine;
    std::unique_ptr<memory::DocumentMemory> mem;
    std::unique_ptr<answer::ModelLikelihood> model;
    std::string modelNote;
    if (!parser.isSet(QStringLiteral("no-model")) && haveModel(parser)) {
        engine = loadEngine(parser, true);
        mem = std::make_unique<memory::DocumentMemory>(db, *engine.model, *engine.tokenizer);
        const memory::MemoryStatus status = mem->status(docId);
        if (status.state == memory::MemoryState::Ready || status.state == memory::MemoryState::Reading) {
            model = std::make_unique<answer::ModelLikelihood>(db, *engine.model, *engine.tokenizer);
            options.likelihood = model->at(docId, options.atChar ? *options.atChar : doc->characters);
        } else {
            modelNote = "document " + std::to_string(docId) + (status.state == memory::MemoryState::Stale ? " was read by another model" : " has not been read by the model yet")
                + ": answered from the text alone (`memmamba ingest --doc " + std::to_string(docId) + "` adds the model's part)";
        }
    }
    const double readyMs = processMs();
    const answer::AnswerResult r = answer::Answerer(db).answer(docId, question, options);
    const double stateLoadMs = model ? model->lastStateLoadMs() : 0.0;
    // The answer joins the document's Q&A history (the reader shows it), as the one record.
    answer::AnswerAsked asked;
    asked.wholeDocument = !options.atChar;
    asked.stateLoadMs = model ? stateLoadMs : -1;
    const memory::QaRecord record = answer::qaRecordOfAnswer(db, model ? &mem->context() : nullptr, question, r, asked);
    memory::QaHistory(db).save(record);
    if (parser.isSet(QStringLiteral("json"))) {
        nlohmann::json j = answer::answerJson(r);
        j["doc"] = docId;
        j["question"] = utf8(question);
        j["state_load_ms"] = stateLoadMs;
        j["startup_ms"] = readyMs - startMs;
        j["model_load_ms"] = engine.model ? engine.loadMs : 0.0;
        if (engine.model) {
            j["model"] = modelJson(engine);
            j["model"]["device"] = engine.info.device;
        }
        if (!modelNote.empty())
            j["model_note"] = modelNote;
        printJson(j);
        return 0;
    }
    if (r.found)
        std::printf("%s\n(confidence %.2f)\n\n", utf8(r.answer).c_str(), r.confidence);
    else
        std::printf("%s\n\n", utf8(r.notFound).c_str());
    if (r.support)
        std::printf("support, chars %lld-%lld: %s\n\n", static_cast<long long>(r.support->charStart),
                    static_cast<long long>(r.support->charEnd), oneLine(utf8(r.support->text).substr(0, 240)).c_str());
    for (const answer::EvidencePassage& e : r.evidence)
        std::printf("chapter %d, chars %lld-%lld: %s\n", e.chapterIndex, static_cast<long long>(e.charStart),
                    static_cast<long long>(e.charEnd), oneLine(utf8(e.text).substr(0, 160)).c_str());
    if (!modelNote.empty())
        std::printf("\n%s\n", modelNote.c_str());
    std::printf("\nanswer %.1f ms (state load %.1f ms, model %s; startup %.0f ms)\n", r.answerMs,
                model ? model->lastStateLoadMs() : 0.0, r.modelUsed ? "used" : "not used", readyMs - startMs);
    return 0;
}

int runNotes(const QStringList& args)
{
    QCommandLineParser parser;
    addModelOptions(parser);
    parser.addOption({QStringLiteral("doc"), QStringLiteral("Document id."), QStringLiteral("ID")});
    parser.addOption({QStringLiteral("layer"), QStringLiteral("Layer (default 0)."), QStringLiteral("L")});
    parser.addOption({QStringLiteral("at"), QStringLiteral("Character position (default: the end)."),
                      QStringLiteral("POSITION")});
    parser.addOption({QStringLiteral("summary"), QStringLiteral("Include each note's 64-dim summary.")});
    parseCommand(parser, args,
                 QStringLiteral("memmamba notes --doc ID [--layer L] [--at POSITION] [--model DIR | --random] "
                                "[--db PATH] [--json]"));
    if (!parser.isSet(QStringLiteral("doc")))
        throw UsageError("notes needs --doc ID");
    const qint64 docId = integerOption(parser, QStringLiteral("doc"), 0);
    const int layer = int(integerOption(parser, QStringLiteral("layer"), 0));
    storage::Database db(databasePathFrom(parser));
    if (!db.document(docId))
        throw std::runtime_error("no document with id " + std::to_string(docId));
    const memory::LoadedModel engine = loadEngine(parser);
    memory::DocumentMemory mem(db, *engine.model, *engine.tokenizer);
    const memory::NotesView v = mem.notes(docId, layer, atOption(parser));
    if (parser.isSet(QStringLiteral("json"))) {
        nlohmann::json entries = nlohmann::json::array();
        for (const auto& n : v.entries) {
            nlohmann::json j = {{"slot", n.slot},         {"position", n.position},   {"score", n.score},
                                {"inserted_at", n.insertedAt}, {"chapter", n.chapter}, {"char_start", n.charStart},
                                {"char_end", n.charEnd},  {"text", n.context}};
            if (parser.isSet(QStringLiteral("summary")))
                j["summary"] = n.summary;
            entries.push_back(j);
        }
        printJson({{"doc", docId}, {"layer", v.layer}, {"at", v.atChar}, {"position", v.position}, {"slots", entries}});
        return 0;
    }
    std::printf("doc %lld, layer %d, at char %lld (token %lld): %zu notes\n", static_cast<long long>(docId), v.layer,
                static_cast<long long>(v.atChar), static_cast<long long>(v.position), v.entries.size());
    for (const auto& n : v.entries)
        std::printf("slot %2d  token %lld  score %.3f  chapter %d  chars %lld-%lld  %s\n", n.slot,
                    static_cast<long long>(n.position), double(n.score), n.chapter,
                    static_cast<long long>(n.charStart), static_cast<long long>(n.charEnd),
                    oneLine(n.context).c_str());
    return 0;
}

int runSelfTest(const QStringList& args)
{
    QCommandLineParser parser;
    addModelOptions(parser);
    parser.addOption({QStringLiteral("doc"), QStringLiteral("Document id (read into memory)."), QStringLiteral("ID")});
    parser.addOption({QStringLiteral("distance"),
                      QStringLiteral("Tokens of the document read after the planted fact (default 4096)."),
                      QStringLiteral("N")});
    parser.addOption({QStringLiteral("trials"), QStringLiteral("Facts planted, one at a time (default 5)."),
                      QStringLiteral("N")});
    parser.addOption({QStringLiteral("seed"), QStringLiteral("Seed of the invented facts (default 1)."),
                      QStringLiteral("S")});
    parser.addOption({QStringLiteral("no-ablation"), QStringLiteral("Skip the run with the note pools emptied.")});
    parseCommand(parser, args,
                 QStringLiteral("memmamba selftest --doc ID [--distance N] [--trials N] [--seed S] [--no-ablation] "
                                "[--model DIR | --random] [--device D] [--db PATH] [--json]"));
    if (!parser.isSet(QStringLiteral("doc")))
        throw UsageError("selftest needs --doc ID");
    const qint64 docId = integerOption(parser, QStringLiteral("doc"), 0);
    memory::SelfTestOptions o;
    if (parser.isSet(QStringLiteral("distance")))
        o.distance = integerOption(parser, QStringLiteral("distance"), 0);
    if (parser.isSet(QStringLiteral("trials")))
        o.trials = int(integerOption(parser, QStringLiteral("trials"), 1));
    if (parser.isSet(QStringLiteral("seed")))
        o.seed = static_cast<uint64_t>(integerOption(parser, QStringLiteral("seed"), 0));
    o.ablation = !parser.isSet(QStringLiteral("no-ablation"));
    g_cancel.store(false);
    std::signal(SIGINT, mmMemoryOnInterrupt);
    o.cancel = &g_cancel;
    const bool json = parser.isSet(QStringLiteral("json"));
    o.progress = [](int done, int total) { std::fprintf(stderr, "\rselftest: %d/%d", done, total); };
    storage::Database db(databasePathFrom(parser));
    if (!db.document(docId))
        throw std::runtime_error("no document with id " + std::to_string(docId));
    const memory::LoadedModel engine = loadEngine(parser);
    memory::DocumentMemory mem(db, *engine.model, *engine.tokenizer);
    const memory::SelfTestResult r = mem.selfTest(docId, o);
    std::fprintf(stderr, "\n");
    if (json) {
        nlohmann::json trials = nlohmann::json::array();
        for (const auto& t : r.trials)
            trials.push_back({{"fact", t.fact},
                              {"question", t.question},
                              {"kind", t.kind},
                              {"expected", t.expected},
                              {"answer", t.answer},
                              {"correct", t.correct},
                              {"answer_no_pool", t.answerNoPool},
                              {"correct_no_pool", t.correctNoPool}});
        printJson({{"doc", docId},
                   {"model", modelJson(engine)},
                   {"planted_at", r.plantedAt},
                   {"distance", r.distance},
                   {"accuracy", r.accuracy},
                   {"accuracy_no_pool", o.ablation ? nlohmann::json(r.accuracyNoPool) : nlohmann::json()},
                   {"cancelled", r.cancelled},
                   {"seconds", r.seconds},
                   {"trials", trials}});
        return r.cancelled ? 130 : 0;
    }
    std::printf("doc %lld: a fact planted at token %lld, asked %lld tokens later\n", static_cast<long long>(docId),
                static_cast<long long>(r.plantedAt), static_cast<long long>(r.distance));
    for (const auto& t : r.trials)
        std::printf("%s  %s  -> '%s' (expected '%s')%s\n", t.correct ? "right" : "wrong", t.question.c_str(),
                    oneLine(t.answer).c_str(), t.expected.c_str(),
                    o.ablation ? (std::string("; pools emptied: '") + oneLine(t.answerNoPool) + "'").c_str() : "");
    std::printf("kept %.0f%% of the facts", 100.0 * r.accuracy);
    if (o.ablation)
        std::printf(" (%.0f%% with the note pools emptied)", 100.0 * r.accuracyNoPool);
    std::printf("%s in %.1f s\n", r.cancelled ? ", cancelled," : "", r.seconds);
    return r.cancelled ? 130 : 0;
}

nlohmann::json memorySearchJson(const QCommandLineParser& parser, const QString& dbPath, const QString& query,
                                qint64 docId, int limit)
{
    if (!haveModelChoice(parser))
        return nullptr;
    storage::Database db(dbPath);
    const memory::LoadedModel engine = loadEngine(parser);
    memory::DocumentMemory mem(db, *engine.model, *engine.tokenizer);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& h : mem.search(utf8(query), docId, limit))
        list.push_back({{"doc", h.docId},
                        {"passage", h.passageId},
                        {"chapter", h.chapter},
                        {"char_start", h.charStart},
                        {"char_end", h.charEnd},
                        {"text", h.text},
                        {"sources", h.sources},
                        {"fulltext_rank", h.fulltextRank},
                        {"note_rank", h.noteRank},
                        {"note_token", h.notePosition},
                        {"note_layer", h.noteLayer},
                        {"score", h.score}});
    return list;
}

}  // namespace mm::cli
