#include "app/memory/answer/names.h"

#include "app/memory/answer/text.h"
#include "storage/sentence_index.h"

#include <QHash>

namespace mm::answer {
namespace {

const char* const kPersonTitles[] = {"mr", "mrs", "miss", "sir", "lord", "lady", "captain", "general", "colonel",
                                     "major", "doctor", "dr", "uncle", "aunt", "master", "madame", "monsieur",
                                     "king", "queen", "president", "lieutenant", "commandant", "mistress", "rev"};
const char* const kPlaceWords[] = {"at", "in", "to", "from", "near", "towards"};
constexpr int kMentionsRead = 150;  ///< enough to tell a person from a place

}  // namespace

void classifyNames(const storage::Database& db, qint64 docId, qint64 before, const Retrieval& retrieval,
                   QVector<Candidate>& candidates, int maxNames)
{
    storage::SentenceIndex index(const_cast<storage::Database&>(db));
    struct Evidence {
        qint64 person = 0;
        qint64 place = 0;
    };
    auto oneOf = [](const QString& w, const auto& list) {
        for (const char* x : list)
            if (w == QLatin1String(x))
                return true;
        return false;
    };
    // The name's first mentions in reading order (no ranking: only the name's own posting
    // list is read), classified here: after a title or beside "said" -> a person's; after
    // at/in/to/from -> a place's. Phrase queries such as "Mr X" OR ... read the posting lists
    // of "mr" and "said", thousands of rows in a long book: 2 ms a name instead of 20-40.
    QHash<QString, Evidence> evidence;
    for (Candidate& c : candidates) {
        if (c.source != QLatin1String("name") || c.key.isEmpty())
            continue;
        const QString last = c.key.section(QLatin1Char(' '), -1);
        if (!evidence.contains(last)) {
            if (evidence.size() >= maxNames)
                continue;
            Evidence e;
            const bool ordinary = retrieval.ordinaryWords.contains(last);
            for (const storage::SentenceRow& row : index.mentions(docId, storage::SentenceIndex::quoted(last), before, kMentionsRead)) {
                const QVector<Word> ws = words(row.text);
                bool person = false, place = false;
                for (int k = 0; k < ws.size(); ++k) {
                    if (ws[k].punctuation || ws[k].lower != last)
                        continue;
                    int p = k - 1;
                    if (p >= 0 && ws[p].text == QLatin1String("."))
                        --p;  // "Mr. X"
                    if (p >= 0 && !ws[p].punctuation && oneOf(ws[p].lower, kPersonTitles))
                        person = true;
                    if (k > 0 && ws[k - 1].lower == QLatin1String("said"))
                        person = true;
                    if (k + 1 < ws.size() && ws[k + 1].lower == QLatin1String("said"))
                        person = true;
                    // A name that is also an ordinary word ("White", "Hall") is read after "in" as that word.
                    if (!ordinary && k > 0 && !ws[k - 1].punctuation && oneOf(ws[k - 1].lower, kPlaceWords))
                        place = true;
                }
                e.person += person ? 1 : 0;
                e.place += place ? 1 : 0;
            }
            evidence.insert(last, e);
        }
        const Evidence e = evidence.value(last);
        if (e.person > 0)
            c.personLike = true;
        if (e.place >= 2 && e.person == 0)
            c.placeLike = true;
        if (c.personLike && e.person * 4 >= e.place)
            c.placeLike = false;
        c.kind = c.placeLike && !c.personLike ? AnswerKind::Place : AnswerKind::Person;
    }
}

}  // namespace mm::answer
