// Who-is cards: for "Who is X?", what the book has said of X up to the reading position:
// the first mention, how often X is mentioned, the sentences that describe X (appositives,
// "X was ..."), and the names seen most often beside X.
#pragma once

#include "app/memory/answer/question.h"
#include "storage/database.h"
#include "storage/sentence_index.h"

#include <QString>
#include <QStringList>
#include <QVector>

#include <optional>

namespace mm::answer {

struct WhoIsCard {
    QString name;
    qint64 mentions = 0;                           ///< sentences naming X before the position
    std::optional<storage::SentenceRow> firstMention;
    QVector<storage::SentenceRow> descriptions;    ///< sentences with "X, the ..." or "X was a ..."
    QStringList companions;                        ///< names most often in X's sentences, most first
};

/// The card of the question's (first) name as of the position; none when the question
/// names nobody or the name is not mentioned before the position.
std::optional<WhoIsCard> whoIsCard(const storage::Database& db, qint64 docId, const QuestionAnalysis& question,
                                   qint64 before, int maxDescriptions = 3, int maxCompanions = 5);

}  // namespace mm::answer
