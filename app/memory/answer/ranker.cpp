#include "app/memory/answer/ranker.h"

#include <QFile>

#include <algorithm>
#include <cmath>

namespace mm::answer {
namespace {

double logistic(double z)
{
    return 1.0 / (1.0 + std::exp(-z));
}

int featureIndex(const QString& name)
{
    return int(candidateFeatureNames().indexOf(name));
}

QVector<double> toVector(const nlohmann::json& j, const char* key, int size)
{
    if (!j.contains(key) || !j.at(key).is_array() || int(j.at(key).size()) != size)
        throw RankerError(std::string("the scorer's '") + key + "' must be an array of " + std::to_string(size) + " numbers");
    QVector<double> v;
    for (const nlohmann::json& x : j.at(key))
        v.push_back(x.get<double>());
    return v;
}

QStringList toNames(const nlohmann::json& j, const char* key)
{
    if (!j.contains(key) || !j.at(key).is_array())
        throw RankerError(std::string("the scorer lacks its '") + key + "' list");
    QStringList names;
    for (const nlohmann::json& x : j.at(key))
        names << QString::fromStdString(x.get<std::string>());
    return names;
}

nlohmann::json toJsonArray(const QVector<double>& v)
{
    nlohmann::json a = nlohmann::json::array();
    for (double x : v)
        a.push_back(x);
    return a;
}

nlohmann::json toJsonArray(const QStringList& v)
{
    nlohmann::json a = nlohmann::json::array();
    for (const QString& x : v)
        a.push_back(x.toStdString());
    return a;
}

// Mean and standard deviation of each column (sd 1 for a constant column).
void standardization(const QVector<QVector<double>>& rows, int n, QVector<double>& mean, QVector<double>& scale)
{
    mean = QVector<double>(n, 0.0);
    scale = QVector<double>(n, 1.0);
    if (rows.isEmpty())
        return;
    for (const QVector<double>& r : rows)
        for (int k = 0; k < n; ++k)
            mean[k] += r[k];
    for (int k = 0; k < n; ++k)
        mean[k] /= double(rows.size());
    QVector<double> var(n, 0.0);
    for (const QVector<double>& r : rows)
        for (int k = 0; k < n; ++k)
            var[k] += (r[k] - mean[k]) * (r[k] - mean[k]);
    for (int k = 0; k < n; ++k) {
        const double sd = std::sqrt(var[k] / double(rows.size()));
        scale[k] = sd > 1e-9 ? sd : 1.0;
    }
}

double dot(const QVector<double>& w, const QVector<double>& x, const QVector<double>& mean, const QVector<double>& scale)
{
    double s = 0;
    for (int k = 0; k < w.size(); ++k)
        s += w[k] * (x[k] - mean[k]) / scale[k];
    return s;
}

}  // namespace

const QStringList& confidenceFeatureNames()
{
    static const QStringList names = {QStringLiteral("total"),         QStringLiteral("margin"),
                                      QStringLiteral("top_share"),     QStringLiteral("coverage"),
                                      QStringLiteral("window_coverage"), QStringLiteral("proximity"),
                                      QStringLiteral("relation_near"), QStringLiteral("relation_absent"),
                                      QStringLiteral("names_present"), QStringLiteral("type_fit"),
                                      QStringLiteral("unit_missing"),  QStringLiteral("no_anchor"),
                                      QStringLiteral("support"),       QStringLiteral("neighbour"),
                                      QStringLiteral("src_clause"),    QStringLiteral("answers")};
    return names;
}

QVector<double> confidenceFeatures(const QVector<RankedAnswer>& answers)
{
    const int n = int(confidenceFeatureNames().size());
    if (answers.isEmpty() || answers.front().features.size() != candidateFeatureNames().size())
        return QVector<double>(n, 0.0);
    const RankedAnswer& top = answers.front();
    const double margin = answers.size() > 1 ? std::min(top.total - answers[1].total, 3.0) : 3.0;
    double sum = 0;
    for (const RankedAnswer& a : answers)
        sum += std::exp(std::clamp(a.total - top.total, -30.0, 0.0));
    auto f = [&](const char* name) { return top.features[featureIndex(QString::fromLatin1(name))]; };
    const bool numberQuestion = f("number_q_number") > 0 || (f("src_number") > 0 && f("type_fit") > 0);
    return {top.total,
            margin,
            1.0 / sum,
            f("coverage"),
            f("window_coverage"),
            f("proximity"),
            f("relation_near"),
            f("relation_absent"),
            f("names_present"),
            f("type_fit"),
            numberQuestion && f("unit_match") == 0 ? 1.0 : 0.0,
            f("no_anchor"),
            f("support"),
            f("neighbour"),
            f("src_clause"),
            std::log1p(double(answers.size()))};
}

bool RankerModel::valid() const
{
    return !m_weights.isEmpty() && m_features == candidateFeatureNames() && m_confFeatures == confidenceFeatureNames();
}

double RankerModel::score(const QVector<double>& features) const
{
    if (features.size() != m_weights.size())
        return 0;
    return dot(m_weights, features, m_mean, m_scale);
}

double RankerModel::confidence(const QVector<RankedAnswer>& answers) const
{
    if (answers.isEmpty() || m_confWeights.isEmpty())
        return 0;
    return logistic(m_confBias + dot(m_confWeights, confidenceFeatures(answers), m_confMean, m_confScale));
}

nlohmann::json RankerModel::toJson() const
{
    return {{"format", "memmamba-answer-ranker-1"},
            {"features", toJsonArray(m_features)},
            {"mean", toJsonArray(m_mean)},
            {"scale", toJsonArray(m_scale)},
            {"weights", toJsonArray(m_weights)},
            {"confidence",
             {{"features", toJsonArray(m_confFeatures)},
              {"mean", toJsonArray(m_confMean)},
              {"scale", toJsonArray(m_confScale)},
              {"weights", toJsonArray(m_confWeights)},
              {"bias", m_confBias},
              {"threshold", m_threshold},
              {"threshold_named", m_thresholdNamed}}},
            {"info", m_info}};
}

RankerModel RankerModel::fromJson(const nlohmann::json& j)
{
    RankerModel m;
    try {
        if (!j.is_object() || j.value("format", std::string()) != "memmamba-answer-ranker-1")
            throw RankerError("not a memmamba answer scorer (format memmamba-answer-ranker-1)");
        m.m_features = toNames(j, "features");
        const int n = int(m.m_features.size());
        m.m_mean = toVector(j, "mean", n);
        m.m_scale = toVector(j, "scale", n);
        m.m_weights = toVector(j, "weights", n);
        if (!j.contains("confidence"))
            throw RankerError("the scorer lacks its 'confidence' part");
        const nlohmann::json& c = j.at("confidence");
        m.m_confFeatures = toNames(c, "features");
        const int k = int(m.m_confFeatures.size());
        m.m_confMean = toVector(c, "mean", k);
        m.m_confScale = toVector(c, "scale", k);
        m.m_confWeights = toVector(c, "weights", k);
        m.m_confBias = c.at("bias").get<double>();
        m.m_threshold = c.at("threshold").get<double>();
        m.m_thresholdNamed = c.value("threshold_named", m.m_threshold);
        m.m_info = j.value("info", nlohmann::json::object());
    } catch (const nlohmann::json::exception& e) {
        throw RankerError(std::string("the scorer is malformed: ") + e.what());
    }
    for (double s : m.m_scale + m.m_confScale)
        if (!(s > 0))
            throw RankerError("the scorer's scales must be positive");
    return m;
}

RankerModel RankerModel::load(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        throw RankerError("cannot read the scorer " + path.toStdString() + ": " + f.errorString().toStdString());
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(f.readAll().toStdString());
    } catch (const nlohmann::json::exception& e) {
        throw RankerError("the scorer " + path.toStdString() + " is not valid JSON: " + e.what());
    }
    return fromJson(j);
}

