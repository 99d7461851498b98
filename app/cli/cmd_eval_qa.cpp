// `memmamba eval qa --set FILE [--no-model] [--scorer hand|learned|PATH] [--limit N] [--books DIR]... [--db PATH] [--json]`:
// the answer dev set's harness (app/memory/answer/qa_eval.h, eval/qa/README.md).
// `memmamba eval qa --generate BOOK.txt... --out SET.json [--per-book N]`: a question set
// generated from (training) books; `memmamba eval qa --set SET.json --no-model --fit OUT.json`:
// the learned scorer fitted on a set's rows (app/memory/answer/ranker.h, docs/answers.md).
#include "cli_common.h"
#include "memory_commands.h"

#include "app/memory/answer/model_likelihood.h"
#include "app/memory/answer/qa_eval.h"
#include "storage/database.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>

#include <cstdio>

namespace mm::cli {
namespace {

int generateSet(const QCommandLineParser& parser)
{
    if (!parser.isSet(QStringLiteral("out")))
        throw UsageError("--generate needs --out FILE");
    answer::QaGenerateOptions options;
    options.generation.perBook = int(integerOption(parser, QStringLiteral("per-book"), 40));
    if (options.generation.perBook <= 0)
        throw UsageError("--per-book must be positive");
    if (!parser.isSet(QStringLiteral("quiet")))
        options.progress = [](const QString& line) { std::fprintf(stderr, "eval qa: %s\n", line.toUtf8().constData()); };
    QTemporaryDir scratch;
    QString dbPath = parser.isSet(QStringLiteral("db")) ? parser.value(QStringLiteral("db")) : QString();
    if (dbPath.isEmpty()) {
        if (!scratch.isValid())
            throw std::runtime_error("cannot create a temporary folder for the library");
        dbPath = scratch.filePath(QStringLiteral("library.sqlite3"));
    }
    storage::Database db(dbPath);
    const nlohmann::json set = answer::generateQaSet(db, parser.values(QStringLiteral("generate")), options);
    QFile out(parser.value(QStringLiteral("out")));
    if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate))
        throw std::runtime_error("cannot write " + out.fileName().toStdString() + ": " + out.errorString().toStdString());
    out.write(QByteArray::fromStdString(set.dump(1)));
    std::fprintf(stderr, "eval qa: %zu questions from %zu books in %s\n", set.at("questions").size(), set.at("books").size(),
                 out.fileName().toUtf8().constData());
    return 0;
}

}  // namespace

