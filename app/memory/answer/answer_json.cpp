#include "app/memory/answer/answer_json.h"

namespace mm::answer {
namespace {

std::string utf8(const QString& s)
{
    return s.toStdString();
}

nlohmann::json rowJson(const storage::SentenceRow& row)
{
    return {{"char_start", row.charStart}, {"char_end", row.charEnd}, {"chapter", row.chapterIndex}, {"text", utf8(row.text.simplified())}};
}

}  // namespace

nlohmann::json answerJson(const AnswerResult& r)
{
    nlohmann::json evidence = nlohmann::json::array();
    for (const EvidencePassage& e : r.evidence)
        evidence.push_back({{"char_start", e.charStart},
                            {"char_end", e.charEnd},
                            {"chapter", e.chapterIndex},
                            {"chapter_title", utf8(e.chapterTitle)},
                            {"text", utf8(e.text)},
                            {"score", e.score}});
    nlohmann::json candidates = nlohmann::json::array();
    for (const RankedAnswer& a : r.candidates)
        candidates.push_back({{"text", utf8(shortAnswer(a.text))},
                              {"kind", utf8(answerKindName(a.kind))},
                              {"source", utf8(a.source)},
                              {"score", a.score},
                              {"likelihood", a.likelihood},
                              {"total", a.total},
                              {"support", a.support},
                              {"char_start", a.charStart},
                              {"char_end", a.charEnd}});
    nlohmann::json j = {{"answer", utf8(r.answer)},
                        {"found", r.found},
                        {"not_found", utf8(r.notFound)},
                        {"confidence", r.confidence},
                        {"score", {{"total", r.bestTotal}, {"margin", r.margin}, {"coverage", r.supportCoverage}}},
                        {"support", nullptr},
                        {"evidence", evidence},
                        {"candidates", candidates},
                        {"at", r.atChar},
                        {"question_type", utf8(questionTypeName(r.analysis.type))},
                        {"expected", utf8(answerKindName(r.analysis.kind))},
                        {"key_terms", nlohmann::json::array()},
                        {"model_used", r.modelUsed},
                        {"scorer", r.learnedScorer ? "learned" : "hand"},
                        {"bound", r.bound},
                        {"answer_ms", r.answerMs},
                        {"retrieval_ms", r.retrievalMs},
                        {"scoring_ms", r.scoringMs},
                        {"model_ms", r.modelMs},
                        {"model_wait_ms", r.modelTimings.waitMs},
                        {"model_answers_ms", r.modelTimings.answersMs},
                        {"prompt_ms", r.modelTimings.promptMs},
                        {"model_ahead_ms", r.modelTimings.aheadMs},
                        {"model_ahead_rows", r.modelTimings.aheadRows},
                        {"model_ahead_hits", r.modelTimings.aheadHits},
                        {"index_ms", r.indexMs},
                        {"index_built", r.indexBuilt}};
    for (const QString& t : r.analysis.keyTerms)
        j["key_terms"].push_back(utf8(t));
    if (!r.modelNote.isEmpty())
        j["model_note"] = utf8(r.modelNote);
    if (r.support)
        j["support"] = {{"char_start", r.support->charStart},
                        {"char_end", r.support->charEnd},
                        {"chapter", r.support->chapterIndex},
                        {"text", utf8(r.support->text)}};
    if (r.card) {
        nlohmann::json descriptions = nlohmann::json::array();
        for (const storage::SentenceRow& d : r.card->descriptions)
            descriptions.push_back(rowJson(d));
        nlohmann::json companions = nlohmann::json::array();
        for (const QString& c : r.card->companions)
            companions.push_back(utf8(c));
        j["card"] = {{"name", utf8(r.card->name)},
                     {"mentions", r.card->mentions},
                     {"first_mention", r.card->firstMention ? rowJson(*r.card->firstMention) : nlohmann::json(nullptr)},
                     {"descriptions", descriptions},
                     {"companions", companions}};
    }
    return j;
}

}  // namespace mm::answer
