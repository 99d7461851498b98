// Whether a sentence that does not write a name of the question still speaks of it: the
// binding rule (scoring.h supportBindsQuestion) asks that every name the question gives
// be in the supporting sentence or its neighbours, which misses what a reader resolves
// without thinking: "she" three sentences after "Caroline" ("the image of her own father,
// James Helstone"), and a chapter that names its subject once, in its title ("THE SIEGE OF
// MAFEKING" ... "Baden-Powell, the officer in command").
#pragma once

#include "storage/database.h"
#include "app/memory/answer/text.h"
#include "storage/sentence_index.h"

#include <QHash>
#include <QSet>
#include <QString>

#include <optional>

namespace mm::answer {

/// Resolves references for one question about one document as of a position; caches the
/// book's evidence per name (a name's gender is read once).
class References {
public:
    References(const storage::Database& db, qint64 docId, qint64 before);

    /// The gender the book gives the name (one of its words, lower case): by the titles
    /// written before its first mentions, else by the personal pronoun that first follows
    /// them in their sentences; Unknown when they disagree or there is no sign (a place).
    Gender genderOf(const QString& nameWord);

    /// The surname the book writes after a given name in its first mentions ("keeldar" for
    /// "shirley": "Shirley Keeldar" at least twice, more often than any other); empty if none.
    QString surnameOf(const QString& givenName);

    /// Whether the words write the one-word `name` ("Shirley") by its title and surname: "Miss
    /// Keeldar", the title of the name's own gender ("Mr. Helstone" is not Caroline Helstone).
    bool writesByTitle(const QString& name, const QVector<Word>& ws);

    /// Whether `name` (the question's, "Caroline" or "Shirley Keeldar") is what the sentence
    /// speaks of without writing it: the title of the sentence's chapter holds every word of
    /// the name, or the sentence has a personal pronoun whose nearest antecedent (a person
    /// of that gender written before it in the sentence or in the kAntecedentSentences
    /// sentences before, within the chapter) is the name.
    bool refersTo(const storage::SentenceRow& sentence, const QString& name);

    /// Whether the book is told in the first person ("said I" in at least one sentence in
    /// two hundred before the position, and three times) and the name is its narrator's: the
    /// others address it in their speech and the book never writes it beside a speech verb
    /// (the narrator's own words are "said I"). Then "I", "me", "my" outside quotes are it.
    bool narrates(const QString& nameWord);

    static constexpr int kAntecedentSentences = 10;

private:
    struct Sentence {
        storage::SentenceRow row;
        QVector<Word> words;  ///< cut when first walked through
        bool split = false;
    };
    /// Reads the kAntecedentSentences sentences before this one that are not read yet (one query).
    void readBefore(int ordinal);
    /// A sentence read so far (or given), its words cut once; none if not read.
    Sentence* sentenceAt(int ordinal);
    /// The sentence's words through the same cache (kept for the walks back from later ones).
    const QVector<Word>& wordsOf(const storage::SentenceRow& row);
    /// Reads a name's first mentions once: its gender and the surname written after it.
    void readName(const QString& nameWord);
    bool inChapterTitle(int chapterIndex, const QStringList& nameWords);
    bool pronounRefersTo(const storage::SentenceRow& sentence, const QStringList& nameWords);
    bool firstPersonBook();

    const storage::Database& m_db;
    storage::SentenceIndex m_index;
    qint64 m_docId;
    qint64 m_before;
    QHash<QString, Gender> m_gender;
    QHash<QString, QString> m_surname;
    QHash<QString, int> m_addressed;          ///< a name's first mentions that are said to it in speech
    QHash<QString, int> m_speaking;           ///< ... that stand beside a speech verb ("said Alan")
    std::optional<bool> m_firstPerson;
    QHash<int, Sentence> m_sentences;         ///< read so far, by ordinal
    QVector<QSet<QString>> m_chapterTitles;   ///< each chapter title's words, lower case, read on first use
    bool m_chaptersRead = false;
};

}  // namespace mm::answer
