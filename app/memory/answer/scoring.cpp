#include "app/memory/answer/scoring.h"

#include "app/memory/answer/ranker.h"

#include <QHash>

#include <algorithm>
#include <cmath>

namespace mm::answer {
namespace {

double typeFit(const QuestionAnalysis& q, const Candidate& c, const ScoringWeights& w)
{
    const bool name = c.source == QLatin1String("name");
    switch (q.kind) {
    case AnswerKind::Person:
        if (name)
            return c.personLike ? w.typeMatch : (c.placeLike ? -0.3 : 0.0);
        return c.kind == AnswerKind::Description ? -0.3 : -w.typeMismatch;
    case AnswerKind::Place:
        if (name)
            return c.placeLike ? w.typeMatch : (c.personLike ? -0.4 : 0.05);
        return c.source == QLatin1String("clause") ? -0.25 : -w.typeMismatch;
    case AnswerKind::Number:
        if (c.kind == AnswerKind::Number)
            return c.unitMatch ? w.typeMatch + 0.3 : w.typeMatch;
        return c.kind == AnswerKind::Date ? -0.2 : -w.typeMismatch;
    case AnswerKind::Date:
        return c.kind == AnswerKind::Date ? w.typeMatch : (c.kind == AnswerKind::Number ? -0.1 : -w.typeMismatch);
    case AnswerKind::Description:
        if (c.source == QLatin1String("appositive"))
            return w.typeMatch * 1.3;
        if (c.source == QLatin1String("copular"))
            return w.typeMatch;
        return c.source == QLatin1String("clause") ? -0.5 : -w.typeMismatch;
    case AnswerKind::Reason:
        return c.source == QLatin1String("clause") ? 0.1 : -w.typeMismatch;
    case AnswerKind::YesNo:
        return c.kind == AnswerKind::YesNo ? w.typeMatch : -2.0;
    case AnswerKind::Thing:
        if (name)
            return q.text.contains(QLatin1String("name"), Qt::CaseInsensitive) ? w.typeMatch : 0.15;
        if (c.source == QLatin1String("appositive") || c.source == QLatin1String("copular"))
            return q.whoIs ? w.typeMatch : 0.0;
        if (c.source == QLatin1String("clause"))
            return q.text.contains(QLatin1String("name"), Qt::CaseInsensitive) ? -0.4 : -0.1;
        return c.kind == AnswerKind::Number ? -0.2 : -0.3;
    }
    return 0;
}

// The question's names are spoken of where the candidate stands: a name the sentence
// only refers to ("she", reference.h) binds that sentence's own candidates, not its
// neighbours' (the date of the sentence before "he compelled the surrender" is not his).
bool namesPresentFor(const ScoredSentence& s, const Candidate& c)
{
    return s.namesPresent && !(s.namesByReference && c.side != 0);
}

}  // namespace

const QStringList& candidateFeatureNames()
{
    static const QStringList names = {
        QStringLiteral("hand"), QStringLiteral("coverage"), QStringLiteral("window_coverage"), QStringLiteral("proximity"),
        QStringLiteral("no_anchor"), QStringLiteral("relation_near"), QStringLiteral("relation_absent"),
        QStringLiteral("neighbour"), QStringLiteral("names_present"), QStringLiteral("phrase"), QStringLiteral("type_fit"),
        QStringLiteral("named"), QStringLiteral("initial_unknown"), QStringLiteral("support"), QStringLiteral("rest"),
        QStringLiteral("src_name"), QStringLiteral("src_number"), QStringLiteral("src_date"), QStringLiteral("src_appositive"),
        QStringLiteral("src_copular"), QStringLiteral("src_clause"), QStringLiteral("person_like"), QStringLiteral("place_like"),
        QStringLiteral("unit_match"), QStringLiteral("words"), QStringLiteral("sentence_rank"), QStringLiteral("hand_rank"),
        QStringLiteral("bm25"), QStringLiteral("person_q_name"), QStringLiteral("place_q_name"), QStringLiteral("thing_q_name"),
        QStringLiteral("description_q_description"), QStringLiteral("number_q_number"), QStringLiteral("date_q_date"),
        QStringLiteral("reason_q_clause"), QStringLiteral("ordinary_name"), QStringLiteral("relation_apposed"),
        QStringLiteral("phrase_terms"), QStringLiteral("clause_terms"), QStringLiteral("focus_name"),
        QStringLiteral("model")};
    return names;
}

QVector<RankedAnswer> rankCandidates(const QuestionAnalysis& question, const Retrieval& retrieval,
                                     const QVector<Candidate>& candidates, int limit, const ScoringWeights& weights,
                                     const RankerModel* learned)
{
    struct Group {
        RankedAnswer answer;
        double best = -1e9;
        double rest = 0;
        QVector<int> sentences;
        QHash<QString, int> spellings;
        const Candidate* bestCandidate = nullptr;
        double bestProximity = 0;
        double bestTypeFit = 0;
        bool personLike = false;
        bool focusName = false;
        double apposedShare = 0;   ///< the most of the question's relation apposed to one of its mentions
        double phraseTerms = 0;    ///< the most of the question's terms around one of its mentions
        double clauseTerms = 0;
    };
    // Name groups: a one-word name joins the longer name holding it ("White" -> "George White").
    QHash<QString, QString> keyOf;
    QHash<QString, int> longestCount;
    for (const Candidate& c : candidates)
        if (c.source == QLatin1String("name"))
            longestCount[c.key] += 1;
    // Each longer name's words, split once (in the hash's order: ties go as they always did).
    struct Longer {
        QString name;
        QStringList parts;
        int count = 0;
    };
    QVector<Longer> longer;
    for (auto it = longestCount.constBegin(); it != longestCount.constEnd(); ++it)
        if (it.key().contains(QLatin1Char(' ')))
            longer.push_back({it.key(), it.key().split(QLatin1Char(' ')), it.value()});
    for (auto it = longestCount.constBegin(); it != longestCount.constEnd(); ++it) {
        const QString& key = it.key();
        QString target = key;
        if (!key.contains(QLatin1Char(' '))) {
            int bestCount = 0;
            for (const Longer& l : longer)
                if (l.parts.contains(key) && l.count > bestCount) {
                    bestCount = l.count;
                    target = l.name;
                }
        }
        keyOf.insert(key, target);
    }
    // A group written both "Mr. Weston" and "Mrs. Weston" is two people (husband and wife,
    // father and daughter): its mentions under a woman's title form their own group.
    QHash<QString, int> titledGenders;  // group -> bit 1: a man's title seen, bit 2: a woman's
    for (const Candidate& c : candidates)
        if (c.source == QLatin1String("name") && c.titleGender != Gender::Unknown)
            titledGenders[keyOf.value(c.key, c.key)] |= c.titleGender == Gender::Male ? 1 : 2;
    auto groupKeyOf = [&](const Candidate& c) {
        if (c.source != QLatin1String("name"))
            return c.source + QLatin1Char(':') + c.key;
        const QString key = keyOf.value(c.key, c.key);
        return c.titleGender == Gender::Female && titledGenders.value(key) == 3 ? QStringLiteral("her:") + key : key;
    };
    const bool asksWhose = question.text.startsWith(QLatin1String("whose"), Qt::CaseInsensitive);
    const bool asksName = question.text.contains(QLatin1String("name"), Qt::CaseInsensitive)
        || question.text.contains(QLatin1String("call"), Qt::CaseInsensitive);

    QHash<QString, Group> groups;
    for (const Candidate& c : candidates) {
        if (c.key.isEmpty() || c.sentence < 0)
            continue;
        const ScoredSentence& s = retrieval.sentences[c.sentence];
        const double proximity = 1.0 / (1.0 + c.distance / 3.0);
        double instance = (weights.coverage * s.coverage + weights.windowCoverage * s.windowCoverage)
            * ((1.0 - weights.proximity) + weights.proximity * proximity) * (c.side != 0 ? weights.neighbour : 1.0);
        // The answer's sentence (with its neighbours) should speak of whom the question names.
        if (!question.nameWords.isEmpty())
            instance += namesPresentFor(s, c) ? 0.1 : -0.1;
        if (s.phrase)
            instance += 0.05;
        const double fit = typeFit(question, c, weights);
        instance += fit;
        if (c.named && asksName)
            instance += 0.4;
        // The relation said of the name itself ("Baden-Powell, the officer in command"), and
        // the question's words in the same phrase or clause as the answer, not only nearby.
        if (c.apposed)
            instance += 0.3 + 0.3 * c.apposedShare;
        else if (c.possessor && question.type == QuestionType::Who && !asksWhose)
            instance -= 0.25;
        if (c.genderClash)  // "Mrs. Weston and her son-in-law" does not make her anyone's son
            instance -= 0.5;
        instance += 0.3 * c.phraseTerms + 0.2 * c.clauseTerms;
        // A word seen only at sentence starts, that the book never uses for a person or a
        // place, is most likely not a name ("Hey", "Good-night").
        if (c.source == QLatin1String("name") && c.initial && !c.personLike && !c.placeLike)
            instance -= 0.2;
        const QString key = groupKeyOf(c);
        Group& g = groups[key];
        if (!g.sentences.contains(c.sentence))
            g.sentences.push_back(c.sentence);
        if (instance > g.best) {
            if (g.best > -1e8)
                g.rest += std::max(0.0, g.best);
            g.best = instance;
            g.answer.kind = c.kind;
            g.answer.source = c.source;
            g.answer.bestSentence = c.sentence;
            g.answer.charStart = c.charStart;
            g.answer.charEnd = c.charEnd;
            g.answer.text = c.text;
            g.bestCandidate = &c;
            g.bestProximity = proximity;
            g.bestTypeFit = fit;
        } else {
            g.rest += std::max(0.0, instance);
        }
        g.answer.key = key;
        g.spellings[c.text] += 1;
        g.apposedShare = std::max(g.apposedShare, c.apposedShare);
        g.focusName = g.focusName || c.focusName;
        g.personLike = g.personLike || c.personLike;  // a name is a person's if it ever speaks
        g.phraseTerms = std::max(g.phraseTerms, c.phraseTerms);
        g.clauseTerms = std::max(g.clauseTerms, c.clauseTerms);
    }
    QVector<RankedAnswer> ranked;
    QVector<const Group*> groupOf;
    for (auto it = groups.begin(); it != groups.end(); ++it) {
        Group& g = it.value();
        RankedAnswer a = g.answer;
        a.support = int(g.sentences.size());
        a.score = g.best + weights.agreement * std::log1p(double(a.support - 1)) + 0.05 * std::log1p(g.rest);
        // The longest spelling of a name group ("Mr. Donne" over "Donne") when it is frequent;
        // not a woman's title added to a name written without one ("Hoseason, the captain"
        // is not "Mrs. Hoseason").
        if (a.source == QLatin1String("name")) {
            auto titleOf = [](const QString& spelling) {
                return titleGender(spelling.section(QLatin1Char(' '), 0, 0).remove(QLatin1Char('.')).toLower());
            };
            const bool herOwn = titleOf(a.text) == Gender::Female;
            QString longest = a.text;
            for (auto sp = g.spellings.constBegin(); sp != g.spellings.constEnd(); ++sp)
                if (sp.key().size() > longest.size() && sp.value() * 3 >= g.spellings.value(a.text)
                    && (herOwn || titleOf(sp.key()) != Gender::Female))
                    longest = sp.key();
            a.text = longest;
        }
        a.total = a.score;
        ranked.push_back(a);
        groupOf.push_back(&g);
    }
    QVector<int> order(ranked.size());
    for (int i = 0; i < order.size(); ++i)
        order[i] = i;
    std::sort(order.begin(), order.end(), [&](int x, int y) {
        return ranked[x].total != ranked[y].total ? ranked[x].total > ranked[y].total : ranked[x].charStart < ranked[y].charStart;
    });
    const int pool = std::min<int>(int(order.size()), std::max(limit, kRerankPool));
    QVector<RankedAnswer> out;
    for (int r = 0; r < pool; ++r) {
        RankedAnswer a = ranked[order[r]];
        const Group& g = *groupOf[order[r]];
        const Candidate& c = *g.bestCandidate;
        const ScoredSentence& s = retrieval.sentences[c.sentence];
        auto flag = [](bool b) { return b ? 1.0 : 0.0; };
        const QString& src = c.source;
        const bool name = src == QLatin1String("name");
        const AnswerKind k = question.kind;
        a.features = {a.score,
                      s.coverage,
                      s.windowCoverage,
                      g.bestProximity,
                      flag(c.distance >= 99),
                      c.relationDistance >= 99 ? 0.0 : 1.0 / (1.0 + c.relationDistance / 3.0),
                      flag(!question.relationTerms.isEmpty() && c.relationDistance >= 99),
                      flag(c.side != 0),
                      question.nameWords.isEmpty() ? 0.0 : (namesPresentFor(s, c) ? 1.0 : -1.0),
                      flag(s.phrase),
                      g.bestTypeFit,
                      flag(c.named && asksName),
                      flag(name && c.initial && !c.personLike && !c.placeLike),
                      std::log1p(double(a.support - 1)),
                      std::log1p(g.rest),
                      flag(name),
                      flag(src == QLatin1String("number")),
                      flag(src == QLatin1String("date")),
                      flag(src == QLatin1String("appositive")),
                      flag(src == QLatin1String("copular")),
                      flag(src == QLatin1String("clause")),
                      flag(g.personLike),
                      flag(c.placeLike),
                      flag(c.unitMatch),
                      std::log1p(double(a.text.count(QLatin1Char(' ')) + 1)),
                      std::log1p(double(c.sentence)),
                      std::log1p(double(r)),
                      std::min(s.bm25, 30.0) / 10.0,
                      flag(k == AnswerKind::Person && name),
                      flag(k == AnswerKind::Place && name),
                      flag(k == AnswerKind::Thing && name),
                      flag(k == AnswerKind::Description && (src == QLatin1String("appositive") || src == QLatin1String("copular"))),
                      flag(k == AnswerKind::Number && src == QLatin1String("number")),
                      flag(k == AnswerKind::Date && src == QLatin1String("date")),
                      flag(k == AnswerKind::Reason && src == QLatin1String("clause")),
                      flag(name && c.ordinary),
                      g.apposedShare,
                      g.phraseTerms,
                      g.clauseTerms,
                      flag(g.focusName),
                      0.0};  // "model": filled by applyLikelihoods (z-score of the likelihood)
        if (learned && learned->valid())
            a.score = a.total = learned->score(a.features);
        out.push_back(a);
    }
    if (learned && learned->valid())
        std::stable_sort(out.begin(), out.end(), [](const RankedAnswer& x, const RankedAnswer& y) { return x.total > y.total; });
    if (out.size() > limit)
        out.resize(limit);
    return out;
}

double featureValue(const QVector<double>& features, const QString& name)
{
    const QStringList& names = candidateFeatureNames();
    const int i = int(names.indexOf(name));
    return features.size() == names.size() && i >= 0 ? features[i] : 0.0;
}

bool answerFitsType(QuestionType type, bool measure, const QVector<double>& features)
{
    if (features.size() != candidateFeatureNames().size())
        return true;
    auto f = [&](const char* name) { return featureValue(features, QString::fromLatin1(name)); };
    if (type == QuestionType::Where
        && (f("src_number") > 0 || f("src_date") > 0
            || (f("src_name") > 0 && (f("ordinary_name") > 0 || (f("person_like") > 0 && f("place_like") == 0)))
            || (f("src_clause") > 0 && f("place_like") == 0)))
        return false;
    if (measure && !(f("src_number") > 0 && f("unit_match") > 0))
        return false;
    if (type == QuestionType::When && f("src_date") == 0)
        return false;  // "when": a date, a day, a feast or an hour, not a count
    if (type == QuestionType::Who && (f("src_number") > 0 || f("src_date") > 0))
        return false;  // "who": a person or what they are, never "26"
    if (type == QuestionType::What && f("src_number") > 0 && f("number_q_number") == 0)
        return false;  // "what did the wagons bring": not "two" (but "what was the number on ...")
    return true;
}

bool supportBindsQuestion(QuestionType type, bool measure, const QVector<double>& features)
{
    if (features.size() != candidateFeatureNames().size())
        return true;
    if (featureValue(features, QStringLiteral("names_present")) < 0)
        return false;
    if (type != QuestionType::YesNo && featureValue(features, QStringLiteral("relation_absent")) > 0)
        return false;
    return answerFitsType(type, measure, features);
}

void applyLikelihoods(QVector<RankedAnswer>& answers, const QVector<double>& likelihoods, const ScoringWeights& weights,
                      const RankerModel* learned)
{
    if (likelihoods.size() != answers.size() || answers.size() < 2)
        return;
    double mean = 0;
    for (double l : likelihoods)
        mean += l;
    mean /= double(likelihoods.size());
    double var = 0;
    for (double l : likelihoods)
        var += (l - mean) * (l - mean);
    const double sd = std::sqrt(var / double(likelihoods.size())) + 1e-6;
    const int modelFeature = int(candidateFeatureNames().indexOf(QStringLiteral("model")));
    for (int i = 0; i < answers.size(); ++i) {
        RankedAnswer& a = answers[i];
        a.likelihood = likelihoods[i];
        const double z = (likelihoods[i] - mean) / sd;
        if (modelFeature >= 0 && modelFeature < a.features.size())
            a.features[modelFeature] = z;
        // The learned scorer weighs the model like any other feature (fitted on rows read
        // with the model); the hand-set score adds it with a set weight.
        a.total = learned && learned->valid() ? learned->score(a.features) : a.score + weights.model * z;
    }
    std::stable_sort(answers.begin(), answers.end(), [](const RankedAnswer& x, const RankedAnswer& y) { return x.total > y.total; });
}

double confidenceOf(const QVector<RankedAnswer>& answers, const Retrieval& retrieval, const RankerModel* learned)
{
    if (answers.isEmpty())
        return 0;
    if (learned && learned->valid())
        return learned->confidence(answers);
    const RankedAnswer& best = answers.front();
    const double margin = answers.size() > 1 ? best.total - answers[1].total : 0.5;
    const double coverage = best.bestSentence >= 0 ? retrieval.sentences[best.bestSentence].windowCoverage : 0;
    // Logistic calibration (fitted on the dev set's outcomes: docs/answers.md).
    const double z = kConfidenceBias + kConfidenceTotal * best.total + kConfidenceMargin * std::min(margin, 1.0)
        + kConfidenceCoverage * coverage;
    return 1.0 / (1.0 + std::exp(-z));
}

}  // namespace mm::answer