int runEvalQa(const QStringList& args)
{
    QCommandLineParser parser;
    parser.addOption({QStringLiteral("set"), QStringLiteral("The question set (eval/qa/dev.json)."), QStringLiteral("FILE")});
    parser.addOption({QStringLiteral("books"),
                      QStringLiteral("A folder holding the set's books (repeatable; default: resources/books and .data/valid "
                                     "of the checkout the set is in)."),
                      QStringLiteral("DIR")});
    parser.addOption({QStringLiteral("book"), QStringLiteral("Only this book of the set (its id; repeatable)."), QStringLiteral("ID")});
    parser.addOption({QStringLiteral("limit"), QStringLiteral("Only the first N questions of each book."), QStringLiteral("N")});
    parser.addOption({QStringLiteral("no-model"), QStringLiteral("Answer without the model's likelihood of each candidate.")});
    parser.addOption({QStringLiteral("quiet"), QStringLiteral("No progress lines on stderr.")});
    parser.addOption({QStringLiteral("scorer"),
                      QStringLiteral("hand (the hand-set weights), learned (the shipped learned scorer; the default) or a scorer JSON file."),
                      QStringLiteral("WHICH")});
    parser.addOption({QStringLiteral("features"), QStringLiteral("Rows carry every candidate's features (the scorer's training data).")});
    parser.addOption({QStringLiteral("fit"), QStringLiteral("Fit the learned scorer on the set's rows and write it to OUT."), QStringLiteral("OUT")});
    parser.addOption({QStringLiteral("rows"), QStringLiteral("--fit: the rows of an earlier `--features --json` run of the set."),
                      QStringLiteral("FILE")});
    parser.addOption({QStringLiteral("calibrate"),
                      QStringLiteral("--fit: choose the threshold for questions naming someone on these rows (`--features --json` of the dev set)."),
                      QStringLiteral("FILE")});
    parser.addOption({QStringLiteral("l2"), QStringLiteral("--fit: the penalty on moving away from the hand-set ranking (default 0.01)."), QStringLiteral("X")});
    parser.addOption({QStringLiteral("generate"), QStringLiteral("Generate a question set from this book file (repeatable; training books only)."),
                      QStringLiteral("BOOK")});
    parser.addOption({QStringLiteral("out"), QStringLiteral("Where --generate writes the set."), QStringLiteral("FILE")});
    parser.addOption({QStringLiteral("per-book"), QStringLiteral("Questions generated per book (default 40)."), QStringLiteral("N")});
    addModelOptions(parser);
    parseCommand(parser, args,
                 QStringLiteral("memmamba eval qa --set FILE [--no-model] [--book ID]... [--limit N] [--books DIR]... [--db PATH] [--json]"));
    if (parser.isSet(QStringLiteral("generate")))
        return generateSet(parser);
    if (!parser.isSet(QStringLiteral("set")))
        throw UsageError("eval qa needs --set FILE (or --generate BOOK --out FILE)");
    const QString setPath = parser.value(QStringLiteral("set"));
    const answer::QaSet set = answer::loadQaSet(setPath);

    answer::QaRunOptions options;
    options.bookFolders = parser.values(QStringLiteral("books"));
    if (options.bookFolders.isEmpty()) {
        const QDir root(QFileInfo(setPath).absoluteDir().filePath(QStringLiteral("../..")));
        options.bookFolders << root.filePath(QStringLiteral("resources/books")) << root.filePath(QStringLiteral(".data/valid"))
                            << QDir::currentPath();
    }
    options.onlyBooks = parser.values(QStringLiteral("book"));
    options.limit = int(integerOption(parser, QStringLiteral("limit"), 0));
    if (options.limit < 0)
        throw UsageError("--limit must not be negative");
    if (!parser.isSet(QStringLiteral("quiet")))
        options.progress = [](const QString& line) { std::fprintf(stderr, "eval qa: %s\n", line.toUtf8().constData()); };

    // A library of its own unless --db names one (the books are imported into it).
    QTemporaryDir scratch;
    QString dbPath = parser.isSet(QStringLiteral("db")) ? parser.value(QStringLiteral("db")) : QString();
    if (dbPath.isEmpty()) {
        if (!scratch.isValid())
            throw std::runtime_error("cannot create a temporary folder for the library");
        dbPath = scratch.filePath(QStringLiteral("library.sqlite3"));
    }
    storage::Database db(dbPath);
    // The model's likelihood needs each book read into memory (`memmamba ingest`); a book
    // not read is answered without it (rows say model_used: false).
    memory::LoadedModel engine;
    std::unique_ptr<answer::ModelLikelihood> model;
    if (!parser.isSet(QStringLiteral("no-model"))) {
        if (!haveModel(parser))
            throw UsageError("no model is available: pass --model DIR, or --no-model");
        engine = loadEngine(parser, true);
        model = std::make_unique<answer::ModelLikelihood>(db, *engine.model, *engine.tokenizer);
        options.model = [&](qint64 docId, qint64 atChar) { return model->at(docId, atChar); };
    }
    const QString scorer = parser.isSet(QStringLiteral("scorer")) ? parser.value(QStringLiteral("scorer")) : QStringLiteral("learned");
    answer::RankerModel fromFile;
    try {
        options.scorer = answer::chooseScorer(scorer, fromFile);
    } catch (const answer::RankerError& e) {
        throw UsageError(e.what());
    }
    const bool fit = parser.isSet(QStringLiteral("fit"));
    options.features = fit || parser.isSet(QStringLiteral("features"));
    if (fit)
        options.scorer = nullptr;  // the training data is the hand-set ranking's pool
    nlohmann::json result;
    if (fit && parser.isSet(QStringLiteral("rows"))) {
        // Rows saved by an earlier `--features --json` run of the same set: no need to answer again.
        QFile rows(parser.value(QStringLiteral("rows")));
        if (!rows.open(QIODevice::ReadOnly))
            throw std::runtime_error("cannot read " + rows.fileName().toStdString() + ": " + rows.errorString().toStdString());
        try {
            result = nlohmann::json::parse(rows.readAll().toStdString());
            (void)result.at("rows");
        } catch (const nlohmann::json::exception& e) {
            throw UsageError(rows.fileName().toStdString() + " is not the JSON of `eval qa --features --json`: " + e.what());
        }
    } else {
        result = answer::runQaSet(db, set, options);
    }
    if (fit) {
        answer::RankerFitOptions fitOptions;
        if (parser.isSet(QStringLiteral("l2"))) {
            bool ok = false;
            fitOptions.l2 = parser.value(QStringLiteral("l2")).toDouble(&ok);
            if (!ok || fitOptions.l2 < 0)
                throw UsageError("--l2 must be a number >= 0");
        }
        QVector<answer::RankingQuestion> calibration;
        if (parser.isSet(QStringLiteral("calibrate"))) {
            QFile rows(parser.value(QStringLiteral("calibrate")));
            if (!rows.open(QIODevice::ReadOnly))
                throw std::runtime_error("cannot read " + rows.fileName().toStdString() + ": " + rows.errorString().toStdString());
            try {
                calibration = answer::rankingQuestions(nlohmann::json::parse(rows.readAll().toStdString()).at("rows"));
            } catch (const nlohmann::json::exception& e) {
                throw UsageError(rows.fileName().toStdString() + " is not the JSON of `eval qa --features --json`: " + e.what());
            }
        }
        const answer::RankerModel fitted = answer::fitRanker(answer::rankingQuestions(result.at("rows")), fitOptions, calibration);
        nlohmann::json j = fitted.toJson();
        j["info"]["set"] = setPath.toStdString();
        QFile out(parser.value(QStringLiteral("fit")));
        if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate))
            throw std::runtime_error("cannot write " + out.fileName().toStdString() + ": " + out.errorString().toStdString());
        out.write(QByteArray::fromStdString(j.dump(1)));
        std::fprintf(stderr, "eval qa: the learned scorer is in %s (thresholds %.3f, %.3f with names)\n",
                     out.fileName().toUtf8().constData(), fitted.threshold(false), fitted.threshold(true));
    }
    if (options.features && !parser.isSet(QStringLiteral("features")))
        for (nlohmann::json& row : result.at("rows")) {
            row.erase("candidate_features");
            row.erase("candidate_right");
        }
    if (parser.isSet(QStringLiteral("json"))) {
        printJson(result);
        return 0;
    }
    const nlohmann::json& s = result.at("summary");
    auto fmt = [](const nlohmann::json& v) { return v.is_null() ? std::string("-") : std::to_string(v.get<double>()).substr(0, 5); };
    std::printf("%-10s %5s %9s %11s %10s %8s %8s\n", "type", "n", "accuracy", "evidence@3", "spoiler-nf", "p50 ms", "p95 ms");
    auto line = [&](const std::string& name, const nlohmann::json& t) {
        std::printf("%-10s %5d %9s %11s %10s %8.1f %8.1f\n", name.c_str(), t.at("questions").get<int>(), fmt(t.at("accuracy")).c_str(),
                    fmt(t.at("evidence_at_3")).c_str(), fmt(t.at("spoiler_not_found")).c_str(),
                    t.at("answer_ms_p50").get<double>(), t.at("answer_ms_p95").get<double>());
    };
    for (auto it = s.at("per_type").begin(); it != s.at("per_type").end(); ++it)
        line(it.key(), it.value());
    line("all", s);
    std::printf("model: %s\n", s.at("model").get<bool>() ? "on" : "off");
    return 0;
}

}  // namespace mm::cli
