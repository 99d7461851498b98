// Question analysis: what kind of question it is, the words to look for, the names in it
// and the kind of answer expected. Pure text work: no storage, no model.
#pragma once

#include <QHash>
#include <QString>
#include <QStringList>

namespace mm::answer {

enum class QuestionType { Who, What, Where, When, HowMany, Which, Why, How, YesNo, Other };
enum class AnswerKind { Person, Place, Number, Date, Thing, Description, Reason, YesNo };

struct QuestionAnalysis {
    QString text;                 ///< the question, whitespace simplified
    QuestionType type = QuestionType::Other;
    AnswerKind kind = AnswerKind::Thing;
    QStringList keyTerms;         ///< content words, lower case, possessives dropped, no stop words or titles
    QStringList names;            ///< capitalised phrases of the question, titles dropped ("Caroline Helstone")
    QStringList nameWords;        ///< their words, lower case
    QHash<QString, QString> nameTitles;  ///< name -> the title written before it, lower case ("mr" for "Mr. Weston")
    QStringList relationTerms;    ///< key terms that are not name words ("curate", "marry")
    QStringList nounTerms;        ///< key terms the question uses as nouns ("the dog", "Shirley's dog"): "dogged" is not one
    QString target;               ///< the question after its question and auxiliary words ("the curate of Whinbury")
    QString focus;                ///< the noun asked about: "dog" in "What is the name of Shirley's dog?", "school" in "Which school ..."
    QHash<QString, QStringList> synonyms;  ///< key term -> words the book may use instead ("live" -> "residence")
    QStringList unitTerms;        ///< what a number answer counts: "years" for "how old", "misses" for "how many Misses"
    bool measure = false;         ///< "how old/long/far/often": a number answers only with its unit
    bool ownName = false;         ///< "What was Kruger's full name?": a longer name of the question's own person answers
    bool whoIs = false;           ///< "Who/What is X?" with X a name and nothing else: answer with a description
    bool negated = false;         ///< yes/no question containing a negation
    bool usable = false;          ///< at least one key term: something to look for
};

QuestionAnalysis analyzeQuestion(const QString& question);

QString questionTypeName(QuestionType type);
QString answerKindName(AnswerKind kind);

}  // namespace mm::answer
