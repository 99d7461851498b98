// Answers a reader can trust: the pipeline that runs question analysis, retrieval as of
// the reading position, candidate answers, who-is cards and scoring (optionally with the
// model's likelihood of each candidate), and says "not found before your position" when
// nothing before the position supports an answer. docs/answers.md.
//
// Reads the library only, except once per document: the sentence index is built on the
// first question (text.h: ensureSentenceIndex), before which bad input is refused.
#pragma once

#include "app/memory/answer/question.h"
#include "app/memory/answer/ranker.h"
#include "app/memory/answer/scoring.h"
#include "app/memory/answer/whois.h"
#include "storage/database.h"

#include <QString>
#include <QStringList>
#include <QVector>

#include <functional>
#include <optional>
#include <stdexcept>

namespace mm::answer {

/// Bad input (empty or over-long question, no such document, a position past the end):
/// one line naming the problem. Nothing is written.
class AnswerError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

constexpr int kMaxQuestionChars = 1000;
constexpr int kMaxAnswerWords = 12;
/// Below this confidence (of the hand-set scorer) the answer is "not found before your
/// position"; an answer whose support does not bind the question is never given.
constexpr double kMinConfidence = 0.2;
/// The confidence of an answer whose support does not bind the question (at most).
constexpr double kUnboundConfidence = 0.15;

/// The model's mean log-probability per token of each answer after the question, read
/// from the state at the position (app/memory). Returns one value per answer, or none
/// when the model cannot score (the document not read that far, say).
using LikelihoodFunction = std::function<std::optional<QVector<double>>(const QString& question, const QStringList& answers)>;

/// The model's part in an answer. `prepare` (optional) is called with the question as
/// soon as it is accepted, so the model's own work (the state, the question's tokens) can
/// run while the text pipeline ranks candidates; `score` then rates the best answers.
/// Where the model's part of an answer went (ms): waiting for "<q> question <a>" to be read
/// beside the text pipeline, reading the answers, and that prompt's own reading time.
struct ModelTimings {
    double waitMs = 0;     ///< waiting for the prompt's thread (and the read ahead)
    double answersMs = 0;  ///< reading the answers not read ahead
    double promptMs = 0;
    double aheadMs = 0;    ///< the read ahead's pass (beside ranking; 0: none)
    int aheadRows = 0;     ///< answers read ahead
    int aheadHits = 0;     ///< of the answers scored, those read ahead
};

struct Likelihood {
    std::function<void(const QString& question)> prepare;
    /// Every answer the question may be scored on, offered once they are known and before
    /// they are ranked: a model whose pass costs about the same for a hundred as for five
    /// (CUDA) reads them while the ranking runs (optional; the values are score()'s).
    std::function<void(const QString& question, const QStringList& answers)> offer;
    LikelihoodFunction score;
    std::function<double()> stateLoadMs;  ///< of the last prepare (optional)
    std::function<ModelTimings()> timings;  ///< of the last score (optional)
    explicit operator bool() const { return bool(score); }
};

struct AnswerOptions {
    std::optional<qint64> atChar;   ///< as of this code point; none: the end
    int evidence = 3;               ///< passages returned
    Likelihood likelihood;          ///< none: no model term (--no-model)
    int modelCandidates = 5;        ///< the best this many are scored by the model
    int candidates = 8;             ///< answers kept in AnswerResult::candidates
    /// The learned scorer (ranker.h) and its confidence and "not found" threshold (by
    /// default the shipped one); none or not valid: the hand-set weights and kMinConfidence.
    const RankerModel* scorer = &RankerModel::shipped();
};

struct SupportSentence {
    qint64 charStart = 0;
    qint64 charEnd = 0;
    int chapterIndex = -1;
    QString text;
};

struct EvidencePassage {
    qint64 charStart = 0;
    qint64 charEnd = 0;
    int chapterIndex = -1;
    QString chapterTitle;
    QString text;
    double score = 0;
};

struct AnswerResult {
    QuestionAnalysis analysis;
    qint64 docId = 0;
    qint64 atChar = 0;
    QString answer;                 ///< at most kMaxAnswerWords words; empty: not found
    bool found = false;
    QString notFound;               ///< why not found ("not found before your position: ...")
    double confidence = 0;
    double bestTotal = 0;           ///< the confidence's inputs: best answer's total score,
    double margin = 0;              ///< its lead over the next,
    double supportCoverage = 0;     ///< and its sentence's coverage of the question
    std::optional<SupportSentence> support;
    QVector<EvidencePassage> evidence;
    QVector<RankedAnswer> candidates;  ///< best first (the answer is the first when found)
    std::optional<WhoIsCard> card;
    bool modelUsed = false;
    bool learnedScorer = false;     ///< ranked by the learned scorer (ranker.h)
    bool bound = false;             ///< the best answer's support binds the question (supportBindsQuestion)
    bool namesSeen = true;          ///< every name of the question is mentioned in prose before the position
    QString modelNote;              ///< why the model term was not used, when asked for
    bool indexBuilt = false;        ///< this call built the sentence index
    double indexMs = 0;
    double retrievalMs = 0;
    double scoringMs = 0;
    double modelMs = 0;
    double stateLoadMs = 0;  ///< loading the stored state for the model (part of answerMs)
    ModelTimings modelTimings;  ///< the parts of modelMs (and the prompt's reading, beside the pipeline)
    double answerMs = 0;            ///< the whole call (index building excluded)
};

class Answerer {
public:
    explicit Answerer(storage::Database& db);
    /// Throws AnswerError for bad input, storage::StorageError for a damaged library.
    AnswerResult answer(qint64 docId, const QString& question, const AnswerOptions& options = {});

private:
    storage::Database& m_db;
};

/// The answer cut to at most maxWords words.
QString shortAnswer(const QString& text, int maxWords = kMaxAnswerWords);

}  // namespace mm::answer
