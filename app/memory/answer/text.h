// Text units for answering: words with their places in a sentence, and the sentence
// splitter whose spans the sentence index stores (storage/sentence_index.h).
#pragma once

#include "storage/database.h"
#include "storage/sentence_index.h"

#include <QString>
#include <QStringList>
#include <QVector>

namespace mm::answer {

/// Bump when the splitter's output changes: indexes built by another version are rebuilt.
constexpr int kSplitterVersion = 4;

struct Word {
    qsizetype start = 0;     ///< UTF-16 index in the text it was taken from
    qsizetype end = 0;
    QString text;            ///< as written, possessive included ("Shirley's")
    QString base;            ///< possessive dropped ("Shirley")
    QString lower;           ///< base, lower case, curly apostrophes straightened
    bool capitalized = false;
    bool sentenceInitial = false;  ///< first word of its sentence or after an opening quote
    bool punctuation = false;      ///< a single mark (, ; : . ! ? ( ) -- quotes)
};

/// Words and punctuation marks of a sentence, in order. Hyphens and apostrophes inside a
/// word keep it whole ("fifty-five", "Stilbro'", "don't"); "--" is a mark.
QVector<Word> words(const QString& text);

/// The word lower-cased with a light suffix stripping (plural -s/-es, -ed, -ing, -ly), for
/// matching a question's words against a sentence's ("married" ~ "marry" ~ "marries").
QString stem(const QString& lowerWord);

/// Whether the word is one of these (lower case words: oneOf(w, {"was", "is"})).
bool oneOf(const QString& word, std::initializer_list<const char*> list);

/// Common English function words ("the", "of", "was", "who", ...).
bool isStopWord(const QString& lowerWord);
/// Titles that precede names ("mr", "mrs", "captain", "doctor", "sir", ...), lower case,
/// without the full stop.
bool isTitle(const QString& lowerWord);

/// After a name at ws[j]: "the" and one or two lower-case words, then a copula, "had" or
/// "who" ("Mr. Utterson the lawyer was ..."); the index of the appositive's last word, or -1.
int unmarkedAppositiveEnd(const QVector<Word>& words, int j);

/// Whether words[k] is inside quotation marks (curly quotes opened before it and not closed;
/// a sentence whose first mark closes a quote began inside one; straight quotes toggle).
bool insideQuotes(const QVector<Word>& words, int k);

/// Whether words[k] is "I", "me", "my", "myself" or "mine" said by a first-person book's
/// narrator: outside quotes, or inside the quotes of a sentence that says "said I".
bool isNarratorWord(const QVector<Word>& words, int k);
/// A verb that tags speech ("said", "cried", "replies", ...): a name beside it is the speaker.
bool isSpeechVerb(const QString& lower);

enum class Gender { Unknown, Male, Female };
/// "he", "his", ... -> Male; "she", "her", ... -> Female (lower case).
Gender pronounGender(const QString& lowerWord);
/// "mr", "sir", "lord", ... -> Male; "mrs", "miss", "lady", ... -> Female (lower case).
Gender titleGender(const QString& lowerWord);

/// Splits a document's text into sentences: paragraph breaks, [.!?] before a capital or a
/// quote (not after "Mr." or an initial), and over-long sentences cut at ";" or ":". Heading
/// lines (short, one line, no final stop, or all capitals) are marked. chapterStarts are
/// code-point offsets in order; spans are code points.
QVector<storage::SentenceSpan> splitSentences(const QString& text, const QVector<qint64>& chapterStarts);

/// Builds the document's sentence index when it is missing or was made by another
/// splitter version. Returns true when it had to build it.
bool ensureSentenceIndex(storage::Database& db, qint64 docId);

/// Code points in text[0, utf16Index).
qint64 codePoints(const QString& text, qsizetype utf16Index);

}  // namespace mm::answer
