// See qa_record.h.
#include "app/memory/qa_record.h"

#include "app/memory/asking.h"
#include "app/memory/memory_context.h"
#include "storage/database.h"
#include "storage/memory_store.h"

#include <QDateTime>

namespace mm::memory {

namespace {

std::string dump(const nlohmann::json& j)
{
    // Evidence text cut inside a character must not make the record unwritable.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json parsed(const QString& text, nlohmann::json fallback)
{
    nlohmann::json j = nlohmann::json::parse(text.toStdString(), nullptr, false);
    return j.is_discarded() ? fallback : j;
}

nlohmann::json orNull(int64_t v) { return v < 0 ? nlohmann::json(nullptr) : nlohmann::json(v); }

int64_t intOr(const nlohmann::json& j, const char* key, int64_t fallback)
{
    const auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<int64_t>() : fallback;
}

double doubleOr(const nlohmann::json& j, const char* key, double fallback)
{
    const auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

std::string stringOr(const nlohmann::json& j, const char* key)
{
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string titleOf(const QVector<storage::ChapterRecord>& chapters, int index)
{
    for (const storage::ChapterRecord& c : chapters)
        if (c.index == index)
            return c.title.simplified().toStdString();
    return {};
}

// A format-1 title (the reader stored the simplified title) back to its chapter: the
// chapter of that title holding the offset, else the chapter holding the offset.
int chapterOfTitle(const QVector<storage::ChapterRecord>& chapters, const std::string& title, int64_t charOffset)
{
    const int byOffset = MemoryContext::chapterOf(chapters, charOffset);
    if (byOffset >= 0 && titleOf(chapters, byOffset) == title)
        return byOffset;
    for (const storage::ChapterRecord& c : chapters)
        if (c.charOffset <= charOffset && c.title.simplified().toStdString() == title)
            return c.index;
    return byOffset;
}

storage::AnswerRow rowOf(const QaRecord& r)
{
    storage::AnswerRow row;
    row.id = r.id;
    row.docId = r.docId;
    row.askedAtMs = r.askedAtMs > 0 ? r.askedAtMs : QDateTime::currentMSecsSinceEpoch();
    row.question = QString::fromStdString(r.question);
    row.asOfChar = r.asOfChar;
    row.answer = QString::fromStdString(r.answer);
    nlohmann::json evidence = nlohmann::json::array();
    for (const QaEvidence& e : r.evidence)
        evidence.push_back(toJson(e));
    row.evidenceJson = QString::fromStdString(dump(evidence));
    row.timingsJson = QString::fromStdString(dump(toJson(r).at("timings")));
    row.finished = r.finished;
    row.cancelled = r.cancelled;
    row.error = QString::fromStdString(r.error);
    row.position = r.position;
    row.chapterIndex = r.chapter;
    row.chapterTitle = QString::fromStdString(r.chapterTitle);
    row.model = QString::fromStdString(r.modelFingerprint);
    row.supportJson = QString::fromStdString(dump(toJson(r).at("support")));
    row.askId = r.askId;
    row.format = kQaRecordFormat;
    return row;
}

QaRecord recordOf(const storage::AnswerRow& row)
{
    QaRecord r;
    r.id = row.id;
    r.docId = row.docId;
    r.askedAtMs = row.askedAtMs;
    r.question = row.question.toStdString();
    r.asOfChar = row.asOfChar;
    r.answer = row.answer.toStdString();
    const nlohmann::json evidence = parsed(row.evidenceJson, nlohmann::json::array());
    if (evidence.is_array())
        for (const nlohmann::json& e : evidence)
            if (e.is_object())
                r.evidence.push_back(qaEvidenceFromJson(e));
    const nlohmann::json timings = parsed(row.timingsJson, nlohmann::json::object());
    if (timings.is_object()) {
        r.timings.stateLoadMs = doubleOr(timings, "state_load_ms", -1);
        r.timings.firstTokenMs = doubleOr(timings, "first_token_ms", -1);
        r.timings.totalMs = doubleOr(timings, "total_ms", -1);
    }
    r.finished = row.finished;
    r.cancelled = row.cancelled;
    r.error = row.error.toStdString();
    r.position = row.position;
    r.chapter = row.chapterIndex;
    r.chapterTitle = row.chapterTitle.toStdString();
    r.modelFingerprint = row.model.toStdString();
    const nlohmann::json support = parsed(row.supportJson, nullptr);
    if (support.is_object())
        r.support = QaSupport{stringOr(support, "text"), intOr(support, "char_start", 0), intOr(support, "char_end", 0)};
    // Format 1: the reader kept its ask id among the timings.
    r.askId = row.askId >= 0 ? row.askId : timings.is_object() ? intOr(timings, "ask_id", -1) : -1;
    return r;
}

}  // namespace

nlohmann::json toJson(const QaEvidence& e)
{
    return {{"doc", e.docId},
            {"source", e.source},
            {"char_start", e.charStart},
            {"char_end", e.charEnd},
            {"chapter", e.chapter},
            {"chapter_title", e.chapterTitle},
            {"page", e.page},
            {"text", e.text},
            {"weight", e.weight},
            {"layer", orNull(e.layer)},
            {"token", orNull(e.token)}};
}

nlohmann::json toJson(const QaRecord& r)
{
    nlohmann::json evidence = nlohmann::json::array();
    for (const QaEvidence& e : r.evidence)
        evidence.push_back(toJson(e));
    nlohmann::json support = nullptr;
    if (r.support)
        support = {{"text", r.support->text}, {"char_start", r.support->charStart}, {"char_end", r.support->charEnd}};
    return {{"format", kQaRecordFormat},
            {"doc", r.docId},
            {"ask_id", r.askId},
            {"question", r.question},
            {"answer", r.answer},
            {"support", support},
            {"evidence", evidence},
            {"as_of_char", r.asOfChar},
            {"position", r.position},
            {"chapter", r.chapter},
            {"chapter_title", r.chapterTitle},
            {"model", {{"fingerprint", r.modelFingerprint}}},
            {"asked_at_ms", r.askedAtMs},
            {"timings",
             {{"state_load_ms", r.timings.stateLoadMs},
              {"first_token_ms", r.timings.firstTokenMs},
              {"total_ms", r.timings.totalMs}}},
            {"finished", r.finished},
            {"cancelled", r.cancelled},
            {"error", r.error}};
}

QaEvidence qaEvidenceFromJson(const nlohmann::json& j)
{
    QaEvidence e;
    e.docId = intOr(j, "doc", 0);
    e.source = stringOr(j, "source");
    e.charStart = intOr(j, "char_start", 0);
    e.charEnd = intOr(j, "char_end", 0);
    const auto chapter = j.find("chapter");
    if (chapter != j.end() && chapter->is_string())
        e.chapterTitle = chapter->get<std::string>();  // format 1, the reader's
    else
        e.chapter = int(intOr(j, "chapter", -1));
    if (j.contains("chapter_title"))
        e.chapterTitle = stringOr(j, "chapter_title");
    e.page = int(intOr(j, "page", -1));
    e.text = stringOr(j, "text");
    e.weight = doubleOr(j, "weight", 0);
    e.layer = int(intOr(j, "layer", -1));
    e.token = intOr(j, "token", -1);
    return e;
}

QaRecord qaRecordFromJson(const nlohmann::json& j)
{
    QaRecord r;
    r.askId = intOr(j, "ask_id", -1);
    r.docId = intOr(j, "doc", 0);
    r.question = stringOr(j, "question");
    r.answer = stringOr(j, "answer");
    if (const auto s = j.find("support"); s != j.end() && s->is_object())
        r.support = QaSupport{stringOr(*s, "text"), intOr(*s, "char_start", 0), intOr(*s, "char_end", 0)};
    if (const auto e = j.find("evidence"); e != j.end() && e->is_array())
        for (const nlohmann::json& item : *e)
            r.evidence.push_back(qaEvidenceFromJson(item));
    r.asOfChar = intOr(j, "as_of_char", -1);
    r.position = intOr(j, "position", -1);
    r.chapter = int(intOr(j, "chapter", -1));
    r.chapterTitle = stringOr(j, "chapter_title");
    if (const auto m = j.find("model"); m != j.end() && m->is_object())
        r.modelFingerprint = stringOr(*m, "fingerprint");
    r.askedAtMs = intOr(j, "asked_at_ms", 0);
    if (const auto t = j.find("timings"); t != j.end() && t->is_object()) {
        r.timings.stateLoadMs = doubleOr(*t, "state_load_ms", -1);
        r.timings.firstTokenMs = doubleOr(*t, "first_token_ms", -1);
        r.timings.totalMs = doubleOr(*t, "total_ms", -1);
    }
    r.finished = j.value("finished", false);
    r.cancelled = j.value("cancelled", false);
    r.error = stringOr(j, "error");
    return r;
}

QaRecord qaRecordOf(MemoryContext& memory, int64_t docId, const std::string& question, bool wholeDocument,
                    const AskResult& answer)
{
    const QVector<storage::ChapterRecord> chapters = memory.db.chapters(docId);
    QaRecord r;
    r.docId = docId;
    r.question = question;
    r.answer = answer.answer;
    for (const Evidence& e : answer.evidence) {
        QaEvidence q;
        q.docId = e.docId;
        q.source = e.source;
        q.charStart = e.charStart;
        q.charEnd = e.charEnd;
        q.chapter = e.chapter;
        q.chapterTitle = titleOf(chapters, e.chapter);
        q.text = e.text;
        q.weight = e.weight;
        q.layer = e.layer;
        q.token = e.tokenPosition;
        r.evidence.push_back(std::move(q));
    }
    r.asOfChar = wholeDocument ? -1 : answer.atChar;
    r.position = answer.position;
    r.chapter = MemoryContext::chapterOf(chapters, answer.atChar);
    r.chapterTitle = titleOf(chapters, r.chapter);
    r.modelFingerprint = memory.modelFingerprint;
    r.askedAtMs = QDateTime::currentMSecsSinceEpoch();
    r.timings = {answer.stateLoadMs, answer.firstTokenMs, answer.totalMs};
    r.finished = true;
    return r;
}

QaHistory::QaHistory(storage::Database& db) : m_db(db)
{
    storage::MemoryStore store(db);
    const QVector<storage::AnswerRow> old = store.answersBelowFormat(kQaRecordFormat);
    if (old.isEmpty())
        return;
    for (const storage::AnswerRow& row : old) {
        QaRecord r = recordOf(row);
        const QVector<storage::ChapterRecord> chapters = db.chapters(r.docId);
        for (QaEvidence& e : r.evidence) {
            if (e.chapter < 0 && !e.chapterTitle.empty())
                e.chapter = chapterOfTitle(chapters, e.chapterTitle, e.charStart);
            else if (e.chapter >= 0 && e.chapterTitle.empty())
                e.chapterTitle = titleOf(chapters, e.chapter);
        }
        if (r.chapter < 0) {
            const auto doc = db.document(r.docId);
            const int64_t at = r.asOfChar >= 0 ? r.asOfChar : doc ? doc->characters : 0;
            r.chapter = MemoryContext::chapterOf(chapters, at);
            r.chapterTitle = titleOf(chapters, r.chapter);
        }
        store.saveAnswer(rowOf(r));
        ++m_upgraded;
    }
}

int64_t QaHistory::save(const QaRecord& record)
{
    return storage::MemoryStore(m_db).saveAnswer(rowOf(record));
}

std::vector<QaRecord> QaHistory::records(int64_t docId) const
{
    std::vector<QaRecord> out;
    for (const storage::AnswerRow& row : storage::MemoryStore(m_db).answers(docId))
        out.push_back(recordOf(row));
    return out;
}

}  // namespace mm::memory
