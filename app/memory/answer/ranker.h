// The learned scorer: a linear model over the candidate features of scoring.h
// (candidateFeatureNames), fitted as a softmax over each question's candidates on questions
// generated from training books (question_gen.h), plus a logistic "the best answer is
// right" model for the confidence and the "not found" threshold chosen on the same
// questions. Saved as JSON (resources/answer/ranker.json, compiled into the library as
// ":/answer/ranker.json"); the hand-set weights stay the fallback (docs/answers.md).
#pragma once

#include "app/memory/answer/scoring.h"

#include <nlohmann/json.hpp>

#include <QString>
#include <QStringList>
#include <QVector>

#include <stdexcept>

namespace mm::answer {

class RankerError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The names of confidenceFeatures(), in order.
const QStringList& confidenceFeatureNames();
/// The question-level inputs of the learned confidence: the best answer's score, its
/// margin and softmax share among the answers, and some of its own features.
QVector<double> confidenceFeatures(const QVector<RankedAnswer>& answers);

class RankerModel {
public:
    /// Weights for these very features (a model saved for another feature list is not valid).
    bool valid() const;
    /// The candidate's score: w · standardized features.
    double score(const QVector<double>& features) const;
    /// 0-1: the logistic confidence that the first answer is right.
    double confidence(const QVector<RankedAnswer>& answers) const;
    /// Below this confidence the answer is "not found before your position": one threshold
    /// for questions that name someone, one for those that do not.
    double threshold(bool questionNames = false) const { return questionNames ? m_thresholdNamed : m_threshold; }
    const nlohmann::json& info() const { return m_info; }

    nlohmann::json toJson() const;
    /// Throws RankerError naming what is missing or of the wrong size.
    static RankerModel fromJson(const nlohmann::json& j);
    /// A JSON file, or the shipped ":/answer/ranker.json". Throws RankerError.
    static RankerModel load(const QString& path);
    /// The shipped model (loaded once); not valid when none is shipped.
    static const RankerModel& shipped();

    friend struct RankerFitter;

private:
    QStringList m_features;
    QVector<double> m_mean, m_scale, m_weights;
    QStringList m_confFeatures;
    QVector<double> m_confMean, m_confScale, m_confWeights;
    double m_confBias = 0;
    double m_threshold = 0.5;
    double m_thresholdNamed = 0.5;
    nlohmann::json m_info = nlohmann::json::object();
};

/// The scorer a --scorer option names: "hand" (none: the hand-set weights), "learned" (the
/// shipped one; none when it is missing) or a JSON file, loaded into fromFile. Throws
/// RankerError for an unreadable file or one fitted for other features.
const RankerModel* chooseScorer(const QString& which, RankerModel& fromFile);

/// One question's candidates (features, best by the hand-set score first) and which of
/// them hold the gold answer; a spoiler question has none right and "not found" is right.
struct RankingQuestion {
    QVector<QVector<double>> candidates;
    QVector<bool> right;
    bool spoiler = false;
    QuestionType type = QuestionType::Other;  ///< for supportBindsQuestion
    bool measure = false;
    bool named = false;  ///< the question names someone or something
};

struct RankerFitOptions {
    double l2 = 1e-2;          ///< penalty on the distance from the hand-set ranking (hand score alone)
    double confidenceL2 = 1e-2;  ///< penalty on the confidence's weights
    int iterations = 1500;
    double learningRate = 0.3;
    /// The threshold: of those that keep at least this share of the spoiler questions "not
    /// found" (answers whose support does not bind the question never count as found), the
    /// one with the most right answers; when none does, the one with the most right
    /// answers and spoilers not found together.
    double spoilerNotFound = 0.95;
};

/// Fits both parts on the questions (softmax ranking on those with a right candidate;
/// confidence on all, answers re-ranked by the fitted scorer) and chooses the thresholds on
/// them; with calibration questions (people's questions: the dev set), the threshold for
/// questions that name someone is chosen on those instead. Throws RankerError when there is
/// nothing to fit.
RankerModel fitRanker(const QVector<RankingQuestion>& questions, const RankerFitOptions& options = {},
                      const QVector<RankingQuestion>& calibration = {});

}  // namespace mm::answer
