#include "app/memory/answer/qa_eval.h"

#include "app/memory/answer/answer_json.h"
#include "app/memory/answer/text.h"
#include "storage/import/importer.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <algorithm>
#include <cmath>

namespace mm::answer {
namespace {

std::string utf8(const QString& s)
{
    return s.toStdString();
}

QString normalized(QString s)
{
    s.replace(QChar(0x2019), QLatin1Char('\''));
    s.replace(QChar(0x2018), QLatin1Char('\''));
    return s.simplified().toLower();
}

double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const double rank = p * double(v.size() - 1);
    const size_t lo = size_t(std::floor(rank));
    const size_t hi = std::min(v.size() - 1, lo + 1);
    return v[lo] + (v[hi] - v[lo]) * (rank - double(lo));
}

struct Tally {
    int questions = 0, answerable = 0, correct = 0, evidenceHits = 0, spoilers = 0, spoilersNotFound = 0, leaks = 0;
    std::vector<double> ms;
    nlohmann::json json() const
    {
        auto ratio = [](int a, int b) { return b > 0 ? nlohmann::json(double(a) / double(b)) : nlohmann::json(nullptr); };
        return {{"questions", questions},
                {"answerable", answerable},
                {"accuracy", ratio(correct, answerable)},
                {"evidence_at_3", ratio(evidenceHits, answerable)},
                {"spoiler_questions", spoilers},
                {"spoiler_not_found", ratio(spoilersNotFound, spoilers)},
                {"spoiler_leaks", leaks},
                {"answer_ms_p50", percentile(ms, 0.5)},
                {"answer_ms_p95", percentile(ms, 0.95)}};
    }
};

}  // namespace

QaSet loadQaSet(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        throw QaSetError("cannot read the question set " + utf8(path) + ": " + utf8(f.errorString()));
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(f.readAll().toStdString());
    } catch (const nlohmann::json::exception& e) {
        throw QaSetError("the question set " + utf8(path) + " is not valid JSON: " + e.what());
    }
    QaSet set;
    try {
        for (auto it = j.at("books").begin(); it != j.at("books").end(); ++it) {
            QaBook b;
            b.file = QString::fromStdString(it.value().at("file").get<std::string>());
            b.title = QString::fromStdString(it.value().value("title", std::string()));
            b.characters = it.value().value("characters", int64_t(0));
            set.books.insert(QString::fromStdString(it.key()), b);
        }
        for (const nlohmann::json& q : j.at("questions")) {
            QaQuestion x;
            x.id = QString::fromStdString(q.at("id").get<std::string>());
            x.book = QString::fromStdString(q.at("book").get<std::string>());
            x.type = QString::fromStdString(q.value("type", std::string("other")));
            x.question = QString::fromStdString(q.at("question").get<std::string>());
            x.atChar = q.at("at_char").get<int64_t>();
            const QString gold = QString::fromStdString(q.at("gold").get<std::string>());
            x.gold = gold.split(QLatin1Char('|'), Qt::SkipEmptyParts);
            x.later = QString::fromStdString(q.value("later", std::string()));
            if (!set.books.contains(x.book))
                throw QaSetError("question " + utf8(x.id) + " names book '" + utf8(x.book) + "', which the set does not list");
            set.questions.push_back(x);
        }
    } catch (const nlohmann::json::exception& e) {
        throw QaSetError("the question set " + utf8(path) + " lacks a field: " + e.what());
    }
    return set;
}

bool matchesGold(const QString& answer, const QStringList& gold)
{
    const QString a = normalized(answer);
    if (a.isEmpty())
        return false;
    for (const QString& g : gold) {
        const QString n = normalized(g);
        if (n == QLatin1String("yes") || n == QLatin1String("no")) {
            if (a.section(QLatin1Char(' '), 0, 0).remove(QLatin1Char(',')) == n)
                return true;
            continue;
        }
        if (!n.isEmpty() && a.contains(n))
            return true;
    }
    return false;
}

