// Candidate answers taken from the retrieved sentences: names (grouped: "Mr. Donne" and
// "Donne" are one), numbers, dates, descriptions of a name (appositives "X, the rector's
// niece", copular sentences "X was the dog"), a clause of the sentence for questions
// that ask for a thing or a reason, and yes/no. Names already in the question are not
// answers; words capitalised only at a sentence start or in headings are not names.
#pragma once

#include "app/memory/answer/question.h"
#include "app/memory/answer/retrieval.h"
#include "app/memory/answer/text.h"

#include <QString>
#include <QVector>

namespace mm::answer {

struct Candidate {
    QString text;             ///< the short answer as written in the book
    QString key;              ///< group key: lower case, titles dropped
    AnswerKind kind = AnswerKind::Thing;
    QString source;           ///< "name", "number", "date", "appositive", "copular", "clause", "yes/no"
    int sentence = -1;        ///< index into Retrieval::sentences
    qint64 charStart = 0;     ///< where the candidate's text is in the document
    qint64 charEnd = 0;
    int distance = 99;        ///< words to the nearest question term in its sentence
    bool personLike = false;  ///< a title before it, or it is the subject of a person's verb
    bool placeLike = false;   ///< after "at/in/to/from", or a place word in it ("Moor", "Hill"); a clause: holds one
    bool unitMatch = false;   ///< a number followed by what the question counts ("eighteen years old")
    bool initial = false;     ///< a name written only at a sentence start here (may be an ordinary word)
    bool ordinary = false;    ///< a name whose every word the book also writes in lower case ("Manager", "House")
    bool named = false;       ///< right after "name is", "called", "named", "known as"
    Gender titleGender = Gender::Unknown;  ///< a name's title's gender: "Mrs. Weston" is not "Mr. Weston"
    bool genderClash = false; ///< its title's gender is not the one the question's relation asks for ("Mrs. Weston" for a son)
    bool possessor = false;   ///< a name written as owner of something not asked for ("Mrs. Smallridge's children")
    int side = 0;             ///< -1/+1: taken from the sentence before/after a retrieved one
    int relationDistance = 99;  ///< words to the nearest of the question's relation words in its sentence (99: none there)
    /// The name stands in apposition to one of the question's relation words: "Baden-Powell,
    /// the officer in command", "her father, James Helstone", "Eliza, who was cook", "Tartar
    /// was a ... dog", "Briarmains (Mr. Yorke's residence)", "the curate was Mr. Donne".
    bool apposed = false;
    double apposedShare = 0;  ///< the share of the question's relation words in that apposition
    bool focusName = false;   ///< "Which mill ...?": a name ending in the question's noun ("Hollow's Mill")
    double phraseTerms = 0;   ///< share of the question's key terms in its phrase (between commas and stops)
    double clauseTerms = 0;   ///< the same in its clause (between ";", ":", "--" and stops)
};

/// Every candidate of every retrieved sentence (not grouped; scoring groups them).
QVector<Candidate> extractCandidates(const QuestionAnalysis& question, const Retrieval& retrieval);

/// Number words and digits: "fifty-five", "eight or nine thousand", "147".
bool isNumberWord(const QString& lower);
/// Month, weekday and feast names ("March", "Tuesday", "Whitsuntide").
bool isDateWord(const QString& lower);

}  // namespace mm::answer
