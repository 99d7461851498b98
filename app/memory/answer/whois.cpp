#include "app/memory/answer/whois.h"

#include "app/memory/answer/text.h"

#include <QHash>

#include <algorithm>

namespace mm::answer {

std::optional<WhoIsCard> whoIsCard(const storage::Database& db, qint64 docId, const QuestionAnalysis& question,
                                   qint64 before, int maxDescriptions, int maxCompanions)
{
    if (question.names.isEmpty())
        return std::nullopt;
    storage::SentenceIndex index(const_cast<storage::Database&>(db));
    WhoIsCard card;
    card.name = question.names.front();
    const QStringList parts = card.name.toLower().split(QLatin1Char(' '), Qt::SkipEmptyParts);
    // The whole name as a phrase, or else its last word (a surname survives "Mr." and
    // "Miss"; the first name alone is tried last).
    QStringList queries;
    queries << storage::SentenceIndex::quoted(parts.join(QLatin1Char(' ')));
    if (parts.size() > 1) {
        queries << storage::SentenceIndex::quoted(parts.back());
        queries << storage::SentenceIndex::quoted(parts.front());
    }
    QString query;
    for (const QString& q : queries) {
        card.mentions = index.count(docId, q, before);
        if (card.mentions > 0) {
            query = q;
            break;
        }
    }
    if (card.mentions == 0)
        return std::nullopt;
    card.firstMention = index.first(docId, query, before);

    const QVector<storage::SentenceRow> rows = index.search(docId, query, before, 200);
    QHash<QString, int> companions;
    for (const storage::SentenceRow& row : rows) {
        const QVector<Word> ws = words(row.text);
        for (int k = 0; k < ws.size(); ++k) {
            if (ws[k].punctuation || !parts.contains(ws[k].lower))
                continue;
            int end = k;
            while (end + 1 < ws.size() && !ws[end + 1].punctuation && parts.contains(ws[end + 1].lower))
                ++end;
            const int j = end + 1;
            const bool appositive = j + 1 < ws.size() && ws[j].text == QLatin1String(",") && !ws[j + 1].punctuation
                && (ws[j + 1].lower == QLatin1String("the") || ws[j + 1].lower == QLatin1String("a")
                    || ws[j + 1].lower == QLatin1String("an") || ws[j + 1].lower == QLatin1String("that")
                    || ws[j + 1].lower == QLatin1String("his") || ws[j + 1].lower == QLatin1String("her"));
            const bool unmarked = unmarkedAppositiveEnd(ws, j) > j;  // "Mr. Utterson the lawyer was"
            const bool copular = j + 1 < ws.size() && (ws[j].lower == QLatin1String("was") || ws[j].lower == QLatin1String("is"))
                && (ws[j + 1].lower == QLatin1String("a") || ws[j + 1].lower == QLatin1String("an")
                    || ws[j + 1].lower == QLatin1String("the"));
            if ((appositive || unmarked || copular) && card.descriptions.size() < maxDescriptions) {
                bool seen = false;
                for (const storage::SentenceRow& d : card.descriptions)
                    if (d.id == row.id)
                        seen = true;
                if (!seen)
                    card.descriptions.push_back(row);
            }
            k = end;
        }
        // Companions: capitalised words inside the sentence (not its first word) that are
        // not X's, titles or stop words.
        for (int k = 1; k < ws.size(); ++k) {
            const Word& w = ws[k];
            if (w.punctuation || !w.capitalized || w.sentenceInitial || parts.contains(w.lower) || isTitle(w.lower)
                || isStopWord(w.lower) || w.lower == QLatin1String("i"))
                continue;
            companions[w.base] += 1;
        }
    }
    QVector<QPair<int, QString>> sorted;
    for (auto it = companions.constBegin(); it != companions.constEnd(); ++it)
        sorted.push_back({it.value(), it.key()});
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    for (int i = 0; i < sorted.size() && i < maxCompanions; ++i)
        card.companions << sorted[i].second;
    std::sort(card.descriptions.begin(), card.descriptions.end(),
              [](const storage::SentenceRow& a, const storage::SentenceRow& b) { return a.ordinal < b.ordinal; });
    return card;
}

}  // namespace mm::answer
