#include "app/memory/answer/question_gen.h"

#include "app/memory/answer/candidates.h"
#include "app/memory/answer/text.h"

#include <QHash>
#include <QMap>
#include <QSet>

#include <algorithm>
#include <random>

namespace mm::answer {
namespace {

bool endsClause(const Word& w)
{
    return w.punctuation && !oneOf(w.text, {"'", "\u2019"});
}

// What the whole book says about its words: which it writes in lower case, which it
// capitalises inside a sentence (names), and where each word is first written.
struct BookWords {
    QSet<QString> lower;
    QSet<QString> midCapital;
    QHash<QString, qint64> first;  ///< word (lower) -> charStart of the first sentence holding it
    QSet<QString> persons;         ///< written after a title or beside "said": a person's name
    QSet<QString> places;          ///< written after "at", "in" or "from": a place's name
};

BookWords scanBook(const QVector<storage::SentenceRow>& sentences)
{
    BookWords b;
    for (const storage::SentenceRow& s : sentences) {
        const QVector<Word> ws = words(s.text);
        for (int k = 0; k < ws.size(); ++k) {
            const Word& w = ws[k];
            if (w.punctuation)
                continue;
            if (!b.first.contains(w.lower))
                b.first.insert(w.lower, s.charStart);
            if (s.heading)
                continue;
            if (w.capitalized && k > 0 && (isTitle(ws[k - 1].lower) || (k > 1 && ws[k - 1].text == QLatin1String(".") && isTitle(ws[k - 2].lower))))
                b.persons.insert(w.lower);
            if (w.capitalized && ((k > 0 && oneOf(ws[k - 1].lower, {"said", "replied", "cried", "asked"}))
                                  || (k + 1 < ws.size() && oneOf(ws[k + 1].lower, {"said", "replied", "cried", "asked"}))))
                b.persons.insert(w.lower);
            if (w.capitalized && k > 0 && oneOf(ws[k - 1].lower, {"at", "in", "from"}) && !w.sentenceInitial)
                b.places.insert(w.lower);
            if (!w.capitalized)
                b.lower.insert(w.lower);
            else if (!w.sentenceInitial && k > 0 && !(ws[k - 1].punctuation && ws[k - 1].text != QLatin1String(",")))
                b.midCapital.insert(w.lower);
        }
    }
    return b;
}

struct Name {
    int from = -1;       ///< first word (the title when there is one)
    int end = -1;        ///< one past the last word
    QString text;        ///< as written, title included ("Mr. Donne")
    QString last;        ///< the last word ("Donne")
    QStringList words;   ///< its words, lower case, title left out
    bool possessive = false;
};

bool isNameWord(const Word& w, const BookWords& book, bool afterTitle)
{
    if (w.punctuation || !w.capitalized || w.base.size() < 2 || w.lower == QLatin1String("i") || isStopWord(w.lower)
        || isTitle(w.lower) || isNumberWord(w.lower) || isDateWord(w.lower))
        return false;
    for (QChar c : w.base)
        if (!c.isLetter() && c != QLatin1Char('-') && c != QLatin1Char('\'') && c != QChar(0x2019))
            return false;
    return afterTitle || (book.midCapital.contains(w.lower) && !book.lower.contains(w.lower));
}

Name nameAt(const QVector<Word>& ws, int k, const QString& text, const BookWords& book)
{
    Name n;
    int i = k;
    bool title = false;
    if (i < ws.size() && !ws[i].punctuation && ws[i].capitalized && isTitle(ws[i].lower)) {
        title = true;
        ++i;
        if (i < ws.size() && ws[i].text == QLatin1String("."))
            ++i;
    }
    const int start = i;
    while (i < ws.size() && isNameWord(ws[i], book, title && i == start)) {
        n.words << ws[i].lower;
        ++i;
        if (ws[i - 1].text != ws[i - 1].base) {
            n.possessive = true;
            break;
        }
    }
    if (i == start || n.words.size() > 3)
        return {};
    n.from = k;
    n.end = i;
    n.text = text.mid(ws[k].start, ws[i - 1].start - ws[k].start) + ws[i - 1].base;
    n.last = ws[i - 1].base;
    return n;
}

// "the curate of Whinbury": from `from` (a "the") to the clause's end; empty when it is not a
// plain noun phrase of 3 to 8 words.
QString descriptionAt(const QVector<Word>& ws, int from, const QString& text, QString* head)
{
    int to = from;
    int count = 0;
    while (to < ws.size() && !endsClause(ws[to])) {
        const QString& l = ws[to].lower;
        // A noun phrase: no verb, pronoun or conjunction ("the county is ...", "the more ... because").
        if (isStopWord(l) && !oneOf(l, {"the", "of", "a", "an", "in", "at", "on", "for", "his", "her", "their"}))
            return {};
        if (oneOf(l, {"said", "being", "having", "more", "less", "fewer", "most", "such", "very", "much"}) || isTitle(l))
            return {};
        if (ws[to].capitalized && count > 0 && to > 0 && ws[to - 1].lower != QLatin1String("of"))
            return {};
        ++count;
        ++to;
    }
    if (count < 3 || count > 8 || to >= ws.size())
        return {};
    const Word& last = ws[to - 1];
    if (isStopWord(last.lower) || last.text != last.base)
        return {};
    // The head noun: the word before "of", else the last word.
    QString h = last.lower;
    for (int k = from + 1; k < to; ++k)
        if (ws[k].lower == QLatin1String("of")) {
            h = ws[k - 1].lower;
            break;
        }
    if (isStopWord(h) || h.endsWith(QLatin1String("ly")))
        return {};
    if (head)
        *head = h;
    return text.mid(ws[from].start, last.end - ws[from].start).simplified();
}

QString numberAt(const QVector<Word>& ws, int from, int* end)
{
    int to = from;
    while (to < ws.size() && !ws[to].punctuation && (isNumberWord(ws[to].lower) || (to > from && ws[to].lower == QLatin1String("and"))))
        ++to;
    while (to > from && ws[to - 1].lower == QLatin1String("and"))
        --to;
    if (to == from || ws[from].lower == QLatin1String("one") || ws[from].lower == QLatin1String("half"))
        return {};
    *end = to;
    QStringList parts;
    for (int k = from; k < to; ++k)
        parts << ws[k].text;
    return parts.join(QLatin1Char(' '));
}

struct Draft {
    GeneratedQuestion q;
    qint64 sourceEnd = 0;
    QStringList questionWords;  ///< the question's names (lower case): known before it is asked
    QString goldWord;           ///< the gold's word whose first mention makes a spoiler possible
};

}  // namespace

QVector<GeneratedQuestion> generateQuestions(const QVector<storage::SentenceRow>& sentences, qint64 characters,
                                             const GenerationOptions& options)
{
    const BookWords book = scanBook(sentences);
    QVector<Draft> drafts;
    auto add = [&](const storage::SentenceRow& s, const char* type, const char* shape, const QString& question,
                   const QString& gold, const QStringList& names, const QString& goldWord) {
        Draft d;
        d.q.type = QString::fromLatin1(type);
        d.q.shape = QString::fromLatin1(shape);
        d.q.question = question;
        d.q.gold = gold;
        d.q.sourceStart = s.charStart;
        d.sourceEnd = s.charEnd;
        d.questionWords = names;
        d.goldWord = goldWord;
        drafts.push_back(d);
    };
    auto capitalisedWordsOf = [](const QString& phrase) {
        QStringList out;
        for (const Word& w : words(phrase))
            if (!w.punctuation && w.capitalized && !isTitle(w.lower))
                out << w.lower;
        return out;
    };
    for (const storage::SentenceRow& s : sentences) {
        if (s.heading || s.text.size() > 400)
            continue;
        const QVector<Word> ws = words(s.text);
        for (int k = 0; k < ws.size(); ++k) {
            const Name n = nameAt(ws, k, s.text, book);
            if (n.from < 0)
                continue;
            const int e = n.end;
            k = e - 1;
            if (n.possessive || e + 1 >= ws.size())
                continue;
            const QString a = ws[e].lower;
            const QString b = ws[e + 1].lower;
            QString head;
            if (ws[e].text == QLatin1String(",") && b == QLatin1String("the")) {
                const QString d = descriptionAt(ws, e + 1, s.text, &head);
                if (!d.isEmpty() && book.persons.contains(n.words.last())) {
                    add(s, "who", "appositive", QStringLiteral("Who was %1?").arg(d), n.last, capitalisedWordsOf(d), n.words.last());
                    add(s, "who", "whois", QStringLiteral("Who is %1?").arg(n.text), head, n.words, QString());
                }
            } else if (oneOf(a, {"was", "is"}) && b == QLatin1String("the") && n.from == 0) {
                const QString d = descriptionAt(ws, e + 1, s.text, &head);
                if (!d.isEmpty() && book.persons.contains(n.words.last()))
                    add(s, "who", "copular", QStringLiteral("Who was %1?").arg(d), n.last, capitalisedWordsOf(d), n.words.last());
            } else if (oneOf(a, {"lived", "lives", "resided", "resides", "dwelt"}) && oneOf(b, {"at", "in"})) {
                const Name place = nameAt(ws, e + 2, s.text, book);
                if (place.from >= 0 && !place.possessive)
                    add(s, "where", "residence", QStringLiteral("Where did %1 live?").arg(n.text), place.last, n.words,
                        place.words.last());
            } else if (a == QLatin1String("was") && b == QLatin1String("born") && e + 3 < ws.size()
                       && oneOf(ws[e + 2].lower, {"at", "in"})) {
                const Name place = nameAt(ws, e + 3, s.text, book);
                if (place.from >= 0 && !place.possessive)
                    add(s, "where", "residence", QStringLiteral("Where was %1 born?").arg(n.text), place.last, n.words,
                        place.words.last());
            } else if (oneOf(a, {"went", "returned", "travelled", "traveled", "hurried", "sailed", "drove", "rode", "fled", "removed"})
                       && b == QLatin1String("to")) {
                const Name place = nameAt(ws, e + 2, s.text, book);
                if (place.from >= 0 && !place.possessive && book.places.contains(place.words.last())
                    && !book.persons.contains(place.words.last()) && book.persons.contains(n.words.last()))
                    add(s, "where", "journey", QStringLiteral("Where did %1 go?").arg(n.text), place.last, n.words,
                        place.words.last());
            } else if (!ws[e].punctuation && !ws[e].capitalized && a.size() > 4 && a.endsWith(QLatin1String("ed"))
                       && !isStopWord(a) && book.persons.contains(n.words.last())) {
                // "... Moore returned on Tuesday": When was it that Moore returned?
                for (int d = e + 1; d + 1 < ws.size() && d <= e + 8; ++d) {
                    if (ws[d].punctuation && ws[d].text != QLatin1String(","))
                        break;
                    if (oneOf(ws[d].lower, {"on", "in"}) && isDateWord(ws[d + 1].lower) && ws[d + 1].capitalized) {
                        add(s, "when", "date", QStringLiteral("When was it that %1 %2?").arg(n.text, ws[e].text), ws[d + 1].text,
                            n.words, QString());
                        break;
                    }
                }
                // "Moore brought a letter": What was it that Moore brought?
                if (oneOf(a, {"brought", "carried", "bought", "received", "sent", "wore", "held", "showed", "produced", "opened"})
                    && oneOf(b, {"a", "an", "the", "his", "her"}) && e + 2 < ws.size()) {
                    int to = e + 2;
                    while (to < ws.size() && !ws[to].punctuation && !ws[to].capitalized && !isStopWord(ws[to].lower) && to <= e + 4)
                        ++to;
                    if (to > e + 2 && (to == ws.size() || ws[to].punctuation || isStopWord(ws[to].lower))) {
                        const QString thing = ws[to - 1].lower;
                        if (thing.size() > 3 && !thing.endsWith(QLatin1String("ly")))
                            add(s, "what", "thing", QStringLiteral("What was it that %1 %2?").arg(n.text, ws[e].text), thing,
                                n.words, QString());
                    }
                }
            } else if (oneOf(a, {"was", "is"})) {
                int end = 0;
                const QString number = numberAt(ws, e + 1, &end);
                if (!number.isEmpty() && end + 1 < ws.size() && ws[end].lower == QLatin1String("years")
                    && ws[end + 1].lower == QLatin1String("old"))
                    add(s, "how many", "age", QStringLiteral("How old was %1?").arg(n.text), number, n.words, QString());
            } else if (oneOf(a, {"had", "has"})) {
                int end = 0;
                const QString number = numberAt(ws, e + 1, &end);
                if (!number.isEmpty() && end < ws.size() && !ws[end].punctuation && !ws[end].capitalized
                    && ws[end].lower.size() > 3 && ws[end].lower.endsWith(QLatin1Char('s')) && !isStopWord(ws[end].lower)
                    && !oneOf(ws[end].lower, {"years", "days", "hours", "minutes", "weeks", "months", "times"}))
                    add(s, "how many", "count", QStringLiteral("How many %1 did %2 have?").arg(ws[end].lower, n.text), number,
                        n.words, QString());
            }
        }
        // "a dog named Tartar": What was the dog called?
        for (int k = 2; k + 1 < ws.size(); ++k) {
            if (!oneOf(ws[k].lower, {"named", "called"}) || ws[k - 1].punctuation || ws[k - 1].capitalized
                || isStopWord(ws[k - 1].lower) || !oneOf(ws[k - 2].lower, {"a", "the"}))
                continue;
            const Name n = nameAt(ws, k + 1, s.text, book);
            if (n.from >= 0 && !n.possessive)
                add(s, "what", "named", QStringLiteral("What was the %1 called?").arg(ws[k - 1].lower), n.last, {}, n.words.last());
        }
    }

    // One question text with two different answers is ambiguous: dropped.
    QHash<QString, QSet<QString>> goldsOf;
    for (const Draft& d : drafts)
        goldsOf[d.q.question.toLower()].insert(d.q.gold.toLower());
    std::mt19937 rng(options.seed);
    auto uniform = [&](qint64 lo, qint64 hi) {  // [lo, hi]
        return lo >= hi ? lo : lo + qint64(rng() % quint64(hi - lo + 1));
    };
    QMap<QString, QVector<GeneratedQuestion>> byShape;
    QVector<GeneratedQuestion> spoilers;
    QSet<QString> seen;
    for (const Draft& d : drafts) {
        const QString key = d.q.question.toLower();
        if (goldsOf.value(key).size() != 1 || seen.contains(key) || d.q.gold.isEmpty())
            continue;
        seen.insert(key);
        GeneratedQuestion q = d.q;
        // Asked some way after its sentence (up to a quarter of the book later).
        q.atChar = uniform(d.sourceEnd, std::min(characters, d.sourceEnd + characters / 4));
        byShape[q.shape].push_back(q);
        // A spoiler version: asked after the question's own names are known, before the
        // answer is first written.
        if (!d.goldWord.isEmpty() && book.first.contains(d.goldWord)) {
            qint64 known = 0;
            bool allKnown = true;
            for (const QString& w : d.questionWords) {
                if (!book.first.contains(w))
                    allKnown = false;
                known = std::max(known, book.first.value(w));
            }
            const qint64 answerFirst = book.first.value(d.goldWord);
            qint64 knownEnd = known;
            for (const storage::SentenceRow& s : sentences)
                if (s.charStart == known) {
                    knownEnd = s.charEnd;
                    break;
                }
            if (allKnown && answerFirst - knownEnd > 2000) {
                GeneratedQuestion sq = d.q;
                sq.gold.clear();
                sq.later = d.q.gold;
                sq.atChar = uniform(knownEnd, answerFirst - 1);
                spoilers.push_back(sq);
            }
        }
    }
    for (auto& list : byShape)
        std::shuffle(list.begin(), list.end(), rng);
    std::shuffle(spoilers.begin(), spoilers.end(), rng);
    QVector<GeneratedQuestion> out;
    const int spoilerCount = std::min<int>(int(spoilers.size()), int(options.spoilerShare * options.perBook));
    const int answerable = options.perBook - spoilerCount;
    // Round robin over the shapes, so that no one shape fills the book's share.
    for (int round = 0; int(out.size()) < answerable; ++round) {
        bool any = false;
        for (auto it = byShape.begin(); it != byShape.end() && int(out.size()) < answerable; ++it)
            if (round < it.value().size()) {
                out.push_back(it.value()[round]);
                any = true;
            }
        if (!any)
            break;
    }
    for (int i = 0; i < spoilerCount; ++i)
        out.push_back(spoilers[i]);
    std::sort(out.begin(), out.end(), [](const GeneratedQuestion& a, const GeneratedQuestion& b) { return a.atChar < b.atChar; });
    return out;
}

}  // namespace mm::answer
