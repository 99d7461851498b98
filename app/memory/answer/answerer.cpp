#include "app/memory/answer/answerer.h"

#include "app/memory/answer/candidates.h"
#include "app/memory/answer/names.h"
#include "app/memory/answer/retrieval.h"
#include "app/memory/answer/text.h"

#include <QElapsedTimer>
#include <QSet>

#include <algorithm>

namespace mm::answer {
namespace {

constexpr int kEvidenceRunnersUp = 1;

double msSince(const QElapsedTimer& t)
{
    return double(t.nsecsElapsed()) / 1e6;
}

}  // namespace

QString shortAnswer(const QString& text, int maxWords)
{
    const QStringList parts = text.simplified().split(QLatin1Char(' '), Qt::SkipEmptyParts);
    if (parts.size() <= maxWords)
        return parts.join(QLatin1Char(' '));
    return parts.mid(0, maxWords).join(QLatin1Char(' '));
}

Answerer::Answerer(storage::Database& db) : m_db(db) {}

AnswerResult Answerer::answer(qint64 docId, const QString& question, const AnswerOptions& options)
{
    const QString simplified = question.simplified();
    if (simplified.isEmpty())
        throw AnswerError("the question is empty");
    if (simplified.size() > kMaxQuestionChars)
        throw AnswerError(QStringLiteral("the question is too long (%1 characters; at most %2)")
                              .arg(simplified.size()).arg(kMaxQuestionChars).toStdString());
    const std::optional<storage::DocumentRecord> doc = m_db.document(docId);
    if (!doc)
        throw AnswerError("no document with id " + std::to_string(docId));
    const qint64 at = options.atChar ? *options.atChar : doc->characters;
    if (at < 0)
        throw AnswerError("the position must not be negative");
    if (at > doc->characters)
        throw AnswerError(QStringLiteral("position %1 is past the end of document %2 (%3 characters)")
                              .arg(at).arg(docId).arg(doc->characters).toStdString());

    AnswerResult r;
    r.docId = docId;
    r.atChar = at;
    QElapsedTimer timer;
    timer.start();
    r.indexBuilt = ensureSentenceIndex(m_db, docId);
    r.indexMs = msSince(timer);
    timer.restart();
    const storage::ReadSnapshot snapshot(m_db);  // the answer's reads: one lock, one snapshot

    if (options.likelihood.prepare)
        options.likelihood.prepare(simplified);
    r.analysis = analyzeQuestion(simplified);
    const QVector<storage::ChapterRecord> chapters = m_db.chapters(docId);
    auto chapterTitle = [&](int index) {
        return index >= 0 && index < chapters.size() ? chapters[index].title : QString();
    };
    if (!r.analysis.usable) {
        r.notFound = QStringLiteral("not found before your position: the question has no words to look for");
        r.answerMs = msSince(timer);
        return r;
    }
    Retrieval retrieval = retrieve(m_db, docId, r.analysis, at);
    r.retrievalMs = msSince(timer);
    for (int i = 0; i < retrieval.passages.size() && i < options.evidence; ++i) {
        const Passage& p = retrieval.passages[i];
        r.evidence.push_back({p.charStart, p.charEnd, p.chapterIndex, chapterTitle(p.chapterIndex), p.text, p.score});
    }
    if (r.analysis.whoIs) {
        // "Who is X?": the sentences that describe X anywhere before the position join the
        // retrieved ones (X's appositives and "X was ..." are the answer's candidates).
        r.card = whoIsCard(m_db, docId, r.analysis, at, 8);
        if (r.card) {
            for (const storage::SentenceRow& row : r.card->descriptions) {
                bool present = false;
                for (const ScoredSentence& s : retrieval.sentences)
                    if (s.row.id == row.id)
                        present = true;
                if (present)
                    continue;
                ScoredSentence s;
                s.row = row;
                s.coverage = 1.0;
                s.windowCoverage = 1.0;
                s.namesPresent = true;
                s.window = {row};
                retrieval.sentences.push_back(s);
            }
        }
    }

    QElapsedTimer scoring;
    scoring.start();
    QVector<Candidate> candidates = extractCandidates(r.analysis, retrieval);
    if (options.likelihood.offer && retrieval.namesSeen) {
        // Every answer the model may be asked about (the best few are among them), in the
        // order found: read ahead while they are classified and ranked.
        QStringList texts;
        QSet<QString> seen;
        for (const Candidate& c : candidates) {
            const QString text = shortAnswer(c.text);
            if (!text.isEmpty() && !seen.contains(text)) {
                seen.insert(text);
                texts << text;
            }
        }
        if (texts.size() >= 2)
            options.likelihood.offer(simplified, texts);
    }
    classifyNames(m_db, docId, at, retrieval, candidates);
    const RankerModel* learned = options.scorer && options.scorer->valid() ? options.scorer : nullptr;
    r.learnedScorer = learned != nullptr;
    r.candidates = rankCandidates(r.analysis, retrieval, candidates, options.candidates, {}, learned);
    r.scoringMs = msSince(scoring);

    if (options.likelihood && r.candidates.size() >= 2 && retrieval.namesSeen) {
        QElapsedTimer model;
        model.start();
        const int n = std::min<int>(options.modelCandidates, int(r.candidates.size()));
        QStringList texts;
        for (int i = 0; i < n; ++i)
            texts << shortAnswer(r.candidates[i].text);
        const std::optional<QVector<double>> likelihoods = options.likelihood.score(simplified, texts);
        if (likelihoods && likelihoods->size() == n) {
            QVector<RankedAnswer> head = r.candidates.mid(0, n);
            applyLikelihoods(head, *likelihoods, {}, learned);
            for (int i = 0; i < n; ++i)
                r.candidates[i] = head[i];
            if (learned)  // the learned totals of the rest are on the same scale: one order
                std::stable_sort(r.candidates.begin(), r.candidates.end(),
                                 [](const RankedAnswer& x, const RankedAnswer& y) { return x.total > y.total; });
            r.modelUsed = true;
        } else {
            r.modelNote = QStringLiteral("the model could not score the answers here");
        }
        r.modelMs = msSince(model);
    }
    if (options.likelihood.stateLoadMs)
        r.stateLoadMs = options.likelihood.stateLoadMs();
    if (r.modelUsed && options.likelihood.timings)
        r.modelTimings = options.likelihood.timings();

    // The expected kind of answer is a constraint, not a preference: "where" asks for a
    // place, "when" for a date, "how old" for a number of years.
    std::stable_partition(r.candidates.begin(), r.candidates.end(), [&](const RankedAnswer& a) {
        return answerFitsType(r.analysis.type, r.analysis.measure, a.features);
    });
    // "Which mill ...?": where the book names one ("Hollow's Mill"), a name of that kind answers.
    std::stable_partition(r.candidates.begin(), r.candidates.end(), [](const RankedAnswer& a) {
        return featureValue(a.features, QStringLiteral("focus_name")) > 0;
    });

    r.namesSeen = retrieval.namesSeen;
    if (!retrieval.namesSeen) {
        QStringList missing;
        for (const QString& name : r.analysis.names) {
            bool seen = false;
            for (const QString& w : name.toLower().split(QLatin1Char(' '), Qt::SkipEmptyParts))
                if (retrieval.termCount.value(w) > 0)
                    seen = true;
            if (!seen)
                missing << name;
        }
        r.notFound = QStringLiteral("not found before your position: %1 is not mentioned yet").arg(missing.join(QStringLiteral(", ")));
    } else if (r.candidates.isEmpty()) {
        r.notFound = QStringLiteral("not found before your position");
    } else {
        r.confidence = confidenceOf(r.candidates, retrieval, learned);
        const RankedAnswer& best = r.candidates.front();
        const ScoredSentence& s = retrieval.sentences[best.bestSentence];
        r.bestTotal = best.total;
        r.margin = r.candidates.size() > 1 ? best.total - r.candidates[1].total : 0.5;
        r.supportCoverage = s.windowCoverage;
        r.support = SupportSentence{s.row.charStart, s.row.charEnd, s.row.chapterIndex, s.row.text.simplified()};
        // Evidence: the passage holding the answer's sentence first, then the one holding the
        // runner-up's (the reader sees what the choice was between), then the best others.
        QVector<EvidencePassage> evidence;
        auto overlaps = [&](qint64 from, qint64 to) {
            for (const EvidencePassage& e : evidence)
                if (from < e.charEnd && e.charStart < to)
                    return true;
            return false;
        };
        auto addSupportOf = [&](const RankedAnswer& a) {
            if (a.bestSentence < 0 || evidence.size() >= options.evidence)
                return;
            const ScoredSentence& sentence = retrieval.sentences[a.bestSentence];
            for (const Passage& p : retrieval.passages)
                if (p.charStart <= sentence.row.charStart && sentence.row.charEnd <= p.charEnd) {
                    if (!overlaps(p.charStart, p.charEnd))
                        evidence.push_back({p.charStart, p.charEnd, p.chapterIndex, chapterTitle(p.chapterIndex), p.text, p.score});
                    return;
                }
            if (sentence.window.isEmpty())
                return;
            const qint64 from = sentence.window.front().charStart, to = sentence.window.back().charEnd;
            if (!overlaps(from, to))
                evidence.push_back({from, to, sentence.row.chapterIndex, chapterTitle(sentence.row.chapterIndex),
                                    m_db.documentText(docId, from, to), sentence.score});
        };
        addSupportOf(best);
        for (int i = 1; i < r.candidates.size() && i <= kEvidenceRunnersUp; ++i)
            addSupportOf(r.candidates[i]);
        for (const Passage& p : retrieval.passages)
            if (evidence.size() < options.evidence && !overlaps(p.charStart, p.charEnd))
                evidence.push_back({p.charStart, p.charEnd, p.chapterIndex, chapterTitle(p.chapterIndex), p.text, p.score});
        r.evidence = evidence;
        // The answer's support must bind the question: every name it asks about is in the
        // supporting sentence or its neighbours, and where it asks about a relation
        // ("curate", "married", "mother"), the sentence says that relation ("how old": a number
        // with its unit; "where": a place's name). An answer without
        // that is a guess near the question's words: "not found" is the honest reply.
        r.bound = supportBindsQuestion(r.analysis.type, r.analysis.measure, best.features);
        if (!r.bound)
            r.confidence = std::min(r.confidence, kUnboundConfidence);
        if (r.bound && r.confidence >= (learned ? learned->threshold(!r.analysis.names.isEmpty()) : kMinConfidence)) {
            r.found = true;
            r.answer = shortAnswer(best.text);
        } else {
            r.notFound = QStringLiteral("not found before your position");
        }
    }
    r.answerMs = msSince(timer);
    return r;
}

}  // namespace mm::answer
