// QuestionWorker: questions about a document (answers from the book as of the reading
// position, app/memory/answer) and the document's question-and-answer history, on its
// own lane with its own library connection. A question can be cancelled before it starts
// or while it runs (the answer is then not shown).
#pragma once

#include "app/reader/reader_model.h"
#include "app/reader/worker_lane.h"

#include "app/memory/qa_record.h"

#include <QObject>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>

namespace mm::storage {
class Database;
}  // namespace mm::storage

namespace mm::memory {
class DocumentMemory;
}  // namespace mm::memory

namespace mm::memoryui {

class QuestionWorker : public QObject {
    Q_OBJECT
public:
    explicit QuestionWorker(QObject* parent = nullptr);
    ~QuestionWorker() override;

    // Called on the GUI thread; each runs on the lane and answers with a signal.
    void open(const QFuture<ReaderModel>& model, const QString& dbPath);
    void ask(const ui::AskRequest& request);
    /// Thread-safe; takes effect at once for a running question.
    void cancelAsk(qint64 askId);
    /// Cancels the running question and every later one (the service is closing).
    void cancelAll();
    void requestHistory(qint64 docId);
    void saveAnswer(const ui::AnswerRecord& record);
    void close();

signals:
    void answerStarted(qint64 askId);
    void answerToken(qint64 askId, const QString& piece);
    void answerFinished(const mm::ui::AnswerRecord& record);
    void answerFailed(qint64 askId, const QString& message);
    /// Asking found the stored memory unusable (another model's).
    void memoryUnavailable(qint64 docId, const QString& reason);
    void historyReady(qint64 docId, const QVector<mm::ui::AnswerRecord>& history);

private:
    void answerQuestion(const ui::AskRequest& request);
    void history(qint64 docId);
    void save(const ui::AnswerRecord& record);

    WorkerLane m_lane{QStringLiteral("MemoryQuestions")};
    // The GUI thread marks a question cancelled; the lane checks.
    std::mutex m_cancelMutex;
    std::set<qint64> m_cancelledAsks;
    std::atomic<qint64> m_currentAskId{0};
    std::atomic<bool> m_currentAskCancel{false};
    std::atomic<bool> m_closing{false};
    // The lane's own.
    std::shared_ptr<const memory::LoadedModel> m_model;
    std::unique_ptr<storage::Database> m_db;
    std::unique_ptr<memory::DocumentMemory> m_memory;
    std::unique_ptr<memory::QaHistory> m_history;
    /// The records answers made, by ask id, until the panel asks to keep them.
    std::map<qint64, memory::QaRecord> m_made;
    QString m_loadError;
};

}  // namespace mm::memoryui
