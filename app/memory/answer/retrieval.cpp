#include "app/memory/answer/retrieval.h"

#include "app/memory/answer/reference.h"
#include "app/memory/answer/text.h"

#include <QSet>

#include <algorithm>
#include <cmath>

namespace mm::answer {
namespace {

constexpr int kRelationSpan = 6;        ///< words between a relation word and a name word
constexpr double kRelationBonus = 0.2;

// The FTS5 prefix form of a term: "married" -> "marri"*; porter stems both sides, so
// the plain quoted word is enough for most; a prefix catches "Stilbro'" vs "Stilbro".
QString ftsTerm(const QString& term)
{
    return storage::SentenceIndex::quoted(term);
}

QString orQuery(const QStringList& terms)
{
    QStringList parts;
    for (const QString& t : terms)
        parts << ftsTerm(t);
    return parts.join(QStringLiteral(" OR "));
}

}  // namespace

QVector<Word> Retrieval::wordsOf(const storage::SentenceRow& row) const
{
    const auto it = words.constFind(row.ordinal);
    return it != words.constEnd() ? it.value() : answer::words(row.text);
}

bool termMatches(const QString& wordLower, const QString& term)
{
    if (wordLower == term)
        return true;
    if (wordLower.size() < 3 || term.size() < 3)
        return false;
    // stem() only shortens a word's end and keeps at least two letters: words that differ
    // in their first two cannot share a stem (most pairs: no stemming, no allocation).
    const bool hyphenated = wordLower.contains(QLatin1Char('-'));
    if (!hyphenated && (wordLower.at(0) != term.at(0) || wordLower.at(1) != term.at(1)))
        return false;
    if (stem(wordLower) == stem(term))
        return true;
    // "wagon-loads" holds "wagon"; "Whit-Tuesday" holds "tuesday".
    if (hyphenated) {
        for (const QString& part : wordLower.split(QLatin1Char('-'), Qt::SkipEmptyParts))
            if (part == term || (part.size() >= 3 && stem(part) == stem(term)))
                return true;
    }
    return false;
}

bool termMatches(const QString& wordLower, const QString& term, const QuestionAnalysis& question)
{
    // A noun of the question is not matched by a verb's "-ed" or "-ing" ("dogged Moore" for
    // "Shirley's dog"); its plural and possessive still are.
    const bool verbForm = wordLower != term && (wordLower.endsWith(QLatin1String("ed")) || wordLower.endsWith(QLatin1String("ing")))
        && question.nounTerms.contains(term);
    if (!verbForm && termMatches(wordLower, term))
        return true;
    const auto it = question.synonyms.constFind(term);
    if (it != question.synonyms.constEnd())
        for (const QString& s : it.value())
            if (termMatches(wordLower, s))
                return true;
    return false;
}

Retrieval retrieve(const storage::Database& db, qint64 docId, const QuestionAnalysis& question, qint64 before,
                   const RetrievalOptions& options)
{
    Retrieval r;
    if (question.keyTerms.isEmpty())
        return r;
    storage::SentenceIndex index(const_cast<storage::Database&>(db));
    const double total = std::max<qint64>(1, index.countBefore(docId, before)) + 1.0;
    for (const QString& t : question.keyTerms) {
        const qint64 n = index.count(docId, ftsTerm(t), before);
        r.termCount.insert(t, n);
        r.termWeight.insert(t, n == 0 ? 0.0 : std::log((total + 1.0) / (double(n) + 0.5)));
    }
    // A name of the question never seen in prose before the position (a table of contents
    // naming later chapters does not count): nothing here can be about it.
    for (const QString& name : question.names) {
        bool seen = false;
        for (const QString& w : name.toLower().split(QLatin1Char(' '), Qt::SkipEmptyParts))
            if (r.termCount.value(w) > 0 && index.count(docId, ftsTerm(w), before, true) > 0)
                seen = true;
        if (!seen)
            r.namesSeen = false;
    }
    double totalWeight = 0;
    for (const QString& t : question.keyTerms)
        totalWeight += std::max(r.termWeight.value(t), 0.5);

    QStringList searchTerms = question.keyTerms;
    for (auto it = question.synonyms.constBegin(); it != question.synonyms.constEnd(); ++it)
        searchTerms << it.value();
    // "How old is Harriet?": the sentences that say "years" or "age" are looked for too.
    if (question.measure)
        searchTerms << question.unitTerms;
    const QVector<storage::SentenceRow> rows = index.search(docId, orQuery(searchTerms), before, options.candidatesFromIndex);
    if (rows.isEmpty())
        return r;
    // Near: the terms within a few words of each other (proximity boost).
    QSet<qint64> near;
    if (question.keyTerms.size() >= 2) {
        QStringList parts;
        for (const QString& t : question.keyTerms)
            parts << ftsTerm(t);
        const QString nearQuery = QStringLiteral("NEAR(%1, 12)").arg(parts.join(QLatin1Char(' ')));
        for (const storage::SentenceRow& row : index.search(docId, nearQuery, before, 40))
            near.insert(row.id);
    }
    // The narrator of a book told in the first person is "I", "me", "my" in its narration
    // (reference.h narrates): "my father" is David's father in Kidnapped.
    References references(db, docId, before);
    QSet<QString> narratorWords;
    for (const QString& name : question.names)
        for (const QString& w : name.toLower().split(QLatin1Char(' '), Qt::SkipEmptyParts))
            if (references.narrates(w))
                narratorWords.insert(w);
    r.narratorAsked = !narratorWords.isEmpty();
    auto coverageOf = [&](const QVector<Word>& ws, QSet<QString>* found) {
        double c = 0;
        for (const QString& t : question.keyTerms) {
            if (found && found->contains(t))
                continue;
            const bool narrator = narratorWords.contains(t);
            for (int k = 0; k < ws.size(); ++k) {
                const Word& w = ws[k];
                if (!w.punctuation
                    && (termMatches(w.lower, t, question)
                        || (narrator && isNarratorWord(ws, k)))) {
                    c += std::max(r.termWeight.value(t), 0.5);
                    if (found)
                        found->insert(t);
                    break;
                }
            }
        }
        return c;
    };

    // The question's relation bound to its names in one sentence ("curate of Whinbury",
    // "Miss Tox inhabited"): a relation word within a few words of a name word.
    auto relationNearName = [&](const QVector<Word>& ws) {
        if (question.relationTerms.isEmpty() || question.nameWords.isEmpty())
            return false;
        QVector<int> names, relations;
        int at = 0;
        for (const Word& w : ws) {
            if (w.punctuation)
                continue;
            if (question.nameWords.contains(w.lower))
                names.push_back(at);
            for (const QString& t : question.relationTerms)
                if (termMatches(w.lower, t, question)) {
                    relations.push_back(at);
                    break;
                }
            ++at;
        }
        for (int n : names)
            for (int m : relations)
                if (std::abs(n - m) <= kRelationSpan)
                    return true;
        return false;
    };
    // Each sentence cut into words once (the kept ones are met again in the windows below).
    QHash<int, QVector<Word>> wordsOf;
    auto wordsAt = [&](const storage::SentenceRow& row) -> const QVector<Word>& {
        auto it = wordsOf.find(row.ordinal);
        if (it == wordsOf.end())
            it = wordsOf.insert(row.ordinal, words(row.text));
        return it.value();
    };
    QVector<ScoredSentence> scored;
    for (const storage::SentenceRow& row : rows) {
        ScoredSentence s;
        s.row = row;
        s.bm25 = -row.bm25;
        QSet<QString> found;
        const QVector<Word> ws = wordsAt(row);
        s.coverage = coverageOf(ws, &found) / totalWeight;
        s.phrase = near.contains(row.id);
        s.relationBound = relationNearName(ws);
        scored.push_back(s);
    }
    QSet<QString> ordinaryNameWords;  ///< the question's name words that the book also writes in lower case
    for (const QString& w : index.ordinaryWords(docId, question.nameWords))
        ordinaryNameWords.insert(w);
    // Neighbours: coverage of the sentence with the one before and after.
    std::sort(scored.begin(), scored.end(), [](const ScoredSentence& a, const ScoredSentence& b) {
        return a.coverage + 0.02 * a.bm25 > b.coverage + 0.02 * b.bm25;
    });
    if (scored.size() > options.keep * 2)
        scored.resize(options.keep * 2);
    // Every window in one query.
    QVector<int> windowOrdinals;
    for (const ScoredSentence& s : scored)
        windowOrdinals << s.row.ordinal - 1 << s.row.ordinal << s.row.ordinal + 1;
    QHash<int, storage::SentenceRow> byOrdinal;
    for (const storage::SentenceRow& row : index.atOrdinals(docId, windowOrdinals, before))
        byOrdinal.insert(row.ordinal, row);
    for (ScoredSentence& s : scored) {
        s.window.clear();
        for (int o = s.row.ordinal - 1; o <= s.row.ordinal + 1; ++o)
            if (const auto it = byOrdinal.constFind(o); it != byOrdinal.constEnd())
                s.window.push_back(it.value());
        QSet<QString> found;
        double c = coverageOf(wordsAt(s.row), &found);
        for (const storage::SentenceRow& w : s.window)
            if (w.ordinal != s.row.ordinal)
                c += 0.7 * coverageOf(wordsAt(w), &found);
        s.windowCoverage = std::min(1.0, c / totalWeight);
        // Each name of the question is mentioned: all its words, or one that is only a name
        // ("Scott" for "Joe Scott": people are called by their surnames; but "Hall" alone is
        // not "Cyril Hall" in a book that writes "hall" as a word).
        s.namesPresent = true;
        s.namesMissing.clear();
        for (const QString& name : question.names) {
            bool all = true, distinctive = false;
            for (const QString& w : name.toLower().split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
                if (!found.contains(w))
                    all = false;
                else if (!ordinaryNameWords.contains(w))
                    distinctive = true;
            }
            if (!all && !distinctive) {
                s.namesPresent = false;
                s.namesMissing << name;
            }
        }
        const double lengthPenalty = s.row.text.size() > 300 ? 0.1 : 0.0;
        s.score = 1.0 * s.coverage + 0.6 * s.windowCoverage + (s.phrase ? 0.25 : 0.0) + (s.relationBound ? kRelationBonus : 0.0)
            + 0.01 * s.bm25
            - lengthPenalty - (s.row.heading ? 0.5 : 0.0);
    }
    std::sort(scored.begin(), scored.end(), [](const ScoredSentence& a, const ScoredSentence& b) { return a.score > b.score; });
    if (scored.size() > options.keep)
        scored.resize(options.keep);
    // A name the sentence does not write may still be what it speaks of: "she" for the
    // question's Caroline, or the chapter's title (reference.h).
    // A given name is also written by its title and surname ("Miss Keeldar" for Shirley).
    for (ScoredSentence& s : scored) {
        if (s.namesPresent || s.namesMissing.isEmpty())
            continue;
        bool all = true, byReference = false;
        for (const QString& name : s.namesMissing) {
            bool written = false;
            for (const storage::SentenceRow& row : s.window)
                written = written || references.writesByTitle(name, wordsAt(row));
            if (written)
                continue;
            if (!references.refersTo(s.row, name)) {
                all = false;
                break;
            }
            byReference = true;
        }
        if (all) {
            s.namesPresent = true;
            s.namesByReference = byReference;
        }
    }
    r.sentences = scored;
    QStringList starts;
    QSet<QString> seen;
    // The neighbours too: candidates are taken from them ("the House" in the next sentence).
    for (const ScoredSentence& s : scored)
        for (const storage::SentenceRow& row : s.window)
            for (const Word& w : wordsAt(row))
                if (!w.punctuation && w.capitalized && !seen.contains(w.lower)) {
                    seen.insert(w.lower);
                    starts << w.lower;
                }
    for (const QString& w : index.ordinaryWords(docId, starts))
        r.ordinaryWords.insert(w);

    // Passages: the best sentences with their neighbours; overlapping ones merged.
    for (const ScoredSentence& s : scored) {
        if (r.passages.size() >= options.passages)
            break;
        if (s.window.isEmpty())
            continue;
        Passage p;
        p.charStart = s.window.front().charStart;
        p.charEnd = s.window.back().charEnd;
        bool overlaps = false;
        for (const Passage& q : r.passages)
            if (p.charStart < q.charEnd && q.charStart < p.charEnd)
                overlaps = true;
        if (overlaps)
            continue;
        p.text = db.documentText(docId, p.charStart, p.charEnd);
        p.chapterIndex = s.row.chapterIndex;
        p.score = s.score;
        p.centerOrdinal = s.row.ordinal;
        r.passages.push_back(p);
    }
    r.words = std::move(wordsOf);
    return r;
}

}  // namespace mm::answer
