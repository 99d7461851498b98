// Questions generated from a book's own sentences, to fit and to check the learned scorer
// (ranker.h) on books that are not the dev set's: each question is built from one sentence
// of a simple shape and its gold answer is the entity of that sentence; it is asked at a
// later position, or, for a spoiler question, before the answer's first mention (while the
// question's own names are already known). Shapes:
//   "Mr. Donne, the curate of Whinbury, ..."  -> Who was the curate of Whinbury? (Donne)
//                                              and Who is Mr. Donne? (curate)
//   "Joe Scott was the overlooker ..."        -> Who was the overlooker ...? (Joe Scott)
//   "Mr. Yorke lived at Briarmains"           -> Where did Mr. Yorke live? (Briarmains)
//   "Mr. Yorke was fifty-five years old"      -> How old was Mr. Yorke? (fifty-five)
//   "Moore had two sisters"                   -> How many sisters did Moore have? (two)
//   "a dog named Tartar"                      -> What was the dog called? (Tartar)
//   "Moore went to Stilbro'"                  -> Where did Moore go? (Stilbro')
//   "Moore returned on Tuesday"               -> When was it that Moore returned? (Tuesday)
//   "Moore brought a letter"                  -> What was it that Moore brought? (letter)
// Use it on training books only: never on the dev set's books or the sample book.
#pragma once

#include "storage/sentence_index.h"

#include <QString>
#include <QVector>

namespace mm::answer {

struct GeneratedQuestion {
    QString type;        ///< "who", "what", "where", "when", "how many"
    QString shape;       ///< "appositive", "whois", "copular", "residence", "journey", "date", "thing", "age", "count", "named"
    QString question;
    qint64 atChar = 0;   ///< asked as of here
    QString gold;        ///< empty: a spoiler question ("not found" is right)
    QString later;       ///< for a spoiler question: the answer the book gives later
    qint64 sourceStart = 0;  ///< the sentence it was built from
};

struct GenerationOptions {
    int perBook = 40;          ///< at most this many questions (spoilers included)
    double spoilerShare = 0.2; ///< of them, at most this share spoiler questions
    quint32 seed = 17;
};

/// Questions from a document's sentences (in order, as the sentence index stores them);
/// characters: the document's length in code points. Deterministic for a seed.
QVector<GeneratedQuestion> generateQuestions(const QVector<storage::SentenceRow>& sentences, qint64 characters,
                                             const GenerationOptions& options = {});

}  // namespace mm::answer