nlohmann::json runQaSet(storage::Database& db, const QaSet& set, const QaRunOptions& options)
{
    // Import the books (once per library: import is idempotent by content hash).
    QMap<QString, qint64> docOf;
    for (const QString& id : options.onlyBooks)
        if (!set.books.contains(id))
            throw QaSetError("the set has no book '" + utf8(id) + "'");
    auto wanted = [&](const QString& book) { return options.onlyBooks.isEmpty() || options.onlyBooks.contains(book); };
    for (auto it = set.books.constBegin(); it != set.books.constEnd(); ++it) {
        if (!wanted(it.key()))
            continue;
        QString path;
        for (const QString& folder : options.bookFolders) {
            const QString candidate = QDir(folder).filePath(it.value().file);
            if (QFileInfo::exists(candidate)) {
                path = candidate;
                break;
            }
        }
        if (path.isEmpty())
            throw QaSetError("book " + utf8(it.value().file) + " (" + utf8(it.value().title) + ") is in none of the book folders: "
                             + utf8(options.bookFolders.join(QStringLiteral(", "))));
        if (options.progress)
            options.progress(QStringLiteral("importing %1").arg(path));
        const import::ImportResult imported = import::importFile(db, path);
        if (it.value().characters > 0 && imported.characters != it.value().characters)
            throw QaSetError("book " + utf8(path) + " has " + std::to_string(imported.characters) + " characters, the set expects "
                             + std::to_string(it.value().characters) + " (another edition?)");
        docOf.insert(it.key(), imported.docId);
    }

    Answerer answerer(db);
    nlohmann::json rows = nlohmann::json::array();
    Tally all;
    std::map<std::string, Tally> byType;
    QMap<QString, int> perBook;
    for (const QaQuestion& q : set.questions) {
        if (options.cancel && options.cancel->load())
            break;
        if (!wanted(q.book) || (options.limit > 0 && ++perBook[q.book] > options.limit))
            continue;
        const qint64 docId = docOf.value(q.book);
        // The sentence index is built outside the timing (once per book).
        ensureSentenceIndex(db, docId);
        AnswerOptions ao;
        ao.atChar = q.atChar;
        if (options.model)
            ao.likelihood = options.model(docId, q.atChar);
        ao.scorer = options.scorer;
        if (options.features)
            ao.candidates = kRerankPool;
        AnswerResult r;
        QString error;
        try {
            r = answerer.answer(docId, q.question, ao);
        } catch (const AnswerError& e) {
            error = QString::fromStdString(e.what());
        }
        const bool spoiler = q.gold.isEmpty();
        const bool correct = spoiler ? !r.found : (r.found && matchesGold(r.answer, q.gold));
        bool evidenceHit = false;
        bool evidenceSafe = true;
        for (int i = 0; i < r.evidence.size(); ++i) {
            if (i < 3 && !spoiler && matchesGold(r.evidence[i].text, q.gold))
                evidenceHit = true;
            if (r.evidence[i].charEnd > q.atChar)
                evidenceSafe = false;
        }
        if (!spoiler && q.gold.size() == 1 && (normalized(q.gold[0]) == QLatin1String("yes") || normalized(q.gold[0]) == QLatin1String("no")))
            evidenceHit = r.support.has_value() && !r.evidence.isEmpty();  // yes/no: no gold string to find
        const bool leak = spoiler && !q.later.isEmpty() && r.found && normalized(r.answer).contains(normalized(q.later));
        for (Tally* t : {&all, &byType[utf8(q.type)]}) {
            ++t->questions;
            t->ms.push_back(r.answerMs);
            if (spoiler) {
                ++t->spoilers;
                t->spoilersNotFound += r.found ? 0 : 1;
                t->leaks += leak ? 1 : 0;
            } else {
                ++t->answerable;
                t->correct += correct ? 1 : 0;
                t->evidenceHits += evidenceHit ? 1 : 0;
            }
        }
        nlohmann::json row = {{"id", utf8(q.id)},
                              {"book", utf8(q.book)},
                              {"type", utf8(q.type)},
                              {"question", utf8(q.question)},
                              {"at", q.atChar},
                              {"gold", utf8(q.gold.join(QLatin1Char('|')))},
                              {"answer", utf8(r.answer)},
                              {"found", r.found},
                              {"correct", correct},
                              {"spoiler", spoiler},
                              {"evidence_hit", evidenceHit},
                              {"evidence_before_position", evidenceSafe},
                              {"confidence", r.confidence},
                              {"bound", r.bound},
                              {"score", {{"total", r.bestTotal}, {"margin", r.margin}, {"coverage", r.supportCoverage}}},
                              {"model_used", r.modelUsed},
                              {"answer_ms", r.answerMs},
                              {"retrieval_ms", r.retrievalMs},
                              {"scoring_ms", r.scoringMs},
                              {"model_ms", r.modelMs}, {"state_load_ms", r.stateLoadMs},
                              {"model_wait_ms", r.modelTimings.waitMs}, {"model_answers_ms", r.modelTimings.answersMs},
                              {"prompt_ms", r.modelTimings.promptMs}, {"model_ahead_ms", r.modelTimings.aheadMs},
                              {"model_ahead_rows", r.modelTimings.aheadRows}, {"model_ahead_hits", r.modelTimings.aheadHits}};
        if (!error.isEmpty())
            row["error"] = utf8(error);
        nlohmann::json top = nlohmann::json::array();
        for (int i = 0; i < r.candidates.size() && i < 5; ++i)
            top.push_back(utf8(shortAnswer(r.candidates[i].text)));
        row["candidates"] = top;
        if (options.features) {
            nlohmann::json features = nlohmann::json::array();
            nlohmann::json right = nlohmann::json::array();
            // A question naming someone not yet mentioned is "not found" before any scoring:
            // its candidates are no training data for the threshold.
            for (const RankedAnswer& a : r.namesSeen ? r.candidates : QVector<RankedAnswer>()) {
                features.push_back(std::vector<double>(a.features.begin(), a.features.end()));
                // Right for training: it holds a gold answer and is not much longer than it (a
                // clause that happens to hold the word is not the answer a reader wants).
                const QString text = shortAnswer(a.text);
                bool isRight = false;
                for (const QString& g : q.gold)
                    if (matchesGold(text, {g}) && text.count(QLatin1Char(' ')) <= g.count(QLatin1Char(' ')) + 4)
                        isRight = true;
                right.push_back(!spoiler && isRight);
            }
            row["candidate_features"] = features;
            row["candidate_right"] = right;
        }
        if (spoiler && !q.later.isEmpty())
            row["leak"] = leak;
        rows.push_back(row);
        if (options.progress)
            options.progress(QStringLiteral("%1 %2 -> %3").arg(q.id, correct ? QStringLiteral("ok") : QStringLiteral("wrong"),
                                                              r.found ? r.answer : QStringLiteral("(not found)")));
    }
    nlohmann::json summary = all.json();
    nlohmann::json types = nlohmann::json::object();
    for (const auto& [type, tally] : byType)
        types[type] = tally.json();
    summary["per_type"] = types;
    summary["model"] = bool(options.model);
    summary["scorer"] = options.scorer && options.scorer->valid() ? "learned" : "hand";
    return {{"rows", rows}, {"summary", summary}};
}