const RankerModel& RankerModel::shipped()
{
    static const RankerModel model = [] {
        try {
            return load(QStringLiteral(":/answer/ranker.json"));
        } catch (const RankerError&) {
            return RankerModel();  // none shipped: the hand-set weights answer
        }
    }();
    return model;
}

const RankerModel* chooseScorer(const QString& which, RankerModel& fromFile)
{
    if (which == QLatin1String("hand"))
        return nullptr;
    if (which == QLatin1String("learned") || which.isEmpty()) {
        const RankerModel& m = RankerModel::shipped();
        return m.valid() ? &m : nullptr;
    }
    fromFile = RankerModel::load(which);
    if (!fromFile.valid())
        throw RankerError("the scorer " + which.toStdString() + " was fitted for other candidate features");
    return &fromFile;
}

struct RankerFitter {
    static RankerModel fit(const QVector<RankingQuestion>& questions, const QVector<RankingQuestion>& calibration,
                           const RankerFitOptions& o)
    {
        RankerModel m;
        m.m_features = candidateFeatureNames();
        m.m_confFeatures = confidenceFeatureNames();
        const int n = int(m.m_features.size());
        QVector<QVector<double>> all;
        int rankable = 0;
        for (const RankingQuestion& q : questions) {
            for (const QVector<double>& c : q.candidates) {
                if (c.size() != n)
                    throw RankerError("a candidate has " + std::to_string(c.size()) + " features, the scorer expects " + std::to_string(n));
                all.push_back(c);
            }
            if (std::count(q.right.begin(), q.right.end(), true) > 0 && q.candidates.size() >= 2)
                ++rankable;
        }
        if (rankable == 0)
            throw RankerError("no question has a right candidate among at least two: nothing to fit");
        standardization(all, n, m.m_mean, m.m_scale);
        m.m_weights = QVector<double>(n, 0.0);
        // The hand-set score starts as the whole model: fitting moves away from it only where
        // the questions ask it to.
        m.m_weights[featureIndex(QStringLiteral("hand"))] = m.m_scale[featureIndex(QStringLiteral("hand"))] * 3.0;
        const QVector<double> prior = m.m_weights;  // the penalty pulls towards the hand-set ranking

        // Softmax over each question's candidates: maximize log P(a right one), L2 penalty;
        // full-batch gradient steps with momentum (a few thousand rows: milliseconds).
        QVector<double> velocity(n, 0.0);
        for (int it = 0; it < o.iterations; ++it) {
            QVector<double> grad(n, 0.0);
            for (const RankingQuestion& q : questions) {
                if (std::count(q.right.begin(), q.right.end(), true) == 0 || q.candidates.size() < 2)
                    continue;
                QVector<double> s(q.candidates.size());
                double top = -1e300;
                for (int j = 0; j < s.size(); ++j) {
                    s[j] = dot(m.m_weights, q.candidates[j], m.m_mean, m.m_scale);
                    top = std::max(top, s[j]);
                }
                double sumAll = 0, pos = 0;
                for (int j = 0; j < s.size(); ++j) {
                    const double e = std::exp(s[j] - top);
                    sumAll += e;
                    pos += q.right[j] ? e : 0;
                }
                for (int j = 0; j < s.size(); ++j) {
                    const double e = std::exp(s[j] - top);
                    const double coef = e / sumAll - (q.right[j] ? e / pos : 0.0);
                    for (int k = 0; k < n; ++k)
                        grad[k] += coef * (q.candidates[j][k] - m.m_mean[k]) / m.m_scale[k];
                }
            }
            for (int k = 0; k < n; ++k) {
                const double g = grad[k] / double(rankable) + o.l2 * (m.m_weights[k] - prior[k]);
                velocity[k] = 0.9 * velocity[k] - o.learningRate / (1.0 + o.l2) * g;
                m.m_weights[k] += velocity[k];
            }
        }

        // The confidence: answers re-ranked by the fitted scorer; label = the first is right.
        struct Outcomes {
            QVector<QVector<double>> x;
            QVector<double> y;
            QVector<bool> spoiler, bound, named;
            QVector<bool> fit;  ///< has candidates: a row of the confidence's regression
        };
        auto outcomesOf = [&](const QVector<RankingQuestion>& list) {
            Outcomes out;
            for (const RankingQuestion& q : list) {
                if (q.candidates.isEmpty()) {
                    // No candidate: "not found" whatever the threshold (counted, not fitted).
                    out.x.push_back(QVector<double>(m.m_confFeatures.size(), 0.0));
                    out.y.push_back(0.0);
                    out.spoiler.push_back(q.spoiler);
                    out.bound.push_back(false);
                    out.named.push_back(q.named);
                    out.fit.push_back(false);
                    continue;
                }
                QVector<RankedAnswer> answers;
                for (int j = 0; j < q.candidates.size(); ++j) {
                    RankedAnswer a;
                    a.features = q.candidates[j];
                    a.total = a.score = dot(m.m_weights, a.features, m.m_mean, m.m_scale);
                    a.support = j;  // carries the candidate's index through the sort
                    answers.push_back(a);
                }
                std::stable_sort(answers.begin(), answers.end(), [](const RankedAnswer& a, const RankedAnswer& b) { return a.total > b.total; });
                out.x.push_back(confidenceFeatures(answers));
                out.y.push_back(!q.spoiler && q.right.value(answers.front().support) ? 1.0 : 0.0);
                out.spoiler.push_back(q.spoiler);
                out.bound.push_back(supportBindsQuestion(q.type, q.measure, answers.front().features));
                out.named.push_back(q.named);
                out.fit.push_back(true);
            }
            return out;
        };
        const Outcomes fitted = outcomesOf(questions);
        QVector<QVector<double>> x;
        QVector<double> y;
        for (int i = 0; i < fitted.x.size(); ++i)
            if (fitted.fit[i]) {
                x.push_back(fitted.x[i]);
                y.push_back(fitted.y[i]);
            }
        const int k = int(m.m_confFeatures.size());
        standardization(x, k, m.m_confMean, m.m_confScale);
        m.m_confWeights = QVector<double>(k, 0.0);
        QVector<double> v(k + 1, 0.0);
        for (int it = 0; it < o.iterations; ++it) {
            QVector<double> grad(k + 1, 0.0);
            for (int i = 0; i < x.size(); ++i) {
                const double p = logistic(m.m_confBias + dot(m.m_confWeights, x[i], m.m_confMean, m.m_confScale));
                const double e = p - y[i];
                grad[k] += e;
                for (int c = 0; c < k; ++c)
                    grad[c] += e * (x[i][c] - m.m_confMean[c]) / m.m_confScale[c];
            }
            for (int c = 0; c <= k; ++c) {
                const double g = grad[c] / double(x.size()) + (c < k ? o.confidenceL2 * m.m_confWeights[c] : 0.0);
                v[c] = 0.9 * v[c] - o.learningRate * g;
                if (c < k)
                    m.m_confWeights[c] += v[c];
                else
                    m.m_confBias += v[c];
            }
        }
        // The thresholds (see RankerFitOptions::spoilerNotFound), one for questions that name
        // someone (the binding of names to the support already keeps most of their spoilers
        // unanswered) and one for those that do not.
        auto chooseThreshold = [&](const Outcomes& set, bool withNames) {
            QVector<double> conf(set.x.size());
            int spoilers = 0, answerable = 0;
            for (int i = 0; i < set.x.size(); ++i) {
                conf[i] = logistic(m.m_confBias + dot(m.m_confWeights, set.x[i], m.m_confMean, m.m_confScale));
                if (set.named[i] == withNames)
                    (set.spoiler[i] ? spoilers : answerable) += 1;
            }
            double bestSafe = -1, bestAny = -1, safeT = 0.5, anyT = 0.5;
            for (int step = 0; step < 100; ++step) {
                const double t = step / 100.0;
                int right = 0, kept = 0;
                for (int i = 0; i < set.x.size(); ++i) {
                    if (set.named[i] != withNames)
                        continue;
                    const bool found = set.bound[i] && conf[i] >= t;
                    if (set.spoiler[i])
                        kept += found ? 0 : 1;
                    else
                        right += found && set.y[i] > 0 ? 1 : 0;
                }
                const double acc = answerable ? double(right) / answerable : 0.0;
                const double nf = spoilers ? double(kept) / spoilers : 1.0;
                if (nf >= o.spoilerNotFound && acc > bestSafe)
                    bestSafe = acc, safeT = t;
                if (acc + nf > bestAny)
                    bestAny = acc + nf, anyT = t;
            }
            return bestSafe >= 0 ? safeT : anyT;
        };
        m.m_threshold = chooseThreshold(fitted, false);
        m.m_thresholdNamed = chooseThreshold(fitted, true);
        if (!calibration.isEmpty())
            m.m_thresholdNamed = chooseThreshold(outcomesOf(calibration), true);
        m.m_info = {{"questions", int(questions.size())}, {"ranked_questions", rankable}, {"l2_to_hand", o.l2},
                    {"iterations", o.iterations}, {"spoiler_not_found_target", o.spoilerNotFound},
                    {"named_threshold_from", calibration.isEmpty() ? "the fitted questions" : "the calibration questions"}};
        return m;
    }
};

RankerModel fitRanker(const QVector<RankingQuestion>& questions, const RankerFitOptions& options,
                      const QVector<RankingQuestion>& calibration)
{
    return RankerFitter::fit(questions, calibration, options);
}

}  // namespace mm::answer
