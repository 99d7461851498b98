// See question_worker.h.
#include "app/reader/question_worker.h"

#include "app/memory/answer/answer_record.h"
#include "app/memory/answer/answerer.h"
#include "app/memory/answer/model_likelihood.h"
#include "app/memory/document_memory.h"
#include "app/reader/map_worker.h"
#include "app/reader/memory_views.h"

#include "storage/database.h"

#include <algorithm>

namespace mm::memoryui {

QuestionWorker::QuestionWorker(QObject* parent) : QObject(parent) {}

QuestionWorker::~QuestionWorker()
{
    cancelAll();
    close();
}

void QuestionWorker::open(const QFuture<ReaderModel>& model, const QString& dbPath)
{
    m_lane.post([this, model, dbPath] {
        const ReaderModel loaded = model.result();
        if (!loaded.model) {
            m_loadError = loaded.error;
            return;
        }
        try {
            m_db = std::make_unique<storage::Database>(dbPath);
            m_model = loaded.model;
            m_memory = std::make_unique<memory::DocumentMemory>(*m_db, *m_model->model, *m_model->tokenizer);
            m_history = std::make_unique<memory::QaHistory>(*m_db);
        } catch (const std::exception& e) {
            m_history.reset();
            m_memory.reset();
            m_db.reset();
            m_loadError = q(e.what());
        }
    });
}

void QuestionWorker::close()
{
    m_lane.post([this] {
        m_history.reset();
        m_memory.reset();
        m_db.reset();
    });
    m_lane.drain();
}

void QuestionWorker::ask(const ui::AskRequest& request)
{
    m_lane.post([this, request] { answerQuestion(request); });
}

void QuestionWorker::cancelAsk(qint64 askId)
{
    std::lock_guard<std::mutex> lock(m_cancelMutex);
    m_cancelledAsks.insert(askId);
    if (m_currentAskId.load() == askId)
        m_currentAskCancel = true;
}

void QuestionWorker::cancelAll()
{
    m_closing = true;
    m_currentAskCancel = true;
}

void QuestionWorker::requestHistory(qint64 docId)
{
    m_lane.post([this, docId] { history(docId); });
}

void QuestionWorker::saveAnswer(const ui::AnswerRecord& record)
{
    m_lane.post([this, record] { save(record); });
}

void QuestionWorker::answerQuestion(const ui::AskRequest& request)
{
    const qint64 askId = request.askId;
    {
        std::lock_guard<std::mutex> lock(m_cancelMutex);
        m_currentAskId = askId;
        m_currentAskCancel = m_closing.load() || m_cancelledAsks.count(askId) > 0;
    }
    if (m_currentAskCancel.load())
        return;
    if (!m_memory) {
        emit answerFailed(askId, modelUnavailable(m_loadError));
        return;
    }
    emit answerStarted(askId);
    try {
        // Answers from the book's sentences as of the position (app/memory/answer), with
        // the model's likelihood of each candidate from the stored state at or before it.
        answer::AnswerOptions options;
        if (request.scope == ui::AskRequest::AsOfPosition)
            options.atChar = std::max<qint64>(0, request.asOfChar);
        answer::ModelLikelihood likelihood(*m_db, *m_model->model, *m_model->tokenizer);
        const std::optional<storage::DocumentRecord> doc = m_db->document(request.docId);
        const memory::MemoryState state = m_memory->status(request.docId).state;
        const bool modelPart = doc && (state == memory::MemoryState::Ready || state == memory::MemoryState::Reading);
        if (modelPart)
            options.likelihood = likelihood.at(request.docId, options.atChar ? *options.atChar : doc->characters);
        const answer::AnswerResult r = answer::Answerer(*m_db).answer(request.docId, request.question, options);
        if (m_currentAskCancel.load())
            return;  // the panel keeps what it streamed
        if (!r.answer.isEmpty())
            emit answerToken(askId, r.answer);
        // The one record (app/memory/qa_record.h): shown now, kept when the panel asks.
        answer::AnswerAsked asked;
        asked.wholeDocument = request.scope == ui::AskRequest::WholeBook;
        asked.askId = askId;
        asked.stateLoadMs = likelihood.lastStateLoadMs();
        memory::QaRecord made = answer::qaRecordOfAnswer(*m_db, modelPart ? &m_memory->context() : nullptr,
                                                          request.question, r, asked);
        ui::AnswerRecord record = answerRecordOf(made);
        record.request = request;
        m_made[askId] = std::move(made);
        emit answerFinished(record);
    } catch (const std::exception& e) {
        const QString message = q(e.what());
        emit answerFailed(askId, message);
        if (dynamic_cast<const memory::StaleMemoryError*>(&e))
            emit memoryUnavailable(request.docId, message);
    }
}

void QuestionWorker::history(qint64 docId)
{
    QVector<ui::AnswerRecord> records;
    if (m_history) {
        try {
            for (const memory::QaRecord& r : m_history->records(docId))
                records << answerRecordOf(r);
        } catch (const std::exception&) {
            // An unreadable history shows empty; the answers stay stored.
        }
    }
    emit historyReady(docId, records);
}

void QuestionWorker::save(const ui::AnswerRecord& record)
{
    if (!m_history)
        return;
    const auto made = m_made.find(record.request.askId);
    const memory::QaRecord r = qaRecordOf(record, made == m_made.end() ? nullptr : &made->second);
    if (made != m_made.end())
        m_made.erase(made);
    try {
        m_history->save(r);
    } catch (const std::exception&) {
        // Not kept: the answer is still on screen for this session.
    }
}

}  // namespace mm::memoryui
