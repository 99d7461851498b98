// Scoring: candidates grouped into answers (one person's names together) and ranked by
// hand-set weights over the answer type, the support of their sentences (coverage of the
// question, bm25), proximity to the question's words, and agreement between sentences;
// optionally plus the model's likelihood of each answer after the question. The
// confidence is a logistic function of the best score and its margin over the next.
#pragma once

#include "app/memory/answer/candidates.h"
#include "app/memory/answer/question.h"
#include "app/memory/answer/retrieval.h"

#include <QString>
#include <QStringList>
#include <QVector>

namespace mm::answer {

struct RankedAnswer {
    QString text;             ///< the best-supported way the book writes it
    QString key;
    AnswerKind kind = AnswerKind::Thing;
    QString source;
    double score = 0;         ///< hand-set score (before the model)
    double likelihood = 0;    ///< the model's mean log-probability per token (0: not scored)
    double total = 0;         ///< score + model term
    int support = 0;          ///< sentences holding it
    int bestSentence = -1;    ///< index into Retrieval::sentences
    qint64 charStart = 0;     ///< the text's place in the document (in its best sentence)
    qint64 charEnd = 0;
    QVector<double> features;  ///< candidateFeatureNames(), for the learned scorer (ranker.h)
};

class RankerModel;

struct ScoringWeights {
    double coverage = 0.6;        ///< the sentence's share of the question's terms
    double windowCoverage = 0.4;  ///< the same with its neighbours
    double proximity = 0.7;       ///< share of the instance score that depends on distance
    double neighbour = 0.7;       ///< relevance kept by a candidate of a retrieved sentence's neighbour
    double agreement = 0.15;      ///< log(1 + other supporting sentences)
    double typeMatch = 0.35;
    double typeMismatch = 0.6;
    double model = 0.15;          ///< per standard deviation of the candidates' likelihoods
};

/// Confidence calibration: z = bias + total·a + min(margin, 1)·b + coverage·c, a logistic
/// regression of "the best candidate is right" on the dev set's rows (spoiler questions
/// count as wrong whatever the answer), docs/answers.md.
constexpr double kConfidenceBias = -3.35;
constexpr double kConfidenceTotal = 1.18;
constexpr double kConfidenceMargin = 1.15;
constexpr double kConfidenceCoverage = 1.92;

/// The names of RankedAnswer::features, in order: the parts of the hand-set score of the
/// answer's best sentence, its source and type, and its support.
const QStringList& candidateFeatureNames();

/// Groups and ranks candidates, best first (at most limit). With a learned model the best
/// kRerankPool answers by the hand-set score are scored again by it (total = its score).
QVector<RankedAnswer> rankCandidates(const QuestionAnalysis& question, const Retrieval& retrieval,
                                     const QVector<Candidate>& candidates, int limit = 8,
                                     const ScoringWeights& weights = {}, const RankerModel* learned = nullptr);
constexpr int kRerankPool = 20;

/// The value of the named feature (candidateFeatureNames()) in features; 0 when features is
/// not of that list (a scorer's rows of another version) or the name is unknown.
double featureValue(const QVector<double>& features, const QString& name);

/// Whether an answer's support binds the question (from its features): each of the
/// question's names is in the supporting sentence or its neighbours; the sentence holds one
/// of the question's relation words when it has any (not asked of yes/no questions); a
/// "where" answer is a place's name (not a person's, not a word the book also writes in
/// lower case, not a number or a date); a measure ("how old/long/far/often") is a number
/// written with its unit ("fifty-five years of age"); a "when" answer is a date, a day, a
/// feast or an hour.
bool supportBindsQuestion(QuestionType type, bool measure, const QVector<double>& features);

/// The type part of supportBindsQuestion: a "where" answer is a place, a "when" answer a
/// date, a measure a number with its unit, a "who" never a number or a date, a "what" a
/// bare number only where it asks for one.
/// An answer of the wrong kind never goes first while one of the right kind is ranked
/// (answerer.cpp).
bool answerFitsType(QuestionType type, bool measure, const QVector<double>& features);

/// Adds the model term (likelihoods: one per answer, mean log-probability per token; their
/// z-scores become the "model" feature) and re-sorts: the learned scorer scores the answers
/// again with it, the hand-set score adds weights.model per standard deviation.
void applyLikelihoods(QVector<RankedAnswer>& answers, const QVector<double>& likelihoods,
                      const ScoringWeights& weights = {}, const RankerModel* learned = nullptr);

/// 0-1: how likely the best answer is right, from its total, its margin over the next and
/// the coverage of its sentence; calibrated on the dev set (docs/answers.md). With a learned
/// model, its confidence part (fitted on generated questions, ranker.h) instead.
double confidenceOf(const QVector<RankedAnswer>& answers, const Retrieval& retrieval, const RankerModel* learned = nullptr);

}  // namespace mm::answer
