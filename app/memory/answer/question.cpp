#include "app/memory/answer/question.h"

#include "app/memory/answer/text.h"

#include <QSet>

namespace mm::answer {
namespace {

bool isAuxiliary(const QString& w)
{
    static const QSet<QString> aux = {
        QStringLiteral("is"), QStringLiteral("are"), QStringLiteral("was"), QStringLiteral("were"),
        QStringLiteral("do"), QStringLiteral("does"), QStringLiteral("did"), QStringLiteral("has"),
        QStringLiteral("have"), QStringLiteral("had"), QStringLiteral("can"), QStringLiteral("could"),
        QStringLiteral("will"), QStringLiteral("would"), QStringLiteral("should"), QStringLiteral("shall"),
        QStringLiteral("may"), QStringLiteral("might"), QStringLiteral("must"), QStringLiteral("am")};
    return aux.contains(w);
}

bool isQuestionWord(const QString& w)
{
    static const QSet<QString> q = {QStringLiteral("who"), QStringLiteral("whom"), QStringLiteral("whose"),
                                    QStringLiteral("what"), QStringLiteral("which"), QStringLiteral("where"),
                                    QStringLiteral("when"), QStringLiteral("why"), QStringLiteral("how")};
    return q.contains(w);
}

// Words after "how" that ask for a quantity.
bool isQuantityWord(const QString& w)
{
    static const QSet<QString> q = {QStringLiteral("many"), QStringLiteral("much"), QStringLiteral("old"),
                                    QStringLiteral("long"), QStringLiteral("far"), QStringLiteral("strong"),
                                    QStringLiteral("large"), QStringLiteral("big"), QStringLiteral("tall"),
                                    QStringLiteral("high"), QStringLiteral("often"), QStringLiteral("large")};
    return q.contains(w);
}

bool isTimeNoun(const QString& w)
{
    static const QSet<QString> t = {QStringLiteral("year"), QStringLiteral("day"), QStringLiteral("month"),
                                    QStringLiteral("date"), QStringLiteral("time"), QStringLiteral("hour"),
                                    QStringLiteral("season"), QStringLiteral("century"), QStringLiteral("night")};
    return t.contains(w);
}

bool isPlaceNoun(const QString& w)
{
    static const QSet<QString> t = {QStringLiteral("place"), QStringLiteral("town"), QStringLiteral("city"),
                                    QStringLiteral("country"), QStringLiteral("village"), QStringLiteral("house"),
                                    QStringLiteral("street"), QStringLiteral("county"), QStringLiteral("river"),
                                    QStringLiteral("island"), QStringLiteral("port"), QStringLiteral("land"),
                                    QStringLiteral("parish"), QStringLiteral("mill"), QStringLiteral("school"),
                                    QStringLiteral("church"), QStringLiteral("inn"), QStringLiteral("farm"),
                                    QStringLiteral("district"), QStringLiteral("province"), QStringLiteral("region"),
                                    QStringLiteral("valley"), QStringLiteral("hill"), QStringLiteral("lake"),
                                    QStringLiteral("colony"), QStringLiteral("kingdom"), QStringLiteral("castle"),
                                    QStringLiteral("estate"), QStringLiteral("hotel"), QStringLiteral("square")};
    return t.contains(w);
}

bool isPersonNoun(const QString& w)
{
    static const QSet<QString> t = {QStringLiteral("man"), QStringLiteral("woman"), QStringLiteral("person"),
                                    QStringLiteral("officer"), QStringLiteral("general"), QStringLiteral("king"),
                                    QStringLiteral("leader"), QStringLiteral("captain"), QStringLiteral("girl"),
                                    QStringLiteral("boy"), QStringLiteral("lady"), QStringLiteral("gentleman"),
                                    QStringLiteral("servant"), QStringLiteral("friend"), QStringLiteral("brother"),
                                    QStringLiteral("sister"), QStringLiteral("father"), QStringLiteral("mother"),
                                    QStringLiteral("son"), QStringLiteral("daughter"), QStringLiteral("wife"),
                                    QStringLiteral("husband"), QStringLiteral("child"), QStringLiteral("commander")};
    return t.contains(w);
}

bool isNegation(const QString& w)
{
    return w == QLatin1String("not") || w == QLatin1String("never") || w == QLatin1String("no")
        || w.endsWith(QLatin1String("n't")) || w.endsWith(QLatin1String("n’t"));
}

// Words a question asks with and a book answers with: a small table of the relations
// readers ask about most (where someone lives, whom they married, who led whom).
QStringList synonymsOf(const QString& term)
{
    static const QVector<QStringList> groups = {
        {"live", "lives", "lived", "living", "reside", "resides", "resided", "residence", "dwell", "dwelt", "dwelling", "home", "lodgings",
         "inhabit", "inhabits", "inhabited", "abode"},
        {"marry", "married", "marries", "marriage", "wed", "wedded", "wedding", "wife", "husband"},
        {"die", "died", "dies", "death", "dead", "killed", "perished", "fell"},
        {"kill", "killed", "kills", "murder", "murdered", "slew", "slain", "shot"},
        {"command", "commanded", "commands", "commander", "commanding", "led", "lead", "leader", "leading"},
        {"born", "birth", "native"},
        {"name", "named", "called", "call", "christened", "known"},
        {"work", "worked", "works", "employed", "employ", "employment"},
        {"school", "academy", "establishment"},
        {"surrender", "surrendered", "capitulated", "capitulation"},
        {"father", "papa"},
        {"mother", "mamma", "mama"},
        {"begin", "began", "begun", "start", "started", "commenced"},
        // Irregular verbs: the book writes the past ("sent"), the question the present ("send").
        {"send", "sent", "sends"}, {"go", "went", "gone", "goes"}, {"give", "gave", "given", "gives"},
        {"take", "took", "taken", "takes"}, {"come", "came", "comes"}, {"see", "saw", "seen", "sees"},
        {"leave", "left", "leaves"}, {"tell", "told", "tells"}, {"make", "made", "makes"}, {"bring", "brought", "brings"},
        {"buy", "bought", "buys"}, {"find", "found", "finds"}, {"meet", "met", "meets"}, {"write", "wrote", "written", "writes"},
        {"fight", "fought", "fights"}, {"fall", "fell", "fallen", "falls"}, {"know", "knew", "known", "knows"},
        {"run", "ran", "runs"}, {"win", "won", "wins"}, {"lose", "lost", "loses"}, {"keep", "kept", "keeps"},
        {"hold", "held", "holds"}, {"build", "built", "builds"}, {"speak", "spoke", "spoken", "speaks"},
        {"strike", "struck", "strikes"}, {"wear", "wore", "worn", "wears"}, {"teach", "taught", "teaches"},
        {"sell", "sold", "sells"}, {"steal", "stole", "stolen", "steals"}, {"flee", "fled", "flees"},
        {"sit", "sat", "sits"}, {"stand", "stood", "stands"}, {"think", "thought", "thinks"}, {"catch", "caught", "catches"},
    };
    QStringList out;
    for (const QStringList& g : groups)
        if (g.contains(term))
            for (const QString& w : g)
                if (w != term && !out.contains(w))
                    out << w;
    return out;
}

}  // namespace

QuestionAnalysis analyzeQuestion(const QString& question)
{
    QuestionAnalysis q;
    q.text = question.simplified();
    const QVector<Word> all = words(q.text);
    QVector<Word> ws;
    for (const Word& w : all)
        if (!w.punctuation)
            ws.push_back(w);
    if (ws.isEmpty())
        return q;

    // Type from the first question word (or a leading auxiliary: yes/no).
    int qi = -1;
    for (int i = 0; i < ws.size() && i < 4; ++i)
        if (isQuestionWord(ws[i].lower)) {
            qi = i;
            break;
        }
    const QString first = ws[0].lower;
    if (qi < 0 && isAuxiliary(first)) {
        q.type = QuestionType::YesNo;
        q.kind = AnswerKind::YesNo;
    } else if (qi >= 0) {
        const QString w = ws[qi].lower;
        const QString next = qi + 1 < ws.size() ? ws[qi + 1].lower : QString();
        if (w == QLatin1String("who") || w == QLatin1String("whom") || w == QLatin1String("whose")) {
            q.type = QuestionType::Who;
            q.kind = AnswerKind::Person;
        } else if (w == QLatin1String("where")) {
            q.type = QuestionType::Where;
            q.kind = AnswerKind::Place;
        } else if (w == QLatin1String("when")) {
            q.type = QuestionType::When;
            q.kind = AnswerKind::Date;
        } else if (w == QLatin1String("why")) {
            q.type = QuestionType::Why;
            q.kind = AnswerKind::Reason;
        } else if (w == QLatin1String("how")) {
            if (isQuantityWord(next)) {
                q.type = QuestionType::HowMany;
                q.kind = AnswerKind::Number;
            } else {
                q.type = QuestionType::How;
                q.kind = AnswerKind::Description;
            }
        } else if (w == QLatin1String("which") || w == QLatin1String("what")) {
            q.type = w == QLatin1String("which") ? QuestionType::Which : QuestionType::What;
            q.kind = AnswerKind::Thing;
            if (isTimeNoun(next)) {
                q.type = QuestionType::When;
                q.kind = AnswerKind::Date;
            } else if (isPlaceNoun(next)) {
                q.kind = AnswerKind::Place;
            } else if (isPersonNoun(next)) {
                q.kind = AnswerKind::Person;
            }
            // "What was the number on ...?", "What age ...?": the first noun after the question word.
            int h = qi + 1;
            while (h < ws.size() && (isAuxiliary(ws[h].lower) || isStopWord(ws[h].lower)))
                ++h;
            if (h < ws.size() && h <= qi + 3
                && (ws[h].lower == QLatin1String("number") || ws[h].lower == QLatin1String("age")
                    || ws[h].lower == QLatin1String("sum") || ws[h].lower == QLatin1String("price")))
                q.kind = AnswerKind::Number;
            if (q.type != QuestionType::When && !isAuxiliary(next) && !next.isEmpty() && !isStopWord(next))
                q.focus = next;
        }
    }

    // Names: capitalised words that are not the question's first word or a question word,
    // joined when adjacent; titles dropped.
    QStringList current;
    QString title, currentTitle;  // the title written before the name ("mr" in "Mr. Weston")
    auto flush = [&] {
        if (!current.isEmpty()) {
            q.names << current.join(QLatin1Char(' '));
            if (!currentTitle.isEmpty())
                q.nameTitles.insert(q.names.back(), currentTitle);
        }
        current.clear();
        currentTitle.clear();
    };
    int prevIndex = -2;
    for (int i = 0; i < ws.size(); ++i) {
        const Word& w = ws[i];
        const bool name = w.capitalized && i > 0 && !isQuestionWord(w.lower) && !isTitle(w.lower)
            && !(w.lower == QLatin1String("i"));
        if (w.capitalized && isTitle(w.lower))
            title = w.lower;
        else if (!name && w.text != QLatin1String("."))
            title.clear();
        if (name) {
            if (prevIndex != i - 1)
                flush();
            if (current.isEmpty())
                currentTitle = title;
            title.clear();
            // "the Churchills", "the Westons": the family is written by its name ("Mr. Churchill").
            const bool family = i > 0 && ws[i - 1].lower == QLatin1String("the") && w.text == w.base && w.lower.size() > 4
                && w.lower.endsWith(QLatin1Char('s')) && !w.lower.endsWith(QLatin1String("ss"));
            current << (family ? w.base.chopped(1) : w.base);
            q.nameWords << (family ? w.lower.chopped(1) : w.lower);
            prevIndex = i;
            // A possessive ends the name: "Shirley's dog".
            if (w.text != w.base)
                flush(), prevIndex = -2;
        } else if (!(w.capitalized && isTitle(w.lower))) {
            flush();
        }
    }
    flush();
    q.nameWords.removeDuplicates();

    // Key terms: content words, possessives dropped.
    for (int i = 0; i < ws.size(); ++i) {
        const Word& w = ws[i];
        if (w.lower.size() < 2 && !w.lower.at(0).isDigit())
            continue;
        // A title before a name ("Lord Roberts") is not looked for; a kinship or rank word
        // written as a noun ("Caroline's mother", "the captain of") is the question's relation.
        const bool titleOfName = isTitle(w.lower) && w.capitalized && i + 1 < ws.size() && ws[i + 1].capitalized;
        if (isStopWord(w.lower) || titleOfName || isQuestionWord(w.lower) || isAuxiliary(w.lower))
            continue;
        if (isQuantityWord(w.lower) && i > 0 && ws[i - 1].lower == QLatin1String("how"))
            continue;
        const QString term = w.capitalized && q.nameWords.contains(w.lower.chopped(1)) && !q.nameWords.contains(w.lower)
            ? w.lower.chopped(1)  // "the Churchills": as its name word
            : w.lower;
        if (!q.keyTerms.contains(term))
            q.keyTerms << term;
        // After a determiner or a possessive ("the cook", "Shirley's dog"): a noun.
        if (i > 0 && !ws[i - 1].punctuation && !w.capitalized
            && (oneOf(ws[i - 1].lower, {"the", "a", "an", "his", "her", "their", "its", "my", "your", "our"})
                || ws[i - 1].text != ws[i - 1].base)
            && !q.nounTerms.contains(w.lower))
            q.nounTerms << w.lower;
        if (!q.nameWords.contains(w.lower) && !q.relationTerms.contains(w.lower))
            q.relationTerms << w.lower;
    }
    for (const Word& w : ws)
        if (isNegation(w.lower))
            q.negated = true;
    for (const QString& t : q.relationTerms) {
        const QStringList syn = synonymsOf(t);
        if (!syn.isEmpty())
            q.synonyms.insert(t, syn);
    }

    // "name of X's N" / "what N": the focus noun is the last relation term after "name".
    for (int i = 0; i + 1 < ws.size(); ++i)
        if ((ws[i].lower == QLatin1String("name") || ws[i].lower == QLatin1String("names")) && ws[i + 1].lower == QLatin1String("of")) {
            for (int k = ws.size() - 1; k > i + 1; --k)
                if (!ws[k].capitalized && !isStopWord(ws[k].lower)) {
                    q.focus = ws[k].lower;
                    break;
                }
        }

    // What a number counts: the noun after "how many/much", or the unit a "how old/long/far"
    // answer is given in.
    if (q.type == QuestionType::HowMany && qi >= 0 && qi + 1 < ws.size()) {
        const QString how = ws[qi + 1].lower;
        q.measure = how == QLatin1String("old") || how == QLatin1String("long") || how == QLatin1String("far")
            || how == QLatin1String("often");
        if (how == QLatin1String("old"))
            q.unitTerms << QStringLiteral("years") << QStringLiteral("old") << QStringLiteral("age");
        else if (how == QLatin1String("long"))
            q.unitTerms << QStringLiteral("years") << QStringLiteral("months") << QStringLiteral("weeks")
                        << QStringLiteral("days") << QStringLiteral("hours") << QStringLiteral("minutes");
        else if (how == QLatin1String("far"))
            q.unitTerms << QStringLiteral("miles") << QStringLiteral("yards") << QStringLiteral("leagues");
        else if (how == QLatin1String("strong") || how == QLatin1String("large"))
            q.unitTerms << QStringLiteral("strong") << QStringLiteral("men") << QStringLiteral("thousand");
        else if (how == QLatin1String("often"))
            q.unitTerms << QStringLiteral("times");
        else if (qi + 2 < ws.size() && !isAuxiliary(ws[qi + 2].lower) && !isStopWord(ws[qi + 2].lower))
            q.unitTerms << ws[qi + 2].lower;
    }

    // Target: the question after its question word and auxiliaries.
    int t = qi >= 0 ? qi + 1 : 1;
    if (q.type == QuestionType::HowMany)
        ++t;
    while (t < ws.size() && isAuxiliary(ws[t].lower))
        ++t;
    if (t < ws.size()) {
        const qsizetype from = ws[t].start;
        q.target = q.text.mid(from);
        while (!q.target.isEmpty() && (q.target.endsWith(QLatin1Char('?')) || q.target.endsWith(QLatin1Char('.'))))
            q.target.chop(1);
    }

    // "What was Kruger's full name?", "What is Shirley's Christian name?": the question's
    // person under a longer name is the answer, not a repetition of the question.
    if (!q.names.isEmpty())
        for (int i = 1; i < ws.size(); ++i)
            if (ws[i].lower == QLatin1String("name")
                && (oneOf(ws[i - 1].lower, {"full", "christian", "first", "real", "whole", "maiden", "given", "proper"})
                    || (ws[i - 1].capitalized && ws[i - 1].text != ws[i - 1].base)))
                q.ownName = true;
    if (q.ownName) {
        // The sentence that gives the name rarely says "name": look for the person alone.
        for (const char* w : {"name", "full", "christian", "first", "real", "whole", "maiden", "given", "proper"}) {
            q.keyTerms.removeAll(QLatin1String(w));
            q.relationTerms.removeAll(QLatin1String(w));
            q.synonyms.remove(QLatin1String(w));
        }
        if (q.keyTerms.isEmpty())
            q.keyTerms = q.nameWords;
    }

    // "Who is X?" / "What is X?": every word after the auxiliary belongs to a name, or to a
    // familiar form of one ("little Biler", "old Sol", "young Walter").
    if ((q.type == QuestionType::Who || q.type == QuestionType::What) && qi == 0 && ws.size() >= 3
        && isAuxiliary(ws[1].lower) && ws[1].lower != QLatin1String("did") && ws[1].lower != QLatin1String("does")
        && ws[1].lower != QLatin1String("do")) {
        bool allName = true;
        int nameFrom = 2;
        while (nameFrom + 1 < ws.size() && !ws[nameFrom].capitalized
               && oneOf(ws[nameFrom].lower, {"little", "old", "young", "poor", "dear", "big"}))
            ++nameFrom;
        for (int i = nameFrom; i < ws.size(); ++i)
            if (!(ws[i].capitalized || (isTitle(ws[i].lower) && ws[i].capitalized))) {
                allName = false;
                break;
            }
        if (allName && !q.names.isEmpty()) {
            q.whoIs = true;
            q.kind = AnswerKind::Description;
        }
    }
    q.usable = !q.keyTerms.isEmpty();
    return q;
}

QString questionTypeName(QuestionType type)
{
    switch (type) {
    case QuestionType::Who: return QStringLiteral("who");
    case QuestionType::What: return QStringLiteral("what");
    case QuestionType::Where: return QStringLiteral("where");
    case QuestionType::When: return QStringLiteral("when");
    case QuestionType::HowMany: return QStringLiteral("how many");
    case QuestionType::Which: return QStringLiteral("which");
    case QuestionType::Why: return QStringLiteral("why");
    case QuestionType::How: return QStringLiteral("how");
    case QuestionType::YesNo: return QStringLiteral("yes/no");
    case QuestionType::Other: break;
    }
    return QStringLiteral("other");
}

QString answerKindName(AnswerKind kind)
{
    switch (kind) {
    case AnswerKind::Person: return QStringLiteral("person");
    case AnswerKind::Place: return QStringLiteral("place");
    case AnswerKind::Number: return QStringLiteral("number");
    case AnswerKind::Date: return QStringLiteral("date");
    case AnswerKind::Thing: return QStringLiteral("thing");
    case AnswerKind::Description: return QStringLiteral("description");
    case AnswerKind::Reason: return QStringLiteral("reason");
    case AnswerKind::YesNo: return QStringLiteral("yes/no");
    }
    return QStringLiteral("thing");
}

}  // namespace mm::answer
