// The sentence index behind answers (app/memory/answer): a document's text cut into
// sentences, each a row with its code-point span and chapter, indexed by FTS5 (porter,
// unicode61), so that a question's terms rank sentences by BM25 as of a reading position.
//
// It is derived data: the splitter lives in app/memory/answer (storage only keeps the
// spans it is given) and the whole index of a document can be rebuilt from its passages
// at any time; answer_index records which splitter version built it. Its tables are
// created on the first build (CREATE ... IF NOT EXISTS), outside the schema's version
// steps, because nothing else depends on them and a library without them is complete.
// A document's rows go with it (ON DELETE CASCADE; triggers keep the FTS index in step).
//
// Offsets are code points into the stored text, as everywhere in storage. Every query
// takes the reading position as a bound inside its SQL (char_end <= before), never as a
// filter applied after a LIMIT.
#pragma once

#include "storage/database.h"

#include <QString>
#include <QVector>

#include <optional>

namespace mm::storage {

struct SentenceSpan {
    qint64 charStart = 0;   ///< inclusive
    qint64 charEnd = 0;     ///< exclusive
    int chapterIndex = -1;
    bool heading = false;   ///< a title or heading line, not prose
};

struct SentenceRow {
    qint64 id = 0;
    int ordinal = 0;        ///< 0-based order within the document
    qint64 charStart = 0;
    qint64 charEnd = 0;
    int chapterIndex = -1;
    bool heading = false;
    QString text;
    double bm25 = 0;        ///< SQLite's bm25(): lower (more negative) is better; 0 outside search
};

class SentenceIndex {
public:
    explicit SentenceIndex(Database& db);

    /// Whether the document's sentences were stored by this splitter version.
    bool isBuilt(qint64 docId, int splitterVersion) const;
    /// Replaces the document's sentences with spans of text (its whole stored text), in
    /// one transaction.
    /// ordinaryWords: the words the text writes in lower case somewhere (lower case), so that
    /// a capitalised sentence start can be told from a name.
    void build(qint64 docId, int splitterVersion, const QString& text, const QVector<SentenceSpan>& spans,
               const QStringList& ordinaryWords = {});
    /// Those of the (lower-case) words that the document writes in lower case somewhere.
    QStringList ordinaryWords(qint64 docId, const QStringList& words) const;
    int sentenceCount(qint64 docId) const;
    /// Sentences that end at or before the position.
    qint64 countBefore(qint64 docId, qint64 before) const;

    /// Sentences matching an FTS5 query (built by the caller from words, never raw user
    /// text) that end at or before the position, best bm25 first.
    QVector<SentenceRow> search(qint64 docId, const QString& ftsQuery, qint64 before, int limit) const;
    /// The first sentences (in reading order, at most limit) that match and end at or before
    /// the position: no ranking, so a frequent word costs only its own posting list.
    QVector<SentenceRow> mentions(qint64 docId, const QString& ftsQuery, qint64 before, int limit) const;
    /// Sentences with ordinals [first, last] that end at or before the position.
    QVector<SentenceRow> range(qint64 docId, int first, int last, qint64 before) const;
    /// The sentences with these ordinals (any order, repeats allowed) that end at or before
    /// the position, in reading order: one query for many windows.
    QVector<SentenceRow> atOrdinals(qint64 docId, const QVector<int>& ordinals, qint64 before) const;
    /// How many sentences ending at or before the position match (prose only: headings and
    /// contents lines left out), and the first of them.
    qint64 count(qint64 docId, const QString& ftsQuery, qint64 before, bool proseOnly = false) const;
    std::optional<SentenceRow> first(qint64 docId, const QString& ftsQuery, qint64 before) const;

    /// FTS5 query text for one word or a phrase of words: quoted, quotes doubled.
    static QString quoted(const QString& words);

    /// The ids of the document's sentences that end at or before the position: [first,
    /// last], nothing when there are none. Ids rise with the reading order (build()).
    struct IdRange {
        qint64 first = 0;
        qint64 last = 0;
        qint64 sentences = 0;  ///< how many (ordinals are 0, 1, ... in reading order)
    };
    std::optional<IdRange> idRange(qint64 docId, qint64 before) const;

private:
    bool tablesExist() const;
    mutable bool m_tablesSeen = false;  ///< they existed once: they do for this object's life
    mutable std::optional<IdRange> m_range;  ///< the last idRange asked (a question asks one)
    mutable qint64 m_rangeDoc = -1, m_rangeBefore = -1;
    /// The rows of an FTS5 query statement (?1 query, ?2 document, ?3 position, ?4 limit).
    QVector<SentenceRow> matching(const char* sql, qint64 docId, const QString& ftsQuery, qint64 before, int limit) const;
    Database& m_db;
};

}  // namespace mm::storage
