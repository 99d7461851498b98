#include "app/memory/answer/names.h"

#include "storage/sentence_index.h"

#include <QHash>

namespace mm::answer {
namespace {

const char* const kPersonTitles[] = {"mr", "mrs", "miss", "sir", "lord", "lady", "captain", "general", "colonel",
                                     "major", "doctor", "dr", "uncle", "aunt", "master", "madame", "monsieur",
                                     "king", "queen", "president", "lieutenant", "commandant", "mistress", "rev"};
const char* const kPlaceWords[] = {"at", "in", "to", "from", "near", "towards"};

}  // namespace

void classifyNames(const storage::Database& db, qint64 docId, qint64 before, const Retrieval& retrieval,
                   QVector<Candidate>& candidates, int maxNames)
{
    storage::SentenceIndex index(const_cast<storage::Database&>(db));
    struct Evidence {
        qint64 person = 0;
        qint64 place = 0;
    };
    QHash<QString, Evidence> evidence;
    for (Candidate& c : candidates) {
        if (c.source != QLatin1String("name") || c.key.isEmpty())
            continue;
        const QString last = c.key.section(QLatin1Char(' '), -1);
        if (!evidence.contains(last)) {
            if (evidence.size() >= maxNames)
                continue;
            QStringList person;
            for (const char* t : kPersonTitles)
                person << storage::SentenceIndex::quoted(QString::fromLatin1(t) + QLatin1Char(' ') + last);
            person << storage::SentenceIndex::quoted(last + QStringLiteral(" said"))
                   << storage::SentenceIndex::quoted(QStringLiteral("said ") + last);
            Evidence e;
            e.person = index.count(docId, person.join(QStringLiteral(" OR ")), before);
            // A name that is also an ordinary word ("White", "Hall") is read after "in" as that word.
            if (!retrieval.ordinaryWords.contains(last)) {
                QStringList place;
                for (const char* p : kPlaceWords)
                    place << storage::SentenceIndex::quoted(QString::fromLatin1(p) + QLatin1Char(' ') + last);
                e.place = index.count(docId, place.join(QStringLiteral(" OR ")), before);
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
