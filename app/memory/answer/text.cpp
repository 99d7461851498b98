#include "app/memory/answer/text.h"

#include <QSet>

namespace mm::answer {
namespace {

bool isApostrophe(QChar c)
{
    return c == QLatin1Char('\'') || c == QChar(0x2019);
}

bool isOpeningQuote(QChar c)
{
    return c == QLatin1Char('"') || c == QChar(0x201C) || c == QChar(0x2018) || c == QLatin1Char('\'')
        || c == QLatin1Char('(') || c == QLatin1Char('[') || c == QLatin1Char('_');
}

bool isClosingMark(QChar c)
{
    return c == QLatin1Char('"') || c == QChar(0x201D) || c == QChar(0x2019) || c == QLatin1Char('\'')
        || c == QLatin1Char(')') || c == QLatin1Char(']') || c == QLatin1Char('_');
}

const QSet<QString>& stopWords()
{
    static const QSet<QString> words = [] {
        QSet<QString> s;
        for (const char* w : {
                 "a", "an", "the", "and", "or", "but", "nor", "of", "in", "on", "at", "to", "from", "by", "with",
                 "for", "about", "into", "onto", "upon", "over", "under", "as", "than", "then", "so", "if",
                 "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "done", "has",
                 "have", "had", "having", "will", "would", "shall", "should", "can", "could", "may", "might",
                 "must", "who", "whom", "whose", "what", "which", "where", "when", "why", "how", "that",
                 "this", "these", "those", "it", "its", "he", "she", "him", "her", "his", "hers", "they",
                 "them", "their", "theirs", "we", "us", "our", "you", "your", "i", "me", "my", "mine",
                 "there", "here", "not", "no", "yes", "all", "any", "some", "each", "every", "very",
                 "much", "many", "more", "most", "such", "also", "just", "only", "own", "same", "too",
                 "s", "t", "o", "one", "ever", "never", "out", "up", "down", "off", "again", "still",
                 "name", "named", "called", "call", "kind", "sort", "thing", "something", "anything",
                 "get", "got", "go", "went", "gone", "come", "came", "make", "made", "let", "say",
                 "said", "tell", "told", "know", "knew", "book", "story", "happen", "happened",
                 "whit", "whither", "whence", "generally", "usually", "really", "often", "old"})
            s.insert(QString::fromLatin1(w));
        return s;
    }();
    return words;
}

const QSet<QString>& titles()
{
    static const QSet<QString> words = [] {
        QSet<QString> s;
        for (const char* w : {"mr", "mrs", "miss", "ms", "master", "sir", "madam", "madame", "lady",
                              "lord", "captain", "capt", "doctor", "dr", "general", "gen", "colonel",
                              "col", "major", "lieutenant", "lieut", "rev", "reverend", "father",
                              "mother", "uncle", "aunt", "brother", "sister", "saint", "st", "king",
                              "queen", "prince", "princess", "president", "professor", "prof",
                              "mademoiselle", "monsieur", "messrs", "brigadier", "commandant",
                              "admiral", "bishop", "dame", "signor", "herr", "frau", "count",
                              "countess", "duke", "duchess", "sergeant", "corporal", "private", "mistress"})
            s.insert(QString::fromLatin1(w));
        return s;
    }();
    return words;
}

// Words before a full stop that do not end a sentence.
bool isAbbreviation(const QString& lower)
{
    static const QSet<QString> abbreviations = [] {
        QSet<QString> s;
        for (const char* w : {"mr", "mrs", "ms", "dr", "st", "messrs", "capt", "col", "gen", "lieut",
                              "rev", "prof", "jun", "sen", "sr", "jr", "mt", "no", "vol", "vols", "ch",
                              "chap", "fig", "viz", "vs", "etc", "esq", "hon", "co", "i.e", "e.g",
                              "b.a", "m.a", "m.p", "d.d", "ft", "cf", "sq", "maj", "sgt", "gov", "pp"})
            s.insert(QString::fromLatin1(w));
        return s;
    }();
    return abbreviations.contains(lower) || lower.size() == 1;  // an initial: "J. Smith"
}

bool hasLetter(const QString& s)
{
    for (QChar c : s)
        if (c.isLetter())
            return true;
    return false;
}

}  // namespace

bool isStopWord(const QString& lowerWord)
{
    return stopWords().contains(lowerWord);
}

bool isTitle(const QString& lowerWord)
{
    return titles().contains(lowerWord);
}

bool oneOf(const QString& w, std::initializer_list<const char*> list)
{
    for (const char* x : list)
        if (w == QLatin1String(x))
            return true;
    return false;
}

Gender pronounGender(const QString& w)
{
    if (oneOf(w, {"he", "him", "his", "himself"}))
        return Gender::Male;
    if (oneOf(w, {"she", "her", "hers", "herself"}))
        return Gender::Female;
    return Gender::Unknown;
}

Gender titleGender(const QString& w)
{
    // Ranks were men's in the books this reads ("Captain Hoseason" is not "Mrs. Hoseason").
    if (oneOf(w, {"mr", "sir", "lord", "master", "monsieur", "king", "uncle", "father", "brother", "rev", "reverend",
                  "captain", "colonel", "general", "major", "admiral", "lieutenant", "sergeant", "corporal", "bishop",
                  "duke", "earl", "count", "baron", "prince", "emperor", "cardinal", "herr", "signor", "senor", "don",
                  "doctor", "dr", "capt", "col", "gen", "lieut", "brigadier", "commandant"}))
        return Gender::Male;
    if (oneOf(w, {"mrs", "miss", "lady", "madame", "mistress", "queen", "aunt", "mother", "sister", "mademoiselle", "dame",
                  "princess", "countess", "duchess", "frau", "madam", "ms"}))
        return Gender::Female;
    return Gender::Unknown;
}

// "Mr. Utterson the lawyer was ...": "the" and one or two lower-case words, then a copula,
// "had" or "who" (not a comma: "gave Hyde the money, and" is an object); the index of the
// last word of the appositive, or -1.
int unmarkedAppositiveEnd(const QVector<Word>& ws, int j)
{
    if (j + 2 >= ws.size() || ws[j].lower != QLatin1String("the"))
        return -1;
    for (int e = j + 1; e <= j + 2 && e + 1 < ws.size(); ++e) {
        const Word& w = ws[e];
        if (w.punctuation || w.capitalized || isStopWord(w.lower) || w.text != w.base)
            return -1;
        const Word& next = ws[e + 1];
        if (oneOf(next.lower, {"was", "is", "had", "has", "who"}))
            return e;
    }
    return -1;
}

// Whether ws[k] is inside quotation marks: the curly quotes opened and not closed before
// it; a sentence whose first mark closes a quote began inside one (the second sentence of
// a speech). Straight double quotes toggle.
bool insideQuotes(const QVector<Word>& ws, int k)
{
    int depth = 0;
    for (const Word& w : ws)
        if (w.punctuation && (w.text == QString(QChar(0x201C)) || w.text == QString(QChar(0x201D)) || w.text == QLatin1String("\""))) {
            depth = w.text == QString(QChar(0x201D)) ? 1 : 0;
            break;
        }
    for (int i = 0; i < k && i < ws.size(); ++i) {
        if (!ws[i].punctuation)
            continue;
        if (ws[i].text == QString(QChar(0x201C)))
            ++depth;
        else if (ws[i].text == QString(QChar(0x201D)))
            depth = std::max(0, depth - 1);
        else if (ws[i].text == QLatin1String("\""))
            depth = depth > 0 ? 0 : 1;
    }
    return depth > 0;
}

bool isSpeechVerb(const QString& lower)
{
    return oneOf(lower, {"said", "cried", "asked", "replied", "returned", "exclaimed", "answered", "rejoined", "whispered",
                         "observed", "inquired", "retorted", "murmured", "sobbed", "laughed", "says", "cries", "asks",
                         "replies", "continued", "added", "echoed"});
}

bool isNarratorWord(const QVector<Word>& ws, int k)
{
    if (k < 0 || k >= ws.size() || !oneOf(ws[k].lower, {"i", "me", "my", "myself", "mine"}))
        return false;
    if (!insideQuotes(ws, k))
        return true;
    // "'My father was Alexander Balfour,' said I": the narrator's own speech.
    for (int j = 0; j < ws.size(); ++j)
        if (ws[j].lower == QLatin1String("i") && !insideQuotes(ws, j)
            && ((j > 0 && isSpeechVerb(ws[j - 1].lower)) || (j + 1 < ws.size() && isSpeechVerb(ws[j + 1].lower))))
            return true;
    return false;
}

QString stem(const QString& w)
{
    QString s = w;
    auto strip = [&](const char* suffix, qsizetype keep) {
        const QLatin1String suf(suffix);
        if (s.size() - suf.size() >= keep && s.endsWith(suf)) {
            s.chop(suf.size());
            return true;
        }
        return false;
    };
    if (strip("ies", 3)) { s += QLatin1Char('y'); return s; }
    if (strip("ied", 3)) { s += QLatin1Char('y'); return s; }
    if (strip("ing", 3) || strip("ed", 3)) {
        // "married" -> "marri" handled above; "commanded" -> "command"; doubled consonant
        if (s.size() > 3 && s.at(s.size() - 1) == s.at(s.size() - 2) && !s.endsWith(QLatin1String("ll"))
            && !s.endsWith(QLatin1String("ss")))
            s.chop(1);
        if (s.endsWith(QLatin1Char('e')))
            s.chop(1);
        return s;
    }
    if (strip("ly", 4))
        return s;
    if (strip("es", 4) && (s.endsWith(QLatin1String("ss")) || s.endsWith(QLatin1String("sh"))
                           || s.endsWith(QLatin1String("ch")) || s.endsWith(QLatin1Char('x'))))
        return s;
    s = w;
    if (s.size() > 3 && s.endsWith(QLatin1Char('s')) && !s.endsWith(QLatin1String("ss"))
        && !s.endsWith(QLatin1String("us")) && !s.endsWith(QLatin1String("is")))
        s.chop(1);
    if (s.size() > 3 && s.endsWith(QLatin1Char('e')))
        s.chop(1);
    return s;
}

QVector<Word> words(const QString& text)
{
    QVector<Word> out;
    const qsizetype n = text.size();
    out.reserve(n / 5 + 4);  // about a word or mark per five characters of prose
    bool atStart = true;
    qsizetype i = 0;
    while (i < n) {
        const QChar c = text.at(i);
        if (c.isLetterOrNumber()) {
            const qsizetype start = i;
            while (i < n) {
                const QChar d = text.at(i);
                if (d.isLetterOrNumber() || d.isMark()) {
                    ++i;
                } else if ((isApostrophe(d) || d == QLatin1Char('-')) && i + 1 < n && text.at(i + 1).isLetterOrNumber()
                           && !(d == QLatin1Char('-') && i + 1 < n && text.at(i + 1) == QLatin1Char('-'))) {
                    ++i;
                } else if (d == QLatin1Char('.') && i + 1 < n && text.at(i + 1).isLetter() && i + 2 < n
                           && text.at(i + 2) == QLatin1Char('.')) {
                    ++i;  // "B.A." kept as one word (the final stop follows below)
                } else {
                    break;
                }
            }
            // A trailing apostrophe of a plural possessive or a dialect word ("Stilbro'").
            qsizetype end = i;
            if (i < n && isApostrophe(text.at(i)) && (i + 1 >= n || !text.at(i + 1).isLetter()))
                end = i + 1;
            Word w;
            w.start = start;
            w.end = end;
            w.text = text.mid(start, end - start);
            QString base = w.text;
            base.replace(QChar(0x2019), QLatin1Char('\''));
            if (base.endsWith(QLatin1String("'s")) || base.endsWith(QLatin1String("'S")))
                base.chop(2);
            else if (base.endsWith(QLatin1Char('\'')) && base.size() > 1 && base.at(base.size() - 2).toLower() == QLatin1Char('s'))
                base.chop(1);
            w.base = base;
            w.lower = base.toLower();
            w.capitalized = c.isUpper();
            w.sentenceInitial = atStart;
            atStart = false;
            out.push_back(w);
            i = end;
            continue;
        }
        if (c.isSpace()) {
            ++i;
            continue;
        }
        Word p;
        p.start = i;
        p.punctuation = true;
        if (c == QLatin1Char('-') && i + 1 < n && text.at(i + 1) == QLatin1Char('-')) {
            while (i < n && text.at(i) == QLatin1Char('-'))
                ++i;
        } else {
            ++i;
        }
        p.end = i;
        p.text = text.mid(p.start, p.end - p.start);
        p.lower = p.text;
        p.base = p.text;
        if (c == QLatin1Char('.') || c == QLatin1Char('!') || c == QLatin1Char('?') || isOpeningQuote(c) || c == QChar(0x2018)
            || c == QLatin1Char(':') || c == QLatin1Char(';') || (c == QLatin1Char('-') && p.text.size() > 1))
            atStart = true;
        out.push_back(p);
    }
    return out;
}

qint64 codePoints(const QString& text, qsizetype utf16Index)
{
    qint64 cp = 0;
    for (qsizetype i = 0; i < utf16Index && i < text.size(); ++i)
        if (!text.at(i).isLowSurrogate())
            ++cp;
    return cp;
}

namespace {

// text[from, to) is one line with at least three letters and none in lower case.
bool isCapitalsLine(const QString& text, qsizetype from, qsizetype to)
{
    int letters = 0;
    for (qsizetype k = from; k < to; ++k) {
        const QChar c = text.at(k);
        if (c == QLatin1Char('\n') || c.isLower())
            return false;
        letters += c.isLetter() ? 1 : 0;
    }
    return letters >= 3;
}

}  // namespace

QVector<storage::SentenceSpan> splitSentences(const QString& text, const QVector<qint64>& chapterStarts)
{
    constexpr qsizetype kLongSentence = 400;
    QVector<storage::SentenceSpan> spans;
    const qsizetype n = text.size();
    // Code point of each UTF-16 index, computed on the fly (text order).
    qsizetype cpAtUnitIndex = 0;
    qint64 cpAtUnit = 0;
    auto cpOf = [&](qsizetype unit) {
        while (cpAtUnitIndex < unit) {
            if (!text.at(cpAtUnitIndex).isLowSurrogate())
                ++cpAtUnit;
            ++cpAtUnitIndex;
        }
        return cpAtUnit;
    };
    int chapter = -1;
    auto emitSpan = [&](qsizetype from, qsizetype to) {
        while (from < to && text.at(from).isSpace())
            ++from;
        while (to > from && text.at(to - 1).isSpace())
            --to;
        if (to <= from)
            return;
        const QString s = text.mid(from, to - from);
        if (!hasLetter(s))
            return;
        storage::SentenceSpan span;
        span.charStart = cpOf(from);
        span.charEnd = cpOf(to);
        while (chapter + 1 < chapterStarts.size() && chapterStarts[chapter + 1] <= span.charStart)
            ++chapter;
        span.chapterIndex = chapter;
        const QChar last = s.at(s.size() - 1);
        const bool oneLine = !s.contains(QLatin1Char('\n'));
        bool allCaps = true;
        for (QChar c : s)
            if (c.isLower()) {
                allCaps = false;
                break;
            }
        // A picture's title ("[Illustration: THE WRECK OF THE COVENANT") is no prose either.
        span.heading = (oneLine && s.startsWith(QLatin1String("[Illustration"), Qt::CaseInsensitive))
            || (oneLine && s.size() < 100
            && (allCaps || !(last == QLatin1Char('.') || last == QLatin1Char('!') || last == QLatin1Char('?')
                             || last == QLatin1Char('"') || last == QChar(0x201D) || last == QChar(0x2019)
                             || last == QLatin1Char(',') || last == QLatin1Char(';') || last == QLatin1Char(':'))));
        spans.push_back(span);
    };
    // Emits [from, to), cutting a long piece at ";" or ":" (then ", ") near its middle parts.
    auto emitPiece = [&](qsizetype from, qsizetype to) {
        while (to - from > kLongSentence) {
            qsizetype cut = -1;
            for (const QChar mark : {QLatin1Char(';'), QLatin1Char(':'), QLatin1Char(',')}) {
                for (qsizetype k = from + kLongSentence; k > from + 80; --k)
                    if (text.at(k) == mark) {
                        cut = k + 1;
                        break;
                    }
                if (cut > 0)
                    break;
            }
            if (cut < 0)
                break;
            emitSpan(from, cut);
            from = cut;
        }
        emitSpan(from, to);
    };
    qsizetype start = 0;
    qsizetype i = 0;
    while (i < n) {
        const QChar c = text.at(i);
        if (c == QLatin1Char('\n')) {
            // A blank line (paragraph break) or a heading line ends the sentence.
            qsizetype j = i + 1;
            while (j < n && (text.at(j) == QLatin1Char(' ') || text.at(j) == QLatin1Char('\t') || text.at(j) == QLatin1Char('\r')))
                ++j;
            // So does a line of capitals that the sentence began with, even with no blank
            // line after it: "THE SIEGE OF THE ROUND-HOUSE    84" above its caption in a list
            // of illustrations.
            if ((j < n && text.at(j) == QLatin1Char('\n')) || isCapitalsLine(text, start, i)) {
                emitPiece(start, i);
                while (j < n && text.at(j).isSpace())
                    ++j;
                start = j;
                i = j;
                continue;
            }
            ++i;
            continue;
        }
        if (c == QLatin1Char('.') || c == QLatin1Char('!') || c == QLatin1Char('?')) {
            qsizetype j = i + 1;
            while (j < n && (text.at(j) == QLatin1Char('.') || text.at(j) == QLatin1Char('!') || text.at(j) == QLatin1Char('?')))
                ++j;
            while (j < n && isClosingMark(text.at(j)))
                ++j;
            if (j >= n || !text.at(j).isSpace()) {
                i = j > i ? j : i + 1;
                continue;
            }
            qsizetype k = j;
            while (k < n && text.at(k).isSpace())
                ++k;
            const bool nextStarts = k >= n || text.at(k).isUpper() || text.at(k).isDigit() || isOpeningQuote(text.at(k))
                || text.at(k) == QChar(0x2018) || text.at(k) == QChar(0x201C);
            bool abbreviation = false;
            if (c == QLatin1Char('.') && j == i + 1) {
                qsizetype w = i;
                while (w > start && (text.at(w - 1).isLetter() || text.at(w - 1) == QLatin1Char('.')))
                    --w;
                abbreviation = isAbbreviation(text.mid(w, i - w).toLower());
            }
            if (nextStarts && !abbreviation) {
                emitPiece(start, j);
                start = k;
                i = k;
                continue;
            }
            i = j;
            continue;
        }
        ++i;
    }
    emitPiece(start, n);
    return spans;
}

bool ensureSentenceIndex(storage::Database& db, qint64 docId)
{
    storage::SentenceIndex index(db);
    if (index.isBuilt(docId, kSplitterVersion))
        return false;
    const QString text = db.documentText(docId);
    QVector<qint64> chapterStarts;
    for (const storage::ChapterRecord& c : db.chapters(docId))
        chapterStarts.push_back(c.charOffset);
    // The words written in lower case somewhere: a capitalised sentence start that is one of
    // them ("Allow", "These") is not a name.
    QSet<QString> ordinary;
    qsizetype i = 0;
    const qsizetype n = text.size();
    while (i < n) {
        if (!text.at(i).isLetter()) {
            ++i;
            continue;
        }
        const qsizetype start = i;
        bool lower = text.at(i).isLower();
        while (i < n && (text.at(i).isLetter() || text.at(i).isMark()))
            ++i;
        if (lower && i - start <= 30)
            ordinary.insert(text.mid(start, i - start));
    }
    index.build(docId, kSplitterVersion, text, splitSentences(text, chapterStarts), QStringList(ordinary.begin(), ordinary.end()));
    return true;
}

}  // namespace mm::answer
