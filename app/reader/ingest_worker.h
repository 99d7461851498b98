// IngestWorker: reads documents into the model's memory (one at a time, with progress a
// few times a second, cancellable between segments) and, when idle, prepares an ask
// checkpoint at the reading position (DocumentMemory::prepareAt). Its own lane and
// library connection. The queue of jobs (pause, resume, cancel) is the service's.
#pragma once

#include "app/reader/reader_model.h"
#include "app/reader/worker_lane.h"

#include <QObject>

#include <atomic>
#include <memory>

namespace mm::storage {
class Database;
}  // namespace mm::storage

namespace mm::memory {
class DocumentMemory;
}  // namespace mm::memory

namespace mm::memoryui {

class IngestWorker : public QObject {
    Q_OBJECT
public:
    explicit IngestWorker(QObject* parent = nullptr);
    ~IngestWorker() override;

    // Called on the GUI thread; each runs on the lane and answers with a signal.
    /// Waits for the model, opens the library; findUnfinished: reports the documents
    /// whose reading was interrupted (unfinishedFound).
    void open(const QFuture<ReaderModel>& model, const QString& dbPath, bool findUnfinished);
    /// Reads the document (or continues from its last checkpoint): progress, then finished.
    void read(qint64 jobId, qint64 docId, qint64 checkpointEvery);
    /// Stops the reading in progress after its current segment (thread-safe); what was
    /// committed stays. The next read() clears it.
    void cancel();
    /// prepareAt there when the document is read: answers prepared.
    void prepare(qint64 docId, qint64 atChar);
    void close();

signals:
    void unfinishedFound(qint64 docId, const QString& title);
    void progress(qint64 jobId, qint64 done, qint64 total, double tokensPerSecond);
    /// cancelled: stopped by cancel(), done is then the last checkpoint's; error: why it failed.
    void finished(qint64 jobId, bool cancelled, qint64 done, qint64 total, double tokensPerSecond,
                  const QString& error);
    /// position: the token position prepared, or -1 when nothing was.
    void prepared(qint64 docId, qint64 atChar, qint64 position);

private:
    void run(qint64 jobId, qint64 docId, qint64 checkpointEvery);

    WorkerLane m_lane{QStringLiteral("MemoryIngest")};
    std::atomic<bool> m_cancel{false};
    // The lane's own.
    std::shared_ptr<const memory::LoadedModel> m_model;
    std::unique_ptr<storage::Database> m_db;
    std::unique_ptr<memory::DocumentMemory> m_memory;
    QString m_error;
};

}  // namespace mm::memoryui
