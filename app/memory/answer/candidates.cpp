#include "app/memory/answer/candidates.h"

#include "app/memory/answer/text.h"

#include <QSet>

#include <algorithm>
#include <cstring>
#include <cstdlib>

namespace mm::answer {
namespace {

bool isPlaceWord(const QString& lower)
{
    return oneOf(lower, {"moor", "hill", "place", "mill", "street", "lane", "hall", "house", "park", "river",
                         "town", "road", "square", "chapel", "church", "kop", "drift", "nek", "bay", "castle",
                         "fort", "island", "mountain", "valley", "bridge", "abbey", "court", "row", "wood",
                         "common", "vale", "heath", "green", "gate", "cross", "harbour", "station", "farm"});
}

bool isPlacePreposition(const QString& lower)
{
    return oneOf(lower, {"at", "in", "to", "from", "near", "towards", "toward", "into", "through", "across",
                         "reach", "reached", "beyond", "round", "leave", "left"});
}

bool isPersonTitle(const QString& lower)
{
    return isTitle(lower);
}

bool isDeterminer(const QString& lower)
{
    return oneOf(lower, {"the", "a", "an", "that", "this", "his", "her", "their", "our", "my", "its", "your",
                         "one", "some", "no"});
}

bool isClauseEnd(const Word& w)
{
    return w.punctuation
        && (w.text == QLatin1String(",") || w.text == QLatin1String(";") || w.text == QLatin1String(":")
            || w.text == QLatin1String(".") || w.text == QLatin1String("!") || w.text == QLatin1String("?")
            || w.text == QLatin1String(")") || w.text == QLatin1String("(") || w.text.startsWith(QLatin1String("--"))
            || w.text == QLatin1String("\"") || w.text == QString(QChar(0x201D)) || w.text == QString(QChar(0x201C))
            || w.text == QString(QChar(0x2018)));
}

bool isNegationWord(const QString& lower)
{
    return oneOf(lower, {"not", "never", "no", "neither", "nor", "nobody", "nothing", "none", "cannot"})
        || lower.endsWith(QLatin1String("n't")) || lower.endsWith(QLatin1String("n\u2019t"));
}

struct SentenceView {
    const ScoredSentence* sentence = nullptr;
    const storage::SentenceRow* row = nullptr;  ///< the sentence itself, or its neighbour
    int side = 0;              ///< -1/+1: the sentence before/after a retrieved one (a reply, an antecedent)
    int index = 0;
    QVector<Word> ws;
    QVector<int> matched;      ///< word indices matching a key term
    QVector<int> matchedTerm;  ///< for each of matched: which key term (index into keyTerms)
    QVector<int> relation;     ///< word indices matching a relation term
    bool centreRelation = false;  ///< a neighbour's retrieved sentence holds a relation term
};

}  // namespace

bool isNumberWord(const QString& lower)
{
    static const QSet<QString> numbers = [] {
        QSet<QString> s;
        for (const char* w : {"two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                              "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
                              "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy",
                              "eighty", "ninety", "hundred", "thousand", "million", "dozen", "score", "half",
                              "one", "hundreds", "thousands", "millions", "dozens"})
            s.insert(QString::fromLatin1(w));
        return s;
    }();
    if (lower.isEmpty())
        return false;
    bool digits = true;
    for (QChar c : lower)
        if (!c.isDigit() && c != QLatin1Char(',')) {
            digits = false;
            break;
        }
    if (digits && lower.at(0).isDigit())
        return true;
    if (numbers.contains(lower))
        return true;
    if (lower.contains(QLatin1Char('-'))) {  // "forty-seven", "eight-and-thirty"
        const QStringList parts = lower.split(QLatin1Char('-'), Qt::SkipEmptyParts);
        for (int i = 0; i < parts.size(); ++i)
            if (!numbers.contains(parts[i]) && !(parts[i] == QLatin1String("and") && i > 0 && i + 1 < parts.size()))
                return false;
        return !parts.isEmpty();
    }
    return false;
}

bool isDateWord(const QString& lower)
{
    static const QSet<QString> dates = [] {
        QSet<QString> s;
        for (const char* w : {"january", "february", "march", "april", "june", "july", "august", "september",
                              "october", "november", "december", "monday", "tuesday", "wednesday", "thursday",
                              "friday", "saturday", "sunday", "christmas", "easter", "whitsuntide", "michaelmas",
                              "midsummer", "lent", "whitsun", "candlemas", "martinmas", "lady-day"})
            s.insert(QString::fromLatin1(w));
        return s;
    }();
    if (dates.contains(lower))
        return true;
    if (lower.contains(QLatin1Char('-')))
        for (const QString& part : lower.split(QLatin1Char('-'), Qt::SkipEmptyParts))
            if (dates.contains(part))
                return true;
    return false;
}

namespace {

// A relation word owned by someone the question does not name: "Moore's father" and "my
// mother" (a speaker's) do not answer "Who was Caroline's father/mother?".
bool ownedByAnother(const QVector<Word>& ws, int k, const QuestionAnalysis& question, bool narratorAsked)
{
    if (question.names.isEmpty())
        return false;
    int b = k - 1;
    while (b >= 0 && b >= k - 3 && oneOf(ws[b].lower, {"own", "dear", "poor", "late", "old", "little", "good", "eldest", "youngest"}))
        --b;
    if (b < 0 || ws[b].punctuation)
        return false;
    // A speaker's "my mother" is someone else's, unless the narrator is the one asked about
    // ("My father was Alexander Balfour," said I: David's).
    if (ws[b].lower == QLatin1String("my") && narratorAsked && isNarratorWord(ws, b))
        return false;
    if (oneOf(ws[b].lower, {"my", "your", "our", "thy"}))
        return true;
    // "the captain's mother" is not David's; "the Captain's friend" may be the question's
    // Captain Cuttle, "the rector's niece" is the question's own; "Princess's Chapel" is a name.
    return ws[b].text != ws[b].base && !ws[k].capitalized && !isTitle(ws[b].lower) && !question.nameWords.contains(ws[b].lower)
        && !question.keyTerms.contains(ws[b].lower);
}

// The name ws[from..to] completes a relation said of the question's own person: "Mr. Malone,
// curate of Briarfield" or "Malone was the curate of Briarfield" answers "Which parish is Mr.
// Malone the curate of?" (the relation word, a preposition, the name; before the relation
// only a comma, a copula or a determiner back to the person). "Mr. Sweeting, curate of
// Nunnely" in the same list does not: its relation is said of someone else.
bool completesRelationOf(const QVector<Word>& ws, int from, const QVector<int>& relation, const QVector<int>& person)
{
    if (relation.isEmpty() || person.isEmpty() || from < 2)
        return false;
    int k = from - 1;
    if (!oneOf(ws[k].lower, {"of", "at", "in", "to", "for"}))
        return false;
    --k;
    if (k < 0 || !relation.contains(k))
        return false;
    for (int back = k - 1, skipped = 0; back >= 0 && skipped < 3; --back, ++skipped) {
        if (person.contains(back))
            return true;
        const Word& w = ws[back];
        if (!(w.text == QLatin1String(",") || isDeterminer(w.lower) || oneOf(w.lower, {"was", "is", "became"})))
            return false;
    }
    return false;
}

// "How many men/soldiers/people": a count of people.
bool countsPeople(const QStringList& unitTerms)
{
    for (const QString& u : unitTerms)
        if (oneOf(u, {"men", "soldiers", "troops", "people", "persons", "infantry", "cavalry", "riflemen"}))
            return true;
    return false;
}

// A noun for a body of people that a count follows ("a detachment of 3,000").
bool isBodyOfPeople(const QString& lower)
{
    return oneOf(lower, {"detachment", "force", "garrison", "column", "brigade", "army", "body", "contingent", "division",
                         "regiment", "battalion", "crew", "company", "party", "band", "corps", "host", "commando",
                         "reinforcement", "reinforcements", "total", "strength"});
}

// The stop of "Mr." or "Dr.": not the end of a phrase.
bool titleStop(const QVector<Word>& ws, int k)
{
    return ws[k].text == QLatin1String(".") && k > 0 && isTitle(ws[k - 1].lower);
}

// Two titles of one surname that name two people: a man's and a woman's ("Mr. Weston",
// "Mrs. Weston"), or a wife's and a daughter's ("Mrs. Bates", "Miss Bates").
bool titlesNameOthers(const QString& written, const QString& asked)
{
    const Gender w = titleGender(written), a = titleGender(asked);
    if (w != Gender::Unknown && a != Gender::Unknown && w != a)
        return true;
    return (written == QLatin1String("mrs") && asked == QLatin1String("miss"))
        || (written == QLatin1String("miss") && asked == QLatin1String("mrs"));
}

// The gender a kinship or role word of the question asks for ("son", "wife"); Unknown if none.
Gender relationGender(const QStringList& relationTerms)
{
    for (const QString& t : relationTerms) {
        if (oneOf(t, {"son", "father", "brother", "uncle", "husband", "nephew", "grandfather", "grandson", "king", "boy",
                      "sons", "brothers", "nephews"}))
            return Gender::Male;
        if (oneOf(t, {"daughter", "mother", "sister", "aunt", "wife", "niece", "grandmother", "granddaughter", "queen",
                      "girl", "widow", "governess", "daughters", "sisters", "nieces"}))
            return Gender::Female;
    }
    return Gender::Unknown;
}

// "that's", "you'll", "I'm": a pronoun or a stop word with its verb, not a possessive.
bool isContraction(const Word& w)
{
    return w.text != w.base && isStopWord(w.base.toLower());
}

// The question names this word only as a one-word name: "Enfield" in "Who is Enfield?".
bool surnameOnly(const QuestionAnalysis& question, const QString& lowerWord)
{
    for (const QString& name : question.names)
        if (name.toLower() == lowerWord)
            return true;
    return false;
}

// The name at ws[k] ends a phrase of "of" put before its clause with a preposition: "At the
// sight of Mr. Utterson,", "but in place of the name of Edward Hyde," (what follows the name
// is the clause's subject, not its appositive). After a comma it may be the end of the
// sentence's own object ("by licence, to the Earl of Hartfield, the lover of her choice");
// with a verb between, the name is the clause's own ("At Fieldhead lived Shirley Keeldar").
bool closesFrontedPhrase(const QVector<Word>& ws, int k)
{
    int b = k - 1;
    bool of = false;
    for (int seen = 0; b >= 0 && seen < 10; --b) {
        if (ws[b].punctuation && !titleStop(ws, b))
            break;
        if (ws[b].punctuation)
            continue;
        ++seen;
        const QString& l = ws[b].lower;
        of = of || l == QLatin1String("of");
        if (l.endsWith(QLatin1String("ed")) || oneOf(l, {"was", "is", "were", "are", "had", "has", "lived", "came", "went", "saw",
                                                          "met", "sat", "stood", "lay", "told"}))
            return false;
    }
    if (b >= 0 && !(ws[b].punctuation && isClauseEnd(ws[b]) && ws[b].text != QLatin1String(",")))
        return false;
    int first = b + 1;
    while (first < k && (ws[first].punctuation || oneOf(ws[first].lower, {"but", "and", "or", "yet", "then", "so"})))
        ++first;
    // "As for Mr. Shuan, the drink or his crime ... had troubled his mind." But "As to Mr
    // Feeder, B.A., Doctor Blimber's assistant, he was ...": a pronoun takes the name up again
    // after the phrase, which was its appositive.
    if (first + 1 < k && ws[first].lower == QLatin1String("as") && oneOf(ws[first + 1].lower, {"for", "to"})) {
        for (int j = k + 1; j + 1 < ws.size() && j <= k + 16; ++j) {
            if (ws[j].text == QLatin1String(",") && oneOf(ws[j + 1].lower, {"he", "she", "they", "it", "who"}))
                return false;
            if (ws[j].punctuation && ws[j].text != QLatin1String(".") && ws[j].text != QLatin1String(",") && isClauseEnd(ws[j]))
                break;
        }
        return true;
    }
    if (!of)
        return false;
    return first < k && oneOf(ws[first].lower, {"in", "on", "at", "to", "from", "with", "by", "into", "upon", "under",
                                                "through", "like", "before", "after", "towards", "toward", "beside", "behind"});
}

// How many of the question's relation words (indices in relation) stand in apposition to
// the name ws[from..to]: after it ("X, the officer in command", "X, who was cook", "X (Y's
// residence)", "X was a rather large ... dog") or before it ("her father, James Helstone",
// "the cook Eliza", "the curate was Mr. Donne"); 0: none. Only within the phrase: "X, said
// he; the curate ..." binds nothing; and only through the phrase's head, not the words after
// its "of" ("X, a friend of the curate" is not the curate).
int apposedToRelation(const QVector<Word>& ws, int from, int to, const QVector<int>& relation)
{
    if (relation.isEmpty())
        return 0;
    const int n = int(ws.size());
    auto isRelation = [&](int k) { return relation.contains(k); };
    auto phraseHolds = [&](int a, int limit, bool toParenthesis, bool throughCommas = false) {
        int held = 0;
        for (int k = a, count = 0; k < n && count < limit; ++k) {
            if (ws[k].punctuation) {
                if (throughCommas && ws[k].text == QLatin1String(","))
                    continue;
                if (toParenthesis ? ws[k].text == QLatin1String(")") : (isClauseEnd(ws[k]) && !titleStop(ws, k)))
                    break;
                continue;
            }
            // The phrase's head comes before its "of": "X, the widow of a former vicar of
            // Highbury" is no vicar; "X, the commander of the forces" is a commander.
            if (held == 0 && ws[k].lower == QLatin1String("of"))
                break;
            held += isRelation(k) ? 1 : 0;
            ++count;
        }
        return held;
    };
    int held = 0;
    const int j = to + 1;
    if (j < n && ws[j].text == QLatin1String("("))
        held = std::max(held, phraseHolds(j + 1, 8, true));
    if (j + 1 < n && ws[j].text == QLatin1String(",")) {
        int k = j + 1;
        if (oneOf(ws[k].lower, {"who", "which"}) && k + 1 < n && oneOf(ws[k + 1].lower, {"was", "is"}))
            k += 2;
        else if (!isDeterminer(ws[k].lower) && !isRelation(k))  // "Mr. Donne, curate of Whinbury"
            k = -1;
        if (k >= 0)
            held = std::max(held, phraseHolds(k, 8, false));
    }
    // The predicate's adjectives may be listed with commas ("a rather large, strong, and
    // fierce-looking dog"); ten words bound it.
    if (j + 1 < n && oneOf(ws[j].lower, {"was", "is"}) && isDeterminer(ws[j + 1].lower))
        held = std::max(held, phraseHolds(j + 1, 10, false, true));
    // Before it: the relation word right before ("her father, James Helstone"), or a copula
    // after the phrase that holds it ("the curate of Whinbury was Mr. Donne").
    int b = from - 1;
    if (b >= 0 && ws[b].text == QLatin1String(",")) {
        // "What news of the wagons, Joe?": a name that closes a question or an exclamation
        // after a comma is the one spoken to, not the wagons; "the wagons, Joe said," the speaker.
        if (j < n && (ws[j].text == QLatin1String("?") || ws[j].text == QLatin1String("!") || isSpeechVerb(ws[j].lower)))
            return held;
        --b;
    }
    const bool copula = from >= 2 && oneOf(ws[from - 1].lower, {"was", "is"});
    if ((b >= 0 && isRelation(b)) || copula) {
        int before = 0;
        for (int k = copula ? from - 2 : b, count = 0; k >= 0 && count < 6; --k) {
            if (ws[k].punctuation) {
                if (isClauseEnd(ws[k]) && !titleStop(ws, k))
                    break;
                continue;
            }
            before += isRelation(k) ? 1 : 0;
            ++count;
        }
        held = std::max(held, before);
    }
    return held;
}

}  // namespace

QVector<Candidate> extractCandidates(const QuestionAnalysis& question, const Retrieval& retrieval)
{
    QVector<Candidate> out;
    const Gender askedGender = relationGender(question.relationTerms);
    QSet<QString> questionWords;
    for (const QString& w : question.nameWords)
        questionWords.insert(w);
    for (const QString& w : question.keyTerms)
        questionWords.insert(w);

    // Words seen in lower case anywhere in the retrieved text: a capitalised sentence start
    // that is also an ordinary word there is not a name.
    QVector<SentenceView> views;
    QSet<QString> lowerSeen;
    QSet<QString> midCapitalised;  ///< capitalised inside a sentence somewhere here: a name
    QSet<int> centres;
    for (const ScoredSentence& s : retrieval.sentences)
        centres.insert(s.row.ordinal);
    auto matchWords = [&](SentenceView& v) {
        for (int k = 0; k < v.ws.size(); ++k) {
            const Word& w = v.ws[k];
            if (w.punctuation)
                continue;
            for (int t = 0; t < question.keyTerms.size(); ++t)
                if (termMatches(w.lower, question.keyTerms[t], question)) {
                    v.matched.push_back(k);
                    v.matchedTerm.push_back(t);
                    if (question.relationTerms.contains(question.keyTerms[t]) && !ownedByAnother(v.ws, k, question, retrieval.narratorAsked))
                        v.relation.push_back(k);
                    break;
                }
        }
    };
    for (int i = 0; i < retrieval.sentences.size(); ++i) {
        // The neighbours of a retrieved sentence that are not retrieved themselves: the answer
        // to a question in dialogue is often the next sentence ("What's his name?" - "His name's Bunsby").
        for (const storage::SentenceRow& n : retrieval.sentences[i].window) {
            if (centres.contains(n.ordinal))
                continue;
            SentenceView nv;
            nv.sentence = &retrieval.sentences[i];
            nv.row = &n;
            nv.side = n.ordinal < retrieval.sentences[i].row.ordinal ? -1 : 1;
            nv.index = i;
            nv.ws = retrieval.wordsOf(n);
            matchWords(nv);
            views.push_back(nv);
        }
        SentenceView v;
        v.sentence = &retrieval.sentences[i];
        v.row = &v.sentence->row;
        v.index = i;
        v.ws = retrieval.wordsOf(v.sentence->row);
        matchWords(v);
        for (const storage::SentenceRow& n : v.sentence->window) {
            const QVector<Word> nws = n.ordinal == v.row->ordinal ? v.ws : retrieval.wordsOf(n);
            for (int k = 0; k < nws.size(); ++k) {
                const Word& w = nws[k];
                if (w.punctuation)
                    continue;
                if (!w.capitalized)
                    lowerSeen.insert(w.lower);
                else if (!w.sentenceInitial && k > 0 && !(nws[k - 1].punctuation && nws[k - 1].text != QLatin1String(",")))
                    midCapitalised.insert(w.lower);
            }
        }
        views.push_back(v);
    }

    // A reply binds the relation its question asked about ("What's his name?" - "Bunsby").
    QSet<int> relationCentres;
    for (const SentenceView& v : views)
        if (v.side == 0 && !v.relation.isEmpty())
            relationCentres.insert(v.index);
    for (SentenceView& v : views)
        v.centreRelation = v.side != 0 && relationCentres.contains(v.index);

    for (const SentenceView& v : views) {
        const storage::SentenceRow& row = *v.row;
        if (row.heading)
            continue;
        const QVector<Word>& ws = v.ws;
        // Mostly capitalised words and no final stop: a title or a contents line, not prose.
        int wordCount = 0, capitalised = 0;
        for (const Word& w : ws)
            if (!w.punctuation && !isStopWord(w.lower) && !isTitle(w.lower)) {
                ++wordCount;
                capitalised += w.capitalized ? 1 : 0;
            }
        const QChar last = row.text.isEmpty() ? QChar() : row.text.at(row.text.size() - 1);
        // A contents line ends with its chapter's or page's number, stop or not ("... of Miss
        // Tox's Affections 8.").
        int lastWord = int(ws.size()) - 1;
        while (lastWord >= 0 && ws[lastWord].punctuation)
            --lastWord;
        const bool numbered = lastWord >= 0 && ws[lastWord].lower.at(0).isDigit();
        const bool stopped = !numbered
            && (last == QLatin1Char('.') || last == QLatin1Char('!') || last == QLatin1Char('?') || last == QLatin1Char('"')
                || last == QChar(0x201D) || last == QChar(0x2019) || last == QLatin1Char('\''));
        if (wordCount >= 4 && capitalised * 4 >= wordCount * 3 && !stopped)
            continue;
        // Words between [from, to] and the nearest of the anchors; a ";", ":" or "--" between
        // counts as two words (another clause).
        auto gap = [&](int a, int b) {  // a < b: words strictly between
            int n = 0;
            for (int k = a + 1; k < b; ++k) {
                if (!ws[k].punctuation)
                    ++n;
                else if (ws[k].text == QLatin1String(";") || ws[k].text == QLatin1String(":") || ws[k].text.startsWith(QLatin1String("--")))
                    n += 2;
            }
            return n;
        };
        auto nearest = [&](const QVector<int>& anchors, int from, int to) {
            int best = 99;
            for (int m : anchors) {
                if (m >= from && m <= to)
                    return 0;
                best = std::min(best, m < from ? gap(m, from) : gap(to, m));
            }
            return best;
        };
        // The question's relation words ("curate"), and of them those bound to the name the
        // question gives ("curate of Whinbury", not "curate of Briarfield"): the answer is
        // the name nearest to those.
        QVector<int> nameAnchors;
        for (int m : v.matched)
            if (question.nameWords.contains(ws[m].lower))
                nameAnchors.push_back(m);
        QVector<int> boundRelation = v.relation;
        if (!nameAnchors.isEmpty() && v.relation.size() > 1) {
            int tightest = 99;
            for (int m : v.relation)
                tightest = std::min(tightest, nearest(nameAnchors, m, m));
            boundRelation.clear();
            for (int m : v.relation)
                if (nearest(nameAnchors, m, m) == tightest)
                    boundRelation.push_back(m);
        }
        auto distanceTo = [&](int from, int to) {
            if (v.side != 0 && v.matched.isEmpty()) {
                // In the sentence after the question's: words from its start; before: to its end.
                int n = 2;
                if (v.side > 0)
                    for (int k = 0; k < from; ++k)
                        n += ws[k].punctuation ? 0 : 1;
                else
                    for (int k = to + 1; k < ws.size(); ++k)
                        n += ws[k].punctuation ? 0 : 1;
                return std::min(99, n);
            }
            if (boundRelation.isEmpty())
                return nearest(v.matched, from, to);
            const int d = nearest(boundRelation, from, to);
            return nameAnchors.isEmpty() ? d : std::min(99, d + nearest(nameAnchors, from, to) / 2);
        };
        // The share of the question's key terms in the phrase (commas bound it) or the clause
        // (";", ":", "--" and stops bound it) around [from, to]: "on Monday Mr. Malone ... came
        // to breakfast; on Tuesday Mr. Sweeting ..." puts Monday, not Tuesday, with breakfast.
        auto termShare = [&](int from, int to, bool phrase) {
            auto bounds = [&](int k) {
                const Word& w = ws[k];
                if (!w.punctuation || titleStop(ws, k))
                    return false;
                if (w.text == QLatin1String(",") || w.text == QLatin1String("(") || w.text == QLatin1String(")"))
                    return phrase;
                return w.text != QLatin1String("'") && w.text != QString(QChar(0x2019));
            };
            int a = from, b = to;
            while (a > 0 && !bounds(a - 1))
                --a;
            while (b + 1 < ws.size() && !bounds(b + 1))
                ++b;
            QSet<int> terms;
            for (int m = 0; m < v.matched.size(); ++m)
                if (v.matched[m] >= a && v.matched[m] <= b && (v.matched[m] < from || v.matched[m] > to))
                    terms.insert(v.matchedTerm[m]);
            return question.keyTerms.isEmpty() ? 0.0 : double(terms.size()) / double(question.keyTerms.size());
        };
        auto make = [&](int from, int to, AnswerKind kind, const char* source) {
            Candidate c;
            c.text = row.text.mid(ws[from].start, ws[to].end - ws[from].start).simplified();
            c.kind = kind;
            c.source = QString::fromLatin1(source);
            c.sentence = v.index;
            c.side = v.side;
            c.charStart = row.charStart + codePoints(row.text, ws[from].start);
            c.charEnd = row.charStart + codePoints(row.text, ws[to].end);
            c.distance = distanceTo(from, to);
            if (!v.relation.isEmpty())
                c.relationDistance = nearest(boundRelation, from, to);
            else if (v.centreRelation)
                c.relationDistance = c.distance;
            QStringList keyWords;
            for (int k = from; k <= to; ++k)
                if (!ws[k].punctuation && !(isTitle(ws[k].lower) && ws[k].capitalized))
                    keyWords << ws[k].lower;
            c.key = keyWords.join(QLatin1Char(' '));
            c.phraseTerms = termShare(from, to, true);
            c.clauseTerms = termShare(from, to, false);
            return c;
        };
        auto isNameWord = [&](int k) {
            const Word& w = ws[k];
            if (w.punctuation || !w.capitalized || w.lower == QLatin1String("i") || w.base.size() < 2
                || w.lower.startsWith(QLatin1String("i'")) || w.lower.startsWith(QStringLiteral("i\u2019")))
                return false;
            const bool afterTitle = k > 1 && ws[k - 1].text == QLatin1String(".") && isTitle(ws[k - 2].lower);
            if (!afterTitle && (w.sentenceInitial || (k > 0 && ws[k - 1].punctuation && isClauseEnd(ws[k - 1]) && ws[k - 1].text != QLatin1String(","))))
                return !isStopWord(w.lower) && !lowerSeen.contains(w.lower) && !retrieval.ordinaryWords.contains(w.lower)
                    && !isNumberWord(w.lower);
            return !isStopWord(w.lower) || isTitle(w.lower);
        };

        // Names.
        for (int k = 0; k < ws.size(); ++k) {
            if (!isNameWord(k))
                continue;
            int from = k;
            int to = k;
            for (;;) {
                if (to + 1 < ws.size() && isNameWord(to + 1) && ws[to].text == ws[to].base) {
                    ++to;
                } else if (to + 1 < ws.size() && isNameWord(to + 1) && isPlaceWord(ws[to + 1].lower)) {
                    ++to;  // "Hollow's Mill", "Princess's Place": a possessive is part of a place's name
                } else if (to + 2 < ws.size() && isTitle(ws[to].lower) && ws[to + 1].text == QLatin1String(".") && isNameWord(to + 2)) {
                    to += 2;  // "Mr. Donne"
                } else {
                    break;
                }
            }
            k = to;
            // Titles alone are not names; a title is part of the name it precedes.
            bool onlyTitles = true;
            bool allInQuestion = true;
            bool placeWord = false;
            for (int j = from; j <= to; ++j) {
                if (ws[j].punctuation)
                    continue;
                if (!isTitle(ws[j].lower))
                    onlyTitles = false;
                if (!isTitle(ws[j].lower) && !questionWords.contains(ws[j].lower))
                    allInQuestion = false;
                if (isPlaceWord(ws[j].lower))
                    placeWord = true;
            }
            // "Which chapel is in Princess's Place?": "Princess's Chapel" is an answer though
            // its words are the question's; the question's own names are not.
            QString nameKey, title;
            for (int j = from; j <= to; ++j) {
                if (!ws[j].punctuation && !isTitle(ws[j].lower))
                    nameKey += (nameKey.isEmpty() ? QString() : QStringLiteral(" ")) + ws[j].lower;
                else if (ws[j].capitalized && title.isEmpty())
                    title = ws[j].lower;
            }
            const Gender gender = titleGender(title);
            // "Mrs. Weston" for "Whom did Mr. Weston marry?": the question's name under a title
            // of the other gender is another person (his wife, her father), as is "Miss Bates"
            // for "Mrs. Bates" (her daughter).
            bool otherPerson = false;
            for (const QString& name : question.names)
                if (titlesNameOthers(title, question.nameTitles.value(name))
                    && (nameKey == name.toLower() || nameKey.endsWith(QLatin1Char(' ') + name.toLower())))
                    otherPerson = true;
            // "Which mill ...?", "What is the name of Mr. Knightley's farm?": a name ending in the
            // question's noun ("Hollow's Mill", "Abbey-Mill Farm").
            const bool focusName = !question.focus.isEmpty()
                && (question.type == QuestionType::Which || question.type == QuestionType::What)
                && ws[to].lower == question.focus && from < to;
            bool isQuestionName = false;
            for (const QString& name : question.names)
                if (name.toLower() == nameKey)
                    isQuestionName = true;
            if (onlyTitles || (allInQuestion && !otherPerson && !(focusName && !isQuestionName)) || isDateWord(ws[from].lower))
                continue;
            // The question's own person under a longer name ("Shirley Keeldar" for "Shirley's
            // governess"): the given name of a question name, or a one-word name, is in it.
            bool sameEntity = false;
            int nameWordCount = 0;
            for (int j = from; j <= to; ++j)
                nameWordCount += !ws[j].punctuation && !isTitle(ws[j].lower) ? 1 : 0;
            // "Who is Cluny?", "What was Jekyll's full name?": only the person's own longer name
            // ("Cluny Macpherson", "Henry Jekyll") answers among the names; the others beside
            // it are not who Cluny is.
            bool longerOwnName = false;
            for (const QString& name : question.names) {
                if ((question.ownName || question.whoIs) && nameWordCount > int(name.count(QLatin1Char(' '))) + 1) {
                    bool holds = true;
                    for (const QString& w : name.toLower().split(QLatin1Char(' '), Qt::SkipEmptyParts))
                        holds = holds && nameKey.split(QLatin1Char(' ')).contains(w);
                    if (holds) {
                        longerOwnName = true;
                        continue;  // "Paul Stephanus Kruger" for "Kruger's full name"
                    }
                }
                if (focusName)
                    continue;
                const QString firstWord = name.section(QLatin1Char(' '), 0, 0).toLower();
                for (int j = from; j <= to; ++j)
                    if (!ws[j].punctuation && ws[j].lower == firstWord)
                        sameEntity = true;
            }
            if ((sameEntity && !otherPerson) || ((question.whoIs || question.ownName) && !longerOwnName))
                continue;
            Candidate c = make(from, to, AnswerKind::Person, "name");
            c.titleGender = gender;
            c.genderClash = gender != Gender::Unknown && askedGender != Gender::Unknown && gender != askedGender;
            c.ordinary = true;
            for (int j = from; j <= to; ++j)
                if (!ws[j].punctuation && !isTitle(ws[j].lower) && !lowerSeen.contains(ws[j].lower)
                    && !retrieval.ordinaryWords.contains(ws[j].lower))
                    c.ordinary = false;
            c.initial = (ws[from].sentenceInitial || (from > 0 && isClauseEnd(ws[from - 1]) && ws[from - 1].text != QLatin1String(",")))
                && from == to && !midCapitalised.contains(ws[from].lower);
            // "His name's Bunsby", "called Richards", "known as--say as Richards".
            // Not across a stop or a quote: "'What's his name, Captain?' inquired Walter" names no one.
            for (int b = from - 1, seen = 0; b >= 0 && seen < 4; --b) {
                if (ws[b].punctuation) {
                    if (ws[b].text == QLatin1String(",") || ws[b].text.startsWith(QLatin1String("--")))
                        continue;
                    break;
                }
                ++seen;
                const QString& l = ws[b].lower;
                if (l == QLatin1String("name") || l == QLatin1String("named") || l == QLatin1String("called")
                    || l == QLatin1String("christened") || l == QLatin1String("known") || l == QLatin1String("nicknamed"))
                    c.named = true;
            }
            // "Shirley's" written: the answer is the name; what it owns, if not the question's
            // relation ("governess to Mrs. Smallridge's children"), makes it someone else.
            c.possessor = ws[to].text != ws[to].base && !(to + 1 < ws.size() && v.relation.contains(to + 1));
            c.text = row.text.mid(ws[from].start, ws[to].start - ws[from].start) + ws[to].base;
            c.focusName = focusName;
            // The relation as the name's own title: "Uncle Ebenezer" for "Who is David's
            // uncle?", "Captain Hoseason" for "Who was the captain of the Covenant?".
            int titledWords = 0;
            for (int j = from; j < to; ++j)
                titledWords += isTitle(ws[j].lower) && v.relation.contains(j) ? 1 : 0;
            const int apposedWords = std::max(apposedToRelation(ws, from, to, v.relation), titledWords);
            const bool completes = completesRelationOf(ws, from, v.relation, nameAnchors);
            c.apposed = focusName || completes || apposedWords > 0;
            c.apposedShare = focusName || completes ? 1.0
                : std::min(1.0, double(apposedWords) / double(std::max<qsizetype>(1, question.relationTerms.size())));
            // A title before it, or a speaker: "said Harriet", "Harriet cried".
            c.personLike = isPersonTitle(ws[from].lower)
                || (from > 0 && isSpeechVerb(ws[from - 1].lower))
                || (to + 1 < ws.size() && isSpeechVerb(ws[to + 1].lower));
            c.placeLike = placeWord || (from > 0 && isPlacePreposition(ws[from - 1].lower) && !c.personLike);
            c.kind = c.placeLike && !c.personLike ? AnswerKind::Place : AnswerKind::Person;
            out.push_back(c);
        }

        // Numbers ("eight or nine thousand", "fifty-five", "147") and dates ("February 27th").
        for (int k = 0; k < ws.size(); ++k) {
            const Word& w = ws[k];
            if (w.punctuation)
                continue;
            const bool ordinal = w.lower.size() > 2 && w.lower.at(0).isDigit()
                && (w.lower.endsWith(QLatin1String("th")) || w.lower.endsWith(QLatin1String("st"))
                    || w.lower.endsWith(QLatin1String("nd")) || w.lower.endsWith(QLatin1String("rd")));
            if (isDateWord(w.lower)) {
                int to = k;
                if (k + 1 < ws.size() && (isNumberWord(ws[k + 1].lower) || ws[k + 1].lower.at(0).isDigit()))
                    to = k + 1;
                int from = k;
                if (k > 0 && ws[k - 1].lower.size() > 0 && ws[k - 1].lower.at(0).isDigit())
                    from = k - 1;
                if (!questionWords.contains(w.lower))
                    out.push_back(make(from, to, AnswerKind::Date, "date"));
                k = to;
                continue;
            }
            if (ordinal) {
                out.push_back(make(k, k, AnswerKind::Date, "date"));
                continue;
            }
            if (w.lower == QLatin1String("half-past") || w.lower == QLatin1String("o'clock")) {
                // "half-past five o'clock" is one time, not "half-past five" and "five o'clock".
                const bool half = w.lower == QLatin1String("half-past");
                const int from = half ? k : std::max(0, k - 1);
                int to = half ? std::min<int>(int(ws.size()) - 1, k + 1) : k;
                if (half && to + 1 < ws.size() && ws[to + 1].lower == QLatin1String("o'clock"))
                    ++to;
                out.push_back(make(from, to, AnswerKind::Date, "date"));
                k = to;
                continue;
            }
            // "one" and "half" alone are rarely a count; "one hundred and forty-seven" is.
            if (!isNumberWord(w.lower)
                || ((w.lower == QLatin1String("one") || w.lower == QLatin1String("half"))
                    && !(k + 1 < ws.size() && oneOf(ws[k + 1].lower, {"hundred", "thousand", "million", "dozen"}))))
                continue;
            int from = k;
            int to = k;
            // "12,000" is one number, not "12" and "000".
            while (w.lower.at(0).isDigit() && to + 2 < ws.size() && ws[to + 1].text == QLatin1String(",")
                   && ws[to + 2].lower.size() == 3 && ws[to + 2].lower.at(0).isDigit() && ws[to + 1].start == ws[to].end
                   && ws[to + 2].start == ws[to + 1].end)
                to += 2;
            // "eight or nine thousand", "one hundred and forty-seven": joined words and runs, in any order.
            for (;;) {
                if (to + 2 < ws.size() && (ws[to + 1].lower == QLatin1String("and") || ws[to + 1].lower == QLatin1String("or")
                                           || ws[to + 1].lower == QLatin1String("to"))
                    && isNumberWord(ws[to + 2].lower))
                    to += 2;
                else if (to + 1 < ws.size() && isNumberWord(ws[to + 1].lower))
                    ++to;
                else
                    break;
            }
            if (from > 0 && ws[from - 1].lower == QLatin1String("between"))
                --from;
            const bool year = w.lower.size() == 4 && w.lower.at(0).isDigit() && from == to;
            Candidate c = make(from, to, year ? AnswerKind::Date : AnswerKind::Number, year ? "date" : "number");
            for (int u = to + 1, seen = 0; u < ws.size() && seen < 3; ++u) {
                if (ws[u].punctuation)
                    continue;
                ++seen;
                for (const QString& unit : question.unitTerms)
                    if (termMatches(ws[u].lower, unit))
                        c.unitMatch = true;
            }
            // An age said of a person: "a girl of seventeen", "a sensible man about seven or
            // eight-and-thirty", "aged forty", "at the age of ten".
            if (question.unitTerms.contains(QLatin1String("age")) && from >= 1
                && (ws[from - 1].lower == QLatin1String("aged")
                    || (from >= 2 && oneOf(ws[from - 1].lower, {"of", "about", "nearly", "almost", "past", "some"})
                        && oneOf(ws[from - 2].lower, {"girl", "boy", "man", "woman", "lad", "lass", "youth", "child", "age",
                                                      "gentleman", "lady", "fellow", "maiden"}))))
                c.unitMatch = true;
            // Men counted by the body they form: "a detachment of between three and four
            // thousand", "a garrison of 1,200".
            if (from >= 2 && ws[from - 1].lower == QLatin1String("of") && countsPeople(question.unitTerms)
                && isBodyOfPeople(ws[from - 2].lower))
                c.unitMatch = true;
            out.push_back(c);
            k = to;
        }

        // Descriptions of the question's name: "X, the rector's niece", "X (she was Mr. Moore's
        // sister)", "X was the dog", "X, that mad Calvinist and Jacobin weaver".
        if (!question.ownName
            && (question.whoIs || question.kind == AnswerKind::Description || question.type == QuestionType::What
                || question.type == QuestionType::Who)) {
            for (int k = 0; k < ws.size(); ++k) {
                if (ws[k].punctuation || !question.nameWords.contains(ws[k].lower))
                    continue;
                int end = k;
                while (end + 1 < ws.size() && !ws[end + 1].punctuation && question.nameWords.contains(ws[end + 1].lower)
                       && ws[end].text == ws[end].base)
                    ++end;
                if (ws[end].text != ws[end].base) {  // "Moore's sister" is about someone else
                    k = end;
                    continue;
                }
                // "Robert Moore" is not "Hortense Moore": a given name that is not the question's.
                // A question that names only the surname ("Who is Enfield?") is answered by
                // "Richard Enfield, his distant kinsman".
                if (k > 0 && !ws[k - 1].punctuation && ws[k - 1].capitalized && !isTitle(ws[k - 1].lower)
                    && !isStopWord(ws[k - 1].lower) && !question.nameWords.contains(ws[k - 1].lower)
                    && !surnameOnly(question, ws[k].lower)) {
                    k = end;
                    continue;
                }
                // "Who is Mrs. Elton?" is not answered by what is said of Mr. Elton.
                bool otherPerson = false;
                if (k >= 2 && titleStop(ws, k - 1))
                    for (const QString& name : question.names)
                        if (titlesNameOthers(ws[k - 2].lower, question.nameTitles.value(name))
                            && name.toLower().split(QLatin1Char(' ')).contains(ws[k].lower))
                            otherPerson = true;
                // A name that closes a phrase put before its clause ("At the sight of Mr.
                // Utterson, the housemaid broke ...") has the clause's subject after it.
                if (otherPerson || closesFrontedPhrase(ws, k)) {
                    k = end;
                    continue;
                }
                int j = end + 1;
                // Skip a degree after the name ("Mr Feeder, B.A., Doctor Blimber's assistant").
                if (j + 1 < ws.size() && ws[j].text == QLatin1String(",") && ws[j + 1].text.contains(QLatin1Char('.'))) {
                    int next = j + 2;
                    while (next < ws.size() && ws[next].text != QLatin1String(","))
                        ++next;
                    if (next < ws.size() && next <= j + 4)
                        j = next;
                }
                const char* source = nullptr;
                int from = -1;
                if (j < ws.size() && ws[j].text == QLatin1String(",") && j + 1 < ws.size() && !ws[j + 1].punctuation
                    && !isContraction(ws[j + 1])) {
                    const QString& l = ws[j + 1].lower;
                    if (isDeterminer(l) || !ws[j + 1].capitalized || ws[j + 1].text != ws[j + 1].base
                        || (j + 2 < ws.size() && ws[j + 2].text != ws[j + 2].base && !ws[j + 2].punctuation)) {
                        // Not a verb or a pronoun: "X, said he", "X, who ..." are not descriptions.
                        const bool clauseThat = l == QLatin1String("that") && j + 2 < ws.size()
                            && (isDeterminer(ws[j + 2].lower) || isStopWord(ws[j + 2].lower));
                        if (!clauseThat
                            && !oneOf(l, {"said", "says", "cried", "asked", "replied", "returned", "who", "whom", "which",
                                          "and", "but", "he", "she", "they", "i", "you", "we", "sir", "ma'am", "if", "as",
                                          "when", "though", "then", "is", "was", "were", "are", "am", "be", "with", "in", "on", "at", "to", "for",
                                          "had", "has", "have", "would", "could", "will", "shall", "did", "does", "do",
                                          "may", "might", "must", "should", "being", "been", "not", "so", "too", "now",
                                          "there", "here", "where", "while", "after", "before", "by", "from", "of", "or",
                                          "nor", "yet", "still", "only", "just", "even", "also", "indeed", "however", "therefore",
                                          "thus", "perhaps", "moreover", "besides", "certainly", "surely", "again", "hence",
                                          "accordingly", "consequently", "nevertheless", "meanwhile", "instead", "rather",
                                          "though", "no", "yes", "alas", "it", "himself", "herself", "themselves", "what", "how",
                                          "why", "whose", "papa", "mamma", "mama", "darling", "than", "because",
                                          "unless", "until", "whether", "lest", "let", "pray", "come", "tell", "look",
                                          "go", "give", "take", "say", "listen", "wait", "allow", "please"}))
                            from = j + 1, source = "appositive";
                    }
                } else if (j + 2 < ws.size() && ws[j].text == QLatin1String("(") && oneOf(ws[j + 1].lower, {"he", "she", "it"})
                           && oneOf(ws[j + 2].lower, {"was", "is"})) {
                    from = j + 3, source = "appositive";
                } else if (j + 1 < ws.size() && oneOf(ws[j].lower, {"was", "is", "had been"})
                           && !ws[j + 1].punctuation && (isDeterminer(ws[j + 1].lower) || ws[j + 1].lower == QLatin1String("one"))) {
                    from = j + 1, source = "copular";
                } else if (const int head = unmarkedAppositiveEnd(ws, j); head > j) {
                    // "Mr. Utterson the lawyer was a man of a rugged countenance".
                    Candidate c = make(j, head, AnswerKind::Description, "appositive");
                    c.distance = 0;
                    out.push_back(c);
                    k = end;
                    continue;
                }
                if (from < 0 || from >= ws.size()) {
                    k = end;
                    continue;
                }
                int to = from;
                int count = 1;
                for (;;) {
                    while (to + 1 < ws.size() && (!isClauseEnd(ws[to + 1]) || (ws[to + 1].text == QLatin1String(".") && isTitle(ws[to].lower)))
                           && count < 10) {
                        ++to;
                        if (!ws[to].punctuation)
                            ++count;
                    }
                    // A copula's adjectives listed with commas: "this Alan Breck is a bold,
                    // desperate customer" (not "a bold").
                    if (std::strcmp(source, "copular") == 0 && count <= 3 && to + 2 < ws.size() && ws[to + 1].text == QLatin1String(",")
                        && !ws[to + 2].punctuation && !ws[to + 2].capitalized && !isStopWord(ws[to + 2].lower)) {
                        to += 2;
                        count += 1;
                        continue;
                    }
                    break;
                }
                while (to > from && ws[to].punctuation)
                    --to;
                // A description starts with a determiner or a noun, not a verb or an adverb
                // ("X, shaking himself", "X, slowly").
                const QString& head = ws[from].lower;
                const bool verbLike = !isDeterminer(head) && !ws[from].capitalized
                    && (head.endsWith(QLatin1String("ing")) || head.endsWith(QLatin1String("ed")) || head.endsWith(QLatin1String("ly")));
                // "You like Mr. Elton, my dear": said to someone, not of Mr. Elton.
                const bool endearment = head == QLatin1String("my") && to - from <= 2
                    && oneOf(ws[to].lower, {"dear", "love", "boy", "girl", "child", "lord", "lady", "darling", "fellow", "lad"});
                // A phrase whose head is a name is the next item of a list ("Jane Fairfax, this
                // charming Mr. Dixon, and ..."), not a description.
                bool listItem = ws[to].capitalized && (!ws[to].sentenceInitial || titleStop(ws, to - 1))
                    && ws[to].text == ws[to].base && to > from && !isTitle(ws[to].lower);
                for (int m = from; m < to && listItem; ++m)  // "the tutor of Eudemon" is a description
                    listItem = !oneOf(ws[m].lower, {"of", "to", "for", "with", "from", "by", "in", "at", "on"});
                if (!verbLike && !endearment && !listItem && !ws[to].punctuation && !isStopWord(ws[to].lower)) {
                    Candidate c = make(from, to, AnswerKind::Description, source);
                    c.distance = 0;
                    out.push_back(c);
                }
                k = end;
            }
        }

        // A clause of the sentence: for things, reasons and manners that are not names. Not
        // for "Who is X?": what is said beside X's name ("says Cluny", "Mr. Riach had
        // prepared") does not say who X is; only a description does.
        if (!question.whoIs && !question.ownName
            && (question.kind == AnswerKind::Thing || question.kind == AnswerKind::Reason
                || question.kind == AnswerKind::Description || question.kind == AnswerKind::Place)) {
            if (v.matched.isEmpty())
                continue;
            // The clause (between marks) holding the most question words, then the words
            // of it that are not the question's.
            int bestFrom = 0, bestTo = -1, bestHits = 0;
            int from = 0;
            for (int k = 0; k <= ws.size(); ++k) {
                if (k == ws.size() || isClauseEnd(ws[k])) {
                    int hits = 0;
                    for (int m : v.matched)
                        if (m >= from && m < k)
                            ++hits;
                    if (hits > bestHits && k > from) {
                        bestHits = hits;
                        bestFrom = from;
                        bestTo = k - 1;
                    }
                    from = k + 1;
                }
            }
            if (bestTo < bestFrom)
                continue;
            int a = bestFrom, b = bestTo;
            if (question.kind == AnswerKind::Reason) {
                // After a reason word if there is one in the sentence.
                for (int k = 0; k < ws.size(); ++k)
                    if (oneOf(ws[k].lower, {"because", "since", "owing", "for", "lest", "so"}) && k + 1 < ws.size()) {
                        a = k;
                        b = k;
                        while (b + 1 < ws.size() && !isClauseEnd(ws[b + 1]))
                            ++b;
                        break;
                    }
            }
            // Trim question words from the edges, then keep at most 12 words around the rest.
            auto inQuestion = [&](int k) {
                if (ws[k].punctuation)
                    return true;
                for (const QString& t : question.keyTerms)
                    if (termMatches(ws[k].lower, t))
                        return true;
                return isStopWord(ws[k].lower) && !oneOf(ws[k].lower, {"because", "for", "since"});
            };
            while (a < b && inQuestion(a))
                ++a;
            while (b > a && inQuestion(b))
                --b;
            int n = 0;
            for (int k = a; k <= b; ++k)
                if (!ws[k].punctuation)
                    ++n;
            while (n > 12 && b > a) {
                --b;
                if (!ws[b + 1].punctuation)
                    --n;
            }
            if (a <= b && !ws[a].punctuation && !inQuestion(a)) {
                Candidate c = make(a, b, question.kind == AnswerKind::Reason ? AnswerKind::Reason : AnswerKind::Thing, "clause");
                c.distance = 0;
                // A clause names a place when it holds a place word or a name the book never
                // writes in lower case after "at/in/to/from" ("on Stilbro' Moor", "at Dijon"), not
                // when it is only words ("despised"), a capitalised common noun ("our House":
                // Dombey's firm) or a person's name ("I know no Harriet Carker").
                for (int k = a; k <= b; ++k) {
                    if (ws[k].punctuation)
                        continue;
                    const bool properName = ws[k].capitalized && !ws[k].sentenceInitial && !isStopWord(ws[k].lower)
                        && !isTitle(ws[k].lower) && !lowerSeen.contains(ws[k].lower) && !retrieval.ordinaryWords.contains(ws[k].lower);
                    bool afterPreposition = false;
                    for (int p = k - 1; p >= std::max(0, k - 3); --p)
                        if (!ws[p].punctuation && isPlacePreposition(ws[p].lower))
                            afterPreposition = true;
                    if ((isPlaceWord(ws[k].lower) && !(ws[k].capitalized && retrieval.ordinaryWords.contains(ws[k].lower)))
                        || (properName && afterPreposition))
                        c.placeLike = true;
                }
                out.push_back(c);
            }
        }
    }

    // Yes/no: the sentence that covers the question best says it, or says it with a negation.
    if (question.type == QuestionType::YesNo) {
        for (const SentenceView& v : views) {
            if (v.matched.isEmpty() || v.side != 0)
                continue;
            bool negation = false;
            const int lo = std::max(0, v.matched.front() - 6);
            const int hi = std::min<int>(int(v.ws.size()) - 1, v.matched.back() + 6);
            for (int k = lo; k <= hi; ++k)
                if (!v.ws[k].punctuation && isNegationWord(v.ws[k].lower))
                    negation = true;
            const bool yes = negation == question.negated;
            Candidate c;
            c.text = yes ? QStringLiteral("yes") : QStringLiteral("no");
            c.key = c.text;
            c.kind = AnswerKind::YesNo;
            c.source = QStringLiteral("yes/no");
            c.sentence = v.index;
            c.charStart = v.sentence->row.charStart;
            c.charEnd = v.sentence->row.charEnd;
            c.distance = 0;
            out.push_back(c);
        }
    }
    // "Who is X?" is answered by what X is, "X's full name" by a name: not by a number or a
    // date beside it.
    if (question.whoIs || question.ownName)
        out.erase(std::remove_if(out.begin(), out.end(),
                                 [](const Candidate& c) { return c.source == QLatin1String("number") || c.source == QLatin1String("date"); }),
                  out.end());
    return out;
}

}  // namespace mm::answer
