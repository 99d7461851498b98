// Retrieval as of the reading position: BM25 over the document's sentences (FTS5) with an
// OR of the question's key terms, then each sentence re-scored by how much of the question
// it and its neighbours cover (terms weighted by their rarity in the book so far), with a
// bonus for the question's phrase and for its terms close together. The position bound is
// inside every SQL query (storage/sentence_index.h).
#pragma once

#include "app/memory/answer/question.h"
#include "app/memory/answer/text.h"
#include "storage/database.h"
#include "storage/sentence_index.h"

#include <QHash>
#include <QSet>
#include <QVector>

namespace mm::answer {

struct ScoredSentence {
    storage::SentenceRow row;
    double bm25 = 0;              ///< -bm25 (higher is better)
    double coverage = 0;          ///< weighted share of key terms in the sentence (0-1)
    double windowCoverage = 0;    ///< the same over the sentence and its neighbours
    bool namesPresent = false;    ///< every question name is mentioned in the window (by one of its words at least) or referred to
    bool namesByReference = false;  ///< ... some of them only by reference (a pronoun, the chapter's title: reference.h)
    QStringList namesMissing;     ///< the question's names the window does not write
    bool phrase = false;          ///< holds the question's target phrase (or most of it)
    bool relationBound = false;   ///< a relation word of the question within a few words of one of its names
    double score = 0;             ///< combined
    QVector<storage::SentenceRow> window;  ///< previous, this, next (those before the position)
};

struct Passage {
    qint64 charStart = 0;
    qint64 charEnd = 0;
    int chapterIndex = -1;
    QString text;
    double score = 0;
    int centerOrdinal = 0;
};

struct Retrieval {
    QVector<ScoredSentence> sentences;  ///< best first
    QVector<Passage> passages;          ///< the best sentences with their neighbours, merged, best first
    QHash<QString, double> termWeight;  ///< key term -> idf as of the position
    QHash<QString, qint64> termCount;   ///< key term -> sentences holding it before the position
    bool namesSeen = true;              ///< each question name occurs before the position
    QSet<QString> ordinaryWords;        ///< capitalised sentence starts of the sentences that the book also writes in lower case
    bool narratorAsked = false;         ///< a name of the question is the first-person narrator's (reference.h narrates)
    /// The words of the sentences met (the kept ones, their neighbours), by ordinal: cut
    /// once, for the candidates too (wordsOf).
    QHash<int, QVector<Word>> words;
    /// The words of a sentence: from `words`, else cut now.
    QVector<Word> wordsOf(const storage::SentenceRow& row) const;
};

struct RetrievalOptions {
    int candidatesFromIndex = 120;   ///< sentences fetched by bm25 (OR of terms)
    int keep = 30;                   ///< sentences kept after re-scoring
    int passages = 5;
};

/// Whether the lower-case word matches a key term (same stem, or a part of a hyphenated word).
bool termMatches(const QString& wordLower, const QString& term);
/// The same, or one of the term's synonyms in the question.
bool termMatches(const QString& wordLower, const QString& term, const QuestionAnalysis& question);

Retrieval retrieve(const storage::Database& db, qint64 docId, const QuestionAnalysis& question, qint64 before,
                   const RetrievalOptions& options = {});

}  // namespace mm::answer
