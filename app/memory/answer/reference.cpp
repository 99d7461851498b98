#include "app/memory/answer/reference.h"

#include "app/memory/answer/text.h"

#include <QMutex>
#include <QPair>
#include <QSet>
#include <QStringList>

#include <algorithm>
#include <optional>

namespace mm::answer {
namespace {

constexpr int kMentionsRead = 24;      ///< a name's first mentions read for its gender
constexpr int kWordsAfterMention = 15; ///< how far after a mention its pronoun is looked for
constexpr int kGenderLookups = 8;      ///< other names whose gender one reference may read

// The word before ws[k] is a title, its stop skipped ("Mr. Helstone").
int titleBefore(const QVector<Word>& ws, int k)
{
    int j = k - 1;
    if (j >= 0 && ws[j].punctuation && ws[j].text == QLatin1String("."))
        --j;
    return j >= 0 && isTitle(ws[j].lower) ? j : -1;
}

// Capitalised, not a sentence's first word (unless after a title: the splitter reads the
// title's stop as an end), not a title, pronoun or stop word: a name's word.
bool looksLikeName(const QVector<Word>& ws, int k)
{
    const Word& w = ws[k];
    return !w.punctuation && w.capitalized && (!w.sentenceInitial || titleBefore(ws, k) >= 0) && !isStopWord(w.lower)
        && !isTitle(w.lower) && pronounGender(w.lower) == Gender::Unknown && w.lower != QLatin1String("i");
}

}  // namespace

References::References(const storage::Database& db, qint64 docId, qint64 before)
    : m_db(db), m_index(const_cast<storage::Database&>(db)), m_docId(docId), m_before(before)
{
}

Gender References::genderOf(const QString& nameWord)
{
    if (!m_gender.contains(nameWord))
        readName(nameWord);
    return m_gender.value(nameWord);
}

QString References::surnameOf(const QString& givenName)
{
    if (!m_surname.contains(givenName))
        readName(givenName);
    return m_surname.value(givenName);
}

bool References::writesByTitle(const QString& name, const QVector<Word>& ws)
{
    if (name.contains(QLatin1Char(' ')))
        return false;
    const QString given = name.toLower();
    const QString surname = surnameOf(given);
    if (surname.isEmpty())
        return false;
    const Gender gender = genderOf(given);
    if (gender == Gender::Unknown)
        return false;
    for (int k = 0; k < ws.size(); ++k)
        if (ws[k].lower == surname && ws[k].capitalized) {
            const int t = titleBefore(ws, k);
            if (t >= 0 && titleGender(ws[t].lower) == gender)
                return true;
        }
    return false;
}

void References::readName(const QString& nameWord)
{
    // Titles are near-certain ("Mrs. Pryor"); the first pronoun after a mention is a vote
    // ("Caroline ... she"), stopped by another name or title in between.
    int male = 0, female = 0;
    QHash<QString, int> surnames;
    for (const storage::SentenceRow& row :
         m_index.mentions(m_docId, storage::SentenceIndex::quoted(nameWord), m_before, kMentionsRead)) {
        const QVector<Word> ws = words(row.text);
        for (int i = 0; i < ws.size(); ++i) {
            if (ws[i].lower != nameWord)
                continue;
            // "Good-evening, David," / "said Alan": said to the name, or said by it.
            if ((i > 0 && isSpeechVerb(ws[i - 1].lower)) || (i + 1 < ws.size() && isSpeechVerb(ws[i + 1].lower)))
                m_speaking[nameWord] += 1;
            else if (i > 0 && i + 1 < ws.size() && ws[i - 1].punctuation && ws[i + 1].punctuation && insideQuotes(ws, i)
                     && oneOf(ws[i + 1].text, {",", "!", "?", "."}))
                m_addressed[nameWord] += 1;
            if (i + 1 < ws.size() && ws[i].text == ws[i].base && looksLikeName(ws, i + 1))
                surnames[ws[i + 1].lower] += 1;  // "Shirley Keeldar", not "Shirley's Tartar"
            int j = i;
            while (j > 0 && looksLikeName(ws, j - 1))  // "Mrs. Hortense Moore": the title before the name
                --j;
            j = titleBefore(ws, j) >= 0 ? titleBefore(ws, j) : j - 1;
            if (j >= 0) {
                const Gender t = titleGender(ws[j].lower);
                male += t == Gender::Male ? 3 : 0;
                female += t == Gender::Female ? 3 : 0;
                if (t != Gender::Unknown)
                    continue;
            }
            // After "at", "of", "to" a name is a place's ("the relief of Mafeking, he said"):
            // the pronoun that follows is not its.
            if (j >= 0 && oneOf(ws[j].lower, {"at", "in", "to", "from", "near", "towards", "of", "into", "upon", "on", "by", "round"}))
                continue;
            for (int k = i + 1; k < ws.size() && k <= i + kWordsAfterMention; ++k) {
                if (isTitle(ws[k].lower) || (looksLikeName(ws, k) && k > i + 1))
                    break;
                const Gender p = pronounGender(ws[k].lower);
                if (p != Gender::Unknown) {
                    male += p == Gender::Male ? 1 : 0;
                    female += p == Gender::Female ? 1 : 0;
                    break;
                }
            }
        }
    }
    Gender g = Gender::Unknown;
    if (male >= 2 && male >= 2 * female)
        g = Gender::Male;
    else if (female >= 2 && female >= 2 * male)
        g = Gender::Female;
    m_gender.insert(nameWord, g);
    // The surname written most often, at least twice and more often than any other.
    QString surname;
    int most = 0;
    bool tied = false;
    for (auto it = surnames.constBegin(); it != surnames.constEnd(); ++it) {
        if (it.value() > most) {
            most = it.value();
            surname = it.key();
            tied = false;
        } else if (it.value() == most) {
            tied = true;
        }
    }
    m_surname.insert(nameWord, most >= 2 && !tied ? surname : QString());
}

bool References::firstPersonBook()
{
    if (m_firstPerson)
        return *m_firstPerson;
    // Whether a book is told in the first person is no secret of its later pages and does not
    // change as it is read: known once per library and document in this process (the count
    // reads the posting lists of "said" and "i" across the library: milliseconds).
    static QMutex mutex;
    static QHash<QPair<QString, qint64>, bool> known;
    const QPair<QString, qint64> key{m_db.path(), m_docId};
    {
        const QMutexLocker lock(&mutex);
        if (const auto it = known.constFind(key); it != known.constEnd())
            return *(m_firstPerson = it.value());
    }
    const qint64 saidI = m_index.count(m_docId, QStringLiteral("\"said i\""), m_before);
    m_firstPerson = saidI >= 3 && saidI * 200 >= m_index.countBefore(m_docId, m_before);
    const QMutexLocker lock(&mutex);
    known.insert(key, *m_firstPerson);
    return *m_firstPerson;
}

bool References::narrates(const QString& nameWord)
{
    if (!firstPersonBook())
        return false;
    if (!m_gender.contains(nameWord))
        readName(nameWord);
    return m_addressed.value(nameWord) >= 2 && m_speaking.value(nameWord) == 0;
}

bool References::inChapterTitle(int chapterIndex, const QStringList& nameWords)
{
    if (!m_chaptersRead) {
        for (const storage::ChapterRecord& c : m_db.chapters(m_docId)) {
            QSet<QString> title;
            for (const Word& w : words(c.title))
                title.insert(w.lower);
            m_chapterTitles << title;
        }
        m_chaptersRead = true;
    }
    if (chapterIndex < 0 || chapterIndex >= m_chapterTitles.size())
        return false;
    const QSet<QString>& title = m_chapterTitles[chapterIndex];
    for (const QString& w : nameWords)
        if (!title.contains(w))
            return false;
    return !nameWords.isEmpty();
}

bool References::pronounRefersTo(const storage::SentenceRow& sentence, const QStringList& nameWords)
{
    Gender gender = Gender::Unknown;
    for (const QString& w : nameWords)
        if ((gender = genderOf(w)) != Gender::Unknown)
            break;
    if (gender == Gender::Unknown)
        return false;
    const QVector<Word> own = wordsOf(sentence);  // shared, not copied: readBefore may rehash the cache
    int pronoun = -1;
    for (int i = 0; i < own.size() && pronoun < 0; ++i)
        if (pronounGender(own[i].lower) == gender)
            pronoun = i;
    if (pronoun < 0)
        return false;
    int lookups = 0;
    // The nearest person of that gender before the pronoun, walking back: true when it is the
    // name, false when it is someone else (or when it cannot tell within its budget).
    auto antecedentIn = [&](const QVector<Word>& ws, int end) -> std::optional<bool> {
        for (int i = end - 1; i >= 0; --i) {
            const Word& w = ws[i];
            if (nameWords.contains(w.lower) && w.capitalized)
                return true;
            if (w.capitalized && titleGender(w.lower) == gender)
                return false;  // "Mr. Helstone" for "he": someone else
            if (!looksLikeName(ws, i))
                continue;
            if (lookups++ >= kGenderLookups)
                return false;
            if (genderOf(w.lower) == gender)
                return false;
        }
        return std::nullopt;
    };
    if (const std::optional<bool> here = antecedentIn(own, pronoun))
        return *here;
    readBefore(sentence.ordinal);
    for (int o = sentence.ordinal - 1; o >= sentence.ordinal - kAntecedentSentences && o >= 0; --o) {
        const Sentence* before = sentenceAt(o);
        if (!before || before->row.chapterIndex != sentence.chapterIndex || before->row.heading)
            return false;
        if (const std::optional<bool> found = antecedentIn(before->words, int(before->words.size())))
            return *found;
    }
    return false;
}

void References::readBefore(int ordinal)
{
    QVector<int> wanted;
    for (int b = std::max(0, ordinal - kAntecedentSentences); b < ordinal; ++b)
        if (!m_sentences.contains(b))
            wanted << b;
    if (wanted.isEmpty())
        return;
    for (const storage::SentenceRow& row : m_index.atOrdinals(m_docId, wanted, m_before))
        m_sentences.insert(row.ordinal, Sentence{row, {}, false});
}

References::Sentence* References::sentenceAt(int ordinal)
{
    const auto it = m_sentences.find(ordinal);
    if (it == m_sentences.end())
        return nullptr;
    if (!it->split) {
        it->words = words(it->row.text);
        it->split = true;
    }
    return &it.value();
}

const QVector<Word>& References::wordsOf(const storage::SentenceRow& row)
{
    if (!m_sentences.contains(row.ordinal))
        m_sentences.insert(row.ordinal, Sentence{row, {}, false});
    return sentenceAt(row.ordinal)->words;
}

bool References::refersTo(const storage::SentenceRow& sentence, const QString& name)
{
    QStringList nameWords;
    for (const Word& w : words(name))
        if (!w.punctuation && !isTitle(w.lower))
            nameWords << w.lower;
    if (nameWords.isEmpty())
        return false;
    // A chapter titled with a place or an event is about it throughout ("THE SIEGE OF
    // MAFEKING"); one titled with a person has many sentences about others ("Paul's
    // Introduction to a New Scene"): a person is only found through a pronoun.
    bool person = false;
    for (const QString& w : nameWords)
        person = person || genderOf(w) != Gender::Unknown;
    if ((!person && inChapterTitle(sentence.chapterIndex, nameWords)) || pronounRefersTo(sentence, nameWords))
        return true;
    // The narrator of a book told in the first person: "I", "me", "my" in the narration.
    bool narrator = false;
    for (const QString& w : nameWords)
        narrator = narrator || narrates(w);
    if (!narrator)
        return false;
    const QVector<Word>& ws = wordsOf(sentence);
    for (int i = 0; i < ws.size(); ++i)
        if (isNarratorWord(ws, i))
            return true;
    return false;
}

}  // namespace mm::answer
