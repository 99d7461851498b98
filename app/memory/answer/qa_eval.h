// The answer dev set and its harness (`memmamba eval qa`, eval/qa/README.md): questions
// with gold answers asked at reading positions of named books; the harness imports the
// books into a library, answers every question and measures answer accuracy (a gold
// answer inside the short answer), evidence@3 (a gold answer inside one of the first three
// evidence passages), "not found" on spoiler questions, answer_ms p50/p95, per question type.
#pragma once

#include "app/memory/answer/answerer.h"
#include "app/memory/answer/question_gen.h"
#include "app/memory/answer/ranker.h"
#include "storage/database.h"

#include <nlohmann/json.hpp>

#include <QMap>
#include <QString>
#include <QStringList>
#include <QVector>

#include <atomic>
#include <functional>
#include <stdexcept>

namespace mm::answer {

class QaSetError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct QaBook {
    QString file;        ///< file name, looked up in the book folders
    QString title;
    qint64 characters = 0;  ///< code points of the imported text (checks the edition)
};

struct QaQuestion {
    QString id;
    QString book;
    QString type;
    QString question;
    qint64 atChar = 0;
    QStringList gold;    ///< alternatives; empty: "not found" is right (a spoiler question)
    QString later;       ///< what the book says after the position (spoiler questions)
};

struct QaSet {
    QMap<QString, QaBook> books;
    QVector<QaQuestion> questions;
};

/// Reads a set (JSON, eval/qa/dev.json's layout). Throws QaSetError naming the problem.
QaSet loadQaSet(const QString& path);

/// Whether an answer holds one of the gold answers (case, apostrophes and spacing ignored;
/// "yes"/"no" golds must be the answer's first word).
bool matchesGold(const QString& answer, const QStringList& gold);

struct QaRunOptions {
    QStringList bookFolders;          ///< where book files are looked up, in order
    int limit = 0;                    ///< 0: every question; n: the first n of each book
    QStringList onlyBooks;            ///< set ids of the books to use; empty: all
    /// The likelihood function for a document and position; none: no model (--no-model).
    std::function<Likelihood(qint64 docId, qint64 atChar)> model;
    const RankerModel* scorer = nullptr;  ///< the learned scorer; none: the hand-set weights
    /// Rows also carry every candidate's features and whether it holds a gold answer
    /// ("candidate_features", "candidate_right"): the learned scorer's training data.
    bool features = false;
    std::function<void(const QString&)> progress;
    const std::atomic<bool>* cancel = nullptr;
};

/// Imports the set's books into db (idempotent), answers every question and returns
/// {"rows": [...], "summary": {...}}. Throws QaSetError for a missing or different book.
nlohmann::json runQaSet(storage::Database& db, const QaSet& set, const QaRunOptions& options);

/// The learned scorer's training questions from rows run with QaRunOptions::features.
QVector<RankingQuestion> rankingQuestions(const nlohmann::json& rows);

struct QaGenerateOptions {
    GenerationOptions generation;
    std::function<void(const QString&)> progress;
};

/// A question set (dev.json's layout) generated from book files (question_gen.h): each
/// book imported into db, its sentence index built, its questions generated. Book ids are
/// the file names without ".txt". Throws QaSetError for an unreadable book.
nlohmann::json generateQaSet(storage::Database& db, const QStringList& bookFiles, const QaGenerateOptions& options);

}  // namespace mm::answer