QVector<RankingQuestion> rankingQuestions(const nlohmann::json& rows)
{
    QVector<RankingQuestion> out;
    for (const nlohmann::json& row : rows) {
        if (!row.contains("candidate_features"))
            continue;
        RankingQuestion q;
        q.spoiler = row.value("spoiler", false);
        const QuestionAnalysis analysis = analyzeQuestion(QString::fromStdString(row.value("question", std::string())));
        q.type = analysis.type;
        q.measure = analysis.measure;
        q.named = !analysis.names.isEmpty();
        for (const nlohmann::json& f : row.at("candidate_features")) {
            QVector<double> v;
            for (const nlohmann::json& x : f)
                v.push_back(x.get<double>());
            q.candidates.push_back(v);
        }
        for (const nlohmann::json& x : row.at("candidate_right"))
            q.right.push_back(x.get<bool>());
        out.push_back(q);
    }
    return out;
}

nlohmann::json generateQaSet(storage::Database& db, const QStringList& bookFiles, const QaGenerateOptions& options)
{
    nlohmann::json books = nlohmann::json::object();
    nlohmann::json questions = nlohmann::json::array();
    for (const QString& path : bookFiles) {
        if (!QFileInfo::exists(path))
            throw QaSetError("no book file " + utf8(path));
        const import::ImportResult imported = import::importFile(db, path);
        ensureSentenceIndex(db, imported.docId);
        storage::SentenceIndex index(db);
        const QVector<storage::SentenceRow> sentences =
            index.range(imported.docId, 0, index.sentenceCount(imported.docId), imported.characters);
        GenerationOptions g = options.generation;
        g.seed = options.generation.seed + quint32(qHash(QFileInfo(path).fileName()));
        const QVector<GeneratedQuestion> generated = generateQuestions(sentences, imported.characters, g);
        const QString id = QFileInfo(path).completeBaseName();
        books[utf8(id)] = {{"file", utf8(QFileInfo(path).fileName())}, {"title", utf8(id)}, {"characters", imported.characters}};
        int n = 0;
        for (const GeneratedQuestion& q : generated) {
            nlohmann::json j = {{"id", utf8(QStringLiteral("%1-%2").arg(id).arg(++n, 3, 10, QLatin1Char('0')))},
                                {"book", utf8(id)},
                                {"type", utf8(q.type)},
                                {"shape", utf8(q.shape)},
                                {"question", utf8(q.question)},
                                {"at_char", q.atChar},
                                {"gold", utf8(q.gold)}};
            if (!q.later.isEmpty())
                j["later"] = utf8(q.later);
            questions.push_back(j);
        }
        if (options.progress)
            options.progress(QStringLiteral("%1: %2 questions from %3 sentences").arg(id).arg(generated.size()).arg(sentences.size()));
    }
    return {{"books", books}, {"questions", questions}};
}

}  // namespace mm::answer
