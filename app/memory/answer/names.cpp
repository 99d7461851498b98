#include "app/memory/answer/names.h"

#include "app/memory/answer/text.h"
#include "storage/sentence_index.h"

#include <QHash>

namespace mm::answer {
namespace {

bool isPersonTitleWord(const QString& lower)
{
    return oneOf(lower, {"mr", "mrs", "miss", "sir", "lord", "lady", "captain", "general", "colonel", "major", "doctor",
                         "dr", "uncle", "aunt", "master", "madame", "monsieur", "king", "queen", "president", "lieutenant",
                         "commandant", "mistress", "rev"});
}

bool isPlaceWordBefore(const QString& lower)
{
    return oneOf(lower, {"at", "in", "to", "from", "near", "towards"});
}
constexpr int kMentionsRead = 40;  ///< enough to tell a person from a place

// The word just before text[at] (lower case already), skipping spaces and the stop of a
// title ("mr. x" gives "mr"); empty when a mark other than that stop comes first.
QString wordBefore(const QString& text, qsizetype at)
{
    qsizetype i = at - 1;
    while (i >= 0 && text.at(i).isSpace())
        --i;
    if (i >= 0 && text.at(i) == QLatin1Char('.'))
        --i;
    const qsizetype end = i + 1;
    while (i >= 0 && text.at(i).isLetter())
        --i;
    return text.mid(i + 1, end - i - 1);
}

bool beforeTitleStop(const QString& text, qsizetype at)
{
    qsizetype i = at - 1;
    while (i >= 0 && text.at(i).isSpace())
        --i;
    return i >= 0 && text.at(i) == QLatin1Char('.');
}

QString wordAfter(const QString& text, qsizetype end)
{
    qsizetype i = end;
    while (i < text.size() && text.at(i).isSpace())
        ++i;
    const qsizetype start = i;
    while (i < text.size() && text.at(i).isLetter())
        ++i;
    return text.mid(start, i - start);
}

}  // namespace

void classifyNames(const storage::Database& db, qint64 docId, qint64 before, const Retrieval& retrieval,
                   QVector<Candidate>& candidates, int maxNames)
{
    storage::SentenceIndex index(const_cast<storage::Database&>(db));
    struct Evidence {
        qint64 person = 0;
        qint64 place = 0;
    };
    // The name's first mentions in reading order (no ranking: only the name's own posting
    // list is read), classified by the words either side: after a title or beside "said" -> a
    // person's; after at/in/to/from -> a place's. Phrase queries such as "Mr X" OR ... read
    // the posting lists of "mr" and "said", thousands of rows in a long book.
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
                bool person = false, place = false;
                const QString text = row.text.toLower();
                for (qsizetype at = text.indexOf(last); at >= 0; at = text.indexOf(last, at + last.size())) {
                    const qsizetype end = at + last.size();
                    if ((at > 0 && text.at(at - 1).isLetterOrNumber()) || (end < text.size() && text.at(end).isLetterOrNumber()))
                        continue;  // inside another word
                    const QString previous = wordBefore(text, at);
                    const QString next = wordAfter(text, end);
                    if (isPersonTitleWord(previous) || previous == QLatin1String("said") || next == QLatin1String("said"))
                        person = true;
                    // A name that is also an ordinary word ("White", "Hall") is read after "in" as that word.
                    if (!ordinary && !beforeTitleStop(text, at) && isPlaceWordBefore(previous))
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
