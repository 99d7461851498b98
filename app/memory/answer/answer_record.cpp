// See answer_record.h.
#include "app/memory/answer/answer_record.h"

#include "app/memory/memory_context.h"

#include <QDateTime>

namespace mm::answer {

memory::QaRecord qaRecordOfAnswer(storage::Database& db, const memory::MemoryContext* memory, const QString& question,
                                  const AnswerResult& r, const AnswerAsked& asked)
{
    const QVector<storage::ChapterRecord> chapters = db.chapters(r.docId);
    auto titleOf = [&chapters](int index) {
        for (const storage::ChapterRecord& c : chapters)
            if (c.index == index)
                return c.title.simplified().toStdString();
        return std::string();
    };
    memory::QaRecord out;
    out.askId = asked.askId;
    out.docId = r.docId;
    out.question = question.toStdString();
    out.answer = r.answer.toStdString();
    out.found = r.found;
    out.notFound = r.notFound.toStdString();
    out.confidence = r.confidence;
    if (r.support)
        out.support = memory::QaSupport{r.support->text.toStdString(), r.support->charStart, r.support->charEnd};
    for (const EvidencePassage& e : r.evidence) {
        memory::QaEvidence q;
        q.docId = r.docId;
        q.source = "fulltext";  // sentences of the text, not the model's notes
        q.charStart = e.charStart;
        q.charEnd = e.charEnd;
        q.chapter = e.chapterIndex;
        q.chapterTitle = e.chapterTitle.isEmpty() ? titleOf(e.chapterIndex) : e.chapterTitle.simplified().toStdString();
        q.text = e.text.toStdString();
        q.weight = e.score;
        out.evidence.push_back(std::move(q));
    }
    out.asOfChar = asked.wholeDocument ? -1 : r.atChar;
    if (memory) {
        out.modelFingerprint = memory->modelFingerprint;
        if (const std::optional<storage::MemoryRun> run = memory->store.run(r.docId)) {
            try {
                out.position = memory->positionAt(r.docId, r.atChar, *run);
            } catch (const std::exception&) {
                // A memory that cannot place the position: the record says "not known" (-1).
            }
        }
    }
    out.chapter = memory::MemoryContext::chapterOf(chapters, r.atChar);
    out.chapterTitle = titleOf(out.chapter);
    out.askedAtMs = QDateTime::currentMSecsSinceEpoch();
    out.timings.stateLoadMs = asked.stateLoadMs;
    out.timings.firstTokenMs = r.answerMs;  // the short answer comes whole, at the end
    out.timings.totalMs = r.answerMs;
    out.timings.answerMs = r.answerMs;
    out.finished = true;
    return out;
}

}  // namespace mm::answer
